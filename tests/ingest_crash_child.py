"""A fork server for the ingest crash test: import once, then fork one ingesting child per trial.

Usage: ``python -m tests.ingest_crash_child AIOS_HOME``. Each stdin line is ``DELAY_S PATH...``:
the server forks a child that ingests the paths through the real loader inside a warehouse write
session (lock, one transaction per file, snapshot publish), SIGKILLs it after ``DELAY_S``
seconds (negative: never), reaps it and answers ``killed SECONDS`` or ``exited CODE SECONDS``.
Forking after the imports makes a trial cost the ingest itself, not Python's start-up.
The server never opens the warehouse (only a closed in-memory warm-up database), so the children
inherit no DuckDB state.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pyarrow as pa

from aios_assets.ingest.loader import ingest_paths
from resources.warehouse import DuckDBWarehouse
from tests.fork_server import fork_trial


def _ingest(home: str, paths: list[str]) -> None:
    with DuckDBWarehouse(home=home).connect() as con:
        ingest_paths(con, [Path(p) for p in paths])


def trial(home: str, delay_s: float, paths: list[str]) -> str:
    return fork_trial(lambda: _ingest(home, paths), delay_s)


def warm_up() -> None:
    """Pay DuckDB's lazy Arrow imports (~1.5 s) once, in memory; the database is closed again."""
    con = duckdb.connect(":memory:")
    con.register("_warm", pa.table({"a": [1]}))
    con.execute("SELECT * FROM _warm").fetchall()
    con.close()


def main(argv: list[str]) -> None:
    home = argv[0]
    warm_up()
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        print(trial(home, float(parts[0]), parts[1:]), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
