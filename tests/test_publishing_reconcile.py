"""Publishing settles what a crashed publisher left ``claimed``: `aios publish` (publish_job)
and reconcile_job call Outbox.reconcile, and the action reaches a real SMTP server on loopback
(aiosmtpd) once, and a second run sends nothing more."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import dagster as dg
import psycopg
import pytest
from publishing_fixtures import build_warehouse, proposal
from typer.testing import CliRunner

from aios_assets.publishing.adapters.smtp import SmtpAdapter
from aios_assets.publishing.outbox import Outbox
from aios_assets.publishing.publish import to_outbox_action
from resources.postgres import PostgresStore
from tests.smtp_sink import SmtpSink

POLICY = "actions:\n  send_email: {mode: approve_first, max_per_day: 10}\n"


class Crash(Exception):
    """The publisher dies right after claiming (before the SMTP call)."""


@pytest.fixture
def fresh_pg(pg_url, monkeypatch) -> str:
    name = "reconcile_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(pg_url, dbname=name)
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    return url


def leave_claimed(p: dict, url: str, *, minutes_ago: float) -> str:
    """Enqueue ``p`` and let a publisher die right after claiming it; backdate the claim."""
    def crash(step: str, key: str) -> None:
        if step == "claimed":
            raise Crash

    box = Outbox(PostgresStore(), on_step=crash)
    box.enqueue([to_outbox_action(p)])
    with pytest.raises(Crash):
        box.publish({"email": SmtpAdapter(host="127.0.0.1", port=9)})  # never reached
    key = p["idempotency_key"]
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("UPDATE aios.outbox SET claimed_at = now() - make_interval(mins => %s) "
                    "WHERE idempotency_key = %s", (minutes_ago, key))
    assert box.status(key).status == "claimed"
    return key


def cli_publish(monkeypatch, sink: SmtpSink) -> dict:
    from aios_assets.cli import app

    monkeypatch.setenv("AIOS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AIOS_SMTP_PORT", str(sink.port))
    result = CliRunner().invoke(app, ["publish", "--json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout.strip().splitlines()[-1])["published_actions"]


def test_aios_publish_reconciles_a_crashed_claim_once(aios_home, fresh_pg, monkeypatch):
    from aios_assets.publishing.decisions import record_decisions

    (aios_home / "policy.yaml").write_text(POLICY)
    p = proposal("crashed-claim", now=datetime.now(UTC))
    build_warehouse([p])
    record_decisions(PostgresStore(), [p], "approved", None, via="test")
    key = leave_claimed(p, fresh_pg, minutes_ago=10)
    box = Outbox(PostgresStore())
    with SmtpSink() as sink:
        settled = cli_publish(monkeypatch, sink)
        assert settled["reconciled"] == 1
        assert settled["reconciled_results"] == {"delivered": 1}
        again = cli_publish(monkeypatch, sink)
        assert again["reconciled"] == 0 and again["enqueued"] == 0
        assert [m.key for m in sink.received] == [key]
        assert sink.received[0].rcpt_tos == ("ada@acme.io",)
    row = box.status(key)
    assert row.status == "delivered" and row.external_id
    assert row.attempts == 2  # the crashed claim and the reconciliation


def test_reconcile_job_settles_claimed_rows(aios_home, fresh_pg, monkeypatch):
    from aios_assets.definitions import defs

    key = leave_claimed(proposal("job-claim", now=datetime.now(UTC)), fresh_pg, minutes_ago=10)
    with SmtpSink() as sink:
        monkeypatch.setenv("AIOS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("AIOS_SMTP_PORT", str(sink.port))
        job = defs.resolve_job_def("reconcile_job")
        config = {"ops": {"reconcile_outbox": {"config": {"older_than_s": 60}}}}
        result = job.execute_in_process(run_config=config,
                                        instance=dg.DagsterInstance.ephemeral())
        assert result.success
        assert result.output_for_node("reconcile_outbox") == {"delivered": 1}
        rerun = job.execute_in_process(run_config=config,
                                       instance=dg.DagsterInstance.ephemeral())
        assert rerun.output_for_node("reconcile_outbox") == {}
        assert [m.key for m in sink.received] == [key]
    assert Outbox(PostgresStore()).status(key).status == "delivered"
