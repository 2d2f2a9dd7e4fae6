"""Whole-pipeline scale benchmark: ingest -> entities (dbt) -> memory -> summaries -> proposals.

Offline tier only (no ``AIOS_LLM_BASE_URL``, the MiniLM embedder in NumPy, embedded Postgres).
For each size the demo business is generated with the project's own generator
(``aios_assets.demo.generate``) and ingested on a fresh ``AIOS_HOME`` by ``aios ingest
--json <the demo's source folders>`` in a subprocess: the operator's code path, which runs the
Dagster job ``ingest_and_update_job`` in-process (ingest, dbt, every memory tier incl. the
embeddings, summaries, agents, gates, cost ledger) and records it in ``$DAGSTER_HOME``. The
per-stage seconds come from that run's step statistics (the in-process executor runs steps one
after another, so the stages add up to the run's time); the rest of the wall time is the
process's start-up (imports, Definitions, the dbt manifest check).

Incremental: every size is generated with its latest 1% of records held back (the same
generator run, its time-ordered records split at a cutoff into a ``base`` folder and a ``day``
folder, each in the input formats; see ``generate_split``). The full build ingests ``base``; at
the largest size the ``day`` folder (~1% new events, "a day of new events") is then ingested on
top through the same command, and ``incremental_s / full_s`` is the ratio whose target is
<= 0.10.

``make demo``: ``aios demo`` (scale 1, fresh ``AIOS_HOME``) timed end to end in a subprocess
(what ``make demo`` runs once the virtualenv exists). Definitions: import of
``aios_assets.definitions`` + repository build in fresh interpreters.

Usage::

    python -m benchmarks.pipeline_bench                       # scales 0.5 and 1 + incremental
    python -m benchmarks.pipeline_bench --sizes 10k 100k 1m   # events (k/m suffix or >= 1000)
    python -m benchmarks.pipeline_bench --sizes 1 2 --skip-demo --skip-incremental

A size is a scale (``2`` ~ 10.9k events over 90 days) or an event count (``10k``, ``100000``,
``1m``: the scale is events / 5,445). Prints a summary and writes
``benchmarks/results/pipeline.json``:

* ``generated_at``, ``command``, ``machine`` (python, cpus, platform), ``loadavg_start`` /
  ``loadavg_end`` (1/5/15 min): the machine is shared and every timing depends on its load;
* ``sizes``: one object per size, smallest first: ``label``, ``scale``, ``days``, ``events``
  (ingested by the full build), ``files``, ``generate_s``, ``seconds`` (the full build's wall
  time: ``aios ingest`` process start to exit), ``run_s`` (the Dagster run), ``startup_s``
  (``seconds - run_s``), ``events_per_s`` (events / seconds), ``stages`` ({stage: seconds}, see
  ``STAGES``), ``steps`` ({step key: seconds}), ``semantic`` (chunks embedded, embed seconds,
  chunks/s), ``loadavg`` (at the start of the build), ``success``;
* ``growth_exponent``: least-squares slope of log(seconds) over log(events) across the sizes
  (1.0 = linear; null with fewer than two sizes); ``growth_exponent_run`` the same for ``run_s``;
  ``growth_pairs``: the exponent between consecutive sizes;
* ``target_100k``: {``events``, ``seconds`` (measured, or estimated when 100k was not run by a
  least-squares fit ``seconds = fit_fixed_s + fit_s_per_event * events`` over the sizes),
  ``measured``, ``method``, ``fit_fixed_s``, ``fit_s_per_event``, ``target_s``: 120, ``met``};
* ``incremental``: {``scale``, ``full_s``, ``full_events``, ``incremental_s``, ``new_events``,
  ``new_fraction``, ``ratio`` (incremental_s / full_s), ``run_ratio`` (the same for the Dagster
  runs only), ``stages``, ``target``: 0.10, ``met``} or null when skipped;
* ``demo``: {``seconds``, ``events``, ``run_s``, ``stages``, ``success``} or null when skipped;
* ``definitions``: {``seconds_all``, ``seconds_median``} or null when skipped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aios_assets.testing.scaling import (
    DEFAULT_DAYS,
    HOLDBACK_FRACTION,
    Size,
    affine_estimate,
    exponent,
    extrapolate,
    generate_split,
    growth_exponent,
    parse_size,
    source_paths,
    stage_seconds,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "pipeline.json"
DEFAULT_SIZES = ("0.5", "1")
TARGET_100K_S = 120.0
TARGET_INCREMENTAL_RATIO = 0.10
DEFINITIONS_PROBE = (
    "import time; t = time.perf_counter(); "
    "from aios_assets.definitions import defs; defs.get_repository_def(); "
    "print(round(time.perf_counter() - t, 3))"
)


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


# --- running the pipeline -----------------------------------------------------------------------


def bench_env(home: Path) -> dict[str, str]:
    """This process's environment without any AIOS_* / DAGSTER_HOME setting (offline tier,
    embedded Postgres), pointed at ``home``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIOS_", "OPENAI_")) and k != "DAGSTER_HOME"}
    env.update(AIOS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    return env


def write_demo_policy(home: Path) -> None:
    """The policy ``aios demo`` writes for the demo operator (so the gates see the same)."""
    from aios_assets.publishing.policy import write_demo_policy as write
    from aios_assets.shared.home import AiosHome

    write(AiosHome.from_env(home).ensure())


def read_run(dagster_home: Path, run_id: str | None = None) -> dict[str, Any]:
    """Step seconds, each step's end (seconds from the run's start), run seconds and a few
    materialization figures of a run (latest if None)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    try:
        if run_id is None:
            runs = instance.get_runs(limit=1)
            if not runs:
                return {}
            run_id = runs[0].run_id
        record = instance.get_run_record_by_id(run_id)
        steps, ends = {}, {}
        for s in instance.get_run_step_stats(run_id):
            if s.start_time is not None and s.end_time is not None:
                steps[s.step_key] = round(s.end_time - s.start_time, 3)
                if record is not None and record.start_time:
                    ends[s.step_key] = round(s.end_time - record.start_time, 3)
        figures: dict[str, Any] = {}
        for entry in instance.all_logs(run_id):
            ev = entry.dagster_event
            if ev is None or ev.event_type_value != "ASSET_MATERIALIZATION":
                continue
            mat = ev.event_specific_data.materialization  # type: ignore[union-attr]
            key = mat.asset_key.to_user_string()
            if key not in ("event_log", "semantic_memory", "summaries"):
                continue
            for name, value in mat.metadata.items():
                v = getattr(value, "value", value)
                if isinstance(v, int | float) and not isinstance(v, bool):
                    figures[f"{key}.{name}"] = v
        run_s = None
        if record is not None and record.start_time and record.end_time:
            run_s = round(record.end_time - record.start_time, 3)
        status = str(record.dagster_run.status.value) if record is not None else None
        return {"run_id": run_id, "status": status, "run_s": run_s, "steps": steps,
                "step_ends": ends, "figures": figures}
    finally:
        instance.dispose()


def run_ingest(home: Path, paths: list[Path], *, timeout_s: float,
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """``aios ingest --json PATHS`` (full pipeline) in a subprocess; wall time + the run.
    ``env``: settings on top of :func:`bench_env` (e.g. an LLM endpoint)."""
    home.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "aios_assets.cli", "ingest", "--json",
            *[str(p) for p in paths]]
    load = loadavg()
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env={**bench_env(home), **(env or {})},
                          capture_output=True, text=True, timeout=timeout_s, check=False)
    seconds = round(time.perf_counter() - started, 3)
    if proc.returncode != 0:
        raise RuntimeError(f"aios ingest failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    run = read_run(home / "dagster", report.get("run_id"))
    figures = run.get("figures", {})
    embedded = figures.get("semantic_memory.embedded_now")
    embed_s = figures.get("semantic_memory.embed_seconds")
    return {
        "seconds": seconds, "run_s": run.get("run_s"),
        "startup_s": None if run.get("run_s") is None else round(seconds - run["run_s"], 3),
        "events_new": report.get("events_new"), "events_read": report.get("events_read"),
        "rejected": report.get("rejected"), "files": len(report.get("files", [])),
        "success": bool(report.get("success")), "run_id": report.get("run_id"),
        "stages": stage_seconds(run.get("steps", {})), "steps": run.get("steps", {}),
        "step_ends": run.get("step_ends", {}),
        "semantic": {
            "units": figures.get("semantic_memory.units"), "embedded_now": embedded,
            "reused_embeddings": figures.get("semantic_memory.reused_embeddings"),
            "embed_s": embed_s,
            "chunks_per_s": round(embedded / embed_s, 1) if embedded and embed_s else None,
        },
        "summaries_recomputed": figures.get("summaries.recomputed"),
        "summaries_backlog": figures.get("summaries.backlog"),
        "loadavg": load,
    }


def stop_postgres(home: Path) -> None:
    """Stop the embedded Postgres this benchmark started under ``home`` (it outlives runs)."""
    if not (home / "pg").exists():
        return
    subprocess.run([sys.executable, "-m", "aios_assets.cli", "pg", "stop"], cwd=ROOT,
                   env=bench_env(home), capture_output=True, text=True, timeout=120,
                   check=False)


@contextmanager
def bench_home(path: Path) -> Iterator[Path]:
    """A fresh AIOS_HOME; its embedded Postgres is stopped on the way out."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        stop_postgres(path)


def bench_size(size: Size, work: Path, *, days: int, seed: int, timeout_s: float,
               incremental: bool, holdback: float = HOLDBACK_FRACTION
               ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Full build of one size on a fresh home (+ the held-back records on top if asked)."""
    data = work / f"data-{size.scale:g}"
    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    gen = generate_split(data / "base", data / "day", scale=size.scale, seed=seed, days=days,
                         holdback_fraction=holdback)
    generate_s = round(time.perf_counter() - started, 3)
    print(f"[{size.label}] scale {size.scale:g}: {gen['base_events']:,} events "
          f"(+{gen['day_events']:,} held back) generated in {generate_s:.1f}s; full build ...",
          flush=True)
    inc: dict[str, Any] | None = None
    with bench_home(work / f"home-{size.scale:g}") as home:
        write_demo_policy(home)
        full = run_ingest(home, source_paths(data / "base"), timeout_s=timeout_s)
        print(f"[{size.label}] full build {full['seconds']:.1f}s (run {full['run_s']}s) "
              f"{_stages_line(full['stages'])}", flush=True)
        if incremental:
            day = run_ingest(home, source_paths(data / "day"), timeout_s=timeout_s)
            new_events = day["events_new"] or 0
            inc = {
                "scale": size.scale, "full_s": full["seconds"], "full_run_s": full["run_s"],
                "full_events": full["events_new"], "incremental_s": day["seconds"],
                "incremental_run_s": day["run_s"], "new_events": new_events,
                "new_fraction": round(new_events / max(1, full["events_new"] or 0), 4),
                "new_span_hours": gen["day_hours"], "cutoff": gen["cutoff"],
                "ratio": round(day["seconds"] / full["seconds"], 4),
                "run_ratio": (round(day["run_s"] / full["run_s"], 4)
                              if day["run_s"] and full["run_s"] else None),
                "stages": day["stages"], "steps": day["steps"], "semantic": day["semantic"],
                "summaries_recomputed": day["summaries_recomputed"],
                "loadavg": day["loadavg"], "success": day["success"],
                "target": TARGET_INCREMENTAL_RATIO,
            }
            inc["met"] = inc["ratio"] <= TARGET_INCREMENTAL_RATIO
            print(f"[{size.label}] incremental +{new_events:,} events: {day['seconds']:.1f}s "
                  f"= {inc['ratio']:.2f} of the full build {_stages_line(day['stages'])}",
                  flush=True)
    shutil.rmtree(data, ignore_errors=True)
    events = full["events_new"] or 0
    point = {
        "label": size.label, "scale": size.scale, "days": days, "events": events,
        "files": full["files"], "generate_s": generate_s,
        "held_back_events": gen["day_events"], "seconds": full["seconds"],
        "run_s": full["run_s"], "startup_s": full["startup_s"],
        "events_per_s": round(events / full["seconds"], 1) if full["seconds"] else None,
        "stages": full["stages"], "steps": full["steps"], "semantic": full["semantic"],
        "summaries_recomputed": full["summaries_recomputed"], "rejected": full["rejected"],
        "loadavg": full["loadavg"], "success": full["success"],
    }
    return point, inc


def bench_demo(work: Path, *, timeout_s: float) -> dict[str, Any]:
    """``aios demo`` (scale 1) on a fresh AIOS_HOME, end to end, in a subprocess."""
    with bench_home(work / "home-demo") as home:
        load = loadavg()
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "aios_assets.cli", "demo"], cwd=ROOT,
                              env=bench_env(home), capture_output=True, text=True,
                              timeout=timeout_s, check=False)
        seconds = round(time.perf_counter() - started, 3)
        if proc.returncode != 0:
            raise RuntimeError(f"aios demo failed ({proc.returncode}): {proc.stderr[-2000:]}")
        m = re.search(r"events ingested\W+([\d,]+)", proc.stdout)  # a rich table row
        run = read_run(home / "dagster")
    return {"seconds": seconds, "events": int(m.group(1).replace(",", "")) if m else None,
            "run_s": run.get("run_s"), "stages": stage_seconds(run.get("steps", {})),
            "success": run.get("status") == "SUCCESS", "loadavg": load}


def bench_definitions(rounds: int, work: Path, *, timeout_s: float = 300) -> dict[str, Any]:
    """Import of ``aios_assets.definitions`` + repository build, in fresh interpreters."""
    times = []
    for _ in range(rounds):
        proc = subprocess.run([sys.executable, "-c", DEFINITIONS_PROBE], cwd=ROOT,
                              env=bench_env(work / "home-defs"),
                              capture_output=True, text=True, timeout=timeout_s, check=True)
        times.append(float(proc.stdout.strip().splitlines()[-1]))
    return {"seconds_all": times, "seconds_median": statistics.median(times)}


# --- report ------------------------------------------------------------------------------------


def _stages_line(stages: dict[str, float]) -> str:
    return "(" + ", ".join(f"{k} {v:.1f}" for k, v in stages.items() if v >= 0.05) + ")"


def summarize(result: dict[str, Any]) -> str:
    lines = ["", "whole pipeline (offline tier), full builds on fresh AIOS_HOMEs:"]
    for p in result["sizes"]:
        lines.append(
            f"  scale {p['scale']:>7g} {p['events']:>9,} events {p['seconds']:>8.1f}s "
            f"({p['events_per_s']:,.0f} events/s; run {p['run_s']}s, start-up "
            f"{p['startup_s']}s)")
        lines.append(f"      {_stages_line(p['stages'])}; embedded "
                     f"{p['semantic']['embedded_now']} chunks at {p['semantic']['chunks_per_s']}"
                     f"/s; load {p['loadavg']}")
    lines.append(f"  growth exponent (wall) {result['growth_exponent']}, (run) "
                 f"{result['growth_exponent_run']}; pairs {result['growth_pairs']}")
    t = result["target_100k"]
    if t["seconds"] is not None:
        how = "measured" if t["measured"] else "estimated by an affine fit"
        lines.append(f"  100k events: {t['seconds']:,.0f}s ({how}; target <= {t['target_s']:.0f}s"
                     f", met: {t['met']})")
    inc = result["incremental"]
    if inc:
        lines.append(f"  incremental: +{inc['new_events']:,} events ({inc['new_fraction']:.1%}) "
                     f"after {inc['full_events']:,}: {inc['incremental_s']:.1f}s vs full "
                     f"{inc['full_s']:.1f}s = ratio {inc['ratio']:.3f} (run {inc['run_ratio']}; "
                     f"target <= {inc['target']}, met: {inc['met']})")
    demo = result["demo"]
    if demo and "error" in demo:
        lines.append(f"  aios demo: failed: {demo['error'][-300:]}")
    elif demo:
        lines.append(f"  aios demo (make demo with the venv built): {demo['seconds']:.1f}s for "
                     f"{demo['events']} events (run {demo['run_s']}s)")
    d = result["definitions"]
    if d and "error" in d:
        lines.append(f"  Definitions load: failed: {d['error'][-300:]}")
    elif d:
        lines.append(f"  Definitions load: median {d['seconds_median']}s ({d['seconds_all']})")
    lines.append(f"  load average start {result['loadavg_start']} end {result['loadavg_end']}")
    return "\n".join(lines)


def _guarded(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``fn(...)``, or {"error": ...} when it fails: the sizes already measured are kept."""
    try:
        return fn(*args, **kwargs)
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as exc:
        print(f"{getattr(fn, '__name__', fn)} failed: {exc}", file=sys.stderr, flush=True)
        return {"error": str(exc)[-2000:]}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES),
                    help="scales (0.5, 2) or events (10k, 100000, 1m); default: 0.5 1")
    ap.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days of history (90)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-incremental", action="store_true",
                    help="no held-back-day run after the largest size's full build")
    ap.add_argument("--holdback", type=float, default=HOLDBACK_FRACTION,
                    help="fraction of the records held back for the incremental run (0.01)")
    ap.add_argument("--skip-demo", action="store_true", help="do not time `aios demo`")
    ap.add_argument("--definitions-rounds", type=int, default=1,
                    help="fresh interpreters importing the Definitions (0: skip)")
    ap.add_argument("--timeout", type=float, default=3 * 3600,
                    help="seconds allowed per pipeline run")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the homes and data go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the AIOS_HOMEs (and the temporary work folder)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    try:
        sizes = sorted({parse_size(s).scale: parse_size(s) for s in args.sizes}.values(),
                       key=lambda s: s.scale)
    except ValueError as exc:
        ap.error(str(exc))

    work = args.workdir or Path(tempfile.mkdtemp(prefix="aios-pipeline-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.pipeline_bench " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "loadavg_start": loadavg(),
    }
    points: list[dict[str, Any]] = []
    incremental = None
    try:
        for i, size in enumerate(sizes):
            last = i == len(sizes) - 1
            point, inc = bench_size(size, work, days=args.days, seed=args.seed,
                                    timeout_s=args.timeout,
                                    incremental=last and not args.skip_incremental,
                                    holdback=args.holdback)
            points.append(point)
            incremental = inc or incremental
        demo = None if args.skip_demo else _guarded(bench_demo, work, timeout_s=args.timeout)
        definitions = (_guarded(bench_definitions, args.definitions_rounds, work)
                       if args.definitions_rounds > 0 else None)
    finally:
        if not args.keep:  # the homes' Postgres servers are already stopped
            if args.workdir is None:
                shutil.rmtree(work, ignore_errors=True)
            else:
                for made in [*work.glob("home-*"), *work.glob("data-*")]:
                    shutil.rmtree(made, ignore_errors=True)

    pts = [(p["events"], p["seconds"]) for p in points]
    run_pts = [(p["events"], p["run_s"]) for p in points if p["run_s"]]
    exp = growth_exponent(pts)
    largest = points[-1]
    measured_100k = next((p for p in points if abs(p["events"] - 100_000) <= 5_000), None)
    fit = affine_estimate(pts, 100_000)
    if measured_100k:
        t100, method = measured_100k["seconds"], "measured"
    elif fit is not None:
        t100, method = fit[0], "affine fit seconds = fixed + per_event * events over the sizes"
    else:
        t100 = extrapolate(largest["events"], largest["seconds"], 100_000, 1.0)
        method = "proportional to the one size measured"
    result.update({
        "sizes": points,
        "growth_exponent": exp,
        "growth_exponent_run": growth_exponent(run_pts),
        "growth_pairs": [
            {"from_events": a["events"], "to_events": b["events"],
             "exponent": exponent(a["events"], a["seconds"], b["events"], b["seconds"])}
            for a, b in itertools.pairwise(points)],
        "target_100k": {"events": 100_000, "seconds": t100,
                        "measured": measured_100k is not None,
                        "method": method,
                        "fit_fixed_s": None if fit is None else fit[1],
                        "fit_s_per_event": None if fit is None else round(fit[2], 6),
                        "target_s": TARGET_100K_S,
                        "met": None if t100 is None else t100 <= TARGET_100K_S},
        "incremental": incremental,
        "demo": demo,
        "definitions": definitions,
        "loadavg_end": loadavg(),
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(summarize(result))
    print(f"wrote {args.out}")
    return 0 if all(p["success"] for p in points) else 1


if __name__ == "__main__":
    sys.exit(main())
