"""Recall quality harness: AIOS ``recall`` (and a plain BM25 baseline) on the recall dev sets.

    .venv/bin/python -m benchmarks.recall_eval --devset chats --split dev     # tune on this
    .venv/bin/python -m benchmarks.recall_eval --devset all --split test      # report this
    .venv/bin/python -m benchmarks.recall_eval --devset chats --baseline-only # no ingest

For each dev set (``benchmarks.recall_devsets``; seed 1 = dev, seed 2 = test) it generates the
data into ``<home>/devsets/<set>-<split>`` (``--home``, else a temporary AIOS_HOME), scores a plain
BM25 baseline over the same events, ingests them with the product CLI (``aios_assets.cli ingest``,
which also materializes memory), asks ``aios_assets.recall(question, k=10, thread=...)``
in-process for every question and reports recall@10 (mean over questions of
``|evidence ∩ top-10| / |evidence|``), recall@5, MRR@10, per category, with and without the
thread filter, and p50/p95 latency per query. Results are merged into
``benchmarks/results/recall_quality.json`` under ``<set>/<split>``.

The baseline is only there to calibrate how hard the sets are: ``"speaker: text [photo caption]"``
per turn (subject, speaker and text for business events), lowercase alphanumeric tokens minus
English stop words, no stemming, BM25 (k1 = 1.5, b = 0.75, Lucene idf).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.recall_devsets import (
    CATEGORIES,
    SPLIT_SEEDS,
    DevSet,
    Question,
    generate_chats,
    generate_demo,
    iter_demo_events,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "recall_quality.json"
K = 10
MODES = ("thread", "no_filter")

# =============================================================================================
# plain BM25 baseline
# =============================================================================================

_STOPWORDS_TEXT = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves s t don ll re ve m d
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


@dataclass(frozen=True)
class Doc:
    source_id: str
    thread: str | None
    text: str


class BM25:
    """Okapi BM25 over an inverted index (Lucene idf), with an optional allowed-doc filter."""

    def __init__(self, docs: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths: list[int] = []
        for i, text in enumerate(docs):
            tokens = tokenize(text)
            self.lengths.append(len(tokens))
            for term, tf in Counter(tokens).items():
                self.postings[term].append((i, tf))
        n = len(self.lengths)
        self.avgdl = (sum(self.lengths) / n) if n else 0.0
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5))
                    for t, p in self.postings.items()}

    def search(self, query: str, k: int, allowed: set[int] | None = None) -> list[int]:
        scores: dict[int, float] = defaultdict(float)
        for term in set(tokenize(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in self.postings[term]:
                if allowed is not None and i not in allowed:
                    continue
                norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avgdl)
                scores[i] += idf * tf * (self.k1 + 1) / (tf + norm)
        return sorted(scores, key=lambda i: (-scores[i], i))[:k]


def chat_docs(files: Iterable[Path]) -> list[Doc]:
    docs = []
    for path in files:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            text = f"{row.get('actor') or ''}: {row['text']}"
            if row.get("blip_caption"):
                text += f" [shares a photo: {row['blip_caption']}]"
            docs.append(Doc(row["source_id"], row.get("thread"), text))
    return docs


def demo_docs(events_dir: Path) -> list[Doc]:
    return [
        Doc(e.source_id, e.thread, " ".join(x for x in (e.subject, e.actor, e.text) if x))
        for e in iter_demo_events(events_dir)
    ]


# =============================================================================================
# metrics
# =============================================================================================

Key = tuple[str | None, str]
Search = Callable[[Question, bool], list[Key]]  # (question, use thread filter) -> ranked keys


@dataclass(frozen=True)
class Outcome:
    qid: str
    category: str
    recall10: float
    recall5: float
    rr: float
    latency_ms: float
    top: tuple[str, ...]


def _evidence_keys(q: Question, match_thread: bool) -> set[Key]:
    return {(q.thread if match_thread else None, e) for e in q.evidence}


def score_question(q: Question, ranked: Sequence[Key], match_thread: bool,
                   latency_ms: float = 0.0) -> Outcome:
    gold = _evidence_keys(q, match_thread)
    keys = [(t if match_thread else None, s) for t, s in ranked]
    keys = list(dict.fromkeys(keys))[:K]  # the same source_id twice counts once

    def recall_at(k: int) -> float:
        return len(gold & set(keys[:k])) / len(gold) if gold else 0.0

    rr = next((1.0 / r for r, key in enumerate(keys, start=1) if key in gold), 0.0)
    return Outcome(q.qid, q.category, recall_at(10), recall_at(5), rr, latency_ms,
                   tuple(s for _, s in keys))


def _pct(values: Sequence[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else 0.0


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    def block(rows: Sequence[Outcome]) -> dict[str, Any]:
        return {"n": len(rows), "recall@10": _mean(o.recall10 for o in rows),
                "recall@5": _mean(o.recall5 for o in rows), "mrr@10": _mean(o.rr for o in rows)}

    out = block(outcomes)
    out["by_category"] = {c: block([o for o in outcomes if o.category == c])
                          for c in CATEGORIES if any(o.category == c for o in outcomes)}
    lat = [o.latency_ms for o in outcomes]
    out["latency_ms"] = {"p50": round(_pct(lat, 50), 2), "p95": round(_pct(lat, 95), 2),
                         "first": round(lat[0], 2) if lat else 0.0}
    return out


def run_questions(questions: Sequence[Question], search: Search, use_thread: bool,
                  match_thread: bool) -> list[Outcome]:
    outcomes = []
    for q in questions:
        started = time.perf_counter()
        ranked = search(q, use_thread)
        ms = (time.perf_counter() - started) * 1000
        outcomes.append(score_question(q, ranked, match_thread, ms))
    return outcomes


def bm25_search(docs: Sequence[Doc]) -> Search:
    index = BM25([d.text for d in docs])
    by_thread: dict[str | None, set[int]] = defaultdict(set)
    for i, d in enumerate(docs):
        by_thread[d.thread].add(i)

    def search(q: Question, use_thread: bool) -> list[Key]:
        allowed = by_thread.get(q.thread, set()) if use_thread and q.thread else None
        return [(docs[i].thread, docs[i].source_id) for i in index.search(q.question, K, allowed)]

    return search


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
    """Ingest a dev set with the product CLI (subprocess); (seconds, last output lines)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "aios_assets.cli", "ingest", str(events_dir)],
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
                           "evidence_per_question": _mean(len(q.evidence) for q in ds.questions)}
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
    data.setdefault("benchmark", "recall quality on benchmarks/recall_devsets.py")
    data.setdefault("metric", "recall@k = mean over questions of |evidence ∩ top-k| / |evidence|")
    data.setdefault("runs", {}).update(runs)
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
