"""The blocking path of publishing, end to end with real parts (DuckDB warehouse, embedded
Postgres outbox, loopback SMTP server, the `aios` CLI and publish_job):

* a proposal that fails a gate is held back on its own (WARN), the others publish;
* an unsound batch (two proposals sharing an idempotency key: the Great Expectations suite's
  structural expectations) fails ``gate_ge_suite`` with severity ERROR: ``published_actions``
  does not run, nothing is enqueued or sent, and ``aios publish`` exits non-zero with one line
  saying why;
* ``published_actions`` materialized alone never publishes on another run's verdicts.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import dagster as dg
import psycopg
import pytest
from publishing_fixtures import build_warehouse, proposal
from typer.testing import CliRunner

from tests.smtp_sink import SmtpSink

POLICY = """
version: 1
actions:
  send_email: {mode: autonomous, max_per_day: 10}
  internal_note: {mode: autonomous}
"""


@pytest.fixture
def fresh_pg(pg_url, monkeypatch) -> str:
    name = "blocking_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(pg_url, dbname=name)
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    return url


@pytest.fixture
def world(aios_home, fresh_pg, monkeypatch):
    now = datetime.now(UTC)
    ok = proposal("ok", now=now)
    bad = proposal("bad", now=now, payload={"to": "ada@acme.io", "subject": "Hi",
                                            "body": "Hi {{first_name}}, see you"})
    (aios_home / "policy.yaml").write_text(POLICY)
    wh = build_warehouse([ok, bad])
    return {"ok": ok, "bad": bad, "warehouse": wh}


def publish(monkeypatch, sink: SmtpSink):
    from aios_assets.cli import app

    monkeypatch.setenv("AIOS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AIOS_SMTP_PORT", str(sink.port))
    res = CliRunner().invoke(app, ["publish", "--json"])
    lines = [line for line in res.stdout.strip().splitlines() if line.startswith("{")]
    return res, json.loads(lines[-1])


def outbox_rows() -> list:
    from aios_assets.publishing.outbox import Outbox
    from resources.postgres import PostgresStore

    return Outbox(PostgresStore()).rows()


def plant_twin(wh, of: dict) -> str:
    """A second proposal with the same idempotency key (as a buggy writer or a hand edit of
    the warehouse could leave it: the table loses its UNIQUE constraint)."""
    twin = "twin" + of["proposal_id"][4:]
    with wh.connect() as con:
        con.execute("CREATE TABLE _p AS SELECT * FROM action_proposals")
        con.execute("DROP TABLE action_proposals")
        con.execute("ALTER TABLE _p RENAME TO action_proposals")
        con.execute(
            "INSERT INTO action_proposals SELECT * REPLACE (? AS proposal_id, "
            "json_object('to', 'ada@acme.io', 'subject', 'Other', 'body', 'Other text') "
            "AS payload) FROM action_proposals WHERE proposal_id = ?",
            [twin, of["proposal_id"]])
    return twin


def test_warn_holds_one_back_error_blocks_the_batch(world, monkeypatch):
    from aios_assets.cli import app

    twin = plant_twin(world["warehouse"], world["ok"])
    with SmtpSink() as sink:
        res, summary = publish(monkeypatch, sink)
        assert sink.received == []
    # ERROR: the run fails, published_actions never ran, nothing reached the outbox
    assert res.exit_code == 1
    assert summary["success"] is False and "published_actions" not in summary
    assert outbox_rows() == []
    assert {"check": "gate_ge_suite", "severity": "ERROR",
            "reason": "the batch breaks exactly-once keys: idempotency_key unique"} in \
        summary["failed_checks"]
    # ... and the operator gets one clear line (the last one on stderr)
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("error: publishing blocked, nothing was enqueued or sent: "
                           "gate_ge_suite: the batch breaks exactly-once keys: "
                           "idempotency_key unique (run ")
    assert "Traceback" not in res.stderr and "Stack Trace" not in res.stderr
    # the reasons are also on the proposals (what `aios proposals` and the UI show)
    listed = {r["proposal_id"]: r for r in json.loads(
        CliRunner().invoke(app, ["proposals", "--json"]).stdout)}
    assert any(g["gate"] == "ge_suite" and "idempotency_key unique" in g["reason"]
               for g in listed[twin]["failed_gates"])

    # repaired: WARN only. The bad proposal is held back with its reason, the good one goes.
    with world["warehouse"].connect() as con:
        con.execute("DELETE FROM action_proposals WHERE proposal_id = ?", [twin])
    with SmtpSink() as sink:
        res, summary = publish(monkeypatch, sink)
        delivered = [m.key for m in sink.received]
    assert res.exit_code == 0, res.output
    assert delivered == [world["ok"]["idempotency_key"]]
    assert summary["published_actions"]["held_back_by_gates"] == 1
    assert {"check": "gate_placeholders", "severity": "WARN"} in summary["failed_checks"]
    assert not any(c["severity"] == "ERROR" for c in summary["failed_checks"])
    assert [r.status for r in outbox_rows()] == ["delivered"]


def test_published_actions_alone_refuses_other_runs_verdicts(world, monkeypatch):
    """Gate in one run (the good proposal passes), then let the operator approve nothing new
    but materialize published_actions alone: it refuses rather than reuse those verdicts."""
    from aios_assets.definitions import defs
    from aios_assets.publishing.assets import GATE_ASSET, PUBLISHED_ASSET

    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def("publish_job")
    first = job.execute_in_process(instance=instance, asset_selection=[GATE_ASSET],
                                   raise_on_error=False)
    assert first.success
    with world["warehouse"].read() as con:
        passed = con.execute("SELECT bool_and(passed) FROM proposal_gate_results "
                             "WHERE proposal_id = ?", [world["ok"]["proposal_id"]]).fetchone()
    assert passed == (True,)
    with SmtpSink() as sink:
        monkeypatch.setenv("AIOS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("AIOS_SMTP_PORT", str(sink.port))
        result = job.execute_in_process(instance=instance, asset_selection=[PUBLISHED_ASSET],
                                        raise_on_error=False)
        assert sink.received == []
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = str(failure.event_specific_data.error.message)
    assert "only on gate verdicts of its own run" in message
    assert f"latest: run {first.run_id[:8]}" in message
    assert outbox_rows() == []
