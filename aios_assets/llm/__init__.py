"""LLM hooks for the assets: the offline tier (a rule-based text engine behind the LLM resource,
:mod:`.offline`) and :class:`SupportsComplete`, what the assets need of the LLM resource."""

from __future__ import annotations

from typing import Any, Protocol


class SupportsComplete(Protocol):
    """What summaries and agents need of ``resources.llm.LLMResource``: ``endpoint()`` is None
    when no paid endpoint is configured (the offline tier answers)."""

    def endpoint(self) -> str | None: ...

    def complete(self, *, agent: str, task: str, prompt: str, **kwargs: Any) -> Any: ...
