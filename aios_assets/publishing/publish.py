"""Gate evaluation and publishing, end to end (the Dagster assets and the CLI call these).

1. :func:`evaluate_open_proposals`: every open proposal (not rejected, not in the outbox yet)
   goes through every gate and the GE suite; results land in ``proposal_gate_results``.
2. :func:`plan_publishing` (pure): a proposal is published when all its gates passed and it is
   autonomous under the policy or approved by the operator; ``shadow`` ones are only counted
   ("would send"); the rest wait or are blocked.
3. :func:`publish_planned`: ``Outbox.enqueue`` then ``Outbox.publish`` with the adapters
   configured by environment, refusing any capability the agent's manifest does not grant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from aios_assets.publishing.data import (
    load_directory,
    load_gate_results,
    load_intent_rules,
    load_opt_outs,
    load_parties,
    load_proposals,
    sent_records,
    write_gate_results,
)
from aios_assets.publishing.gates import (
    APPROVAL_CLEARS,
    GATES,
    GateContext,
    GateResult,
    proposal_mode,
    secret_values_from_env,
)
from aios_assets.publishing.ge_suite import GeOutcome, run_ge_suite
from aios_assets.publishing.policy import IntentRules, Mode, Policy
from aios_assets.publishing.status import WAITING_FOR_SETUP, from_outbox


@dataclass
class Evaluation:
    """One gate run: the results written and the GE suite's outcome."""

    proposals: list[dict[str, Any]]
    results: list[GateResult]
    ge: GeOutcome
    context: GateContext
    expired: int = 0  # proposals found expired in this run (recorded once, not gated again)

    def failed(self) -> dict[str, list[GateResult]]:
        out: dict[str, list[GateResult]] = {}
        for r in self.results:
            if not r.passed:
                out.setdefault(r.proposal_id, []).append(r)
        return out


@dataclass
class PublishPlan:
    publish: list[dict[str, Any]] = field(default_factory=list)
    shadow: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)   # approve_first, undecided
    blocked: list[dict[str, Any]] = field(default_factory=list)   # a gate failed
    rejected: list[dict[str, Any]] = field(default_factory=list)


def outbox_index(outbox: Any | None) -> dict[str, str]:
    """idempotency_key -> outbox status."""
    if outbox is None:
        return {}
    return {r.idempotency_key: str(r.status) for r in outbox.rows()}


def build_context(con: duckdb.DuckDBPyConnection, policy: Policy, *, outbox: Any | None,
                  decisions: Mapping[str, str], proposals: Sequence[Mapping[str, Any]],
                  now: datetime | None = None,
                  intents: Mapping[str, IntentRules] | None = None) -> GateContext:
    return GateContext(
        policy=policy, directory=load_directory(con),
        opted_out=load_opt_outs(con, policy.recipients.opted_out),
        sent=sent_records(outbox, proposals), decisions=dict(decisions),
        now=now or datetime.now(UTC), secret_values=secret_values_from_env(),
        intents=load_intent_rules() if intents is None else intents,
        parties=load_parties(con, proposals))


def open_proposals(proposals: Sequence[dict[str, Any]], decisions: Mapping[str, str],
                   in_outbox: Mapping[str, str]) -> list[dict[str, Any]]:
    """Proposals still to decide or send: not rejected, not already in the outbox."""
    return [p for p in proposals if decisions.get(p["proposal_id"]) != "rejected"
            and p.get("idempotency_key") not in in_outbox]


def is_expired(p: Mapping[str, Any], now: datetime) -> bool:
    expires = p.get("expires_at")
    return expires is not None and expires <= now


def split_expired(proposals: Sequence[dict[str, Any]],
                  recorded: Mapping[str, Sequence[tuple[str, bool, str]]], now: datetime,
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(still live, newly expired): proposals past ``expires_at`` are not gated again; those
    whose expiry is already recorded (a failed ``expiry`` row) are dropped altogether, so an
    old proposal fails the expiry gate once instead of on every run."""
    live: list[dict[str, Any]] = []
    newly: list[dict[str, Any]] = []
    for p in proposals:
        if not is_expired(p, now):
            live.append(p)
        elif not any(g == "expiry" and not ok for g, ok, _ in recorded.get(p["proposal_id"], ())):
            newly.append(p)
    return live, newly


def expired_results(proposals: Sequence[Mapping[str, Any]]) -> list[GateResult]:
    """The one row an expired proposal gets: its expiry (no other gate is run on it)."""
    return [GateResult(p["proposal_id"], "expiry", False,
                       f"expired at {p['expires_at'].isoformat()}; not gated again")
            for p in proposals]


def evaluate_open_proposals(con: duckdb.DuckDBPyConnection, policy: Policy, *,
                            outbox: Any | None, decisions: Mapping[str, str],
                            run_id: str | None = None, now: datetime | None = None,
                            intents: Mapping[str, IntentRules] | None = None,
                            ge_memo: Path | None = None) -> Evaluation:
    """Run every gate and the GE suite on the open, unexpired proposals; record newly expired
    ones once (an ``expiry`` row); write the results table. ``ge_memo``: see
    :func:`run_ge_suite`."""
    now = now or datetime.now(UTC)
    proposals = load_proposals(con)
    in_outbox = outbox_index(outbox)
    todo, newly_expired = split_expired(open_proposals(proposals, decisions, in_outbox),
                                        load_gate_results(con), now)
    ctx = build_context(con, policy, outbox=outbox, decisions=decisions, proposals=proposals,
                        now=now, intents=intents)
    from aios_assets.publishing.gates import evaluate_gates

    ge = run_ge_suite(todo, policy, memo=ge_memo)
    results = evaluate_gates(todo, ctx, ge=ge.verdicts) + expired_results(newly_expired)
    write_gate_results(con, results, evaluated_at=now, run_id=run_id)
    return Evaluation(proposals=todo, results=results, ge=ge, context=ctx,
                      expired=len(newly_expired))


def plan_publishing(proposals: Sequence[dict[str, Any]], results: Sequence[GateResult],
                    ctx: GateContext) -> PublishPlan:
    """Sort gated proposals into publish / shadow / waiting / blocked / rejected (pure)."""
    passed: dict[str, set[str]] = {}
    failed: set[str] = set()
    held: set[str] = set()  # failed only gates an approval clears: waiting, not blocked
    for r in results:
        if r.passed:
            passed.setdefault(r.proposal_id, set()).add(r.gate)
        elif r.gate in APPROVAL_CLEARS:
            held.add(r.proposal_id)
        else:
            failed.add(r.proposal_id)
    plan = PublishPlan()
    for p in proposals:
        pid = p["proposal_id"]
        decision = ctx.decisions.get(pid)
        if decision == "rejected":
            plan.rejected.append(p)
            continue
        # Fail closed: every gate must have run and passed.
        if pid in held and pid not in failed and set(GATES) - APPROVAL_CLEARS <= passed.get(
                pid, set()):
            # Held for the operator's approval (the reason is in the gate's row).
            (plan.shadow if proposal_mode(p, ctx)[0] == Mode.SHADOW else plan.waiting).append(p)
            continue
        if pid in failed or not set(GATES) <= passed.get(pid, set()):
            plan.blocked.append(p)
            continue
        mode, _ = proposal_mode(p, ctx)
        if mode == Mode.SHADOW:
            plan.shadow.append(p)
        elif mode == Mode.AUTONOMOUS or (mode == Mode.APPROVE_FIRST and decision == "approved"):
            plan.publish.append(p)
        elif mode == Mode.DISABLED:
            plan.blocked.append(p)
        else:
            plan.waiting.append(p)
    return plan


def to_outbox_action(p: Mapping[str, Any], run_id: str | None = None) -> Any:
    from aios_assets.publishing.adapters.base import OutboxAction

    return OutboxAction(
        idempotency_key=p["idempotency_key"], proposal_id=p["proposal_id"],
        action_type=p["action_type"], capability=p["capability"], payload=dict(p["payload"]),
        agent=p["agent"], run_id=run_id)


# Rows claimed (a publisher died) or in doubt for longer than this are reconciled by publishing.
RECONCILE_AFTER_S = 300.0


@dataclass
class PublishReport:
    enqueued: int = 0
    results: list[Any] = field(default_factory=list)
    shadow: int = 0
    waiting: int = 0
    blocked: int = 0
    reconciled: list[Any] = field(default_factory=list)  # OutboxResults of Outbox.reconcile

    def by_status(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            status = str(getattr(r, "status", "?"))
            if status == "pending" and getattr(r, "error_class", None) in WAITING_FOR_SETUP:
                status = "waiting_for_adapter"
            out[status] = out.get(status, 0) + 1
        return out

    def waiting_for_adapter(self) -> list[str]:
        """Why actions wait for the setup (one line per capability without an adapter)."""
        return sorted({str(r.error) for r in self.results if getattr(r, "error", None)
                       and getattr(r, "error_class", None) in WAITING_FOR_SETUP})


def publish_planned(plan: PublishPlan, outbox: Any, *, adapters: Mapping[str, Any] | None = None,
                    allowed: Mapping[str, set[str]] | None = None,
                    run_id: str | None = None,
                    reconcile_after_s: float | None = RECONCILE_AFTER_S) -> PublishReport:
    """Settle what an earlier run left ``claimed`` or ``in_doubt`` for longer than
    ``reconcile_after_s`` (``Outbox.reconcile``; None skips it), enqueue what the plan
    publishes, then let the outbox deliver everything pending (including anything an earlier,
    interrupted run left behind). Shadow sends nothing."""
    from aios_assets.publishing.data import allowed_capabilities

    report = PublishReport(shadow=len(plan.shadow), waiting=len(plan.waiting),
                           blocked=len(plan.blocked))  # waiting: for the operator's approval
    if adapters is None:
        from aios_assets.publishing.adapters.registry import default_adapters

        adapters = default_adapters()
    if reconcile_after_s is not None:
        report.reconciled = list(outbox.reconcile(adapters, older_than_s=reconcile_after_s))
    actions = [to_outbox_action(p, run_id) for p in plan.publish]
    if actions:
        report.enqueued = outbox.enqueue(actions)
    report.results = list(outbox.publish(
        adapters, allowed=allowed if allowed is not None else allowed_capabilities()))
    return report


def proposal_status(p: Mapping[str, Any], *, gates: Sequence[tuple[str, bool, str]] | None,
                    decision: str | None, outbox_status: str | None, mode: Mode,
                    now: datetime, outbox_error: str | None = None) -> str:
    """One word for where a proposal stands (``aios proposals``). ``outbox_error``: the
    outbox row's error class (a pending row without an adapter waits for the setup)."""
    if outbox_status is not None:
        return from_outbox(outbox_status, outbox_error)
    if decision == "rejected":
        return "rejected"
    if is_expired(p, now):
        return "expired"
    if gates and not all(passed for g, passed, _ in gates if g not in APPROVAL_CLEARS):
        return "failed_gate"
    if gates and not all(passed for _, passed, _ in gates):
        return "pending"  # held for the operator's approval (e.g. cross-party disclosure)
    if mode == Mode.SHADOW:
        return "shadow"
    if mode == Mode.DISABLED:
        return "failed_gate"
    if decision == "approved":
        return "approved"
    if mode == Mode.AUTONOMOUS:
        return "autonomous"
    return "pending"


def proposals_overview(con: duckdb.DuckDBPyConnection, policy: Policy, *,
                       decisions: Mapping[str, Any], outbox: Any | None,
                       now: datetime | None = None,
                       intents: Mapping[str, IntentRules] | None = None,
                       ) -> list[dict[str, Any]]:
    """Every proposal with its status, latest decision and failing gates (for the CLI)."""
    now = now or datetime.now(UTC)
    proposals = load_proposals(con)
    gates = load_gate_results(con)
    boxed = {r.idempotency_key: r for r in outbox.rows()} if outbox is not None else {}
    verdicts = {pid: d.decision for pid, d in decisions.items()}
    ctx = GateContext(policy=policy, directory=load_directory(con), decisions=verdicts,
                      now=now, intents=load_intent_rules() if intents is None else intents)
    rows = []
    for p in proposals:
        pid = p["proposal_id"]
        mode, why = proposal_mode(p, ctx)
        d = decisions.get(pid)
        row = boxed.get(p["idempotency_key"])
        status = proposal_status(p, gates=gates.get(pid), decision=verdicts.get(pid),
                                 outbox_status=str(row.status) if row else None, mode=mode,
                                 now=now, outbox_error=row.error_class if row else None)
        rows.append({
            "proposal_id": pid, "status": status,
            # why it is where it is, when the outbox knows (no adapter, last error, ...)
            "status_reason": row.last_error if row and status != "published" else None,
            "agent": p["agent"],
            "action_type": p["action_type"], "target_entity_id": p.get("target_entity_id"),
            "mode": mode.value, "mode_reason": why, "created_at": p.get("created_at"),
            "expires_at": p.get("expires_at"), "confidence": p.get("confidence"),
            "untrusted_input": bool(p.get("untrusted_input")),
            "summary": _summary(p), "rationale": p.get("rationale"),
            "failed_gates": [{"gate": g, "reason": r} for g, ok, r in gates.get(pid, [])
                             if not ok],
            "decision": d.decision if d else None, "decision_reason": d.reason if d else None,
        })
    return rows


def _summary(p: Mapping[str, Any]) -> str:
    payload = p.get("payload") or {}
    if p.get("action_type") == "send_email":
        return f"to {payload.get('to')}: {payload.get('subject')}"
    if p.get("action_type") == "http_request":
        return f"{payload.get('method')} {payload.get('path')}"
    text = str(payload.get("text") or payload.get("title") or "")
    return text[:80]
