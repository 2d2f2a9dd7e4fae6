"""First build against a slow LLM (issue 19): how many model calls a new home makes and how long
it waits for them.

The demo business at ``--scale`` is ingested on a fresh home (``aios ingest``, the whole
pipeline) with ``AIOS_LLM_BASE_URL`` pointing at the loopback OpenAI-compatible test server
(``aios_assets/testing/openai_server.py``), which answers every chat call after ``--latency``
seconds: a hosted or local model that takes its time, without its variance. Reported:

* LLM calls (seen by the server) per 1,000 events, and per model (the cheap tier and the
  escalations to the strong one);
* the first build's wall time, and the time until proposals exist (process start to the end of
  the ``action_proposals`` step) against the target (≤ 300 s at scale 1 with 1 s a call);
* the summaries step's seconds and the most calls the server saw in flight at once
  (``AIOS_LLM_CONCURRENCY``, default 4);
* the backlog: the first build writes the current week's summaries only (scope ``priority``);
  ``summaries_backfill_job`` (what ``summaries_backfill_sensor`` starts) is then run on the
  same home, timed, with its LLM calls counted: ``all_summaries_filled_s`` = the first build
  + the backfill, one after the other (the sensor starts it within a minute of the build).

``python -m benchmarks.llm_first_build_bench --scale 1 --latency 1`` is the ``make bench``
step; ``tests/test_llm_first_build_bench.py`` runs it tiny.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aios_assets.demo.writer import generate
from aios_assets.testing.openai_server import OpenAIServer
from aios_assets.testing.scaling import source_paths
from benchmarks.pipeline_bench import (
    ROOT,
    bench_env,
    bench_home,
    loadavg,
    read_run,
    run_ingest,
    write_demo_policy,
)

RESULTS = ROOT / "benchmarks" / "results" / "llm_first_build.json"

TARGET_UNTIL_PROPOSALS_S = 300.0  # scale 1, 1 s a call
PROPOSALS_STEP = "action_proposals"
BACKFILL_JOB = "summaries_backfill_job"

def run_backfill(home: Path, *, timeout_s: float, env: dict[str, str]) -> dict[str, Any]:
    """``aios summaries-fill`` (``summaries_backfill_job`` in-process, as the sensor would start
    it) in a subprocess on ``home``: wall time + the run (the home's latest: no daemon here)."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "aios_assets.cli", "summaries-fill"],
                          cwd=ROOT, env={**bench_env(home), **env}, capture_output=True,
                          text=True, timeout=timeout_s, check=False)
    seconds = round(time.perf_counter() - started, 3)
    if proc.returncode != 0:
        raise RuntimeError(f"{BACKFILL_JOB} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    run = read_run(home / "dagster")
    figures = run.get("figures", {})
    return {"seconds": seconds, "run_s": run.get("run_s"),
            "success": run.get("status") == "SUCCESS",
            "recomputed": figures.get("summaries.recomputed"),
            "backlog_after": figures.get("summaries.backlog")}


def bench(scale: float, latency_s: float, work: Path, *, days: int, seed: int,
          timeout_s: float, concurrency: int | None = None,
          backfill: bool = True) -> dict[str, Any]:
    """The first build, then (``backfill``) ``summaries_backfill_job``: without it the run
    measures only the time until proposals, the issue's target (at scale 1 the backfill alone
    is about 20 minutes of calls)."""
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    generated = generate(data, seed=seed, days=days, scale=scale)
    load = loadavg()
    with OpenAIServer(latency_s=latency_s) as server, bench_home(work / "home") as home:
        write_demo_policy(home)
        env = {"AIOS_LLM_BASE_URL": server.url, "OPENAI_API_KEY": "bench-key"}
        if concurrency is not None:
            env["AIOS_LLM_CONCURRENCY"] = str(concurrency)
        full = run_ingest(home, source_paths(data), timeout_s=timeout_s, env=env)
        calls = server.count("/v1/chat/completions")
        by_model = Counter(r.model for r in server.chat_requests)
        in_flight = server.max_in_flight
        proposals_s = full["step_ends"].get(PROPOSALS_STEP)
        if backfill:
            filled = run_backfill(home, timeout_s=timeout_s, env=env)
        else:
            filled = {"seconds": None, "run_s": None, "success": True, "recomputed": None,
                      "backlog_after": None}
        backfill_calls = server.count("/v1/chat/completions") - calls
    shutil.rmtree(data, ignore_errors=True)
    events = full["events_new"] or 0
    until = (None if proposals_s is None or full["startup_s"] is None
             else round(full["startup_s"] + proposals_s, 3))
    return {
        "scale": scale, "days": days, "events": events, "generated_events": generated.events,
        "latency_s": latency_s, "llm_calls": calls, "calls_by_model": dict(by_model),
        "calls_per_1k_events": round(1000 * calls / events, 1) if events else None,
        "max_in_flight": in_flight, "first_build_s": full["seconds"], "run_s": full["run_s"],
        "until_proposals_s": until,
        "summaries_s": full["steps"].get("summaries"),
        "summaries_recomputed": full["summaries_recomputed"],
        "summaries_backlog": full["summaries_backlog"],
        "target_until_proposals_s": TARGET_UNTIL_PROPOSALS_S,
        "met": None if until is None or scale < 1 else until <= TARGET_UNTIL_PROPOSALS_S,
        "backfill_s": filled["seconds"], "backfill_run_s": filled["run_s"],
        "backfill_recomputed": filled["recomputed"],
        "backfill_backlog_after": filled["backlog_after"],
        "backfill_llm_calls": backfill_calls if backfill else None,
        "llm_calls_total": calls + backfill_calls if backfill else None,
        "all_summaries_filled_s": (round(full["seconds"] + filled["seconds"], 3)
                                   if backfill else None),
        "success": full["success"] and filled["success"], "loadavg": load,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0,
                    help="demo scale (1 = `aios demo`'s business: about 5.4k events in 90 days)")
    ap.add_argument("--latency", type=float, default=1.0, help="seconds per LLM call (1)")
    ap.add_argument("--concurrency", type=int, default=None,
                    help="AIOS_LLM_CONCURRENCY for the run (default: the product's, 4)")
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--no-backfill", action="store_true",
                    help="stop after the first build (the time until proposals)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aios-llm-bench-") as tmp:
        result = bench(args.scale, args.latency, Path(tmp), days=args.days, seed=args.seed,
                       timeout_s=args.timeout, concurrency=args.concurrency,
                       backfill=not args.no_backfill)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # the report dates figures by generated_at (a checkout resets the file's time)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    args.out.write_text(json.dumps({"generated_at": stamp, **result}, indent=2) + "\n")
    print(f"{result['events']:,} events, {result['llm_calls']:,} LLM calls "
          f"({result['calls_per_1k_events']} per 1k events) at {args.latency:g} s a call, "
          f"at most {result['max_in_flight']} at once: first build {result['first_build_s']}s, "
          f"proposals after {result['until_proposals_s']}s, summaries {result['summaries_s']}s "
          f"({result['summaries_backlog']} left)"
          + ("" if args.no_backfill else
             f"; backfill {result['backfill_s']}s ({result['backfill_llm_calls']:,} calls): "
             f"all summaries filled after {result['all_summaries_filled_s']}s"), flush=True)
    return 0 if result["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
