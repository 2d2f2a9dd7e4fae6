"""plans_sensor: a planted stuck plan gets one settling run and one message, a proposal about
to expire one message; repeated ticks, a lost cursor and failed sends never send twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from aios_assets.agents.plans import Plan, PlanStep, PlanStore
from aios_assets.observability.notices import expiring_proposals, stuck_plans
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse
from sensors.plans import plans_sensor
from tests.audit_fixtures import POLICY, fresh_database
from tests.webhook_sink import Hook


def _plan(plan_id: str, now: datetime, *, deadline_h: float, expires_h: float,
          steps: tuple[PlanStep, ...], intent: str = "inbox_triage",
          status: str = "active") -> Plan:
    start = now - timedelta(hours=3)
    return Plan(plan_id=plan_id, intent_id=intent, window_start=start, created_at=start,
                deadline=now + timedelta(hours=deadline_h),
                expires_at=now + timedelta(hours=expires_h), status=status, steps=steps)


def _proposal(basis: str, ttl: timedelta, entity: str = "ent_ada"):
    from aios_assets.agents.proposals import make_proposal

    return make_proposal(
        agent="billing", manifest_version="1.0.0", action_type="send_email",
        target_entity_id=entity, basis=basis,
        payload={"to": "ada@analytical.example", "subject": f"Invoice {basis}",
                 "body": "Hi Ada, a reminder."},
        rationale="overdue", evidence_event_ids=["e1"], confidence=0.9, ttl=ttl,
        intent_id="chase_overdue_invoices")


@pytest.fixture
def setup(aios_home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch):
    from aios_assets.agents.proposals import merge_proposals
    from aios_assets.publishing.decisions import record_decisions

    url = fresh_database(pg_url)
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    (aios_home / "policy.yaml").write_text(POLICY)
    hook = Hook()
    monkeypatch.setenv("AIOS_WEBHOOK_URL", hook.url)
    now = datetime.now(UTC)
    store = PlanStore(url)
    # A crashed run: triage still "running" 30 min after its lease, the deadline passed.
    store.save(_plan("plan_stuck", now, deadline_h=-1, expires_h=2, steps=(
        PlanStep("1:triage", "triage", status="running", attempts=1,
                 lease_expires_at=now - timedelta(minutes=30)),)))
    # Past its expiry with the follow-up step never run.
    store.save(_plan("plan_expired", now, deadline_h=-2, expires_h=-0.2,
                     intent="follow_up_stale_leads",
                     steps=(PlanStep("1:followup", "followup"),)))
    # Healthy, and done: neither is stuck.
    store.save(_plan("plan_fine", now, deadline_h=1, expires_h=3,
                     intent="chase_overdue_invoices", steps=(PlanStep("1:billing", "billing"),)))
    store.save(_plan("plan_done", now, deadline_h=-1, expires_h=1, status="completed",
                     intent="daily_brief",
                     steps=(PlanStep("1:brief", "brief", status="succeeded"),)))
    soon, later, rejected = (_proposal("soon", timedelta(hours=2)),
                             _proposal("later", timedelta(days=3)),
                             _proposal("rejected", timedelta(hours=1)))
    with DuckDBWarehouse().connect() as con:
        merge_proposals(con, [soon, later, rejected])
    record_decisions(PostgresStore(url=url), [rejected.__dict__], "rejected", "not now",
                     via="cli")
    yield {"url": url, "hook": hook, "soon": soon, "later": later, "rejected": rejected}
    hook.close()


def _tick(url: str, cursor: str | None = None):
    resources = {"postgres": PostgresStore(url=url), "warehouse": DuckDBWarehouse()}
    return plans_sensor(dg.build_sensor_context(cursor=cursor, resources=resources))


def _notices(url: str) -> dict[str, tuple[str, str, int]]:
    with psycopg.connect(url) as con:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT notice_id, kind, notify_status, notify_attempts FROM aios.notices")}


def test_stuck_plan_and_expiring_proposal(setup):
    url, hook, soon = setup["url"], setup["hook"], setup["soon"]
    hook.fail_next = 2  # the first message fails twice (both tries of one tick)
    result = _tick(url)
    (request,) = result.run_requests
    assert request.job_name == "agents_job"
    assert set(request.asset_selection) == {dg.AssetKey(k) for k in (
        "agent_plans", "agent_triage", "action_proposals")}  # the expired plan: sweep only
    from aios_assets.definitions import defs

    selectable = defs.resolve_job_def("agents_job").asset_layer.selected_asset_keys
    assert set(request.asset_selection) <= selectable

    notices = _notices(url)
    assert {k: v[0] for k, v in notices.items()} == {
        "plan:plan_stuck:lease:1:triage:1": "plan_lease_expired",
        "plan:plan_stuck:deadline": "plan_past_deadline",
        "plan:plan_expired:expired": "plan_expired",
        f"proposal:{soon.proposal_id}:expiring": "proposal_expiring",
    }
    assert sorted(v[1] for v in notices.values()) == ["failed", "sent", "sent", "sent"]
    assert len(hook.texts) == 3

    # The next tick: no new run (the cursor), the failed message is retried, nothing twice.
    again = _tick(url, result.cursor)
    assert not again.run_requests
    assert {v[1] for v in _notices(url).values()} == {"sent"}
    # A lost cursor asks for the same run again, under the same run key (Dagster drops it),
    # and sends nothing more.
    lost = _tick(url, None)
    assert [r.run_key for r in lost.run_requests] == [request.run_key]
    texts = hook.texts
    assert len(texts) == 4
    assert sum("plan_stuck" in t and "lease ended" in t for t in texts) == 1
    assert sum("plan_expired" in t and "expired at" in t for t in texts) == 1
    (msg,) = [t for t in texts if soon.proposal_id in t]
    assert f"aios approve {soon.proposal_id}" in msg and "expires in 1 h" in msg
    assert not any(setup["later"].proposal_id in t or setup["rejected"].proposal_id in t
                   for t in texts)


def test_once_settled_the_plan_asks_nothing_more(setup):
    from aios_assets.agents.plans import sweep

    url = setup["url"]
    first = _tick(url)
    assert first.run_requests
    # What the requested run's planner step does: the sweep settles both stuck plans.
    store = PlanStore(url)
    now = datetime.now(UTC)
    for plan_id in ("plan_stuck", "plan_expired"):
        store.save(sweep(store.get(plan_id), now)[0])
    assert store.get("plan_expired").status == "expired"
    after = _tick(url, first.cursor)
    assert not after.run_requests
    # Left: the crashed step waits for its retry, past the deadline (already requested).
    assert [(n.subject_id, n.kind) for n in stuck_plans(store.plans(status="active"), now)] \
        == [("plan_stuck", "plan_past_deadline")]


def test_pure_rules():
    now = datetime(2026, 6, 3, 12, tzinfo=UTC)
    rows = [{"proposal_id": "p1", "status": "pending", "mode": "approve_first",
             "expires_at": now + timedelta(hours=3), "agent": "billing",
             "action_type": "send_email"},
            {"proposal_id": "p2", "status": "pending", "mode": "autonomous",
             "expires_at": now + timedelta(hours=1)},
            {"proposal_id": "p3", "status": "approved", "mode": "approve_first",
             "expires_at": now + timedelta(hours=1)},
            {"proposal_id": "p4", "status": "pending", "mode": "approve_first",
             "expires_at": now - timedelta(minutes=1)}]
    assert [n.subject_id for n in expiring_proposals(rows, now)] == ["p1"]
    assert expiring_proposals(rows, now, within=timedelta(hours=2)) == []


def test_plans_sensor_is_registered():
    from aios_assets.definitions import defs

    sensor = defs.resolve_sensor_def("plans_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 600
