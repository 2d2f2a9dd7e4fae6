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

import os
import signal
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from aios_assets.ingest.loader import ingest_paths
from resources.warehouse import DuckDBWarehouse


def _ingest(home: str, paths: list[str]) -> None:
    with DuckDBWarehouse(home=home).connect() as con:
        ingest_paths(con, [Path(p) for p in paths])


def trial(home: str, delay_s: float, paths: list[str]) -> str:
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: ingest, then leave without running the parent's cleanup
        code = 0
        try:
            _ingest(home, paths)
        except BaseException as exc:  # noqa: BLE001 - reported through the exit code
            print(f"child error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            code = 1
        os._exit(code)
    if delay_s >= 0:
        deadline = started + delay_s
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.002)
        else:
            os.kill(pid, signal.SIGKILL)
            done, status = os.waitpid(pid, 0)
    else:
        done, status = os.waitpid(pid, 0)
    elapsed = time.monotonic() - started
    if os.WIFSIGNALED(status):
        return f"killed {elapsed:.4f}"
    return f"exited {os.WEXITSTATUS(status)} {elapsed:.4f}"


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
