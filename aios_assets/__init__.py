"""AIOS Dagster assets. Import ``aios_assets.definitions`` for the Definitions object.

``aios_assets.recall(query, k=10, thread=..., entity=..., since=..., until=...)`` searches
semantic memory (see :mod:`aios_assets.retrieval`); importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aios_assets.retrieval import ContextPack, Hit


def recall(query: str, **kwargs: Any) -> list[Hit]:
    """Hybrid recall over semantic memory; see :func:`aios_assets.retrieval.recall`."""
    from aios_assets.retrieval import recall as _recall

    return _recall(query, **kwargs)


def context_pack(query: str, **kwargs: Any) -> ContextPack:
    """Best cited evidence within a token budget; see :func:`aios_assets.retrieval.context_pack`."""
    from aios_assets.retrieval import context_pack as _pack

    return _pack(query, **kwargs)


__all__ = ["context_pack", "recall"]
