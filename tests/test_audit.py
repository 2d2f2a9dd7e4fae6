"""`aios audit`, `aios audit export` and `aios cost` over a real history: the billing agent run as
a Dagster asset with its LLM on a loopback OpenAI-compatible server, gated and published
through the real outbox to a real SMTP server on loopback after an approval via the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from aios_assets.observability.audit import parse_when, redact
from aios_assets.publishing.gates import GATES
from aios_assets.testing.openai_server import OpenAIServer
from tests.agent_fixtures import ADA
from tests.audit_fixtures import DRAFT, business_with_agents, fresh_database
from tests.smtp_sink import SmtpSink

ENV_SECRET = "envsecret-7f3a9c1d2e5b"
KEY_SECRET = "sk-" + "ABCDEFGHIJKLMNOPQRST" + "uvwx1234"  # a fake key, assembled at run time
FIELD_SECRET = "plain-looking-value-31337"


def aios(*args: str):
    from aios_assets.cli import app

    return CliRunner().invoke(app, list(args))


def publish(monkeypatch, sink: SmtpSink) -> dict:
    monkeypatch.setenv("AIOS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AIOS_SMTP_PORT", str(sink.port))
    res = aios("publish", "--json")
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout.strip().splitlines()[-1])


def plant_secret_proposal() -> str:
    """An http_request proposal whose payload carries credentials (it fails the secrets gate)."""
    from aios_assets.agents.proposals import make_proposal, merge_proposals
    from resources.warehouse import DuckDBWarehouse

    p = make_proposal(
        agent="content", manifest_version="1.0.0", action_type="http_request",
        target_entity_id=ADA["entity_id"], basis="planted-secret",
        payload={"method": "POST", "path": "/crm/notes",
                 "json": {"api_key": FIELD_SECRET,
                          "body": f"use {KEY_SECRET} and {ENV_SECRET} to log in"}},
        rationale="a test proposal carrying credentials", evidence_event_ids=["none"],
        confidence=0.5)
    with DuckDBWarehouse().connect() as con:
        merge_proposals(con, [p])
    return p.proposal_id


@pytest.fixture
def history(aios_home, pg_url, monkeypatch):
    url = fresh_database(pg_url)
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    monkeypatch.setenv("AIOS_TEST_API_TOKEN", ENV_SECRET)
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    with OpenAIServer() as server:
        server.script("gpt-4o-mini", DRAFT)
        run = business_with_agents(aios_home, url, server.url)
        paid_calls = server.count("/v1/chat/completions")
    return {"url": url, "run_id": run.run_id, "paid_calls": paid_calls,
            "secret_pid": plant_secret_proposal()}


def test_audit_proposal_entity_run_export_and_cost(history, aios_home, monkeypatch, tmp_path):
    import duckdb

    con = duckdb.connect(str(aios_home / "warehouse.duckdb"), read_only=True)
    (pid, key, evidence), = con.execute(
        "SELECT proposal_id, idempotency_key, evidence_event_ids FROM action_proposals "
        "WHERE agent = 'billing'").fetchall()
    inv7 = con.execute("SELECT event_id FROM event_log WHERE source_id = 'INV-7'").fetchone()[0]
    con.close()
    assert inv7 in evidence and history["paid_calls"] >= 1

    with SmtpSink() as sink:
        first = publish(monkeypatch, sink)
        assert first["proposal_gate_results"]["open_proposals"] == 2
        assert aios("approve", pid[:10]).exit_code == 0
        second = publish(monkeypatch, sink)
        assert second["published_actions"]["delivered"] == 1
        assert [m.key for m in sink.received] == [key]

    # --- a proposal: agent + version, why, evidence, LLM calls, gates, decision, delivery ---
    res = aios("audit", pid[:8], "--json")
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)
    p = r["proposal"]
    assert (r["kind"], p["proposal_id"], p["agent"], p["manifest_version"]) == (
        "proposal", pid, "billing", "1.0.0")
    assert r["manifest"]["template_version"] and r["manifest"]["channel"] == "current"
    assert "INV-7" in p["rationale"] and p["run_id"] == history["run_id"]
    ev = {e["event_id"]: e for e in r["evidence"]}
    assert ev[inv7]["found"] and ev[inv7]["kind"] == "invoice" and ev[inv7]["source_id"] == "INV-7"
    llm = r["llm_calls"]
    assert len(llm) == history["paid_calls"] and {c["model"] for c in llm} == {"gpt-4o-mini"}
    assert all(len(c["prompt_hash"]) == 64 and c["cost_usd"] > 0 for c in llm)
    gates = {g["gate"]: g["passed"] for g in r["gates"]}
    assert len(gates) == len(GATES) and all(gates.values())
    (decision,) = r["decisions"]
    assert (decision["decision"], decision["via"], decision["decided_by"]) == (
        "approved", "cli", "operator")
    (row,) = r["outbox"]
    assert row["status"] == "delivered" and row["proposal_id"] == pid
    assert [(a["capability"], a["outcome"]) for a in r["adapter_calls"]] == [("email", "ok")]
    assert r["fate"] == "published"
    spent = sum(c["cost_usd"] for c in llm)
    assert r["cost"]["llm_usd_share"] == pytest.approx(spent, abs=1e-6)
    assert "LLM call(s)" in r["cost"]["why"] and "delivery attempt" in r["cost"]["why"]
    screen = aios("audit", pid)
    assert screen.exit_code == 0, screen.output
    for text in ("billing", "INV-7", "approved", "delivered", "gpt-4o-mini", "published"):
        assert text in screen.stdout, text

    # --- an entity, by name and by e-mail ---
    res = aios("audit", "Ada Lovelace", "--json")
    assert res.exit_code == 0, res.output
    e = json.loads(res.stdout)
    assert e["kind"] == "entity" and e["entity_id"] == ADA["entity_id"]
    fates = {x["proposal_id"]: x["fate"] for x in e["proposals"]}
    assert fates[pid] == "published" and fates[history["secret_pid"]] == "failed_gate"
    assert e["interactions"]["count"] >= 2 and e["cost"]["llm_usd_share"] > 0
    assert json.loads(aios("audit", ADA["email"].upper(), "--json").stdout)["entity_id"] == \
        ADA["entity_id"]

    # --- a Dagster run ---
    res = aios("audit", history["run_id"][:8], "--json")
    assert res.exit_code == 0, res.output
    run = json.loads(res.stdout)
    assert run["kind"] == "run" and run["dagster"]["status"] == "SUCCESS"
    assert {"agent_billing", "action_proposals"} <= set(run["dagster"]["assets_materialized"])
    assert [x["proposal_id"] for x in run["proposals"]] == [pid]
    assert run["cost"]["llm_usd"] == pytest.approx(spent, abs=1e-6)

    # --- errors ---
    res = aios("audit", "no-such-thing-anywhere")
    assert res.exit_code == 1 and "nothing matches 'no-such-thing-anywhere'" in res.output
    res = aios("audit", "o")  # in five names
    assert res.exit_code == 1 and "matches" in res.output and "ent_leo" in res.output

    # --- export: the whole trail, no credential anywhere ---
    day = datetime.now(UTC).date().isoformat()
    for name in ("trail.jsonl", "trail.parquet"):
        out = tmp_path / name
        res = aios("audit", "export", "--since", day, "--until", day, "--out", str(out))
        assert res.exit_code == 0, res.output
        raw = out.read_bytes()
        for secret in (ENV_SECRET, KEY_SECRET, FIELD_SECRET):
            assert secret.encode() not in raw, (name, secret)
    records = [json.loads(line) for line in (tmp_path / "trail.jsonl").read_text().splitlines()]
    kinds = {r["record_type"] for r in records}
    assert {"proposal", "gate_result", "decision", "execution", "adapter_call", "llm_call",
            "agent_run"} <= kinds
    planted = next(r for r in records if r["proposal_id"] == history["secret_pid"]
                   and r["record_type"] == "proposal")
    assert planted["data"]["payload"]["json"]["api_key"] == "[redacted]"
    assert planted["data"]["payload"]["json"]["body"] == "use [redacted] and [redacted] to log in"
    table = pq.read_table(tmp_path / "trail.parquet")
    assert table.num_rows == len(records) and "data" in table.column_names
    res = aios("audit", "export", "--entity", "ent_bob", "--out", str(tmp_path / "bob.jsonl"))
    assert res.exit_code == 0 and (tmp_path / "bob.jsonl").read_text() == ""
    res = aios("audit", "export", "--out", str(tmp_path / "x.csv"))
    assert res.exit_code == 1 and ".jsonl or .parquet" in res.output

    # --- cost: per entity / intent / model, budgets against spend ---
    monkeypatch.setenv("AIOS_LLM_DAILY_BUDGET_USD", "2.5")
    monkeypatch.setenv("AIOS_LLM_AGENT_DAILY_BUDGET_USD", "billing=0.5")
    res = aios("cost", "--by", "entity", "--json")
    assert res.exit_code == 0, res.output
    c = json.loads(res.stdout)
    by_entity = {r["entity"]: r for r in c["rows"]}
    assert by_entity[ADA["entity_id"]]["llm_usd"] == pytest.approx(spent, abs=1e-6)
    assert by_entity[ADA["entity_id"]]["name"] == "Ada Lovelace"
    budgets = {(b["scope"], b["name"]): b for b in c["budgets"]}
    assert budgets[("all", "*")]["budget_usd"] == 2.5
    assert budgets[("agent", "billing")]["spent_today_usd"] == pytest.approx(spent, abs=1e-6)
    assert ("intent", "chase_overdue_invoices") in budgets or not any(
        s == "intent" for s, _ in budgets)
    by_intent = json.loads(aios("cost", "--by", "intent", "--json", "--no-refresh").stdout)
    assert {r["intent"] for r in by_intent["rows"]} >= {"chase_overdue_invoices"}
    by_model = json.loads(aios("cost", "--by", "model", "--json", "--no-refresh").stdout)
    assert {r["model"] for r in by_model["rows"]} >= {"gpt-4o-mini", "SmtpAdapter"}
    table_out = aios("cost", "--by", "agent", "--no-refresh")
    assert table_out.exit_code == 0 and "billing" in table_out.stdout
    assert "budgets" in table_out.stdout
    assert aios("cost", "--by", "colour").exit_code == 1


def test_redact_removes_credentials_by_key_and_by_shape():
    value = {"to": "a@b.c", "Authorization": "Bearer abc", "nested": [
        {"password": "hunter22", "text": "token: abcdefgh and ghp_" + "a" * 36}],
        "note": "the env value s3cr3t-env-value is here"}
    out = redact(value, secret_values={"s3cr3t-env-value"})
    assert out["to"] == "a@b.c" and out["Authorization"] == "[redacted]"
    assert out["nested"][0]["password"] == "[redacted]"
    assert "abcdefgh" not in out["nested"][0]["text"] and "ghp_" not in out["nested"][0]["text"]
    assert out["note"] == "the env value [redacted] is here"


def test_parse_when():
    assert parse_when("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_when("2026-03-01", end=True).hour == 23
    assert parse_when("2026-03-01T12:00Z") == datetime(2026, 3, 1, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="not an ISO date"):
        parse_when("yesterday")
