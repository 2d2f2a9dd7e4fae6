"""Recall quality harness: AIOS ``recall`` (and a plain BM25 baseline) on the recall dev sets.

    .venv/bin/python -m benchmarks.recall_eval --devset chats --split dev     # tune on this
    .venv/bin/python -m benchmarks.recall_eval --devset all --split test      # report this
    .venv/bin/python -m benchmarks.recall_eval --devset chats --baseline-only # no ingest

For each dev set (``aios_assets.testing.recall_devsets``; seed 1 = dev, seed 2 = test) it
generates the data into ``<home>/devsets/<set>-<split>`` (``--home``, else a temporary
AIOS_HOME), scores a plain BM25 baseline over the same events, ingests them with the product CLI
(``aios_assets.cli ingest``, which also materializes memory),
asks ``aios_assets.recall(question, k=10, thread=...)``
in-process for every question and reports recall@10 (mean over questions of
``|evidence ∩ top-10| / |evidence|``), recall@5, MRR@10, per category, with and without the
thread filter, and p50/p95 latency per query. Results are merged into
``benchmarks/results/recall_quality.json`` under ``<set>/<split>``.

The BM25 baseline and the metrics live in ``aios_assets.testing.recall_metrics`` (the tests
check them there).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aios_assets.testing.recall_demo_questions import generate_demo
from aios_assets.testing.recall_devsets import generate_chats
from aios_assets.testing.recall_metrics import (
    K,
    Key,
    Outcome,
    Search,
    bm25_search,
    chat_docs,
    demo_docs,
    mean,
    run_questions,
    summarize,
)
from aios_assets.testing.recall_questions import CATEGORIES, SPLIT_SEEDS, DevSet, Question
from aios_assets.testing.scaling import source_paths

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "recall_quality.json"
MODES = ("thread", "no_filter")

# =============================================================================================
# the product
# =============================================================================================


def load_recall() -> tuple[Callable[..., Any] | None, str]:
    """``aios_assets.recall`` if it can be imported, else (None, why not)."""
    try:
        import aios_assets

        fn = getattr(aios_assets, "recall", None)
        if fn is None:
            from aios_assets.memory.recall import recall as fn  # type: ignore[no-redef]
        return fn, ""
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available yet"
        return None, f"{type(exc).__name__}: {exc}"


def _accepts_home() -> bool:
    try:
        from aios_assets.memory.recall import recall

        return "home" in inspect.signature(recall).parameters
    except Exception:  # noqa: BLE001
        return False


def _field(hit: Any, name: str) -> Any:
    return hit.get(name) if isinstance(hit, dict) else getattr(hit, name, None)


def product_search(recall: Callable[..., Any], home: Path) -> Search:
    extra = {"home": str(home)} if _accepts_home() else {}

    def search(q: Question, use_thread: bool) -> list[Key]:
        thread = q.thread if use_thread else None
        hits = recall(q.question, k=K, thread=thread, **extra)
        return [(_field(h, "thread"), str(_field(h, "source_id"))) for h in hits]

    return search


def _cli_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["AIOS_HOME"] = str(home)
    env.setdefault("AIOS_PROGRESS", "0")
    return env


def ingest(home: Path, events_dir: Path) -> tuple[float, str]:
    """Ingest a dev set with the product CLI (subprocess); (seconds, last output lines).

    The demo set's folder also holds the generator's ``ground_truth.json`` and README, which
    are not inputs (the ingest rejects them, exit 3): only its source folders are given, as
    ``aios demo`` does."""
    started = time.perf_counter()
    paths = source_paths(events_dir) or [events_dir]
    proc = subprocess.run(
        [sys.executable, "-m", "aios_assets.cli", "ingest", *map(str, paths)],
        env=_cli_env(home), capture_output=True, text=True, check=False, cwd=ROOT,
    )
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-6:])
    if proc.returncode != 0:
        raise RuntimeError(f"aios ingest failed ({proc.returncode}):\n{tail}")
    return time.perf_counter() - started, tail


def count_current(home: Path, source: str) -> int | None:
    """How many (thread, source_id) pairs of ``source`` survive in ``events_current``."""
    path = home / "warehouse.read.duckdb"
    if not path.exists():
        path = home / "warehouse.duckdb"
    try:
        import duckdb

        with duckdb.connect(str(path), read_only=True) as con:
            row = con.execute(
                "SELECT count(DISTINCT (thread, source_id)) FROM events_current WHERE source = ?",
                [source],
            ).fetchone()
        return int(row[0]) if row else None
    except Exception:  # noqa: BLE001 - a diagnostic only
        return None


def stop_postgres(home: Path) -> None:
    if (home / "pg").exists():
        subprocess.run([sys.executable, "-m", "aios_assets.cli", "pg", "stop"],
                       env=_cli_env(home), capture_output=True, check=False, cwd=ROOT)


# =============================================================================================
# driver
# =============================================================================================


def build_devset(name: str, seed: int, out_dir: Path, conversations: int,
                 scoped_ids: bool) -> DevSet:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    if name == "chats":
        return generate_chats(seed, conversations, out_dir, scoped_ids=scoped_ids)
    return generate_demo(seed, out_dir)


def sizes(ds: DevSet) -> dict[str, Any]:
    cats = Counter(q.category for q in ds.questions)
    out: dict[str, Any] = {"questions": len(ds.questions),
                           "by_category": {c: cats[c] for c in CATEGORIES if cats[c]},
                           "evidence_per_question": mean(len(q.evidence) for q in ds.questions)}
    if ds.name == "chats":
        out.update(conversations=ds.conversations, sessions=ds.sessions, turns=ds.turns)
    else:
        out.update(events=ds.turns, **ds.extra)
    return out


def evaluate_devset(name: str, split: str, seed: int, home: Path, *, conversations: int,
                    scoped_ids: bool, baseline_only: bool, dump: Path | None) -> dict[str, Any]:
    data = home / "devsets" / f"{name}-{split}"
    started = time.perf_counter()
    ds = build_devset(name, seed, data, conversations, scoped_ids)
    gen_s = time.perf_counter() - started
    match_thread = name == "chats" and not scoped_ids
    docs = chat_docs(ds.files) if name == "chats" else demo_docs(ds.events_dir)
    baseline = bm25_search(docs)
    result: dict[str, Any] = {
        "devset": name, "split": split, "seed": seed, "sizes": sizes(ds),
        "generation_s": round(gen_s, 2),
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bm25": {}, "aios": {},
    }
    per_q: dict[str, dict[str, Outcome]] = {}
    for mode in MODES:
        outs = run_questions(ds.questions, baseline, mode == "thread", match_thread)
        result["bm25"][mode] = summarize(outs)
        per_q[f"bm25/{mode}"] = {o.qid: o for o in outs}
    recall, why = (None, "--baseline-only") if baseline_only else load_recall()
    if recall is None:
        result["aios"] = {"unavailable": why}
    else:
        try:
            ingest_s, tail = ingest(home, ds.events_dir)
            result["ingest_s"] = round(ingest_s, 1)
            result["ingest_output"] = tail
            if name == "chats":
                kept = count_current(home, "chat")
                result["chat_turns_current"] = kept
                if kept is not None and kept < ds.turns:
                    print(f"WARNING: only {kept:,} of {ds.turns:,} turns are in events_current "
                          "(turn ids collide across conversations?)", file=sys.stderr)
            search = product_search(recall, home)
            for mode in MODES:
                outs = run_questions(ds.questions, search, mode == "thread", match_thread)
                result["aios"][mode] = summarize(outs)
                per_q[f"aios/{mode}"] = {o.qid: o for o in outs}
        except Exception as exc:  # noqa: BLE001 - report, keep the baseline figures
            result["aios"] = {"error": f"{type(exc).__name__}: {exc}"}
    if dump is not None:
        _dump(dump, ds, per_q)
    return result


def _dump(path: Path, ds: DevSet, per_q: dict[str, dict[str, Outcome]]) -> None:
    """Per-question outcomes as JSONL (for error analysis on the dev split)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for q in ds.questions:
            row: dict[str, Any] = q.to_json()
            row["devset"] = ds.name
            for run, outs in per_q.items():
                o = outs[q.qid]
                row[run] = {"recall@10": o.recall10, "rr": o.rr, "top": list(o.top)}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def merge_results(path: Path, runs: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            data = {}
    data.setdefault("benchmark", "recall quality on aios_assets/testing/recall_devsets.py")
    data.setdefault("metric", "recall@k = mean over questions of |evidence ∩ top-k| / |evidence|")
    data.setdefault("runs", {}).update(runs)
    # the report dates figures by this (a checkout resets the file's time)
    data["generated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def format_table(result: dict[str, Any]) -> str:
    lines = [f"== {result['devset']} / {result['split']} (seed {result['seed']}): "
             + ", ".join(f"{k} {v}" for k, v in result["sizes"].items()
                         if not isinstance(v, dict))]
    header = f"{'system':<18}{'R@10':>7}{'R@5':>7}{'MRR':>7}" + "".join(
        f"{c[:11]:>13}" for c in CATEGORIES) + f"{'p50 ms':>9}{'p95 ms':>9}"
    lines.append(header)
    for system in ("bm25", "aios"):
        for mode in MODES:
            m = result.get(system, {}).get(mode)
            if not m:
                continue
            cats = "".join(f"{m['by_category'].get(c, {}).get('recall@10', float('nan')):>13.3f}"
                           for c in CATEGORIES)
            lines.append(f"{system + '/' + mode:<18}{m['recall@10']:>7.3f}{m['recall@5']:>7.3f}"
                         f"{m['mrr@10']:>7.3f}{cats}{m['latency_ms']['p50']:>9.1f}"
                         f"{m['latency_ms']['p95']:>9.1f}")
    aios = result.get("aios", {})
    for key in ("unavailable", "error"):
        if key in aios:
            lines.append(f"aios: {key}: {aios[key]}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.recall_eval", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devset", choices=("chats", "demo", "all"), default="all")
    ap.add_argument("--split", choices=tuple(SPLIT_SEEDS), default="dev",
                    help="dev = seed 1 (tune on it), test = seed 2 (report it)")
    ap.add_argument("--seed", type=int, default=None, help="override the split's seed")
    ap.add_argument("--conversations", type=int, default=10, help="chat conversations")
    ap.add_argument("--home", type=Path, default=None,
                    help="AIOS_HOME to use (default: a temporary one, deleted afterwards)")
    ap.add_argument("--baseline-only", action="store_true", help="BM25 only, no ingest")
    ap.add_argument("--scoped-ids", action="store_true",
                    help="prefix turn ids with the conversation (unique across threads)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results JSON to merge into")
    ap.add_argument("--dump", type=Path, default=None, help="per-question outcomes (JSONL)")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else SPLIT_SEEDS[args.split]
    split = args.split if args.seed is None else f"{args.split}-seed{seed}"
    names = ("chats", "demo") if args.devset == "all" else (args.devset,)
    temp = args.home is None
    base = Path(tempfile.mkdtemp(prefix="aios-recall-")) if temp else args.home.resolve()
    if args.dump is not None and args.dump.exists():
        args.dump.unlink()
    runs: dict[str, Any] = {}
    try:
        for name in names:
            home = base / f"{name}-{split}" if len(names) > 1 or temp else base
            home.mkdir(parents=True, exist_ok=True)
            result = evaluate_devset(
                name, split, seed, home, conversations=args.conversations,
                scoped_ids=args.scoped_ids, baseline_only=args.baseline_only, dump=args.dump,
            )
            runs[f"{name}/{split}"] = result
            print(format_table(result), flush=True)
            stop_postgres(home)
    finally:
        if temp:
            shutil.rmtree(base, ignore_errors=True)
    merge_results(args.out, runs)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
