"""Past one machine: the same code with Dagster's Postgres instance storage (deploy/dagster.yaml).

Against the real embedded Postgres: the instance keeps runs, events and the "warehouse" pool in
Postgres, and the project's own ``ingest_job`` materializes through it. (A queued run dequeued
by a real ``dagster-daemon`` on this config: ``tests/test_deploy.py``.)
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import psycopg
import pytest

from tests.conftest import ROOT, event, write_jsonl


@pytest.fixture
def pg_instance(pg_url: str, aios_home: Path, monkeypatch: pytest.MonkeyPatch):
    """A DagsterInstance over deploy/dagster.yaml, storage in a fresh Postgres database."""
    dbname = f"dagster_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{dbname}"')
    # The embedded server's URL (a Unix socket via ?host=) with another database: both
    # psycopg and SQLAlchemy read that form.
    url = urlunsplit(urlsplit(pg_url)._replace(path=f"/{dbname}"))
    dagster_home = aios_home / "dagster"
    shutil.copy(ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    # dagster-postgres speaks psycopg2; SQLAlchemy 2.1's plain postgresql:// means psycopg 3.
    sa_url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    monkeypatch.setenv("AIOS_DAGSTER_PG_URL", sa_url)
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        yield instance, url
    finally:
        instance.dispose()
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def test_postgres_instance_runs_the_project_job(pg_instance, aios_home: Path):
    from aios_assets.definitions import defs

    instance, url = pg_instance
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1

    data = write_jsonl(aios_home / "in.jsonl", [event("pg-1", "one"), event("pg-2", "two")])
    job = defs.resolve_job_def("ingest_job")
    result = job.execute_in_process(
        run_config={"ops": {"ingest_files": {"config": {"paths": [str(data)]}}}},
        instance=instance,
    )
    assert result.success

    # The run, its materializations and the pool slot it took are rows in Postgres.
    with psycopg.connect(url) as con:
        runs = con.execute("SELECT run_id, status FROM runs").fetchall()
        assert (result.run_id, "SUCCESS") in runs
        mats = {r[0] for r in con.execute(
            "SELECT asset_key FROM event_logs WHERE run_id = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'", (result.run_id,))}
        assert mats == {'["event_log"]', '["quarantine"]'}
        # The "warehouse" pool got its limit from the default (1) when the step claimed it.
        pools = dict(con.execute('SELECT concurrency_key, "limit" FROM concurrency_limits'))
        assert pools.get("warehouse") == 1
        slots = con.execute("SELECT count(*) FROM concurrency_slots "
                            "WHERE concurrency_key = 'warehouse'").fetchone()
        assert slots == (1,)

    # A new instance over the same storage sees the run and the event count.
    again = dg.DagsterInstance.from_config(str(aios_home / "dagster"))
    try:
        mat = again.get_latest_materialization_event(dg.AssetKey("event_log"))
        assert mat is not None and mat.run_id == result.run_id
        assert mat.asset_materialization.metadata["dagster/row_count"].value == 2
    finally:
        again.dispose()

