"""Big JSONL files parsed by worker processes give exactly what one process gives."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import duckdb
import pytest

from aios_assets.ingest import parallel
from aios_assets.ingest.loader import ingest_paths

COMPARED = ("event_id, source, source_id, version, kind, occurred_at, actor, thread, subject, "
            "text, payload, entity_refs, content_hash, file, line, record_key")


def _tricky_file(path: Path) -> Path:
    """Good records, versions of one record spread over the file, duplicates, blank, CRLF and
    bad lines, records with a bad time (kept, a field issue), a BOM at the start and no newline
    at the end."""
    lines: list[bytes] = []
    for i in range(300):
        rec = {"source": "chat", "source_id": f"m{i % 70}", "kind": "chat_message",
               "occurred_at": f"2026-03-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
               "actor": f"Person {i % 9} <p{i % 9}@c.example>", "thread": f"t{i % 5}",
               "text": f"v{i // 70} call +44 20 7946 {i:04d} about INV-{i}"}
        lines.append(json.dumps(rec).encode())
        if i % 37 == 0:
            lines.append(b"{not json")
        if i % 41 == 0:
            lines.append(b"")
        if i % 53 == 0:
            lines.append(json.dumps(rec).encode())  # an exact duplicate
        if i % 59 == 0:
            lines.append(b'["an array"]')
        if i % 61 == 0:
            lines.append(json.dumps({**rec, "occurred_at": "yesterday"}).encode())
    body = b"\xef\xbb\xbf" + b"\n".join(line + (b"\r" if n % 7 == 0 else b"")
                                        for n, line in enumerate(lines))
    path.write_bytes(body)  # no final newline
    return path


def _load(db: Path, path: Path) -> dict:
    con = duckdb.connect(str(db))
    try:
        report = ingest_paths(con, [path])
        return {
            "new": report.events_new, "read": report.events_read, "rejected": report.rejected,
            # an event kept without a readable time has the load time: not comparable
            "events": con.execute(
                f"select * replace (case when event_id in (select event_id from field_issues "
                f"where field = 'occurred_at') then null else occurred_at end as occurred_at) "
                f"from (select {COMPARED} from event_log) order by event_id").fetchall(),
            "field_issues": con.execute(
                "select issue_id, event_id, file, line, field, raw, reason from field_issues "
                "order by issue_id").fetchall(),
            "quarantine": con.execute(
                "select quarantine_id, file, line, reason, raw, source, format from quarantine "
                "order by quarantine_id").fetchall(),
        }
    finally:
        con.close()


@pytest.fixture
def private_tempdir(tmp_path, monkeypatch) -> Path:
    """This test's own temporary folder: under xdist (or beside other jobs) another process's
    loader may have its folder in the shared /tmp at the moment this test looks for leftovers."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_parallel_parse_equals_serial(tmp_path, monkeypatch, private_tempdir):
    src = _tricky_file(tmp_path / "chat.jsonl")
    monkeypatch.setenv("AIOS_INGEST_WORKERS", "1")
    serial = _load(tmp_path / "serial.duckdb", src)

    monkeypatch.setenv("AIOS_INGEST_WORKERS", "3")
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "RANGE_BYTES", 700)  # dozens of pieces per worker
    pieces = parallel.split_ranges(src, src.stat().st_size, 3)
    assert len(pieces) == 3 and sum(len(p) for p in pieces) > 20
    flat = [r for p in pieces for r in p]
    assert flat[0][0] == 0 and flat[-1][1] == src.stat().st_size
    assert all(a[1] == b[0] for a, b in zip(flat, flat[1:], strict=False))
    par = _load(tmp_path / "parallel.duckdb", src)

    assert serial["rejected"] > 10 and serial["new"] > 200 and serial["field_issues"]
    assert par == serial
    assert not list(Path(tempfile.gettempdir()).glob(f"{parallel.TMP_PREFIX}*-*"))


def test_failing_worker_fails_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    src = _tricky_file(tmp_path / "chat.jsonl")
    monkeypatch.setenv("AIOS_INGEST_WORKERS", "2")
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "WORKER_MODULE", "aios_assets.no_such_module")
    db = tmp_path / "w.duckdb"
    with pytest.raises(parallel.ParseWorkerError, match="No module named"):
        _load(db, src)
    con = duckdb.connect(str(db))
    assert con.execute("select count(*) from event_log").fetchone() == (0,)
    assert con.execute("select count(*) from ingested_files").fetchone() == (0,)
    con.close()
    monkeypatch.setattr(parallel, "WORKER_MODULE", "aios_assets.ingest.parallel")
    assert _load(db, src)["new"] > 200  # the same file goes in once the workers work


def test_folders_of_killed_loaders_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"{parallel.TMP_PREFIX}999999999-abc"  # no such process
    stale.mkdir()
    (stale / "0-0.arrow").write_bytes(b"x" * 10)
    mine = tmp_path / f"{parallel.TMP_PREFIX}1-abc"  # pid 1 is alive
    mine.mkdir()
    parallel._remove_orphaned_folders()
    assert not stale.exists() and mine.exists()


def test_worker_count_setting(monkeypatch):
    monkeypatch.setenv("AIOS_INGEST_WORKERS", "lots")
    with pytest.raises(ValueError, match="AIOS_INGEST_WORKERS"):
        parallel.ingest_workers()
    monkeypatch.setenv("AIOS_INGEST_WORKERS", "0")
    assert parallel.ingest_workers() == 1
