"""A failing run opens one incident in Postgres and sends exactly one webhook notification."""

from __future__ import annotations

import re

import dagster as dg
import psycopg
import pytest

from aios_assets.observability.incidents import RUNBOOK, build_incident, classify_failure
from resources.postgres import PostgresStore
from sensors.failures import run_failure_sensor
from tests.conftest import ROOT
from tests.webhook_sink import Hook


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch):
    h = Hook()
    monkeypatch.setenv("AIOS_WEBHOOK_URL", h.url)
    yield h
    h.close()


@dg.op
def load_warehouse() -> None:
    raise RuntimeError("IO Error: Could not set lock on file warehouse.duckdb: "
                       "Conflicting lock is held in /usr/bin/python (PID 4242)")


@dg.job
def breaks_job() -> None:
    load_warehouse()


def _fail_once(instance: dg.DagsterInstance) -> tuple[dg.DagsterRun, dg.DagsterEvent]:
    result = breaks_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    return result.dagster_run, result.get_run_failure_event()


def _tick(instance, run, event, pg_url: str) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_sensor", dagster_event=event, dagster_instance=instance,
        dagster_run=run, resources={"postgres": PostgresStore(url=pg_url)},
    ).for_run_failure()
    run_failure_sensor(context)


def _incidents(pg_url: str, run_id: str) -> list[tuple]:
    with psycopg.connect(pg_url) as con:
        return con.execute(
            "SELECT job_name, step_key, error_class, cause, runbook_step, notify_status, "
            "notify_attempts FROM aios.incidents WHERE run_id = %s", (run_id,)).fetchall()


def test_failed_run_opens_one_incident_and_notifies_once(pg_url, aios_home, hook):
    from tests.audit_fixtures import fresh_database

    url = fresh_database(pg_url)  # no other test's open incidents (an IMAP or CalDAV login)
    with dg.instance_for_test() as instance:
        run, event = _fail_once(instance)
        for _ in range(3):  # repeated ticks (or a rewound cursor) must not duplicate anything
            _tick(instance, run, event, url)

    rows = _incidents(url, run.run_id)
    assert len(rows) == 1
    job, step, error_class, cause, step_text, status, attempts = rows[0]
    assert (job, step, cause, status, attempts) == (
        "breaks_job", "load_warehouse", "duckdb_lock", "sent", 1)
    assert "pool `warehouse`" in step_text
    assert len(hook.bodies) == 1
    text = hook.bodies[0]["text"]
    assert run.run_id in text and "load_warehouse" in text and "duckdb_lock" in text
    assert "Conflicting lock" in text


def test_failed_delivery_is_retried_by_the_next_plans_tick_and_still_sent_once(
        pg_url, aios_home, hook):
    from resources.warehouse import DuckDBWarehouse
    from sensors.plans import plans_sensor
    from tests.audit_fixtures import fresh_database

    url = fresh_database(pg_url)  # no other test's incidents or plans
    hook.fail_next = 2  # the adapter tries twice within a tick: the first tick fails
    with dg.instance_for_test() as instance:
        run, event = _fail_once(instance)
        _tick(instance, run, event, url)
        assert _incidents(url, run.run_id)[0][5:] == ("failed", 1)
        assert hook.bodies == []
        # No other run fails: the periodic plans_sensor tick sends it.
        resources = {"postgres": PostgresStore(url=url), "warehouse": DuckDBWarehouse()}
        for _ in range(2):
            plans_sensor(dg.build_sensor_context(resources=resources))
        assert _incidents(url, run.run_id)[0][5:] == ("sent", 2)
        # A later tick of the failure sensor for the same run sends nothing more.
        _tick(instance, run, event, url)
    assert _incidents(url, run.run_id)[0][5:] == ("sent", 2)
    assert len(hook.bodies) == 1 and run.run_id in hook.bodies[0]["text"]


def test_classify_failure():
    cases = {
        ("PostgresUnavailable", "the embedded Postgres did not start"): "postgres_unavailable",
        ("DagsterAssetCheckFailedError", "Blocking check 'x' failed"): "check_failed",
        ("DbtCliError", "dbt build failed"): "dbt",
        ("OSError", "[Errno 28] No space left on device"): "disk_full",
        ("BudgetExceeded", "agent triage over its daily budget"): "llm_budget",
        ("APIConnectionError", "Connection error."): "llm_endpoint",
        ("ReadTimeout", "timed out"): "timeout",
        ("KeyError", "'amount'"): "unknown",
    }
    for (cls, msg), want in cases.items():
        assert classify_failure(cls, msg).cause == want, (cls, msg)


def test_incidents_never_keep_credentials():
    incident = build_incident(
        "j", "r1", "s", "OperationalError",
        "connection to postgresql://aios:s3cr3t-pw@db.internal:5432/aios failed; "
        "dsn host=db password=hunter2; key sk-test-LEAKY12345678; Bearer eyJhbGciOi.x.y")
    for secret in ("s3cr3t-pw", "hunter2", "LEAKY12345678", "eyJhbGciOi"):
        assert secret not in incident.error_message
    assert incident.cause == "postgres_unavailable"  # classification still sees the rest
    assert "db.internal" in incident.error_message


def test_runbook_doc_matches_the_code():
    doc = (ROOT / "docs" / "runbook.md").read_text()
    rows = [line for line in doc.splitlines() if re.match(r"\| [a-z_]+ \| `", line)]
    parsed = [[cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", r)[1:-1]]
              for r in rows]
    assert [(c, p.strip("`"), lc, s) for c, p, lc, s in parsed] == [
        (e.cause, e.pattern, e.likely_cause, e.step) for e in RUNBOOK]


def test_sensor_is_in_the_definitions():
    from aios_assets.definitions import defs

    sensor = defs.resolve_sensor_def("run_failure_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
