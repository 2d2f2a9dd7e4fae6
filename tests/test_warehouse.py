"""Readers never hit a lock error while a writer works; writers take turns."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from resources.warehouse import DuckDBWarehouse, WarehouseBusy, WarehouseMissing
from tests.conftest import ROOT

HOLD_WRITER = textwrap.dedent(
    """
    import sys, time
    from resources.warehouse import DuckDBWarehouse
    w = DuckDBWarehouse(home=sys.argv[1])
    with w.connect() as con:
        con.execute("insert into t values (2)")
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _seed(home):
    w = DuckDBWarehouse(home=str(home))
    with w.connect() as con:
        con.execute("create table t (x int)")
        con.execute("insert into t values (1)")
    return w


def test_reader_works_while_another_process_writes(tmp_path):
    w = _seed(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(tmp_path), "3"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "holding"
        # The main file is locked by the writer: a direct open fails...
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(w.path), read_only=True)
        # ...but the published snapshot reads fine, and shows the last committed state.
        with w.read() as con:
            assert con.execute("select sum(x) from t").fetchone()[0] == 1
    finally:
        proc.wait(timeout=30)
    with w.read() as con:
        assert con.execute("select sum(x) from t").fetchone()[0] == 3


def test_second_writer_waits_then_fails_clearly(tmp_path):
    _seed(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(tmp_path), "4"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "holding"
        impatient = DuckDBWarehouse(home=str(tmp_path), lock_timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(WarehouseBusy, match="stayed locked"), impatient.write_session():
            pass
        assert time.monotonic() - started < 3
        patient = DuckDBWarehouse(home=str(tmp_path), lock_timeout_s=30)
        with patient.connect() as con:  # waits for the holder, then writes
            con.execute("insert into t values (10)")
    finally:
        proc.wait(timeout=30)
    with patient.read() as con:
        assert con.execute("select sum(x) from t").fetchone()[0] == 13


def test_snapshot_is_read_only(tmp_path):
    w = _seed(tmp_path)
    with w.read() as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("insert into t values (5)")


def test_reading_before_anything_exists_says_what_to_do(tmp_path):
    with pytest.raises(WarehouseMissing, match="aios ingest"):
        DuckDBWarehouse(home=str(tmp_path / "empty")).read()


def test_offline_extensions_load(tmp_path):
    from resources.warehouse import load_extensions

    con = duckdb.connect()
    load_extensions(con, "fts", "vss")
    con.execute("create table docs (id int, body varchar)")
    con.execute("insert into docs values (1, 'overdue invoice for acme'), (2, 'lunch plans')")
    con.execute("pragma create_fts_index('docs', 'id', 'body')")
    hit = con.execute(
        "select id from (select id, fts_main_docs.match_bm25(id, 'invoice') s from docs) "
        "where s is not null"
    ).fetchall()
    assert hit == [(1,)]
