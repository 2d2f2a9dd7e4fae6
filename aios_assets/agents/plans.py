"""Plans: first-class, checkpointed records of how an intent is served in one cadence window.

A plan has steps (one agent each), an expected cost, a deadline, a status and an expiry. Every
transition is a pure function here (tests call them directly) and is checkpointed to Postgres
(``aios.agent_plans``) by :class:`PlanStore`.

Why Postgres and not the warehouse: plans are read and changed concurrently (agent runs, the
planner, sensors, the operator's approvals) and need row-level transactions with optimistic
versioning; the DuckDB warehouse is single-writer derived data (see docs/agents.md).

A failed step is never left dangling (:func:`on_step_failure`):

* retryable failure with attempts left -> ``retry_wait`` with exponential backoff + a deadline;
* out of attempts, and the step has a compensation -> ``compensated`` (its partial outputs are
  withdrawn by the caller);
* otherwise -> ``escalated``: the operator gets an internal note proposal.

A step still ``running`` after its lease (a crashed run) counts as a failure in :func:`sweep`;
a plan past ``expires_at`` that is not finished becomes ``expired`` with its open steps escalated.
:func:`replan` supersedes a plan when its signals change (a reply arrives from a target, the
KPI worsens).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import psycopg

from aios_assets.agents.intents import Intent
from aios_assets.shared.postgres import PostgresUnavailable, apply_ddl
from aios_assets.shared.postgres import connect as pg_connect

StepStatus = Literal["pending", "running", "retry_wait", "succeeded", "escalated",
                     "compensated", "skipped"]
PlanStatus = Literal["active", "completed", "escalated", "compensated", "expired",
                     "superseded"]
FailurePolicy = Literal["retry_then_escalate", "retry_then_compensate"]
DONE_STEP = frozenset({"succeeded", "escalated", "compensated", "skipped"})
DONE_PLAN = frozenset({"completed", "escalated", "compensated", "expired", "superseded"})

CADENCE = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(days=7)}


class PlanError(RuntimeError):
    """A plan transition is not allowed (e.g. finishing a step that is not running)."""


class PlanConflict(PlanError):
    """Another process changed the plan since it was read (optimistic versioning)."""


@dataclass(frozen=True)
class PlanStep:
    step_id: str
    agent: str
    status: StepStatus = "pending"
    attempts: int = 0
    max_attempts: int = 3
    on_failure: FailurePolicy = "retry_then_escalate"
    expected_cost_usd: float = 0.0
    next_attempt_at: datetime | None = None
    lease_expires_at: datetime | None = None
    last_error: str | None = None
    outputs: tuple[str, ...] = ()  # proposal ids the step produced
    targets: tuple[str, ...] = ()  # entity ids those proposals address
    history: tuple[str, ...] = ()  # "2026-..Z running", ... (an audit of transitions)


@dataclass(frozen=True)
class Plan:
    plan_id: str
    intent_id: str
    window_start: datetime
    created_at: datetime
    deadline: datetime
    expires_at: datetime
    status: PlanStatus
    steps: tuple[PlanStep, ...]
    expected_cost_usd: float = 0.0
    kpi_name: str | None = None
    kpi_value: float | None = None
    replanned_from: str | None = None
    reason: str | None = None
    version: int = 0

    def step(self, agent: str) -> PlanStep | None:
        return next((s for s in self.steps if s.agent == agent), None)


@dataclass(frozen=True)
class StepDecision:
    action: Literal["retry", "escalate", "compensate"]
    wait_s: float
    reason: str


@dataclass(frozen=True)
class Signals:
    """What changed since a plan was made: KPI values and inbound replies per entity."""

    kpis: Mapping[str, float] = field(default_factory=dict)
    replies: Mapping[str, datetime] = field(default_factory=dict)  # entity_id -> last inbound


# --- pure functions -----------------------------------------------------------------------


def window_start(cadence: str, at: datetime) -> datetime:
    """The start of the cadence window holding ``at`` (UTC; weeks start on Monday)."""
    at = at.astimezone(UTC)
    if cadence == "hourly":
        return at.replace(minute=0, second=0, microsecond=0)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if cadence == "daily":
        return day
    if cadence == "weekly":
        return day - timedelta(days=day.weekday())
    raise PlanError(f"unknown cadence {cadence!r}")


def plan_id_for(intent_id: str, start: datetime, generation: int = 0) -> str:
    raw = f"{intent_id}|{start.isoformat()}|{generation}"
    return "plan_" + hashlib.sha256(raw.encode()).hexdigest()[:20]


def make_plan(intent: Intent, now: datetime, *, expected_costs: Mapping[str, float] | None = None,
              kpi_value: float | None = None, max_attempts: int = 3,
              compensate: Sequence[str] = ("content",), generation: int = 0,
              replanned_from: str | None = None, reason: str | None = None) -> Plan:
    """A new plan for ``intent`` in the window holding ``now`` (one step per agent)."""
    start = window_start(intent.cadence, now)
    costs = expected_costs or {}
    steps = tuple(
        PlanStep(step_id=f"{i + 1}:{agent}", agent=agent, max_attempts=max_attempts,
                 on_failure="retry_then_compensate" if agent in compensate
                 else "retry_then_escalate",
                 expected_cost_usd=float(costs.get(agent, 0.0)))
        for i, agent in enumerate(intent.agents))
    deadline = start + timedelta(hours=intent.constraints.deadline_hours)
    return Plan(
        plan_id=plan_id_for(intent.id, start, generation), intent_id=intent.id,
        window_start=start, created_at=now, deadline=deadline,
        expires_at=start + CADENCE[intent.cadence] + timedelta(hours=1), status="active",
        steps=steps, expected_cost_usd=round(sum(s.expected_cost_usd for s in steps), 6),
        kpi_name=intent.kpi.name, kpi_value=kpi_value, replanned_from=replanned_from,
        reason=reason)


def backoff_s(attempt: int, base_s: float = 30.0, cap_s: float = 3600.0) -> float:
    """Seconds to wait before attempt ``attempt + 1``: base * 2^(attempt-1), capped."""
    return float(min(cap_s, base_s * (2 ** max(0, attempt - 1))))


def _note(step: PlanStep, now: datetime, what: str) -> tuple[str, ...]:
    return (*step.history, f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} {what}")[-20:]


def _with_step(plan: Plan, step: PlanStep) -> Plan:
    steps = tuple(step if s.step_id == step.step_id else s for s in plan.steps)
    return replace(plan, steps=steps, status=plan_status(replace(plan, steps=steps)))


def plan_status(plan: Plan) -> PlanStatus:
    """The plan's status from its steps (a superseded or expired plan stays so)."""
    if plan.status in ("superseded", "expired"):
        return plan.status
    states = {s.status for s in plan.steps}
    if not states <= DONE_STEP:
        return "active"
    if "escalated" in states:
        return "escalated"
    if "compensated" in states:
        return "compensated"
    return "completed"


def start_step(plan: Plan, agent: str, now: datetime, lease: timedelta = timedelta(minutes=30),
               ) -> Plan:
    """Mark the agent's step running (an attempt starts); refused when not runnable now."""
    step = plan.step(agent)
    if step is None:
        raise PlanError(f"plan {plan.plan_id} has no step for agent {agent}")
    if plan.status in DONE_PLAN:
        raise PlanError(f"plan {plan.plan_id} is {plan.status}")
    if step.status in DONE_STEP:
        raise PlanError(f"step {step.step_id} of {plan.plan_id} is already {step.status}")
    if step.status == "retry_wait" and step.next_attempt_at and now < step.next_attempt_at:
        raise PlanError(f"step {step.step_id} waits until {step.next_attempt_at:%H:%M:%S}")
    running = replace(step, status="running", attempts=step.attempts + 1,
                      lease_expires_at=now + lease, next_attempt_at=None,
                      history=_note(step, now, f"running (attempt {step.attempts + 1})"))
    return _with_step(plan, running)


def finish_step(plan: Plan, agent: str, now: datetime, *, outputs: Sequence[str] = (),
                targets: Sequence[str] = ()) -> Plan:
    step = plan.step(agent)
    if step is None or step.status != "running":
        raise PlanError(f"step of {agent} in {plan.plan_id} is not running")
    done = replace(step, status="succeeded", lease_expires_at=None, last_error=None,
                   outputs=tuple(outputs), targets=tuple(t for t in targets if t),
                   history=_note(step, now, f"succeeded ({len(outputs)} proposals)"))
    return _with_step(plan, done)


def on_step_failure(step: PlanStep, error: str, *, retryable: bool = True,
                    base_s: float = 30.0) -> StepDecision:
    """What to do about a failed attempt: retry with backoff, compensate or escalate."""
    if retryable and step.attempts < step.max_attempts:
        wait = backoff_s(step.attempts, base_s)
        return StepDecision("retry", wait, f"attempt {step.attempts}/{step.max_attempts} "
                            f"failed ({error}); retry in {wait:.0f}s")
    why = (f"failed after {step.attempts} attempt(s): {error}" if retryable
           else f"failed permanently: {error}")
    if step.on_failure == "retry_then_compensate":
        return StepDecision("compensate", 0.0, why + "; its partial outputs are withdrawn")
    return StepDecision("escalate", 0.0, why + "; escalated to the operator")


def fail_step(plan: Plan, agent: str, now: datetime, error: str, *, retryable: bool = True,
              base_s: float = 30.0) -> tuple[Plan, StepDecision]:
    """Record a failed attempt and apply :func:`on_step_failure`'s decision."""
    step = plan.step(agent)
    if step is None or step.status != "running":
        raise PlanError(f"step of {agent} in {plan.plan_id} is not running")
    decision = on_step_failure(step, error, retryable=retryable, base_s=base_s)
    status: StepStatus = {"retry": "retry_wait", "escalate": "escalated",
                          "compensate": "compensated"}[decision.action]
    failed = replace(
        step, status=status, lease_expires_at=None, last_error=error[:500],
        next_attempt_at=now + timedelta(seconds=decision.wait_s)
        if decision.action == "retry" else None,
        outputs=() if decision.action == "compensate" else step.outputs,
        history=_note(step, now, f"{status}: {decision.reason}"))
    return _with_step(plan, failed), decision


def sweep(plan: Plan, now: datetime) -> tuple[Plan, list[str]]:
    """Settle what a crash or the clock left open: expired leases count as failures, and a plan
    past ``expires_at`` escalates its open steps and becomes ``expired``. Returns the notes."""
    notes: list[str] = []
    for step in plan.steps:
        if step.status == "running" and step.lease_expires_at and now >= step.lease_expires_at:
            plan, decision = fail_step(plan, step.agent, now, "lease expired (run crashed?)")
            notes.append(f"{step.step_id}: {decision.reason}")
    if plan.status == "active" and now >= plan.expires_at:
        steps = []
        for s in plan.steps:
            if s.status not in DONE_STEP:
                s = replace(s, status="escalated", lease_expires_at=None,
                            last_error=s.last_error or "plan expired before the step ran",
                            history=_note(s, now, "escalated: plan expired"))
                notes.append(f"{s.step_id}: escalated, plan expired")
            steps.append(s)
        plan = replace(plan, steps=tuple(steps), status="expired")
    return plan, notes


def kpi_worsened(name: str | None, before: float | None, after: float | None,
                 direction: str, tolerance: float = 0.1) -> bool:
    """True when the KPI moved the wrong way by more than ``tolerance`` (relative)."""
    if name is None or before is None or after is None:
        return False
    scale = max(abs(before), 1e-9)
    change = (after - before) / scale
    return change > tolerance if direction == "down" else change < -tolerance


def replan_reason(plan: Plan, signals: Signals, direction: str = "down") -> str | None:
    """Why the plan no longer fits: a reply from a target since it was made, or a KPI drop."""
    for step in plan.steps:
        for target in step.targets:
            at = signals.replies.get(target)
            if at is not None and at > plan.created_at:
                return f"a reply arrived from {target} at {at:%Y-%m-%d %H:%M}"
    if plan.kpi_name and plan.kpi_name in signals.kpis and kpi_worsened(
            plan.kpi_name, plan.kpi_value, signals.kpis[plan.kpi_name], direction):
        return (f"KPI {plan.kpi_name} moved from {plan.kpi_value:g} to "
                f"{signals.kpis[plan.kpi_name]:g}")
    return None


def replan(plan: Plan, intent: Intent, signals: Signals, now: datetime,
           expected_costs: Mapping[str, float] | None = None) -> tuple[Plan, Plan] | None:
    """(superseded old plan, new plan) when the signals changed, else None."""
    if plan.status in DONE_PLAN - {"completed"}:
        return None
    reason = replan_reason(plan, signals, intent.kpi.direction)
    if reason is None:
        return None
    generation = int(plan.reason.split("#", 1)[1].split(" ", 1)[0]) + 1 \
        if plan.reason and plan.reason.startswith("replan#") else 1
    new = make_plan(intent, now, expected_costs=expected_costs,
                    kpi_value=signals.kpis.get(intent.kpi.name, plan.kpi_value),
                    generation=generation,
                    replanned_from=plan.plan_id, reason=f"replan#{generation} {reason}")
    return replace(plan, status="superseded", reason=f"superseded: {reason}"), new


# --- (de)serialization ----------------------------------------------------------------------


def _dt(v: Any) -> datetime | None:
    if v is None or isinstance(v, datetime):
        return v
    return datetime.fromisoformat(v)


def step_to_json(s: PlanStep) -> dict[str, Any]:
    d = asdict(s)
    for k in ("next_attempt_at", "lease_expires_at"):
        d[k] = d[k].isoformat() if d[k] else None
    for k in ("outputs", "targets", "history"):
        d[k] = list(d[k])
    return d


def step_from_json(d: Mapping[str, Any]) -> PlanStep:
    d = dict(d)
    for k in ("next_attempt_at", "lease_expires_at"):
        d[k] = _dt(d.get(k))
    for k in ("outputs", "targets", "history"):
        d[k] = tuple(d.get(k) or ())
    return PlanStep(**d)


# --- the store -----------------------------------------------------------------------------

PLANS_DDL = """
CREATE TABLE IF NOT EXISTS aios.agent_plans (
    plan_id text PRIMARY KEY,
    intent_id text NOT NULL,
    window_start timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    deadline timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    status text NOT NULL,
    steps jsonb NOT NULL,
    expected_cost_usd double precision NOT NULL,
    kpi_name text,
    kpi_value double precision,
    replanned_from text,
    reason text,
    version integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS agent_plans_intent ON aios.agent_plans (intent_id, window_start);
CREATE INDEX IF NOT EXISTS agent_plans_open ON aios.agent_plans (status)
    WHERE status = 'active';
"""
_COLS = ("plan_id", "intent_id", "window_start", "created_at", "deadline", "expires_at",
         "status", "steps", "expected_cost_usd", "kpi_name", "kpi_value", "replanned_from",
         "reason", "version")


class PlanStore:
    """Plans checkpointed in Postgres; every save is one transaction with a version check."""

    def __init__(self, url: str) -> None:
        self.url = url
        apply_ddl(url, "agent_plans_v1", PLANS_DDL)

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        try:
            con = pg_connect(self.url, autocommit=False)
        except psycopg.OperationalError as exc:
            raise PostgresUnavailable(f"cannot reach the plan store: {exc}") from None
        try:
            with con:
                yield con
        finally:
            con.close()

    @staticmethod
    def _plan(row: Sequence[Any]) -> Plan:
        d = dict(zip(_COLS, row, strict=True))
        steps = d["steps"] if isinstance(d["steps"], list) else json.loads(d["steps"])
        d["steps"] = tuple(step_from_json(s) for s in steps)
        return Plan(**d)

    def get(self, plan_id: str) -> Plan | None:
        with self._connect() as con:
            row = con.execute(f"SELECT {', '.join(_COLS)} FROM aios.agent_plans "
                              "WHERE plan_id = %s", (plan_id,)).fetchone()
        return self._plan(row) if row else None

    def plans(self, *, intent_id: str | None = None, status: str | None = None) -> list[Plan]:
        where, params = ["TRUE"], []
        if intent_id:
            where.append("intent_id = %s")
            params.append(intent_id)
        if status:
            where.append("status = %s")
            params.append(status)
        with self._connect() as con:
            rows = con.execute(
                f"SELECT {', '.join(_COLS)} FROM aios.agent_plans WHERE {' AND '.join(where)} "
                "ORDER BY window_start, created_at, plan_id", params).fetchall()
        return [self._plan(r) for r in rows]

    def current(self, intent_id: str) -> Plan | None:
        """The newest plan of the intent that was not superseded."""
        with self._connect() as con:
            row = con.execute(
                f"SELECT {', '.join(_COLS)} FROM aios.agent_plans WHERE intent_id = %s AND "
                "status <> 'superseded' ORDER BY window_start DESC, created_at DESC LIMIT 1",
                (intent_id,)).fetchone()
        return self._plan(row) if row else None

    def save(self, plan: Plan) -> Plan:
        """Insert or update (only from the version read); returns the plan with version + 1."""
        new = replace(plan, version=plan.version + 1)
        values = [getattr(new, c) for c in _COLS]
        values[_COLS.index("steps")] = json.dumps([step_to_json(s) for s in new.steps])
        with self._connect() as con:
            if plan.version == 0:
                cur = con.execute(
                    f"INSERT INTO aios.agent_plans ({', '.join(_COLS)}) VALUES "
                    f"({', '.join(['%s'] * len(_COLS))}) ON CONFLICT (plan_id) DO NOTHING",
                    values)
            else:
                sets = ", ".join(f"{c} = %s" for c in _COLS[1:])
                cur = con.execute(
                    f"UPDATE aios.agent_plans SET {sets}, updated_at = now() "
                    "WHERE plan_id = %s AND version = %s",
                    [*values[1:], plan.plan_id, plan.version])
            if cur.rowcount != 1:
                raise PlanConflict(f"plan {plan.plan_id} changed since version {plan.version}")
        return new

    def ensure(self, plan: Plan) -> Plan:
        """The stored plan with this id, saving ``plan`` first if there is none."""
        existing = self.get(plan.plan_id)
        if existing is not None:
            return existing
        try:
            return self.save(plan)
        except PlanConflict:  # another process created it first
            stored = self.get(plan.plan_id)
            assert stored is not None
            return stored
