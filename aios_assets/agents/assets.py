"""Dagster assets of the agents: planner, one asset per agent, canary, action_proposals.

``agent_plans`` turns intents into checkpointed plans (Postgres ``aios.agent_plans``), sweeps
and re-plans them. Each ``agent_<name>`` asset runs the current manifest of its agent inside the
step of its intent's plan, reads the warehouse's read snapshot (no lock held during LLM calls)
and writes its proposals to ``agent_outputs``; a failure is retried with backoff
(``dg.RetryRequested``), escalated or compensated as the plan decides. ``agent_canary`` runs
canary manifests in shadow and diffs them against the current outputs. ``action_proposals``
merges everything by proposal id. Behaviour checks flag malformed outputs and drift.
"""


import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb

from aios_assets.agents.billing import overdue_invoices, run_billing
from aios_assets.agents.brief import run_brief
from aios_assets.agents.canary import (
    CanaryDiff,
    canary_problems,
    compare,
    output_problems,
    rate_drift,
)
from aios_assets.agents.content import run_content
from aios_assets.agents.followup import run_followup
from aios_assets.agents.intents import (
    Intent,
    IntentsFileError,
    ensure_default_intents,
    intents_for_agent,
    load_intents,
)
from aios_assets.agents.manifests import AgentManifest, load_manifests
from aios_assets.agents.plans import (
    DONE_PLAN,
    DONE_STEP,
    Plan,
    PlanError,
    PlanStore,
    Signals,
    fail_step,
    finish_step,
    make_plan,
    replan,
    start_step,
    sweep,
    window_start,
)
from aios_assets.agents.proposals import (
    AGENT_OUTPUTS_TABLE,
    PROPOSALS_TABLE,
    Proposal,
    ensure_tables,
    make_proposal,
    merge_proposals,
    read_proposals,
    replace_agent_outputs,
)
from aios_assets.agents.runtime import AgentOutput, AgentRun, business_clock
from aios_assets.agents.triage import run_triage
from aios_assets.memory.base import detect_operator
from aios_assets.shared.db import has_relation
from aios_assets.shared.sql_rules import sql_email_of
from aios_assets.shared.text import markdown_table
from resources.llm import LLMResource, usage_metadata
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse

GROUP = "agents"
PLANNER = "planner"
PLANNER_VERSION = "1.0.0"
RUNS_TABLE = "agent_runs"
CANARY_TABLE = "agent_canary_diffs"

AgentFn = Callable[[duckdb.DuckDBPyConnection, AgentRun], AgentOutput]
AGENT_FUNCS: dict[str, AgentFn] = {
    "triage": run_triage, "followup": run_followup, "billing": run_billing,
    "content": run_content, "brief": run_brief,
}
K = dg.AssetKey
PLANS_KEY = K("agent_plans")
AGENT_KEYS = {a: K(f"agent_{a}") for a in AGENT_FUNCS}
CANARY_KEY = K("agent_canary")
PROPOSALS_KEY = K(PROPOSALS_TABLE)
MART_DEPS = [K("event_log"), K("entity_membership"), K("dim_contacts"), K("fct_interactions"),
             K("fct_invoices"), K("fct_content_performance")]
AGENT_DEPS: dict[str, list[dg.AssetKey]] = {
    "triage": [K("event_log"), K("fct_interactions"), K("dim_contacts"),
               K("entity_membership"), K("working_memory")],
    "followup": [K("entity_membership"), K("dim_contacts"), K("fct_interactions"),
                 K("working_memory"), K("policy_traces"), K("stg_calendar__meetings"),
                 K("stg_calendar__attendees")],
    "billing": [K("fct_invoices"), K("dim_contacts"), K("policy_traces")],
    "content": [K("event_log"), K("fct_content_performance"), K("semantic_memory")],
    "brief": [K("event_log"), K("summaries"), K("fct_invoices"), K("cost_ledger"),
              *(AGENT_KEYS[a] for a in ("triage", "followup", "billing", "content"))],
}

RUNS_DDL = f"""
CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
    run_id VARCHAR, agent VARCHAR NOT NULL, mode VARCHAR NOT NULL,
    manifest_version VARCHAR NOT NULL, as_of TIMESTAMPTZ NOT NULL, ran_at TIMESTAMPTZ NOT NULL,
    outcome VARCHAR NOT NULL, proposals INTEGER NOT NULL, stats JSON
);
"""
CANARY_DDL = f"""
CREATE TABLE IF NOT EXISTS {CANARY_TABLE} (
    run_id VARCHAR, agent VARCHAR NOT NULL, current_version VARCHAR NOT NULL,
    canary_version VARCHAR NOT NULL, compared_at TIMESTAMPTZ NOT NULL, same INTEGER NOT NULL,
    changed INTEGER NOT NULL, only_current INTEGER NOT NULL, only_canary INTEGER NOT NULL,
    overlap DOUBLE NOT NULL, problems VARCHAR[] NOT NULL
);
"""


def outputs_version(con: duckdb.DuckDBPyConnection, table: str, where: str = "true",
                    params: list[Any] | None = None) -> dg.DataVersion:
    """A data version from content: which proposals ``table`` holds (ids are content hashes,
    and a proposal never changes once written). A rerun that proposes the same (the hourly
    triage with no new mail, a step already done) keeps the version, so Dagster flags nothing
    downstream "Upstream data"; without one every run would count as new data."""
    if not has_relation(con, table):
        return dg.DataVersion("0")
    count, digest = con.execute(
        f"SELECT count(*), coalesce(sum(hash(proposal_id)), 0) FROM {table} WHERE {where}",
        params or []).fetchone()
    return dg.DataVersion(f"{count}-{digest}")


class AgentRunConfig(dg.Config):
    """How an agent run is clocked and retried."""

    as_of: str | None = None  # ISO time of the business clock; default: newest mail/chat/payment
    force: bool = False  # run even when this window's plan step already succeeded
    retry_base_s: float = 30.0  # backoff base of a failed step (doubles per attempt)


def _as_of(config: AgentRunConfig, con: duckdb.DuckDBPyConnection, now: datetime) -> datetime:
    if config.as_of:
        at = datetime.fromisoformat(config.as_of)
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    return business_clock(con, now)


def _intents(context: dg.AssetExecutionContext | None = None) -> list[Intent]:
    path = ensure_default_intents()
    try:
        return load_intents(path)
    except IntentsFileError as exc:
        if context is not None:
            context.log.error(str(exc))
        raise


# --- signals and planning ------------------------------------------------------------------


def compute_signals(con: duckdb.DuckDBPyConnection, as_of: datetime) -> Signals:
    """KPI values as of the business clock and the latest inbound message per entity."""
    kpis: dict[str, float] = {}
    op = detect_operator(con)
    sender = sql_email_of("e.actor")
    replies: dict[str, datetime] = {}
    if has_relation(con, "fct_interactions"):
        for entity_id, at in con.execute(
                f"""SELECT f.entity_id, max(f.occurred_at) FROM fct_interactions f
                JOIN events_current e ON e.source = f.source AND e.source_id = f.source_event_id
                WHERE f.role = 'from' AND f.entity_id IS NOT NULL AND f.occurred_at <= ?
                  AND {sender} IS DISTINCT FROM ? GROUP BY 1""",
                [as_of, op.email]).fetchall():
            replies[entity_id] = at
        kpis["unanswered_inbound"] = float(con.execute(
            f"""WITH m AS (SELECT coalesce(thread, source_id) t, occurred_at, {sender} s
                FROM events_current e WHERE kind = 'email' AND occurred_at <= ?)
            SELECT count(*) FROM (SELECT t, arg_max(s, occurred_at) AS last_s FROM m GROUP BY t)
            WHERE last_s IS DISTINCT FROM ?""", [as_of, op.email]).fetchone()[0])
    if has_relation(con, "fct_invoices"):
        kpis["overdue_balance"] = round(sum(float(r[6]) for r in overdue_invoices(con, as_of)), 2)
    if has_relation(con, "fct_content_performance"):
        row = con.execute("SELECT open_rate FROM fct_content_performance WHERE open_rate IS NOT "
                          "NULL ORDER BY coalesce(sent_at, published_at) DESC NULLS LAST "
                          "LIMIT 1").fetchone()
        if row:
            kpis["newsletter_open_rate"] = float(row[0])
    return Signals(kpis=kpis, replies=replies)


def plan_intents(store: PlanStore, intents: list[Intent], signals: Signals, now: datetime,
                 costs: dict[str, float]) -> list[tuple[Plan, str]]:
    """Ensure each enabled intent has a plan for the current window; sweep and re-plan."""
    out: list[tuple[Plan, str]] = []
    for intent in intents:
        if not intent.enabled:
            continue
        kpi = signals.kpis.get(intent.kpi.name)
        plan = store.current(intent.id)
        note = "unchanged"
        if plan is None or plan.window_start < window_start(intent.cadence, now):
            if plan is not None and plan.status == "active":
                plan = store.save(sweep(plan, now)[0])  # settle the old window first
            plan = store.ensure(make_plan(intent, now, expected_costs=costs, kpi_value=kpi))
            note = "planned"
        else:
            swept, notes = sweep(plan, now)
            if notes:
                plan = store.save(swept)
                note = "; ".join(notes)
            changed = replan(plan, intent, signals, now, costs)
            if changed is not None:
                old, new = changed
                store.save(old)
                plan = store.ensure(new)
                note = new.reason or "re-planned"
        out.append((plan, note))
    return out


def _plan_rows(plans: list[tuple[Plan, str]]) -> str:
    rows = [(p.intent_id, p.plan_id, p.status,
             ", ".join(f"{s.agent}:{s.status}" for s in p.steps), f"{p.deadline:%Y-%m-%d %H:%M}",
             f"{p.kpi_name}={p.kpi_value:g}" if p.kpi_value is not None else p.kpi_name, note)
            for p, note in plans]
    return markdown_table(["intent", "plan", "status", "steps", "deadline", "kpi", "note"], rows,
                          width=80)


@dg.asset(
    key=PLANS_KEY, group_name=GROUP, pool="warehouse", kinds={"python", "postgres"},
    deps=MART_DEPS,
    description=(
        "The planner: loads `$AIOS_HOME/intents.yaml` (the demo defaults when missing), keeps "
        "one checkpointed plan per intent and cadence window in Postgres `aios.agent_plans` "
        "(steps, agent per step, expected cost, deadline, status, expiry), settles crashed or "
        "expired steps, and re-plans when a reply arrives from a target or a KPI worsens."),
)
def agent_plans(context: dg.AssetExecutionContext, config: AgentRunConfig,
                warehouse: DuckDBWarehouse, postgres: PostgresStore) -> dg.MaterializeResult:
    intents = _intents(context)
    manifests = load_manifests()
    costs = {a: slot["current"].action_cost_usd for a, slot in manifests.items()}
    now = datetime.now(UTC)
    with warehouse.read() as con:
        as_of = _as_of(config, con, now)
        signals = compute_signals(con, as_of)
    store = PlanStore(postgres.resolved_url())
    plans = plan_intents(store, intents, signals, now, costs)
    for plan, note in plans:
        if note != "unchanged":
            context.log.info(f"{plan.intent_id}: {plan.plan_id} {plan.status} ({note})")
    # The plans in force (a new window or a re-plan makes a new plan_id). Step progress is
    # left out: the agents downstream write it, so counting it would flag them after each run.
    version = dg.DataVersion(hashlib.sha256(
        "\n".join(sorted(p.plan_id for p, _ in plans)).encode()).hexdigest()[:16])
    return dg.MaterializeResult(data_version=version, metadata={
        "intents": len(intents),
        "active_plans": sum(p.status == "active" for p, _ in plans),
        "as_of": as_of.isoformat(),
        "kpis": dg.MetadataValue.json(signals.kpis),
        "plans": dg.MetadataValue.md(_plan_rows(plans)),
    })


# --- one agent run ---------------------------------------------------------------------------


def run_agent(con: duckdb.DuckDBPyConnection, manifest: AgentManifest, *, as_of: datetime,
              now: datetime | None = None, llm: Any = None, intent: Intent | None = None,
              plan_id: str | None = None, mode: str = "live", run_id: str | None = None,
              context: Any = None) -> tuple[AgentOutput, AgentRun]:
    """Run one agent version over a warehouse connection (what assets and tests call)."""
    run = AgentRun(manifest=manifest, as_of=as_of, now=now or datetime.now(UTC), llm=llm,
                   intent=intent, plan_id=plan_id, mode=mode, run_id=run_id, context=context)
    return AGENT_FUNCS[manifest.agent](con, run), run


def _record_run(con: duckdb.DuckDBPyConnection, run_id: str | None, manifest: AgentManifest,
                mode: str, as_of: datetime, outcome: str, count: int,
                stats: dict[str, Any]) -> None:
    con.execute(RUNS_DDL)
    con.execute(f"INSERT INTO {RUNS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, manifest.agent, mode, manifest.version, as_of, datetime.now(UTC),
                 outcome, count, json.dumps(stats, default=str)])


def planner_version() -> str:
    """The planner manifest's version (``manifests/planner.v1.yaml``), recorded on its notes."""
    try:
        slot = load_manifests().get(PLANNER)
    except ValueError:  # a broken user manifest must not stop an escalation
        slot = None
    return slot["current"].version if slot else PLANNER_VERSION


def escalation_note(plan: Plan, agent: str, reason: str, now: datetime,
                    run_id: str | None) -> Proposal:
    """The operator's notice that a plan step failed for good."""
    return make_proposal(
        agent=PLANNER, manifest_version=planner_version(), action_type="internal_note",
        target_entity_id=None, basis=f"escalate:{plan.plan_id}:{agent}",
        payload={"title": f"Agent {agent} needs you ({plan.intent_id})",
                 "text": f"Plan {plan.plan_id} step {agent}: {reason}"},
        rationale=f"Plan step {agent} of intent {plan.intent_id} {reason}",
        evidence_event_ids=[], confidence=1.0, ttl=timedelta(days=2), intent_id=plan.intent_id,
        plan_id=plan.plan_id, run_id=run_id, now=now)


def _execute_agent(context: dg.AssetExecutionContext, agent: str, config: AgentRunConfig,
                   warehouse: DuckDBWarehouse, postgres: PostgresStore,
                   llm: LLMResource) -> dg.MaterializeResult:
    manifest = load_manifests()[agent]["current"]
    intents = intents_for_agent(_intents(context), agent)
    intent = intents[0] if intents else None
    now = datetime.now(UTC)
    meta: dict[str, Any] = {"manifest_version": manifest.version,
                            "template_version": manifest.template_version,
                            "model_tier": manifest.model_tier,
                            "capabilities": ", ".join(manifest.capabilities) or "none"}
    with warehouse.read() as con:
        as_of = _as_of(config, con, now)
    meta["as_of"] = as_of.isoformat()
    if intent is None:
        with warehouse.connect() as con:
            replace_agent_outputs(con, agent, "live", [])
        context.log.info(f"no enabled intent uses agent {agent}: nothing to do")
        return dg.MaterializeResult(metadata={**meta, "outcome": "no intent", "proposals": 0})
    store = PlanStore(postgres.resolved_url())
    plan = store.current(intent.id)
    if plan is None or plan.status in DONE_PLAN - {"completed"} \
            or plan.window_start < window_start(intent.cadence, now):
        plan = store.ensure(make_plan(intent, now))
    step = plan.step(agent)
    assert step is not None  # the intent lists the agent, so its plan has the step
    meta.update({"intent": intent.id, "plan_id": plan.plan_id})
    if step.status in DONE_STEP and not config.force:
        context.log.info(f"{plan.plan_id}: step {step.step_id} already {step.status}")
        return dg.MaterializeResult(metadata={**meta, "outcome": f"step already {step.status}",
                                              "proposals": 0})
    running = plan
    if step.status not in DONE_STEP:
        try:
            running = store.save(start_step(plan, agent, now))
        except PlanError as exc:  # waiting for its backoff: the next run picks it up
            context.log.warning(str(exc))
            return dg.MaterializeResult(metadata={**meta, "outcome": str(exc), "proposals": 0})
    try:
        with warehouse.read() as con:
            output, run = run_agent(con, manifest, as_of=as_of, now=now, llm=llm, intent=intent,
                                    plan_id=plan.plan_id, run_id=context.run_id,
                                    context=context)
    except Exception as exc:
        if step.status in DONE_STEP:  # a forced rerun of a settled step: the plan stays as is
            raise dg.Failure(description=f"{manifest.label} (forced rerun; plan step already "
                                         f"{step.status}): {type(exc).__name__}: {exc}") from exc
        retryable = bool(getattr(exc, "retryable", True))
        failed, decision = fail_step(running, agent, now, f"{type(exc).__name__}: {exc}",
                                     retryable=retryable, base_s=config.retry_base_s)
        store.save(failed)
        context.log.error(f"{manifest.label}: {decision.reason}")
        if decision.action == "retry":
            raise dg.RetryRequested(max_retries=max(0, step.max_attempts - 1),
                                    seconds_to_wait=decision.wait_s) from exc
        with warehouse.connect() as con:
            if decision.action == "compensate":
                replace_agent_outputs(con, agent, "live", [])  # withdraw partial outputs
            merge_proposals(con, [escalation_note(plan, agent, decision.reason, now,
                                                  context.run_id)])
            _record_run(con, context.run_id, manifest, "live", as_of, decision.action, 0,
                        {"error": str(exc)[:300]})
        return dg.MaterializeResult(metadata={**meta, "outcome": decision.action,
                                              "error": decision.reason, "proposals": 0})
    budget = run.budget_stats()
    with warehouse.connect() as con:
        n = replace_agent_outputs(con, agent, "live", output.proposals)
        _record_run(con, context.run_id, manifest, "live", as_of, "ok", n,
                    {**output.stats, **budget})
    if step.status not in DONE_STEP:
        store.save(finish_step(running, agent, datetime.now(UTC),
                               outputs=[p.proposal_id for p in output.proposals],
                               targets=[p.target_entity_id for p in output.proposals
                                        if p.target_entity_id]))
    by_type: dict[str, int] = {}
    for p in output.proposals:
        by_type[p.action_type] = by_type.get(p.action_type, 0) + 1
    return dg.MaterializeResult(metadata={
        **meta, "outcome": "ok", "proposals": n, "dagster/row_count": n,
        "by_action_type": dg.MetadataValue.json(by_type),
        "untrusted_input": sum(p.untrusted_input for p in output.proposals),
        "stats": dg.MetadataValue.json(output.stats),
        **({"budget": dg.MetadataValue.json(budget)} if budget else {}),
        **usage_metadata(run.llm_results),
        "preview": dg.MetadataValue.md(output.preview_md[:6000] or "(nothing)"),
    })


def _agent_asset(agent: str) -> dg.AssetsDefinition:
    manifest_note = {
        "triage": "classifies unanswered inbound mail, prioritizes it, drafts replies to known "
                  "correspondents and warns about prompt-injection attempts",
        "followup": "drafts follow-ups to stale leads and quiet customers",
        "billing": "drafts reminders for overdue invoices, tone escalating with days overdue",
        "content": "drafts the weekly newsletter from recent notes and what performed",
        "brief": "writes the daily operator brief: what happened, what waits, what it cost",
    }[agent]

    @dg.asset(
        key=AGENT_KEYS[agent], group_name=GROUP, pool="warehouse",
        kinds={"python", "duckdb"}, deps=[PLANS_KEY, *AGENT_DEPS[agent]],
        description=(f"Agent `{agent}` (current manifest in aios_assets/agents/manifests): "
                     f"{manifest_note}. Proposes only, never acts: rows in `agent_outputs` "
                     "(mode live) with rationale, evidence event ids, confidence, cost, "
                     "idempotency key and expiry."),
    )
    def _asset(context: dg.AssetExecutionContext, config: AgentRunConfig,
               warehouse: DuckDBWarehouse, postgres: PostgresStore,
               llm: LLMResource) -> dg.MaterializeResult:
        result = _execute_agent(context, agent, config, warehouse, postgres, llm)
        with warehouse.read() as con:
            version = outputs_version(con, AGENT_OUTPUTS_TABLE, "agent = ? AND mode = 'live'",
                                      [agent])
        return dg.MaterializeResult(metadata=result.metadata, data_version=version)

    return _asset


AGENT_ASSET_DEFS = [_agent_asset(a) for a in AGENT_FUNCS]


# --- canary ----------------------------------------------------------------------------------


@dg.asset(
    key=CANARY_KEY, group_name=GROUP, pool="warehouse", kinds={"python", "duckdb"},
    deps=list(AGENT_KEYS.values()),
    description=(
        "Canary manifests run in shadow beside the current ones (mode 'canary', never "
        "published): their proposals go to `agent_outputs`, and the diff against the current "
        "version's (same / changed / only current / only canary, overlap) to "
        "`agent_canary_diffs` and this asset's metadata."),
)
def agent_canary(context: dg.AssetExecutionContext, config: AgentRunConfig,
                 warehouse: DuckDBWarehouse, llm: LLMResource) -> dg.MaterializeResult:
    manifests = load_manifests()
    intents = _intents(context)
    now = datetime.now(UTC)
    diffs: list[CanaryDiff] = []
    with warehouse.read() as con:
        as_of = _as_of(config, con, now)
        results = []
        for agent, slot in sorted(manifests.items()):
            canary = slot.get("canary")
            if canary is None:
                continue
            served = intents_for_agent(intents, agent)
            output, _ = run_agent(con, canary, as_of=as_of, now=now, llm=llm,
                                  intent=served[0] if served else None, mode="canary",
                                  run_id=context.run_id, context=context)
            current = (read_proposals(con, AGENT_OUTPUTS_TABLE, "agent = ? AND mode = 'live'",
                                      [agent]) if has_relation(con, AGENT_OUTPUTS_TABLE) else [])
            diff = compare(current, output.proposals)
            diff = CanaryDiff(**{**diff.__dict__, "agent": agent,
                                 "current_version": slot["current"].version,
                                 "canary_version": canary.version})
            diffs.append(diff)
            results.append((agent, canary, output))
    with warehouse.connect() as con:
        con.execute(CANARY_DDL)
        for (agent, canary, output), diff in zip(results, diffs, strict=True):
            replace_agent_outputs(con, agent, "canary", output.proposals)
            _record_run(con, context.run_id, canary, "canary", as_of, "ok",
                        len(output.proposals), output.stats)
            con.execute(f"INSERT INTO {CANARY_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [context.run_id, agent, diff.current_version, diff.canary_version, now,
                         diff.same, len(diff.changed), len(diff.only_current),
                         len(diff.only_canary), diff.overlap, canary_problems(diff)])
        version = outputs_version(con, AGENT_OUTPUTS_TABLE, "mode = 'canary'")
    md = "\n\n".join(d.markdown() for d in diffs) or "No canary manifests."
    return dg.MaterializeResult(data_version=version, metadata={
        "canaries": len(diffs),
        "min_overlap": round(min((d.overlap for d in diffs), default=1.0), 3),
        "diff": dg.MetadataValue.md(md[:8000]),
    })


# --- action_proposals ------------------------------------------------------------------------


@dg.asset(
    key=PROPOSALS_KEY, group_name=GROUP, pool="warehouse", kinds={"python", "duckdb"},
    deps=[*AGENT_KEYS.values(), CANARY_KEY],
    description=(
        "Every agent's proposals (live, and canary/shadow ones marked by `mode`), merged by "
        "proposal_id into `action_proposals`: a rerun adds no duplicates and a proposal never "
        "changes once written. An agent's staged outputs that fail its `<agent>_outputs_valid` "
        "rules are withheld (metadata `withheld`). The gates and the operator's approvals read "
        "this table."),
)
def action_proposals(context: dg.AssetExecutionContext,
                     warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    manifests = load_manifests()
    with warehouse.connect() as con:
        ensure_tables(con)
        staged = read_proposals(con, AGENT_OUTPUTS_TABLE)
        # Only agent runs whose outputs pass <agent>_outputs_valid are merged: a run whose
        # check failed stays staged (for inspection) but never leaks in through another job.
        withheld: dict[str, list[str]] = {}
        for agent in sorted({p.agent for p in staged if p.mode == "live"}):
            slot = manifests.get(agent)
            problems = (staged_output_problems(con, agent, slot["current"])[1] if slot
                        else [f"{agent}: no current manifest"])
            if problems:
                withheld[agent] = problems
        merged = [p for p in staged if not (p.mode == "live" and p.agent in withheld)]
        new = merge_proposals(con, merged)
        total = con.execute(f"SELECT count(*) FROM {PROPOSALS_TABLE}").fetchone()[0]
        by = con.execute(
            f"""SELECT agent, mode, action_type, count(*) FROM {PROPOSALS_TABLE}
            GROUP BY ALL ORDER BY ALL""").fetchall()
        preview = con.execute(
            f"""SELECT agent, manifest_version, mode, action_type, target_entity_id,
                   coalesce(payload ->> 'subject', payload ->> 'title',
                            left(payload ->> 'text', 60), payload -> 'json' ->> 'title'),
                   round(confidence, 2), rationale
            FROM {PROPOSALS_TABLE} ORDER BY created_at DESC, proposal_id LIMIT 15""").fetchall()
        version = outputs_version(con, PROPOSALS_TABLE)
    context.log.info(f"action_proposals: {new} new of {len(staged)} staged, {total} in all")
    for agent, problems in withheld.items():
        context.log.warning(f"action_proposals: withheld agent {agent}'s outputs, they fail "
                            f"{agent}_outputs_valid: {'; '.join(problems[:3])}")
    return dg.MaterializeResult(data_version=version, metadata={
        "dagster/row_count": total, "new_proposals": new, "staged": len(staged),
        "withheld": dg.MetadataValue.json({a: len(p) for a, p in withheld.items()}),
        "withheld_problems": dg.MetadataValue.md("\n".join(
            f"- {a}: {p}" for a, ps in withheld.items() for p in ps[:10]) or "none"),
        "by_agent": dg.MetadataValue.md(markdown_table(["agent", "mode", "action", "count"], by)),
        "preview": dg.MetadataValue.md(markdown_table(
            ["agent", "version", "mode", "action", "target", "subject", "conf", "rationale"],
            preview)),
    })


# --- behaviour checks ------------------------------------------------------------------------


def staged_output_problems(con: duckdb.DuckDBPyConnection, agent: str,
                           manifest: AgentManifest) -> tuple[list[Proposal], list[str]]:
    """The agent's live rows in ``agent_outputs`` and what is wrong with them
    (:func:`output_problems`: rationale, evidence in the log, allowed action types, manifest
    version, canonical recipients). Shared by the check and the merge."""
    if not has_relation(con, AGENT_OUTPUTS_TABLE):
        return [], []
    props = read_proposals(con, AGENT_OUTPUTS_TABLE, "agent = ? AND mode = 'live'", [agent])
    ids = sorted({e for p in props for e in p.evidence_event_ids})
    known = {r[0] for r in con.execute(
        "SELECT event_id FROM event_log WHERE event_id IN (SELECT unnest(?))",
        [ids]).fetchall()} if ids else set()
    targets = sorted({p.target_entity_id for p in props if p.target_entity_id})
    emails: dict[str, set[str]] = {}
    if targets and has_relation(con, "dim_contacts"):
        for eid, primary, others in con.execute(
                "SELECT entity_id, primary_email, emails FROM dim_contacts "
                "WHERE entity_id IN (SELECT unnest(?))", [targets]).fetchall():
            emails[eid] = {e.lower() for e in [primary, *(others or [])] if e}
    return props, output_problems(props, manifest, known, emails)


def _check_outputs(warehouse: DuckDBWarehouse, agent: str) -> dg.AssetCheckResult:
    manifest = load_manifests()[agent]["current"]
    with warehouse.read() as con:
        props, problems = staged_output_problems(con, agent, manifest)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"proposals": len(props), "problems": len(problems),
                  "details": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:30])
                                                 or "none")})


def _check_rate(warehouse: DuckDBWarehouse, agent: str) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        if not has_relation(con, RUNS_TABLE):
            return dg.AssetCheckResult(passed=True, metadata={"runs": 0})
        counts = [r[0] for r in con.execute(
            f"SELECT proposals FROM {RUNS_TABLE} WHERE agent = ? AND mode = 'live' "
            "AND outcome = 'ok' ORDER BY ran_at DESC LIMIT 11", [agent]).fetchall()]
    if not counts:
        return dg.AssetCheckResult(passed=True, metadata={"runs": 0})
    drift = rate_drift(counts[1:], counts[0])
    return dg.AssetCheckResult(
        passed=drift is None, severity=dg.AssetCheckSeverity.WARN,
        metadata={"current": counts[0], "history": dg.MetadataValue.json(counts[1:]),
                  "drift": drift or "none"})


def _agent_checks(agent: str) -> list[dg.AssetChecksDefinition]:
    key = AGENT_KEYS[agent]

    @dg.asset_check(asset=key, name=f"{agent}_outputs_valid", blocking=True,
                    description="every proposal has a rationale, evidence that exists in the "
                                "event log, an action type its manifest allows, the manifest's "
                                "version, and (mail) a canonical recipient of its target")
    def _valid(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        return _check_outputs(warehouse, agent)

    @dg.asset_check(asset=key, name=f"{agent}_proposal_rate_stable", blocking=False,
                    description="proposal count in line with the median of recent runs "
                                "(drift warning)")
    def _rate(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        return _check_rate(warehouse, agent)

    return [_valid, _rate]


@dg.asset_check(asset=CANARY_KEY, blocking=False,
                description="canary versions overlap their current version enough and propose "
                            "no new action types")
def canary_within_tolerance(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        if not has_relation(con, CANARY_TABLE):
            return dg.AssetCheckResult(passed=True, metadata={"canaries": 0})
        rows = con.execute(
            f"""SELECT agent, canary_version, overlap, problems FROM {CANARY_TABLE}
            QUALIFY row_number() OVER (PARTITION BY agent ORDER BY compared_at DESC) = 1""",
        ).fetchall()
    problems = [p for r in rows for p in r[3]]
    return dg.AssetCheckResult(
        passed=not problems, severity=dg.AssetCheckSeverity.WARN,
        metadata={"canaries": len(rows), "problems": dg.MetadataValue.md(
            "\n".join(f"- {p}" for p in problems) or "none")})


@dg.asset_check(asset=PROPOSALS_KEY, blocking=True,
                description="proposal ids and idempotency keys are unique")
def action_proposals_unique(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        if not has_relation(con, PROPOSALS_TABLE):
            return dg.AssetCheckResult(passed=True, metadata={"rows": 0})
        dup_ids, dup_keys, rows = con.execute(
            f"""SELECT count(*) - count(DISTINCT proposal_id),
                       count(*) - count(DISTINCT idempotency_key), count(*)
            FROM {PROPOSALS_TABLE}""").fetchone()
    return dg.AssetCheckResult(passed=dup_ids == 0 and dup_keys == 0,
                               metadata={"rows": rows, "duplicate_ids": dup_ids,
                                         "duplicate_keys": dup_keys})


AGENT_ASSETS = [agent_plans, *AGENT_ASSET_DEFS, agent_canary, action_proposals]
AGENT_CHECKS = [*(c for a in AGENT_FUNCS for c in _agent_checks(a)), canary_within_tolerance,
                action_proposals_unique]

agents_job = dg.define_asset_job(
    "agents_job",
    selection=dg.AssetSelection.assets(*[a.key for a in AGENT_ASSETS]),
    description="Plan the intents, run every agent (and the canaries), merge the proposals.",
)

__all__ = ["AGENT_ASSETS", "AGENT_CHECKS", "agents_job", "run_agent"]
