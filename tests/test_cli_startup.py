"""The CLI's read commands start without Dagster.

``aios sql``, ``aios recall``, ``aios proposals``, ``aios cost`` and ``aios summary`` read the
warehouse snapshot, the recall index and Postgres; none of them opens a Dagster instance.
Importing Dagster (and, with it, SQLAlchemy) was about 1.1 of the 1.4 CPU-s of an ``aios sql``
call, so they use the plain warehouse, Postgres and embedder (``aios_assets/shared/``,
``aios_assets/llm/embeddings.py``), not the Dagster resources built on them, and the adapters
package no longer loads every adapter's client library on import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

HEAVY = ("dagster", "sqlalchemy", "caldav", "great_expectations")

# Runs the real `aios sql` in a fresh interpreter, then imports what `aios recall`,
# `aios proposals` and `aios cost` import (their real runs need an index and a Postgres
# server), builds the configured embedder as recall does, and reports which heavy packages
# were loaded.
CHILD = """
import json, runpy, sys
heavy = json.loads(sys.argv[1])
sys.argv = ["aios", "sql", "--format", "json", "select n from event_log"]
try:
    runpy.run_module("aios_assets.cli", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
from aios_assets.llm.embeddings import make_embedder
import aios_assets.memory.recall
import aios_assets.publishing.cli
from aios_assets.publishing import data, decisions, outbox, policy, publish, status
from aios_assets.observability import cost_views
from aios_assets.agents import intents
make_embedder()
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
sys.stderr.write("LOADED " + json.dumps(loaded) + "\\n")
"""

def test_the_read_commands_do_not_import_dagster(tmp_path: Path) -> None:
    import duckdb

    home = tmp_path / "home"
    home.mkdir()
    with duckdb.connect(str(home / "warehouse.read.duckdb")) as con:
        con.execute("CREATE TABLE event_log AS SELECT 7 AS n")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(HEAVY)], cwd=ROOT, capture_output=True,
        text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "AIOS_HOME": str(home), "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"n": 7}]
    line = [x for x in proc.stderr.splitlines() if x.startswith("LOADED ")]
    assert line, proc.stderr
    assert json.loads(line[-1].removeprefix("LOADED ")) == []


def test_the_dagster_resources_are_the_same_operations() -> None:
    """The resources add only their config to the plain objects: one copy of each operation."""
    from aios_assets.shared.postgres import Postgres, PostgresAccess
    from aios_assets.shared.warehouse import Warehouse, WarehouseAccess
    from resources.postgres import PostgresStore
    from resources.warehouse import DuckDBWarehouse

    for resource, plain, access in ((DuckDBWarehouse, Warehouse, WarehouseAccess),
                                    (PostgresStore, Postgres, PostgresAccess)):
        assert issubclass(resource, access) and issubclass(plain, access)
        assert set(resource.model_fields) == {f.name for f in plain.__dataclass_fields__.values()}
        assert not {n for n in vars(resource) if not n.startswith("_") and callable(
            getattr(resource, n))} - {"model_config"}, resource
    home = "/tmp/aios-startup-home"
    assert DuckDBWarehouse(home=home).snapshot_path == Warehouse(home=home).snapshot_path
