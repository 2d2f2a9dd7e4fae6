"""Hierarchical, incremental summaries of the event log: thread, entity, daily, weekly.

Levels (table ``summaries``, one row per (level, scope_id, period_start)):

- ``thread`` — the events of one thread on one UTC day (a *thread-day*): ``scope_id`` is the
  thread id, the period is that day. A thread that runs for weeks gets one summary per active
  day, so an old day is never rewritten because the thread went on, and a day's summary can be
  built from its threads.
- ``entity`` — the events of one canonical entity in one ISO week (Monday 00:00 UTC), linked
  through the dbt mart ``entity_membership`` (the event's own record, the addresses it names,
  or a chat speaker's ``name:<name>`` record). Skipped when the mart does not exist. The
  operator's own entities (``base.detect_operator``: ``$AIOS_OPERATOR_EMAIL`` or the busiest
  mailbox) and entities present in more than ``max_entity_share`` of the linked events (shared
  mailboxes) are skipped: their summary would be the daily summary again.
- ``daily`` — one UTC day: built from that day's thread summaries plus the day's events that
  have no thread (``source_event_ids`` holds only those; ``source_summary_ids`` the threads).
- ``weekly`` — one ISO week, built from its daily summaries.

Incremental: each summary stores ``input_hash`` = sha256(version, level, budget, its inputs'
ids) — event ids are content addressed and child summaries enter with a hash of their text — so
a run recomputes exactly the summaries whose inputs changed (a new or corrected event, a changed
child), keeps every other row untouched (same ``summary_id``, same ``created_at``), and deletes
summaries whose unit no longer exists. ``summary_id`` = sha256(level, scope, period, input
hash)[:24].

Writing: :func:`extractive_summary` (pure) first keeps every key item the fidelity check needs
(:mod:`aios_assets.memory.fidelity`: people in a ``People:`` line, then a minimal set of source
sentences covering every amount, date and commitment), then fills ``budget_chars`` with the
highest-scoring remaining sentences. Key items are never dropped for the budget: a summary that
must keep more than its budget is longer than its budget. With an LLM endpoint configured (the
``llm`` resource), the LLM writes the body instead (``accept`` = passes the fidelity check, so a
cheap answer that loses an item escalates to the strong model); an answer that still fails is
replaced by the extractive summary (``method = 'extractive-fallback'``). Without an endpoint
the extractive summary is written directly (no ledger row per summary).

Scale: with an endpoint, up to ``llm_concurrency`` summaries of a level are written at once
(threads; config field, else ``$AIOS_LLM_CONCURRENCY``, else
``summary_refresh.DEFAULT_LLM_CONCURRENCY`` = 4); rows and counts are those of a serial run.
Without an endpoint the extractive writer runs serially (no threads). Rows are committed every
``COMMIT_BATCH_UNITS`` (20) units, each batch in one transaction that replaces those units' old
rows, so an interrupted run keeps what it wrote and a rerun writes only the rest (the
``input_hash`` of a written unit matches); units that no longer exist are deleted at the end
of their level.

Priority (config ``scope``, ``"priority"`` by default): with an LLM endpoint, a run writes only
the units whose period overlaps the current week — the ISO week (Monday 00:00 UTC) of the newest
event not in the future (a booked meeting's time is its start), so a replayed log behaves like
a live one (``summary_refresh.priority_window``) — at every
level, in the usual order, so the brief still follows them. The other units are the backlog:
their rows are neither written nor deleted, and the metadata's ``backlog`` counts the units a
scope ``all`` run would write or remove (changed or missing, plus the days and weeks above a
backlog child). ``summaries_backfill_job`` (scope ``all``) writes exactly those, started by
``summaries_backfill_sensor`` (``sensors/summaries.py``; :func:`evaluate_backfill`) when
the latest materialization left a backlog, its run has finished and no backfill is queued or
running. Without an
endpoint (no calls, fast) every unit is written whatever the scope; ``curation_job`` always
writes every unit (an event is archived only once a passing summary covers it).

Code: this module is the Dagster side (config, asset, blocking check, jobs, the backfill
decision); :mod:`aios_assets.memory.summary_refresh` the table, the incremental refresh and
the priority window; :mod:`aios_assets.memory.summary_writing` the writing of one summary.
"""

from typing import Any

import dagster as dg

from aios_assets.llm import SupportsComplete
from aios_assets.memory.summary_refresh import (
    COVERING_LEVELS,
    DEFAULT_BUDGETS,
    DEFAULT_EXCLUDE_KINDS,
    LEVELS,
    SummariesReport,
    SummarySettings,
    check_scope,
    failing_covering_summaries,
    llm_concurrency,
    refresh_summaries,
)
from aios_assets.shared.db import has_relation
from aios_assets.shared.text import markdown_table
from resources.warehouse import DuckDBWarehouse

GROUP = "memory"
BACKLOG_KEY = "backlog"  # the materialization's figure of units left to write

# ---------------------------------------------------------------------------------------------
# Dagster
# ---------------------------------------------------------------------------------------------


class SummariesConfig(dg.Config):
    """Which levels to refresh and how long each may be (key items may exceed the budget)."""

    levels: list[str] = list(LEVELS)  # noqa: RUF012 - pydantic copies config defaults
    thread_budget_chars: int = DEFAULT_BUDGETS["thread"]
    entity_budget_chars: int = DEFAULT_BUDGETS["entity"]
    daily_budget_chars: int = DEFAULT_BUDGETS["daily"]
    weekly_budget_chars: int = DEFAULT_BUDGETS["weekly"]
    exclude_kinds: list[str] = list(DEFAULT_EXCLUDE_KINDS)  # noqa: RUF012
    max_entity_share: float = 0.5
    use_llm: bool = True  # use the llm resource when it has an endpoint
    # summaries the LLM writes at once; None: $AIOS_LLM_CONCURRENCY, else
    # DEFAULT_LLM_CONCURRENCY (summary_refresh.llm_concurrency)
    llm_concurrency: int | None = None
    # "priority": with an LLM endpoint, the current week's summaries only (the rest is the
    # backlog summaries_backfill_job fills); "all": every summary. See SCOPES.
    scope: str = "priority"

    def settings(self) -> SummarySettings:
        unknown = set(self.levels) - set(LEVELS)
        if unknown:
            raise dg.Failure(f"unknown summary levels {sorted(unknown)}; known: {LEVELS}")
        try:
            llm_concurrency(self.llm_concurrency)  # a bad value fails before any work
            check_scope(self.scope)
        except ValueError as exc:  # UnknownScope is one
            raise dg.Failure(str(exc)) from None
        return SummarySettings(
            levels=tuple(self.levels),
            budgets={"thread": self.thread_budget_chars, "entity": self.entity_budget_chars,
                     "daily": self.daily_budget_chars, "weekly": self.weekly_budget_chars},
            exclude_kinds=tuple(self.exclude_kinds),
            max_entity_share=self.max_entity_share,
            llm_concurrency=self.llm_concurrency,
            scope=self.scope,
        )


def summaries_metadata(report: SummariesReport, preview: str | None) -> dict[str, Any]:
    rows = [
        (r.level, r.units, r.recomputed, r.unchanged, r.removed, r.backlog, r.failed_fidelity,
         ", ".join(f"{m}: {n}" for m, n in sorted(r.methods.items())) or "-", r.skipped or "")
        for r in report.levels.values()
    ]
    meta: dict[str, Any] = {
        "dagster/row_count": report.total_rows,
        "recomputed": report.recomputed,
        # units left for summaries_backfill_job (the sensor reads this figure)
        BACKLOG_KEY: report.backlog,
        "scope": f"priority: week {report.window.label}" if report.window else "all",
        "unchanged": sum(r.unchanged for r in report.levels.values()),
        "removed": sum(r.removed for r in report.levels.values()),
        "failed_fidelity": sum(r.failed_fidelity for r in report.levels.values()),
        "levels": dg.MetadataValue.md(markdown_table(
            ["level", "units", "recomputed", "unchanged", "removed", "backlog",
             "failed fidelity", "methods", "skipped"], rows)),
    }
    for level, r in report.levels.items():
        meta[f"{level}_recomputed"] = r.recomputed
    if preview:
        meta["latest_daily"] = dg.MetadataValue.md("```\n" + preview[:3000] + "\n```")
    if report.skipped:
        meta["skipped"] = report.skipped
    return meta


@dg.asset(
    name="summaries",
    group_name=GROUP,
    kinds={"duckdb", "python"},
    pool="warehouse",
    deps=[dg.AssetKey("event_log"), dg.AssetKey("entity_membership")],
    description=(
        "Thread-day, entity-week, daily and weekly summaries built hierarchically (weekly from "
        "daily, daily from thread) and incrementally (input_hash): each keeps the people, "
        "amounts, dates and commitments of its sources (fidelity_passed / fidelity_missing)."
    ),
)
def summaries(
    context: dg.AssetExecutionContext,
    config: SummariesConfig,
    warehouse: DuckDBWarehouse,
    llm: dg.ResourceParam[SupportsComplete | None],
) -> dg.MaterializeResult:
    settings = config.settings()
    with warehouse.connect() as con:
        report = refresh_summaries(
            con, warehouse.layout.root, settings,
            llm=llm if config.use_llm else None, context=context, log=context.log.info,
        )
        preview = None
        if not report.skipped:
            row = con.execute(
                "SELECT text FROM summaries WHERE level = 'daily' "
                "ORDER BY period_start DESC LIMIT 1"
            ).fetchone()
            preview = row[0] if row else None
    return dg.MaterializeResult(metadata=summaries_metadata(report, preview))


@dg.asset_check(
    asset="summaries",
    name="summaries_fidelity",
    blocking=True,
    description=(
        "Every thread / daily summary covering an archivable (verbose) event keeps its key "
        "items; a failure blocks curation and lists what each summary lost."
    ),
)
def summaries_fidelity(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        failing = failing_covering_summaries(con)
        checked = (
            con.execute(
                f"SELECT count(*) FROM summaries WHERE level IN {tuple(COVERING_LEVELS)}"
            ).fetchone()[0]
            if has_relation(con, "summaries") else 0
        )
    table = markdown_table(
        ["summary", "level", "scope", "period", "missing"],
        [(s, lv, sc, f"{p:%Y-%m-%d}", "; ".join(m[:5])) for s, lv, sc, p, m in failing[:25]],
        width=120,
    )
    return dg.AssetCheckResult(
        passed=not failing,
        metadata={
            "summaries_checked": checked,
            "failing": len(failing),
            "missing_items": sum(len(m) for *_, m in failing),
            "failures": dg.MetadataValue.md(table if failing else "none"),
        },
    )


SUMMARY_ASSETS = [summaries]
SUMMARY_CHECKS = [summaries_fidelity]

summaries_job = dg.define_asset_job(
    "summaries_job",
    selection=dg.AssetSelection.assets("summaries"),
    description="Refresh the thread, entity, daily and weekly summaries (incremental; with an "
                "LLM endpoint the current week's only, the rest is the backlog).",
)

ALL_SCOPE_CONFIG = {"ops": {"summaries": {"config": {"scope": "all"}}}}

summaries_backfill_job = dg.define_asset_job(
    "summaries_backfill_job",
    selection=dg.AssetSelection.assets("summaries"),
    config=ALL_SCOPE_CONFIG,
    description="Write every summary the pipeline left as a backlog (scope all); started by "
                "summaries_backfill_sensor after a run that left one.",
)

curation_job = dg.define_asset_job(
    "curation_job",
    selection=dg.AssetSelection.assets("summaries", "cold_archive"),
    # every summary: an old event is archived only once a passing summary covers it
    config=ALL_SCOPE_CONFIG,
    description=(
        "Weekly memory curation: refresh every summary (their blocking fidelity check gates "
        "the archive), then move old verbose events to the Parquet cold tier."
    ),
)

# ---------------------------------------------------------------------------------------------
# the backfill sensor (sensors/summaries.py): what the instance says, and the decision
# ---------------------------------------------------------------------------------------------

# a backfill run in one of these statuses holds or will hold the backfill: no second one
PENDING_STATUSES = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
                    dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def latest_backlog(instance: dg.DagsterInstance) -> tuple[int | None, str | None]:
    """(backlog, run id) of the latest ``summaries`` materialization: the units still left to
    write (the latest one is the current figure: a backfill that ran since is the latest);
    (None, None) before any."""
    entry = instance.get_latest_materialization_event(dg.AssetKey("summaries"))
    mat = entry.asset_materialization if entry is not None else None
    if entry is None or mat is None:
        return None, None
    value = mat.metadata.get(BACKLOG_KEY)
    backlog = getattr(value, "value", value)
    return (backlog if isinstance(backlog, int) else None), entry.run_id


def evaluate_backfill(
    instance: dg.DagsterInstance, cursor: str | None
) -> tuple[dg.RunRequest | dg.SkipReason, str | None]:
    """:func:`plan_backfill` on the latest ``summaries`` materialization of ``instance``."""
    backlog, run_id = latest_backlog(instance)
    if run_id is None:
        return plan_backfill(None, None, True, False, cursor)
    producer = instance.get_run_by_id(run_id)
    running = bool(instance.get_run_ids(
        filters=dg.RunsFilter(job_name=summaries_backfill_job.name, statuses=PENDING_STATUSES),
        limit=1))
    return plan_backfill(backlog, run_id, producer is None or producer.is_finished, running,
                         cursor)



def plan_backfill(
    backlog: int | None, materialized_by: str | None, producer_finished: bool,
    backfill_running: bool, cursor: str | None,
) -> tuple[dg.RunRequest | dg.SkipReason, str | None]:
    """(what to do, new cursor) for the latest ``summaries`` materialization: a backfill run
    when it left a backlog, the run that wrote it has finished (its later steps, the agents
    and their proposals, would otherwise queue behind the backfill for the warehouse pool), no
    backfill is queued or running, and none was requested for it yet. The cursor is the run id
    of the materialization last acted on: one request per materialization, so a failing
    backfill is not retried until the next refresh."""
    if materialized_by is None:
        return dg.SkipReason("summaries never materialized"), cursor
    if not backlog:
        return dg.SkipReason("no summaries backlog"), cursor
    if materialized_by == cursor:
        return dg.SkipReason(f"backfill already requested after run {cursor[:8]}"), cursor
    if not producer_finished:
        return dg.SkipReason(f"waiting for run {materialized_by[:8]} to finish"), cursor
    if backfill_running:
        return dg.SkipReason("a summaries backfill is queued or running"), cursor
    return dg.RunRequest(
        run_key=f"summaries-backfill-after-{materialized_by}",
        tags={"aios/trigger": "summaries_backlog", "aios/backlog": str(backlog)},
    ), materialized_by
