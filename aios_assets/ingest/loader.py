"""Load parsed files into the event log, exactly once per record version.

Per file, in ONE transaction: parse in streaming chunks (in a worker thread for big files, so
parsing overlaps DuckDB's inserts) and insert each chunk's events whose ``event_id`` is new
(numbering versions per record), then the quarantine rows and the file's row in
``ingested_files``. A crash mid-file therefore leaves nothing of it
behind, and running the same file again adds nothing.
"""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import threading
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from aios_assets.ingest import parallel
from aios_assets.ingest.events import (
    Event,
    Rejection,
)
from aios_assets.ingest.parsers import detect_format, iter_records
from aios_assets.ingest.staging import event_chunks
from aios_assets.shared.db import transaction

CHUNK_ROWS = 10_000
PREFETCH_MIN_BYTES = 1 << 20  # parse in a worker thread only where the overlap pays

DDL = """
CREATE TABLE IF NOT EXISTS event_log (
    event_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    actor VARCHAR,
    thread VARCHAR,
    subject VARCHAR,
    text VARCHAR NOT NULL,
    payload JSON,
    entity_refs STRUCT(emails VARCHAR[], names VARCHAR[], domains VARCHAR[], phones VARCHAR[]),
    content_hash VARCHAR NOT NULL,
    file VARCHAR,
    line INTEGER,
    batch_id VARCHAR NOT NULL,
    record_key VARCHAR
);
CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    line INTEGER,
    reason VARCHAR NOT NULL,
    raw VARCHAR,
    source VARCHAR,
    format VARCHAR,
    quarantined_at TIMESTAMPTZ NOT NULL,
    batch_id VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS field_issues (
    issue_id VARCHAR NOT NULL,  -- sha256(event_id, field, raw, reason)[:32]
    event_id VARCHAR NOT NULL,  -- the kept event whose field was nulled, fixed or guessed
    source VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    file VARCHAR,
    line INTEGER,
    field VARCHAR NOT NULL,
    raw VARCHAR,
    reason VARCHAR NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    batch_id VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS ingested_files (
    file VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    format VARCHAR,
    events_read BIGINT NOT NULL,
    events_new BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    batch_id VARCHAR NOT NULL,
    options VARCHAR NOT NULL  -- source / mapping that shaped the parse (see _options_key)
);
"""
_CURRENT_VIEW = """
CREATE OR REPLACE VIEW events_current AS
SELECT * FROM event_log
QUALIFY row_number() OVER (PARTITION BY source, record_key ORDER BY version DESC) = 1;
"""

_QUAR_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("line", pa.int32()),
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("source", pa.string()),
        ("format", pa.string()),
    ]
)

IGNORED_SUFFIXES = (".mapping.yaml", ".mapping.yml")


@dataclass
class FileReport:
    """What one file contributed."""

    file: str
    format: str | None
    events_read: int = 0
    events_new: int = 0
    rejected: int = 0
    field_issues: int = 0  # fields of kept records that were nulled, fixed or guessed
    reasons: list[str] = field(default_factory=list)  # first few rejection reasons
    unchanged: bool = False  # the same bytes were ingested before
    skipped: str | None = None  # why the file was not read at all (hidden, FIFO, symlink out)

    @property
    def fully_rejected(self) -> bool:
        return self.events_read == 0 and self.rejected > 0


@dataclass
class IngestReport:
    """What a whole ingest batch did."""

    batch_id: str
    files: list[FileReport] = field(default_factory=list)

    @property
    def events_read(self) -> int:
        return sum(f.events_read for f in self.files)

    @property
    def events_new(self) -> int:
        return sum(f.events_new for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def field_issues(self) -> int:
        return sum(f.field_issues for f in self.files)


ProgressFn = Callable[[str, int], None]  # (file, records parsed so far in it)


class IngestObserver:
    """Watches an ingest as it goes (the CLI draws progress from it); collects file reports."""

    def __init__(self) -> None:
        self.files: list[FileReport] = []

    def progress(self, file: str, records: int) -> None:
        """Called every chunk with the records parsed so far in ``file``."""

    def on_file(self, report: FileReport) -> None:
        self.files.append(report)


# A record is (source, record_key). Chat and transcript turns are scoped by their thread: turn
# ids such as "D3:12" restart in every conversation, and two conversations must not become
# versions of one record.
RECORD_KEY_SQL = (
    "CASE WHEN {t}kind IN ('chat_message', 'transcript_turn') AND {t}thread IS NOT NULL "
    "THEN {t}thread || chr(31) || {t}source_id ELSE {t}source_id END"
)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
    # Warehouses made before record_key existed: add and backfill it (idempotent).
    con.execute("ALTER TABLE event_log ADD COLUMN IF NOT EXISTS record_key VARCHAR")
    con.execute("ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS field_issues BIGINT DEFAULT 0")
    con.execute(f"UPDATE event_log SET record_key = {RECORD_KEY_SQL.format(t='')} "
                "WHERE record_key IS NULL")
    con.execute(_CURRENT_VIEW)


Skipped = tuple[Path, str]  # a file or folder not read, and why


def _not_readable(path: Path, root: Path | None) -> str | None:
    """Why ``path`` is not read (a symlink out of ``root``, not a regular file), else None."""
    if root is not None and path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root):
            return f"symlink to {target}, outside {root}: not followed"
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISREG(mode):
        return None
    kind = ("FIFO" if stat.S_ISFIFO(mode) else "character device" if stat.S_ISCHR(mode)
            else "block device" if stat.S_ISBLK(mode) else "socket" if stat.S_ISSOCK(mode)
            else "folder" if stat.S_ISDIR(mode) else "special file")
    return f"not a regular file ({kind})"


def expand_paths(paths: Iterable[Path], skipped: list[Skipped] | None = None) -> list[Path]:
    """Regular files under the given files/folders, sorted.

    Inside a folder, hidden files and folders (names starting with '.'), symlinks whose target
    is outside the folder, symlinked folders, FIFOs and devices are not read: each is appended
    to ``skipped`` with the reason, so nothing is left out silently. Mapping files are read as
    the sidecars of their CSVs. A file named directly is read when it is a regular file (a
    symlink to one included)."""
    out: list[Path] = []
    note = skipped.append if skipped is not None else (lambda item: None)
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(f"no such file or folder: {path}")
        if path.is_dir():
            root = path.resolve()
            for walked, dirs, files in os.walk(path):
                folder = Path(walked)
                keep = []
                for d in sorted(dirs):
                    if d.startswith("."):
                        note((folder / d, "hidden folder (its name starts with '.')"))
                    elif (folder / d).is_symlink():
                        note((folder / d, "symlinked folder: not followed"))
                    else:
                        keep.append(d)
                dirs[:] = keep
                for name in sorted(files):
                    if name.endswith(IGNORED_SUFFIXES):
                        continue
                    if name.startswith("."):
                        note((folder / name, "hidden file (its name starts with '.')"))
                        continue
                    reason = _not_readable(folder / name, root)
                    if reason:
                        note((folder / name, reason))
                    else:
                        out.append(folder / name)
        else:
            reason = _not_readable(path, None)
            if reason:
                note((path, reason))
            else:
                out.append(path)
    return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _options_key(path: Path, source: str | None, mapping: Path | None) -> str:
    """What besides the bytes decides how a file parses: a change re-parses the file."""
    parts = [source or ""]
    for candidate in (mapping, *(path.with_name(path.stem + s) for s in IGNORED_SUFFIXES)):
        if candidate is not None and candidate.is_file():
            parts.append(file_sha256(candidate))
    return "|".join(parts)


_DONE = object()


def _prefetched(chunks: Iterator, depth: int = 2) -> Iterator:
    """Run ``chunks`` in a worker thread, ``depth`` ahead of the consumer.

    Parsing is Python (it holds the GIL) while DuckDB releases the GIL as it inserts, so the
    insert of one chunk overlaps the parsing of the next. An error on either side stops both:
    the worker's error is raised here, and a consumer that stops makes the worker quit."""
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)
        finally:
            if isinstance(chunks, Generator):
                chunks.close()  # runs its clean-up (parser workers, temporary files) now

    worker = threading.Thread(target=work, name="aios-ingest-parse", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    batch_id: str,
    source: str | None = None,
    mapping: Path | None = None,
    display_name: str | None = None,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
) -> FileReport:
    """Ingest one file atomically; see the module docstring."""
    name = display_name or str(path)
    fmt = detect_format(path)
    report = FileReport(file=name, format=fmt)
    # Checked again here: hashing a FIFO or a device would block or never end.
    report.skipped = _not_readable(path, None)
    if report.skipped:
        return report
    try:
        sha = file_sha256(path)
        size = path.stat().st_size
    except OSError as exc:
        sha, size, options = hashlib.sha256(name.encode()).hexdigest(), 0, ""
        records: Iterable[Event | Rejection] = [
            Rejection(file=name, line=None, reason=f"cannot read file: {exc.strerror or exc}")
        ]
    else:
        options = _options_key(path, source, mapping)
        # The same bytes under another name are read again (another format, or another
        # file the user meant); their records dedupe by event_id anyway.
        seen = con.execute(
            "SELECT 1 FROM ingested_files WHERE file = ? AND file_sha256 = ? AND options = ? "
            "LIMIT 1",
            [name, sha, options],
        ).fetchone()
        if seen:
            report.unchanged = True
            return report
        records = iter_records(path, source=source, mapping=mapping, display_name=name)

    now = now or datetime.now(UTC)
    workers = parallel.ingest_workers()
    if fmt == "jsonl" and size >= parallel.PARALLEL_MIN_BYTES and workers > 1:
        chunks = _prefetched(parallel.jsonl_chunks(path, name, source, size, workers))
    else:
        chunks = event_chunks(iter(records), CHUNK_ROWS)
        if size > PREFETCH_MIN_BYTES:
            chunks = _prefetched(chunks)
    try:
        with transaction(con):
            staged = False
            quar_tables: list[pa.Table] = []
            for table, rejections, n_events in chunks:
                report.events_read += n_events
                report.rejected += len(rejections)
                room = max(0, 5 - len(report.reasons))
                report.reasons.extend(r["reason"] for r in rejections[:room])
                if table is not None:
                    con.register("_chunk", table)
                    # Stage the whole file, then insert once: checking a chunk against the log
                    # reads the whole log, so per-chunk inserts would grow with its size.
                    con.execute("INSERT INTO _stage SELECT * FROM _chunk" if staged
                                else "CREATE TEMP TABLE _stage AS SELECT * FROM _chunk")
                    con.unregister("_chunk")
                    staged = True
                if rejections:
                    quar_tables.append(pa.Table.from_pylist(rejections, schema=_QUAR_SCHEMA))
                if progress:
                    progress(name, report.events_read + report.rejected)

            if staged:
                report.field_issues = _insert_field_issues(con, batch_id=batch_id, now=now)
                report.events_new = _insert_new_events(con, batch_id=batch_id, now=now)
                con.execute("DROP TABLE _stage")
            for quar in quar_tables:
                con.register("_quar", quar)
                con.execute(
                    """
                    INSERT INTO quarantine
                    SELECT q.qid, q.file, q.line, q.reason, q.raw, q.source, q.format, ?, ?
                    FROM (
                        SELECT substr(sha256(concat_ws('|', file, coalesce(line::VARCHAR, ''),
                                                       reason, coalesce(raw, ''))), 1, 32) AS qid, *
                        FROM _quar
                    ) AS q
                    WHERE q.qid NOT IN (SELECT quarantine_id FROM quarantine)
                    QUALIFY row_number() OVER (PARTITION BY q.qid ORDER BY q.line) = 1
                    """,
                    [now, batch_id],
                )
                con.unregister("_quar")
            con.execute(
                "INSERT INTO ingested_files (file, file_sha256, size_bytes, format, events_read, "
                "events_new, rejected, ingested_at, batch_id, options, field_issues) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, sha, size, fmt, report.events_read, report.events_new, report.rejected,
                 now, batch_id, options, report.field_issues],
            )
    finally:
        if isinstance(chunks, Generator):
            chunks.close()  # stops the parse thread when the insert failed
    return report


def _insert_field_issues(con: duckdb.DuckDBPyConnection, *, batch_id: str, now: datetime
                         ) -> int:
    """Record the field issues of the staged events; returns how many the file carried.

    Keyed by event and issue, so re-ingesting the same record adds nothing."""
    count = con.execute("SELECT coalesce(sum(len(issues)), 0) FROM _stage").fetchone()
    if not count or not count[0]:
        return 0
    con.execute(
        """
        INSERT INTO field_issues
        SELECT substr(sha256(concat_ws('|', event_id, i.field, coalesce(i.raw, ''), i.reason)),
                      1, 32) AS issue_id,
               event_id, source, source_id, kind, file, line, i.field, i.raw, i.reason, ?, ?
        FROM (SELECT event_id, source, source_id, kind, file, line, unnest(issues) AS i
              FROM _stage WHERE issues IS NOT NULL)
        WHERE issue_id NOT IN (SELECT issue_id FROM field_issues)
        QUALIFY row_number() OVER (PARTITION BY issue_id ORDER BY line) = 1
        """,
        [now, batch_id],
    )
    return int(count[0])


def _insert_new_events(con: duckdb.DuckDBPyConnection, *, batch_id: str, now: datetime) -> int:
    """Insert staged events not yet in the log; number versions after the existing ones."""
    inserted = con.execute(
        """
        INSERT INTO event_log
        WITH fresh AS (
            SELECT * FROM _stage
            WHERE event_id NOT IN (SELECT event_id FROM event_log)
            QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY seq) = 1
        ),
        keyed AS (SELECT *, {key} AS record_key FROM fresh),
        prior AS (
            SELECT source, record_key, max(version) AS v
            FROM event_log
            WHERE (source, record_key) IN (SELECT (source, record_key) FROM keyed)
            GROUP BY ALL
        )
        SELECT f.event_id, f.source, f.source_id,
               coalesce(p.v, 0)
                 + row_number() OVER (PARTITION BY f.source, f.record_key ORDER BY f.seq),
               f.kind, coalesce(f.occurred_at, ?::TIMESTAMPTZ), ?::TIMESTAMPTZ,
               f.actor, f.thread, f.subject, f.text, f.payload, f.entity_refs,
               f.content_hash, f.file, f.line, ?, f.record_key
        FROM keyed f
        LEFT JOIN prior p USING (source, record_key)
        ORDER BY f.seq
        """.format(key=RECORD_KEY_SQL.format(t="")),
        [now, now, batch_id],
    ).fetchone()
    return int(inserted[0]) if inserted else 0


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path],
    *,
    source: str | None = None,
    mapping: Path | None = None,
    batch_id: str | None = None,
    progress: ProgressFn | None = None,
    on_file: Callable[[FileReport], None] | None = None,
) -> IngestReport:
    """Ingest files and folders into the event log; one transaction per file."""
    ensure_tables(con)
    report = IngestReport(batch_id=batch_id or uuid.uuid4().hex[:16])
    skipped: list[Skipped] = []
    files = expand_paths((Path(p) for p in paths), skipped)
    for path, reason in skipped:
        file_report = FileReport(file=str(path), format=detect_format(path), skipped=reason)
        report.files.append(file_report)
        if on_file:
            on_file(file_report)
    for path in files:
        file_report = ingest_file(
            con, path, batch_id=report.batch_id, source=source, mapping=mapping, progress=progress
        )
        report.files.append(file_report)
        if on_file:
            on_file(file_report)
    return report
