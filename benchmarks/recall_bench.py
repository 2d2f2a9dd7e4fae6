"""Recall latency at scale: ``aios_assets.memory.recall.recall`` over N semantic chunks.

    .venv/bin/python -m benchmarks.recall_bench --sizes 100000 1000000 [--queries 200]
        [--sample 20000] [--noise 0.03] [--skip-duckdb] [--hnsw-timeout 1800] [--keep]

For each N it builds, in a temporary AIOS_HOME:

* **texts** — chat turns of ``aios_assets.testing.recall_devsets.generate_conversation``
  (seed 31, not a dev/test seed), one conversation per thread cut at 300 turns, until N
  chunks: ~N/300 threads spread over 2022-2025
  (every conversation has its own start date and 6-12 month span).
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
* **Postgres** — the embedded server of that home; the DDL of ``vectors.pg_ddl`` without its
  HNSW index, vectors COPYed in binary, ``aios.semantic_chunks`` COPYed, then the HNSW index
  created after the load (maintenance_work_mem 2GB, 2 parallel maintenance workers).
* **DuckDB** — the same distinct vectors in an in-memory ``FLOAT[384]`` table with a ``vss``
  HNSW index (cosine).

Then it measures (model load and first-use caches excluded by a warm-up): ``recall(k=10)``
unfiltered, ``thread=``-filtered, and since/until-filtered (60-day and 365-day windows); a
per-stage breakdown from recall's own clock (``recall(..., timings=...)``); ANN latency of
pgvector and DuckDB (top 200) and their recall@10/@200 against exact numpy search. Results merge
into ``benchmarks/results/recall_latency.json``.
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
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import blas_threads, load_avg, log, pct, rss_mb

RESULTS = Path(__file__).resolve().parent / "results" / "recall_latency.json"
SEED = 31
THREAD_TURNS = 300
SAMPLE = 20_000
NOISE = 0.03
POOL = 200
CACHE_DIR = Path(tempfile.gettempdir()) / "aios_recall_bench_cache"


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
    from aios_assets.testing.recall_devsets import generate_conversation
    from aios_assets.testing.recall_questions import load_catalogue

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

    from aios_assets.memory.vectors import pg_ddl
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
    from aios_assets.memory import index as index_mod
    from aios_assets.memory import recall as retrieval
    from aios_assets.shared.home import AiosHome
    from resources.postgres import stop_embedded

    entry: dict[str, Any] = {"n_chunks": n, "command": args.command,
                             "started_at": datetime.now(UTC).isoformat(),
                             "load_average_start": load_avg()}
    doc["sizes"][str(n)] = entry
    tmp = Path(tempfile.mkdtemp(prefix=f"aios-recall-bench-{n}-"))
    home = AiosHome(tmp.resolve()).ensure()
    os.environ["AIOS_HOME"] = str(home.root)
    os.environ.pop("AIOS_POSTGRES_URL", None)
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

        # ---- breakdown (recall's own stage clock) -------------------------------------------
        from aios_assets.memory.recall import _mask, _parse_when

        breakdown: dict[str, Any] = {}
        allowed_sizes: dict[str, float] = {}
        for mode, plan in plans.items():
            sizes = []
            tot: dict[str, list[float]] = {}
            for q, f in zip(questions, plan, strict=True):
                m = _mask(index, f.get("thread"), None, _parse_when(f.get("since"), "since"),
                          _parse_when(f.get("until"), "until", end=True))
                sizes.append(n if m is None else int(m.sum()))
                st: dict[str, float] = {}
                retrieval.recall(q, k=10, home=home.root, timings=st, **f)
                for k_, v in st.items():
                    tot.setdefault(k_, []).append(v)
            allowed_sizes[mode] = float(np.mean(sizes))
            breakdown[mode] = {
                k_: {"mean_ms": round(float(np.mean(v)) * 1000, 2),
                     "p95_ms": round(float(np.percentile(v, 95)) * 1000, 2), "calls": len(v)}
                for k_, v in tot.items()
            }
            breakdown[mode]["sum_of_stage_means_ms"] = round(sum(
                x["mean_ms"] for x in breakdown[mode].values() if isinstance(x, dict)), 2)
        entry["breakdown"] = {"allowed_units_mean": allowed_sizes, **breakdown}
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

        entry["peak_rss_mb"] = rss_mb()
        entry["finished_at"] = datetime.now(UTC).isoformat()
        write(doc)
    finally:
        if duck is not None:
            duck.close()
        index_mod._cache.clear()
        with contextlib.suppress(Exception):
            stopped = stop_embedded(home)
            log(f"  embedded Postgres stopped: {stopped}")
        if args.keep:
            log(f"  kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            log(f"  removed {tmp}")


def ann_density(args: argparse.Namespace, doc: dict) -> None:
    """Is pgvector's recall a matter of scale or of the synthetic clusters? 100k vectors built
    like the 1M corpus (noisy copies of real vectors) with few vs many copies per real vector."""
    import psycopg
    from pgvector.psycopg import register_vector

    from aios_assets.shared.home import AiosHome
    from resources.postgres import BASE_DDL, embedded_url, stop_embedded

    cached = sorted(CACHE_DIR.glob("minilm-*.npy"), key=lambda p: p.stat().st_size)
    if not cached:
        raise SystemExit("no cached real vectors: run a size first")
    real = np.load(cached[-1])
    from resources.embeddings import EmbeddingsResource

    embedder = EmbeddingsResource().get_embedder()
    from aios_assets.testing.recall_devsets import generate_conversation

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
    ap.add_argument("--keep", action="store_true", help="keep the temporary homes")
    ap.add_argument("--ann-density", action="store_true",
                    help="only the pgvector recall vs synthetic cluster density experiment")
    ap.add_argument("--density-n", type=int, default=100_000)
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
    for n in args.sizes:
        run_size(n, args, embedder, doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
