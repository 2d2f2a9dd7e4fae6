"""Text embeddings as a Dagster resource. The embedders themselves (offline MiniLM in NumPy, or
any OpenAI-compatible endpoint) are in :mod:`aios_assets.llm.embeddings`, without Dagster, so
``aios recall`` starts without importing it."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from aios_assets.llm.embeddings import (
    OFFLINE_BATCH_SIZE,
    MiniLMEmbedder,
    OpenAIEmbedder,
    make_embedder,
)

__all__ = ["OFFLINE_BATCH_SIZE", "EmbeddingsResource", "MiniLMEmbedder", "OpenAIEmbedder"]


class EmbeddingsResource(dg.ConfigurableResource):
    """Text embeddings for memory and recall: offline MiniLM by default, or an API.

    ``provider``: ``"offline"`` (all-MiniLM-L6-v2 in NumPy, 384 dims, no network) or
    ``"openai"`` (any OpenAI-compatible endpoint); unset, ``$AIOS_EMBEDDINGS_PROVIDER`` or
    ``"offline"``. ``model``: the API model (unset: ``$AIOS_EMBEDDINGS_MODEL`` or
    ``text-embedding-3-small``); offline only ``all-MiniLM-L6-v2``. The environment variables
    let recall, which builds its own embedder, agree with the configured resource.
    ``base_url`` defaults to ``$AIOS_EMBEDDINGS_BASE_URL`` (unset: OpenAI itself); ``api_key``
    defaults to ``$AIOS_EMBEDDINGS_API_KEY`` then ``$OPENAI_API_KEY`` (configure it as
    ``dg.EnvVar("AIOS_EMBEDDINGS_API_KEY")``, never as a literal). ``batch_size`` defaults to
    16 texts per forward pass offline and 256 texts per request for an API; ``timeout_s`` is
    per request; ``max_seq_length`` (offline) truncates longer texts, in tokens (default 256).
    """

    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    batch_size: int | None = None
    timeout_s: float = 30.0
    max_attempts: int = 5
    max_seq_length: int | None = None

    def get_embedder(self, on_usage: Callable[[str, int], None] | None = None
                     ) -> MiniLMEmbedder | OpenAIEmbedder:
        """A ready embedder (see :func:`aios_assets.llm.embeddings.make_embedder`)."""
        return make_embedder(
            provider=self.provider, model=self.model, base_url=self.base_url,
            api_key=self.api_key, batch_size=self.batch_size, timeout_s=self.timeout_s,
            max_attempts=self.max_attempts, max_seq_length=self.max_seq_length,
            on_usage=on_usage,
        )
