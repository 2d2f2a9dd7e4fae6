"""Runs the CLI starts in-process, and the runs a crash left behind.

A CLI run (``aios ingest``, ``aios publish``) executes its job in this process and takes a slot
of the Dagster pool ``warehouse``. A process killed mid-run (SIGKILL, OOM, power) leaves its run
STARTED and its slot claimed, and every later run would wait for that slot forever. So:

- every CLI run is tagged with its owner: ``aios/pid``, ``aios/pid_started`` (the process's
  start time, so a reused pid does not pass for the owner), ``aios/host``, ``aios/started`` and
  ``aios/heartbeat`` (refreshed every :data:`HEARTBEAT_S` seconds while it runs);
- before a run starts, and again while it waits for a pool slot, :func:`reap_stale_runs` marks
  failed every unfinished CLI run whose owner is gone (its pid is dead on this host, or, from
  another host sharing the instance storage, its heartbeat is older than
  :data:`HEARTBEAT_STALE_S`), and frees the pool slots of that run and of any finished run;
- a run waiting for a slot says for whom ("waiting for run X (job), started … by pid … on …")
  and gives up after ``AIOS_RUN_WAIT_S`` seconds (default :data:`DEFAULT_WAIT_S`) with an error;
- SIGTERM, SIGINT and SIGHUP stop the run at any point: it is marked canceled, its slots are
  freed and its child processes (parse workers, dbt) are ended before the CLI exits.

The job runs in a worker thread so that the signals reach this module's handlers: Dagster's
in-process executor defers them to checkpoints, and its wait for a pool slot has none.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import dagster as dg
import psutil

# The run's thread imports sqlalchemy.orm on first use (the memory assets' libraries do) while
# this thread queries run storage, and sqlalchemy core consults the ORM's inspection hooks once
# they are registered: a half-imported ORM then fails the query ("partially initialized module
# 'sqlalchemy.orm.exc'"). Importing it here, before any run thread starts, closes that race.
import sqlalchemy.orm  # noqa: E402,F401,I001

WAIT_ENV = "AIOS_RUN_WAIT_S"
DEFAULT_WAIT_S = 600.0  # a full demo ingest with materialization takes a few minutes
HEARTBEAT_S = 10.0
HEARTBEAT_STALE_S = 90.0  # nine missed heartbeats
POLL_S = 0.5
# How often a running run's pools are read to see whether it waits for a slot (two queries per
# pool on run storage: read every POLL_S, they were a few percent of a small ingest's CPU).
POOL_POLL_S = 2.0
ABANDON_JOIN_S = 1.0  # how long a stopped run's thread may take to see its children gone
PID, PID_STARTED, HOST, STARTED, HEARTBEAT = (
    "aios/pid", "aios/pid_started", "aios/host", "aios/started", "aios/heartbeat")
UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
              dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]

Notify = Callable[[str], None]


class RunWaitTimeout(RuntimeError):
    """A run waited longer than the bound for a pool slot another live run holds."""


class RunStopped(BaseException):
    """A signal stopped the CLI (a BaseException, like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def wait_bound_s() -> float:
    value = os.environ.get(WAIT_ENV)
    return float(value) if value else DEFAULT_WAIT_S


def _process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:  # alive, someone else's
        return -1.0


def owner_tags() -> dict[str, str]:
    now = time.time()
    return {PID: str(os.getpid()), PID_STARTED: f"{_process_started(os.getpid()):.2f}",
            HOST: socket.gethostname(),
            STARTED: datetime.now(UTC).isoformat(timespec="seconds"),
            HEARTBEAT: f"{now:.0f}"}


def stale_reason(run: dg.DagsterRun, now: float | None = None) -> str | None:
    """Why ``run``'s owner is provably gone, or None (alive, or not a CLI run)."""
    tags = run.tags
    if PID not in tags or HOST not in tags:
        return None  # launched by the daemon or the UI: Dagster's run monitoring owns it
    pid = int(tags[PID])
    if tags[HOST] == socket.gethostname():
        started = _process_started(pid)
        if started is None:
            return f"its process (pid {pid}) is gone"
        want = float(tags.get(PID_STARTED) or -1)
        if started >= 0 and want >= 0 and abs(started - want) > 1.0:
            return f"its process (pid {pid}) is gone (the pid belongs to another process now)"
        return None
    beat = float(tags.get(HEARTBEAT) or 0)
    age = (now or time.time()) - beat
    if age > HEARTBEAT_STALE_S:
        return f"no heartbeat from pid {pid} on {tags[HOST]} for {age:.0f}s"
    return None


def describe(run: dg.DagsterRun | None, run_id: str) -> str:
    if run is None:
        return f"run {run_id[:8]} (deleted)"
    tags = run.tags
    if PID in tags:
        return (f"run {run_id[:8]} ({run.job_name}), started {tags.get(STARTED, '?')} "
                f"by pid {tags[PID]} on {tags.get(HOST, '?')}")
    return (f"run {run_id[:8]} ({run.job_name}, {run.status.value}; not started by aios: "
            "if it is stuck, terminate it in the Dagster UI)")


def _pools(instance: dg.DagsterInstance) -> list[Any]:
    """Concurrency info (claimed slots, pending steps) of every pool."""
    storage = instance.event_log_storage
    keys = [limit.name for limit in storage.get_pool_limits()]
    return [storage.get_concurrency_info(key) for key in keys]


def reap_stale_runs(instance: dg.DagsterInstance, notify: Notify | None = None) -> list[str]:
    """Mark failed the unfinished CLI runs whose owner is gone and free their pool slots, and
    free the slots still held by finished or deleted runs. Returns the run ids it cleaned."""
    cleaned: list[str] = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED)):
        reason = stale_reason(run)
        if reason is None:
            continue
        message = f"marked failed by aios (pid {os.getpid()}): {reason}"
        instance.report_run_failed(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        cleaned.append(run.run_id)
        if notify:
            notify(f"{describe(run, run.run_id)} was left unfinished ({reason}): marked failed, "
                   "its pool slots freed")
    for info in _pools(instance):
        holders = {s.run_id for s in info.claimed_slots} | {s.run_id for s in info.pending_steps}
        for run_id in holders - set(cleaned):
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                instance.event_log_storage.free_concurrency_slots_for_run(run_id)
                cleaned.append(run_id)
    return cleaned


def release_run(instance: dg.DagsterInstance, run_id: str, message: str, *,
                failed: bool = False, free_slots: bool = True) -> None:
    """Mark ``run_id`` canceled (or failed) if it is unfinished, and free its pool slots."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        if failed:
            instance.report_run_failed(run, message=message)
        else:
            instance.report_run_canceled(run, message=message)
    if free_slots:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def end_children(grace_s: float = 3.0) -> None:
    """Terminate this process's children (parse workers, dbt), then kill what is left."""
    children = psutil.Process().children(recursive=True)
    for child in children:
        with _gone_ok():
            child.terminate()
    # Polled, not psutil.wait_procs: its pidfd wait overran its timeout on a grandchild (seen
    # with stdin at /dev/null, as in CI), and a stop must stay prompt.
    deadline = time.monotonic() + grace_s
    alive = children
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [c for c in alive if _alive(c)]
    for child in alive:
        with _gone_ok():
            child.kill()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@contextmanager
def _gone_ok() -> Iterator[None]:
    try:
        yield
    except psutil.NoSuchProcess:
        pass


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Inside the block SIGTERM, SIGINT and SIGHUP raise :class:`RunStopped` in the main
    thread, even when the shell started the CLI in the background with SIGINT ignored."""
    stopped = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise RunStopped(signum)

    before = {s: signal.getsignal(s) for s in stopped}
    for s in stopped:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in before.items():
            signal.signal(s, h)


@dataclass
class _Waiting:
    since: float
    said: str = ""


def _waiting_for(instance: dg.DagsterInstance, run_id: str) -> list[str] | None:
    """The runs holding the slots ``run_id`` waits for, or None when it waits for none."""
    for info in _pools(instance):
        if run_id in info.pending_run_ids:
            return sorted({s.run_id for s in info.claimed_slots} | info.assigned_run_ids)
    return None


# A step running longer than this without a stage line gets a "still running" line.
QUIET_S = 30.0
_STEP_EVENTS = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.ASSET_MATERIALIZATION}
# The count a stage line shows for an asset: the first of these in its metadata.
_COUNT_KEYS = {"events_new": "new events", "rejected_this_run": "rejected",
               "proposals": "proposals", "embedded_now": "embedded",
               "open_proposals": "open proposals gated", "new_proposals": "new proposals",
               "new_rows": "new rows", "dagster/row_count": "rows"}
# Steps whose name says little to a user: (what to call the step, what its assets are).
_STEP_NAMES = {"aios_dbt": ("dbt build", "models")}


def _count(metadata: Mapping[str, Any]) -> str:
    values = {k: getattr(v, "value", v) for k, v in metadata.items()}
    for key, label in _COUNT_KEYS.items():
        v = values.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,} {label}"
    return ""


class StageLines:
    """One line per finished step of a run, on the CLI's stderr whether or not it is a
    terminal: "[  46.6s] dbt build: 27 models", with the elapsed time since the command
    started. Asset-check steps are counted, not listed; a step quiet for :data:`QUIET_S`
    gets a "still running" line. Read from the run's event log, so no executor hook."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, notify: Notify,
                 started: float | None = None) -> None:
        self.instance, self.run_id, self.notify = instance, run_id, notify
        self.started = time.monotonic() if started is None else started
        self.cursor: str | None = None
        self.assets: dict[str, list[str]] = {}  # step -> "key: count" of its materializations
        self.running: dict[str, float] = {}  # step -> when it last said something
        self.checks = 0

    def line(self, text: str) -> None:
        self.notify(f"[{time.monotonic() - self.started:6.1f}s] {text}")

    def poll(self) -> None:
        with suppress(Exception):  # a progress line never fails the run it reports on
            self._poll()

    def _poll(self) -> None:
        if self.cursor is None:
            # Read the run's event log only once the run has written to it: on SQLite storage a
            # reader racing the run to create it logs through the root logger, which turns on
            # Python's default stderr handler and with it every library's log lines.
            run = self.instance.get_run_by_id(self.run_id)
            if run is None or run.status in (dg.DagsterRunStatus.NOT_STARTED,
                                             dg.DagsterRunStatus.STARTING,
                                             dg.DagsterRunStatus.QUEUED):
                return
        while True:
            conn = self.instance.get_records_for_run(self.run_id, cursor=self.cursor,
                                                     of_type=_STEP_EVENTS, limit=500)
            self.cursor = conn.cursor
            for record in conn.records:
                self._on(record.event_log_entry.dagster_event)
            if not conn.has_more:
                break
        now = time.monotonic()
        for step, said in list(self.running.items()):
            if now - said >= QUIET_S:
                self.line(f"{_STEP_NAMES.get(step, (step,))[0]}: still running")
                self.running[step] = now

    def _on(self, event: Any) -> None:
        if event is None:
            return
        step = event.step_key or "?"
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            self.running[step] = time.monotonic()
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            self.assets.setdefault(step, []).append(_count(mat.metadata))
        elif kind == dg.DagsterEventType.STEP_SUCCESS:
            self.running.pop(step, None)
            made = self.assets.pop(step, None)
            name, noun = _STEP_NAMES.get(step, (step, "assets"))
            if made is None:
                self.checks += 1  # an asset check (or an op without assets)
            elif len(made) <= 2 and any(made):
                self.line(f"{name}: {', '.join(m for m in made if m)}")
            elif len(made) == 1:
                self.line(f"{name}: done")
            else:
                self.line(f"{name}: {len(made)} {noun}")
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            self.running.pop(step, None)
            self.assets.pop(step, None)
            self.line(f"{step}: failed")

    def finish(self, success: bool) -> None:
        self.poll()
        self.line(f"run {self.run_id[:8]} {'succeeded' if success else 'failed'}"
                  + (f" ({self.checks} checks run)" if self.checks else ""))


def run_job(job_def: dg.JobDefinition, *, run_config: Mapping[str, Any],
            resources: Mapping[str, object] | None = None, notify: Notify,
            started: float | None = None,
            ) -> dg.ExecuteInProcessResult:
    """``job_def.execute_in_process`` on this home's instance, with stale-run reaping, a
    visible bounded wait for pool slots, heartbeats, stage lines (:class:`StageLines`, timed
    from ``started``, a ``time.monotonic()``), and clean stops on signals (the process exits
    after a stop or a wait timeout: the run's thread cannot be interrupted)."""
    monitor = dg.DagsterInstance.get()  # the main thread's own connections
    reap_stale_runs(monitor, notify)
    run_id = str(uuid.uuid4())
    stages = StageLines(monitor, run_id, notify, started)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = job_def.execute_in_process(
                run_config=run_config, instance=dg.DagsterInstance.get(), resources=resources,
                raise_on_error=False, run_id=run_id, tags=owner_tags())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"aios-run-{run_id[:8]}", daemon=True)
    bound = wait_bound_s()
    # Dagster's compute-log capture points fds 1 and 2 at a pipe read by a child process while
    # the run executes; a stop ends that child, so the last words go to the original fds.
    saved_fds = (os.dup(1), os.dup(2))
    try:
        with stop_on_signals():
            worker.start()
            waiting: _Waiting | None = None
            beat = time.monotonic()
            pools_read = beat - POOL_POLL_S
            while worker.is_alive():
                worker.join(POLL_S)
                if not worker.is_alive():
                    break
                stages.poll()
                now = time.monotonic()
                if now - beat >= HEARTBEAT_S:
                    monitor.add_run_tags(run_id, {HEARTBEAT: f"{time.time():.0f}"})
                    beat = now
                if waiting is None and now - pools_read < POOL_POLL_S:
                    continue
                pools_read = now
                holders = _waiting_for(monitor, run_id)
                if holders is None:
                    waiting = None
                    continue
                if reap_stale_runs(monitor, notify):
                    continue
                waiting = waiting or _Waiting(now)
                said = "; ".join(describe(monitor.get_run_by_id(h), h) for h in holders)
                if said and said != waiting.said:
                    notify(f"waiting for {said} (gives up after {bound:.0f}s, {WAIT_ENV})")
                    waiting.said = said
                if now - waiting.since > bound:
                    raise RunWaitTimeout(
                        f"gave up after {bound:.0f}s waiting for a pool slot held by "
                        f"{waiting.said or 'another run'}; if that run is stuck, end it "
                        f"(or set {WAIT_ENV} to wait longer) and re-run")
    except RunStopped as stop:
        _restore_fds(saved_fds)
        _abandon(run_id, f"stopped by {stop} (pid {os.getpid()})", failed=False,
                 worker=worker)
        notify(f"stopped by {stop}: run {run_id[:8]} canceled, its pool slots freed")
        _exit(128 + stop.signum)
    except RunWaitTimeout as exc:
        _restore_fds(saved_fds)
        _abandon(run_id, str(exc), failed=True, worker=worker)
        notify(f"[bold red]error:[/] {exc}")
        _exit(1)
    for fd in saved_fds:
        os.close(fd)
    if "error" in box:
        raise box["error"]
    stages.finish(box["result"].success)
    return box["result"]


def _restore_fds(saved: tuple[int, int]) -> None:
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)


def _abandon(run_id: str, message: str, *, failed: bool,
             worker: threading.Thread | None = None) -> None:
    # Ignore further signals while cleaning up: a second Ctrl-C must not leave the slot held.
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    # A fresh instance: the signal may have interrupted the monitor's own storage query. The
    # status first (ending the children fails the step, and the run with it), the slots last
    # (a dbt child may still be writing the warehouse until it is gone).
    instance = dg.DagsterInstance.get()
    release_run(instance, run_id, message, failed=failed, free_slots=False)
    end_children()
    if worker is not None:
        # The run's thread sees its children die and reports a step failure (and so a failed
        # run) after our status: give it a moment, then say once more why the run ended.
        worker.join(ABANDON_JOIN_S)
        run = instance.get_run_by_id(run_id)
        wanted = dg.DagsterRunStatus.FAILURE if failed else dg.DagsterRunStatus.CANCELED
        if run is not None and run.status != wanted:
            if failed:
                instance.report_run_failed(run, message=message)
            else:
                instance.report_run_canceled(run, message=message)
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def _exit(code: int) -> None:
    """Leave now: the run's thread may be inside Dagster's slot wait, which never returns.
    The warehouse is as safe as after a SIGKILL (tests/test_ingest_crash.py)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
