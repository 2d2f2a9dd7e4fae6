"""A bounded concurrency soak: ingest, Dagster jobs, schedules, approvals and analyst queries.

All real and all at the same time on one AIOS_HOME:

* an ingest process (the fork server of the crash test) loading new JSONL batches through the
  loader inside the warehouse write lock;
* Dagster runs of the ingest asset in another process, recorded in DAGSTER_HOME, taking the
  same lock (the asset is in the ``warehouse`` pool);
* schedule ticks in a third process, as the Dagster daemon would make them: the real schedules
  of ``aios_assets.definitions`` are evaluated (``triage_hourly_schedule``, then
  ``publish_schedule`` twice) and each RunRequest's job runs on the same persistent instance
  (triage: planner, triage agent, proposals merge; publishing: gates, then the approved
  proposals through the outbox and the SMTP adapter to aiosmtpd on loopback);
* approvals through Postgres (``decide``: read the snapshot, record in ``aios.proposal_decisions``,
  then append the decision event to the event log under the lock), half of them while the
  schedules run;
* analysts reading the published snapshot in threads, and ``aios sql`` in subprocesses.

Zero lock errors: no worker sees an exception, a failed command or a failed run. Zero lost
writes: at the end the event log holds exactly every ingested record and every decision, once;
the scheduled runs' materializations and rows are there (plans in Postgres, the triage agent's
run, gate verdicts, the soak's proposals untouched by the triage merge), and every approved
proposal went out exactly once (outbox delivered, one message per Message-ID).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest

from aios_assets.publishing.adapters.smtp import message_id
from aios_assets.publishing.approvals import decide
from aios_assets.publishing.decisions import flush_decision_events
from aios_assets.publishing.outbox import Outbox
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse
from tests.conftest import ROOT, event, run_aios, write_jsonl
from tests.outbox_fixtures import fresh_database
from tests.publishing_fixtures import build_warehouse, proposal
from tests.smtp_sink import SmtpSink
from tests.test_ingest_crash import ForkServer

SOAK_LIMIT_S = 120  # a bound for a loaded shared machine; ~50-80 s is usual
INGEST_BATCHES = 4
EVENTS_PER_BATCH = 300
DAGSTER_RUNS = 1
EVENTS_PER_DAGSTER_FILE = 300
# The Dagster process: ingest runs on the persistent instance (DAGSTER_HOME), the ingest asset
# (pool "warehouse", the write lock) without importing the whole Definitions (dbt and all), so
# it starts in seconds.
DAGSTER_CHILD = """
import json, sys
import dagster as dg
from aios_assets.ingest.assets import ingest_files
from resources.warehouse import DuckDBWarehouse
instance = dg.DagsterInstance.get()
for path in sys.argv[1:]:
    result = dg.materialize(
        [ingest_files], instance=instance,
        resources={"warehouse": DuckDBWarehouse(),
                   "ingest_observer": dg.ResourceDefinition.none_resource()},
        run_config={"ops": {"ingest_files": {"config": {"paths": [path]}}}})
    meta = result.asset_materializations_for_node("ingest_files")[0].metadata
    print(json.dumps({"success": result.success, "events_new": meta["events_new"].value}))
"""
PROPOSALS = 8
# The schedule process: loads the real Definitions, then for each schedule name on stdin
# evaluates the schedule's tick and runs each RunRequest's job on the persistent instance with
# the request's run config and tags, as the daemon's run would (in process, to keep it cheap).
SCHEDULER_CHILD = """
import json, sys
from datetime import UTC, datetime
import dagster as dg
from aios_assets.definitions import defs
instance = dg.DagsterInstance.get()
schedules = {s.name: s for s in defs.schedules}
print(json.dumps({"ready": sorted(schedules)}), flush=True)
for line in sys.stdin:
    name = line.strip()
    schedule = schedules[name]
    with dg.build_schedule_context(instance=instance,
                                   scheduled_execution_time=datetime.now(UTC)) as context:
        requests = schedule.evaluate_tick(context).run_requests or []
    job = defs.resolve_job_def(schedule.job_name)
    runs = []
    for request in requests:
        result = job.execute_in_process(
            instance=instance, run_config=request.run_config,
            tags={**request.tags, "dagster/schedule_name": name}, raise_on_error=False)
        runs.append({"run_id": result.run_id, "success": result.success, "materialized": sorted(
            e.asset_key.to_user_string() for e in result.get_asset_materialization_events()),
            "errors": [str(e.message)[:500] for e in result.all_events if e.is_failure]})
    print(json.dumps({"schedule": name, "job": job.name, "runs": runs}), flush=True)
"""
TICKS = ["triage_hourly_schedule", "publish_schedule"]  # while approvals go on
LAST_TICK = "publish_schedule"  # after the last approval
# No quiet hours (the default policy has them for e-mail): the soak runs at any time of day.
POLICY = """
version: 1
actions:
  send_email: {mode: approve_first, max_per_day: 25}
"""


class Workers:
    """Threads that record their errors instead of dying silently."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.threads: list[threading.Thread] = []
        self.stop = threading.Event()

    def start(self, name: str, fn, *args) -> None:
        def run() -> None:
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - the test asserts on the list
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                self.stop.set()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self, deadline: float) -> None:
        for thread in self.threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        late = [t.name for t in self.threads if t.is_alive()]
        assert not late, f"worker(s) {late} overran the soak; errors so far: {self.errors}"


def batch(folder: Path, tag: str, n: int) -> Path:
    return write_jsonl(folder / f"{tag}.jsonl", [
        event(f"{tag}-{i}", f"{tag} message {i}", thread=f"{tag}-t{i % 5}") for i in range(n)])


@pytest.fixture
def soak_pg(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = fresh_database(pg_url, "soak")
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    return url


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def test_concurrency_soak(aios_home: Path, tmp_path: Path, soak_pg: str, sink: SmtpSink) -> None:
    now = datetime.now(UTC)
    proposals = [proposal(f"soak-{i}", now=now, payload={
        "to": "ada@acme.io", "subject": f"Checking in ({i})",
        "body": f"Hi Ada, shall we talk next week about part {i} of the retainer?"})
        for i in range(PROPOSALS)]
    (aios_home / "policy.yaml").write_text(POLICY)
    build_warehouse(proposals)
    warehouse, store = DuckDBWarehouse(), PostgresStore(url=soak_pg)
    workers = Workers()
    scheduler_ready = threading.Event()
    approvals_done = threading.Event()
    ticks: list[dict] = []
    started = time.monotonic()
    deadline = started + SOAK_LIMIT_S
    ingested = {"fork": 0, "dagster": 0}
    seen_counts: list[int] = []
    cli_reads = []
    timings: dict[str, float] = {}

    def ingest_process() -> None:
        started_ingest = time.monotonic()
        server = ForkServer(aios_home)
        try:
            for b in range(INGEST_BATCHES):
                folder = tmp_path / f"fork{b}"
                folder.mkdir()
                batch(folder, f"fork{b}", EVENTS_PER_BATCH)
                outcome, _ = server.run(-1, [folder])
                assert outcome == "exited 0", outcome
                ingested["fork"] += EVENTS_PER_BATCH
        finally:
            server.close()
        timings["ingest"] = time.monotonic() - started_ingest

    def dagster_job_process() -> None:
        started_dg = time.monotonic()
        paths = [str(batch(tmp_path, f"dg{f}", EVENTS_PER_DAGSTER_FILE))
                 for f in range(DAGSTER_RUNS)]
        proc = subprocess.run([sys.executable, "-c", DAGSTER_CHILD, *paths], cwd=ROOT,
                              capture_output=True, text=True, timeout=SOAK_LIMIT_S, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        reports = [json.loads(line) for line in proc.stdout.splitlines()]
        assert [r["success"] for r in reports] == [True] * DAGSTER_RUNS, reports
        ingested["dagster"] += sum(r["events_new"] for r in reports)
        timings["dagster"] = time.monotonic() - started_dg

    def approvals() -> None:
        for i, p in enumerate(proposals):
            if i == PROPOSALS // 2:  # the other half while the schedules' runs go on
                scheduler_ready.wait(timeout=max(0.1, deadline - time.monotonic() - 30))
            report = decide([p["proposal_id"]], "approved", None, via="cli",
                            warehouse=warehouse, store=store)
            assert len(report.decisions) == 1
            time.sleep(0.3)
        approvals_done.set()
        timings["approvals"] = time.monotonic() - started

    def scheduler_process() -> None:
        started_sched = time.monotonic()
        env = {**os.environ, "AIOS_SMTP_HOST": "127.0.0.1", "AIOS_SMTP_PORT": str(sink.port)}
        with (tmp_path / "scheduler.log").open("w") as log:  # Dagster's logs: never a full pipe
            proc = subprocess.Popen([sys.executable, "-c", SCHEDULER_CHILD], cwd=ROOT, env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                    text=True)
            # Every read below is bounded: at the deadline the watchdog kills the process.
            watchdog = threading.Timer(max(0.1, deadline - time.monotonic()), proc.kill)
            watchdog.start()
            try:
                assert proc.stdin is not None and proc.stdout is not None
                ready = proc.stdout.readline()
                assert ready, (tmp_path / "scheduler.log").read_text()[-2000:]
                assert set(TICKS) <= set(json.loads(ready)["ready"])
                scheduler_ready.set()
                ready_at = time.monotonic()
                proc.stdin.write("".join(f"{name}\n" for name in TICKS))
                proc.stdin.flush()
                ticks.extend(json.loads(proc.stdout.readline()) for _ in TICKS)
                assert approvals_done.wait(timeout=max(0.1, deadline - time.monotonic()))
                out, _ = proc.communicate(f"{LAST_TICK}\n",
                                          timeout=max(0.1, deadline - time.monotonic()))
            finally:
                watchdog.cancel()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
        assert proc.returncode == 0, (tmp_path / "scheduler.log").read_text()[-2000:]
        ticks.extend(json.loads(line) for line in out.splitlines())
        timings["schedules"] = time.monotonic() - started_sched
        timings["schedules_ready"] = ready_at - started_sched

    def analyst() -> None:
        last = 0
        while not workers.stop.is_set() and time.monotonic() < deadline:
            with warehouse.read() as con:
                n = con.execute("SELECT count(*) FROM event_log").fetchone()[0]
                con.execute("SELECT source, count(*) FROM events_current GROUP BY 1").fetchall()
            assert n >= last, f"the snapshot went back in time: {n} < {last}"
            last = n
            seen_counts.append(n)
            time.sleep(0.25)

    def analyst_cli() -> None:
        # Two calls only: each pays the CLI's start-up (~2-8 s, more on a loaded machine).
        while (not workers.stop.is_set() and len(cli_reads) < 2
               and time.monotonic() < deadline - 15):
            proc = run_aios("sql", "SELECT count(*) AS n FROM event_log", "--format", "json",
                            home=aios_home, timeout=max(5.0, deadline - time.monotonic()))
            assert proc.returncode == 0, proc.stderr[-2000:]
            cli_reads.append(json.loads(proc.stdout)[0]["n"])

    workers.start("schedules", scheduler_process)  # first: loading Definitions takes longest
    workers.start("ingest", ingest_process)
    workers.start("dagster", dagster_job_process)
    workers.start("approvals", approvals)
    workers.start("analyst-1", analyst)
    workers.start("analyst-2", analyst)
    workers.start("aios-sql", analyst_cli)
    # (``aios ingest`` itself is the same asset behind the full Definitions: too slow to start
    # for a bounded soak on a shared 2-core machine, so the child imports just the asset.)
    # The writers finish on their own; then the analysts are told to stop.
    for t in workers.threads[:4]:
        t.join(timeout=max(0.1, deadline - time.monotonic()))
    workers.stop.set()
    workers.join(deadline)
    elapsed = time.monotonic() - started
    assert workers.errors == [], workers.errors
    assert elapsed < SOAK_LIMIT_S

    # Zero lost writes. Decisions a busy lock could not log yet are flushed now (idempotent).
    flush_decision_events(store, warehouse)
    with psycopg.connect(soak_pg) as con:
        decided = con.execute("SELECT count(*), count(event_logged_at) "
                              "FROM aios.proposal_decisions").fetchone()
    assert decided == (PROPOSALS, PROPOSALS)
    assert ingested == {"fork": INGEST_BATCHES * EVENTS_PER_BATCH,
                        "dagster": DAGSTER_RUNS * EVENTS_PER_DAGSTER_FILE}
    expected = sum(ingested.values())
    for db in (warehouse.path, warehouse.snapshot_path):
        con = duckdb.connect(str(db), read_only=True)
        try:
            counts = dict(con.execute(
                "SELECT kind, count(*) FROM event_log GROUP BY 1").fetchall())
            dupes = con.execute(
                "SELECT count(*) - count(DISTINCT event_id) FROM event_log").fetchone()[0]
        finally:
            con.close()
        assert counts == {"chat_message": expected, "approval_decision": PROPOSALS}, db
        assert dupes == 0
    assert len(seen_counts) >= 20 and len(set(seen_counts)) >= 3  # reads overlapped the writes

    # The schedule ticks: one run each, succeeded, materialized what its job selects.
    assert [t["schedule"] for t in ticks] == [*TICKS, LAST_TICK], ticks
    for tick in ticks:
        assert [r["success"] for r in tick["runs"]] == [True], tick
    triage_run = ticks[0]["runs"][0]
    assert set(triage_run["materialized"]) >= {"agent_plans", "agent_triage", "action_proposals"}
    for tick in ticks[1:]:
        assert set(tick["runs"][0]["materialized"]) >= {"proposal_gate_results",
                                                        "published_actions"}, tick
    instance = dg.DagsterInstance.get()
    for name in {*TICKS, LAST_TICK}:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/schedule_name": name}))
        assert len(runs) == sum(t["schedule"] == name for t in ticks), name
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}, name
    # Their writes are there: the planner's plans (Postgres), the triage agent's run, the
    # gates' verdicts on every proposal, and the soak's proposals (the triage merge ran beside
    # the approvals) ...
    with psycopg.connect(soak_pg) as con:
        plans = con.execute("SELECT count(*) FROM aios.agent_plans").fetchone()[0]
    assert plans >= 1
    con = duckdb.connect(str(warehouse.path), read_only=True)
    try:
        agents = {a for (a,) in con.execute("SELECT agent FROM agent_runs WHERE run_id = ?",
                                            [triage_run["run_id"]]).fetchall()}
        proposal_ids = {p for (p,) in con.execute(
            "SELECT proposal_id FROM action_proposals").fetchall()}
        gated = {p for (p,) in con.execute(
            "SELECT DISTINCT proposal_id FROM proposal_gate_results").fetchall()}
    finally:
        con.close()
    assert "triage" in agents, agents
    assert {p["proposal_id"] for p in proposals} <= proposal_ids
    assert {p["proposal_id"] for p in proposals} <= gated
    # ... and every approved proposal went out exactly once: delivered in the outbox, one
    # transmission under one Message-ID each, nothing else sent.
    keys = {p["idempotency_key"] for p in proposals}
    rows = Outbox(store).rows()
    assert {r.idempotency_key: r.status for r in rows} == {k: "delivered" for k in keys}
    assert sink.message_ids_by_key() == {k: {message_id(k)} for k in keys}
    assert sink.by_message_id() == {message_id(k): 1 for k in keys}
    assert cli_reads, "aios sql never ran during the soak"
    print(f"soak {elapsed:.1f}s: {len(seen_counts)} snapshot reads, {len(cli_reads)} aios sql, "
          f"{expected} events, {PROPOSALS} approvals, {len(ticks)} schedule ticks; "
          f"writers {timings}")
