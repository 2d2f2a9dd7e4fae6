"""AIOS Dagster assets. Import ``aios_assets.definitions`` for the Definitions object.

``aios_assets.recall(query, k=10, thread=..., entity=..., since=..., until=...)`` searches
semantic memory (see :mod:`aios_assets.memory.recall`); importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aios_assets.memory.recall import ContextPack, Hit


def recall(query: str, **kwargs: Any) -> list[Hit]:
    """Hybrid recall over semantic memory; see :func:`aios_assets.memory.recall.recall`."""
    from aios_assets.memory.recall import recall as _recall

    return _recall(query, **kwargs)


def context_pack(query: str, **kwargs: Any) -> ContextPack:
    """Best cited evidence within a token budget.

    See :func:`aios_assets.memory.recall.context_pack`."""
    from aios_assets.memory.recall import context_pack as _pack

    return _pack(query, **kwargs)


__all__ = ["context_pack", "recall"]
