"""Intents: defaults written when missing, typed loading, clear errors, aios intent add/list."""

import json

import pytest
from typer.testing import CliRunner

from aios_assets.agents.intents import (
    IntentsFileError,
    ensure_default_intents,
    intents_for_agent,
    load_intents,
)
from aios_assets.cli import app
from aios_assets.shared.home import AiosHome


def test_defaults_cover_the_demo(aios_home):
    path = ensure_default_intents(AiosHome.from_env())
    intents = load_intents(path)
    assert {i.id for i in intents} == {"inbox_triage", "follow_up_stale_leads",
                                       "chase_overdue_invoices", "weekly_newsletter",
                                       "daily_brief"}
    assert {a for i in intents for a in i.agents} == {"triage", "followup", "billing",
                                                      "content", "brief"}
    assert intents_for_agent(intents, "billing")[0].constraints.min_confidence == 0.5
    path.write_text("# mine\nversion: 1\nintents: []\n")
    ensure_default_intents(AiosHome.from_env())  # never overwrites the operator's file
    assert load_intents(path) == []


@pytest.mark.parametrize("text, message", [
    ("intents: [ {id: x", "not valid YAML at line"),
    ("- just\n- a list\n", "top level must be a mapping"),
    ("intents:\n  - id: BadId\n    goal: do it\n    kpi: {name: k}\n    agents: [brief]\n",
     r"intents\[0\] \(BadId\)\.id"),
    ("intents:\n  - id: ok_one\n    goal: do it\n    kpi: {name: k}\n    agents: [hacker]\n",
     "unknown agent"),
    ("intents:\n  - id: ok_one\n    goal: do it\n    kpi: {name: k}\n    agents: [brief]\n"
     "    autonomy: yolo\n", "autonomy"),
    ("intents:\n  - id: ok_one\n    goal: do it\n    kpi: {name: k}\n    agents: [brief]\n"
     "    constraints: {quiet_hours: '25:00-08:00'}\n", "quiet_hours"),
    ("intents:\n  - {id: a_b, goal: do it, kpi: {name: k}, agents: [brief]}\n"
     "  - {id: a_b, goal: do it, kpi: {name: k}, agents: [brief]}\n", "appears twice"),
    ("intents:\n  - id: ok_one\n    goal: do it\n    kpi: {name: k}\n    agents: [brief]\n"
     "    colour: blue\n", "colour"),
])
def test_bad_files_say_where(tmp_path, text, message):
    path = tmp_path / "intents.yaml"
    path.write_text(text)
    with pytest.raises(IntentsFileError, match=message) as err:
        load_intents(path)
    assert str(path) in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(IntentsFileError, match="no intents file"):
        load_intents(tmp_path / "nope.yaml")


def test_cli_add_and_list(aios_home):
    runner = CliRunner()
    res = runner.invoke(app, ["intent", "add", "pay_me", "--goal", "Get paid on time",
                              "--kpi", "overdue_balance", "--agent", "billing",
                              "--cadence", "weekly"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["intent", "list", "--json"])
    assert res.exit_code == 0, res.output
    listed = {i["id"]: i for i in json.loads(res.stdout)}
    assert listed["pay_me"]["cadence"] == "weekly" and len(listed) == 6
    dup = runner.invoke(app, ["intent", "add", "pay_me", "--goal", "again", "--kpi", "k",
                              "--agent", "billing"])
    assert dup.exit_code == 1 and "exists" in dup.output
    bad = runner.invoke(app, ["intent", "add", "x_y", "--goal", "bad agent", "--kpi", "k",
                              "--agent", "wire_bot"])
    assert bad.exit_code == 1 and "unknown agent" in bad.output


# --- budget_usd_per_run: an agent run's estimated spend is capped ---------------------------


def _intent(**constraints):
    from aios_assets.agents.intents import Intent

    return Intent(id="inbox_triage", goal="Answer the inbox", kpi={"name": "unanswered_inbound"},
                  agents=("triage",), constraints=constraints)


def test_budget_per_run_degrades_llm_calls_then_drops_what_does_not_fit(tmp_path, pg_url):
    """With a paid endpoint, the first call spends the tiny budget: later calls use the
    offline tier (the server sees one call), and the reply whose estimated cost exceeds the
    budget is not proposed; both are said in the run's notes, never silently."""
    from aios_assets.agents.assets import run_agent
    from aios_assets.agents.manifests import load_manifests
    from aios_assets.testing.openai_server import OpenAIServer
    from resources.llm import LLMResource
    from resources.warehouse import DuckDBWarehouse
    from tests.agent_fixtures import BOB, CLOCK, EVE, build_business

    home = tmp_path / "home"
    build_business(home)
    manifest = load_manifests()["triage"]["current"]
    with OpenAIServer() as server:
        llm = LLMResource(base_url=server.url, api_key="k", cheap_model="cheap-m",
                          strong_model="cheap-m", prices={"cheap-m": [1000.0, 2000.0]},
                          postgres_url=pg_url, cache_ttl_s=0, max_retries=0)
        with DuckDBWarehouse(home=str(home)).read() as con:
            unlimited, _ = run_agent(con, manifest, as_of=CLOCK, llm=llm, intent=_intent())
            paid_without_budget = server.count("/chat/completions")
            out, run = run_agent(con, manifest, as_of=CLOCK, llm=llm,
                                 intent=_intent(budget_usd_per_run=1e-6))
            paid_with_budget = server.count("/chat/completions") - paid_without_budget
    assert paid_without_budget >= 2 and paid_with_budget == 1
    assert run.budget_degraded_calls == paid_without_budget - 1
    targets = {p.target_entity_id for p in unlimited.proposals}
    assert BOB["entity_id"] in targets and EVE["entity_id"] in targets
    # Bob's reply cost more than the budget; the free injection warning still fits
    assert [p.target_entity_id for p in out.proposals] == [EVE["entity_id"]]
    assert run.budget_dropped == 1
    notes = " | ".join(run.budget_notes)
    assert "reached the intent's budget_usd_per_run $0.0000" in notes
    assert "1 proposal(s) not made" in notes and notes.startswith("inbox_triage: ")
    stats = run.budget_stats()
    assert stats["budget_dropped_proposals"] == 1 and stats["llm_spent_usd"] > 1e-6


def test_budget_per_run_counts_action_costs_offline(tmp_path):
    """Offline (no LLM cost) the budget still caps the manifest's action costs, best first."""
    from aios_assets.agents.assets import run_agent
    from aios_assets.agents.manifests import load_manifests
    from resources.warehouse import DuckDBWarehouse
    from tests.agent_fixtures import CLOCK, build_business

    home = tmp_path / "home"
    build_business(home)
    manifest = load_manifests()["triage"]["current"].model_copy(
        update={"action_cost_usd": 0.4})
    with DuckDBWarehouse(home=str(home)).read() as con:
        free, _ = run_agent(con, manifest, as_of=CLOCK, intent=_intent())
        capped, run = run_agent(con, manifest, as_of=CLOCK,
                                intent=_intent(budget_usd_per_run=0.5))
    assert len(free.proposals) >= 2  # keep_best orders them best first
    assert [p.proposal_id for p in capped.proposals] == [free.proposals[0].proposal_id]
    assert run.budget_dropped == len(free.proposals) - 1
    assert "would take the run over budget_usd_per_run $0.5000" in run.budget_notes[0]
