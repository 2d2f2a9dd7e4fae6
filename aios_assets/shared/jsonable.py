"""Python values (DuckDB and Postgres rows, records) as plain JSON types."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal


def jsonable(value: Any, *, utc: bool = True,
             binary: Literal["text", "hex"] = "text") -> Any:
    """Plain JSON types: mappings with str keys, lists (from tuples and sets), datetimes and
    dates as ISO strings, decimals as floats, anything else unknown as ``str()``.

    ``utc``: datetimes in UTC (naive ones taken as UTC), so records compare across machines;
    False keeps each as it came (``aios sql`` shows what the query returned).
    ``binary``: bytes as UTF-8 text (bad bytes replaced) or, ``"hex"``, as hex digits.
    """
    def again(v: Any) -> Any:
        return jsonable(v, utc=utc, binary=binary)

    if isinstance(value, Mapping):
        return {str(k): again(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [again(v) for v in value]
    if isinstance(value, datetime):
        if utc:
            value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex() if binary == "hex" else value.decode("utf-8", "replace")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
