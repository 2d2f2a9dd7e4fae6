"""The dbt marts with their real columns and types, for fixtures that fill marts row by row.

Many tests need marts with chosen rows (known entity ids, a given membership) that no tiny
input would make the resolver produce; writing those tables' DDL by hand drifts from the dbt
models. ``create_mart`` creates a mart with exactly the columns and types a real ``dbt run``
gives it, and fixtures fill it with ``INSERT INTO <mart> BY NAME SELECT ...`` or a named column
list: a fixture column the model does not have fails the insert, a column the model adds is
there (NULL) for the code under test.

The schemas come from one ``dbt run`` of the whole project on an empty event log (about 10 s,
more on a busy machine), cached in the temp directory under a hash of the dbt project's files,
so a change to any model rebuilds them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

import duckdb
import fasteners

from aios_assets.entities.dbt_manifest import DBT_PROJECT_DIR
from tests.entity_fixtures import create_event_log, dbt

MARTS = ("entity_membership", "dim_contacts", "dim_organizations", "fct_interactions",
         "fct_invoices", "fct_content_performance")
_SKIP = {"target", "logs", "dbt_packages", "__pycache__"}


def _project_hash() -> str:
    digest = hashlib.sha256(duckdb.__version__.encode())
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        rel = path.relative_to(DBT_PROJECT_DIR)
        if path.is_file() and not _SKIP & set(rel.parts):
            digest.update(str(rel).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _build_schemas(work: Path) -> dict[str, list[list[str]]]:
    warehouse = work / "warehouse.duckdb"
    create_event_log(warehouse)
    dbt("run", "--select", *(f"+{m}" for m in MARTS), warehouse=warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {m: [list(r) for r in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position", [m]).fetchall()] for m in MARTS}


@functools.cache
def mart_columns() -> dict[str, list[tuple[str, str]]]:
    """{mart: [(column, DuckDB type), ...]} as the dbt project builds them."""
    cache = Path(tempfile.gettempdir()) / f"aios-mart-schemas-{_project_hash()}.json"
    with fasteners.InterProcessLock(f"{cache}.lock"):
        if not cache.exists():
            with tempfile.TemporaryDirectory(prefix="aios-mart-schemas-") as work:
                schemas = _build_schemas(Path(work))
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(schemas))
            tmp.replace(cache)
        schemas = json.loads(cache.read_text())
    return {m: [(c, t) for c, t in cols] for m, cols in schemas.items()}


def create_mart(con: duckdb.DuckDBPyConnection, mart: str, *, replace: bool = True) -> None:
    """An empty ``mart`` with the dbt model's columns (replacing one that exists, or, with
    ``replace=False``, keeping it)."""
    columns = ", ".join(f'"{c}" {t}' for c, t in mart_columns()[mart])
    verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE IF NOT EXISTS"
    con.execute(f"{verb} {mart} ({columns})")
