"""The ``aios`` command line: demo, ingest, sql, recall, pg, ui."""

from __future__ import annotations

import contextlib
import csv
import faulthandler
import io
import json
import os
import sys
import time
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from aios_assets.agents.cli import intent_app
from aios_assets.shared.home import AiosHome, activate_home
from aios_assets.shared.jsonable import jsonable
from aios_assets.termtext import fit_table, make_console, progress_off, safe, visible

if TYPE_CHECKING:
    import dagster as dg

    from aios_assets.ingest.loader import FileReport

app = typer.Typer(
    help="AIOS: an AI operating system for a one-person company (built on Dagster).",
    no_args_is_help=True,
    add_completion=False,
)
pg_app = typer.Typer(help="The embedded Postgres server (or AIOS_POSTGRES_URL).")
app.add_typer(pg_app, name="pg")
app.add_typer(intent_app, name="intent")

console = make_console(stderr=True)
out = make_console()


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {safe(message)}", highlight=False)
    raise typer.Exit(code)


def _stage(started: float, text: str) -> None:
    """One progress line on stderr, terminal or not: "[  12.3s] loading the definitions"."""
    _progress_line(f"[{time.monotonic() - started:6.1f}s] {safe(text)}")


def _progress_line(line: str) -> None:
    if not progress_off():
        console.print(line, highlight=False)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=progress_off() or (not console.is_terminal
                                    and os.environ.get("AIOS_PROGRESS") != "1"),
    )


# --- demo ------------------------------------------------------------------------------------


@app.command("demo-data")
def demo_data(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path(
        "demo-business"
    ),
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 7,
    days: Annotated[int, typer.Option(help="Days of business history.")] = 90,
    scale: Annotated[float, typer.Option(help="1.0 ≈ 5k events; 200 ≈ 1M events.")] = 1.0,
) -> None:
    """Generate a believable one-person business (all input formats + ground truth)."""
    summary = _generate(out_dir, seed=seed, days=days, scale=scale)
    console.print(
        f"wrote {summary.events:,} events for {summary.people} people and "
        f"{summary.organizations} organizations to {safe(summary.out_dir)} "
        f"(ground truth: {summary.ground_truth})"
    )


def _generate(out_dir: Path, *, seed: int, days: int, scale: float,
              started: float | None = None):
    from aios_assets.demo import generate

    started = time.monotonic() if started is None else started
    with _progress() as progress:
        tasks: dict[str, Any] = {}
        done_stages: set[str] = set()

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(f"generating {stage}", total=total or None)
            progress.update(tasks[stage], completed=done, total=total or None)
            if not console.is_terminal and total and done >= total and stage not in done_stages:
                done_stages.add(stage)  # the bar is off without a terminal: one line instead
                _stage(started, f"generated {stage}: {total:,}")

        try:
            return generate(out_dir, seed=seed, days=days, scale=scale, progress=on_progress)
        except ValueError as exc:
            _fail(str(exc))


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Random seed for the demo business.")] = 7,
    days: Annotated[int, typer.Option(help="Days of business history.")] = 90,
    scale: Annotated[float, typer.Option(help="1.0 ≈ 5k events.")] = 1.0,
) -> None:
    """Generate the demo business into AIOS_HOME and run the whole pipeline on it."""
    home = activate_home()
    started = time.monotonic()
    console.print(f"AIOS_HOME = {safe(home.root)}")
    demo_dir = home.root / "demo"
    console.print(f"[1/2] generating the demo business (seed {seed}, {days} days, scale {scale})")
    summary = _generate(demo_dir, seed=seed, days=days, scale=scale, started=started)
    console.print(f"      {summary.events:,} events in {len(summary.files)} files → "
                  f"{safe(demo_dir)}")
    from aios_assets.demo import SOURCE_FOLDERS
    from aios_assets.publishing.policy import write_demo_policy

    if write_demo_policy(home):
        console.print(f"      wrote the demo operator's policy → "
                      f"{safe(home.root / 'policy.yaml')}")
    console.print("[2/2] ingesting and updating memory and entities")
    paths = [demo_dir / s for s in SOURCE_FOLDERS if (demo_dir / s).exists()]
    _run_ingest(paths, source=None, mapping=None, materialize=True, as_json=False,
                started=started)
    _print_summary(home, started, expected_events=summary.events)


def _print_summary(home: AiosHome, started: float | None,
                   expected_events: int | None = None) -> None:
    from aios_assets.shared.warehouse import Warehouse, WarehouseBusy, WarehouseMissing

    try:
        con = Warehouse().read()
    except (WarehouseMissing, WarehouseBusy) as exc:
        _fail(str(exc))
    with con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                  .fetchall()}

        def scalar(sql: str, table: str, default: Any = 0) -> Any:
            return con.execute(sql).fetchone()[0] if table in tables else default

        events = scalar("SELECT count(*) FROM event_log", "event_log")
        quarantined = scalar("SELECT count(*) FROM quarantine", "quarantine")
        entities = scalar(
            "SELECT count(DISTINCT entity_id) FROM entity_membership", "entity_membership", None
        )
        from aios_assets.observability.cost_views import llm_spend_usd
        from aios_assets.publishing.data import proposals_summary

        cost = llm_spend_usd(con)
        agents = proposals_summary(con)
    # values fold (a long home path breaks across lines) rather than being cut with "…"
    table = Table(Column(), Column(overflow="fold"), title="AIOS", show_header=False)
    table.add_row("events ingested", f"{events:,}")
    table.add_row("quarantined", f"{quarantined:,}")
    table.add_row("entities", "not built" if entities is None else f"{entities:,}")
    if agents is None:
        table.add_row("proposals", "none (no agents yet)")
    else:
        table.add_row("proposals by agent", ", ".join(
            f"{safe(a)} {n}" for a, n in agents["by_agent"].items()) + f" (+{agents['not_live']} "
            "canary/shadow)")
        for label, value in _proposal_rows():
            table.add_row(label, value)
    table.add_row("LLM cost", f"${float(cost):.4f}")
    if started is not None:
        table.add_row("wall time", f"{time.monotonic() - started:.1f}s")
    table.add_row("warehouse", safe(home.warehouse))
    out.print(table)
    if expected_events is not None and events < expected_events:
        _fail(f"only {events} of the {expected_events} generated events reached the event log")


def _proposal_rows() -> list[tuple[str, str]]:
    """The summary's proposal lines, in the status words of `aios proposals`: awaiting
    approval, held back by gates (per gate), autonomous, and the rest."""
    from aios_assets.publishing.cli import OverviewUnavailable, load_overview
    from aios_assets.publishing.status import status_counts

    try:
        c = status_counts(load_overview())
    except OverviewUnavailable as exc:
        return [("proposals", f"statuses unknown: {safe(exc)}")]
    gates = ", ".join(f"{safe(g)} {n}" for g, n in c["held_back_per_gate"].items())
    rest = ", ".join(f"{n} {s}" for s, n in c["by_status"].items()
                     if s not in ("pending", "failed_gate", "autonomous"))
    return [("proposals waiting for approval",
             f"{c['awaiting_approval']:,} (pending: `aios approve ID`)"),
            ("held back by gates", f"{c['held_back_by_gates']:,} (failed_gate"
             + (f": {gates}" if gates else "") + ")"),
            ("autonomous", f"{c['autonomous']:,} (sent without approval, gates passed)"),
            *([("other proposals", rest)] if rest else []),
            ("details", "`aios proposals`")]


def _print_proposals_line() -> None:
    """After a run that updated the agents: one line on where their proposals stand."""
    from aios_assets.publishing.cli import OverviewUnavailable, load_overview
    from aios_assets.publishing.status import status_counts, summary_line

    try:
        rows = load_overview()
    except OverviewUnavailable:
        return  # the run's own report said what failed
    console.print(f"proposals: {safe(summary_line(status_counts(rows)))}; see `aios proposals`",
                  highlight=False, soft_wrap=False)  # wrapped at the terminal's width


def _step_errors(result: Any, limit: int = 3) -> list[str]:
    """The first failed steps' messages of a Dagster run result."""
    return [str(e.event_specific_data.error.message).strip()  # type: ignore[union-attr]
            for e in result.all_events
            if e.is_step_failure and e.event_specific_data is not None][:limit]


def _print_summaries_backlog() -> None:
    """After a pipeline run with an LLM endpoint: the older summaries it left for later."""
    import dagster as dg

    from aios_assets.memory.summaries import latest_backlog

    backlog, _run = latest_backlog(dg.DagsterInstance.get())
    if backlog:
        console.print(f"summaries: {backlog:,} older summaries left for the LLM: `aios ui` "
                      "writes them in the background (summaries_backfill_sensor), "
                      "`aios summaries-fill` now", highlight=False, soft_wrap=False)


@app.command("summaries-fill")
def summaries_fill() -> None:
    """Write now the older summaries a pipeline run left for later (with an LLM endpoint it
    writes the current week's first); `aios ui` does this in the background."""
    from aios_assets.memory.summaries import BACKLOG_KEY
    from aios_assets.runs import run_job

    activate_home()
    result = run_job(
        _job_def("summaries_backfill_job"),
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        notify=_progress_line)
    if not result.success:
        why = safe("; ".join(_step_errors(result))) or "see the run in the UI"
        _fail(f"summaries_backfill_job failed: {why} (run {result.run_id[:8]})")
    mats = result.asset_materializations_for_node("summaries")
    meta = {k: getattr(v, "value", v) for k, v in mats[-1].metadata.items()} if mats else {}
    console.print(f"summaries: {meta.get('recomputed', 0):,} written, "
                  f"{meta.get('removed', 0):,} removed, {meta.get(BACKLOG_KEY, 0):,} left; "
                  f"run {result.run_id[:8]}", highlight=False)


@app.command()
def summary() -> None:
    """What this home holds: events, entities, proposals by status, LLM cost."""
    _print_summary(activate_home(dagster=False), None)


# --- ingest ----------------------------------------------------------------------------------

# `aios ingest` exit codes (README, "Ingesting data"): 0 every file was read (quarantined
# records inside a file do not count), 1 the Dagster run failed (or another error, such as a
# missing path), 2 a usage error (typer), 3 the run succeeded but a file was wholly rejected.
EXIT_RUN_FAILED = 1
EXIT_FILE_REJECTED = 3


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    source: Annotated[str | None, typer.Option(help="Source name for CSV/MD/ICS/email.")] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="CSV mapping file (see docs/formats.md).")
    ] = None,
    materialize: Annotated[
        bool, typer.Option(help="Also update the memory and entity assets downstream.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Ingest files into the event log (bad records go to quarantine, never lost)."""
    activate_home()
    for p in paths:
        if not p.exists():
            _fail(f"no such file or folder: {p}")
    if mapping is not None and not mapping.is_file():
        _fail(f"no such mapping file: {mapping}")
    files = _run_ingest(paths, source=source, mapping=mapping, materialize=materialize,
                        as_json=as_json)
    if materialize and not as_json:
        _print_proposals_line()
        _print_summaries_backlog()
    rejected = [f for f in files if f.fully_rejected]
    if rejected:
        # the run went through, but nothing of these files reached the event log
        raise typer.Exit(EXIT_FILE_REJECTED)


def _run_ingest(
    paths: list[Path], *, source: str | None, mapping: Path | None, materialize: bool,
    as_json: bool, started: float | None = None,
) -> list[FileReport]:
    """Run the ingest job in-process (recorded in DAGSTER_HOME, so the UI shows it); exits
    with EXIT_RUN_FAILED when the run fails, else returns what each file contributed. Stage
    lines go to stderr, timed from ``started`` (a ``time.monotonic()``; default: now)."""
    from aios_assets.entities.dbt_manifest import ensure_dbt_manifest, manifest_is_stale
    from aios_assets.runs import run_job

    started = time.monotonic() if started is None else started
    if materialize and manifest_is_stale():
        _stage(started, "dbt parse: the manifest is stale, parsing the dbt project")
        ensure_dbt_manifest()  # the definitions read dbt's manifest; parse only when stale
    _stage(started, "loading the definitions")
    from aios_assets.ingest.loader import IngestObserver

    job = "ingest_and_update_job" if materialize else "ingest_job"
    if materialize:
        from aios_assets.definitions import defs
    else:  # the ingest domain alone: no dbt, agents or memory to import for a job without them
        from aios_assets.ingest.definitions import ingest_job_definitions

        defs = ingest_job_definitions()
    config: dict[str, Any] = {"paths": [str(p.resolve()) for p in paths], "archive_inbox": False}
    if source:
        config["source"] = source
    if mapping:
        config["mapping"] = str(mapping.resolve())

    from aios_assets.shared.postgres import embedded_running

    # Checked again if the run fails (its assets start the server when they need it).
    pg_was_running = embedded_running(AiosHome.from_env())
    _stage(started, f"running {job} ({len(paths)} path(s))")
    with _progress() as progress:
        task = progress.add_task("ingesting", total=None)

        class Observer(IngestObserver):
            def progress(self, file: str, records: int) -> None:
                progress.update(task, description=f"ingesting {safe(Path(file).name)}",
                                completed=records)

            def on_file(self, report: FileReport) -> None:
                super().on_file(report)
                progress.update(task, description=f"ingested {len(self.files)} file(s)")
                if not console.is_terminal and len(self.files) % 25 == 0:
                    console.print(f"      … {len(self.files)} files ingested")

        observer = Observer()
        # dagster-dbt echoes dbt's log lines to stdout; in-process that would corrupt `--json`
        # and bury the summary, so they go to a log file (the UI keeps them with the run too).
        tool_log = AiosHome.from_env().ensure().logs / "ingest.log"
        with tool_log.open("a", encoding="utf-8") as log_file, \
                contextlib.redirect_stdout(log_file):
            log_file.write(f"--- aios {job} {datetime.now(UTC).isoformat()}\n")
            result = run_job(
                defs.resolve_job_def(job),
                run_config={
                    "ops": {"ingest_files": {"config": config}},
                    # The CLI reports for itself; Dagster's step log stays in the run (UI).
                    "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
                },
                resources={"ingest_observer": observer},
                notify=_progress_line,
                started=started,
            )
    files = observer.files
    for f in files:
        if f.skipped:
            console.print(f"[yellow]skipped[/] {safe(f.file)}: {safe(f.skipped)}",
                          highlight=False)
        elif f.fully_rejected:
            console.print(f"[red]rejected[/] {safe(f.file)}: {safe(f.reasons[0])}",
                          highlight=False)
        elif f.rejected:
            console.print(
                f"[yellow]partly rejected[/] {safe(f.file)}: {f.rejected} record(s), "
                f"e.g. {safe(f.reasons[0])}",
                highlight=False,
            )
    read = sum(f.events_read for f in files)
    new = sum(f.events_new for f in files)
    rejected = sum(f.rejected for f in files)
    issues = sum(f.field_issues for f in files)
    if as_json:
        out.print_json(json.dumps({
            "run_id": result.run_id, "success": result.success, "events_read": read,
            "events_new": new, "rejected": rejected, "field_issues": issues,
            "files": [{**f.__dict__, "fully_rejected": f.fully_rejected} for f in files],
        }))
    else:
        console.print(
            f"{new:,} new events ({read:,} read), {rejected:,} rejected, "
            f"{issues:,} field issue(s), {len(files)} file(s); run {result.run_id[:8]}"
        )
    if not result.success:
        failed = _step_errors(result)
        if (gone := _postgres_gone(pg_was_running, failed)) is not None:
            _fail(f"{job} failed: {gone}; run `aios pg status` (`aios pg start` restarts it), "
                  f"then re-run `aios ingest` (run {result.run_id[:8]}, tool output: {tool_log})",
                  EXIT_RUN_FAILED)
        _fail(f"{job} failed: {safe('; '.join(failed)) or 'see the run in the UI'} "
              f"(tool output: {tool_log})", EXIT_RUN_FAILED)
    return files


def _postgres_gone(was_running: bool, errors: list[str]) -> str | None:
    """What happened to Postgres during a failed run, if that is why it failed."""
    from aios_assets.shared.postgres import URL_ENV, embedded_running, went_away

    words = ("psycopg", "postgres", "connection", "server closed", "terminating", "connect")
    said = any(w in e.lower() for e in errors for w in words)
    if url := os.environ.get(URL_ENV):
        return f"the Postgres server at {_mask(url)} went away during the run" if said else None
    home = AiosHome.from_env()
    if not (home.pg / "PG_VERSION").exists() or not (was_running or said):
        return None
    if not embedded_running(home):
        return f"the embedded Postgres at {home.pg} stopped during the run"
    # A later step of the run may have started it again on demand (the run still failed).
    if went_away(home):
        return f"the embedded Postgres at {home.pg} stopped during the run (restarted since)"
    return None


# --- sql -------------------------------------------------------------------------------------


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run; '-' reads it from stdin.")],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
    limit: Annotated[int, typer.Option(help="Rows to show in table format (0: all).")] = 200,
) -> None:
    """Read-only SQL over the warehouse: one query, no file or network access (docs/analysts.md).

    To save a result, redirect it: `aios sql QUERY --format csv > result.csv`.
    """
    import duckdb

    from aios_assets.shared.warehouse import (
        QueryRefused,
        Warehouse,
        WarehouseBusy,
        WarehouseMissing,
    )

    activate_home(dagster=False)
    if query == "-":
        query = sys.stdin.read()
    try:
        columns, rows = Warehouse().query(query)
    except (WarehouseMissing, WarehouseBusy, QueryRefused) as exc:
        _fail(str(exc))
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        if "read-only" in str(exc).lower():
            first = "the warehouse is read-only here: aios sql runs queries, not writes"
        elif isinstance(exc, duckdb.PermissionException):
            first = ("file and network access is off in aios sql: it reads only the warehouse "
                     f"({first})")
        _fail(first)

    def cell(v: Any) -> Any:  # each value as the query returned it (no UTC shift), BLOBs as hex
        return jsonable(v, utc=False, binary="hex")

    if fmt is OutputFormat.json:
        sys.stdout.write(
            json.dumps([{c: cell(v) for c, v in zip(columns, r)} for r in rows],
                       default=str) + "\n"
        )
    elif fmt is OutputFormat.csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        writer.writerows([[cell(v) for v in r] for r in rows])
        sys.stdout.write(buf.getvalue())
    else:
        table = fit_table(*[safe(c) for c in columns])  # values wrap, never cut with "…"
        shown = rows if limit == 0 else rows[:limit]
        for r in shown:
            table.add_row(*[safe(cell(v)) for v in r])
        out.print(table)
        if len(shown) < len(rows):
            console.print(f"({len(rows) - len(shown)} more rows; --limit 0 shows all)")


# --- recall ----------------------------------------------------------------------------------


@app.command()
def recall(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many hits.")] = 10,
    thread: Annotated[str | None, typer.Option(help="Only this thread/conversation.")] = None,
    entity: Annotated[str | None, typer.Option(help="Only events of this entity_id.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date or date-time, inclusive.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO date or date-time, inclusive.")] = None,
    budget: Annotated[int | None, typer.Option(
        help="Context-pack mode: fill this many tokens with cited evidence.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search memory (BM25 + vectors + context); every hit cites its source_id."""
    from aios_assets.memory.index import IndexMissing
    from aios_assets.memory.recall import RecallError, context_pack
    from aios_assets.memory.recall import recall as run_recall

    activate_home(dagster=False)
    filters = {"thread": thread, "entity": entity, "since": since, "until": until}
    try:
        if budget is not None:
            pack = context_pack(query, budget_tokens=budget, k=max(k, 50), **filters)
            hits = pack.hits
        else:
            hits = run_recall(query, k=k, **filters)
    except (IndexMissing, RecallError) as exc:
        _fail(str(exc))
    if as_json:
        payload: Any = [h.to_dict() for h in hits]
        if budget is not None:
            payload = {"tokens": pack.tokens, "budget": budget, "text": pack.text, "hits": payload}
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
        return
    if budget is not None:
        out.print(visible(pack.text, keep_newlines=True), highlight=False, markup=False)
        console.print(f"({len(hits)} pieces of evidence, {pack.tokens}/{budget} tokens)")
        return
    # the text wraps (and so does a long source id: a citation, not a command argument)
    table = fit_table("#", "score", "source_id", "when", "thread", "text")
    for i, h in enumerate(hits, 1):
        text = h.text if len(h.text) <= 160 else h.text[:157] + "..."
        table.add_row(str(i), f"{h.score:.3f}", safe(f"{h.source}:{h.source_id}"),
                      safe(h.occurred_at[:16]), safe(h.thread), safe(text))
    out.print(table)
    if not hits:
        console.print("no matching evidence")


# --- pg --------------------------------------------------------------------------------------


def _mask(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@pg_app.command("start")
def pg_start() -> None:
    """Start the embedded server (no-op if running, or if AIOS_POSTGRES_URL is set)."""
    from aios_assets.shared.postgres import PostgresUnavailable, apply_ddl, resolve_url

    activate_home()
    try:
        url = resolve_url()
        apply_ddl(url, "base", "SELECT 1")
    except PostgresUnavailable as exc:
        _fail(str(exc))
    out.print(safe(_mask(url)), highlight=False)


@pg_app.command("stop")
def pg_stop() -> None:
    """Stop the embedded server of this AIOS_HOME cleanly."""
    from aios_assets.shared.postgres import stop_embedded

    home = activate_home()
    console.print("stopped" if stop_embedded(home) else "not running")


@pg_app.command("status")
def pg_status() -> None:
    """Say whether the embedded server is running, and where."""
    from aios_assets.shared.postgres import URL_ENV, embedded_running

    home = activate_home()
    if os.environ.get(URL_ENV):
        out.print(f"external server: {safe(_mask(os.environ[URL_ENV]))}", highlight=False)
        return
    state = "running" if embedded_running(home) else "stopped"
    out.print(f"embedded server {state} (data: {safe(home.pg)})", highlight=False)


# --- ui --------------------------------------------------------------------------------------


@app.command()
def ui(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default; any other "
                                           "needs AIOS_CONSOLE_PASSWORD for the console).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the Dagster UI.")] = 3000,
    with_console: Annotated[bool, typer.Option(
        "--console/--no-console", help="Also serve the AIOS console.")] = True,
    console_port: Annotated[int, typer.Option(help="Port for the AIOS console.")] = 8765,
) -> None:
    """Start the Dagster UI and daemon (sensors and schedules live) and the AIOS console.

    SIGTERM, SIGINT (Ctrl-C) or SIGHUP stops both and every process under them."""
    from aios_assets.console.security import PASSWORD_ENV, BindRefused, check_bind
    from aios_assets.entities.dbt_manifest import ensure_dbt_manifest
    from aios_assets.ui import Child, console_argv, dagster_argv, supervise

    home = activate_home()
    if with_console:
        try:  # refuse before anything starts, rather than stop the UI a moment later
            check_bind(host, os.environ.get(PASSWORD_ENV) or None)
        except BindRefused as exc:
            _fail(f"{exc} (or pass --no-console)")
    ensure_dbt_manifest()
    children = [Child("Dagster UI", dagster_argv(host, port))]
    console.print(f"Dagster UI    http://{safe(host)}:{port}  "
                  f"(DAGSTER_HOME={safe(home.dagster_home)})", highlight=False)
    if with_console:
        children.append(Child("AIOS console", console_argv(host, console_port)))
        console.print(f"AIOS console  http://{safe(host)}:{console_port}", highlight=False)
    console.print("Stop with Ctrl-C (or SIGTERM): both stop.", highlight=False)
    code = supervise(children, say=lambda m: console.print(safe(m), highlight=False))
    raise typer.Exit(code)


# --- console ---------------------------------------------------------------------------------


@app.command("console")
def console_cmd(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default; any other "
                                           "needs AIOS_CONSOLE_PASSWORD).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the console.")] = 8765,
) -> None:
    """The operator's web console: today, proposals (approve/edit/reject), people, search."""
    from aios_assets.console import serve
    from aios_assets.console.security import BindRefused

    activate_home()
    console.print(f"AIOS console on http://{safe(host)}:{port}", highlight=False)
    try:
        serve(host, port)
    except BindRefused as exc:
        _fail(str(exc))


# --- proposals, approvals, publishing (aios_assets/publishing/cli.py) ------------------------

from aios_assets.publishing.cli import register as register_publishing  # noqa: E402


def _job_def(name: str) -> dg.JobDefinition:
    """A job of the one Definitions, for the commands that run one in-process."""
    from aios_assets.entities.dbt_manifest import ensure_dbt_manifest

    ensure_dbt_manifest()  # the definitions read dbt's manifest; parse only when stale
    from aios_assets.definitions import defs

    return defs.resolve_job_def(name)


register_publishing(app, resolve_job=_job_def)

from aios_assets.observability.audit_cli import register as register_audit  # noqa: E402

register_audit(app)


def main() -> None:
    # A crash in native code (DuckDB, NumPy, a driver) prints every thread's Python stack. On
    # a copy of stderr: Dagster's compute-log capture repoints fd 2 while a run executes.
    with contextlib.suppress(OSError):  # no stderr (started with 2>&-): nowhere to print
        faulthandler.enable(file=os.fdopen(os.dup(2), "w"), all_threads=True)
    app()


if __name__ == "__main__":
    main()
