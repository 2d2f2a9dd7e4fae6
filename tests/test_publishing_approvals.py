"""Approvals end to end with real parts: proposals in a real DuckDB warehouse, decisions in the
embedded Postgres and the event log, the `aios` CLI, publish_job through the real outbox to a
real SMTP server on loopback (aiosmtpd), shadow sending nothing, the approvals sensor."""

from __future__ import annotations

import json
import uuid

import dagster as dg
import psycopg
import pytest
from conftest import run_aios
from publishing_fixtures import build_warehouse, proposal
from typer.testing import CliRunner

from aios_assets.termtext import MIN_ID_PREFIX
from tests.smtp_sink import SmtpSink

POLICY = """
version: 1
default_mode: approve_first
actions:
  send_email: {mode: approve_first, max_per_day: 10}
  notify_webhook: {mode: shadow}
  internal_note: {mode: autonomous}
"""


@pytest.fixture
def fresh_pg(pg_url, monkeypatch) -> str:
    """A database of its own on the session's embedded server (outbox counts start at 0)."""
    name = "gates_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(pg_url, dbname=name)
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    return url


@pytest.fixture
def world(aios_home, fresh_pg):
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    ok = proposal("ok", now=now)
    bad = proposal("bad", now=now, payload={"to": "ada@acme.io", "subject": "Hi",
                                            "body": "Hi {{first_name}}, TODO price"})
    stranger = proposal("stranger", now=now, target="ent_bob",
                        payload={"to": "mallory@evil.example", "subject": "Hi", "body": "Hello"})
    shadow = proposal("shadow", agent="brief", action_type="notify_webhook", target=None,
                      now=now, payload={"text": "Daily brief: 3 replies waiting"})
    note = proposal("note", agent="brief", action_type="internal_note", target=None, now=now,
                    payload={"text": "Remember the Acme renewal"})
    (aios_home / "policy.yaml").write_text(POLICY)
    build_warehouse([ok, bad, stranger, shadow, note])
    return {"ok": ok, "bad": bad, "stranger": stranger, "shadow": shadow, "note": note}


def cli_publish(monkeypatch, sink: SmtpSink) -> dict:
    from aios_assets.cli import app

    monkeypatch.setenv("AIOS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AIOS_SMTP_PORT", str(sink.port))
    monkeypatch.setenv("AIOS_WEBHOOK_URL", f"http://127.0.0.1:{sink.port + 1}/never")
    result = CliRunner().invoke(app, ["publish", "--json"])
    assert result.exit_code in (0, 1), result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def aios(*args: str):
    """The `aios` CLI in-process (one subprocess call below proves the real entry point)."""
    from aios_assets.cli import app

    return CliRunner().invoke(app, list(args))


def statuses() -> dict[str, str]:
    res = aios("proposals", "--json")
    assert res.exit_code == 0, res.output
    return {r["proposal_id"]: r["status"] for r in json.loads(res.stdout)}


def test_approve_via_cli_delivers_once_and_reject_is_a_policy_trace(world, aios_home,
                                                                     monkeypatch):
    ids = {k: p["proposal_id"] for k, p in world.items()}
    with SmtpSink() as sink:
        first = cli_publish(monkeypatch, sink)
        # nothing approved yet: the gates ran, nothing went out but the internal note
        assert sink.received == []
        gates = first["proposal_gate_results"]
        assert (gates["open_proposals"], gates["failing_proposals"]) == (5, 2)
        assert first["published_actions"]["shadow_would_send"] == 1
        assert {c["check"] for c in first["failed_checks"]} >= {
            "gate_placeholders", "gate_recipients", "gate_ge_suite"}
        before = statuses()
        assert before[ids["ok"]] == "pending" and before[ids["bad"]] == "failed_gate"
        assert before[ids["stranger"]] == "failed_gate" and before[ids["shadow"]] == "shadow"
        assert before[ids["note"]] == "published"  # autonomous, no external effect

        res = run_aios("approve", ids["ok"][:10], home=aios_home)
        assert res.returncode == 0, res.stderr
        assert f"approved {ids['ok']}" in res.stdout
        res = aios("reject", ids["bad"], "--reason", "wrong tone")
        assert res.exit_code == 0, res.output
        res = aios("reject", ids["stranger"])  # no reason
        assert res.exit_code != 0 and "--reason" in res.output
        res = aios("approve", "nosuchproposal")
        assert res.exit_code != 0 and "no proposal 'nosuchproposal'" in res.output

        second = cli_publish(monkeypatch, sink)
        third = cli_publish(monkeypatch, sink)
        delivered = [m for m in sink.received if m.key == world["ok"]["idempotency_key"]]
        assert len(sink.received) == 1 and len(delivered) == 1
        assert delivered[0].rcpt_tos == ("ada@acme.io",)
        assert second["published_actions"]["enqueued"] == 1
        assert third["published_actions"]["enqueued"] == 0
    after = statuses()
    assert after[ids["ok"]] == "published" and after[ids["bad"]] == "rejected"
    assert after[ids["shadow"]] == "shadow"
    res = aios("proposals", "--status", "published", "--json")
    assert {r["proposal_id"] for r in json.loads(res.stdout)} == {ids["ok"], ids["note"]}
    assert aios("proposals", "--status", "nonsense").exit_code != 0

    # every decision is an operator event in the log, and policy_traces reads it
    from aios_assets.memory.policy_traces import build_policy_traces, policy_summary
    from resources.warehouse import DuckDBWarehouse

    with DuckDBWarehouse().connect() as con:
        build_policy_traces(con)
        traces = con.execute(
            "SELECT proposal_id, decision, reason, action_type, agent, problem "
            "FROM policy_traces ORDER BY decision").fetchall()
        summary = policy_summary(con, "send_email")
    assert traces == [(ids["ok"], "approved", None, "send_email", "followup", None),
                      (ids["bad"], "rejected", "wrong tone", "send_email", "followup", None)]
    assert summary["action_types"]["send_email"]["rejection_rate"] == 0.5


def test_shadow_sends_nothing(aios_home, fresh_pg, monkeypatch):
    from datetime import UTC, datetime

    (aios_home / "policy.yaml").write_text(
        "actions:\n  send_email: {mode: shadow}\n  notify_webhook: {mode: autonomous}\n")
    now = datetime.now(UTC)
    mail = proposal("sh-mail", now=now)
    canary = proposal("sh-canary", agent="brief", action_type="notify_webhook", target=None,
                      now=now, mode="canary", payload={"text": "brief v2"})
    build_warehouse([mail, canary])
    from aios_assets.publishing.decisions import record_decisions
    from aios_assets.publishing.outbox import Outbox
    from resources.postgres import PostgresStore

    record_decisions(PostgresStore(), [mail], "approved", None, via="test")  # still shadow
    with SmtpSink() as sink:
        out = cli_publish(monkeypatch, sink)
        assert sink.received == []
    assert out["published_actions"]["shadow_would_send"] == 2
    assert out["published_actions"]["enqueued"] == 0
    assert Outbox(PostgresStore()).rows() == []


def test_approval_job_and_sensor(world, aios_home):
    from aios_assets.definitions import defs
    from aios_assets.publishing.decisions import all_decisions
    from resources.postgres import PostgresStore
    from sensors.approvals import approvals_sensor, plan_publish_run

    store = PostgresStore()
    instance = dg.DagsterInstance.ephemeral()
    # nothing decided yet: the sensor skips and keeps cursor 0
    ctx = dg.build_sensor_context(instance=instance, resources={"postgres": store})
    assert isinstance(approvals_sensor(ctx), dg.SkipReason)
    result = defs.resolve_job_def("approval_job").execute_in_process(
        run_config={"ops": {"record_approval": {"config": {
            "proposal_ids": [world["ok"]["proposal_id"]], "decision": "approved"}}}},
        instance=instance)
    assert result.success
    decisions = all_decisions(store)
    assert [(d.proposal_id, d.decision, d.via) for d in decisions] == [
        (world["ok"]["proposal_id"], "approved", "dagster_ui")]
    ctx = dg.build_sensor_context(instance=instance, cursor="0", resources={"postgres": store})
    request = approvals_sensor(ctx)
    assert isinstance(request, dg.RunRequest) and request.run_key == f"approvals-upto-" \
        f"{decisions[0].seq}"
    assert ctx.cursor == str(decisions[0].seq)
    # the same cursor again: no second run
    assert plan_publish_run(decisions, ctx.cursor) == (None, ctx.cursor)
    bad = defs.resolve_job_def("approval_job").execute_in_process(
        run_config={"ops": {"record_approval": {"config": {
            "proposal_ids": [world["bad"]["proposal_id"]], "decision": "rejected"}}}},
        instance=instance, raise_on_error=False)
    assert not bad.success  # a rejection needs a reason
    # a rejection alone moves the cursor without a run
    from aios_assets.publishing.decisions import record_decisions

    record_decisions(store, [world["bad"]], "rejected", "tone", via="test")
    request, cursor = plan_publish_run(all_decisions(store), ctx.cursor)
    assert request is None and int(cursor) > decisions[0].seq


def test_no_adapter_shows_waiting_for_adapter_with_the_reason(world, aios_home, monkeypatch):
    """Approved, gated, enqueued, but no SMTP configured: not a bare "publishing" but
    waiting_for_adapter, saying what to set; once it is set, the next publish delivers it."""
    from aios_assets.cli import app

    for var in ("AIOS_SMTP_HOST", "AIOS_WEBHOOK_URL", "AIOS_API_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    ok = world["ok"]["proposal_id"]
    assert aios("approve", ok).exit_code == 0
    res = CliRunner().invoke(app, ["publish", "--json"])
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    pub = summary["published_actions"]
    assert pub["enqueued"] == 2 and pub["waiting_for_adapter"] == 1  # + the internal note
    why = "no adapter configured for capability 'email' (set AIOS_SMTP_HOST)"
    assert pub["waiting_for_adapter_reasons"] == [why]
    listed = {r["proposal_id"]: r for r in json.loads(aios("proposals", "--json").stdout)}
    assert (listed[ok]["status"], listed[ok]["status_reason"]) == ("waiting_for_adapter", why)
    monkeypatch.setenv("COLUMNS", "250")  # rich: wide enough for the whole reason
    table = aios("proposals", "--status", "waiting_for_adapter", "--limit", "0")
    # the table shows ids as their shortest unique prefix (at least MIN_ID_PREFIX characters)
    assert table.exit_code == 0 and ok[:MIN_ID_PREFIX] in table.stdout
    assert "AIOS_SMTP_HOST" in table.stdout
    text = aios("publish")
    assert "waiting for an adapter: " + why in text.stderr
    with SmtpSink() as sink:
        cli_publish(monkeypatch, sink)
        assert [m.key for m in sink.received] == [world["ok"]["idempotency_key"]]
    assert statuses()[ok] == "published"
