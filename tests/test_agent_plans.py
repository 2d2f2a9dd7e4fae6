"""Plans: retry with backoff, escalate, compensate, crash sweep, expiry, re-plan, Postgres."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aios_assets.agents.intents import default_intents
from aios_assets.agents.plans import (
    PlanConflict,
    PlanError,
    PlanStore,
    Signals,
    backoff_s,
    fail_step,
    finish_step,
    make_plan,
    replan,
    start_step,
    sweep,
)

NOW = datetime(2026, 3, 20, 9, 30, tzinfo=UTC)
INTENTS = {i.id: i for i in default_intents()}


def test_plan_shape():
    plan = make_plan(INTENTS["chase_overdue_invoices"], NOW, expected_costs={"billing": 0.02},
                     kpi_value=1200.0)
    assert plan.window_start == datetime(2026, 3, 20, tzinfo=UTC)
    assert [s.agent for s in plan.steps] == ["billing"] and plan.expected_cost_usd == 0.02
    assert plan.deadline == plan.window_start + timedelta(hours=24)
    assert plan.expires_at > plan.deadline and plan.status == "active"
    weekly = make_plan(INTENTS["weekly_newsletter"], NOW)
    assert weekly.window_start == datetime(2026, 3, 16, tzinfo=UTC)  # Monday


def test_retry_with_backoff_then_escalate():
    plan = make_plan(INTENTS["chase_overdue_invoices"], NOW)
    waits = []
    t = NOW
    for attempt in range(1, 4):
        plan = start_step(plan, "billing", t)
        plan, decision = fail_step(plan, "billing", t, "TimeoutError", base_s=10)
        waits.append(decision.wait_s)
        if attempt < 3:
            assert decision.action == "retry" and plan.step("billing").status == "retry_wait"
            with pytest.raises(PlanError, match="waits until"):
                start_step(plan, "billing", t)  # not before its backoff
            t = plan.step("billing").next_attempt_at
    assert waits[:2] == [10.0, 20.0] and backoff_s(3, 10) == 40.0
    assert decision.action == "escalate" and plan.step("billing").status == "escalated"
    assert plan.status == "escalated" and plan.step("billing").attempts == 3


def test_permanent_failure_compensates_content():
    plan = make_plan(INTENTS["weekly_newsletter"], NOW)
    plan = start_step(plan, "content", NOW)
    plan, decision = fail_step(plan, "content", NOW, "AgentContractError", retryable=False)
    assert decision.action == "compensate" and plan.status == "compensated"
    assert plan.step("content").outputs == ()


def test_success_and_crash_sweep_and_expiry():
    plan = start_step(make_plan(INTENTS["inbox_triage"], NOW), "triage", NOW)
    # The run died: after its lease the step counts as a failed attempt, not "running" forever.
    swept, notes = sweep(plan, NOW + timedelta(minutes=31))
    assert swept.step("triage").status == "retry_wait" and "lease expired" in notes[0]
    done = finish_step(start_step(swept, "triage", NOW + timedelta(hours=1)), "triage",
                       NOW + timedelta(hours=1), outputs=["p1"], targets=["ent_bob"])
    assert done.status == "completed" and done.step("triage").targets == ("ent_bob",)
    stale = make_plan(INTENTS["daily_brief"], NOW)
    expired, notes = sweep(stale, stale.expires_at)
    assert expired.status == "expired" and expired.step("brief").status == "escalated"


def test_replan_on_reply_and_on_kpi_drop():
    intent = INTENTS["follow_up_stale_leads"]
    plan = make_plan(intent, NOW, kpi_value=3)
    plan = finish_step(start_step(plan, "followup", NOW), "followup", NOW, outputs=["p"],
                       targets=["ent_leo"])
    assert replan(plan, intent, Signals(kpis={"stale_leads": 3}), NOW) is None
    old, new = replan(plan, intent, Signals(replies={"ent_leo": NOW + timedelta(hours=2)}),
                      NOW + timedelta(hours=3))
    assert old.status == "superseded" and "reply arrived from ent_leo" in new.reason
    assert new.replanned_from == plan.plan_id and new.plan_id != plan.plan_id
    assert new.step("followup").status == "pending"
    worse = replan(new, intent, Signals(kpis={"stale_leads": 6}), NOW + timedelta(hours=4))
    assert worse is not None and "KPI stale_leads moved from" in worse[1].reason
    assert worse[1].plan_id not in (plan.plan_id, new.plan_id)


def test_store_checkpoints_with_versions(pg_url):
    store = PlanStore(pg_url)
    plan = make_plan(INTENTS["chase_overdue_invoices"], NOW - timedelta(days=400))
    saved = store.ensure(plan)
    assert store.ensure(plan).version == saved.version == 1
    running = store.save(start_step(saved, "billing", NOW))
    back = store.get(plan.plan_id)
    assert back.step("billing").status == "running" and back.version == 2
    assert back.step("billing").lease_expires_at == running.step("billing").lease_expires_at
    with pytest.raises(PlanConflict):
        store.save(replace(saved, status="completed"))  # a stale copy cannot overwrite
    failed, _ = fail_step(back, "billing", NOW, "boom")
    store.save(failed)
    assert store.get(plan.plan_id).step("billing").status == "retry_wait"
    assert plan.plan_id in {p.plan_id for p in store.plans(intent_id="chase_overdue_invoices")}
