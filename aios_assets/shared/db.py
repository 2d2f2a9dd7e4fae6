"""DuckDB helpers every part of AIOS uses on the warehouse."""

from __future__ import annotations

import duckdb


def has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when a table or view called ``name`` exists in the current schema (a same-named
    table in another attached database or schema does not count: unqualified SQL misses it)."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
        "AND table_schema = current_schema()",
        [name],
    ).fetchone()
    return bool(row and row[0])
