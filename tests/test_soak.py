"""A bounded concurrency soak: ingest, a Dagster job, approvals and analyst queries at once.

All real and all at the same time on one AIOS_HOME:

* an ingest process (the fork server of the crash test) loading new JSONL batches through the
  loader inside the warehouse write lock;
* Dagster runs of the ingest asset in another process, recorded in DAGSTER_HOME, taking the
  same lock (the asset is in the ``warehouse`` pool);
* approvals through Postgres (``decide``: read the snapshot, record in ``aios.proposal_decisions``,
  then append the decision event to the event log under the lock);
* analysts reading the published snapshot in threads, and ``aios sql`` in subprocesses.

Zero lock errors: no worker sees an exception or a failed command. Zero lost writes: at the end
the event log holds exactly every ingested record and every decision, once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
import pytest

from aios_assets.publishing.approvals import decide
from aios_assets.publishing.decisions import flush_decision_events
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse
from tests.conftest import ROOT, event, run_aios, write_jsonl
from tests.outbox_fixtures import fresh_database
from tests.publishing_fixtures import build_warehouse, proposal
from tests.test_ingest_crash import ForkServer

SOAK_LIMIT_S = 60
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


def test_concurrency_soak(aios_home: Path, tmp_path: Path, soak_pg: str) -> None:
    now = datetime.now(UTC)
    proposals = [proposal(f"soak-{i}", now=now) for i in range(PROPOSALS)]
    build_warehouse(proposals)
    warehouse, store = DuckDBWarehouse(), PostgresStore(url=soak_pg)
    workers = Workers()
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
                              capture_output=True, text=True, timeout=SOAK_LIMIT_S)
        assert proc.returncode == 0, proc.stderr[-2000:]
        reports = [json.loads(line) for line in proc.stdout.splitlines()]
        assert [r["success"] for r in reports] == [True] * DAGSTER_RUNS, reports
        ingested["dagster"] += sum(r["events_new"] for r in reports)
        timings["dagster"] = time.monotonic() - started_dg

    def approvals() -> None:
        for p in proposals:
            report = decide([p["proposal_id"]], "approved", None, via="cli",
                            warehouse=warehouse, store=store)
            assert len(report.decisions) == 1
            time.sleep(0.2)

    def analyst() -> None:
        last = 0
        while not workers.stop.is_set() and time.monotonic() < deadline:
            with warehouse.read() as con:
                n = con.execute("SELECT count(*) FROM event_log").fetchone()[0]
                con.execute("SELECT source, count(*) FROM events_current GROUP BY 1").fetchall()
            assert n >= last, f"the snapshot went back in time: {n} < {last}"
            last = n
            seen_counts.append(n)
            time.sleep(0.15)

    def analyst_cli() -> None:
        # A few calls only: each pays the CLI's start-up (~2-8 s, more on a loaded machine).
        while (not workers.stop.is_set() and len(cli_reads) < 3
               and time.monotonic() < deadline - 15):
            proc = run_aios("sql", "SELECT count(*) AS n FROM event_log", "--format", "json",
                            home=aios_home, timeout=max(5.0, deadline - time.monotonic()))
            assert proc.returncode == 0, proc.stderr[-2000:]
            cli_reads.append(json.loads(proc.stdout)[0]["n"])

    workers.start("ingest", ingest_process)
    workers.start("dagster", dagster_job_process)
    workers.start("approvals", approvals)
    workers.start("analyst-1", analyst)
    workers.start("analyst-2", analyst)
    workers.start("aios-sql", analyst_cli)
    # (``aios ingest`` itself is the same asset behind the full Definitions: too slow to start
    # for a bounded soak on a shared 2-core machine, so the child imports just the asset.)
    # The writers finish on their own; then the analysts are told to stop.
    for t in workers.threads[:3]:
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
    assert cli_reads, "aios sql never ran during the soak"
    print(f"soak {elapsed:.1f}s: {len(seen_counts)} snapshot reads, {len(cli_reads)} aios sql, "
          f"{expected} events, {PROPOSALS} approvals; writers {timings}")
