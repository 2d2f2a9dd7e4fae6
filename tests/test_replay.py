"""`aios replay`: agents re-run over a past window from the event log, in shadow, with cached
LLM answers (the LLM on a loopback OpenAI-compatible server is never called again), compared
with what they proposed then."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from aios_assets.agents.manifests import PACKAGE_DIR
from aios_assets.observability.replay import ReplayLLM, diff_proposals, replay
from aios_assets.testing.openai_server import OpenAIServer
from resources.llm import LLMResource
from resources.warehouse import DuckDBWarehouse
from tests.agent_fixtures import LEO
from tests.audit_fixtures import DRAFT, business_with_agents, fresh_database


def aios(*args: str):
    from aios_assets.cli import app

    return CliRunner().invoke(app, list(args))


@pytest.fixture
def history(aios_home, pg_url, monkeypatch):
    url = fresh_database(pg_url)
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    with OpenAIServer() as server:
        server.script("gpt-4o-mini", DRAFT)
        business_with_agents(aios_home, url, server.url, agents=("billing", "followup"))
        monkeypatch.setenv("AIOS_LLM_BASE_URL", server.url)
        yield {"url": url, "server": server}


def ledger_rows(url: str) -> int:
    with psycopg.connect(url) as con:
        return con.execute("SELECT count(*) FROM aios.llm_calls").fetchone()[0]


def proposal_count(home) -> int:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM action_proposals").fetchone()[0]
    finally:
        con.close()


def test_replay_reproduces_then_shows_template_and_version_changes(history, aios_home):
    server, url = history["server"], history["url"]
    calls, ledger, live = server.count("/v1/chat/completions"), ledger_rows(url), \
        proposal_count(aios_home)
    since = datetime.now(UTC) - timedelta(hours=1)
    until = datetime.now(UTC) + timedelta(minutes=1)
    llm = ReplayLLM.from_resource(LLMResource(base_url=server.url), url)
    with DuckDBWarehouse().read() as con:
        result = replay(con, "billing", since, until, llm=llm)
    s = result.summary()
    assert len(result.runs) == 1 and result.runs[0].run_id is not None
    assert (s["then"], s["now"], s["same"], s["identical"]) == (1, 1, 1, True)
    assert s["llm_answers"] == {"cache": len(llm.calls)} and llm.calls
    assert result.now[0].payload["body"] == DRAFT  # the cached answer, not a new one

    # same through the CLI, and nothing was called, charged or written live
    res = aios("replay", "--agent", "followup", "--since", since.isoformat(), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["identical"] and out["same"] == 1 and out["then"] == 1
    assert server.count("/v1/chat/completions") == calls and ledger_rows(url) == ledger
    assert proposal_count(aios_home) == live

    # a new template (same version, as an operator override): the body changes
    raw = yaml.safe_load((PACKAGE_DIR / "billing.v1.yaml").read_text())
    raw["template_version"] = "billing-reminder@2"
    raw["templates"]["body_firm"] = ("Hi {first_name}, invoice {invoice_id} ({balance}) is "
                                     "{days_overdue} days late. Regards, {operator_first_name}")
    (aios_home / "manifests").mkdir()
    (aios_home / "manifests" / "billing.v1.yaml").write_text(yaml.safe_dump(raw))
    res = aios("replay", "--agent", "billing", "--since", since.isoformat(), "--json", "--save")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert not out["identical"] and out["template_version"] == "billing-reminder@2"
    (changed,) = out["changed"]
    assert changed["fields"] == ["body"] and out["llm_answers"].get("cache_miss")
    con = duckdb.connect(str(aios_home / "warehouse.duckdb"), read_only=True)
    try:
        kept = con.execute("SELECT replay_id, diff, agent, payload ->> 'body' FROM "
                           "replay_proposals").fetchall()
        live_body = con.execute("SELECT payload ->> 'body' FROM action_proposals WHERE "
                                "agent = 'billing'").fetchone()[0]
    finally:
        con.close()
    assert [(r[0], r[1], r[2]) for r in kept] == [(out["replay_id"], "changed", "billing")]
    assert "days late" in kept[0][3] and live_body == DRAFT  # the live row never changes

    # another manifest version (the followup canary: 14 days, new template)
    res = aios("replay", "--agent", "followup", "--since", since.isoformat(),
               "--manifest-version", "1.1.0", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    (changed,) = out["changed"]
    assert out["manifest_version"] == "1.1.0" and changed["then_version"] == "1.0.0"
    assert changed["target_entity_id"] == LEO["entity_id"]
    assert changed["fields"][0] == "manifest_version" and "body" in changed["fields"]
    screen = aios("replay", "--agent", "followup", "--since", since.isoformat(),
                  "--manifest-version", "1.1.0")
    assert screen.exit_code == 0 and "1 changed" in screen.stdout

    # bad input
    res = aios("replay", "--agent", "nobody", "--since", since.isoformat())
    assert res.exit_code == 1 and "unknown agent 'nobody'" in res.output
    res = aios("replay", "--agent", "billing", "--since", "2026-03-02", "--until", "2026-03-01")
    assert res.exit_code == 1 and "before --since" in res.output
    res = aios("replay", "--agent", "billing", "--since", "2020-01-01",
               "--manifest-version", "9.9.9")
    assert res.exit_code == 1 and "no manifest version '9.9.9'" in res.output


HOLD_LOCK = """
import time
from resources.warehouse import DuckDBWarehouse
with DuckDBWarehouse().write_session():
    print("ready", flush=True)
    time.sleep(120)
"""


def test_replay_a_plan_and_save_into_a_busy_warehouse(history, aios_home):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    con = duckdb.connect(str(aios_home / "warehouse.duckdb"), read_only=True)
    try:
        (plan_id,) = con.execute("SELECT plan_id FROM action_proposals "
                                 "WHERE agent = 'billing'").fetchone()
    finally:
        con.close()
    res = aios("replay", "--plan", plan_id, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (out["plan_id"], out["intent_id"], out["identical"]) == (
        plan_id, "chase_overdue_invoices", True)
    (billing,) = out["agents"]  # the plan's one step; followup belongs to another plan
    assert billing["agent"] == "billing" and (billing["then"], billing["same"]) == (1, 1)
    assert billing["since"] <= billing["until"] and billing["llm_answers"] == {"cache": 1}
    screen = aios("replay", "--plan", plan_id)
    assert screen.exit_code == 0 and f"plan {plan_id}" in screen.stdout
    assert "1 same" in screen.stdout
    for args, why in ((["--plan", "plan_nope"], "no plan 'plan_nope'"),
                      (["--plan", plan_id, "--since", "2026-01-01"], "leave out --since"),
                      (["--plan", plan_id, "--agent", "triage"], "has no step for triage"),
                      ([], "say what to replay")):
        res = aios("replay", *args)
        assert res.exit_code == 1 and why in res.output, (args, res.output)

    # --save while a pipeline run holds the write lock: one clear line, exit code 1.
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK], cwd=ROOT,
                              env={**os.environ, "AIOS_HOME": str(aios_home)},
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        res = aios("replay", "--agent", "billing", "--since", since, "--save",
                   "--lock-timeout", "1")
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert res.exit_code == 1
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("error: replay not saved: the warehouse stayed busy for 1 s")
    assert "Traceback" not in res.output and "1 same" in res.output  # the replay was shown
    con = duckdb.connect(str(aios_home / "warehouse.duckdb"), read_only=True)
    try:
        saved = con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = 'replay_proposals'").fetchone()[0]
    finally:
        con.close()
    assert saved == 0  # nothing half-saved


def test_diff_by_id():
    from aios_assets.agents.proposals import Proposal
    from tests.publishing_fixtures import proposal as make

    def p(basis, **kw):
        d = make(basis, **kw)
        return Proposal(**{**d, "evidence_event_ids": tuple(d["evidence_event_ids"])})

    a, b, c = p("a"), p("b"), p("c")
    b2 = Proposal(**{**b.__dict__, "payload": {**b.payload, "body": "other"}})
    d = diff_proposals([a, b], [a, b2, c], earlier_ids=set())
    assert [x.proposal_id for x in d.same] == [a.proposal_id]
    assert [(x.proposal_id, what) for _, x, what in d.changed] == [(b.proposal_id, ("body",))]
    assert [x.proposal_id for x in d.added] == [c.proposal_id] and not d.removed
    d = diff_proposals([a, b], [a], earlier_ids=set())
    assert [x.proposal_id for x in d.removed] == [b.proposal_id] and not d.identical
    d = diff_proposals([a], [a, c], earlier_ids={c.proposal_id})
    assert d.identical and [x.proposal_id for x in d.earlier] == [c.proposal_id]
