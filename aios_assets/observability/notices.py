"""Notices: stuck plans, approve-first proposals about to expire, unsent incidents.

What ``plans_sensor`` (``sensors/plans.py``) does every 10 minutes (:func:`evaluate_plans`):

1. **Stuck plans** (Postgres ``aios.agent_plans``, status ``active``): a step still ``running``
   after its lease (its run crashed), a plan past ``expires_at``, or a plan past its deadline
   with steps not done. The sensor asks for one ``agents_job`` run over ``agent_plans`` (its
   sweep settles expired leases and expired plans, escalating what is left) plus the agents of
   the open steps and ``action_proposals`` (so missed steps run now, not at the next schedule).
   The cursor keeps the stuck items already requested, so a stuck state asks for one run, not
   one per tick; the run key is derived from those items, so a rewound cursor cannot ask twice.
2. **Expiring proposals**: approve-first proposals still waiting for the operator (status
   ``pending``, as ``aios proposals`` shows them) whose ``expires_at`` falls within
   :data:`EXPIRING_WITHIN`.
3. Each stuck plan (per kind) and each expiring proposal becomes one row in Postgres
   ``aios.notices`` and one message through the webhook adapter (``$AIOS_WEBHOOK_URL``), with
   the incidents' claim-once delivery (``incidents.py::deliver_once``): repeated ticks,
   restarts or a rewound cursor never send it twice; a failed send is retried on the next tick
   (at most 3 tries), an in-doubt one is not resent.
4. Incident notifications that failed (``aios.incidents``) are retried here too, so they do not
   wait for the next failed run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import psycopg

from aios_assets.agents.assets import AGENT_KEYS, PLANS_KEY, PROPOSALS_KEY, agents_job
from aios_assets.agents.plans import DONE_STEP, Plan, PlanStore
from aios_assets.observability.incidents import (
    MAX_NOTIFY_ATTEMPTS,
    deliver_once,
    post_webhook,
    retry_notifications,
)
from resources.postgres import PostgresStore, PostgresUnavailable, apply_ddl
from resources.warehouse import DuckDBWarehouse, WarehouseBusy, WarehouseMissing

EXPIRING_WITHIN = timedelta(hours=4)
MAX_NOTICES_PER_TICK = 20

NOTICES_DDL = """
CREATE TABLE IF NOT EXISTS aios.notices (
    notice_id text PRIMARY KEY,        -- 'plan:<plan_id>:<kind>[...]' | 'proposal:<id>:expiring'
    kind text NOT NULL,                -- plan_lease_expired | plan_expired | plan_past_deadline
                                       -- | proposal_expiring
    subject_id text NOT NULL,          -- the plan or proposal id
    due_at timestamptz,                -- the lease end, expiry or deadline that made it a notice
    opened_at timestamptz NOT NULL DEFAULT now(),
    message text NOT NULL,
    notify_status text NOT NULL DEFAULT 'pending',  -- pending|sending|sent|failed|in_doubt|off
    notify_attempts int NOT NULL DEFAULT 0,
    notified_at timestamptz,
    notify_error text
);
CREATE INDEX IF NOT EXISTS notices_opened_at ON aios.notices (opened_at);
"""


@dataclass(frozen=True)
class Notice:
    notice_id: str
    kind: str
    subject_id: str
    due_at: datetime | None
    message: str
    agents: tuple[str, ...] = ()  # plan notices: the agents whose steps are still open


# --- what is stuck (pure) ---------------------------------------------------------------------


def _open_agents(plan: Plan) -> tuple[str, ...]:
    return tuple(s.agent for s in plan.steps if s.status not in DONE_STEP)


def stuck_plans(plans: Iterable[Plan], now: datetime) -> list[Notice]:
    """Notices for active plans with an expired lease, past their expiry, or past their
    deadline with steps not done (a plan past its expiry gets no deadline notice)."""
    out: list[Notice] = []
    for plan in plans:
        if plan.status != "active":
            continue
        open_agents = _open_agents(plan)
        where = f"plan {plan.plan_id} (intent {plan.intent_id})"
        for step in plan.steps:
            if step.status == "running" and step.lease_expires_at \
                    and now >= step.lease_expires_at:
                # Per attempt: a step that crashes again later is a new notice.
                out.append(Notice(
                    f"plan:{plan.plan_id}:lease:{step.step_id}:{step.attempts}",
                    "plan_lease_expired",
                    plan.plan_id, step.lease_expires_at,
                    f":hourglass: AIOS {where}: step {step.step_id} is still 'running' after "
                    f"its lease ended at {step.lease_expires_at:%Y-%m-%d %H:%M} UTC (its run "
                    "probably crashed); a run was requested to settle and retry it.",
                    (step.agent,)))
        if now >= plan.expires_at:
            out.append(Notice(
                f"plan:{plan.plan_id}:expired", "plan_expired", plan.plan_id, plan.expires_at,
                f":warning: AIOS {where} expired at {plan.expires_at:%Y-%m-%d %H:%M} UTC with "
                f"step(s) {', '.join(open_agents) or 'none'} not done; they are escalated to "
                "you (`aios audit` the plan's proposals, or re-run `agents_job`).", ()))
        elif now >= plan.deadline and open_agents:
            out.append(Notice(
                f"plan:{plan.plan_id}:deadline", "plan_past_deadline", plan.plan_id,
                plan.deadline,
                f":hourglass: AIOS {where} missed its deadline "
                f"({plan.deadline:%Y-%m-%d %H:%M} UTC): step(s) {', '.join(open_agents)} not "
                "done; a run was requested for them.", open_agents))
    return out


def expiring_proposals(rows: Iterable[dict[str, Any]], now: datetime,
                       within: timedelta = EXPIRING_WITHIN) -> list[Notice]:
    """Notices for approve-first proposals waiting for the operator that expire soon."""
    out: list[Notice] = []
    for r in rows:
        expires = r.get("expires_at")
        if r.get("status") != "pending" or r.get("mode") != "approve_first" or expires is None:
            continue
        if not now < expires <= now + within:
            continue
        pid = r["proposal_id"]
        left = max(1, int((expires - now).total_seconds() // 60))
        what = r.get("summary") or ""
        out.append(Notice(
            f"proposal:{pid}:expiring", "proposal_expiring", pid, expires,
            f":alarm_clock: AIOS proposal {pid} ({r.get('agent')} {r.get('action_type')}"
            f"{' → ' + r['target_entity_id'] if r.get('target_entity_id') else ''}"
            f"{': ' + what[:80] if what else ''}) waits for your approval and expires in "
            f"{left // 60} h {left % 60:02d} min ({expires:%Y-%m-%d %H:%M} UTC): "
            f"`aios approve {pid}` or `aios reject {pid} --reason TEXT`."))
    return out


def settle_request(notices: Sequence[Notice], cursor: str | None,
                   ) -> tuple[dg.RunRequest | None, str]:
    """One ``agents_job`` run for plan notices not requested yet, and the new cursor (the plan
    notices current now, so a plan that gets stuck again later asks again)."""
    seen = set(json.loads(cursor).get("requested", [])) if cursor else set()
    plan_notices = [n for n in notices if n.kind.startswith("plan_")]
    new = [n for n in plan_notices if n.notice_id not in seen]
    next_cursor = json.dumps({"requested": sorted(n.notice_id for n in plan_notices)})
    if not new:
        return None, next_cursor
    agents = sorted({a for n in new for a in n.agents if a in AGENT_KEYS})
    keys = [PLANS_KEY, *(AGENT_KEYS[a] for a in agents)] + ([PROPOSALS_KEY] if agents else [])
    ids = sorted(n.notice_id for n in new)
    return dg.RunRequest(
        run_key="plans-" + hashlib.sha256("|".join(ids).encode()).hexdigest()[:16],
        job_name=agents_job.name,
        asset_selection=keys,
        tags={"aios/trigger": "plans_sensor", "aios/stuck": str(len(new))},
    ), next_cursor


# --- Postgres -----------------------------------------------------------------------------------


def ensure_schema(url: str) -> None:
    apply_ddl(url, "notices_v1", NOTICES_DDL)


def open_notices(con: psycopg.Connection, notices: Iterable[Notice]) -> int:
    """Insert the notices not recorded yet; how many were new."""
    new = 0
    for n in notices:
        row = con.execute(
            """INSERT INTO aios.notices (notice_id, kind, subject_id, due_at, message)
               VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING notice_id""",
            (n.notice_id, n.kind, n.subject_id, n.due_at, n.message)).fetchone()
        new += row is not None
    return new


Sender = Callable[[str, str, str], object]  # (notice_id, subject_id, message) -> external id


def _webhook_sender(postgres_url: str | None) -> Sender:
    def send(notice_id: str, subject_id: str, message: str) -> object:
        return post_webhook(f"notice:{notice_id}", subject_id, message,
                            postgres_url=postgres_url)
    return send


def notify_notices(con: psycopg.Connection, send: Sender) -> list[tuple[str, str]]:
    """Send each pending (or failed, with tries left) notice once; (notice_id, status) pairs.
    Without $AIOS_WEBHOOK_URL pending notices are marked 'off' (kept, never sent later)."""
    if not os.environ.get("AIOS_WEBHOOK_URL"):
        con.execute("UPDATE aios.notices SET notify_status = 'off' "
                    "WHERE notify_status = 'pending'")
        return []
    rows = con.execute(
        """SELECT notice_id, subject_id, message FROM aios.notices
           WHERE notify_status IN ('pending', 'failed') AND notify_attempts < %s
           ORDER BY opened_at, notice_id LIMIT %s""",
        (MAX_NOTIFY_ATTEMPTS, MAX_NOTICES_PER_TICK)).fetchall()
    out = []
    for notice_id, subject_id, message in rows:
        status = deliver_once(con, "aios.notices", "notice_id", notice_id,
                              lambda n=notice_id, s=subject_id, m=message: send(n, s, m))
        if status is not None:
            out.append((notice_id, status))
    return out


# --- reading the proposals -------------------------------------------------------------------


def waiting_proposals(warehouse: DuckDBWarehouse, postgres: PostgresStore,
                      now: datetime) -> list[dict[str, Any]]:
    """Every proposal with its status, as ``aios proposals`` computes it (read snapshot,
    decisions and outbox in Postgres, the operator's policy and intents)."""
    from aios_assets.publishing.data import load_intent_rules
    from aios_assets.publishing.decisions import all_decisions, latest_decisions
    from aios_assets.publishing.outbox import Outbox
    from aios_assets.publishing.policy import load_policy
    from aios_assets.publishing.publish import proposals_overview

    home = warehouse.layout
    policy = load_policy(home)
    intents = load_intent_rules(home)
    decisions = latest_decisions(all_decisions(postgres))
    con = warehouse.read()
    try:
        return proposals_overview(con, policy, decisions=decisions, outbox=Outbox(postgres),
                                  now=now, intents=intents)
    finally:
        con.close()


# --- one evaluation ---------------------------------------------------------------------------


def evaluate_plans(postgres: PostgresStore, warehouse: DuckDBWarehouse, cursor: str | None,
                   log: logging.Logger, now: datetime | None = None,
                   ) -> dg.SensorResult | dg.SkipReason:
    """One ``plans_sensor`` tick: notices opened and sent, incident notifications retried, and
    the ``agents_job`` run for new stuck plans (with the new cursor)."""
    now = now or datetime.now(UTC)
    try:
        url = postgres.resolved_url()
        ensure_schema(url)
        plans = PlanStore(url).plans(status="active")
    except (PostgresUnavailable, psycopg.Error) as exc:
        return dg.SkipReason(f"Postgres unavailable: {exc}")
    notices = stuck_plans(plans, now)
    try:
        notices += expiring_proposals(waiting_proposals(warehouse, postgres, now), now)
    except (WarehouseMissing, WarehouseBusy) as exc:
        log.info(f"proposals not checked: {exc}")
    except Exception as exc:  # noqa: BLE001 - a bad policy file must not stop the plan checks
        log.warning(f"proposals not checked: {type(exc).__name__}: {exc}")
    request, next_cursor = settle_request(notices, cursor)
    with postgres.connect(autocommit=True) as con:
        opened = open_notices(con, notices)
        sent = notify_notices(con, _webhook_sender(url))
    retried = retry_notifications(postgres)
    if notices or sent or retried:
        log.info(f"{len(notices)} notice(s) ({opened} new), sent {json.dumps(sent)}, "
                 f"incident retries {json.dumps(retried)}")
    if request is None:
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"{len(notices)} notice(s), no new stuck plan"), cursor=next_cursor)
    return dg.SensorResult(run_requests=[request], cursor=next_cursor)
