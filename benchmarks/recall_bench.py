"""Recall latency at scale: ``aios_assets.retrieval.recall`` over N semantic chunks.

    .venv/bin/python -m benchmarks.recall_bench --sizes 100000 1000000 [--queries 200]
        [--sample 20000] [--noise 0.03] [--skip-duckdb] [--hnsw-timeout 1800] [--keep]

For each N it builds, in a temporary AIOS_HOME:

* **texts** — chat turns of ``benchmarks.recall_devsets.generate_conversation`` (seed 31, not a
  dev/test seed), one conversation per thread cut at 300 turns, until N chunks: ~N/300 threads
  spread over 2022-2025 (every conversation has its own start date and 6-12 month span).
  Speaker entity ids (``person:<name>``) are attached to every chunk.
* **vectors** — one per content hash. ``--hash-mode chunk`` (default) hashes chunk id + text, so
  every chunk has its own vector as with real mail/notes (the generator repeats stock phrases:
  with the product's text hash, ``--hash-mode text``, only ~52% of 100k chunks are distinct).
  The first ``--sample`` distinct texts are embedded for real with the offline MiniLM; every other
  vector is a real one (its own text's if embedded, else a random one) plus gaussian noise
  (sigma ``--noise`` per dimension), re-normalised. That keeps the real distribution (clusters
  around real sentences, cosine to the parent ~0.86) without embedding a million texts; the
  figures are latency figures, not quality figures.
* **index** — ``aios_assets.memory.index.build_index`` (BM25 x2 + float16 vectors + parquet),
  timed per part by wrapping ``tokenize`` and ``_save_bm25`` of that module in this process.
* **Postgres** — the embedded server of that home; the DDL of ``semantic.pg_ddl`` without its
  HNSW index, vectors COPYed in binary, ``aios.semantic_chunks`` COPYed, then the HNSW index
  created after the load (maintenance_work_mem 2GB, 2 parallel maintenance workers).
* **DuckDB** — the same distinct vectors in an in-memory ``FLOAT[384]`` table with a ``vss``
  HNSW index (cosine).

Then it measures (model load and first-use caches excluded by a warm-up): ``recall(k=10)``
unfiltered, ``thread=``-filtered, and since/until-filtered (60-day and 365-day windows); a
per-stage breakdown from a step-by-step replica of ``score_units`` (checked equal to it); ANN
latency of pgvector and DuckDB (top 200) and their recall@10/@200 against exact numpy search;
and candidate fixes (``prototypes``). Results merge into ``benchmarks/results/recall_latency.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import hashlib
import io
import json
import os
import platform
import pstats
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "recall_latency.json"
SEED = 31
THREAD_TURNS = 300
SAMPLE = 20_000
NOISE = 0.03
POOL = 200
CACHE_DIR = Path(tempfile.gettempdir()) / "aios_recall_bench_cache"


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


def pct(values: Iterable[float]) -> dict[str, float]:
    a = np.asarray(list(values), dtype=np.float64) * 1000.0
    if not a.size:
        return {}
    return {"n": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2),
            "mean_ms": round(float(a.mean()), 2), "max_ms": round(float(a.max()), 2)}


def blas_threads(n: int | None = None) -> int | None:
    """Get (and with ``n``, set) numpy's OpenBLAS thread count in this process (via ctypes, as
    threadpoolctl does; None when numpy's BLAS is not scipy-openblas)."""
    import ctypes

    maps = Path("/proc/self/maps").read_text().splitlines()
    paths = sorted({ln.split()[-1] for ln in maps
                    if "openblas" in ln.lower() and ln.split()[-1].startswith("/")})
    for path in paths:
        lib = ctypes.CDLL(path)
        if hasattr(lib, "scipy_openblas_set_num_threads64_"):
            if n is not None:
                lib.scipy_openblas_set_num_threads64_(n)
            return int(lib.scipy_openblas_get_num_threads64_())
    return None


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# =============================================================================================
# corpus
# =============================================================================================


@dataclass
class Corpus:
    chunks: list  # list[Chunk], thread order
    entity_ids: list[list[str]]
    questions: list  # list[Question] of complete threads
    threads: int
    hashes: list[str]  # distinct content hashes (one vector each), first-appearance order
    texts: list[str]  # distinct texts, first-appearance order
    text_of_row: np.ndarray  # vector row -> distinct text
    rows_of: np.ndarray  # chunk -> vector row
    seconds: float


def build_corpus(n: int, hash_mode: str, seed: int = SEED) -> Corpus:
    """``hash_mode="text"``: the product's content hash (identical texts share a vector);
    ``"chunk"``: a hash per chunk (every chunk has its own vector, as in real mail/notes where
    exact duplicates are rare; the generator repeats stock phrases far more than real data)."""
    from dataclasses import replace

    from aios_assets.memory.chunks import chunk_hash, chunks_for_event, order_chunks
    from benchmarks.recall_devsets import generate_conversation, load_catalogue

    started = time.perf_counter()
    cat = load_catalogue()
    chunks: list = []
    questions: list = []
    i = 0
    while len(chunks) < n:
        conv = generate_conversation(seed, i, catalogue=cat)
        i += 1
        rows = conv.rows[:THREAD_TURNS]
        kept = {r["source_id"] for r in rows}
        for r in rows:
            payload = {"blip_caption": r["blip_caption"]} if r.get("blip_caption") else None
            chunks.extend(chunks_for_event({
                "event_id": f"{conv.thread}:{r['source_id']}", "source": "chat",
                "source_id": r["source_id"], "kind": r["kind"], "actor": r["actor"],
                "thread": conv.thread, "subject": None, "text": r["text"], "payload": payload,
                "occurred_at": datetime.fromisoformat(r["occurred_at"]),
            }))
        questions.extend(q for q in conv.questions if set(q.evidence) <= kept)
    chunks = chunks[:n]
    if hash_mode == "chunk":
        chunks = [replace(c, content_hash=chunk_hash(f"{c.chunk_id}\n{c.text}")) for c in chunks]
    chunks = order_chunks(chunks)
    threads = len({c.thread for c in chunks})
    entity_ids = [[f"person:{(c.actor or '').lower()}"] for c in chunks]
    text_ix: dict[str, int] = {}
    row_ix: dict[str, int] = {}
    text_of_row: list[int] = []
    rows_of = np.empty(len(chunks), dtype=np.int64)
    for j, c in enumerate(chunks):
        t = text_ix.setdefault(c.text, len(text_ix))
        r = row_ix.get(c.content_hash)
        if r is None:
            r = row_ix[c.content_hash] = len(text_of_row)
            text_of_row.append(t)
        rows_of[j] = r
    last = chunks[-1].thread  # the last thread may be cut short: its questions are dropped
    questions = [q for q in questions if q.thread != last]
    return Corpus(chunks, entity_ids, questions, threads, list(row_ix), list(text_ix),
                  np.asarray(text_of_row, dtype=np.int64), rows_of, time.perf_counter() - started)


# =============================================================================================
# vectors
# =============================================================================================


def embed_cached(embedder: Any, texts: list[str]) -> tuple[np.ndarray, float, bool]:
    """Vectors of ``texts`` (cached on disk by the texts' digest); (vectors, seconds, cached)."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE_DIR / f"minilm-{len(texts)}-{digest}.npy"
    if path.exists():
        return np.load(path), 0.0, True
    started = time.perf_counter()
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    for s in range(0, len(texts), 256):
        out[s:s + 256] = embedder.embed(texts[s:s + 256])
        if s and s % 5120 == 0:
            log(f"  embedded {s:,}/{len(texts):,}")
    seconds = time.perf_counter() - started
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out, seconds, False


def synth_vectors(real: np.ndarray, text_of_row: np.ndarray, sigma: float, seed: int
                  ) -> tuple[np.ndarray, dict]:
    """One unit row per vector row. A row whose text was embedded gets that vector (its first
    row exactly, later rows, i.e. duplicate texts in ``chunk`` hash mode, a noisy copy); any
    other row a noisy copy of a random real vector."""
    rng = np.random.default_rng(seed)
    s, dim = real.shape
    total = text_of_row.size
    out = np.empty((total, dim), dtype=np.float32)
    first = np.zeros(total, dtype=bool)
    _, first_rows = np.unique(text_of_row, return_index=True)
    first[first_rows] = True
    exact = first & (text_of_row < s)
    out[exact] = real[text_of_row[exact]]
    todo = np.flatnonzero(~exact)
    parents = np.where(text_of_row[todo] < s, text_of_row[todo],
                       rng.integers(0, s, size=todo.size))
    cos_parent: list[float] = []
    for b in range(0, todo.size, 65536):
        rows, par = todo[b:b + 65536], parents[b:b + 65536]
        x = real[par] + rng.standard_normal((rows.size, dim), dtype=np.float32) * sigma
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[rows] = x
        cos_parent.append(float(np.mean(np.einsum("ij,ij->i", x, real[par]))))
    # How clustered is it? Nearest-neighbour cosine of 200 real rows among real rows vs all rows.
    probe = real[rng.choice(s, size=min(200, s), replace=False)]
    nn_real = np.sort(probe @ real.T, axis=1)[:, -2].mean()
    nn_all = np.sort(probe @ out[:min(total, 300_000)].T, axis=1)[:, -2].mean()
    return out, {"real_rows": int(exact.sum()), "synthetic_rows": int(todo.size),
                 "mean_cosine_to_parent": round(float(np.mean(cos_parent)), 4) if cos_parent
                 else None, "nn_cosine_real_only": round(float(nn_real), 4),
                 "nn_cosine_with_synthetic_first_300k": round(float(nn_all), 4)}


# =============================================================================================
# index (timed parts)
# =============================================================================================


def build_index_timed(home_root: Path, corpus: Corpus, vectors16: np.ndarray,
                      model_id: str) -> dict:
    from aios_assets.memory import index as index_mod

    spent = {"tokenize_s": 0.0, "bm25_unit_s": 0.0, "bm25_context_s": 0.0}
    orig_tok, orig_save = index_mod.tokenize, index_mod._save_bm25

    def tok(text: str) -> list[str]:
        t = time.perf_counter()
        try:
            return orig_tok(text)
        finally:
            spent["tokenize_s"] += time.perf_counter() - t

    def save(tokens: list[list[str]], path: Path) -> None:
        t = time.perf_counter()
        try:
            orig_save(tokens, path)
        finally:
            spent[f"bm25_{path.name.split('_')[1]}_s"] += time.perf_counter() - t

    index_mod.tokenize, index_mod._save_bm25 = tok, save
    started = time.perf_counter()
    try:
        path = index_mod.build_index(home_root, corpus.chunks, vectors16, corpus.entity_ids,
                                     model_id)
    finally:
        index_mod.tokenize, index_mod._save_bm25 = orig_tok, orig_save
    total = time.perf_counter() - started
    out = {k: round(v, 2) for k, v in spent.items()}
    out["bm25_total_s"] = round(spent["bm25_unit_s"] + spent["bm25_context_s"]
                                + spent["tokenize_s"], 2)
    out["build_index_total_s"] = round(total, 2)
    out["other_s (neighbours, context lists, vectors.npy, parquet)"] = round(
        total - out["bm25_total_s"], 2)
    out["disk_mb"] = {p.name: round(sum(f.stat().st_size for f in p.rglob("*")) / 2**20, 1)
                      if p.is_dir() else round(p.stat().st_size / 2**20, 1)
                      for p in sorted(path.iterdir())}
    return out


# =============================================================================================
# Postgres
# =============================================================================================


def pg_load(home: Any, corpus: Corpus, vectors: np.ndarray, model: str, dim: int,
            hnsw_timeout_s: int) -> dict:
    import psycopg
    from pgvector.psycopg import register_vector

    from aios_assets.memory.semantic import pg_ddl
    from resources.postgres import BASE_DDL, embedded_url

    out: dict[str, Any] = {}
    t = time.perf_counter()
    url = embedded_url(home)
    out["server_start_s"] = round(time.perf_counter() - t, 2)
    ddl = pg_ddl(dim)
    hnsw_stmt = re.search(r"CREATE INDEX IF NOT EXISTS embeddings_\d+_hnsw[^;]*;", ddl)
    assert hnsw_stmt, "pg_ddl no longer has the HNSW statement this benchmark defers"
    notices: list[str] = []
    with psycopg.connect(url, autocommit=True) as con:
        con.add_notice_handler(lambda d: notices.append(d.message_primary))
        con.execute(BASE_DDL)
        con.execute(ddl.replace(hnsw_stmt.group(0), ""))
        register_vector(con)
        out["settings"] = {
            name: con.execute(f"SHOW {name}").fetchone()[0]
            for name in ("server_version", "shared_buffers", "effective_cache_size", "work_mem",
                         "max_worker_processes", "max_parallel_workers")
        }
        out["settings"]["pgvector"] = con.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
        t = time.perf_counter()
        with con.cursor() as cur, cur.copy(
            f"COPY aios.embeddings_{dim} (content_hash, model, embedding) "
            "FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "text", "vector"])
            for h, v in zip(corpus.hashes, vectors, strict=True):
                copy.write_row((h, model, v))
        out["copy_vectors_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        with con.cursor() as cur, cur.copy("COPY aios.semantic_chunks FROM STDIN") as copy:
            for c, ents in zip(corpus.chunks, corpus.entity_ids, strict=True):
                copy.write_row((c.chunk_id, c.event_id, c.source, c.source_id, c.thread,
                                c.occurred_at, c.content_hash, model, ents))
        out["copy_chunks_s"] = round(time.perf_counter() - t, 2)
        con.execute("SET maintenance_work_mem = '2GB'")
        con.execute("SET max_parallel_maintenance_workers = 2")
        con.execute(f"SET statement_timeout = '{hnsw_timeout_s}s'")
        t = time.perf_counter()
        con.execute(hnsw_stmt.group(0))
        out["hnsw_build_s"] = round(time.perf_counter() - t, 2)
        out["hnsw_build_vectors_per_s"] = round(len(corpus.hashes) / out["hnsw_build_s"], 1)
        con.execute("SET statement_timeout = 0")
        t = time.perf_counter()
        con.execute(f"VACUUM ANALYZE aios.embeddings_{dim}")
        con.execute("VACUUM ANALYZE aios.semantic_chunks")
        out["vacuum_analyze_s"] = round(time.perf_counter() - t, 2)
        out["sizes_mb"] = {
            rel: round(con.execute("SELECT pg_relation_size(%s::regclass)", (rel,))
                       .fetchone()[0] / 2**20, 1)
            for rel in (f"aios.embeddings_{dim}", f"aios.embeddings_{dim}_hnsw",
                        "aios.semantic_chunks")
        }
    out["hnsw_params"] = "pgvector defaults: m=16, ef_construction=64"
    out["notices"] = notices[:10]
    return out


# =============================================================================================
# DuckDB vss
# =============================================================================================


def duck_build(vectors: np.ndarray) -> tuple[Any, dict]:
    import duckdb
    import pyarrow as pa

    from resources.warehouse import load_extensions

    dim = vectors.shape[1]
    con = duckdb.connect()  # in memory: the index is not buffer-managed either way
    load_extensions(con, "vss")
    con.execute("SET threads = 2")
    out: dict[str, Any] = {"database": "in-memory (no hnsw_enable_experimental_persistence)"}
    t = time.perf_counter()
    table = pa.table({
        "id": pa.array(np.arange(len(vectors), dtype=np.int32)),
        "v": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim),
    })
    con.register("_v", table)
    con.execute(f"CREATE TABLE emb AS SELECT id, v::FLOAT[{dim}] AS v FROM _v")
    con.unregister("_v")
    del table
    out["load_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    con.execute("CREATE INDEX emb_hnsw ON emb USING HNSW (v) WITH (metric = 'cosine')")
    out["hnsw_build_s"] = round(time.perf_counter() - t, 2)
    out["hnsw_build_vectors_per_s"] = round(len(vectors) / out["hnsw_build_s"], 1)
    out["hnsw_params"] = "vss defaults: M=16, ef_construction=128; ef_search set to 200"
    con.execute("SET hnsw_ef_search = 200")
    return con, out


def duck_topk(con: Any, q: np.ndarray, k: int) -> np.ndarray:
    dim = q.shape[0]
    literal = "[" + ",".join(f"{x:.7g}" for x in q.tolist()) + f"]::FLOAT[{dim}]"
    rows = con.execute(
        f"SELECT id FROM emb ORDER BY array_cosine_distance(v, {literal}) LIMIT {k}"
    ).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


# =============================================================================================
# staged replica of retrieval.score_units + recall's tail (for the breakdown)
# =============================================================================================


def staged_recall(index: Any, query: str, mask: np.ndarray | None, k: int = 10
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """``retrieval.score_units`` step by step with a clock on every step (same arithmetic, as of
    2026-11-22 05:26; ``replica_equals_score_units`` in the results says if it still is)."""
    from aios_assets import retrieval as r
    from aios_assets.memory.index import tokenize

    w = r.DEFAULT_WEIGHTS
    st: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        st[name] = st.get(name, 0.0) + now - clock[0]
        clock[0] = now

    n = index.size
    allowed = None if mask is None else np.flatnonzero(mask)
    lap("mask_flatnonzero")
    words = re.findall(r"[a-z]+", query.lower())
    names = {x for x in words if x in index.actor_names}
    content = re.sub(r"\b(" + "|".join(map(re.escape, names)) + r")('s)?\b", " ", query,
                     flags=re.IGNORECASE) if names else query
    if not content.strip(" ?.!,"):
        content = query
    tokens = tokenize(content)
    lap("names_and_tokenize")
    lex_u = np.asarray(index.lex_unit.get_scores(tokens), dtype=np.float32) if tokens else \
        np.zeros(n, np.float32)
    lap("bm25_unit_get_scores")
    lex_c = np.asarray(index.lex_context.get_scores(tokens), dtype=np.float32) if tokens else \
        np.zeros(n, np.float32)
    lap("bm25_context_get_scores")
    if mask is not None:
        lex_u = np.where(mask, lex_u, 0)
        lex_c = np.where(mask, lex_c, 0)
    lex_u, lex_c = r._scaled(lex_u), r._scaled(lex_c)
    lap("lex_mask_and_scale")
    qv = r._query_vector(index, content if r.DENSE_WITHOUT_NAMES else query)
    lap("query_embedding")
    pool = [r._top(w.unit * lex_u + w.context * lex_c, allowed, r.POOL)]
    lap("lex_top200")
    dense_all = None
    if qv is not None:
        scope = allowed if allowed is not None else np.arange(n)
        if scope.size <= r.EXACT_MAX:
            block = np.asarray(index.vectors[scope], dtype=np.float32)
            lap("dense_exact_gather_f16_to_f32")
            dense_scope = block @ qv
            lap("dense_exact_matvec")
            dense_all = np.full(n, -1.0, dtype=np.float32)
            dense_all[scope] = dense_scope
            pool.append(scope[np.argpartition(-dense_scope, min(r.POOL, scope.size) - 1)[:r.POOL]])
            lap("dense_exact_top200")
        else:
            if r._pg_con is None:
                r._ann_positions(index, qv, 1, None)  # opens retrieval's own connection
            con = r._pg_con
            rows = con.execute(
                f"SELECT content_hash FROM aios.embeddings_{index.dim} WHERE model = %s "
                "ORDER BY embedding <=> %s LIMIT %s", (index.model_id, qv, r.POOL * 2),
            ).fetchall()
            lap("dense_ann_pgvector_sql")
            found = np.asarray(index.positions_of([x[0] for x in rows]), dtype=np.int64)
            if mask is not None and found.size:
                found = found[mask[found]]
            pool.append(found)
            lap("dense_ann_positions_of")
    cand = np.unique(np.concatenate(pool))
    near = np.concatenate([index.prev[cand], index.next[cand]])
    cand = np.unique(np.concatenate([cand, near[near >= 0]]))
    if mask is not None:
        cand = cand[mask[cand]]
    lap("candidates_and_neighbours")
    if qv is not None:
        dense_c = (dense_all[cand] if dense_all is not None
                   else np.asarray(index.vectors[cand], dtype=np.float32) @ qv)
        reference = dense_all[allowed if allowed is not None else slice(None)] \
            if dense_all is not None else dense_c
        dense_c = r._dense_scaled(dense_c, reference)
    else:
        dense_c = np.zeros(cand.size, dtype=np.float32)
    lap("dense_rescore_and_median")
    base = w.unit * lex_u[cand] + w.context * lex_c[cand] + w.dense * dense_c
    pos = {int(p): i for i, p in enumerate(cand)}
    prev_s = np.array([base[pos[p]] if (p := int(index.prev[c])) in pos else 0.0 for c in cand])
    next_s = np.array([base[pos[q]] if (q := int(index.next[c])) in pos else 0.0 for c in cand])
    score = base + w.neighbour * np.maximum(prev_s, next_s)
    if names:
        speakers = index.actors[cand]
        named = np.fromiter((s in names for s in speakers), dtype=bool, count=cand.size)
        if named.any():
            score = score + w.speaker * named * score
        threads = [index.actor_threads[x] for x in names if x in index.actor_threads]
        if threads:
            inside = np.isin(index.thread_codes[cand], np.concatenate(threads))
            score = score + w.speaker_thread * inside * score
    if index.epoch.size:
        ep = index.epoch[cand].astype(np.float64)
        span = float(ep.max() - ep.min())
        if span > 0:
            ww = w.recency_cue if r._RECENCY_CUES.search(query) else w.recency
            score = score + ww * (ep - ep.min()) / span
    lap("fusion")
    order = cand[np.argsort(-score, kind="stable")]
    seen: set[str] = set()
    taken = 0
    for p in order.tolist():
        row = index.meta.row(p, named=True)
        if row["event_id"] in seen:
            continue
        seen.add(row["event_id"])
        taken += 1
        if taken == k:
            break
    lap("hits_sort_and_rows")
    st["candidates"] = float(cand.size)
    return cand, score, st


# =============================================================================================
# prototypes of faster pieces (measured against the current ones, same inputs)
# =============================================================================================


def bm25_scores_fast(bm: Any, tokens: list[str]) -> np.ndarray:
    """bm25s scores without ``np.add.at``: a term's postings hold each document once, so a plain
    fancy ``+=`` per term is exact."""
    ids = bm.get_tokens_ids(tokens)
    s = bm.scores
    data, indices, indptr = s["data"], s["indices"], s["indptr"]
    out = np.zeros(s["num_docs"], dtype=np.float32)
    for t in ids:
        a, b = indptr[t], indptr[t + 1]
        out[indices[a:b]] += data[a:b]
    return out


def bm25_sparse(bm: Any, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Only documents that hold a query term: (doc ids, scores), never an N-long array."""
    ids = bm.get_tokens_ids(tokens)
    s = bm.scores
    data, indices, indptr = s["data"], s["indices"], s["indptr"]
    if not ids:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    docs = np.concatenate([indices[indptr[t]:indptr[t + 1]] for t in ids])
    vals = np.concatenate([data[indptr[t]:indptr[t + 1]] for t in ids]).astype(np.float32)
    u, inv = np.unique(docs, return_inverse=True)
    return u, np.bincount(inv, weights=vals, minlength=u.size).astype(np.float32)


def prototypes(index: Any, queries: list, masks: dict[str, list], reps: int = 1) -> dict:
    """Time current vs candidate implementations of the hot pieces on the benchmark queries."""
    from aios_assets import retrieval as r
    from aios_assets.memory.index import tokenize

    out: dict[str, Any] = {}
    toks = [tokenize(q.question) for q in queries]
    n = index.size

    def timed(fn: Callable[[int], Any]) -> dict:
        times = []
        for i in range(len(queries)):
            t = time.perf_counter()
            fn(i)
            times.append(time.perf_counter() - t)
        return pct(times)

    # 1. BM25 scoring (both indexes, as score_units does): bm25s vs fancy += vs sparse.
    cur = timed(lambda i: (index.lex_unit.get_scores(toks[i]) if toks[i] else None,
                           index.lex_context.get_scores(toks[i]) if toks[i] else None))
    fast = timed(lambda i: (bm25_scores_fast(index.lex_unit, toks[i]),
                            bm25_scores_fast(index.lex_context, toks[i])))
    sparse = timed(lambda i: (bm25_sparse(index.lex_unit, toks[i]),
                              bm25_sparse(index.lex_context, toks[i])))
    ok = all(np.allclose(index.lex_unit.get_scores(t), bm25_scores_fast(index.lex_unit, t),
                         atol=1e-4) for t in toks[:20] if t)
    postings = [sum(int(index.lex_context.scores["indptr"][t + 1]
                        - index.lex_context.scores["indptr"][t])
                    for t in index.lex_context.get_tokens_ids(tk)) for tk in toks]
    out["bm25_two_indexes"] = {"bm25s_get_scores_np_add_at": cur,
                               f"dense_array_fancy_add (same result: {ok})": fast,
                               "sparse_postings_only": sparse,
                               "context_postings_per_query_mean": int(np.mean(postings))}

    # 2. Fusion arithmetic over N-long arrays (mask where, scale, weighted sum, argpartition).
    lex = [index.lex_unit.get_scores(t).astype(np.float32) if t else np.zeros(n, np.float32)
           for t in toks[:50]]

    def lex_post(i: int) -> None:
        a = r._scaled(lex[i % 50])
        b = r._scaled(lex[i % 50])
        r._top(0.35 * a + 0.2 * b, None, POOL)

    out["lex_scale_and_top200_unfiltered"] = timed(lex_post)

    # 3. Dense exact path over the whole index (what n <= EXACT_MAX pays per query).
    from aios_assets.retrieval import _query_vector
    qvs = [_query_vector(index, q.question) for q in queries]
    scope_n = min(n, r.EXACT_MAX)
    scope = np.arange(scope_n)
    cur = timed(lambda i: np.asarray(index.vectors[scope], dtype=np.float32) @ qvs[i])
    sl = timed(lambda i: np.asarray(index.vectors[:scope_n], dtype=np.float32) @ qvs[i])
    f32 = np.ascontiguousarray(index.vectors[:scope_n], dtype=np.float32)
    resident = timed(lambda i: f32 @ qvs[i])

    def blocked(i: int) -> np.ndarray:
        res = np.empty(scope_n, np.float32)
        for b in range(0, scope_n, 16384):
            e = min(scope_n, b + 16384)
            res[b:e] = index.vectors[b:e].astype(np.float32) @ qvs[i]
        return res

    blk = timed(blocked)
    out[f"dense_exact_{scope_n}_rows"] = {
        "current_fancy_gather_f16_to_f32_then_matvec": cur,
        "slice_instead_of_arange_gather": sl,
        "blocked_16k_rows_f16_to_f32": blk,
        "resident_float32_matrix": resident,
        "resident_float32_mb": round(f32.nbytes / 2**20, 1),
    }
    f32 = None

    # 4. Query embedding alone, with numpy's default OpenBLAS threads and with one.
    default = blas_threads()
    out[f"query_embedding_blas_{default}_threads"] = timed(
        lambda i: _query_vector(index, queries[i].question))
    blas_threads(1)
    out["query_embedding_blas_1_thread"] = timed(
        lambda i: _query_vector(index, queries[i].question))
    blas_threads(default)

    # 5. Masked selections at this N (the date window mask).
    wide = masks.get("dates_wide")
    if wide:
        out["mask_flatnonzero_and_where_x2_dates_wide"] = timed(
            lambda i: (np.flatnonzero(wide[i]), np.where(wide[i], lex[i % 50], 0),
                       np.where(wide[i], lex[i % 50], 0)))
    return out


# =============================================================================================
# the benchmark of one size
# =============================================================================================


def query_plan(corpus: Corpus, nq: int, seed: int) -> tuple[list, dict[str, list[dict]]]:
    rng = random.Random(seed)
    qs = rng.sample(corpus.questions, min(nq, len(corpus.questions)))
    times = [c.occurred_at for c in corpus.chunks]
    lo, hi = min(times), max(times)
    plans: dict[str, list[dict]] = {"unfiltered": [{} for _ in qs],
                                    "thread": [{"thread": q.thread} for q in qs]}
    for name, days in (("dates_narrow", 60), ("dates_wide", 365)):
        span = max(0, (hi - lo).days - days)
        plans[name] = []
        for _ in qs:
            start = (lo + timedelta(days=rng.randint(0, span))).date()
            plans[name].append({"since": start.isoformat(),
                                "until": (start + timedelta(days=days)).isoformat()})
    return qs, plans


def run_size(n: int, args: argparse.Namespace, embedder: Any, doc: dict) -> None:
    from aios_assets import retrieval
    from aios_assets.memory import index as index_mod
    from resources.home import AiosHome
    from resources.postgres import stop_embedded

    entry: dict[str, Any] = {"n_chunks": n, "command": args.command,
                             "started_at": datetime.now(UTC).isoformat(),
                             "load_average_start": load_avg()}
    doc["sizes"][str(n)] = entry
    tmp = Path(tempfile.mkdtemp(prefix=f"aios-recall-bench-{n}-"))
    home = AiosHome(tmp.resolve()).ensure()
    os.environ["AIOS_HOME"] = str(home.root)
    os.environ.pop("AIOS_POSTGRES_URL", None)
    retrieval._pg_con = None  # the cached connection would point at the previous size's server
    duck = None
    try:
        log(f"N={n:,}: corpus")
        corpus = build_corpus(n, args.hash_mode)
        entry["corpus"] = {
            "chunks": len(corpus.chunks), "threads": corpus.threads,
            "distinct_texts": len(corpus.texts), "hash_mode": args.hash_mode,
            "distinct_content_hashes (vectors in Postgres)": len(corpus.hashes),
            "questions_available": len(corpus.questions),
            "span": [min(c.occurred_at for c in corpus.chunks).isoformat(),
                     max(c.occurred_at for c in corpus.chunks).isoformat()],
            "build_s": round(corpus.seconds, 2),
        }
        log(f"  {entry['corpus']}")
        real_n = min(args.sample, len(corpus.texts))
        real, embed_s, cached = embed_cached(embedder, corpus.texts[:real_n])
        vectors, synth = synth_vectors(real, corpus.text_of_row, args.noise, SEED)
        entry["vectors"] = {"hash_mode": args.hash_mode, "texts_embedded": real_n,
                            "embed_s": round(embed_s, 2), "embed_cached": cached,
                            "embed_texts_per_s": round(real_n / embed_s, 1) if embed_s else None,
                            "vector_rows": len(corpus.hashes), "noise_sigma": args.noise,
                            **synth}
        log(f"  vectors {entry['vectors']}")
        chunk_vecs = vectors.astype(np.float16)[corpus.rows_of]
        log("  build_index")
        entry["index_build"] = build_index_timed(home.root, corpus, chunk_vecs, embedder.model_id)
        del chunk_vecs
        log(f"  {entry['index_build']}")
        write(doc)
        log("  postgres load + HNSW")
        entry["postgres"] = pg_load(home, corpus, vectors, embedder.model_id, embedder.dim,
                                    args.hnsw_timeout)
        log(f"  {entry['postgres']}")
        write(doc)

        qs, plans = query_plan(corpus, args.queries, SEED)
        questions = [q.question for q in qs]
        del corpus.chunks, corpus.entity_ids
        gc.collect()

        # ---- recall() latency -----------------------------------------------------------
        index_mod._cache.clear()
        t = time.perf_counter()
        index = index_mod.load_index(home.root)
        entry["load_index_cold_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        retrieval.recall("warm up the embedder", k=10, home=home.root)
        entry["first_recall_s (embedder load)"] = round(time.perf_counter() - t, 2)
        if n > retrieval.EXACT_MAX:
            t = time.perf_counter()
            index.positions_of([])
            entry["positions_of_first_use_s"] = round(time.perf_counter() - t, 2)
        for q in questions[:10]:
            retrieval.recall(q, k=10, home=home.root)
        default_threads = blas_threads()
        for key, threads in (("recall_latency", default_threads),
                             ("recall_latency_blas_1_thread", 1)):
            blas_threads(threads)
            lat: dict[str, Any] = {"openblas_threads": threads}
            for mode, plan in plans.items():
                times = []
                for q, f in zip(questions, plan, strict=True):
                    t = time.perf_counter()
                    retrieval.recall(q, k=10, home=home.root, **f)
                    times.append(time.perf_counter() - t)
                lat[mode] = pct(times)
                log(f"  recall {mode} (blas threads {threads}): {lat[mode]}")
            entry[key] = lat
            write(doc)
        blas_threads(default_threads)
        entry["recall_paths"] = {
            "exact_max": retrieval.EXACT_MAX,
            "unfiltered": "ann (pgvector)" if n > retrieval.EXACT_MAX else "exact (numpy)",
        }
        entry["load_average_recall"] = load_avg()
        write(doc)

        # ---- breakdown --------------------------------------------------------------------
        from aios_assets.retrieval import _mask, _parse_when

        masks: dict[str, list] = {}
        breakdown: dict[str, Any] = {}
        allowed_sizes: dict[str, float] = {}
        for mode, plan in plans.items():
            ms = []
            for f in plan:
                ms.append(_mask(index, f.get("thread"), None,
                                _parse_when(f.get("since"), "since"),
                                _parse_when(f.get("until"), "until", end=True)))
            masks[mode] = ms
            allowed_sizes[mode] = float(np.mean([n if m is None else int(m.sum()) for m in ms]))
            tot: dict[str, list[float]] = {}
            for q, m in zip(questions, ms, strict=True):
                _, _, st = staged_recall(index, q, m)
                for k_, v in st.items():
                    tot.setdefault(k_, []).append(v)
            breakdown[mode] = {
                k_: ({"mean_ms": round(float(np.mean(v)) * 1000, 2),
                      "p95_ms": round(float(np.percentile(v, 95)) * 1000, 2)}
                     if k_ != "candidates" else round(float(np.mean(v)), 1))
                for k_, v in tot.items()
            }
            breakdown[mode]["sum_of_stage_means_ms"] = round(sum(
                x["mean_ms"] for x in breakdown[mode].values() if isinstance(x, dict)), 2)
        # fidelity: the replica gives what score_units gives
        same = True
        for q, m in list(zip(questions, masks["thread"], strict=True))[:10] + \
                list(zip(questions, masks["unfiltered"], strict=True))[:10]:
            c1, s1 = retrieval.score_units(index, q, mask=m)
            c2, s2, _ = staged_recall(index, q, m)
            same &= bool(np.array_equal(c1, c2) and np.allclose(s1, s2))
        entry["breakdown"] = {"allowed_units_mean": allowed_sizes,
                              "replica_equals_score_units": same, **breakdown}
        log(f"  breakdown unfiltered {breakdown['unfiltered']}")
        # mask cost itself (recall builds it per call)
        mask_t = []
        for f in plans["dates_wide"]:
            t = time.perf_counter()
            _mask(index, None, None, _parse_when(f["since"], "since"),
                  _parse_when(f["until"], "until", end=True))
            mask_t.append(time.perf_counter() - t)
        entry["breakdown"]["build_mask_dates_wide"] = pct(mask_t)
        mask_t = []
        for f in plans["thread"]:
            t = time.perf_counter()
            _mask(index, f["thread"], None, None, None)
            mask_t.append(time.perf_counter() - t)
        entry["breakdown"]["build_mask_thread"] = pct(mask_t)

        # cProfile of the unfiltered mode (top functions by own time)
        prof = cProfile.Profile()
        prof.enable()
        for q in questions[:50]:
            retrieval.recall(q, k=10, home=home.root)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(12)
        entry["cprofile_unfiltered_50_queries_top_tottime"] = [
            ln.strip() for ln in buf.getvalue().splitlines()
            if re.match(r"\s*\d+(/\d+)?\s+\d", ln)][:12]
        write(doc)

        # ---- ANN: pgvector and DuckDB vss vs exact ------------------------------------------
        qv = np.stack([retrieval._query_vector(index, q) for q in questions])
        exact = []
        for b in range(0, len(qv), 25):
            sims = vectors @ qv[b:b + 25].T
            for j in range(sims.shape[1]):
                top = np.argpartition(-sims[:, j], POOL - 1)[:POOL]
                exact.append(top[np.argsort(-sims[top, j])])
        exact_t = []
        for i in range(min(20, len(qv))):
            t = time.perf_counter()
            s = vectors @ qv[i]
            np.argpartition(-s, POOL - 1)[:POOL]
            exact_t.append(time.perf_counter() - t)
        ann: dict[str, Any] = {"exact_numpy_float32_top200": pct(exact_t)}
        row_of = {h: i for i, h in enumerate(corpus.hashes)}
        import psycopg
        from pgvector.psycopg import register_vector

        from resources.postgres import resolve_url

        pgc = psycopg.connect(resolve_url(), autocommit=True)
        register_vector(pgc)
        pgc.execute("SET hnsw.ef_search = 200")  # the session settings of retrieval.py
        pgc.execute("SET hnsw.iterative_scan = relaxed_order")
        for q in qv[:5]:
            pgc.execute(f"SELECT content_hash FROM aios.embeddings_{embedder.dim} "
                        "ORDER BY embedding <=> %s LIMIT 200", (q,)).fetchall()
        for limit in (POOL, POOL * 2):
            times, r10, r200 = [], [], []
            for i, q in enumerate(qv):
                t = time.perf_counter()
                rows = pgc.execute(
                    f"SELECT content_hash FROM aios.embeddings_{embedder.dim} WHERE model = %s "
                    "ORDER BY embedding <=> %s LIMIT %s", (embedder.model_id, q, limit),
                ).fetchall()
                times.append(time.perf_counter() - t)
                got = [row_of[x[0]] for x in rows]
                r10.append(len(set(got[:10]) & set(exact[i][:10].tolist())) / 10)
                r200.append(len(set(got[:POOL]) & set(exact[i].tolist())) / POOL)
            ann[f"pgvector_hnsw_limit{limit}"] = {
                **pct(times), "recall_at_10": round(float(np.mean(r10)), 4),
                "recall_at_200": round(float(np.mean(r200)), 4),
                "settings": "hnsw.ef_search=200, iterative_scan=relaxed_order (as retrieval.py)",
            }
            log(f"  pgvector limit {limit}: {ann[f'pgvector_hnsw_limit{limit}']}")
        plan_txt = "\n".join(x[0] for x in pgc.execute(
            f"EXPLAIN SELECT content_hash FROM aios.embeddings_{embedder.dim} WHERE model = %s "
            "ORDER BY embedding <=> %s LIMIT 400", (embedder.model_id, qv[0])).fetchall())
        ann["pgvector_plan_uses_hnsw"] = "embeddings_384_hnsw" in plan_txt
        pgc.close()
        write(doc)
        if not args.skip_duckdb:
            log("  duckdb vss build")
            duck, dinfo = duck_build(vectors)
            ann["duckdb_vss_build"] = dinfo
            log(f"  {dinfo}")
            lit = "[" + ",".join(f"{x:.7g}" for x in qv[0].tolist()) + "]::FLOAT[384]"
            explain = duck.execute("EXPLAIN SELECT id FROM emb ORDER BY "
                                   f"array_cosine_distance(v, {lit}) LIMIT 200").fetchall()
            uses = "HNSW_INDEX_SCAN" in "".join(str(x) for x in explain)
            times, r10, r200 = [], [], []
            for _ in range(3):
                duck_topk(duck, qv[0], POOL)
            for i, q in enumerate(qv):
                t = time.perf_counter()
                got = duck_topk(duck, q, POOL).tolist()
                times.append(time.perf_counter() - t)
                r10.append(len(set(got[:10]) & set(exact[i][:10].tolist())) / 10)
                r200.append(len(set(got) & set(exact[i].tolist())) / POOL)
            ann["duckdb_vss_hnsw_top200"] = {
                **pct(times), "recall_at_10": round(float(np.mean(r10)), 4),
                "recall_at_200": round(float(np.mean(r200)), 4), "plan_uses_hnsw": uses,
                "note": "query vector passed as a SQL literal (the index needs a constant)",
            }
            log(f"  duckdb: {ann['duckdb_vss_hnsw_top200']}")
            duck.close()
            duck = None
            gc.collect()
        entry["ann"] = ann
        write(doc)

        # ---- prototypes -----------------------------------------------------------------------
        if not args.skip_prototypes:
            log("  prototypes")
            entry["prototypes"] = prototypes(index, qs[:args.prototype_queries], masks)
            log(f"  {json.dumps(entry['prototypes'])[:1500]}")
        entry["peak_rss_mb"] = rss_mb()
        entry["finished_at"] = datetime.now(UTC).isoformat()
        write(doc)
    finally:
        if duck is not None:
            duck.close()
        with contextlib.suppress(Exception):
            if retrieval._pg_con is not None:
                retrieval._pg_con.close()
        retrieval._pg_con = None
        index_mod._cache.clear()
        with contextlib.suppress(Exception):
            stopped = stop_embedded(home)
            log(f"  embedded Postgres stopped: {stopped}")
        if args.keep:
            log(f"  kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            log(f"  removed {tmp}")


def f16_to_f32_bits(h: np.ndarray) -> np.ndarray:
    """float16 -> float32 by integer bit moves (normal numbers exact; fp16 subnormals, |x| <
    6.1e-5, come out as tiny wrong-scale values and zero as 2**-112: harmless for a cosine)."""
    u = h.view(np.uint16).astype(np.uint32)
    bits = ((u & 0x8000) << 16) | (((u & 0x7FFF) + 0x1C000) << 13)
    return bits.view(np.float32)


def micro_prototypes(n: int, seed: int = SEED) -> dict:
    """The hot array steps of score_units at ``n`` units on synthetic arrays (same shapes and
    sparsity as the 1M run), current code vs a faster variant with the same result."""
    rng = np.random.default_rng(seed)
    dim = 384
    out: dict[str, Any] = {"n": n}

    def timed(fn: Callable[[], Any], reps: int = 30) -> dict:
        fn()
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return pct(times)

    v16 = rng.standard_normal((n, dim), dtype=np.float32).astype(np.float16) * np.float16(0.05)
    q = rng.standard_normal(dim).astype(np.float32)
    q /= np.linalg.norm(q)
    # the dates_narrow scope at 1M: ~5.8% of the units, in runs of a thread's days
    starts = np.sort(rng.choice(n // 50, size=n // 50 // 17, replace=False)) * 50
    scope = np.unique(np.clip((starts[:, None] + np.arange(50)).ravel(), 0, n - 1))
    v32 = v16.astype(np.float32)
    ref = np.asarray(v16[scope], dtype=np.float32) @ q
    bits = f16_to_f32_bits(v16[scope]).reshape(-1, dim) @ q
    out[f"dense_exact_scope_{scope.size}_rows"] = {
        "current_f16_gather_astype_f32_matvec": timed(
            lambda: np.asarray(v16[scope], dtype=np.float32) @ q, 10),
        "f16_gather_bit_trick_f32_matvec": timed(
            lambda: f16_to_f32_bits(v16[scope]).reshape(-1, dim) @ q, 10),
        "bit_trick_max_abs_error": float(np.abs(bits - ref).max()),
        "resident_f32_gather_matvec": timed(lambda: v32[scope] @ q, 10),
        "resident_f32_cost_mb": round(v32.nbytes / 2**20, 1),
    }
    v32 = None
    # lexical: N-long dense BM25 arrays with ~8% non-zero (82k context postings at 1M)
    lex_u = np.zeros(n, np.float32)
    lex_c = np.zeros(n, np.float32)
    nz_u = rng.choice(n, size=n // 30, replace=False)
    nz_c = rng.choice(n, size=n // 12, replace=False)
    lex_u[nz_u] = rng.random(nz_u.size, dtype=np.float32) * 10
    lex_c[nz_c] = rng.random(nz_c.size, dtype=np.float32) * 10
    mask = np.zeros(n, bool)
    mask[scope] = True
    allowed = np.flatnonzero(mask)
    from aios_assets import retrieval as r

    def current_unfiltered() -> np.ndarray:
        a, b = r._scaled(lex_u), r._scaled(lex_c)
        return r._top(0.25 * a + 0.35 * b, None, POOL)

    def nonzero_unfiltered() -> np.ndarray:
        a = lex_u * (1 / lex_u.max())
        b = lex_c * (1 / lex_c.max())
        s = 0.25 * a
        s += 0.35 * b
        nz = np.flatnonzero(s)
        return nz[np.argpartition(-s[nz], POOL - 1)[:POOL]]

    def current_filtered() -> np.ndarray:
        a, b = np.where(mask, lex_u, 0), np.where(mask, lex_c, 0)
        a, b = r._scaled(a), r._scaled(b)
        return r._top(0.25 * a + 0.35 * b, allowed, POOL)

    def subset_filtered() -> np.ndarray:
        a, b = lex_u[allowed], lex_c[allowed]
        s = 0.25 * a / max(float(a.max()), 1e-9) + 0.35 * b / max(float(b.max()), 1e-9)
        return allowed[np.argpartition(-s, POOL - 1)[:POOL]]

    same_u = set(current_unfiltered().tolist()) == set(nonzero_unfiltered().tolist())
    same_f = set(current_filtered().tolist()) == set(subset_filtered().tolist())
    out["lex_scale_and_top200"] = {
        "unfiltered_current": timed(current_unfiltered),
        f"unfiltered_nonzero_only (same set: {same_u})": timed(nonzero_unfiltered),
        "filtered_current_where_over_n": timed(current_filtered),
        f"filtered_allowed_subset_only (same set: {same_f})": timed(subset_filtered),
    }
    # fusion: neighbour evidence over ~1,700 sorted candidates (a thread's turns are adjacent)
    cand = np.unique(rng.choice(n, size=1700, replace=False))
    cand = np.unique(np.concatenate([cand, np.clip(cand + 1, 0, n - 1)]))
    prev = np.arange(n, dtype=np.int64) - 1
    nxt = np.arange(n, dtype=np.int64) + 1
    nxt[-1] = -1
    base = rng.random(cand.size)

    def fusion_current() -> np.ndarray:
        pos = {int(p): i for i, p in enumerate(cand)}
        ps = np.array([base[pos[p]] if (p := int(prev[c])) in pos else 0.0 for c in cand])
        ns = np.array([base[pos[x]] if (x := int(nxt[c])) in pos else 0.0 for c in cand])
        return np.maximum(ps, ns)

    def fusion_vectorised() -> np.ndarray:
        def look(nb: np.ndarray) -> np.ndarray:
            i = np.clip(np.searchsorted(cand, nb), 0, cand.size - 1)
            return np.where((nb >= 0) & (cand[i] == nb), base[i], 0.0)
        return np.maximum(look(prev[cand]), look(nxt[cand]))

    out["fusion_neighbour_evidence"] = {
        "candidates": int(cand.size), "python_dict_loops_current": timed(fusion_current),
        f"searchsorted (same: {bool(np.allclose(fusion_current(), fusion_vectorised()))})":
            timed(fusion_vectorised),
    }
    return out


def ann_density(args: argparse.Namespace, doc: dict) -> None:
    """Is pgvector's recall a matter of scale or of the synthetic clusters? 100k vectors built
    like the 1M corpus (noisy copies of real vectors) with few vs many copies per real vector."""
    import psycopg
    from pgvector.psycopg import register_vector

    from resources.home import AiosHome
    from resources.postgres import BASE_DDL, embedded_url, stop_embedded

    cached = sorted(CACHE_DIR.glob("minilm-*.npy"), key=lambda p: p.stat().st_size)
    if not cached:
        raise SystemExit("no cached real vectors: run a size first")
    real = np.load(cached[-1])
    from resources.embeddings import EmbeddingsResource

    embedder = EmbeddingsResource().get_embedder()
    from benchmarks.recall_devsets import generate_conversation

    questions = [q.question for i in range(40) for q in generate_conversation(SEED, i).questions]
    questions = random.Random(SEED).sample(questions, args.queries)
    qv = embedder.embed(questions)
    tmp = Path(tempfile.mkdtemp(prefix="aios-recall-bench-density-"))
    home = AiosHome(tmp.resolve()).ensure()
    out: dict[str, Any] = {"command": args.command, "vectors": args.density_n,
                           "queries": len(questions),
                           "started_at": datetime.now(UTC).isoformat()}
    try:
        url = embedded_url(home)
        for parents in (20_000, 2_000):
            copies = args.density_n // parents
            text_of_row = np.repeat(np.arange(parents), copies)
            vecs, info = synth_vectors(real[:parents], text_of_row, args.noise, SEED)
            with psycopg.connect(url, autocommit=True) as con:
                con.execute(BASE_DDL)
                register_vector(con)
                con.execute("DROP TABLE IF EXISTS aios.d")
                con.execute("CREATE TABLE aios.d (id int PRIMARY KEY, embedding vector(384))")
                with con.cursor() as cur, cur.copy(
                        "COPY aios.d (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                    copy.set_types(["int4", "vector"])
                    for i, v in enumerate(vecs):
                        copy.write_row((i, v))
                con.execute("SET maintenance_work_mem = '2GB'")
                con.execute("SET max_parallel_maintenance_workers = 2")
                t = time.perf_counter()
                con.execute("CREATE INDEX ON aios.d USING hnsw (embedding vector_cosine_ops)")
                build = time.perf_counter() - t
                con.execute("VACUUM ANALYZE aios.d")
                sims = vecs @ qv.T
                exact = [np.argsort(-sims[:, j])[:10] for j in range(len(qv))]
                res: dict[str, Any] = {"copies_per_real_vector": copies, **info,
                                       "hnsw_build_s": round(build, 2)}
                for ef in (200, 800):
                    con.execute(f"SET hnsw.ef_search = {ef}")
                    con.execute("SET hnsw.iterative_scan = relaxed_order")
                    r10, gap, times = [], [], []
                    for j, q in enumerate(qv):
                        t = time.perf_counter()
                        got = [x[0] for x in con.execute(
                            "SELECT id FROM aios.d ORDER BY embedding <=> %s LIMIT 200",
                            (q,)).fetchall()]
                        times.append(time.perf_counter() - t)
                        top = np.asarray(got[:10])
                        r10.append(len(set(top.tolist()) & set(exact[j].tolist())) / 10)
                        gap.append(float(sims[exact[j], j].mean() - sims[top, j].mean()))
                    res[f"ef_search_{ef}"] = {**pct(times),
                                              "recall_at_10": round(float(np.mean(r10)), 4),
                                              "mean_top10_cosine_gap": round(float(np.mean(gap)),
                                                                             4)}
                out[f"{parents}_real_x_{copies}"] = res
                log(f"  density {parents} x {copies}: {res}")
                con.execute("DROP TABLE aios.d")
    finally:
        with contextlib.suppress(Exception):
            stop_embedded(home)
        shutil.rmtree(tmp, ignore_errors=True)
        log(f"  removed {tmp}")
    doc["ann_density_experiment"] = out
    write(doc)


def write(doc: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    os.replace(tmp, RESULTS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--sample", type=int, default=SAMPLE, help="texts embedded for real")
    ap.add_argument("--noise", type=float, default=NOISE, help="per-dimension sigma")
    ap.add_argument("--hash-mode", choices=("chunk", "text"), default="chunk",
                    help="chunk: a vector per chunk (default); text: the product's text hash")
    ap.add_argument("--hnsw-timeout", type=int, default=1800, help="seconds")
    ap.add_argument("--skip-duckdb", action="store_true")
    ap.add_argument("--skip-prototypes", action="store_true")
    ap.add_argument("--prototype-queries", type=int, default=60)
    ap.add_argument("--keep", action="store_true", help="keep the temporary homes")
    ap.add_argument("--ann-density", action="store_true",
                    help="only the pgvector recall vs synthetic cluster density experiment")
    ap.add_argument("--density-n", type=int, default=100_000)
    ap.add_argument("--micro", type=int, default=0, metavar="N",
                    help="only the array-step prototypes at N units (synthetic arrays)")
    args = ap.parse_args(argv)
    args.command = "python -m benchmarks.recall_bench " + " ".join(
        sys.argv[1:] if argv is None else argv)

    from resources.embeddings import EmbeddingsResource

    embedder = EmbeddingsResource().get_embedder()
    doc = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    doc.setdefault("sizes", {})
    doc["generated_at"] = datetime.now(UTC).isoformat()
    doc["machine"] = {"platform": platform.platform(), "python": sys.version.split()[0],
                      "cpus": os.cpu_count(), "numpy": np.__version__,
                      "note": "shared machine: other jobs ran concurrently; see load averages"}
    doc["method"] = {
        "texts": f"recall_devsets.generate_conversation(seed={SEED}), threads cut at "
                 f"{THREAD_TURNS} turns",
        "vectors": "first --sample distinct texts embedded with the offline MiniLM; every "
                   "other vector row: a real vector (its own text's when embedded, else a random "
                   "one) + N(0, sigma^2) per dimension, re-normalised; one vector per content "
                   "hash; --hash-mode chunk (default) hashes chunk id + text so every chunk has "
                   "its own vector (the generator repeats stock phrases far more than real data: "
                   "with the product's text hash only ~52% of 100k chunks are distinct)",
        "timing": "in-process retrieval.recall(k=10), wall clock per call, after warm-up "
                  "(model load, index load, positions_of map excluded)",
        "modes": {"unfiltered": "no filter", "thread": "thread= the question's thread",
                  "dates_narrow": "since/until, random 60-day window",
                  "dates_wide": "since/until, random 365-day window"},
    }
    if args.ann_density:
        ann_density(args, doc)
        return 0
    if args.micro:
        log(f"micro prototypes at {args.micro:,}")
        doc.setdefault("micro_prototypes", {})[str(args.micro)] = {
            "command": args.command, **micro_prototypes(args.micro)}
        log(json.dumps(doc["micro_prototypes"][str(args.micro)]))
        write(doc)
        return 0
    for n in args.sizes:
        run_size(n, args, embedder, doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
