"""The resolver's state lives in its own schema, ``resolver``, which a warehouse from before the
schema gets on its next build: the old tables move (rows intact), nothing is left behind."""

from __future__ import annotations

from pathlib import Path

import duckdb

from aios_assets.entities.resolution.state import (
    MODEL_STATE,
    RECORD_STATE,
    RUN_FINGERPRINT,
    ensure_schema,
    table_exists,
)


def test_legacy_state_moves_into_the_resolver_schema(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create table er_model_state as select 1 as records, 'm' as model")
    con.execute("create table er_record_state as select 'crm' as source, 'c-1' as source_id")
    ensure_schema(con)
    assert con.execute(f"select * from {MODEL_STATE}").fetchall() == [(1, "m")]
    assert con.execute(f"select * from {RECORD_STATE}").fetchall() == [("crm", "c-1")]
    assert not table_exists(con, "er_model_state") and not table_exists(con, "er_record_state")
    assert not table_exists(con, RUN_FINGERPRINT)  # nothing invented
    ensure_schema(con)  # idempotent
    assert con.execute(f"select count(*) from {MODEL_STATE}").fetchone() == (1,)


def test_table_exists_reads_the_schema_of_a_qualified_name(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    con.execute(f"create table {RECORD_STATE} (source varchar)")
    con.execute("create table record_state (x int)")  # same name, default schema
    con.execute("drop table record_state")
    assert table_exists(con, RECORD_STATE)
    assert table_exists(con, '"w"."resolver"."record_state"')
    assert not table_exists(con, "record_state")  # unqualified: the current schema only
