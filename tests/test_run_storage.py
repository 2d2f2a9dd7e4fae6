"""Dagster's SQLite run storage without an fsync per event (aios_assets/shared/run_storage.py),
on Dagster's real SqliteEventLogStorage files: nothing lost to a SIGKILL, no checkpoint per
close, one checkpoint when the process lets go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from aios_assets.shared import run_storage

ROOT = Path(__file__).resolve().parent.parent


def _messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [e.message for e in instance.all_logs(run_id)]


def test_every_connection_is_normal_sync_and_a_close_does_not_checkpoint(tmp_path: Path) -> None:
    run_storage.relax_sqlite_sync()
    run_storage.relax_sqlite_sync()  # idempotent: one listener
    try:
        instance = dg.DagsterInstance.local_temp(str(tmp_path))
        run_id = str(uuid.uuid4())
        for i in range(20):
            instance.report_engine_event(f"event {i}", run_id=run_id, job_name="job")
        shard = tmp_path / "history" / "runs" / f"{run_id}.db"
        # SQLite deletes the WAL when the last connection closes (after a checkpoint): it is
        # still there, and it holds the events, because this process keeps the file open
        assert Path(f"{shard}-wal").exists()
        assert Path(f"{shard}-wal").stat().st_size > 0
        assert str(shard) in run_storage._in_wal
        engine = sa.create_engine(f"sqlite:///{shard}", poolclass=sa.pool.NullPool)
        with engine.connect() as con:
            assert con.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert con.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert _messages(instance, run_id) == [f"event {i}" for i in range(20)]
    finally:
        run_storage.release_kept()
    # letting go is the last close: one checkpoint, the WAL folded into the file and removed
    assert not Path(f"{shard}-wal").exists()
    assert len(_messages(dg.DagsterInstance.local_temp(str(tmp_path)), run_id)) == 20


def test_no_event_is_lost_when_the_writing_process_is_killed(tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    child = textwrap.dedent(f"""
        import os, signal
        import dagster as dg
        from aios_assets.shared.run_storage import relax_sqlite_sync
        relax_sqlite_sync()
        instance = dg.DagsterInstance.local_temp({str(tmp_path)!r})
        for i in range(50):
            instance.report_engine_event(f"event {{i}}", run_id={run_id!r}, job_name="job")
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint, no atexit
    """)
    proc = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (tmp_path / "history" / "runs" / f"{run_id}.db-wal").exists()  # only in the WAL
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    assert _messages(instance, run_id) == [f"event {i}" for i in range(50)]


def test_kept_files_are_bounded(tmp_path: Path) -> None:
    run_storage.relax_sqlite_sync()
    try:
        for i in range(run_storage.MAX_KEPT + 5):
            engine = sa.create_engine(f"sqlite:///{tmp_path / f'{i}.db'}",
                                      poolclass=sa.pool.NullPool)
            with engine.connect() as con:
                con.execute(sa.text("SELECT 1"))
        assert len(run_storage._kept) == run_storage.MAX_KEPT
        assert str(tmp_path / f"{run_storage.MAX_KEPT + 4}.db") in run_storage._kept
        assert str(tmp_path / "0.db") not in run_storage._kept  # the oldest went first
    finally:
        run_storage.release_kept()
    assert not run_storage._kept
