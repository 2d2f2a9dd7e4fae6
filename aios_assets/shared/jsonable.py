"""Python values (DuckDB and Postgres rows, records, YAML front matter) as plain JSON types."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal


def jsonable(value: Any, *, utc: bool = True,
             binary: Literal["text", "hex", "base64"] = "text",
             max_depth: int | None = None, int64: bool = False) -> Any:
    """Plain JSON types: mappings with str keys, lists (from tuples; from sets sorted), datetimes
    and dates as ISO strings, decimals as floats, anything else unknown as ``str()``.

    ``utc``: datetimes in UTC (naive ones taken as UTC), so records compare across machines;
    False keeps each as it came (``aios sql`` shows what the query returned; an event payload
    keeps the offset its source wrote).
    ``binary``: bytes as UTF-8 text (bad bytes replaced), as hex digits or as base64.
    ``max_depth``: nesting deeper than this raises ``ValueError`` (untrusted input).
    ``int64``: integers outside 64 bits as strings (orjson, and so the event hash, stop there).
    """
    return _jsonable(value, utc, binary, max_depth, int64, 0)


def _jsonable(value: Any, utc: bool, binary: str, max_depth: int | None, int64: bool,
              depth: int) -> Any:
    if max_depth is not None and depth > max_depth:
        raise ValueError("value nested too deeply")

    def again(v: Any) -> Any:
        return _jsonable(v, utc, binary, max_depth, int64, depth + 1)

    if isinstance(value, Mapping):
        return {str(k): again(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [again(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((again(v) for v in value), key=str)
    if isinstance(value, datetime):
        if utc:
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        if binary == "base64":
            return base64.b64encode(value).decode("ascii")
        return value.hex() if binary == "hex" else value.decode("utf-8", "replace")
    if int64 and isinstance(value, int) and not isinstance(value, bool) \
            and not -(2**63) <= value < 2**64:
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
