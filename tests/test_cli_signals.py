"""Nothing wedges: a crashed CLI run is reaped, waits are visible and bounded, and SIGTERM or
Ctrl-C stop ``aios ingest`` at any point with the run canceled and its pool slot freed (issue 15).

The runs holding the ``warehouse`` pool slot here are real runs in the home's Dagster instance
with a real slot claim, owned by a live process (this test) or by a dead one.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import psutil
import pytest

from tests.conftest import AIOS, ROOT, event, run_aios, write_jsonl

# A stop takes a second or two on a quiet machine: children get 3 s to end, and the clean-up's
# first imports compile from source under PYTHONDONTWRITEBYTECODE (CI). Bounded, with room for
# a loaded machine.
STOP_BOUND_S = 15


def _holder(instance: dg.DagsterInstance, pid: int) -> str:
    """A STARTED run owned by ``pid`` on this host, holding the warehouse pool's only slot."""
    run_id = str(uuid.uuid4())
    tags = {"aios/pid": str(pid), "aios/host": socket.gethostname(),
            "aios/pid_started": f"{psutil.Process(pid).create_time():.2f}"
            if psutil.pid_exists(pid) else "0", "aios/started": "2026-03-01T10:00:00+00:00"}
    instance.add_run(dg.DagsterRun(job_name="ingest_job", run_id=run_id, tags=tags,
                                   status=dg.DagsterRunStatus.STARTED))
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default("warehouse")  # as a run's first claim does
    claim = storage.claim_concurrency_slot("warehouse", run_id, "ingest_files")
    assert claim.is_claimed
    return run_id


def _start(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    full = {**os.environ, "AIOS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
            **(env or {})}
    return subprocess.Popen([*AIOS, *args], cwd=ROOT, env=full, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def _read_until(proc: subprocess.Popen, needle: str, timeout: float = 90) -> str:
    seen = ""
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while needle not in seen:
        assert time.monotonic() < deadline and proc.poll() is None, seen
        if sel.select(1.0):
            seen += proc.stderr.readline()
    return seen


def _runs_of(instance: dg.DagsterInstance, pid: int) -> list[dg.DagsterRun]:
    return [r for r in instance.get_runs() if r.tags.get("aios/pid") == str(pid)]


def _slots(instance: dg.DagsterInstance) -> tuple[set[str], set[str]]:
    info = instance.event_log_storage.get_concurrency_info("warehouse")
    # (claimed, waiting): a claimed slot also keeps its (assigned) pending step row
    return {s.run_id for s in info.claimed_slots}, set(info.pending_run_ids)


def test_a_dead_owners_run_is_failed_and_its_slot_freed(tmp_path: Path, aios_home: Path):
    instance = dg.DagsterInstance.get()
    gone = psutil.Popen(["true"])
    gone.wait()
    stale = _holder(instance, gone.pid)
    data = write_jsonl(tmp_path / "a.jsonl", [event("m1"), event("m2")])
    # The old CLI waited for the slot forever (and ignored SIGTERM meanwhile).
    res = run_aios("ingest", str(data), "--no-materialize", "--json", home=aios_home,
                   timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"run {stale[:8]} (ingest_job)" in res.stderr and "marked failed" in res.stderr
    assert json.loads(res.stdout)["events_new"] == 2
    run = instance.get_run_by_id(stale)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    assert _slots(instance) == (set(), set())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_wait_is_visible_and_a_signal_ends_it(tmp_path: Path, aios_home: Path, signum: int):
    instance = dg.DagsterInstance.get()
    holder = _holder(instance, os.getpid())  # alive: a legitimate wait
    data = write_jsonl(tmp_path / "a.jsonl", [event("m1")])
    proc = _start(aios_home, "ingest", str(data), "--no-materialize")
    try:
        said = _read_until(proc, "waiting for")
        assert f"waiting for run {holder[:8]} (ingest_job), started 2026-03-01" in said
        assert f"by pid {os.getpid()}" in said
        sent = time.monotonic()
        proc.send_signal(signum)
        code = proc.wait(timeout=STOP_BOUND_S + 10)
        assert time.monotonic() - sent < STOP_BOUND_S
    finally:
        proc.kill()
    assert code == 128 + signum
    (mine,) = _runs_of(instance, proc.pid)
    assert mine.status == dg.DagsterRunStatus.CANCELED
    assert _slots(instance) == ({holder}, set())  # its pending claim is gone, the holder's kept


def test_a_wait_is_bounded(tmp_path: Path, aios_home: Path):
    instance = dg.DagsterInstance.get()
    holder = _holder(instance, os.getpid())
    data = write_jsonl(tmp_path / "a.jsonl", [event("m1")])
    started = time.monotonic()
    res = run_aios("ingest", str(data), "--no-materialize", home=aios_home,
                   env={"AIOS_RUN_WAIT_S": "3"}, timeout=120)
    assert res.returncode == 1
    assert f"gave up after 3s waiting for a pool slot held by run {holder[:8]}" in res.stderr
    assert time.monotonic() - started < 60
    assert _slots(instance) == ({holder}, set())
    # The holder ends: the next ingest runs.
    instance.report_run_failed(instance.get_run_by_id(holder))
    instance.event_log_storage.free_concurrency_slots_for_run(holder)
    assert run_aios("ingest", str(data), "--no-materialize", home=aios_home).returncode == 0


def test_sigterm_mid_ingest_cancels_the_run_and_ends_its_workers(tmp_path: Path,
                                                                 aios_home: Path):
    instance = dg.DagsterInstance.get()
    # Big enough for parse workers (8 MB and up) and a run of many seconds.
    data = write_jsonl(tmp_path / "big.jsonl",
                       [event(f"m{i}", text=f"message {i} " + "x" * 120) for i in range(60_000)])
    proc = _start(aios_home, "ingest", str(data), "--no-materialize")
    try:
        deadline = time.monotonic() + 90
        while not [r for r in _runs_of(instance, proc.pid)
                   if r.status == dg.DagsterRunStatus.STARTED]:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.2)
        time.sleep(1.5)
        children = psutil.Process(proc.pid).children(recursive=True)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=STOP_BOUND_S + 10)
        assert time.monotonic() - sent < STOP_BOUND_S
    finally:
        proc.kill()
    assert code == 128 + signal.SIGTERM
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    (mine,) = _runs_of(instance, proc.pid)
    assert mine.status == dg.DagsterRunStatus.CANCELED
    assert _slots(instance) == (set(), set())
    res = run_aios("ingest", str(data), "--no-materialize", "--json", home=aios_home,
                   timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["events_read"] == 60_000


def test_the_orm_is_imported_before_any_run_thread_starts():
    """run_job's monitor queries run storage while the run's thread may import sqlalchemy.orm
    for the first time; a half-imported ORM broke such a query in CI (issue 15)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, aios_assets.runs; "
         "print('sqlalchemy.orm.exc' in sys.modules)"],
        capture_output=True, text=True, timeout=120, check=True, cwd=ROOT)
    assert proc.stdout.strip() == "True"
