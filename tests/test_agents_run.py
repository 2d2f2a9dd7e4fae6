"""Each agent over a small real warehouse: proposals with evidence, ledger rows, safety."""

from pathlib import Path

import psycopg
import pytest

from aios_assets.agents.assets import run_agent
from aios_assets.agents.canary import compare, output_problems
from aios_assets.agents.manifests import load_manifests
from aios_assets.agents.proposals import CAPABILITY_OF
from resources.llm import LLMResource
from resources.warehouse import DuckDBWarehouse
from tests.agent_fixtures import ADA, ATTACKER, BOB, CLOCK, EVE, LEO, build_business

MANIFESTS = load_manifests()


@pytest.fixture
def business(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    build_business(home)
    return home


def _run(home: Path, agent: str, llm=None, channel: str = "current"):
    with DuckDBWarehouse(home=str(home)).read() as con:
        out, _ = run_agent(con, MANIFESTS[agent][channel], as_of=CLOCK, llm=llm,
                           mode="live" if channel == "current" else "canary")
        known = {r[0] for r in con.execute("SELECT event_id FROM event_log").fetchall()}
        emails = {r[0]: {r[1]} for r in con.execute(
            "SELECT entity_id, primary_email FROM dim_contacts").fetchall()}
    assert output_problems(out.proposals, MANIFESTS[agent][channel], known, emails) == []
    for p in out.proposals:
        assert p.agent == agent and p.manifest_version == MANIFESTS[agent][channel].version
        assert p.capability == CAPABILITY_OF[p.action_type] and p.expires_at > p.created_at
    return out


def test_every_agent_proposes_with_evidence_through_the_ledger(business, pg_url):
    llm = LLMResource(postgres_url=pg_url)
    before = _billing_calls(pg_url)
    outs = {a: _run(business, a, llm) for a in ("triage", "followup", "billing", "content",
                                                "brief")}
    billing = outs["billing"].proposals
    assert [(p.target_entity_id, p.payload["to"]) for p in billing] == [
        (ADA["entity_id"], ADA["email"])]  # INV-8 is paid: no reminder
    assert "INV-7" in billing[0].payload["subject"] and "EUR 1,200.00" in \
        billing[0].payload["body"] and "20 days overdue" in billing[0].rationale
    follow = outs["followup"].proposals
    assert [p.target_entity_id for p in follow] == [LEO["entity_id"]]  # Ada, Bob are recent
    assert "30 days" in follow[0].payload["body"]
    replies = [p for p in outs["triage"].proposals if p.action_type == "send_email"]
    assert [(p.target_entity_id, p.payload["in_reply_to"]) for p in replies] == [
        (BOB["entity_id"], "m-bob-1@x")]
    content = outs["content"].proposals[0]
    assert content.payload["path"] == "/newsletter/drafts"
    assert "Metric definitions that stick" in content.payload["json"]["body_markdown"]
    assert "Why your dashboards lie" in content.rationale
    brief = outs["brief"].proposals[0]
    assert "overdue invoice" in brief.payload["text"]
    with psycopg.connect(pg_url) as con:
        rows = con.execute("SELECT agent, task, tier FROM aios.llm_calls").fetchall()
    assert {("billing", "draft", "offline"), ("triage", "classify", "offline"),
            ("content", "summarize", "offline")} <= set(rows)
    assert _billing_calls(pg_url) - before == 1  # one draft, one ledger row


def _billing_calls(url: str) -> int:
    with psycopg.connect(url) as con:
        if not con.execute("SELECT to_regclass('aios.llm_calls')").fetchone()[0]:
            return 0
        return con.execute("SELECT count(*) FROM aios.llm_calls WHERE agent = 'billing'"
                           ).fetchone()[0]


def test_rerun_gives_the_same_ids(business):
    first = {p.proposal_id: p.idempotency_key for a in ("triage", "followup", "billing")
             for p in _run(business, a).proposals}
    again = {p.proposal_id: p.idempotency_key for a in ("triage", "followup", "billing")
             for p in _run(business, a).proposals}
    assert first == again and len(first) == 4


def test_prompt_injection_never_steers_an_action(business):
    out = _run(business, "triage")
    for agent in ("triage", "followup", "billing", "content", "brief"):
        for p in _run(business, agent).proposals:
            blob = str(p.payload)
            assert ATTACKER not in blob and "DEMO-0000" not in blob
            assert p.action_type != "http_request" or p.agent == "content"
            if p.target_entity_id == EVE["entity_id"]:
                assert p.action_type == "internal_note" and p.untrusted_input
    notes = [p for p in out.proposals if p.target_entity_id == EVE["entity_id"]]
    assert len(notes) == 1 and "Suspected prompt injection" in notes[0].payload["title"]
    assert "money_transfer" in notes[0].rationale


def test_canary_runs_beside_current_and_is_compared(business):
    current = _run(business, "followup").proposals
    canary = _run(business, "followup", channel="canary").proposals
    assert {p.mode for p in canary} == {"canary"}
    assert not {p.proposal_id for p in current} & {p.proposal_id for p in canary}
    diff = compare(current, canary)
    assert diff.same == 0 and len(diff.changed) == 1 and "subject" in diff.changed[0][2]
    assert diff.overlap == 1.0 and diff.new_action_types == ()
    assert "1.1.0 (canary)" in diff.markdown()


@pytest.mark.parametrize("agent, target", [("billing", ADA), ("followup", LEO)])
def test_operator_rejection_lowers_the_next_proposal(business, pg_url, monkeypatch, agent,
                                                     target):
    """`aios reject` -> decision event in the log -> policy_traces -> the agent's next run
    proposes to the same entity with lower confidence and says why."""
    import uuid

    from aios_assets.agents.proposals import merge_proposals
    from aios_assets.memory.policy_traces import build_policy_traces
    from aios_assets.publishing.approvals import decide
    from resources.postgres import PostgresStore

    name = "reject_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    store = PostgresStore(url=psycopg.conninfo.make_conninfo(pg_url, dbname=name))
    monkeypatch.setenv("AIOS_HOME", str(business))
    wh = DuckDBWarehouse(home=str(business))
    [before] = _run(business, agent).proposals
    assert before.target_entity_id == target["entity_id"]
    with wh.connect() as con:
        merge_proposals(con, [before])
    report = decide([before.proposal_id], "rejected", "too pushy for now", via="cli",
                    warehouse=wh, store=store)
    assert report.logged == 1 and report.note is None
    with wh.connect() as con:
        build_policy_traces(con)
        traces = con.execute("SELECT decision, agent, entity_id, reason FROM policy_traces"
                             ).fetchall()
    assert traces == [("rejected", agent, target["entity_id"], "too pushy for now")]
    [after] = _run(business, agent).proposals
    assert after.target_entity_id == target["entity_id"]
    assert round(before.confidence - after.confidence, 4) == 0.3
    assert "rejected" in after.rationale and "too pushy for now" in after.rationale
