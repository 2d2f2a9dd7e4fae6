"""The event log as Dagster assets: ingest files (given paths or the inbox) into DuckDB."""


import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from aios_assets.ingest.loader import (
    FileReport,
    IngestObserver,
    IngestReport,
    ingest_paths,
)
from aios_assets.shared.home import AiosHome
from resources.warehouse import DuckDBWarehouse

GROUP = "ingest"


class IngestConfig(dg.Config):
    """Which files to ingest. No paths: everything waiting in ``$AIOS_HOME/inbox``."""

    paths: list[str] = []
    source: str | None = None
    mapping: str | None = None
    archive_inbox: bool = True  # move ingested inbox files to archive/inbox/


def _archived_as(home: AiosHome, path: Path) -> tuple[str, Path] | None:
    """(archive folder, path relative to its drop folder) for an inbox, IMAP or CalDAV staging
    file."""
    for name, folder in (("inbox", home.inbox), ("imap", home.imap_staging),
                         ("caldav", home.caldav_staging)):
        try:
            return name, path.resolve().relative_to(folder.resolve())
        except ValueError:
            continue
    return None


def archive_inbox_files(home: AiosHome, files: list[Path]) -> list[Path]:
    """Move ingested inbox files to ``archive/inbox/<date>/``, staged IMAP messages to
    ``archive/imap/<date>/`` and staged calendar objects to ``archive/caldav/<date>/`` (never
    deleted)."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    moved: list[Path] = []
    for path in files:
        where = _archived_as(home, path)
        if where is None:
            continue  # not an inbox file: leave it where the user put it
        folder, rel = where
        target = home.archive / folder / day / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target = target.with_name(f"{target.stem}.{datetime.now(UTC):%H%M%S%f}{target.suffix}")
        shutil.move(str(path), target)
        moved.append(target)
    return moved


def report_metadata(report: IngestReport, total_events: int, total_quarantined: int) -> dict:
    bad = [f for f in report.files if f.rejected]
    lines = [f"| {f.file} | {f.events_read} | {f.rejected} | {'; '.join(f.reasons[:2])} |"
             for f in bad[:20]]
    table = "| file | events | rejected | reasons |\n|---|---|---|---|\n" + "\n".join(lines)
    return {
        "batch_id": report.batch_id,
        "files": len(report.files),
        "events_read": report.events_read,
        "events_new": report.events_new,
        "rejected": report.rejected,
        "field_issues": report.field_issues,
        "dagster/row_count": total_events,
        "quarantine_rows": total_quarantined,
        "rejections": dg.MetadataValue.md(table if bad else "no rejected input"),
    }


def _on_file(
    context: dg.AssetExecutionContext, observer: IngestObserver | None, f: FileReport
) -> None:
    msg = f"{f.file}: {f.events_new} new of {f.events_read} events, {f.rejected} rejected"
    if f.skipped:
        context.log.warning(f"{f.file}: skipped, {f.skipped}")
    elif f.rejected:
        context.log.warning(f"{msg}, e.g. {f.reasons[0]}")
    else:
        context.log.info(msg + (" (unchanged)" if f.unchanged else ""))
    if observer:
        observer.on_file(f)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "event_log",
            group_name=GROUP,
            kinds={"duckdb"},
            description=(
                "Every input as an immutable event version: stable event_id, event time and "
                "load time, extracted entity refs. Append-only; re-ingesting adds nothing."
            ),
        ),
        dg.AssetSpec(
            "quarantine",
            group_name=GROUP,
            kinds={"duckdb"},
            description="Rejected input with file, line and reason: never silently dropped.",
        ),
    ],
    pool="warehouse",
    can_subset=False,
)
def ingest_files(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    warehouse: DuckDBWarehouse,
    ingest_observer: dg.ResourceParam[IngestObserver | None],
):
    home = warehouse.layout.ensure()
    paths = [Path(p) for p in config.paths] or [home.inbox]
    context.log.info(f"ingesting {len(paths)} path(s)")
    with warehouse.connect() as con:
        report = ingest_paths(
            con,
            paths,
            source=config.source,
            mapping=Path(config.mapping) if config.mapping else None,
            progress=ingest_observer.progress if ingest_observer else None,
            on_file=lambda f: _on_file(context, ingest_observer, f),
        )
        total_events, ids_digest = con.execute(
            "SELECT count(*), coalesce(sum(hash(event_id)), 0) FROM event_log").fetchone()
        total_quar, quar_digest = con.execute(
            "SELECT count(*), coalesce(sum(hash(quarantine_id)), 0) FROM quarantine").fetchone()
    if config.archive_inbox:
        archive_inbox_files(home, [Path(f.file) for f in report.files if f.skipped is None])
    meta = report_metadata(report, total_events, total_quar)
    # Data versions from content (the log is append-only, event ids unique): an ingest that
    # added nothing keeps the version, so nothing downstream is flagged "Upstream data".
    yield dg.MaterializeResult(asset_key="event_log", metadata=meta,
                               data_version=dg.DataVersion(f"{total_events}-{ids_digest}"))
    yield dg.MaterializeResult(
        asset_key="quarantine", data_version=dg.DataVersion(f"{total_quar}-{quar_digest}"),
        metadata={"dagster/row_count": total_quar, "rejected_this_run": report.rejected},
    )


@dg.asset_check(asset="event_log", blocking=True, description="event_id is unique")
def event_ids_unique(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        dupes = con.execute(
            "SELECT count(*) FROM (SELECT event_id FROM event_log GROUP BY 1 HAVING count(*) > 1)"
        ).fetchone()[0]
    return dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicate_ids": dupes})


@dg.asset_check(
    asset="event_log",
    blocking=True,
    description="versions of each record (source, record_key) run 1..n with no gaps",
)
def event_versions_contiguous(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        bad = con.execute(
            """SELECT count(*) FROM (
                 SELECT source, record_key FROM event_log GROUP BY 1, 2
                 HAVING max(version) <> count(*) OR min(version) <> 1)"""
        ).fetchone()[0]
    return dg.AssetCheckResult(passed=bad == 0, metadata={"records_with_gaps": bad})


ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets("event_log", "quarantine"),
    description="Ingest files (config paths, or the inbox) into the event log.",
)
