"""The agents as Dagster assets: plans, one asset per agent, canary, action_proposals, checks."""

import dagster as dg
import duckdb

from aios_assets.agents.assets import AGENT_ASSETS, AGENT_CHECKS
from aios_assets.agents.plans import PlanStore
from aios_assets.agents.proposals import PROPOSALS_TABLE
from resources.llm import LLMResource
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse
from tests.agent_fixtures import CLOCK, build_business


def _materialize(home, pg_url):
    config = {"as_of": CLOCK.isoformat()}
    ops = {k: {"config": config} for k in ("agent_plans", "agent_triage", "agent_followup",
                                           "agent_billing", "agent_content", "agent_brief",
                                           "agent_canary")}
    return dg.materialize(
        [*AGENT_ASSETS, *AGENT_CHECKS],
        resources={"warehouse": DuckDBWarehouse(home=str(home)),
                   "postgres": PostgresStore(url=pg_url),
                   "llm": LLMResource(postgres_url=pg_url, home=str(home))},
        run_config={"ops": ops}, raise_on_error=True)


def test_agents_job_end_to_end(aios_home, pg_url):
    build_business(aios_home)
    result = _materialize(aios_home, pg_url)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks and all(checks[f"{a}_outputs_valid"] for a in
                          ("triage", "followup", "billing", "content", "brief"))
    assert checks["action_proposals_unique"]
    con = duckdb.connect(str(aios_home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(f"SELECT agent, mode, count(*) FROM {PROPOSALS_TABLE} "
                           "GROUP BY ALL ORDER BY ALL").fetchall()
        diffs = con.execute("SELECT agent, canary_version, overlap FROM agent_canary_diffs"
                            ).fetchall()
    finally:
        con.close()
    agents = {a for a, m, _ in rows if m == "live"}
    assert agents == {"triage", "followup", "billing", "content", "brief"}
    assert ("followup", "canary", 1) in rows and diffs == [("followup", "1.1.0", 1.0)]
    mats = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert "INV-7" in mats["agent_billing"]["preview"].value
    assert "1.1.0 (canary)" in mats["agent_canary"]["diff"].value
    store = PlanStore(pg_url)
    plan = store.current("chase_overdue_invoices")
    assert plan.step("billing").status == "succeeded" and len(plan.step("billing").outputs) == 1
    total = sum(n for *_, n in rows)
    # Same window again: plans are done, outputs unchanged, the merge adds nothing.
    again = _materialize(aios_home, pg_url)
    mats = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in again.get_asset_materialization_events()}
    assert mats["agent_billing"]["outcome"].value == "step already succeeded"
    assert mats[PROPOSALS_TABLE]["new_proposals"].value == 0
    assert mats[PROPOSALS_TABLE]["dagster/row_count"].value == total
