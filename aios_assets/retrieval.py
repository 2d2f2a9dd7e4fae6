"""Hybrid recall over semantic memory: BM25 on units and on their thread context, dense vectors,
neighbouring-turn evidence, speaker awareness, recency, and filters; plus a context pack that
fills a token budget with cited evidence.

``aios_assets.recall`` and ``aios recall`` are thin doors onto :func:`recall`.
"""

from __future__ import annotations

import math
import os
import re
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from aios_assets.memory.index import SemanticIndex, load_index, tokenize

EXACT_MAX = 150_000  # up to this many allowed units the dense score is exact (a mat-vec)
DENSE_WITHOUT_NAMES = True
POOL = 200  # candidates taken from each retriever before fusion


@dataclass(frozen=True)
class Weights:
    """How the signals mix; tuned on the dev split of benchmarks/recall_devsets.py only."""

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
    from resources.home import AiosHome

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
    from resources.embeddings import EmbeddingsResource

    with _embedder_lock:
        embedder = _embedders.get(index.model_id)
        if embedder is None:
            embedder = EmbeddingsResource().get_embedder()
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


def _scaled(values: np.ndarray) -> np.ndarray:
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def _dense_scaled(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    # Cosines of a small model sit in a narrow band; spread them between the typical unit
    # (median) and the best one so they weigh like the lexical signals.
    if not reference.size:
        return np.zeros_like(values)
    lo, hi = float(np.median(reference)), float(reference.max())
    if hi <= lo:
        return np.zeros_like(values)
    return np.clip((values - lo) / (hi - lo), 0.0, None)


def _top(values: np.ndarray, allowed: np.ndarray | None, n: int) -> np.ndarray:
    if allowed is not None:
        sub = values[allowed]
        n = min(n, sub.size)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        part = np.argpartition(-sub, n - 1)[:n]
        return allowed[part]
    n = min(n, values.size)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    return np.argpartition(-values, n - 1)[:n]


_pg_lock = threading.Lock()
_pg_con: Any = None


def _ann_positions(index: SemanticIndex, qv: np.ndarray, n: int,
                   mask: np.ndarray | None) -> np.ndarray:
    """Approximate nearest units from pgvector (HNSW, cosine), filtered afterwards."""
    global _pg_con
    import psycopg
    from pgvector.psycopg import register_vector

    from resources.postgres import resolve_url

    with _pg_lock:
        if _pg_con is None or _pg_con.closed:
            _pg_con = psycopg.connect(resolve_url(), autocommit=True)
            register_vector(_pg_con)
            _pg_con.execute("SET hnsw.ef_search = 200")
            _pg_con.execute("SET hnsw.iterative_scan = relaxed_order")
        rows = _pg_con.execute(
            f"SELECT content_hash FROM aios.embeddings_{index.dim} WHERE model = %s "
            "ORDER BY embedding <=> %s LIMIT %s", (index.model_id, qv, n * 2),
        ).fetchall()
    found = np.asarray(index.positions_of([r[0] for r in rows]), dtype=np.int64)
    if mask is not None and found.size:
        found = found[mask[found]]
    return found


def score_units(index: SemanticIndex, query: str, *, mask: np.ndarray | None,
                weights: Weights = DEFAULT_WEIGHTS) -> tuple[np.ndarray, np.ndarray]:
    """Candidate unit positions and their fused scores (unsorted)."""
    n = index.size
    allowed = None if mask is None else np.flatnonzero(mask)
    if n == 0 or (allowed is not None and allowed.size == 0):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    # Names of speakers leave the text query and become the speaker signal below: otherwise
    # every short turn of that person ("Rosa: Same here!") matches a question about Rosa.
    words = re.findall(r"[a-z]+", query.lower())
    names = {w for w in words if w in index.actor_names}
    content = re.sub(r"\b(" + "|".join(map(re.escape, names)) + r")('s)?\b", " ", query,
                     flags=re.I) if names else query
    if not content.strip(" ?.!,"):
        content = query
    tokens = tokenize(content)
    lex_u = np.asarray(index.lex_unit.get_scores(tokens), dtype=np.float32) if tokens else \
        np.zeros(n, np.float32)
    lex_c = np.asarray(index.lex_context.get_scores(tokens), dtype=np.float32) if tokens else \
        np.zeros(n, np.float32)
    if mask is not None:
        lex_u = np.where(mask, lex_u, 0)
        lex_c = np.where(mask, lex_c, 0)
    lex_u, lex_c = _scaled(lex_u), _scaled(lex_c)
    qv = _query_vector(index, content if DENSE_WITHOUT_NAMES else query)

    pool = [_top(weights.unit * lex_u + weights.context * lex_c, allowed, POOL)]
    dense_all: np.ndarray | None = None
    if qv is not None:
        scope = allowed if allowed is not None else np.arange(n)
        if scope.size <= EXACT_MAX:
            dense_scope = np.asarray(index.vectors[scope], dtype=np.float32) @ qv
            dense_all = np.full(n, -1.0, dtype=np.float32)
            dense_all[scope] = dense_scope
            pool.append(scope[np.argpartition(-dense_scope, min(POOL, scope.size) - 1)[:POOL]])
        else:  # too many units for an exact pass: ask pgvector's HNSW index
            pool.append(_ann_positions(index, qv, POOL, mask))
    cand = np.unique(np.concatenate(pool))
    # Neighbours join the pool: the evidence is often the reply to a matching question.
    near = np.concatenate([index.prev[cand], index.next[cand]])
    cand = np.unique(np.concatenate([cand, near[near >= 0]]))
    if mask is not None:
        cand = cand[mask[cand]]

    if qv is not None:
        dense_c = (dense_all[cand] if dense_all is not None
                   else np.asarray(index.vectors[cand], dtype=np.float32) @ qv)
        reference = dense_all[allowed if allowed is not None else slice(None)] \
            if dense_all is not None else dense_c
        dense_c = _dense_scaled(dense_c, reference)
    else:
        dense_c = np.zeros(cand.size, dtype=np.float32)
    base = weights.unit * lex_u[cand] + weights.context * lex_c[cand] + weights.dense * dense_c

    # Neighbour evidence: the better of the previous and next unit's own score.
    pos = {int(p): i for i, p in enumerate(cand)}
    prev_s = np.array([base[pos[p]] if (p := int(index.prev[c])) in pos else 0.0 for c in cand])
    next_s = np.array([base[pos[q]] if (q := int(index.next[c])) in pos else 0.0 for c in cand])
    score = base + weights.neighbour * np.maximum(prev_s, next_s)

    if names:
        speakers = index.actors[cand]
        named = np.fromiter((s in names for s in speakers), dtype=bool, count=cand.size)
        if named.any():
            score = score + weights.speaker * named * score
        threads = [index.actor_threads[n] for n in names if n in index.actor_threads]
        if threads:
            inside = np.isin(index.thread_codes[cand], np.concatenate(threads))
            score = score + weights.speaker_thread * inside * score
    if index.epoch.size:
        ep = index.epoch[cand].astype(np.float64)
        span = float(ep.max() - ep.min())
        if span > 0:
            w = weights.recency_cue if _RECENCY_CUES.search(query) else weights.recency
            score = score + w * (ep - ep.min()) / span
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
) -> list[Hit]:
    """The ``k`` best pieces of evidence for ``query``, best first, each citing its event."""
    if not isinstance(query, str) or not query.strip():
        raise RecallError("the query is empty")
    if k < 1:
        raise RecallError(f"k must be at least 1, got {k}")
    index = load_index(_home(home))
    lo = _parse_when(since, "since")
    hi = _parse_when(until, "until", end=True)
    if lo is not None and hi is not None and lo > hi:
        raise RecallError("--since is after --until")
    mask = _mask(index, thread, entity, lo, hi)
    cand, score = score_units(index, query, mask=mask, weights=weights)
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
    return hits


def estimate_tokens(text: str) -> int:
    """About four characters a token: the rule every budget in AIOS uses."""
    return math.ceil(len(text) / 4)


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
