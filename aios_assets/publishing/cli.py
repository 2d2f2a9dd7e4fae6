"""``aios proposals / approve / reject / publish`` (registered on the main ``aios`` app).

``aios publish`` runs ``publish_job`` of the one ``Definitions``; the main app hands in how to
find it (:func:`register`'s ``resolve_job``), so this module never imports the Definitions.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Column
from rich.text import Text

from aios_assets.shared.home import activate_home
from aios_assets.termtext import (
    fit_table,
    id_column,
    make_console,
    progress_off,
    safe,
    short_ids,
    visible,
)

if TYPE_CHECKING:
    import dagster as dg

JobResolver = Callable[[str], "dg.JobDefinition"]

console = make_console(stderr=True)
out = make_console()


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {safe(message)}", highlight=False)
    raise typer.Exit(code)


def proposals(
    status: Annotated[str | None, typer.Option(
        help="Only this status: pending (awaits approval) | approved | rejected | published "
             "| failed_gate (held back by a gate) (also autonomous, shadow, publishing, "
             "waiting_for_adapter, refused, failed, in_doubt, expired: docs/approvals.md).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option(help="Rows to show in the table (0: all).")] = 100,
) -> None:
    """List the agents' action proposals with their status and failing gates."""
    from aios_assets.publishing.status import STATUSES

    activate_home()
    if status is not None and status not in STATUSES:
        _fail(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    try:
        rows = load_overview()
    except OverviewUnavailable as exc:
        _fail(str(exc))
    all_rows = rows
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str) + "\n")
        return
    # Short ids (unique prefixes among all proposals, as `aios approve` accepts them); the
    # text wraps, so the table fits an 80-column terminal.
    short = short_ids(r["proposal_id"] for r in all_rows)
    table = fit_table(id_column(), Column("status", no_wrap=True), "agent: action",
                      "what / why not")
    shown = rows if limit == 0 else rows[:limit]
    for r in shown:
        note = "; ".join(f"{g['gate']}: {g['reason']}" for g in r["failed_gates"])
        note = note or r.get("status_reason") or r["decision_reason"] or ""
        table.add_row(safe(short[r["proposal_id"]]), safe(r["status"]),
                      safe(f"{r['agent']}: {r['action_type']}"),
                      _what(r["summary"], note))
    out.print(table)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    console.print(", ".join(f"{n} {safe(s)}" for s, n in sorted(counts.items()))
                  or "no proposals")
    if status is None and rows:
        from aios_assets.publishing.status import status_counts, summary_line

        console.print(safe(summary_line(status_counts(rows))), highlight=False, soft_wrap=False)


class OverviewUnavailable(Exception):
    """The proposals cannot be listed (no warehouse, no Postgres, a broken policy file)."""


def load_overview() -> list[dict[str, Any]]:
    """Every proposal with its status (``proposals_overview``), as ``aios proposals`` lists
    them; :class:`OverviewUnavailable` says why not."""
    from aios_assets.agents.intents import IntentsFileError
    from aios_assets.publishing.data import load_intent_rules
    from aios_assets.publishing.decisions import all_decisions, latest_decisions
    from aios_assets.publishing.outbox import Outbox
    from aios_assets.publishing.policy import PolicyError, load_policy
    from aios_assets.publishing.publish import proposals_overview
    from aios_assets.shared.postgres import Postgres, PostgresUnavailable
    from aios_assets.shared.warehouse import Warehouse, WarehouseBusy, WarehouseMissing

    home = activate_home(dagster=False)
    try:
        policy = load_policy(home)
        intents = load_intent_rules(home)
        store = Postgres()
        decisions = latest_decisions(all_decisions(store))
        con = Warehouse().read()
    except (PolicyError, IntentsFileError, PostgresUnavailable, WarehouseMissing,
            WarehouseBusy) as exc:
        raise OverviewUnavailable(str(exc)) from None
    try:
        return proposals_overview(con, policy, decisions=decisions, outbox=Outbox(store),
                                  intents=intents)
    finally:
        con.close()


def _what(summary: Any, note: str) -> Text:
    """What a proposal does, with why it stands where it does dimmed below (data: no markup,
    controls visible)."""
    text = Text(visible(_cut(" ".join(str(summary or "").split()), 100)))
    if note:
        text.append("\n" + visible(_cut(" ".join(note.split()), 160)), style="dim")
    return text


def _cut(text: Any, n: int) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= n else s[: n - 3] + "..."


def _decide(ids: list[str], decision: str, reason: str | None) -> None:
    from aios_assets.publishing.approvals import decide
    from aios_assets.publishing.decisions import DecisionError
    from resources.postgres import PostgresStore, PostgresUnavailable
    from resources.warehouse import DuckDBWarehouse

    activate_home()
    try:
        report = decide(ids, decision, reason, via="cli", warehouse=DuckDBWarehouse(),
                        store=PostgresStore())
    except (DecisionError, PostgresUnavailable) as exc:
        _fail(str(exc))
    for w in report.warnings:
        console.print(f"[yellow]warning:[/] {safe(w)}", highlight=False)
    if report.note:
        console.print(f"[yellow]note:[/] {safe(report.note)}", highlight=False)
    for d in report.decisions:
        out.print(f"{safe(d.decision)} {safe(d.proposal_id)}", highlight=False)
    if decision == "approved":
        console.print("approvals_sensor publishes them (or run `aios publish` now)")


def approve(ids: Annotated[list[str], typer.Argument(help="Proposal ids (or unique prefixes).")],
            reason: Annotated[str | None, typer.Option(help="Why (optional).")] = None) -> None:
    """Approve proposals: they publish once every gate passes."""
    _decide(ids, "approved", reason)


def reject(ids: Annotated[list[str], typer.Argument(help="Proposal ids (or unique prefixes).")],
           reason: Annotated[str, typer.Option(help="Why (the planner learns from it).")]) -> None:
    """Reject proposals (recorded as a policy trace with the reason)."""
    _decide(ids, "rejected", reason)


def publish(resolve_job: JobResolver, *, as_json: bool = False) -> None:
    """Gate and publish now: run ``publish_job`` (from ``resolve_job``) in-process, so the UI
    shows the run, and report what it gated, enqueued and delivered."""
    from aios_assets.runs import run_job

    activate_home()
    result = run_job(
        resolve_job("publish_job"),
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        notify=lambda line: None if progress_off() else console.print(line, highlight=False))
    summary: dict[str, Any] = {"run_id": result.run_id, "success": result.success}
    checks: list[dict[str, Any]] = []
    for e in result.all_events:
        if e.event_type_value == "ASSET_MATERIALIZATION":
            mat = e.event_specific_data.materialization  # type: ignore[union-attr]
            meta = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
            summary[mat.asset_key.to_user_string()] = {
                k: meta[k] for k in ("open_proposals", "passing_proposals", "failing_proposals",
                                     "expired_now", "enqueued", "delivered", "outbox_results",
                                     "reconciled", "reconciled_results",
                                     "shadow_would_send", "waiting_for_approval",
                                     "waiting_for_adapter", "waiting_for_adapter_reasons",
                                     "held_back_by_gates") if k in meta}
        elif e.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = e.event_specific_data  # type: ignore[assignment]
            if not ev.passed:
                reason = ev.metadata.get("blocking_reason")
                checks.append({"check": ev.check_name, "severity": ev.severity.value,
                               **({"reason": reason.value} if reason is not None else {})})
    summary["failed_checks"] = checks
    errors = [" ".join(_root_message(e.event_specific_data.error).split())  # type: ignore
              for e in result.all_events
              if e.is_step_failure and e.event_specific_data is not None][:3]
    summary["errors"] = errors
    blocking = [c for c in checks if c["severity"] == "ERROR"]
    if blocking:
        # ERROR checks stop published_actions for the whole batch: say why, on one line.
        summary["blocked"] = (
            "publishing blocked, nothing was enqueued or sent: "
            + "; ".join(f"{c['check']}: {c.get('reason', 'failed')}" for c in blocking)
            + f" (run {result.run_id[:8]}: see the checks on proposal_gate_results)")
    if as_json:
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
    else:
        gates = summary.get("proposal_gate_results", {})
        pub = summary.get("published_actions", {})
        console.print(
            f"gated {gates.get('open_proposals', 0)} open proposal(s): "
            f"{gates.get('passing_proposals', 0)} pass, {gates.get('failing_proposals', 0)} "
            f"held back; enqueued {pub.get('enqueued', 0)}, delivered "
            f"{pub.get('delivered', 0)}, shadow {pub.get('shadow_would_send', 0)}, waiting for "
            f"approval {pub.get('waiting_for_approval', 0)}"
            + (f", reconciled {pub['reconciled']}" if pub.get("reconciled") else "")
            + f"; run {result.run_id[:8]}")
        for why in pub.get("waiting_for_adapter_reasons") or []:
            console.print(f"  waiting for an adapter: {safe(why)}", highlight=False)
        for c in checks:
            console.print(f"  check {safe(c['check'])} failed ({safe(c['severity'])})",
                          highlight=False)
    if summary.get("blocked"):
        _fail(summary["blocked"])
    if not result.success:
        _fail(f"publish_job failed: {'; '.join(errors) or 'see the run in the UI'}")


def _root_message(error: Any) -> str:
    """The innermost cause of a step error (Dagster wraps the user's exception)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(getattr(error, "message", error)).strip()


def register(app: typer.Typer, resolve_job: JobResolver) -> None:
    """Add the commands to the ``aios`` app; ``resolve_job(name)`` returns a job of the one
    Definitions (``aios publish`` runs ``publish_job``)."""
    app.command("proposals")(proposals)
    app.command("approve")(approve)
    app.command("reject")(reject)

    @app.command("publish")
    def publish_command(
            as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Gate and publish now (runs publish_job in-process; the UI shows the run)."""
        publish(resolve_job, as_json=as_json)
