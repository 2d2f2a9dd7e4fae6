"""The cost views count each call once: a run whose LLM calls are shared by several proposals
(several entities) must not multiply the calls, at any grain of `aios cost`, and the
cost_ledger asset creates the views itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from aios_assets.observability.cost_views import COST_DIMENSIONS, cost_rows, ensure_cost_views
from tests.audit_fixtures import fresh_database

NOW = datetime(2026, 6, 3, 9, 0, tzinfo=UTC)


def _ledger_row(run_id: str | None, agent: str, cost: float, kind: str = "llm",
                cache_hit: bool = False) -> list:
    return [uuid.uuid4().hex, NOW.replace(tzinfo=None), run_id, f"agent_{agent}", agent,
            "draft", "cheap", "cheap-m" if kind == "llm" else "SmtpAdapter", "h", 10, 5, cost,
            cache_hit, False, "ok", None, None, 1, 20, kind]


def _proposal(agent: str, entity: str, run_id: str, intent: str, basis: str):
    from aios_assets.agents.proposals import make_proposal

    return make_proposal(
        agent=agent, manifest_version="1.0.0", action_type="send_email",
        target_entity_id=entity, basis=basis,
        payload={"to": f"{entity}@x.example", "subject": "Hi", "body": "Hello"},
        rationale="test", evidence_event_ids=["e1"], confidence=0.9, intent_id=intent,
        run_id=run_id, now=NOW)


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[duckdb.DuckDBPyConnection, dict]:
    from aios_assets.agents.proposals import merge_proposals

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_cost_views(con, [])
    # Run r1: triage made 4 proposals for 4 people from 3 LLM calls; billing made 1 from 1.
    props = [_proposal("triage", f"ent_{i}", "r1", "inbox_triage", f"t{i}") for i in range(4)]
    billing = _proposal("billing", "ent_0", "r1", "chase_overdue_invoices", "b0")
    merge_proposals(con, [*props, billing])
    rows = [_ledger_row("r1", "triage", 0.03), _ledger_row("r1", "triage", 0.05),
            _ledger_row("r1", "triage", 0.0, cache_hit=True), _ledger_row("r1", "billing", 0.2),
            _ledger_row("r2", "memory", 0.07),  # a run that proposed nothing
            _ledger_row("r1", "billing", 0.01, kind="adapter")]
    con.executemany(f"INSERT INTO cost_ledger VALUES ({', '.join('?' * len(rows[0]))})", rows)
    con.execute("INSERT INTO adapter_call_links VALUES (?, ?, ?)",
                [rows[-1][0], billing.proposal_id, billing.idempotency_key])
    return con, {"rows": len(rows), "usd": sum(r[11] for r in rows), "billing": billing}


def test_each_call_counts_once_at_every_grain(ledger):
    con, want = ledger
    for by in COST_DIMENSIONS:
        rows = cost_rows(con, by)
        assert sum(r["calls"] for r in rows) == pytest.approx(want["rows"], abs=0.01), by
        assert sum(r["cost_usd"] for r in rows) == pytest.approx(want["usd"]), by
        assert sum(r["cache_hits"] for r in rows) == pytest.approx(1, abs=0.01), by
    by_agent = {r["agent"]: r for r in cost_rows(con, "agent")}
    # 3 calls, not 3 x 4 proposals: the bug this guards against showed 12.
    assert by_agent["triage"]["calls"] == 3 and isinstance(by_agent["triage"]["calls"], int)
    assert by_agent["billing"]["calls"] == 2 and by_agent["memory"]["calls"] == 1
    by_entity = {r["entity"]: r for r in cost_rows(con, "entity")}
    # each triage target carries a quarter of each shared call and of its cost
    assert by_entity["ent_1"]["calls"] == pytest.approx(0.75)
    assert by_entity["ent_1"]["cost_usd"] == pytest.approx(0.08 / 4)
    # ent_0 also got the billing proposal: its LLM call and the delivery attempt
    assert by_entity["ent_0"]["calls"] == pytest.approx(0.75 + 2)
    assert by_entity["(none)"]["calls"] == pytest.approx(1) and \
        by_entity["(none)"]["cost_usd"] == pytest.approx(0.07)
    by_intent = {r["intent"]: r["calls"] for r in cost_rows(con, "intent")}
    assert by_intent == {"inbox_triage": pytest.approx(3), "chase_overdue_invoices":
                         pytest.approx(2), "(none)": pytest.approx(1)}
    # the dashboard view adds up to the ledger too
    total = con.execute("SELECT sum(calls), count(*) FILTER (WHERE calls > 1) "
                        "FROM cost_by_day_agent_intent_entity_model").fetchone()
    assert total[0] == pytest.approx(want["rows"])


def test_cost_ledger_asset_creates_the_cost_views(aios_home: Path, pg_url: str,
                                                  monkeypatch: pytest.MonkeyPatch):
    from aios_assets.llm.offline import summarize_prompt
    from aios_assets.observability.costs import cost_ledger
    from resources.llm import LLMResource
    from resources.warehouse import DuckDBWarehouse

    monkeypatch.setenv("AIOS_POSTGRES_URL", fresh_database(pg_url))
    monkeypatch.setenv("AIOS_LLM_DAILY_BUDGET_USD", "1.5")
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    llm = LLMResource()
    llm.complete(agent="memory", task="summarize", prompt=summarize_prompt(["Pay $40."]))
    with dg.instance_for_test() as instance:
        assert dg.materialize([cost_ledger], instance=instance,
                              resources={"warehouse": DuckDBWarehouse(), "llm": llm}).success
    with DuckDBWarehouse().read() as con:  # the analysts' snapshot, no `aios cost` needed
        views = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'"
        ).fetchall()}
        assert {"cost_attribution", "cost_by_day_agent_intent_entity_model",
                "cost_budget_status", "cost_by_day_agent_model"} <= views
        assert con.execute("SELECT sum(calls) FROM cost_by_day_agent_intent_entity_model"
                           ).fetchone()[0] == 1
        budget = con.execute("SELECT scope, budget_usd, source FROM cost_budget_status"
                             ).fetchall()
    assert budget == [("all", 1.5, "environment")]


def test_cost_on_a_new_home_says_no_spend(aios_home: Path, pg_url: str):
    """A home where no LLM call was ever made has no ledger table yet: no traceback."""
    from tests.conftest import run_aios

    res = run_aios("cost", home=aios_home,
                   env={"AIOS_POSTGRES_URL": fresh_database(pg_url)})
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert "no spend recorded" in res.stdout + res.stderr
