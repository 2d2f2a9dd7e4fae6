"""``benchmarks/llm_first_build_bench.py`` at a tiny size: the demo business on a fresh home
against the loopback OpenAI-compatible server with a fixed latency. Run as a subprocess, as
``make bench`` runs it (it points AIOS_HOME at its own home and starts its embedded Postgres)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_tiny_first_build_counts_calls_and_bounds_concurrency(tmp_path: Path) -> None:
    out = tmp_path / "llm_first_build.json"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIOS_", "OPENAI_")) and k != "DAGSTER_HOME"}
    # a short private folder: the embedded Postgres's socket path has a 107-byte limit
    short = Path(tempfile.mkdtemp(prefix="aios-lb-", dir="/tmp"))
    env["TMPDIR"] = str(short)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.llm_first_build_bench", "--scale", "0.05",
             "--days", "14", "--latency", "0.05", "--concurrency", "3", "--out", str(out)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    finally:
        shutil.rmtree(short, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["success"] and data["events"] > 0
    # the summaries (and the agents) went to the endpoint, at most 3 at a time, more than 1
    assert data["summaries_recomputed"] > 0
    assert data["llm_calls"] >= data["summaries_recomputed"]
    assert sum(data["calls_by_model"].values()) == data["llm_calls"]
    assert data["calls_per_1k_events"] == round(1000 * data["llm_calls"] / data["events"], 1)
    assert 1 < data["max_in_flight"] <= 3
    assert 0 < data["until_proposals_s"] <= data["first_build_s"]
    assert data["met"] is None  # the target is for scale 1 only
    # the first build wrote the current week's summaries; the backfill job wrote exactly the
    # backlog it left, with one or two calls each, and left none
    assert data["summaries_backlog"] > 0
    assert data["backfill_recomputed"] == data["summaries_backlog"]
    assert data["backfill_backlog_after"] == 0
    assert data["backfill_llm_calls"] >= data["backfill_recomputed"]
    assert data["llm_calls_total"] == data["llm_calls"] + data["backfill_llm_calls"]
    assert data["all_summaries_filled_s"] == round(
        data["first_build_s"] + data["backfill_s"], 3)
    assert 0 < data["backfill_run_s"] <= data["backfill_s"]
