"""Shared by the recall tests: a file into a home's event log, and one ``semantic_memory``
build of that home (real DuckDB, the session's Postgres, the offline embedder)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


def ingest_file(home: Path, path: Path) -> None:
    from aios_assets.ingest.loader import ingest_paths
    from resources.warehouse import DuckDBWarehouse

    with DuckDBWarehouse(home=str(home)).connect() as con:
        ingest_paths(con, [path])


def materialize_semantic(home: Path) -> dict:
    """Build semantic memory for ``home``; its materialization's metadata as plain values."""
    from aios_assets.memory.semantic import semantic_memory
    from resources.embeddings import EmbeddingsResource
    from resources.postgres import PostgresStore
    from resources.warehouse import DuckDBWarehouse

    result = dg.materialize(
        [semantic_memory],
        resources={"warehouse": DuckDBWarehouse(home=str(home)), "postgres": PostgresStore(),
                   "embeddings": EmbeddingsResource()},
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node("semantic_memory")
    return {k: v.value for k, v in mat.metadata.items()}
