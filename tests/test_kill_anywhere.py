"""SIGKILL ``aios ingest`` at random moments: the next ``aios ingest`` always finishes.

A killed CLI leaves its Dagster run STARTED and its slot of the ``warehouse`` pool claimed; the
next run must find the run stale (its pid is dead), mark it failed and free the slot instead of
waiting forever (issue 15). Each trial forks the real CLI (tests/cli_kill_child.py) on a new file,
SIGKILLs it at a random moment of a whole ingest's duration, then runs the next ``aios ingest``
unkilled and requires it to finish within the bound, the killed run to be failed, no slot held,
and the event log to hold each unique event exactly once. Some trials also materialize
(``ingest_and_update_job``: dbt and the memory assets after the ingest).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb

from tests.fork_server import ForkServerClient

PLAIN_KILLS = 12  # ~20 s a trial (kill + restart) on the shared, loaded 2-core machine
MATERIALIZING_KILLS = 2  # ~60-90 s a trial: dbt build, memory tiers, embeddings
LINES = 20_000  # ~3.6 MB: parsed in-process (no parse workers), long enough to be killed in
MATERIALIZING_LINES = 300  # the offline embedder does ~15 units/s under load
NEXT_RUN_LIMIT_S = 120.0


class Cli(ForkServerClient):
    def __init__(self) -> None:
        super().__init__("tests.cli_kill_child")

    def ingest(self, delay_s: float, path: Path, *, materialize: bool) -> tuple[str, float]:
        flag = "--materialize" if materialize else "--no-materialize"
        return self.trial(f"{delay_s:.3f} ingest {path} {flag}")


def write_file(path: Path, trial: int, rng: random.Random, lines: int = LINES) -> set[str]:
    """A chat file with new messages and a few repeats of earlier trials' (not new events)."""
    ids = {f"m{trial}-{i}" for i in range(lines)}
    repeats = [f"m{t}-{i}" for t in range(trial)
               for i in rng.sample(range(MATERIALIZING_LINES), 5)]
    with path.open("w") as fh:
        for sid in [*sorted(ids), *repeats]:
            t, i = sid[1:].split("-")
            fh.write(json.dumps({"source": "chat", "source_id": sid, "kind": "chat_message",
                                 "occurred_at": "2026-03-01T10:00:00Z", "actor": "Dana",
                                 "thread": f"t{int(i) % 40}", "text": f"message {i} of {t}"})
                     + "\n")
    return ids


def event_counts(home: Path) -> tuple[int, int]:
    con = duckdb.connect(str(home / "warehouse.read.duckdb"), read_only=True)
    try:
        return con.execute("SELECT count(*), count(DISTINCT event_id) FROM event_log").fetchone()
    finally:
        con.close()


def assert_nothing_held(instance: dg.DagsterInstance) -> list[str]:
    """No pool slot claimed or awaited; returns the unfinished runs' ids."""
    unfinished = instance.get_runs(filters=dg.RunsFilter(statuses=[
        dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.CANCELING]))
    info = instance.event_log_storage.get_concurrency_info("warehouse")
    assert not info.claimed_slots and not info.pending_steps, info
    return [r.run_id for r in unfinished]


def test_sigkill_anywhere_then_next_ingest_finishes(aios_home: Path, tmp_path: Path):
    rng = random.Random(15)
    cli = Cli()
    instance = dg.DagsterInstance.get()
    unique: set[str] = set()
    outcomes: Counter[str] = Counter()
    slowest = 0.0
    started = time.monotonic()
    try:
        # Warm-up, not killed; then each unkilled restart's duration sets the next kill window.
        unique |= write_file(tmp_path / "f000.jsonl", 0, rng, MATERIALIZING_LINES)
        outcome, window = cli.ingest(-1, tmp_path / "f000.jsonl", materialize=False)
        assert outcome == "exited 0"
        # Materializing first: its embeddings cover the whole event log, kept small here.
        plan = [True] * MATERIALIZING_KILLS + [False] * PLAIN_KILLS
        for trial, materialize in enumerate(plan, start=1):
            path = tmp_path / f"f{trial:03d}.jsonl"
            unique |= write_file(path, trial, rng, MATERIALIZING_LINES if materialize else LINES)
            span = 60.0 if materialize else window * 1.2  # window: the last whole ingest
            outcome, _ = cli.ingest(rng.uniform(0.0, span), path, materialize=materialize)
            outcomes[outcome] += 1
            # The next ingest (of the same file) finishes within the bound, whatever was left.
            outcome, took = cli.ingest(-1, path, materialize=materialize)
            slowest = max(slowest, took)
            window = window if materialize else took
            assert outcome == "exited 0", (trial, outcome)
            assert took < NEXT_RUN_LIMIT_S
            assert assert_nothing_held(instance) == []
            total, distinct = event_counts(aios_home)
            assert total == distinct == len(unique), (trial, total, distinct, len(unique))
    finally:
        cli.close()
    failed = [r for r in instance.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))]
    print(f"{dict(outcomes)}, {len(failed)} stale runs marked failed, slowest restart "
          f"{slowest:.1f}s, {time.monotonic() - started:.1f}s in all")
    # Most kills land inside a run (the others before it started or after it ended).
    assert outcomes["killed"] >= len(plan) // 2, outcomes
    assert len(failed) >= outcomes["killed"] // 2
