"""Semantic memory: every current event becomes retrieval units, embedded once per content hash,
stored in Postgres (pgvector, HNSW) and mirrored in DuckDB, and published as the recall index.

Units that need no dense vector (:func:`~aios_assets.memory.chunks.needs_dense`: contact records)
are not embedded: they stay in ``semantic_chunks``, BM25 and the entity filters, and hold a zero
row marked "no vector" in the index so that positions stay aligned.
"""

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import dagster as dg
import duckdb
import numpy as np

from aios_assets.memory.chunks import Chunk, chunks_for_event, needs_dense, order_chunks
from aios_assets.memory.index import build_index
from aios_assets.memory.vectors import stored_vectors, sync_postgres
from aios_assets.shared.automation import FOLLOW_INPUTS
from resources.embeddings import EmbeddingsResource
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse

GROUP = "memory"
EMBED_BATCH = 256

MIRROR_DDL = """
CREATE TABLE IF NOT EXISTS semantic_chunks (
    chunk_id VARCHAR PRIMARY KEY, event_id VARCHAR NOT NULL, source VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, thread VARCHAR, actor VARCHAR,
    occurred_at TIMESTAMPTZ NOT NULL, part INTEGER NOT NULL, position BIGINT NOT NULL,
    text VARCHAR NOT NULL, content_hash VARCHAR NOT NULL, entity_ids VARCHAR[]
);
CREATE TABLE IF NOT EXISTS chunk_embeddings (
    content_hash VARCHAR NOT NULL, model VARCHAR NOT NULL, embedding FLOAT[],
    embedded_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (content_hash, model)
);
"""


@dataclass(frozen=True)
class SemanticReport:
    events: int
    chunks: int
    lexical_only: int
    embedded_now: int
    reused: int
    removed: int
    embed_seconds: float
    index_seconds: float
    model: str


def _has(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()[0])


def load_events(con: duckdb.DuckDBPyConnection) -> tuple[list[dict], dict[str, tuple]]:
    """Current events (archived bodies come back from the cold tier when that view exists)."""
    relation = "events_current_full" if _has(con, "events_current_full") else "events_current"
    cur = con.execute(
        "SELECT event_id, source, source_id, kind, occurred_at, actor, thread, subject, text, "
        f"payload, file, line FROM {relation}"
    )
    cols = [d[0] for d in cur.description]
    rows: list[dict] = []
    lines: dict[str, tuple] = {}
    for values in cur.fetchall():
        row = dict(zip(cols, values, strict=True))
        if isinstance(row["payload"], str):
            try:
                row["payload"] = json.loads(row["payload"])
            except ValueError:
                row["payload"] = None
        lines[row["event_id"]] = (row.pop("file") or "", row.pop("line") or 0)
        rows.append(row)
    return rows, lines


def entity_map(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """(source, source_id) of an event -> canonical entities it involves (from the marts)."""
    found: dict[tuple[str, str], set[str]] = {}
    queries = []
    if _has(con, "entity_membership"):
        queries.append("SELECT source, source_id, entity_id FROM entity_membership")
    if _has(con, "fct_interactions"):
        queries.append("SELECT source, source_event_id, entity_id FROM fct_interactions "
                       "WHERE entity_id IS NOT NULL")
    for sql in queries:
        for source, source_id, entity_id in con.execute(sql).fetchall():
            if entity_id:
                found.setdefault((source, source_id), set()).add(str(entity_id))
    return {key: sorted(value) for key, value in found.items()}


def plan_chunks(events: Iterable[dict], lines: dict[str, tuple]) -> list[Chunk]:
    chunks = [c for row in events for c in chunks_for_event(row)]
    return order_chunks(chunks, lines)


def embed_missing(
    con: duckdb.DuckDBPyConnection,
    chunks: Sequence[Chunk],
    embed: Callable[[list[str]], np.ndarray],
    model: str,
    progress: Callable[[int, int], None] | None = None,
    stored: Callable[[list[str]], dict[str, np.ndarray]] | None = None,
) -> tuple[list[tuple[str, np.ndarray]], int, int]:
    """Vectors for content hashes not yet in the mirror: from ``stored`` (Postgres) when it has
    them, else embedded now. Returns (rows for the mirror, reused, embedded now).

    Only units that :func:`needs_dense` count: a lexical-only unit is never embedded."""
    chunks = [c for c in chunks if needs_dense(c)]
    known = {
        h for (h,) in con.execute(
            "SELECT content_hash FROM chunk_embeddings WHERE model = ?", [model]
        ).fetchall()
    }
    todo: dict[str, str] = {}
    for chunk in chunks:
        if chunk.content_hash not in known and chunk.content_hash not in todo:
            todo[chunk.content_hash] = chunk.body
    unique_hashes = {c.content_hash for c in chunks}
    fresh: list[tuple[str, np.ndarray]] = []
    if stored and todo:
        found = stored(list(todo))
        fresh.extend(found.items())
        for h in found:
            todo.pop(h, None)
    items = list(todo.items())
    for start in range(0, len(items), EMBED_BATCH):
        batch = items[start:start + EMBED_BATCH]
        vectors = embed([text for _, text in batch])
        fresh.extend((h, v) for (h, _), v in zip(batch, vectors, strict=True))
        if progress:
            progress(min(start + EMBED_BATCH, len(items)), len(items))
    return fresh, len(unique_hashes) - len(items), len(items)


def write_mirror(con: duckdb.DuckDBPyConnection, chunks: Sequence[Chunk],
                 entities: Sequence[Sequence[str]], fresh: list[tuple[str, np.ndarray]],
                 model: str) -> None:
    """Replace ``semantic_chunks`` and append the new vectors (vectors are never rewritten)."""
    import pyarrow as pa

    table = pa.table({
        "chunk_id": [c.chunk_id for c in chunks],
        "event_id": [c.event_id for c in chunks],
        "source": [c.source for c in chunks],
        "source_id": [c.source_id for c in chunks],
        "kind": [c.kind for c in chunks],
        "thread": [c.thread for c in chunks],
        "actor": [c.actor for c in chunks],
        "occurred_at": [c.occurred_at for c in chunks],
        "part": [c.part for c in chunks],
        "position": list(range(len(chunks))),
        "text": [c.text for c in chunks],
        "content_hash": [c.content_hash for c in chunks],
        "entity_ids": [list(e) for e in entities],
    })
    con.register("_chunks", table)
    con.execute("DELETE FROM semantic_chunks")
    con.execute("INSERT INTO semantic_chunks SELECT * FROM _chunks")
    con.unregister("_chunks")
    if fresh:
        vecs = pa.table({
            "content_hash": [h for h, _ in fresh],
            "model": [model] * len(fresh),
            "embedding": [v.astype(np.float32).tolist() for _, v in fresh],
        })
        con.register("_vecs", vecs)
        con.execute("INSERT OR IGNORE INTO chunk_embeddings (content_hash, model, embedding) "
                    "SELECT content_hash, model, embedding FROM _vecs")
        con.unregister("_vecs")


def ordered_vectors(con: duckdb.DuckDBPyConnection, model: str, dim: int,
                    dense: Sequence[bool]) -> np.ndarray:
    """Vectors of ``semantic_chunks`` in position order, as one float32 matrix: one row per
    unit, a zero row where ``dense`` (by position) is False, so the index stays aligned.

    A lexical-only unit gets zeros even when its content hash was embedded before (an older
    build, or a chat turn with the same words): it is scored without a vector either way."""
    result = con.execute(
        "SELECT e.embedding FROM semantic_chunks c LEFT JOIN chunk_embeddings e "
        "ON e.content_hash = c.content_hash AND e.model = ? ORDER BY c.position", [model]
    ).fetch_arrow_table()
    column = result.column(0).combine_chunks()
    if len(column) != len(dense):
        raise ValueError("dense must give one flag per unit of semantic_chunks")
    out = np.zeros((len(column), dim), dtype=np.float32)
    has = np.asarray(dense, dtype=bool)
    present = np.asarray(column.is_valid(), dtype=bool)
    if (has & ~present).any():  # embed_missing gives every unit that needs one a vector
        raise ValueError("a unit that needs a dense vector has none in chunk_embeddings")
    rows = np.flatnonzero(has)
    if rows.size:
        picked = column.take(rows)
        flat = picked.flatten().to_numpy(zero_copy_only=False)
        out[rows] = np.asarray(flat, dtype=np.float32).reshape(rows.size, dim)
    return out


@dg.asset(
    group_name=GROUP,
    pool="warehouse",
    automation_condition=FOLLOW_INPUTS,
    kinds={"duckdb", "postgres", "python"},
    # Only the event log: recall must not wait on (or fail with) the entity build; entity ids
    # are read from the marts when they exist.
    deps=[dg.AssetKey("event_log")],
    description="Retrieval units of every current event, embedded once per content hash "
                "(pgvector HNSW in Postgres, mirrored in DuckDB; contact records are found by "
                "their words and get no vector), published as the recall index.",
)
def semantic_memory(
    context: dg.AssetExecutionContext,
    warehouse: DuckDBWarehouse,
    postgres: PostgresStore,
    embeddings: EmbeddingsResource,
) -> dg.MaterializeResult:
    embedder = embeddings.get_embedder()
    model, dim = embedder.model_id, embedder.dim
    with warehouse.connect() as con:
        con.execute(MIRROR_DDL)
        events, lines = load_events(con)
        chunks = plan_chunks(events, lines)
        ents_by_event = entity_map(con)
        entities = [ents_by_event.get((c.source, c.source_id), []) for c in chunks]
        dense = [needs_dense(c) for c in chunks]
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            context.log.info(f"embedded {done:,}/{total:,} new units")

        fresh, reused, embedded = embed_missing(
            con, chunks, embedder.embed, model, progress, stored_vectors(postgres, model, dim))
        embed_s = time.perf_counter() - started
        previous = con.execute("SELECT count(*) FROM semantic_chunks").fetchone()[0]
        write_mirror(con, chunks, entities, fresh, model)
        vectors = (ordered_vectors(con, model, dim, dense) if chunks
                   else np.zeros((0, dim), np.float32))
    sync_postgres(postgres, chunks, entities, fresh, model, dim)
    started = time.perf_counter()
    path = build_index(warehouse.layout.root, chunks, vectors, entities, model, dense)
    report = SemanticReport(
        events=len(events), chunks=len(chunks), lexical_only=dense.count(False),
        embedded_now=embedded, reused=reused,
        removed=max(0, previous - len(chunks)), embed_seconds=round(embed_s, 2),
        index_seconds=round(time.perf_counter() - started, 2), model=model,
    )
    # Explicit int/float values: the UI's Plots tab draws each numeric entry across the
    # asset's materializations, so units per build is the memory-growth chart.
    return dg.MaterializeResult(metadata={
        "events": dg.MetadataValue.int(int(report.events)),
        "units": dg.MetadataValue.int(int(report.chunks)),
        # units with a dense vector, and those found by their words alone (contact records)
        "dense_units": dg.MetadataValue.int(int(report.chunks - report.lexical_only)),
        "lexical_only_units": dg.MetadataValue.int(int(report.lexical_only)),
        "embedded_now": dg.MetadataValue.int(int(report.embedded_now)),
        "reused_embeddings": dg.MetadataValue.int(int(report.reused)),
        "embed_seconds": dg.MetadataValue.float(float(report.embed_seconds)),
        "index_seconds": dg.MetadataValue.float(float(report.index_seconds)),
        "model": model,
        "index": dg.MetadataValue.path(str(path)),
    })


SEMANTIC_ASSETS = [semantic_memory]
