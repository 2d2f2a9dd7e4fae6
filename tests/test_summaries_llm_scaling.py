"""Summaries with a slow LLM: bounded concurrent calls, results identical to a serial run, and
batch commits that an interrupted run keeps (a rerun writes only the rest).

A real loopback OpenAI-compatible server (``aios_assets/testing/openai_server.py``) and a real
``LLMResource`` with its Postgres ledger; the interrupted run is a subprocess, SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from aios_assets.ingest.loader import ingest_paths
from aios_assets.memory.summaries import summaries
from aios_assets.memory.summary_refresh import (
    DEFAULT_LLM_CONCURRENCY,
    LLM_CONCURRENCY_ENV,
    SummariesReport,
    SummarySettings,
    llm_concurrency,
    refresh_summaries,
)
from aios_assets.testing.openai_server import OpenAIServer
from resources.llm import LLMResource
from resources.warehouse import DuckDBWarehouse
from tests.conftest import event, write_jsonl

THREADS = 10  # thread-day units; plus one daily and one weekly summary
DAY = "2025-03-03"
NOW = datetime(2025, 3, 10, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]


def records() -> list[dict]:
    return [
        event(f"m{i:02d}", f"Invoice INV-{i:03d} for ${100 * (i + 1)} is due on 31 March 2025.",
              thread=f"t{i:02d}", occurred_at=f"{DAY}T{8 + i:02d}:00:00Z")
        for i in range(THREADS)
    ]


def must_keep(prompt: str) -> str:
    """A faithful answer: the MUST KEEP lines of the prompt (one call per summary)."""
    return prompt.split("MUST KEEP:\n", 1)[1].split("\n\nSOURCES:", 1)[0]


def ingest(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / f"in-{uuid.uuid4().hex[:8]}.jsonl", records())
    with DuckDBWarehouse().connect() as con:
        ingest_paths(con, [path])


def start_server(latency_s: float) -> OpenAIServer:
    server = OpenAIServer(latency_s=latency_s).start()
    server.script("cheap-m", must_keep)
    return server


def llm_for(server: OpenAIServer, pg_url: str) -> LLMResource:
    # no cache: every summary reaches the server, in every run
    return LLMResource(base_url=server.url, api_key="sk-test", cheap_model="cheap-m",
                       strong_model="strong-m", postgres_url=pg_url, cache_ttl_s=0)


def refresh(llm: LLMResource, **settings: object) -> SummariesReport:
    with DuckDBWarehouse().connect() as con:
        return refresh_summaries(con, DuckDBWarehouse().layout.root,
                                 SummarySettings(**settings), llm=llm, now=NOW)


def table() -> list[tuple]:
    with DuckDBWarehouse().connect() as con:
        return con.execute(
            "SELECT level, scope_id, summary_id, text, method, model FROM summaries "
            "ORDER BY level, period_start, scope_id").fetchall()


def clear() -> None:
    with DuckDBWarehouse().connect() as con:
        con.execute("DELETE FROM summaries")


def test_concurrency_setting_reads_the_environment() -> None:
    assert llm_concurrency(None, {}) == DEFAULT_LLM_CONCURRENCY
    assert llm_concurrency(None, {LLM_CONCURRENCY_ENV: "7"}) == 7
    assert llm_concurrency(2, {LLM_CONCURRENCY_ENV: "7"}) == 2  # the setting wins
    for bad in ("0", "many"):
        with pytest.raises(ValueError, match="AIOS_LLM_CONCURRENCY|at least 1"):
            llm_concurrency(None, {LLM_CONCURRENCY_ENV: bad})


@pytest.mark.usefixtures("aios_home")
def test_llm_calls_run_concurrently_up_to_the_setting(pg_url: str, tmp_path: Path) -> None:
    ingest(tmp_path)
    server = start_server(latency_s=0.3)
    try:
        result = dg.materialize(
            [summaries],
            resources={"warehouse": DuckDBWarehouse(), "llm": llm_for(server, pg_url)},
            run_config={"ops": {"summaries": {"config": {"llm_concurrency": 3}}}},
        )
        assert result.success
        assert server.count("/chat/completions") == THREADS + 2  # one call per summary
        assert 1 < server.max_in_flight <= 3
    finally:
        server.stop()
    assert {m for *_, m, _model in table()} == {"llm"}


@pytest.mark.usefixtures("aios_home")
def test_concurrent_results_equal_serial_results(pg_url: str, tmp_path: Path) -> None:
    ingest(tmp_path)
    server = start_server(latency_s=0.05)
    try:
        llm = llm_for(server, pg_url)
        serial = refresh(llm, llm_concurrency=1)
        serial_rows = table()
        assert server.max_in_flight == 1
        clear()
        concurrent = refresh(llm, llm_concurrency=4)
        assert server.max_in_flight > 1
        assert server.count("/chat/completions") == 2 * (THREADS + 2)
    finally:
        server.stop()
    assert table() == serial_rows
    assert len(serial_rows) == THREADS + 2
    for level in ("thread", "daily", "weekly"):
        a, b = serial.levels[level], concurrent.levels[level]
        assert (a.units, a.recomputed, a.methods) == (b.units, b.recomputed, b.methods)


CHILD = """
import sys
from datetime import UTC, datetime
from aios_assets.memory.summary_refresh import SummarySettings, refresh_summaries
from resources.llm import LLMResource
from resources.warehouse import DuckDBWarehouse

url, pg_url = sys.argv[1], sys.argv[2]
llm = LLMResource(base_url=url, api_key="sk-test", cheap_model="cheap-m",
                  strong_model="strong-m", postgres_url=pg_url, cache_ttl_s=0)
with DuckDBWarehouse().connect() as con:
    refresh_summaries(con, DuckDBWarehouse().layout.root,
                      SummarySettings(llm_concurrency=2, commit_batch=3), llm=llm,
                      now=datetime(2025, 3, 10, tzinfo=UTC),
                      log=lambda msg: print(msg, flush=True))
"""


def wait_for(predicate, what: str, proc: subprocess.Popen, out: Path,
             timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{what} never happened (exit {proc.poll()}):\n{out.read_text()}")
        time.sleep(0.05)


@pytest.mark.usefixtures("aios_home")
def test_a_killed_run_keeps_its_committed_batches(pg_url: str, tmp_path: Path) -> None:
    ingest(tmp_path)
    server = start_server(latency_s=0.05)
    out = tmp_path / "child.out"
    try:
        # the model answers 7 calls and then stops responding: batches of 3 -> 6 units can be
        # committed, the 7th waits for its batch
        server.hold_after(7)
        with out.open("w") as sink:
            proc = subprocess.Popen([sys.executable, "-c", CHILD, server.url, pg_url],
                                    stdout=sink, stderr=subprocess.STDOUT, cwd=REPO,
                                    env={**os.environ, "PYTHONPATH": str(REPO)})
        wait_for(lambda: "thread: 6/10 written" in out.read_text(), "two batches committed",
                 proc, out)
        wait_for(lambda: server.answered >= 7, "seven answers", proc, out)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert server.answered == 7  # the held calls were never answered

        kept = table()  # the killed run's file, its WAL replayed
        assert [(lv, scope) for lv, scope, *_ in kept] == [
            ("thread", f"t{i:02d}") for i in range(6)]  # the first two batches, in unit order
        assert {m for *_, m, _model in kept} == {"llm"}

        server.release()
        before = server.count("/chat/completions")
        rerun = refresh(llm_for(server, pg_url), llm_concurrency=2, commit_batch=3)
        assert rerun.levels["thread"].recomputed == THREADS - 6  # only what was not written
        assert rerun.levels["thread"].unchanged == 6
        assert server.count("/chat/completions") - before == THREADS - 6 + 2  # + daily, weekly
        resumed = table()
        assert {r[2] for r in kept} <= {r[2] for r in resumed}  # kept rows were not rewritten

        clear()  # an uninterrupted run writes the same table
        refresh(llm_for(server, pg_url), llm_concurrency=2, commit_batch=3)
        assert table() == resumed
    finally:
        server.stop()
