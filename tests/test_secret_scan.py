"""No secret reaches logs, run storage, compute logs, the warehouse, Postgres or AIOS_HOME.

A small real pipeline runs on a persistent Dagster instance (DAGSTER_HOME inside AIOS_HOME):
ingest, then summaries through the LLM resource against the loopback OpenAI-compatible server,
which *requires* the planted API key (so the key was demonstrably used), then the cost ledger
mirror into DuckDB. ``AIOS_SMTP_PASSWORD`` is planted in the environment too. Then every place a
secret could leak is scanned: each file under AIOS_HOME (Dagster's SQLite run/event storage and
compute logs included) as raw bytes, every string column of every DuckDB table, every table of
the Postgres ``aios`` schema as row text, and the captured log output. The scanners are first
shown to find a planted canary, so a clean scan means something.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest

from aios_assets.ingest.assets import ingest_files
from aios_assets.memory.summaries import summaries
from aios_assets.observability.costs import cost_ledger
from aios_assets.testing.openai_server import OpenAIServer
from resources.llm import LLMResource
from resources.warehouse import DuckDBWarehouse
from tests.conftest import event, write_jsonl
from tests.outbox_fixtures import fresh_database


def scan_files(root: Path, needles: list[str]) -> list[str]:
    """Files under ``root`` whose bytes contain a needle (UTF-8 or UTF-16, as SQLite may)."""
    patterns = [p for n in needles for p in (n.encode(), n.encode("utf-16-le"))]
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits += [f"{path}: {pat[:6]!r}..." for pat in patterns if pat in data]
    return hits


def scan_duckdb(path: Path, needles: list[str]) -> list[str]:
    """Every VARCHAR/JSON column of every table and view of a DuckDB file (compressed on disk,
    so bytes alone prove nothing)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cols = con.execute(
            """SELECT table_schema, table_name, column_name, data_type
               FROM information_schema.columns
               WHERE table_catalog = current_database()"""
        ).fetchall()
        hits = []
        for schema, table, column, dtype in cols:
            expr = f'"{column}"' if dtype in ("VARCHAR", "JSON") else f'"{column}"::VARCHAR'
            for needle in needles:
                n = con.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" WHERE contains({expr}, ?)',
                    [needle]).fetchone()[0]
                if n:
                    hits.append(f"{schema}.{table}.{column}: {n} row(s)")
        return hits
    finally:
        con.close()


def scan_postgres(url: str, needles: list[str]) -> list[str]:
    with psycopg.connect(url) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'aios'"
        ).fetchall()]
        hits = []
        for table in tables:
            for needle in needles:
                n = con.execute(
                    f'SELECT count(*) FROM aios."{table}" t WHERE strpos(t::text, %s) > 0',
                    (needle,)).fetchone()[0]
                if n:
                    hits.append(f"aios.{table}: {n} row(s)")
        return hits, tables


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"AIOS_LLM_API_KEY": f"sk-planted-{secrets.token_hex(12)}",
              "AIOS_SMTP_PASSWORD": f"smtp-planted-{secrets.token_hex(12)}"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_scanners_find_a_canary(tmp_path: Path, pg_url: str) -> None:
    canary = f"canary-{secrets.token_hex(8)}"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "log.txt").write_text(f"x {canary} y")
    assert scan_files(tmp_path, [canary]) and not scan_files(tmp_path, ["absent-needle"])
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t (a INTEGER, p JSON, s STRUCT(v VARCHAR[]))")
    con.execute("INSERT INTO t VALUES (1, ?, {'v': ['q', ?]})", [f'{{"k": "{canary}"}}', canary])
    con.close()
    assert scan_duckdb(db, [canary]) == ["main.t.p: 1 row(s)", "main.t.s: 1 row(s)"]
    url = fresh_database(pg_url, "scan")
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE SCHEMA aios")
        con.execute("CREATE TABLE aios.t (a int, b jsonb)")
        con.execute("INSERT INTO aios.t VALUES (1, %s)", (f'{{"k": "{canary}"}}',))
    assert scan_postgres(url, [canary])[0] == ["aios.t: 1 row(s)"]


def test_no_planted_secret_anywhere(aios_home: Path, tmp_path: Path, pg_url: str,
                                    planted: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = planted["AIOS_LLM_API_KEY"]
    db_url = fresh_database(pg_url, "secrets")
    monkeypatch.setenv("AIOS_POSTGRES_URL", db_url)
    records = [
        event(f"c{i}", text, thread="acme", actor="Dana Reyes <dana@acme.io>",
              occurred_at=f"2025-03-03T09:0{i}:00Z")
        for i, text in enumerate(["Q3 retainer approved at $4,500/month.",
                                  "I'll send the signed SOW by Friday.",
                                  "Invoice INV-100 for $9,000 is due on 31 March 2025."])
    ]
    src = write_jsonl(tmp_path / "chat.jsonl", records)
    with OpenAIServer(require_key=key) as server:
        monkeypatch.setenv("AIOS_LLM_BASE_URL", server.url)
        llm = LLMResource(api_key=dg.EnvVar("AIOS_LLM_API_KEY"), base_url=server.url,
                          cheap_model="gpt-4o-mini", max_retries=1, backoff_initial_s=0.01,
                          backoff_max_s=0.02, timeout_s=5.0)
        resources = {"warehouse": DuckDBWarehouse(), "llm": llm,
                     "ingest_observer": dg.ResourceDefinition.none_resource()}
        instance = dg.DagsterInstance.get()  # persistent: SQLite storage in DAGSTER_HOME
        result = dg.materialize(
            [ingest_files, summaries], instance=instance, resources=resources,
            run_config={"ops": {"ingest_files": {"config": {"paths": [str(src)]}}}},
        )
        assert result.success
        # The ledger mirror runs after the LLM calls it mirrors.
        assert dg.materialize([cost_ledger], instance=instance, resources=resources).success
        # The key was really used: the server refuses requests without it.
        assert server.requests and all(r.authorization == f"Bearer {key}"
                                       for r in server.requests)
    needles = list(planted.values())
    dagster_home = Path(os.environ["DAGSTER_HOME"])
    assert dagster_home.is_relative_to(aios_home)
    assert list(dagster_home.rglob("*.db")), "the run was not recorded in DAGSTER_HOME"
    assert scan_files(aios_home, needles) == []  # run/event storage, compute logs, snapshot
    warehouse = aios_home / "warehouse.duckdb"
    assert scan_duckdb(warehouse, needles) == []
    with duckdb.connect(str(warehouse), read_only=True) as con:  # the scan had data to scan
        assert con.execute("SELECT count(*) FROM event_log").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM summaries").fetchone()[0] >= 1
        assert con.execute("SELECT count(*) FROM cost_ledger WHERE tier <> 'offline'"
                           ).fetchone()[0] >= 1
    hits, tables = scan_postgres(db_url, needles)
    assert hits == [] and "llm_calls" in tables and "llm_cache" in tables
    assert caplog.text and not any(n in caplog.text for n in needles)
