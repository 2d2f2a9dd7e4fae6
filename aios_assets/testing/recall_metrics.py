"""Scoring for the recall dev sets: a plain BM25 baseline and recall@k / MRR per question.

The baseline is only there to calibrate how hard the sets are: ``"speaker: text [photo
caption]"`` per turn (subject, speaker and text for business events), lowercase alphanumeric
tokens minus English stop words, no stemming, BM25 (k1 = 1.5, b = 0.75, Lucene idf). The
harness is ``benchmarks.recall_eval``; ``tests/test_recall_devsets.py`` checks these metrics.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aios_assets.testing.recall_demo_questions import iter_demo_events
from aios_assets.testing.recall_questions import CATEGORIES, Question

K = 10

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


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else 0.0


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    def block(rows: Sequence[Outcome]) -> dict[str, Any]:
        return {"n": len(rows), "recall@10": mean(o.recall10 for o in rows),
                "recall@5": mean(o.recall5 for o in rows), "mrr@10": mean(o.rr for o in rows)}

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
