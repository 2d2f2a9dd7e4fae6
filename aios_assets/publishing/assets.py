"""The Dagster side of gates, approvals and publishing.

``proposal_gate_results`` runs every gate and the Great Expectations suite on the open
proposals and carries one blocking check per gate. A check that finds failing proposals reports
them with their reasons (severity WARN: those proposals are held back, the others go on); a
check that finds the gate evaluation itself unsound (a proposal without a verdict, duplicate
ids or idempotency keys in the batch) fails with severity ERROR, and then ``published_actions``
does not run at all. ``published_actions`` only trusts verdicts written by
``proposal_gate_results`` in its own run (never stale ones from another run).
``publish_job`` = both assets; ``approval_job`` records decisions from the launchpad.
"""


from collections import Counter
from typing import Any

import dagster as dg

from aios_assets.publishing.adapters.resource import AdaptersResource
from aios_assets.publishing.approvals import decide
from aios_assets.publishing.data import (
    GATE_RESULTS_TABLE,
    PROPOSALS_TABLE,
    load_gate_results,
    load_intent_rules,
)
from aios_assets.publishing.decisions import (
    DecisionError,
    all_decisions,
    latest_decisions,
    try_flush_decision_events,
)
from aios_assets.publishing.gates import GATES, GateResult
from aios_assets.publishing.policy import IntentRules, PolicyError, load_policy
from aios_assets.publishing.publish import (
    RECONCILE_AFTER_S,
    Evaluation,
    build_context,
    evaluate_open_proposals,
    is_expired,
    open_proposals,
    outbox_index,
    plan_publishing,
    publish_planned,
)
from aios_assets.shared.text import markdown_table
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse

GROUP = "publishing"
GATE_ASSET = dg.AssetKey(GATE_RESULTS_TABLE)
PUBLISHED_ASSET = dg.AssetKey("published_actions")
# GE expectations whose failure makes the whole batch unsafe to publish (exactly-once keys).
STRUCTURAL = ("proposal_id present", "proposal_id unique", "idempotency_key present",
              "idempotency_key unique")
_GATE_DOCS = {
    "policy": "known action type and capability, not disabled by policy.yaml",
    "expiry": "not past its expires_at",
    "placeholders": "no unresolved placeholders ({{...}}, [NAME], TODO, ...)",
    "secrets": "no API keys, tokens, passwords or secret env values in outgoing text",
    "personal_data": "no IBAN (except allowed), card numbers, dates of birth, SSNs",
    "disclosure": "e-mails, phones and amounts tied to a person only of the recipients, the "
                  "operator or the thread answered (else held for approval)",
    "recipients": "target and recipients are canonical contacts (dim_contacts / "
                  "entity_membership), inside the allowed domains",
    "opt_out": "no recipient has opted out (policy.yaml, operator do_not_contact)",
    "duplicates": "not already in the outbox / delivered, not repeated in the batch",
    "limits": "quiet hours, per-day count and spend limits",
    "ge_suite": "the Great Expectations suite on the proposals",
}


class PublishingUnavailable(RuntimeError):
    """The outbox or adapters this step needs are not installed or configured."""


def check_name(gate: str) -> str:
    return f"gate_{gate}"


def _outbox(postgres: PostgresStore, *, required: bool) -> Any | None:
    try:
        from aios_assets.publishing.outbox import Outbox
    except ImportError as exc:
        if required:
            raise PublishingUnavailable(
                f"the outbox (aios_assets/publishing/outbox.py) is missing: {exc}") from exc
        return None
    return Outbox(postgres)


def _policy(warehouse: DuckDBWarehouse):
    try:
        return load_policy(warehouse.layout)
    except PolicyError as exc:
        raise dg.Failure(description=f"policy.yaml is invalid: {exc}") from exc


def _intent_rules(warehouse: DuckDBWarehouse) -> dict[str, IntentRules]:
    from aios_assets.agents.intents import IntentsFileError

    try:
        return load_intent_rules(warehouse.layout)
    except IntentsFileError as exc:
        raise dg.Failure(description=f"intents.yaml is invalid: {exc}") from exc


def gate_check_results(ev: Evaluation) -> list[dg.AssetCheckResult]:
    """One check result per gate, plus the soundness check (pure over the evaluation)."""
    by_gate: dict[str, list[GateResult]] = {g: [] for g in GATES}
    verdicts: dict[str, set[str]] = {}
    for r in ev.results:
        by_gate.setdefault(r.gate, []).append(r)
        verdicts.setdefault(r.proposal_id, set()).add(r.gate)
    out = []
    for gate in GATES:
        rows = by_gate.get(gate, [])
        failed = [r for r in rows if not r.passed]
        severity = dg.AssetCheckSeverity.WARN
        meta: dict[str, Any] = {
            "evaluated": len(rows), "failed": len(failed),
            "gate": _GATE_DOCS[gate],
            "stopped_proposals": dg.MetadataValue.md(markdown_table(
                ["proposal_id", "reason"], [(r.proposal_id, r.reason) for r in failed[:50]],
                width=120)),
        }
        if gate == "ge_suite":
            structural = [e for e in ev.ge.failed_expectations if e in STRUCTURAL]
            meta.update({"ge_success": ev.ge.success, "ge_expectations": ev.ge.evaluated,
                         "ge_successful": ev.ge.successful,
                         "ge_failed": dg.MetadataValue.json(ev.ge.failed_expectations)})
            if structural:
                severity = dg.AssetCheckSeverity.ERROR
                meta["blocking_reason"] = ("the batch breaks exactly-once keys: "
                                           + ", ".join(structural))
        out.append(dg.AssetCheckResult(
            asset_key=GATE_ASSET, check_name=check_name(gate),
            passed=not failed and (gate != "ge_suite" or ev.ge.success),
            severity=severity, metadata=meta))
    missing = [pid for pid in (p["proposal_id"] for p in ev.proposals)
               if not set(GATES) <= verdicts.get(pid, set())]
    complete_meta: dict[str, Any] = {
        "proposals": len(ev.proposals), "without_full_verdict": len(missing),
        "examples": dg.MetadataValue.json(missing[:20])}
    if missing:
        complete_meta["blocking_reason"] = (f"{len(missing)} proposal(s) lack a verdict from "
                                            "every gate")
    out.append(dg.AssetCheckResult(
        asset_key=GATE_ASSET, check_name="gates_complete", passed=not missing,
        severity=dg.AssetCheckSeverity.ERROR, metadata=complete_meta))
    return out


CHECK_SPECS = [
    *(dg.AssetCheckSpec(check_name(g), asset=GATE_ASSET, blocking=True,
                        description=f"Gate: {_GATE_DOCS[g]}. Failing proposals are held back "
                                    "(listed with reasons); ERROR blocks all publishing.")
      for g in GATES),
    dg.AssetCheckSpec("gates_complete", asset=GATE_ASSET, blocking=True,
                      description="every open proposal has a verdict from every gate"),
]


@dg.asset(
    key=GATE_ASSET,
    group_name=GROUP,
    pool="warehouse",
    kinds={"duckdb", "python"},
    deps=[dg.AssetKey(PROPOSALS_TABLE)],
    check_specs=CHECK_SPECS,
    description=(
        "One row per open proposal and gate (proposal_id, gate, passed, reason): policy, "
        "expiry, placeholders, secrets, personal data, canonical recipients, opt-outs, "
        "duplicates of what was sent, per-day limits and the Great Expectations suite. A "
        "proposal publishes only when every gate passed (docs/approvals.md)."
    ),
)
def proposal_gate_results(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse,
                          postgres: PostgresStore):
    policy = _policy(warehouse)
    intents = _intent_rules(warehouse)
    logged, note = try_flush_decision_events(postgres, warehouse)
    if note:
        context.log.warning(note)
    decisions = {pid: d.decision for pid, d in latest_decisions(all_decisions(postgres)).items()}
    outbox = _outbox(postgres, required=False)
    with warehouse.connect() as con:
        ev = evaluate_open_proposals(con, policy, outbox=outbox, decisions=decisions,
                                     run_id=context.run.run_id, intents=intents,
                                     ge_memo=warehouse.layout.cache / "ge_suite")
    failed = ev.failed()
    live_ids = {p["proposal_id"] for p in ev.proposals}
    expired_ids = failed.keys() - live_ids  # recorded once as expired, not gated
    per_gate = Counter(r.gate for r in ev.results if not r.passed)
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": len(ev.results),
        "open_proposals": len(ev.proposals),
        "passing_proposals": len(ev.proposals) - len(failed.keys() - expired_ids),
        "failing_proposals": len(failed.keys() - expired_ids),
        "expired_now": ev.expired,
        "failures_by_gate": dg.MetadataValue.json(dict(per_gate)),
        "decision_events_logged": logged,
        "preview": dg.MetadataValue.md(markdown_table(
            ["proposal_id", "failed gates"],
            [(pid, "; ".join(f"{r.gate}: {r.reason}" for r in rs))
             for pid, rs in list(failed.items())[:30]], width=160)),
    })
    yield from gate_check_results(ev)


class PublishConfig(dg.Config):
    """How publishing settles what earlier runs left behind."""

    # Rows claimed (a publisher died) or in doubt for longer than this are reconciled first
    # (Outbox.reconcile: lookup by key, or resend with the same key / Message-ID); < 0: never.
    reconcile_after_s: float = RECONCILE_AFTER_S


@dg.asset(
    key=PUBLISHED_ASSET,
    group_name=GROUP,
    kinds={"postgres", "python"},
    deps=[GATE_ASSET],
    description=(
        "Publishes the proposals that passed every gate and are autonomous under policy.yaml or "
        "approved by the operator: Outbox.enqueue then Outbox.publish through the capability "
        "adapters (each agent limited to its manifest's capabilities). Shadow proposals are "
        "counted, never sent."
    ),
)
def published_actions(context: dg.AssetExecutionContext, config: PublishConfig,
                      warehouse: DuckDBWarehouse, postgres: PostgresStore,
                      adapters: AdaptersResource) -> dg.MaterializeResult:
    run_id = context.run.run_id
    gated = context.instance.get_latest_materialization_event(GATE_ASSET)
    if gated is None or gated.run_id != run_id:
        # Materialized alone (e.g. from the UI): the verdicts on disk belong to another run and
        # may be stale (new proposals, changed policy, new opt-outs). Never publish on them.
        raise dg.Failure(description=(
            "published_actions publishes only on gate verdicts of its own run, and "
            f"{GATE_RESULTS_TABLE} was not materialized in run {run_id[:8]}"
            + (f" (latest: run {gated.run_id[:8]})" if gated is not None else "")
            + ": run publish_job or `aios publish` (gates, then publishing)"))
    policy = _policy(warehouse)
    intents = _intent_rules(warehouse)
    decisions = {pid: d.decision for pid, d in latest_decisions(all_decisions(postgres)).items()}
    try:
        outbox = _outbox(postgres, required=True)
    except PublishingUnavailable as exc:
        raise dg.Failure(description=str(exc)) from exc
    from aios_assets.publishing.data import load_proposals

    with warehouse.read() as con:
        proposals = load_proposals(con)
        gates = load_gate_results(con, run_id=run_id)  # this run's verdicts only
        todo = open_proposals(proposals, decisions, outbox_index(outbox))
        ctx = build_context(con, policy, outbox=outbox, decisions=decisions,
                            proposals=proposals, intents=intents)
    # Expired proposals can never publish; leaving them out keeps "held back" about live ones.
    todo = [p for p in todo if not is_expired(p, ctx.now)]
    results = [GateResult(pid, g, ok, reason) for pid in (p["proposal_id"] for p in todo)
               for g, ok, reason in gates.get(pid, [])]
    plan = plan_publishing(todo, results, ctx)
    report = publish_planned(plan, outbox, adapters=adapters.adapters(), run_id=run_id,
                             reconcile_after_s=config.reconcile_after_s
                             if config.reconcile_after_s >= 0 else None)
    statuses = report.by_status()
    reconciled = Counter(str(r.status) for r in report.reconciled)
    for why in report.waiting_for_adapter():
        context.log.warning(f"published_actions: actions wait: {why}")
    if report.reconciled:
        context.log.warning(f"reconciled {len(report.reconciled)} outbox row(s) left claimed or "
                            f"in doubt: {dict(reconciled)}")
    for p in plan.shadow:
        context.log.info(f"shadow: would publish {p['action_type']} {p['proposal_id']}")
    return dg.MaterializeResult(metadata={
        "enqueued": report.enqueued,
        "outbox_results": dg.MetadataValue.json(statuses),
        "delivered": statuses.get("delivered", 0),
        "reconciled": len(report.reconciled),
        "reconciled_results": dg.MetadataValue.json(dict(reconciled)),
        "shadow_would_send": report.shadow,
        "waiting_for_approval": report.waiting,
        "waiting_for_adapter": statuses.get("waiting_for_adapter", 0),
        "waiting_for_adapter_reasons": dg.MetadataValue.json(report.waiting_for_adapter()),
        "held_back_by_gates": report.blocked,
        "preview": dg.MetadataValue.md(markdown_table(
            ["idempotency_key", "status", "detail"],
            [(getattr(r, "idempotency_key", "?"), getattr(r, "status", "?"),
              getattr(r, "error", None) or getattr(r, "external_id", None) or "")
             for r in report.results[:30]], width=80)),
    })


publish_job = dg.define_asset_job(
    "publish_job",
    selection=dg.AssetSelection.assets(GATE_ASSET, PUBLISHED_ASSET),
    description="Gate the open proposals, then publish the approved / autonomous ones.",
)


class ApprovalConfig(dg.Config):
    """The operator's decision on one or more proposals (ids from `aios proposals`)."""

    proposal_ids: list[str]
    decision: str = "approved"  # approved | rejected
    reason: str = ""


@dg.op(description="Record the operator's decision (Postgres + event log).",
       tags={"aios/kind": "approval"})
def record_approval(context: dg.OpExecutionContext, config: ApprovalConfig,
                    warehouse: DuckDBWarehouse, postgres: PostgresStore) -> None:
    try:
        report = decide(config.proposal_ids, config.decision, config.reason or None,
                        via="dagster_ui", warehouse=warehouse, store=postgres)
    except DecisionError as exc:
        raise dg.Failure(description=str(exc)) from exc
    for w in report.warnings:
        context.log.warning(w)
    if report.note:
        context.log.warning(report.note)
    for d in report.decisions:
        context.log.info(f"{d.decision} {d.proposal_id} ({d.decision_id})")


@dg.job(description="Approve or reject proposals from the launchpad (config: proposal_ids, "
                    "decision approved|rejected, reason). approvals_sensor then publishes.")
def approval_job():
    record_approval()


class ReconcileConfig(dg.Config):
    """Which outbox rows count as stuck."""

    older_than_s: float = RECONCILE_AFTER_S  # claimed / in doubt for longer than this


@dg.op(description="Settle outbox rows left claimed (a crashed publisher) or in doubt: "
                   "Outbox.reconcile with the adapters resource (those configured by environment).",
       tags={"aios/kind": "reconcile"})
def reconcile_outbox(context: dg.OpExecutionContext, config: ReconcileConfig,
                     postgres: PostgresStore,
                     adapters: AdaptersResource) -> dg.Output[dict[str, int]]:
    try:
        outbox = _outbox(postgres, required=True)
    except PublishingUnavailable as exc:
        raise dg.Failure(description=str(exc)) from exc
    configured = adapters.adapters()
    results = outbox.reconcile(configured, older_than_s=config.older_than_s)
    counts = dict(Counter(str(r.status) for r in results))
    for r in results:
        context.log.info(f"reconciled {r.idempotency_key}: {r.status}")
    left = [r for r in outbox.rows() if r.status in ("claimed", "in_doubt")]
    return dg.Output(counts, metadata={
        "reconciled": len(results), "results": dg.MetadataValue.json(counts),
        "adapters": ", ".join(sorted(configured)) or "none configured",
        "still_claimed_or_in_doubt": len(left)})


@dg.job(description="Settle outbox rows left claimed or in doubt (publish_job does this too, "
                    "before publishing). Config: older_than_s.")
def reconcile_job():
    reconcile_outbox()


publish_schedule = dg.ScheduleDefinition(
    name="publish_schedule",
    job=publish_job,
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
    # Running by default: "autonomous" in policy.yaml means it goes out without the operator,
    # and approvals_sensor only fires on decisions. Reconciliation rides along.
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 15 minutes: gate the open proposals, reconcile stuck outbox rows, and "
                "publish the autonomous and approved ones (policy.yaml decides which).",
)

PUBLISHING_ASSETS = [proposal_gate_results, published_actions]
PUBLISHING_JOBS = [publish_job, approval_job, reconcile_job]
PUBLISHING_SCHEDULES = [publish_schedule]
