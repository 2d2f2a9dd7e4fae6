"""The agents as Dagster assets: plans, one asset per agent, canary, action_proposals, checks."""

import dagster as dg
import duckdb
import pytest

from aios_assets.agents.assets import AGENT_ASSETS, AGENT_CHECKS
from aios_assets.agents.plans import PlanStore
from aios_assets.agents.proposals import PROPOSALS_TABLE, replace_agent_outputs
from resources.llm import LLMResource
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse
from tests.agent_fixtures import CLOCK, build_business


@pytest.fixture
def fresh_pg(pg_url) -> str:
    """A database of its own: plans are per window of the wall clock, so tests that share one
    would find each other's steps already done."""
    import uuid

    import psycopg

    name = "agents_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return psycopg.conninfo.make_conninfo(pg_url, dbname=name)


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


def test_agents_job_end_to_end(aios_home, fresh_pg):
    pg_url = fresh_pg
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


# --- failures through Dagster: retry, escalation, compensation -------------------------------

AGENT_OPS = ("agent_plans", "agent_triage", "agent_followup", "agent_billing", "agent_content",
             "agent_brief", "agent_canary")


def _data_versions(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    return {e.asset_key.to_user_string(): e.materialization.tags["dagster/data_version"]
            for e in result.get_asset_materialization_events()}


def test_a_rerun_with_nothing_new_keeps_every_data_version(aios_home, fresh_pg):
    """The agents, their plans, the canary and the merge version their data by content: a
    rerun that proposes the same (the hourly triage with no new mail) keeps every version, so
    the catalog flags nothing downstream "Upstream data" (issue 17)."""
    build_business(aios_home)
    first = _data_versions(_materialize(aios_home, fresh_pg))
    assert set(first) == {*AGENT_OPS, PROPOSALS_TABLE}
    assert len(set(first.values())) > 3  # from content, not one constant
    assert _data_versions(_materialize(aios_home, fresh_pg)) == first


def _run(home, pg_url, *, selection=None, retry_base_s: float = 30.0, force: bool = False):
    config = {"as_of": CLOCK.isoformat(), "retry_base_s": retry_base_s, "force": force}
    return dg.materialize(
        [*AGENT_ASSETS, *AGENT_CHECKS],
        selection=selection,
        resources={"warehouse": DuckDBWarehouse(home=str(home)),
                   "postgres": PostgresStore(url=pg_url),
                   "llm": LLMResource(postgres_url=pg_url, home=str(home))},
        run_config={"ops": {k: {"config": config} for k in AGENT_OPS
                            if selection is None or k in selection}},
        raise_on_error=False)


def _rows(home, sql: str, params=()):
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("agent, intent, outcome", [
    ("content", "weekly_newsletter", "compensated"),
    ("billing", "chase_overdue_invoices", "escalated"),
])
def test_failing_agent_is_retried_then_escalated_or_compensated(aios_home, fresh_pg,
                                                                  monkeypatch, agent, intent,
                                                                  outcome):
    pg_url = fresh_pg
    from aios_assets.agents import assets as agent_assets
    from aios_assets.agents.runtime import AgentError

    build_business(aios_home)
    wh = DuckDBWarehouse(home=str(aios_home))
    # outputs an earlier attempt left staged: compensation must withdraw them, escalation not
    with wh.read() as con:
        earlier, _ = agent_assets.run_agent(con, agent_assets.load_manifests()[agent]["current"],
                                            as_of=CLOCK)
    with wh.connect() as con:
        replace_agent_outputs(con, agent, "live", earlier.proposals)
    calls = []

    def broken(con, run):
        calls.append(run.now)
        raise AgentError("the upstream API changed its schema")

    monkeypatch.setitem(agent_assets.AGENT_FUNCS, agent, broken)
    key = f"agent_{agent}"
    result = _run(aios_home, pg_url, selection=["agent_plans", key], retry_base_s=0.05)
    # Dagster retried the step twice (RetryRequested), the third attempt settled the plan
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(calls) == 3 and len(retries) == 2
    assert all(e.step_key == key for e in retries)
    mats = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert mats[key]["outcome"].value == {"compensated": "compensate",
                                          "escalated": "escalate"}[outcome]
    plan = PlanStore(pg_url).current(intent)
    step = plan.step(agent)
    assert (plan.status, step.status, step.attempts) == (outcome, outcome, 3)
    assert [h.split(" ", 1)[1].split(":")[0] for h in step.history] == [
        "running (attempt 1)", "retry_wait", "running (attempt 2)", "retry_wait",
        "running (attempt 3)", outcome]
    assert "the upstream API changed its schema" in step.last_error
    # the operator is told: a planner internal_note in action_proposals
    notes = _rows(aios_home, f"SELECT agent, action_type, intent_id, payload ->> 'title', "
                             f"payload ->> 'text' FROM {PROPOSALS_TABLE} WHERE agent = 'planner'")
    assert len(notes) == 1
    who, action, note_intent, title, text = notes[0]
    assert (who, action, note_intent) == ("planner", "internal_note", intent)
    assert title == f"Agent {agent} needs you ({intent})" and "after 3 attempt(s)" in text
    staged = _rows(aios_home, "SELECT count(*) FROM agent_outputs WHERE agent = ? AND "
                              "mode = 'live'", [agent])[0][0]
    if outcome == "compensated":
        assert "withdrawn" in text and staged == 0 and step.outputs == ()
    else:
        assert "escalated to the operator" in text and staged == len(earlier.proposals) > 0


# --- behaviour checks failing, and what that does -------------------------------------------


def test_invalid_outputs_block_the_merge_and_never_leak_into_a_later_job(aios_home, fresh_pg,
                                                                         monkeypatch):
    """A follow-up run whose outputs cite evidence that is not in the event log fails
    followup_outputs_valid (blocking): action_proposals does not run in that job, and the
    triage job that runs next merges triage's proposals but withholds follow-up's."""
    pg_url = fresh_pg
    from dataclasses import replace

    from aios_assets.agents import assets as agent_assets

    build_business(aios_home)
    real = agent_assets.AGENT_FUNCS["followup"]

    def forgetful(con, run):  # a buggy agent: evidence ids that do not exist
        out = real(con, run)
        out.proposals[:] = [replace(p, evidence_event_ids=("no-such-event",))
                            for p in out.proposals]
        return out

    monkeypatch.setitem(agent_assets.AGENT_FUNCS, "followup", forgetful)
    first = _run(aios_home, pg_url)
    checks = {e.check_name: e for e in first.get_asset_check_evaluations()}
    assert not checks["followup_outputs_valid"].passed
    assert "evidence id(s) not in the event log" in \
        checks["followup_outputs_valid"].metadata["details"].value
    materialized = {e.asset_key.to_user_string() for e in first.get_asset_materialization_events()}
    assert "agent_followup" in materialized and PROPOSALS_TABLE not in materialized
    bad_ids = [r[0] for r in _rows(aios_home, "SELECT proposal_id FROM agent_outputs "
                                              "WHERE agent = 'followup' AND mode = 'live'")]
    assert bad_ids  # still staged, for inspection

    # the hourly triage job (planner, triage, merge) runs next, with the real agents again
    monkeypatch.setitem(agent_assets.AGENT_FUNCS, "followup", real)
    second = _run(aios_home, pg_url, selection=["agent_plans", "agent_triage", PROPOSALS_TABLE])
    assert second.success
    meta = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in second.get_asset_materialization_events()}[PROPOSALS_TABLE]
    assert meta["withheld"].value == {"followup": len(bad_ids)}
    assert "not in the event log" in meta["withheld_problems"].value
    merged = {a for (a,) in _rows(aios_home, f"SELECT DISTINCT agent FROM {PROPOSALS_TABLE}")}
    assert "triage" in merged and "followup" not in merged
    assert not _rows(aios_home, f"SELECT 1 FROM {PROPOSALS_TABLE} WHERE proposal_id IN "
                                "(SELECT unnest(?))", [bad_ids])
    # the real follow-up agent reruns (forced: its plan step counts as done): now it merges
    third = _run(aios_home, pg_url, selection=["agent_followup", PROPOSALS_TABLE], force=True)
    assert third.success
    assert "followup" in {a for (a,) in _rows(aios_home, f"SELECT DISTINCT agent FROM "
                                                          f"{PROPOSALS_TABLE}")}


def test_rate_drift_and_canary_drift_warn_without_blocking(aios_home, fresh_pg):
    """Billing used to propose a dozen reminders a run and now proposes one: the rate check
    warns. A canary follow-up manifest that targets far more people than the current one
    (quiet_days 0.5): the canary check warns. Both are WARN: the merge still runs, and canary
    proposals stay marked canary (never published)."""
    pg_url = fresh_pg
    from datetime import timedelta

    from aios_assets.agents.assets import RUNS_DDL
    from aios_assets.agents.manifests import PACKAGE_DIR

    build_business(aios_home)
    with DuckDBWarehouse(home=str(aios_home)).connect() as con:
        con.execute(RUNS_DDL)
        for i in range(5):
            con.execute("INSERT INTO agent_runs VALUES (?, 'billing', 'live', '1.0.0', ?, ?, "
                        "'ok', 12, '{}')", [f"old-{i}", CLOCK, CLOCK - timedelta(days=i + 1)])
    user = aios_home / "manifests"
    user.mkdir()
    canary = (PACKAGE_DIR / "followup.v2.yaml").read_text()
    assert "  quiet_days: 45\n" in canary
    (user / "followup.v2.yaml").write_text(canary.replace("  quiet_days: 45\n",
                                                          "  quiet_days: 0.5\n"))
    result = _run(aios_home, pg_url)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    rate = checks["billing_proposal_rate_stable"]
    assert not rate.passed and rate.severity == dg.AssetCheckSeverity.WARN
    assert rate.metadata["drift"].value == "1 proposals vs a median of 12 over the last 5 runs"
    tol = checks["canary_within_tolerance"]
    assert not tol.passed and tol.severity == dg.AssetCheckSeverity.WARN
    assert "canary overlaps the current version by 33%" in tol.metadata["problems"].value
    assert checks["followup_outputs_valid"].passed and result.success
    # WARN never blocks: the merge ran, the canary's extra targets are canary rows only
    rows = _rows(aios_home, f"SELECT mode, count(*) FROM {PROPOSALS_TABLE} WHERE agent = "
                            "'followup' GROUP BY 1 ORDER BY 1")
    assert rows == [("canary", 3), ("live", 1)]
    (overlap,) = _rows(aios_home, "SELECT overlap FROM agent_canary_diffs")[0]
    assert round(overlap, 2) == 0.33
