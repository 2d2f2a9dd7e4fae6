"""The vectors of semantic memory in Postgres (pgvector): one table per dimension with an HNSW
index, keyed by content hash, so a text is embedded once and a rebuilt warehouse re-embeds
nothing; and the one query recall sends there, approximate nearest neighbours, when a corpus is
too large for an exact pass over the published index (``aios_assets/memory/recall.py``).

Every connection goes through :class:`~resources.postgres.PostgresStore` (no cache of its own).
"""

from collections.abc import Callable, Sequence

import numpy as np
from pgvector.psycopg import register_vector

from aios_assets.memory.chunks import Chunk
from resources.postgres import PostgresStore, apply_ddl

# HNSW search breadth, and iterative scans so that a filter applied afterwards still leaves
# enough rows (pgvector 0.8).
EF_SEARCH = 200


def pg_ddl(dim: int) -> str:
    """One embeddings table per dimension (pgvector's HNSW needs a fixed one)."""
    return f"""
CREATE TABLE IF NOT EXISTS aios.embeddings_{dim} (
    content_hash text NOT NULL, model text NOT NULL, embedding vector({dim}) NOT NULL,
    embedded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (content_hash, model)
);
CREATE INDEX IF NOT EXISTS embeddings_{dim}_hnsw
    ON aios.embeddings_{dim} USING hnsw (embedding vector_cosine_ops);
CREATE TABLE IF NOT EXISTS aios.semantic_chunks (
    chunk_id text PRIMARY KEY, event_id text NOT NULL, source text NOT NULL,
    source_id text NOT NULL, thread text, occurred_at timestamptz NOT NULL,
    content_hash text NOT NULL, model text NOT NULL, entity_ids text[] NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS semantic_chunks_hash ON aios.semantic_chunks (content_hash);
CREATE INDEX IF NOT EXISTS semantic_chunks_thread ON aios.semantic_chunks (thread);
"""


def stored_vectors(pg: PostgresStore, model: str, dim: int) -> Callable[[list[str]], dict]:
    """A lookup of vectors Postgres already holds (a rebuilt warehouse re-embeds nothing)."""

    def lookup(hashes: list[str]) -> dict[str, np.ndarray]:
        apply_ddl(pg.resolved_url(), f"semantic_memory_v1_d{dim}", pg_ddl(dim))
        with pg.connect() as con:
            register_vector(con)
            rows = con.execute(
                f"SELECT content_hash, embedding FROM aios.embeddings_{dim} "
                "WHERE model = %s AND content_hash = ANY(%s)", (model, hashes),
            ).fetchall()
        return {h: np.asarray(getattr(v, "to_numpy", lambda: v)(), dtype=np.float32)
                for h, v in rows}

    return lookup


def sync_postgres(pg: PostgresStore, chunks: Sequence[Chunk],
                  entities: Sequence[Sequence[str]], fresh: list[tuple[str, np.ndarray]],
                  model: str, dim: int) -> None:
    """New vectors into ``aios.embeddings_<dim>``; the chunk table follows the event log."""
    apply_ddl(pg.resolved_url(), f"semantic_memory_v1_d{dim}", pg_ddl(dim))
    with pg.connect() as con:
        register_vector(con)
        con.execute(f"CREATE TEMP TABLE _e (LIKE aios.embeddings_{dim} INCLUDING DEFAULTS) "
                    "ON COMMIT DROP")
        with con.cursor() as cur:
            with cur.copy(
                "COPY _e (content_hash, model, embedding) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["text", "text", "vector"])
                for h, v in fresh:
                    copy.write_row((h, model, np.asarray(v, dtype=np.float32)))
        con.execute(f"INSERT INTO aios.embeddings_{dim} SELECT * FROM _e "
                    "ON CONFLICT (content_hash, model) DO NOTHING")
        # Replace the chunk rows in one transaction: readers see the old set or the new one.
        con.execute("CREATE TEMP TABLE _c (LIKE aios.semantic_chunks) ON COMMIT DROP")
        with con.cursor() as cur:
            with cur.copy("COPY _c FROM STDIN") as copy:
                for c, ents in zip(chunks, entities, strict=True):
                    copy.write_row((c.chunk_id, c.event_id, c.source, c.source_id, c.thread,
                                    c.occurred_at, c.content_hash, model, list(ents)))
        con.execute("DELETE FROM aios.semantic_chunks WHERE chunk_id NOT IN "
                    "(SELECT chunk_id FROM _c)")
        con.execute("INSERT INTO aios.semantic_chunks SELECT * FROM _c ON CONFLICT (chunk_id) "
                    "DO UPDATE SET content_hash = excluded.content_hash, model = excluded.model,"
                    " entity_ids = excluded.entity_ids, thread = excluded.thread")
        con.commit()


def nearest_hashes(pg: PostgresStore, model: str, dim: int, query: np.ndarray,
                   limit: int) -> list[str]:
    """Content hashes of the ``limit`` stored vectors nearest to ``query`` (cosine, HNSW)."""
    with pg.connect(autocommit=True) as con:
        register_vector(con)
        con.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        con.execute("SET hnsw.iterative_scan = relaxed_order")
        rows = con.execute(
            f"SELECT content_hash FROM aios.embeddings_{dim} WHERE model = %s "
            "ORDER BY embedding <=> %s LIMIT %s",
            (model, query, limit),
        ).fetchall()
    return [r[0] for r in rows]
