"""Hybrid recall over semantic memory: BM25 on units and on their thread context, dense vectors,
neighbouring-turn evidence, speaker awareness, recency, and filters; plus a context pack that
fills a token budget with cited evidence.

Lexical-only units (contact records: no dense vector, ``SemanticIndex.dense`` False) are found
by BM25, entities and cues alone: the dense pool and the median/max that scale dense scores are
taken over units with a vector, so adding contacts changes no other unit's dense score.

``aios_assets.recall`` and ``aios recall`` are thin doors onto :func:`recall`.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from aios_assets.memory.index import SemanticIndex, load_index, tokenize
from aios_assets.shared.text import estimate_tokens

EXACT_MAX = 150_000  # up to this many allowed units the dense score is exact (a mat-vec)
DENSE_WITHOUT_NAMES = True
POOL = 200  # candidates taken from each retriever before fusion


@dataclass(frozen=True)
class Weights:
    """How the signals mix; tuned on the dev split of aios_assets/testing/recall_devsets.py only."""

    unit: float = 0.25
    context: float = 0.35
    dense: float = 0.80
    neighbour: float = 0.40
    speaker: float = 0.50  # the unit's speaker is named in the query
    speaker_thread: float = 1.0  # the unit is in a conversation where a named person speaks
    recency: float = 0.01
    recency_cue: float = 0.15


DEFAULT_WEIGHTS = Weights()
_RECENCY_CUES = re.compile(r"\b(latest|recent(ly)?|current(ly)?|now|newest|last|lately)\b", re.I)


class RecallError(ValueError):
    """A recall request that cannot be answered as asked (bad filter, model mismatch...)."""


@dataclass(frozen=True)
class Hit:
    source_id: str
    event_id: str
    score: float
    text: str
    occurred_at: str
    thread: str | None
    source: str
    kind: str
    actor: str | None
    chunk_id: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ContextPack:
    text: str
    hits: list[Hit]
    tokens: int
    budget: int


def _home(home: str | os.PathLike[str] | None) -> Path:
    from aios_assets.shared.home import AiosHome

    return AiosHome.from_env(home).root


def _parse_when(value: str | date | datetime | None, name: str, end: bool = False) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, 23, 59, 59) if end else \
            datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise RecallError(f"--{name}: {value!r} is not an ISO date or date-time") from None
        if end and len(text) == 10:  # a bare date: include the whole day
            moment = moment.replace(hour=23, minute=59, second=59)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


_embedders: dict[str, Any] = {}
_embedder_lock = threading.Lock()


def _query_vector(index: SemanticIndex, query: str) -> np.ndarray | None:
    if index.dim == 0:
        return None
    from aios_assets.llm.embeddings import make_embedder

    with _embedder_lock:
        embedder = _embedders.get(index.model_id)
        if embedder is None:
            embedder = make_embedder()
            if embedder.model_id != index.model_id:
                raise RecallError(
                    f"the index was embedded with {index.model_id} but the configured "
                    f"embedding model is {embedder.model_id}: rebuild semantic_memory"
                )
            _embedders[index.model_id] = embedder
    return np.asarray(embedder.embed([query])[0], dtype=np.float32)


def _mask(index: SemanticIndex, thread: str | None, entity: str | None,
          since: int | None, until: int | None) -> np.ndarray | None:
    mask: np.ndarray | None = None

    def both(m: np.ndarray) -> None:
        nonlocal mask
        mask = m if mask is None else (mask & m)

    if thread is not None:
        code = index.thread_lookup.get(thread)
        both(index.thread_codes == code if code is not None else np.zeros(index.size, bool))
    if entity is not None:
        rows = index.entity_chunks.get(entity)
        m = np.zeros(index.size, bool)
        if rows is not None:
            m[rows] = True
        both(m)
    if since is not None:
        both(index.epoch >= since)
    if until is not None:
        both(index.epoch <= until)
    return mask


def _dense_scaled(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    # Cosines of a small model sit in a narrow band; spread them between the typical unit
    # (median) and the best one so they weigh like the lexical signals.
    if not reference.size:
        return np.zeros_like(values)
    lo, hi = float(np.median(reference)), float(reference.max())
    if hi <= lo:
        return np.zeros_like(values)
    return np.clip((values - lo) / (hi - lo), 0.0, None)


def dense_pool(values: np.ndarray, has: np.ndarray,
               n: int) -> tuple[np.ndarray, np.ndarray]:
    """Of units' cosines ``values`` and which of them ``has`` a vector: positions (into
    ``values``) of the ``n`` best that have one, and their cosines, the scaling reference.

    A lexical-only unit's zero row is no cosine: counted in, thousands of contact records would
    pull the median down and rescale every other unit's dense score."""
    if has.all():  # the usual case: no copy
        return _top_of(values, n), values
    rows = np.flatnonzero(has)
    reference = values[rows]
    return rows[_top_of(reference, n)], reference


def _top_of(values: np.ndarray, n: int) -> np.ndarray:
    """Positions (into ``values``) of its ``n`` largest entries, unordered."""
    n = min(n, values.size)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == values.size:
        return np.arange(n)
    return np.argpartition(-values, n - 1)[:n]


def _scope(allowed: np.ndarray | None, n: int) -> slice | np.ndarray:
    """The allowed units as a slice when they are one run (cheap views), else as positions."""
    if allowed is None:
        return slice(0, n)
    if allowed.size and int(allowed[-1]) - int(allowed[0]) + 1 == allowed.size:
        return slice(int(allowed[0]), int(allowed[-1]) + 1)
    return allowed


def _lexical(index: SemanticIndex, tokens: list[str],
             scope: slice | np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Raw BM25 of units and of contexts, and their maxima inside the scope."""
    n = index.size
    if not tokens:
        zero = np.zeros(n, np.float32)
        return zero, zero, 0.0, 0.0
    lex_u = np.asarray(index.lex_unit.get_scores(tokens), dtype=np.float32)
    lex_c = np.asarray(index.lex_context.get_scores(tokens), dtype=np.float32)
    return lex_u, lex_c, float(lex_u[scope].max(initial=0.0)), float(lex_c[scope].max(initial=0.0))


def _ann_positions(index: SemanticIndex, qv: np.ndarray, n: int,
                   mask: np.ndarray | None) -> np.ndarray:
    """Approximate nearest units from pgvector (HNSW, cosine), filtered afterwards."""
    from aios_assets.memory.vectors import nearest_hashes
    from resources.postgres import PostgresStore

    store = PostgresStore(home=str(index.home))  # the store the index was built from
    # With a filter, ask for more: some of the nearest fall outside it.
    hashes = nearest_hashes(store, index.model_id, index.dim, qv, n if mask is None else n * 2)
    found = np.asarray(index.positions_of(hashes), dtype=np.int64)
    # a content hash shared with a lexical-only unit (or embedded by an older build) maps to
    # positions without a vector too: those are no dense candidates
    if found.size:
        found = found[index.dense[found]]
    if mask is not None and found.size:
        found = found[mask[found]]
    return found


def neighbour_evidence(index: SemanticIndex, cand: np.ndarray, base: np.ndarray) -> np.ndarray:
    """The better of the previous and next unit's score (0 when outside the candidates).

    A unit with no neighbour at all (an invoice, a note, a one-off e-mail) stands for itself:
    otherwise every record outside a conversation would lose this bonus to any chat turn."""
    order = np.argsort(cand)
    sorted_cand = cand[order]

    def look(positions: np.ndarray) -> np.ndarray:
        at = np.clip(np.searchsorted(sorted_cand, positions), 0, max(0, cand.size - 1))
        found = (positions >= 0) & (sorted_cand[at] == positions) if cand.size else positions < -1
        return np.where(found, base[order[at]], 0.0)

    prev, nxt = index.prev[cand], index.next[cand]
    best = np.maximum(look(prev), look(nxt))
    alone = (prev < 0) & (nxt < 0)
    return np.where(alone, base, best)


class _Laps:
    """Seconds per stage into ``timings`` (benchmarks/recall_bench.py reads them); no-op if None."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        if self.timings is None:
            return
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
        self.last = now


def score_units(index: SemanticIndex, query: str, *, mask: np.ndarray | None,
                weights: Weights = DEFAULT_WEIGHTS,
                timings: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate unit positions and their fused scores (unsorted)."""
    lap = _Laps(timings)
    n = index.size
    allowed = None if mask is None else np.flatnonzero(mask)
    if n == 0 or (allowed is not None and allowed.size == 0):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    # Names of speakers leave the text query and become the speaker signal below: otherwise
    # every short turn of that person ("Rosa: Same here!") matches a question about Rosa.
    # An organization ("Acme": where a speaker writes from, their address's domain) is a cue
    # too, but stays a query word: an invoice or a note about Acme names it.
    words = re.findall(r"[a-z]+", query.lower())
    names = {w for w in words if w in index.actor_names}
    orgs = {w for w in words if w in index.org_names} - names
    content = re.sub(r"\b(" + "|".join(map(re.escape, names)) + r")('s)?\b", " ", query,
                     flags=re.I) if names else query
    if not content.strip(" ?.!,"):
        content = query
    tokens = tokenize(content)
    scope = _scope(allowed, n)
    lap("names_and_tokenize")
    lex_u, lex_c, max_u, max_c = _lexical(index, tokens, scope)
    wu = weights.unit / max_u if max_u > 0 else 0.0
    wc = weights.context / max_c if max_c > 0 else 0.0
    lap("bm25_scores")
    qv = _query_vector(index, content if DENSE_WITHOUT_NAMES else query)
    lap("query_embedding")

    pool: list[np.ndarray] = []
    if max_u > 0 or max_c > 0:
        lex = wu * lex_u[scope] + wc * lex_c[scope]
        hit = np.flatnonzero(lex)  # most units share no word with the query
        top = hit[_top_of(lex[hit], POOL)]
        pool.append(top + scope.start if isinstance(scope, slice) else scope[top])
    lap("lexical_top")
    dense_scope: np.ndarray | None = None
    if qv is not None:
        size = allowed.size if allowed is not None else n
        if size <= EXACT_MAX:
            top, dense_scope = dense_pool(index.vectors[scope] @ qv, index.dense[scope], POOL)
            pool.append(top + scope.start if isinstance(scope, slice) else scope[top])
            lap("dense_exact")
        else:  # too many units for an exact pass: ask pgvector's HNSW index
            pool.append(_ann_positions(index, qv, POOL, mask))
            lap("dense_ann_pgvector")
    if not pool:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    cand = np.unique(np.concatenate(pool))
    # Neighbours join the pool: the evidence is often the reply to a matching question.
    near = np.concatenate([index.prev[cand], index.next[cand]])
    cand = np.unique(np.concatenate([cand, near[near >= 0]]))
    if mask is not None:
        cand = cand[mask[cand]]
    lap("candidates_and_neighbours")

    if qv is not None:
        has = index.dense[cand]
        dense_c = index.vectors[cand] @ qv
        reference = dense_scope if dense_scope is not None else dense_c[has]
        # a lexical-only unit's dense contribution is exactly 0
        dense_c = np.where(has, _dense_scaled(dense_c, reference), 0.0)
    else:
        dense_c = np.zeros(cand.size, dtype=np.float32)
    base = wu * lex_u[cand] + wc * lex_c[cand] + weights.dense * dense_c
    lap("dense_rescore")

    score = base + weights.neighbour * neighbour_evidence(index, cand, base)

    for cued, who, where in ((names, index.actors, index.actor_threads),
                             (orgs, index.orgs, index.org_threads)):
        if not cued:
            continue
        named = np.fromiter((s in cued for s in who[cand]), dtype=bool, count=cand.size)
        if named.any():
            score = score + weights.speaker * named * score
        threads = [where[n] for n in cued if n in where]
        if threads:
            inside = np.isin(index.thread_codes[cand], np.concatenate(threads))
            score = score + weights.speaker_thread * inside * score
    if index.epoch.size:
        ep = index.epoch[cand].astype(np.float64)
        span = float(ep.max() - ep.min())
        if span > 0:
            w = weights.recency_cue if _RECENCY_CUES.search(query) else weights.recency
            score = score + w * (ep - ep.min()) / span
    lap("fusion")
    return cand, score


def recall(
    query: str,
    *,
    k: int = 10,
    thread: str | None = None,
    entity: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    home: str | os.PathLike[str] | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
    timings: dict[str, float] | None = None,
) -> list[Hit]:
    """The ``k`` best pieces of evidence for ``query``, best first, each citing its event.

    ``timings``, if given, receives seconds per stage (for benchmarks)."""
    if not isinstance(query, str) or not query.strip():
        raise RecallError("the query is empty")
    if k < 1:
        raise RecallError(f"k must be at least 1, got {k}")
    index = load_index(_home(home))
    lo = _parse_when(since, "since")
    hi = _parse_when(until, "until", end=True)
    if lo is not None and hi is not None and lo > hi:
        raise RecallError("--since is after --until")
    lap = _Laps(timings)
    mask = _mask(index, thread, entity, lo, hi)
    lap("filters")
    cand, score = score_units(index, query, mask=mask, weights=weights, timings=timings)
    lap.last = time.perf_counter()
    order = cand[np.argsort(-score, kind="stable")]
    scores = dict(zip(cand.tolist(), score.tolist(), strict=True))
    hits: list[Hit] = []
    seen: set[str] = set()
    meta = index.meta
    for pos in order.tolist():
        row = meta.row(pos, named=True)
        if row["event_id"] in seen:  # two windows of one long email: cite the event once
            continue
        seen.add(row["event_id"])
        hits.append(Hit(
            source_id=row["source_id"], event_id=row["event_id"], score=round(scores[pos], 6),
            text=row["text"], occurred_at=row["occurred_at"].isoformat(), thread=row["thread"],
            source=row["source"], kind=row["kind"], actor=row["actor"], chunk_id=row["chunk_id"],
        ))
        if len(hits) == k:
            break
    lap("hits")
    return hits


def render_hit(hit: Hit) -> str:
    return f"[{hit.source}:{hit.source_id} · {hit.occurred_at[:10]}] {hit.text}"


def context_pack(query: str, *, budget_tokens: int = 1500, k: int = 50,
                 **filters: Any) -> ContextPack:
    """As many of the best hits as fit ``budget_tokens``, each line citing its source id."""
    if budget_tokens < 1:
        raise RecallError("the token budget must be positive")
    lines: list[str] = []
    used = 0
    taken: list[Hit] = []
    for hit in recall(query, k=k, **filters):
        line = render_hit(hit)
        cost = estimate_tokens(line) + 1
        if used + cost > budget_tokens:
            continue
        lines.append(line)
        taken.append(hit)
        used += cost
    return ContextPack(text="\n".join(lines), hits=taken, tokens=used, budget=budget_tokens)
