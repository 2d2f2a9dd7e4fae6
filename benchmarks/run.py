"""``make bench``: run the benchmarks at modest sizes and write the report.

Each benchmark runs as its own subprocess (its output goes to ``benchmarks/results/logs/``) with
a time limit; a failed or timed-out step is reported as such and the rest still run. Then the
headline figures are read from the steps' JSON results and written to
``benchmarks/results/report.json`` and ``benchmarks/results/REPORT.md`` (figure, value, target,
met?). Sizes are chosen so the whole run fits in 30 minutes on the 2-core machine; the machine's
load average at the start and end is recorded, since other work on it skews every timing.

Usage: ``python -m benchmarks.run [--only ingest definitions ...] [--skip recall_bench ...]
[--ingest-events N] [--report-only]`` (``--report-only`` rebuilds the report from the results
already on disk).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
LOGS = RESULTS / "logs"
PY = sys.executable

DEFINITIONS_PROBE = (
    "import time; t = time.perf_counter(); "
    "from aios_assets.definitions import defs; defs.get_repository_def(); "
    "print(round(time.perf_counter() - t, 3))"
)


@dataclass(frozen=True)
class Step:
    name: str
    argv: list[str]
    timeout_s: int
    result: str  # JSON file under benchmarks/results the step writes


STEPS = [
    Step("ingest", [PY, "-m", "benchmarks.ingest_bench", "--events", "100000", "--rounds", "3"],
         600, "ingest.json"),
    Step("definitions", [PY, "-m", "benchmarks.run", "--definitions-probe"], 300,
         "definitions.json"),
    Step("er_bench", [PY, "-m", "benchmarks.er_bench", "--quick"], 900, "er.json"),
    Step("er_speed", [PY, "-m", "benchmarks.er_bench", "--speed-only"], 900, "er.json"),
    Step("recall_eval", [PY, "-m", "benchmarks.recall_eval", "--devset", "chats", "--split",
                         "dev"], 900, "recall_quality.json"),
    Step("recall_bench", [PY, "-m", "benchmarks.recall_bench", "--sizes", "100000"], 1200,
         "recall_latency.json"),
    Step("facts_bench", [PY, "-m", "benchmarks.facts_bench"], 600, "facts.json"),
    Step("pipeline", [PY, "-m", "benchmarks.pipeline_bench", "--sizes", "0.5", "2",
                      "--definitions-rounds", "1"], 1500, "pipeline.json"),
    Step("llm_economy", [PY, "-m", "benchmarks.llm_economy_bench", "--days", "7"], 600,
         "llm_economy.json"),
    Step("embeddings", [PY, "-m", "benchmarks.embeddings_bench"], 600, "embeddings.json"),
    Step("imap", [PY, "-m", "benchmarks.imap_bench", "--messages", "10000"], 1500, "imap.json"),
    # scale 1 until proposals (the target), then scale 0.3 with the backfill (at scale 1 the
    # backfill alone is about 20 minutes of calls)
    Step("llm_first_build_scale1", [PY, "-m", "benchmarks.llm_first_build_bench", "--scale", "1",
                                    "--latency", "1", "--no-backfill", "--out",
                                    "benchmarks/results/llm_first_build_scale1.json"], 1800,
         "llm_first_build_scale1.json"),
    Step("llm_first_build", [PY, "-m", "benchmarks.llm_first_build_bench", "--scale", "0.3",
                             "--latency", "1"], 1800, "llm_first_build.json"),
]


def definitions_probe(rounds: int = 3) -> dict[str, Any]:
    """Median wall time of importing the Definitions and building the repository, in fresh
    interpreters (what the UI, the daemon and every ``aios`` run pay)."""
    from aios_assets.entities.dbt_manifest import ensure_dbt_manifest

    ensure_dbt_manifest()  # a stale manifest would add a dbt parse to the first round
    times = []
    for _ in range(rounds):
        proc = subprocess.run([PY, "-c", DEFINITIONS_PROBE], cwd=ROOT, capture_output=True,
                              text=True, timeout=300, check=True)
        times.append(float(proc.stdout.strip().splitlines()[-1]))
    out = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "rounds": rounds, "seconds_all": times, "seconds_median": statistics.median(times),
           "loadavg": [round(x, 2) for x in os.getloadavg()]}
    (RESULTS / "definitions.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"definitions load: median {out['seconds_median']}s over {rounds} fresh interpreters")
    return out


def run_step(step: Step) -> dict[str, Any]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{step.name}.log"
    started = time.monotonic()
    status = "ok"
    with log.open("w") as fh:
        fh.write(f"$ {' '.join(step.argv)}\n")
        fh.flush()
        try:
            proc = subprocess.run(step.argv, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                  timeout=step.timeout_s, check=False)
            status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        except subprocess.TimeoutExpired:
            status = f"timed out after {step.timeout_s}s"
    took = round(time.monotonic() - started, 1)
    print(f"[bench] {step.name}: {status} in {took}s (log: {log.relative_to(ROOT)})", flush=True)
    return {"status": status, "seconds": took, "command": " ".join(step.argv[1:]),
            "log": str(log.relative_to(ROOT))}


# --- the report ----------------------------------------------------------------------------------


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / name
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


Figure = dict[str, Any]


@functools.cache
def _run_date(source: str) -> str:
    """The run's own date (a checkout resets file times); the file's time when it has none.
    Cached: every figure of a file asks, and the report is written once per process."""
    stamp = str(_get(_load(source), "generated_at") or "")
    if stamp:
        return stamp[:16].replace("T", " ")
    return datetime.fromtimestamp((RESULTS / source).stat().st_mtime, UTC).strftime(
        "%Y-%m-%d %H:%M")


def _fig(figure: str, value: Any, unit: str = "", target: str = "—",
         met: Callable[[Any], bool] | None = None, source: str = "",
         run_of: str | None = None) -> Figure:
    """One figure; ``run_of`` dates it when part of ``source`` has its own run (er.json's
    ``speed``), else the file's run date does."""
    ok = None if value is None or met is None else bool(met(value))
    path = RESULTS / source
    when = _run_date(source) if source and path.exists() else None
    if run_of:
        when = run_of[:16].replace("T", " ")
    return {"figure": figure, "value": value, "unit": unit, "target": target, "met": ok,
            "source": source, "source_written": when}


def figures() -> list[Figure]:
    out: list[Figure] = []
    ing = _load("ingest.json")
    n = f"{_get(ing, 'events') or 0:,}"
    out += [
        _fig(f"Ingest JSONL into the event log (loader, {n} events)",
             _get(ing, "loader", "events_per_s"), "events/s", "≥ 20,000", lambda v: v >= 20_000,
             "ingest.json"),
        _fig(f"Re-ingest of the unchanged {n}-event file", _get(ing, "loader",
             "reingest_unchanged_s"), "s", source="ingest.json"),
        _fig("Ingest of a 1% new-events file / full ingest",
             _get(ing, "loader", "new_1pct_file_ratio"), "ratio", "≤ 0.10",
             lambda v: v <= 0.10, "ingest.json"),
        _fig("Re-export with 1% edited records / full ingest",
             _get(ing, "loader", "reexport_1pct_edited_ratio"), "ratio", source="ingest.json"),
        _fig("`aios ingest --no-materialize` of a 10-event file (median, a home in use)",
             _get(ing, "cli", "fixed_cost_s"), "s", "≤ 3", lambda v: v <= 3.0, "ingest.json"),
        _fig("`aios ingest --no-materialize` of a 10-event file into a new home",
             _get(ing, "cli", "first_tiny_file_s"), "s", source="ingest.json"),
        _fig(f"`aios ingest` {n} events end to end", _get(ing, "cli", "events_per_s_end_to_end"),
             "events/s", source="ingest.json"),
    ]
    defs = _load("definitions.json")
    out.append(_fig("Definitions load (fresh interpreter, median)",
                    _get(defs, "seconds_median"), "s", source="definitions.json"))
    out += _embedder_figures("embeddings.json")
    er = _load("er.json")
    for name, q in (_get(er, "quality") or {}).items():
        f1, base = _get(q, "aios", "f1"), _get(q, "standard_splink", "f1")
        prf = [_get(q, "aios", k) for k in ("precision", "recall", "f1")]
        # precision first: a wrong merge mails the wrong person
        out.append(_fig(f"ER precision / recall / F1 on {name}",
                        None if None in prf else " / ".join(f"{v:.3f}" for v in prf), "",
                        source="er.json"))
        if f1 is not None and base:
            out.append(_fig(f"ER F1 ratio vs standard Splink on {name}", round(f1 / base, 3),
                            "ratio", "≥ 1.0", lambda v: v >= 1.0, "er.json"))
        tuned = _get(q, "tuned_splink", "f1")
        if tuned is not None:  # the second baseline (FEBRL sets): issue 14's tuned model
            tprf = [_get(q, "tuned_splink", k) for k in ("precision", "recall", "f1")]
            out.append(_fig(f"ER tuned Splink precision / recall / F1 on {name}",
                            " / ".join(f"{v:.3f}" for v in tprf), "", source="er.json"))
            if f1 is not None:
                out.append(_fig(f"ER F1 ratio vs tuned Splink on {name}", round(f1 / tuned, 3),
                                "ratio", "≥ 1.0", lambda v: v >= 1.0, "er.json"))
        lost = _get(q, "aios", "records_lost")
        if lost is not None:
            out.append(_fig(f"ER records lost (input minus membership) on {name}", lost,
                            "records", "0", lambda v: v == 0, "er.json"))
    speed = _get(er, "speed") or {}
    e2e = speed.get("dbt_end_to_end") or {}
    n_er = f"{speed.get('records') or 0:,}"
    run_of = speed.get("generated_at")
    out += [
        _fig(f"ER {n_er} contact records: `dbt build` end to end",
             e2e.get("dbt_build_s"), "s", "< 60", lambda v: v < 60, "er.json", run_of),
        _fig("ER +1% new records: `dbt build` / full `dbt build`",
             e2e.get("ratio_plus_1pct_to_full"), "ratio", "≤ 0.10", lambda v: v <= 0.10,
             "er.json", run_of),
        _fig("ER nothing new: `dbt build` / full `dbt build` (dbt's fixed cost)",
             e2e.get("ratio_nothing_new_to_full"), "ratio", source="er.json", run_of=run_of),
        _fig(f"ER {n_er} records: `resolve()` full run", _get(speed, "full_run", "seconds"),
             "s", source="er.json", run_of=run_of),
        _fig("ER +1% new records: `resolve_update` / `resolve()`",
             _get(speed, "incremental_plus_1pct", "ratio_to_full"), "ratio", "≤ 0.10",
             lambda v: v <= 0.10, "er.json", run_of),
    ]
    runs = _get(_load("recall_quality.json"), "runs") or {}
    for name in ("chats/dev", "demo/dev"):
        rq = runs.get(name)
        if rq is None:
            continue
        when = rq.get("updated_at")  # each dev set has its own run
        for scope in ("no_filter", "thread"):
            ours = _get(rq, "aios", scope, "recall@10")
            bm25 = _get(rq, "bm25", scope, "recall@10")
            out.append(_fig(f"Recall@10 {name} ({scope})", ours, "",
                            source="recall_quality.json", run_of=when))
            if ours is not None and bm25:
                out.append(_fig(f"Recall@10 ratio vs BM25 {name} ({scope})",
                                round(ours / bm25, 3), "ratio", "≥ 1.0", lambda v: v >= 1.0,
                                "recall_quality.json", when))
    lat = _get(_load("recall_latency.json"), "sizes", "100000")
    out += [
        _fig("Recall p50 at 100k chunks (unfiltered)",
             _get(lat, "recall_latency", "unfiltered", "p50_ms"), "ms",
             source="recall_latency.json"),
        _fig("Recall p95 at 100k chunks (unfiltered)",
             _get(lat, "recall_latency", "unfiltered", "p95_ms"), "ms", "≤ 50 (at 1M)",
             lambda v: v <= 50, "recall_latency.json"),
        _fig("pgvector HNSW p95 at 100k", _get(lat, "ann", "pgvector_hnsw_limit200", "p95_ms"),
             "ms", "≤ 50", lambda v: v <= 50, "recall_latency.json"),
        _fig("pgvector HNSW recall@10 vs exact at 100k",
             _get(lat, "ann", "pgvector_hnsw_limit200", "recall_at_10"), "",
             source="recall_latency.json"),
        _fig("DuckDB vss HNSW p95 at 100k", _get(lat, "ann", "duckdb_vss_hnsw_top200", "p95_ms"),
             "ms", "≤ 50", lambda v: v <= 50, "recall_latency.json"),
        _fig("DuckDB vss HNSW recall@10 vs exact at 100k",
             _get(lat, "ann", "duckdb_vss_hnsw_top200", "recall_at_10"), "",
             source="recall_latency.json"),
    ]
    big = _get(_load("recall_latency.json"), "sizes", "1000000")
    if big:  # from `recall_bench --sizes 1000000` (not part of make bench: ~1 h of setup)
        when = str(big.get("started_at", ""))[:10]
        for scope in ("unfiltered", "thread", "dates_wide", "dates_narrow"):
            out.append(_fig(f"Recall p95 at 1M chunks ({scope}; run of {when})",
                            _get(big, "recall_latency", scope, "p95_ms"), "ms", "≤ 50",
                            lambda v: v <= 50, "recall_latency.json"))
        out += [
            _fig(f"pgvector HNSW p95 at 1M (run of {when})",
                 _get(big, "ann", "pgvector_hnsw_limit200", "p95_ms"), "ms",
                 source="recall_latency.json"),
            _fig(f"pgvector HNSW recall@10 vs exact at 1M (synthetic near-duplicate vectors; "
                 f"run of {when})", _get(big, "ann", "pgvector_hnsw_limit200", "recall_at_10"),
                 "", source="recall_latency.json"),
        ]
    facts = _load("facts.json")
    out.append(_fig("Entity facts recall (in-scope ground truth)",
                    _get(facts, "recall", "recall"), "", source="facts.json"))
    out += _pipeline_figures("pipeline.json")
    llm = _load("llm_economy.json")
    days = _get(llm, "days") or 7
    out += [
        _fig(f"LLM dollars, {days}-day operator week: cache + tiering / every call strong",
             _get(llm, "usd_ratio"), "ratio", "≤ 0.25", lambda v: v <= 0.25,
             "llm_economy.json"),
        _fig("LLM paid tokens, cache + tiering / every call strong", _get(llm, "token_ratio"),
             "ratio", source="llm_economy.json"),
        _fig("LLM dollars, tiering alone (cache hits paid) / every call strong",
             _get(llm, "usd_ratio_tiering_only"), "ratio", source="llm_economy.json"),
    ]
    out += _imap_figures("imap.json")
    out += _llm_first_build_figures("llm_first_build_scale1.json")
    out += _llm_first_build_figures("llm_first_build.json")
    return out


def _embedder_figures(name: str) -> list[Figure]:
    """The offline embedder at its default batch size, and against the FLOP bound."""
    from resources.embeddings import OFFLINE_BATCH_SIZE

    emb = _load(name)
    batch = str(OFFLINE_BATCH_SIZE)
    peak = _get(emb, "sgemm_peak", "gflop_per_s")
    out = [_fig("NumPy float32 matrix product on this machine (the embedder's bound)", peak,
                "GFLOP/s", source=name)]
    for section, what in (("short_chat_turns", "~20-word chat turns"),
                          ("chunks_100_words", "~100-word chunks")):
        at = _get(emb, section, "by_batch_size", batch) or {}
        out += [
            _fig(f"Offline embedder, {what} (batch {batch})", at.get("texts_per_s"),
                 "texts/s", source=name),
            _fig(f"Offline embedder, {what}: share of the FLOP bound (padding share)",
                 None if "share_of_sgemm_peak" not in at
                 else f"{at['share_of_sgemm_peak']:.2f} ({at['padding_flops_share']:.2f})",
                 "ratio", source=name),
        ]
    return out


def _llm_first_build_figures(name: str) -> list[Figure]:
    first = _load(name)
    if first is None:
        return []
    where = (f"scale {_get(first, 'scale')} demo ({_get(first, 'events') or 0:,} events), "
             f"{_get(first, 'latency_s')} s a call")
    return [
        _fig(f"First build against a slow LLM, {where}: until proposals exist",
             _get(first, "until_proposals_s"), "s", "≤ 300 (scale 1, 1 s a call)",
             (lambda v: v <= 300) if first.get("scale") == 1 and first.get("latency_s") == 1
             else None, name),
        _fig(f"First build against a slow LLM, {where}: LLM calls per 1k events",
             _get(first, "calls_per_1k_events"), "calls", source=name),
        _fig(f"First build against a slow LLM, {where}: the summaries step (current week; "
             "summaries left for the backfill)",
             None if first.get("summaries_s") is None
             else f"{first['summaries_s']:.0f} ({first.get('summaries_backlog', 0):,} left)",
             "s", source=name),
    ] + ([] if first.get("backfill_s") is None else [  # --no-backfill: the first build only
        _fig(f"First build against a slow LLM, {where}: then summaries_backfill_job "
             "(its LLM calls)",
             f"{first['backfill_s']:.0f} ({first.get('backfill_llm_calls', 0):,} calls)",
             "s", source=name),
        _fig(f"First build against a slow LLM, {where}: all summaries written after",
             _get(first, "all_summaries_filled_s"), "s", source=name),
    ])


def _imap_figures(name: str) -> list[Figure]:
    imap = _load(name)
    if imap is None:
        return []
    sync = _get(imap, "sync") or {}
    n = f"{sync.get('messages') or 0:,}"
    lag = _get(imap, "lag") or {}
    trials = lag.get("trials")
    return [
        _fig(f"IMAP sync from a local Dovecot, {n} messages: fetch + stage (sensor ticks)",
             _get(sync, "fetch_stage", "messages_per_s"), "messages/s", source=name),
        _fig(f"IMAP sync, {n} messages: the ingest_job run into the event log",
             _get(sync, "ingest", "messages_per_s"), "messages/s", source=name),
        _fig(f"IMAP sync, {n} messages: lost + duplicated (events or staged copies) + "
             "flagged \\Seen", _imap_faults(sync), "messages", "0", lambda v: v == 0, name),
        _fig(f"IMAP arrival → recall on a warm home (tick, ingest run, automation run, "
             f"recall; median of {trials or 0}; sensor intervals not included)",
             lag.get("seconds_median"), "s", source=name),
    ]


def _imap_faults(sync: dict[str, Any]) -> int | None:
    fs, ing = sync.get("fetch_stage"), sync.get("ingest")
    if not fs or not ing:
        return None
    lost = sync["messages"] - ing["distinct_message_ids"]
    doubled = ing["email_events"] - ing["distinct_message_ids"] + fs["staged_more_than_once"]
    return lost + doubled + sync["flagged_seen"]


def _pipeline_figures(name: str) -> list[Figure]:
    pipe = _load(name)
    if pipe is None:
        return []
    out = []
    sizes = _get(pipe, "sizes") or []
    for size in sizes:
        out.append(_fig(f"Whole pipeline, {size.get('events') or 0:,} demo events (ingest → "
                        "entities → memory → proposals, offline tier)", size.get("seconds"), "s",
                        source=name))
    t100 = _get(pipe, "target_100k") or {}
    if len(sizes) > 1 or t100.get("measured"):
        how = "measured" if t100.get("measured") else "fitted from the sizes above"
        out += [
            _fig(f"Whole pipeline at 100k events ({how})", t100.get("seconds"), "s", "≤ 120",
                 lambda v: v <= 120, name),
            _fig("Whole pipeline growth exponent (time vs events)",
                 _get(pipe, "growth_exponent"), "", "≤ 1.0", lambda v: v <= 1.0, name),
        ]
    inc = _get(pipe, "incremental")
    if inc:
        out.append(_fig(f"A day of new events ({inc.get('new_events') or 0:,}, ≈1%) after a "
                        f"full build of {inc.get('full_events') or 0:,} / the full build",
                        inc.get("ratio"), "ratio", "≤ 0.10", lambda v: v <= 0.10, name))
    if _get(pipe, "demo", "seconds") is not None:
        out.append(_fig("`aios demo` (what `make demo` runs), scale 1, wall time",
                        _get(pipe, "demo", "seconds"), "s", source=name))
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_report(steps: dict[str, Any], load: dict[str, Any], elapsed_s: float | None) -> None:
    figs = figures()
    report = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": "make bench (python -m benchmarks.run)",
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform(), **load},
              "elapsed_s": elapsed_s, "steps": steps, "figures": figs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    this_run = f"took {_cell(elapsed_s)} s" if elapsed_s else "only rebuilt the report"
    lines = [
        "# AIOS benchmark report",
        "",
        (f"Generated {report['generated_at']} by `make bench` on {os.cpu_count()} CPUs "
         f"(load average at start {load.get('loadavg_start')}, at end "
         f"{load.get('loadavg_end')}; the machine is shared, so timings are noisy: medians "
         "from one run)."),
        "",
        *figure_table(figs),
        "",
        (f"Steps: {_cell(sum(x.get('seconds') or 0 for x in steps.values()))} s in all; this "
         f"run {this_run} (target for a whole `make bench`: under 30 minutes)."),
        "",
        "| step | status | seconds | command |",
        "|---|---|---|---|",
        *[f"| {name} | {s['status']} | {s['seconds']} | `{s['command']}` |"
          for name, s in steps.items()],
        "",
        "Raw results: the JSON files beside this report; step logs under `logs/`.",
        "",
    ]
    (RESULTS / "REPORT.md").write_text("\n".join(lines))
    sync_readme(figs, report["generated_at"])
    print("\n".join(lines))


def figure_table(figs: list[Figure]) -> list[str]:
    mark = {True: "yes", False: "**no**", None: "—"}
    return [
        "| figure | value | unit | target | met? | from (run of, UTC) |",
        "|---|---|---|---|---|---|",
        *[f"| {f['figure']} | {_cell(f['value'])} | {f['unit']} | {f['target']} | "
          f"{mark[f['met']]} | {f['source']} ({f['source_written'] or 'missing'}) |"
          for f in figs],
    ]


README = ROOT / "README.md"
README_START = "<!-- bench:start (written by `make bench`; edits inside are overwritten) -->"
README_END = "<!-- bench:end -->"


def sync_readme(figs: list[Figure], generated_at: str) -> None:
    """Put the figures table into the README between its markers (docs follow the results)."""
    try:
        text = README.read_text()
    except OSError:
        return
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return
    body = [README_START, "", (f"From `make bench`, report of {generated_at} "
                               "([benchmarks/results/REPORT.md](benchmarks/results/REPORT.md)):"),
            "",
            *figure_table(figs), ""]
    README.write_text(text[:start] + "\n".join(body) + "\n" + text[end:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [s.name for s in STEPS]
    ap.add_argument("--only", nargs="+", choices=names, help="run just these steps")
    ap.add_argument("--skip", nargs="+", choices=names, default=[], help="skip these steps")
    ap.add_argument("--report-only", action="store_true", help="rebuild the report only")
    ap.add_argument("--ingest-events", type=int, default=100_000,
                    help="events in the ingest benchmark's file")
    ap.add_argument("--definitions-probe", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.definitions_probe:
        definitions_probe()
        return 0
    previous = _get(_load("report.json"), "steps") or {}
    load = {"loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    started = time.monotonic()
    steps: dict[str, Any] = dict(previous)
    if not args.report_only:
        for step in STEPS:
            if (args.only and step.name not in args.only) or step.name in args.skip:
                continue
            if step.name == "ingest":
                argv = [a if a != "100000" else str(args.ingest_events) for a in step.argv]
                step = Step(step.name, argv, step.timeout_s, step.result)
            steps[step.name] = run_step(step)
    load["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    elapsed = None if args.report_only else round(time.monotonic() - started, 1)
    write_report(steps, load, elapsed)
    failed = [n for n, s in steps.items() if s["status"] != "ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
