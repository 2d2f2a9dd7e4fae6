"""Where the resolver keeps its state in the warehouse: the schema ``resolver``, internal to
entity resolution (the dbt model ``int_entity_membership`` writes it; nothing else should).

- ``resolver.model_state``: the Splink model of the last full run (incremental runs score new
  records with the same parameters);
- ``resolver.record_state``: every record normalized, with its blocking keys and input hash
  (an incremental run normalizes and scores only new or changed records);
- ``resolver.run_fingerprint``: a digest of everything a run with nothing new depends on.

Light on purpose (only DuckDB): the dbt model's nothing-new path imports it without polars,
pyarrow or Splink.
"""

from __future__ import annotations

import duckdb

SCHEMA = "resolver"
MODEL_STATE = f"{SCHEMA}.model_state"
RECORD_STATE = f"{SCHEMA}.record_state"
RUN_FINGERPRINT = f"{SCHEMA}.run_fingerprint"

# Before the schema existed the state lived in the default schema under these names.
_LEGACY = {MODEL_STATE: "er_model_state", RECORD_STATE: "er_record_state",
           RUN_FINGERPRINT: "er_run_fingerprint"}


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when ``name`` (``table``, ``schema.table`` or dbt's quoted
    ``"db"."schema"."table"``) exists; an unqualified name is looked up in the current
    schema."""
    # quoted literals, not bound parameters: the first bound parameter imports pandas
    # (~0.3 s), which a dbt build with nothing new does not otherwise need
    parts = [p.strip('"').replace("'", "''") for p in name.split(".")]
    schema = f"'{parts[-2]}'" if len(parts) > 1 else "current_schema()"
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_name = "
        f"'{parts[-1]}' and table_schema = {schema}"
    ).fetchone()[0])


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The ``resolver`` schema exists; state a warehouse kept in the default schema under the
    old names moves into it (once)."""
    con.execute(f"create schema if not exists {SCHEMA}")
    for new, old in _LEGACY.items():
        if table_exists(con, old) and not table_exists(con, new):
            con.execute(f"create table {new} as select * from {old}")
            con.execute(f"drop table {old}")
