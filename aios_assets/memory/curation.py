"""Weekly curation: verbose events whose summaries passed fidelity move to a Parquet cold tier.

An event is archived when ALL of these hold:

- its kind is verbose (``email``, ``chat_message``, ``transcript_turn``, ``note`` by default);
- it happened (``occurred_at``) more than ``retention_days`` (default 180) before ``as_of``;
- the current version of its record is a source of a **covering summary that passed its
  fidelity check**: its thread-day summary (threaded events) or its daily summary (events
  without a thread). Superseded versions follow their record's current version.

Order of operations (crash safe, idempotent by ``event_id``):

1. Leftovers of a crashed run are removed: ``*.tmp`` files and Parquet parts that no
   ``cold_files`` row (and no ``event_archive`` row) references — their events are still hot,
   so nothing is lost.
2. Per month, the candidates (every column of ``event_log``) are written to
   ``$AIOS_HOME/cold/events/year=YYYY/month=MM/part-<hash>.parquet`` (``hash`` = sha256 of the
   sorted event ids, so a re-run of the same batch writes the same file), via a temp file,
   fsynced and renamed.
3. The file is read back and verified: row count, md5 of the sorted event ids, and md5 over
   every row's (event_id, text, payload). A mismatch deletes the file and stops the run.
4. Only then, in ONE transaction: ``event_archive`` rows (event_id, archived_at, cold_file,
   the covering summary), ``text``/``payload`` of those ``event_log`` rows set to NULL, the
   ``cold_files`` manifest row, and the ``event_log_full`` / ``events_current_full`` views
   recreated to include the new file. A crash before the commit leaves every event hot.

What stays in ``event_log``: the immutable identity (event_id, source, source_id, version, kind,
occurred_at, thread, actor, subject) and the rest of the row (ingested_at, entity_refs,
content_hash, provenance) — so re-ingesting an archived event is still recognised by its
``event_id`` and a corrected record still gets the next version. ``event_log.text`` becomes
nullable (``ALTER TABLE event_log ALTER COLUMN text DROP NOT NULL``). The archive marks live in
``event_archive`` (and also in ``event_log.archived_at`` / ``event_log.cold_file`` when the
loader's DDL has those columns: adding them from here would break the loader's positional
``INSERT INTO event_log SELECT ...``).

``event_log_full`` / ``events_current_full`` are ``event_log`` / ``events_current`` with the
archived text and payload read back from the Parquet files (plus ``archived_at``,
``cold_file``): recall, summaries and analysts read them to reach archived evidence.
"""

import contextlib
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from aios_assets.ingest.events import InvalidTimestamp, parse_timestamp
from aios_assets.shared.db import has_relation, transaction
from aios_assets.shared.text import markdown_table
from resources.warehouse import DuckDBWarehouse

DEFAULT_VERBOSE_KINDS = ("email", "chat_message", "transcript_turn", "note")
DEFAULT_RETENTION_DAYS = 180
COLD_EVENTS_DIR = Path("cold") / "events"
COVERING_LEVELS = ("thread", "daily")
ARCHIVE_MARK_COLUMNS = ("archived_at", "cold_file")
GROUP = "memory"

ARCHIVE_DDL = """
CREATE TABLE IF NOT EXISTS event_archive (
    event_id VARCHAR NOT NULL,
    archived_at TIMESTAMPTZ NOT NULL,
    cold_file VARCHAR NOT NULL,       -- relative to AIOS_HOME
    summary_id VARCHAR,               -- the covering summary that passed fidelity
    text_chars BIGINT,
    payload_chars BIGINT
);
CREATE TABLE IF NOT EXISTS cold_files (
    cold_file VARCHAR NOT NULL,       -- relative to AIOS_HOME
    rows BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    event_ids_md5 VARCHAR NOT NULL,
    content_md5 VARCHAR NOT NULL,
    min_occurred_at TIMESTAMPTZ,
    max_occurred_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
"""


class CurationError(RuntimeError):
    """A cold file did not verify; nothing of its batch was removed from the hot tier."""


# ---------------------------------------------------------------------------------------------
# schema and views
# ---------------------------------------------------------------------------------------------


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = current_schema() ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def event_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns of an event (``event_log`` without the archive marks)."""
    return [c for c in _columns(con, "event_log") if c not in ARCHIVE_MARK_COLUMNS]


def ensure_archive_schema(con: duckdb.DuckDBPyConnection) -> None:
    """``event_archive``, ``cold_files``, and a nullable ``event_log.text`` (idempotent)."""
    con.execute(ARCHIVE_DDL)
    row = con.execute(
        "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'event_log' "
        "AND column_name = 'text' AND table_schema = current_schema()"
    ).fetchone()
    if row and row[0] == "NO":
        con.execute("ALTER TABLE event_log ALTER COLUMN text DROP NOT NULL")


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def cold_view_sql(
    con: duckdb.DuckDBPyConnection, home_root: Path, *, strict: bool = True
) -> list[str]:
    """The statements (re)creating ``event_log_full`` and ``events_current_full``.

    A manifest file missing on disk raises :class:`CurationError` (archived evidence is gone:
    someone must restore it); with ``strict=False`` it is left out of the views instead."""
    has_archive = has_relation(con, "event_archive") and has_relation(con, "cold_files")
    files: list[str] = []
    if has_archive:
        files = [
            str(Path(home_root) / r[0])
            for r in con.execute("SELECT cold_file FROM cold_files ORDER BY cold_file").fetchall()
        ]
        missing = [f for f in files if not Path(f).is_file()]
        if missing and strict:
            raise CurationError(
                f"{len(missing)} cold file(s) of the manifest are missing, e.g. {missing[0]}: "
                "restore them from a backup (their events' text is nowhere else)"
            )
        files = [f for f in files if f not in missing]
    cols = _columns(con, "event_log")
    star = "e.* EXCLUDE (archived_at, cold_file)" if set(ARCHIVE_MARK_COLUMNS) <= set(cols) \
        else "e.*"
    if files:
        cold = (
            'SELECT event_id, "text", payload::JSON AS payload FROM read_parquet(['
            + ", ".join(_q(f) for f in files) + "], hive_partitioning = false)"
        )
    else:
        cold = ('SELECT NULL::VARCHAR AS event_id, NULL::VARCHAR AS "text", '
                "NULL::JSON AS payload WHERE false")
    archive = "event_archive" if has_archive else (
        "(SELECT NULL::VARCHAR AS event_id, NULL::TIMESTAMPTZ AS archived_at, "
        "NULL::VARCHAR AS cold_file WHERE false)"
    )
    return [
        f"""CREATE OR REPLACE VIEW event_log_full AS
        SELECT {star} REPLACE (coalesce(e.text, c.text) AS text,
                               coalesce(e.payload, c.payload) AS payload),
               a.archived_at, a.cold_file
        FROM event_log e
        LEFT JOIN {archive} a ON a.event_id = e.event_id
        LEFT JOIN ({cold}) c ON c.event_id = a.event_id""",
        """CREATE OR REPLACE VIEW events_current_full AS
        SELECT * FROM event_log_full
        QUALIFY row_number() OVER (PARTITION BY source, record_key ORDER BY version DESC) = 1""",
    ]


def database_home(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The folder of the connected database file (AIOS_HOME for the warehouse)."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return Path(row[0]).resolve().parent if row and row[0] else None


def ensure_cold_views(
    con: duckdb.DuckDBPyConnection, home_root: Path | str | None = None, *, strict: bool = True
) -> None:
    """(Re)create ``event_log_full`` / ``events_current_full`` (no-op without an event log).

    ``home_root`` defaults to the folder of the database file, so the loader can call
    ``ensure_cold_views(con, strict=False)`` after its DDL and the views always exist."""
    if not has_relation(con, "event_log"):
        return
    root = Path(home_root) if home_root is not None else database_home(con)
    if root is None:
        root = Path.cwd()  # an in-memory database has no cold files of its own
    for statement in cold_view_sql(con, root, strict=strict):
        con.execute(statement)


# ---------------------------------------------------------------------------------------------
# archiving
# ---------------------------------------------------------------------------------------------


@dataclass
class CurationReport:
    cutoff: datetime
    eligible: int = 0  # verbose, old enough, still hot
    uncovered: int = 0  # of those: no covering summary that passed fidelity -> kept hot
    archived: int = 0
    files: list[str] = field(default_factory=list)
    bytes_written: int = 0
    chars_freed: int = 0
    orphans_removed: int = 0
    dry_run: bool = False


def part_name(event_ids: Sequence[str]) -> str:
    """``part-<sha256 of the sorted ids>[:16].parquet``: a batch always gets the same name."""
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:16]
    return f"part-{digest}.parquet"


def remove_orphans(con: duckdb.DuckDBPyConnection, home_root: Path) -> int:
    """Delete temp files and Parquet parts no manifest row and no archived event reference."""
    base = home_root / COLD_EVENTS_DIR
    if not base.exists():
        return 0
    known = {r[0] for r in con.execute("SELECT cold_file FROM cold_files").fetchall()}
    referenced = {
        r[0] for r in con.execute("SELECT DISTINCT cold_file FROM event_archive").fetchall()
    }
    removed = 0
    for path in sorted(base.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(home_root).as_posix()
        if path.name.endswith(".tmp") or (
            path.suffix == ".parquet" and rel not in known and rel not in referenced
        ):
            path.unlink()
            removed += 1
    return removed


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_CHECKSUMS = """
SELECT count(*),
       md5(coalesce(string_agg(event_id, ',' ORDER BY event_id), '')),
       md5(coalesce(string_agg(md5(concat_ws(chr(31), event_id, "text",
                                             coalesce(payload::VARCHAR, ''))),
                               '' ORDER BY event_id), ''))
FROM {source}
"""


def _select_candidates(
    con: duckdb.DuckDBPyConnection, cutoff: datetime, kinds: Sequence[str], cols: list[str]
) -> None:
    if has_relation(con, "summaries"):
        cover = f"""SELECT eid, min(summary_id) AS summary_id FROM (
                        SELECT unnest(source_event_ids) AS eid, summary_id FROM summaries
                        WHERE fidelity_passed AND level IN {tuple(COVERING_LEVELS)})
                    GROUP BY eid"""
    else:
        cover = "SELECT NULL::VARCHAR AS eid, NULL::VARCHAR AS summary_id WHERE false"
    select = ", ".join(f"e.{c}" for c in cols)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cold_cand AS
        WITH cur AS (SELECT source, record_key, event_id AS cur_id FROM events_current),
        cover AS ({cover})
        SELECT {select}, cover.summary_id AS covering_summary_id,
               year(e.occurred_at) AS _y, month(e.occurred_at) AS _m
        FROM event_log e
        JOIN cur ON cur.source = e.source AND cur.record_key = e.record_key
        LEFT JOIN cover ON cover.eid = cur.cur_id
        WHERE list_contains(?, e.kind) AND e.occurred_at < ? AND e.text IS NOT NULL
          AND e.event_id NOT IN (SELECT event_id FROM event_archive)""",
        [list(kinds), cutoff],
    )


def archive_cold(
    con: duckdb.DuckDBPyConnection,
    home_root: Path | str,
    *,
    as_of: datetime | None = None,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    kinds: Sequence[str] = DEFAULT_VERBOSE_KINDS,
    dry_run: bool = False,
    now: datetime | None = None,
    before_commit: Callable[[str], None] | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> CurationReport:
    """Archive old verbose events covered by passing summaries (see the module docstring).

    ``before_commit(cold_file)`` runs after a file is written and verified, just before its
    events are emptied in the hot tier (tests use it to simulate a crash).
    """
    home_root = Path(home_root)
    now = now or datetime.now(UTC)
    cutoff = (as_of or now) - timedelta(days=retention_days)
    report = CurationReport(cutoff=cutoff, dry_run=dry_run)
    if not has_relation(con, "event_log"):
        return report
    con.execute("SET TimeZone = 'UTC'")
    ensure_archive_schema(con)
    if not dry_run:
        report.orphans_removed = remove_orphans(con, home_root)
    cols = event_columns(con)
    own_marks = set(ARCHIVE_MARK_COLUMNS) <= set(_columns(con, "event_log"))
    _select_candidates(con, cutoff, kinds, cols)
    report.eligible, report.uncovered = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE covering_summary_id IS NULL) FROM _cold_cand"
    ).fetchone()
    con.execute("DELETE FROM _cold_cand WHERE covering_summary_id IS NULL")
    groups = con.execute(
        "SELECT _y, _m, list(event_id ORDER BY event_id) FROM _cold_cand GROUP BY 1, 2 "
        "ORDER BY 1, 2"
    ).fetchall()
    if dry_run:
        report.archived = sum(len(ids) for *_, ids in groups)
        return report

    column_list = ", ".join(cols)
    for year, month, ids in groups:
        rel = (COLD_EVENTS_DIR / f"year={year:04d}" / f"month={month:02d}" / part_name(ids))
        final = home_root / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f"{final.name}.{os.getpid()}.tmp")
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _cold_group AS
            SELECT * FROM _cold_cand WHERE _y = ? AND _m = ?""",
            [year, month],
        )
        expected = con.execute(_CHECKSUMS.format(source="_cold_group")).fetchone()
        con.execute(
            f"COPY (SELECT {column_list} FROM _cold_group ORDER BY occurred_at, event_id) "
            f"TO {_q(str(tmp))} (FORMAT parquet, COMPRESSION zstd)"
        )
        _fsync(tmp)
        os.replace(tmp, final)
        _fsync(final.parent)
        got = con.execute(
            _CHECKSUMS.format(
                source=f"read_parquet({_q(str(final))}, hive_partitioning = false)")
        ).fetchone()
        if tuple(got) != tuple(expected):
            final.unlink(missing_ok=True)
            raise CurationError(
                f"{rel} did not verify (rows/ids/content {got} != {expected}); "
                "its events stay in the hot tier"
            )
        size = final.stat().st_size
        if before_commit is not None:
            before_commit(rel.as_posix())
        _commit_group(con, home_root, rel.as_posix(), size, expected, now, own_marks)
        freed = con.execute(
            "SELECT coalesce(sum(length(\"text\") + coalesce(length(payload::VARCHAR), 0)), 0) "
            "FROM _cold_group"
        ).fetchone()[0]
        report.archived += expected[0]
        report.files.append(rel.as_posix())
        report.bytes_written += size
        report.chars_freed += int(freed)
        log(f"archived {expected[0]} events to {rel} ({size:,} bytes)")
    con.execute("DROP TABLE IF EXISTS _cold_group")
    return report


def _commit_group(
    con: duckdb.DuckDBPyConnection,
    home_root: Path,
    rel: str,
    size: int,
    checksums: tuple[Any, ...],
    now: datetime,
    own_marks: bool,
) -> None:
    """Mark the group archived and empty its hot bodies, atomically (views included)."""
    with transaction(con):
        con.execute(
            """INSERT INTO event_archive
            SELECT event_id, ?, ?, covering_summary_id, length("text"),
                   length(payload::VARCHAR)
            FROM _cold_group""",
            [now, rel],
        )
        marks = ", archived_at = ?, cold_file = ?" if own_marks else ""
        con.execute(
            f"""UPDATE event_log SET "text" = NULL, payload = NULL{marks}
            WHERE event_id IN (SELECT event_id FROM _cold_group)""",
            [now, rel] if own_marks else [],
        )
        con.execute(
            """INSERT INTO cold_files
            SELECT ?, ?, ?, ?, ?, min(occurred_at), max(occurred_at), ? FROM _cold_group""",
            [rel, checksums[0], size, checksums[1], checksums[2], now],
        )
        for statement in cold_view_sql(con, home_root):
            con.execute(statement)


# ---------------------------------------------------------------------------------------------
# Dagster
# ---------------------------------------------------------------------------------------------


class CurationConfig(dg.Config):
    """What is archived: verbose kinds older than the retention window, summaries passing."""

    retention_days: int = DEFAULT_RETENTION_DAYS
    verbose_kinds: list[str] = list(DEFAULT_VERBOSE_KINDS)  # noqa: RUF012 - pydantic copies
    as_of: str | None = None  # ISO date/time the window ends at; default: now
    dry_run: bool = False


def _parse_as_of(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except InvalidTimestamp as exc:
        raise dg.Failure(f"as_of: {exc}") from exc


@dg.asset(
    name="cold_archive",
    group_name=GROUP,
    kinds={"duckdb", "parquet"},
    pool="warehouse",
    deps=[dg.AssetKey("summaries"), dg.AssetKey("event_log")],
    description=(
        "Weekly curation: verbose events older than the retention window whose thread/daily "
        "summaries passed fidelity are written to Parquet under $AIOS_HOME/cold/events, "
        "verified, then emptied in the hot event_log (identity kept). event_log_full reads "
        "them back."
    ),
)
def cold_archive(
    context: dg.AssetExecutionContext, config: CurationConfig, warehouse: DuckDBWarehouse
) -> dg.MaterializeResult:
    home = warehouse.layout.ensure()
    with warehouse.connect() as con:
        report = archive_cold(
            con, home.root, as_of=_parse_as_of(config.as_of),
            retention_days=config.retention_days, kinds=config.verbose_kinds,
            dry_run=config.dry_run, log=context.log.info,
        )
        totals = (0, 0, 0)
        if has_relation(con, "cold_files"):
            totals = con.execute(
                "SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(bytes), 0) "
                "FROM cold_files"
            ).fetchone()
    if report.uncovered:
        context.log.info(
            f"{report.uncovered} old verbose events stay hot: no covering summary passed "
            "fidelity (run the summaries asset, then check summaries_fidelity)"
        )
    return dg.MaterializeResult(
        metadata={
            "events_archived": report.archived,
            "bytes": report.bytes_written,
            "files": len(report.files),
            "chars_freed": report.chars_freed,
            "eligible": report.eligible,
            "kept_hot_uncovered": report.uncovered,
            "orphans_removed": report.orphans_removed,
            "cutoff": report.cutoff.isoformat(),
            "dry_run": report.dry_run,
            "cold_files_total": int(totals[0]),
            "cold_events_total": int(totals[1]),
            "cold_bytes_total": int(totals[2]),
            "new_files": dg.MetadataValue.md(
                markdown_table(["file"], [(f,) for f in report.files], width=100)
                if report.files else "none"
            ),
        }
    )


CURATION_ASSETS = [cold_archive]

__all__ = [
    "CURATION_ASSETS",
    "DEFAULT_RETENTION_DAYS",
    "DEFAULT_VERBOSE_KINDS",
    "CurationConfig",
    "CurationError",
    "CurationReport",
    "archive_cold",
    "cold_archive",
    "cold_view_sql",
    "database_home",
    "ensure_archive_schema",
    "ensure_cold_views",
    "part_name",
    "remove_orphans",
]
