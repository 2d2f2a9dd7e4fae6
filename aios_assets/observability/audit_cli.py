"""``aios audit ID`` / ``aios audit export`` / ``aios cost`` / ``aios replay`` (registered on the
main ``aios`` app by :func:`register`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from aios_assets.shared.home import activate_home
from aios_assets.termtext import make_console, safe

console = make_console(stderr=True)
out = make_console()
# Our own markup inside table cells; every other cell is data and is escaped by _table.
_MISSING = Text.from_markup("[red]missing[/]")
_NO = Text.from_markup("[red]NO[/]")


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {safe(message)}", highlight=False)
    raise typer.Exit(code)


class _DefaultShow(TyperGroup):
    """``aios audit X`` means ``aios audit show X`` unless X is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


audit_app = typer.Typer(cls=_DefaultShow, no_args_is_help=True,
                        help="What the system did about a proposal, entity or run, and why.")


def _sources() -> tuple[Any, str | None, Any]:
    """(read connection, Postgres URL or None, Dagster instance or None)."""
    from aios_assets.shared.postgres import Postgres, PostgresUnavailable
    from aios_assets.shared.warehouse import Warehouse, WarehouseBusy, WarehouseMissing

    activate_home()
    try:
        con = Warehouse().read()
    except (WarehouseMissing, WarehouseBusy) as exc:
        _fail(str(exc))
    try:
        pg_url: str | None = Postgres().resolved_url()
    except PostgresUnavailable as exc:
        console.print(f"[yellow]warning:[/] {safe(exc)}; decisions, deliveries and LLM calls are "
                      "left out", highlight=False)
        pg_url = None
    instance = None
    try:
        import dagster as dg

        instance = dg.DagsterInstance.get()
    except Exception:  # noqa: BLE001 - no instance: audit the warehouse and Postgres only
        instance = None
    return con, pg_url, instance


def _safe_values(d: dict[str, Any]) -> dict[str, Any]:
    """The scalar values of ``d`` escaped for a markup string (None stays None)."""
    return {k: v if v is None or isinstance(v, dict | list | bool) else safe(v)
            for k, v in d.items()}


def _money(x: Any) -> str:
    return f"${float(x or 0):.6f}"


def _cut(text: Any, n: int) -> str:
    s = "" if text is None else " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _table(title: str, cols: list[str], rows: list[list[Any]], empty: str = "none") -> Any:
    if not rows:
        return f"[bold]{title}[/]: {empty}"
    t = Table(*cols, title=title, title_justify="left", expand=False)
    for r in rows:
        t.add_row(*[v if isinstance(v, Text) else safe(v) for v in r])
    return t


def _compensation_lines(comp: dict[str, Any]) -> str:
    """The compensating-action links of a proposal, one line each way (empty when none)."""
    def one(link: dict[str, Any]) -> str:
        return (f"{safe(link['proposal_id'] or '-')} {safe(link['action_type'] or '')} "
                f"(key {safe(link['idempotency_key'])}, {safe(link['status'] or 'not enqueued')})")

    lines = ""
    if comp.get("compensates"):
        lines += f"\n[bold]compensates:[/] {one(comp['compensates'])}"
    for link in comp.get("compensated_by") or []:
        lines += f"\n[bold]compensated by:[/] {one(link)}"
    return lines


def render_proposal(r: dict[str, Any]) -> Group:
    p, m, c = r["proposal"], r["manifest"], r["cost"]
    p, m = _safe_values(p), _safe_values(m)
    head = (f"[bold]{p['proposal_id']}[/] {p['action_type']} by [bold]{p['agent']}[/] "
            f"{m['version']}" + (f" (template {m['template_version']}, {m['channel']})"
                                 if m.get("template_version") else "")
            + f"\ntarget: {p['target_entity_id'] or '-'} {p.get('target_name') or ''}"
            f"   intent: {p['intent_id'] or '-'}   plan: {p['plan_id'] or '-'}"
            f"   run: {p['run_id'] or '-'}   mode: {p['mode']}"
            f"\ncreated {p['created_at']}  expires {p['expires_at']}  confidence "
            f"{p['confidence']}" + ("  [yellow]untrusted input[/]" if r["proposal"][
                "untrusted_input"] else "")
            + f"\n[bold]why:[/] {p['rationale']}"
            + f"\n[bold]what:[/] "
            f"{safe(_cut(json.dumps(r['proposal']['payload'], ensure_ascii=False), 300))}"
            + f"\n[bold]fate:[/] {safe(r['fate'])}"
            + _compensation_lines(r.get("compensation") or {}))
    parts: list[Any] = [Panel(head, title="proposal", expand=False)]
    parts.append(_table("evidence", ["event", "kind", "when", "line"], [
        [e["event_id"][:16], e.get("kind", _MISSING), e.get("occurred_at", ""),
         _cut(e.get("line"), 80)] for e in r["evidence"]]))
    parts.append(_table("LLM calls (its run, its agent)",
                        ["model", "task", "prompt hash", "tokens", "cost", "cache", "outcome"], [
        [x["model"], x["task"], x["prompt_hash"][:12], x["prompt_tokens"] + x["completion_tokens"],
         _money(x["cost_usd"]), "hit" if x["cache_hit"] else "", x["outcome"]]
        for x in r["llm_calls"]]))
    parts.append(_table("gates", ["gate", "passed", "reason", "evaluated"], [
        [g["gate"], "yes" if g["passed"] else _NO, _cut(g["reason"], 70),
         g["evaluated_at"]] for g in r["gates"]], empty="not gated yet"))
    parts.append(_table("decisions", ["decision", "by", "via", "reason", "when"], [
        [d["decision"], d["decided_by"], d["via"], _cut(d["reason"], 60), d["decided_at"]]
        for d in r["decisions"]]))
    parts.append(_table("execution (outbox)", ["status", "attempts", "external id", "delivered",
                                               "error"], [
        [o["status"], o["attempts"], o["external_id"], o["delivered_at"],
         _cut(o["error_class"] or o["last_error"], 50)] for o in r["outbox"]],
        empty="never enqueued"))
    parts.append(_table("adapter calls", ["adapter", "attempt", "outcome", "status", "cost",
                                          "ms"], [
        [a["adapter"], a["attempt"], a["outcome"], a["status_code"], _money(a["cost_usd"]),
         a["latency_ms"]] for a in r["adapter_calls"]]))
    parts.append(f"[bold]cost:[/] {_money(c['total_usd'])} — {safe(c['why'])}")
    return Group(*parts)


def render_entity(r: dict[str, Any]) -> Group:
    c = r["contact"] or {}
    i = r["interactions"]
    head = (f"[bold]{safe(r['entity_id'])}[/] {safe(c.get('full_name'))} "
            f"<{safe(c.get('primary_email') or '-')}>"
            f"\n{len(r['records'])} record(s); {i['count']} interaction(s) "
            f"({safe(i['first'])} → {safe(i['last'])}); proposals: "
            + (", ".join(f"{n} {safe(f)}" for f, n in sorted(r["fates"].items())) or "none")
            + f"\n[bold]cost:[/] {_money(r['cost']['total_usd'])} — {safe(r['cost']['why'])}")
    return Group(
        Panel(head, title="entity", expand=False),
        _table("records", ["source", "source id", "kind", "matched by"], [
            [x.get("source"), x.get("source_id"), x.get("record_kind"), x.get("matched_by")]
            for x in r["records"][:20]]),
        _table("recent interactions", ["when", "type", "role", "subject"], [
            [x["occurred_at"], x["interaction_type"], x["role"], _cut(x["subject"], 60)]
            for x in i["recent"]]),
        _table("proposals", ["id", "agent", "action", "what", "fate", "decision / gates"], [
            [x["proposal_id"][:12], f"{x['agent']} {x['manifest_version']}", x["action_type"],
             _cut(x["summary"], 40), x["fate"],
             _cut(f"{x['decision']} by {x['decided_by']}: {x['decision_reason'] or ''}"
                  if x["decision"] else "; ".join(x["failed_gates"]), 60)]
            for x in r["proposals"]]))


def render_run(r: dict[str, Any]) -> Group:
    d = r["dagster"] or {}
    head = (f"[bold]{safe(r['run_id'])}[/] " + (
                f"job {safe(d.get('job'))} {safe(d.get('status'))} "
                f"{safe(d.get('start'))} → {safe(d.get('end'))}" if d else
                "(not in this Dagster instance)")
            + f"\nassets: {safe(', '.join(d.get('assets_materialized', [])) or '-')}"
            + f"\n[bold]cost:[/] {_money(r['cost']['total_usd'])} (LLM "
            f"{_money(r['cost']['llm_usd'])}, adapters {_money(r['cost']['adapter_usd'])})")
    return Group(
        Panel(head, title="run", expand=False),
        _table("agent runs", ["agent", "mode", "version", "as of", "outcome", "proposals"], [
            [x["agent"], x["mode"], x["manifest_version"], x["as_of"], x["outcome"],
             x["proposals"]] for x in r["agent_runs"]]),
        _table("proposals made", ["id", "agent", "action", "target", "rationale"], [
            [x["proposal_id"][:12], x["agent"], x["action_type"], x["target_entity_id"],
             _cut(x["rationale"], 60)] for x in r["proposals"][:50]]),
        _table("gates evaluated", ["gate", "evaluated", "failed"], [
            [g["gate"], g["evaluated"], g["failed"]] for g in r["gates"]]),
        _table("LLM", ["agent", "model", "calls", "cache hits", "tokens", "cost"], [
            [x["agent"], x["model"], x["calls"], x["cache_hits"], x["tokens"],
             _money(x["cost_usd"])] for x in r["llm"]]),
        _table("deliveries", ["proposal", "action", "status", "attempts"], [
            [x["proposal_id"][:12], x["action_type"], x["status"], x["attempts"]]
            for x in r["outbox"]]),
        _table("adapter calls", ["adapter", "proposal", "attempt", "outcome", "cost"], [
            [x["adapter"], (x["proposal_id"] or "")[:12], x["attempt"], x["outcome"],
             _money(x["cost_usd"])] for x in r["adapter_calls"]]))


@audit_app.command("show")
def show(
    target: Annotated[str, typer.Argument(help="A proposal id (or 6+ character prefix), a "
                                               "Dagster run id (or prefix), an entity id, an "
                                               "e-mail address or a name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    kind: Annotated[str | None, typer.Option(help="Only look for: proposal | run | entity."
                                             )] = None,
) -> None:
    """What the system did here and why, in one screen."""
    from aios_assets.observability.audit import AmbiguousTarget, AuditError, audit

    con, pg_url, instance = _sources()
    try:
        report = audit(con, target, pg_url=pg_url, instance=instance, kind=kind)
    except AmbiguousTarget as exc:
        for s in exc.suggestions[:15]:
            console.print(f"  {s.kind:<8} {safe(s.id)}  {safe(s.label)}", highlight=False)
        _fail(str(exc))
    except AuditError as exc:
        _fail(str(exc))
    finally:
        con.close()
    if as_json:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
        return
    render = {"proposal": render_proposal, "entity": render_entity, "run": render_run}
    out.print(render[report["kind"]](report), soft_wrap=False)  # one screen, terminal-wide


def _window(since: str | None, until: str | None) -> tuple[Any, Any]:
    from aios_assets.observability.audit import parse_when

    try:
        lo, hi = parse_when(since), parse_when(until, end=True)
    except ValueError as exc:
        _fail(str(exc))
    if lo and hi and hi < lo:
        _fail(f"--until {until} is before --since {since}")
    return lo, hi


@audit_app.command("export")
def export(
    out_file: Annotated[Path, typer.Option("--out", help="File to write: .jsonl or .parquet.")],
    since: Annotated[str | None, typer.Option(help="From (ISO date/time, UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Until (ISO date/time; a date: its end).")
                     ] = None,
    entity: Annotated[str | None, typer.Option(help="Only the trail about this entity (id, "
                                                    "e-mail or name).")] = None,
) -> None:
    """Write the full audit trail of a period (or an entity) to a file, credentials redacted."""
    from aios_assets.observability.audit import AmbiguousTarget, AuditError, resolve_target
    from aios_assets.observability.audit_export import export_trail

    lo, hi = _window(since, until)
    con, pg_url, _ = _sources()
    try:
        entity_id = None
        if entity:
            try:
                entity_id = resolve_target(con, entity, kind="entity").id
            except AmbiguousTarget as exc:
                for s in exc.suggestions[:15]:
                    console.print(f"  {safe(s.id)}  {safe(s.label)}", highlight=False)
                _fail(str(exc))
            except AuditError as exc:
                _fail(str(exc))
        try:
            counts = export_trail(con, out_file, since=lo, until=hi, entity_id=entity_id,
                                  pg_url=pg_url)
        except ValueError as exc:
            _fail(str(exc))
    finally:
        con.close()
    total = sum(counts.values())
    console.print(f"wrote {total} record(s) to {safe(out_file)}: "
                  + (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"))


def cost(
    by: Annotated[str, typer.Option(help="day | agent | intent | entity | model")] = "day",
    since: Annotated[str | None, typer.Option(help="From (ISO date).")] = None,
    until: Annotated[str | None, typer.Option(help="Until (ISO date).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    refresh: Annotated[bool, typer.Option(help="Mirror new calls from Postgres first "
                                               "(takes the warehouse lock briefly).")] = True,
) -> None:
    """Spend per day, agent, intent, entity or model, with budgets against spend."""
    from aios_assets.agents.intents import IntentsFileError, ensure_default_intents, load_intents
    from aios_assets.observability.cost_views import (
        COST_DIMENSIONS,
        CostViewsMissing,
        budget_status,
        budgets,
        cost_rows,
        intent_spend_per_run,
        refresh_cost_views,
    )
    from aios_assets.shared.postgres import Postgres, PostgresUnavailable
    from aios_assets.shared.warehouse import Warehouse, WarehouseBusy, WarehouseMissing

    if by not in COST_DIMENSIONS:
        _fail(f"--by must be one of {', '.join(COST_DIMENSIONS)}, not {by!r}")
    lo, hi = _window(since, until)
    home = activate_home(dagster=False)
    try:
        intents = load_intents(ensure_default_intents(home))
    except IntentsFileError as exc:
        _fail(str(exc))
    try:
        # the budgets in force where no LLM resource is configured: its defaults, then the
        # environment (the same as the Definitions' resource, which sets none)
        plan = budgets(None, intents)
    except ValueError as exc:
        _fail(str(exc))
    if refresh:
        try:
            pg_url: str | None = Postgres().resolved_url()
        except PostgresUnavailable as exc:
            console.print(f"[yellow]warning:[/] {safe(exc)}; showing the last mirrored calls",
                          highlight=False)
            pg_url = None
        try:
            with Warehouse(lock_timeout_s=20).connect() as con:
                refresh_cost_views(con, pg_url, plan)
        except WarehouseBusy as exc:
            console.print(f"[yellow]warning:[/] {safe(exc)}; showing the last mirrored calls",
                          highlight=False)
    try:
        con = Warehouse().read()
    except (WarehouseMissing, WarehouseBusy) as exc:
        _fail(str(exc))
    try:
        rows = cost_rows(con, by, since=lo, until=hi)
        status = budget_status(con)
        per_run = intent_spend_per_run(con)
    except (CostViewsMissing, ValueError) as exc:
        _fail(str(exc))
    finally:
        con.close()
    for s in status:
        if s["scope"] == "intent":
            s["max_spent_per_run_usd"] = round(per_run.get(s["name"], 0.0), 6)
    if as_json:
        sys.stdout.write(json.dumps({"by": by, "rows": rows, "budgets": status},
                                    default=str) + "\n")
        return
    cols = list(rows[0].keys()) if rows else [by, "cost_usd"]
    t = Table(*cols, title=f"spend by {by}", title_justify="left")
    for r in rows:
        t.add_row(*[safe(r[c]) for c in cols])
    out.print(t if rows else f"no spend recorded{' in that window' if lo or hi else ''}")
    if status:
        b = Table("scope", "name", "period", "budget", "spent", "source",
                  title="budgets (LLM paid calls today, UTC; intents per run)",
                  title_justify="left")
        for s in status:
            spent = (s.get("max_spent_per_run_usd") if s["scope"] == "intent"
                     else s["spent_today_usd"])
            budget = (_money(s["budget_usd"]) if s["budget_usd"] is not None
                      else f"{s['budget_tokens']:,} tokens")
            b.add_row(*[safe(v) for v in (s["scope"], s["name"], s["period"], budget,
                                          _money(spent), s["source"])])
        out.print(b)
    else:
        console.print("no budgets set (LLM resource / $AIOS_LLM_DAILY_BUDGET_USD, "
                      "intents' budget_usd_per_run)")


def _print_replay(s: dict[str, Any], agent: str) -> None:
    s, agent = {**s, **_safe_values({k: s[k] for k in (
        "replay_id", "manifest_version", "template_version", "since", "until", "then", "now")})
    }, safe(agent)
    out.print(f"[bold]replay {s['replay_id']}[/] {agent} {s['manifest_version']} (template "
              f"{s['template_version']}) over {len(s['runs'])} run(s) {s['since']} → "
              f"{s['until']}: then {s['then']}, now {s['now']}: {s['same']} same, "
              f"{len(s['changed'])} changed, {len(s['added'])} added, {len(s['removed'])} "
              f"removed, {s['earlier']} proposed before the window, {s.get('later', 0)} after "
              "it; LLM answers "
              + (", ".join(f"{n} {safe(k)}" for k, n in sorted(s["llm_answers"].items()))
                 or "none"),
              highlight=False)
    rows = ([["changed: " + ", ".join(c["fields"]), c["proposal_id"][:12], c["action_type"],
              c["target_entity_id"], _cut(c["what"], 50)] for c in s["changed"]]
            + [["added", a["proposal_id"][:12], a["action_type"], a["target_entity_id"],
                _cut(a["what"], 50)] for a in s["added"]]
            + [["removed", a["proposal_id"][:12], a["action_type"], a["target_entity_id"],
                _cut(a["what"], 50)] for a in s["removed"]])
    if rows:
        out.print(_table("differences", ["diff", "id", "action", "target", "what"], rows))
    else:
        out.print("no difference: the replay reproduces what happened")


def _save_replays(results: list[Any], lock_timeout_s: float) -> None:
    """Keep the replayed proposals; a busy warehouse is one clear line and exit code 1."""
    from aios_assets.observability.replay import save_replay
    from resources.warehouse import DuckDBWarehouse, WarehouseBusy

    try:
        with DuckDBWarehouse(lock_timeout_s=lock_timeout_s).connect() as wcon:
            for result in results:
                save_replay(wcon, result)
    except WarehouseBusy:
        _fail(f"replay not saved: the warehouse stayed busy for {lock_timeout_s:g} s (a "
              "pipeline run holds its write lock); run it again with --save when it is idle")


def _load_plan(pg_url: str | None, plan_id: str) -> Any:
    from aios_assets.agents.plans import PlanStore
    from aios_assets.shared.postgres import PostgresUnavailable

    if not pg_url:
        _fail("replaying a plan needs Postgres (the plans live in aios.agent_plans)")
    try:
        plan = PlanStore(pg_url).get(plan_id)
    except PostgresUnavailable as exc:
        _fail(str(exc))
    if plan is None:
        _fail(f"no plan {plan_id!r} in aios.agent_plans (`aios sql` cannot see plans; "
              "`aios audit` a proposal to find its plan id)")
    return plan


def replay_cmd(
    agent: Annotated[str | None, typer.Option(help="Agent to replay (triage, followup, "
                                                   "billing, content, brief); with --plan: "
                                                   "only that step.")] = None,
    since: Annotated[str | None, typer.Option(
        help="Window start, included (ISO date/time, UTC): when the agent ran.")] = None,
    until: Annotated[str | None, typer.Option(
        help="Window end, included (a date: its end of day; default: now).")] = None,
    plan: Annotated[str | None, typer.Option(
        "--plan", help="Replay this plan instead: each of its agent steps over the plan's "
                       "window, against what that plan made.")] = None,
    manifest_version: Annotated[str | None, typer.Option(
        help="Replay this manifest version (default: the current one).")] = None,
    save: Annotated[bool, typer.Option(help="Keep the replayed proposals in "
                                            "replay_proposals.")] = False,
    lock_timeout: Annotated[float, typer.Option(
        help="With --save: seconds to wait for a busy warehouse.")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Re-run an agent over a past window (or a plan's steps over its window) in shadow, with
    cached LLM answers, and show what differs from what happened.

    The window is wall-clock time, UTC, both ends included: the agent's runs that started in
    it are replayed (none: one run at the window's end), and the replay is compared with the
    proposals made in it. A proposal the replay makes that the system had already made before
    or after the window is counted as "earlier" or "later", never as "added".
    """
    from datetime import UTC, datetime

    from aios_assets.observability.replay import (
        ReplayError,
        ReplayLLM,
        find_manifest,
        replay,
        replay_plan,
    )
    from resources.llm import LLMResource

    if plan is None and (agent is None or since is None):
        _fail("say what to replay: --agent NAME --since DATE, or --plan PLAN_ID")
    if plan is not None and (since is not None or until is not None):
        _fail("--plan replays the plan's own window: leave out --since / --until")
    if plan is not None and manifest_version is not None and agent is None:
        _fail("--manifest-version with --plan needs --agent (the step to replay)")
    lo, hi = _window(since, until)
    hi = hi or datetime.now(UTC)
    con, pg_url, _ = _sources()
    llm = ReplayLLM.from_resource(LLMResource(), pg_url)
    try:
        if plan is not None:
            stored = _load_plan(pg_url, plan)
            other = find_manifest(agent, manifest_version) if manifest_version else None
            result = replay_plan(con, stored, llm=llm, agents=[agent] if agent else None,
                                 manifest=other)
            results = result.results
        else:
            manifest = find_manifest(agent, manifest_version)
            results = [replay(con, agent, lo, hi, manifest=manifest, llm=llm)]
    except ReplayError as exc:
        _fail(str(exc))
    finally:
        con.close()
    if as_json:
        summary = result.summary() if plan is not None else results[0].summary()
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
    elif plan is not None:
        s = result.summary()
        out.print(f"[bold]plan {safe(s['plan_id'])}[/] ({safe(s['intent_id'])}, "
                  f"{safe(s['status'])}) {safe(s['since'])} → {safe(s['until'])}: "
                  f"{len(s['agents'])} step(s) replayed"
                  + (f", skipped {safe(', '.join(s['skipped']))}" if s["skipped"] else ""),
                  highlight=False)
        for r in results:
            _print_replay(r.summary(), r.agent)
    else:
        _print_replay(results[0].summary(), agent)
    if save:
        _save_replays(results, lock_timeout)


def register(app: typer.Typer) -> None:
    """Add ``audit``, ``cost`` and ``replay`` to the ``aios`` app."""
    app.add_typer(audit_app, name="audit")
    app.command("cost")(cost)
    app.command("replay")(replay_cmd)
