"""Dagster's SQLite run storage without an fsync per event.

Dagster keeps a home's run history in SQLite files in WAL mode (``dagster/history``). It opens a
connection per operation and commits once per event, about 530 events per ingest run. Two
SQLite defaults made each of those cost about 2.6 ms of fsync here (``strace -f -e fdatasync``
on a one-event ``aios ingest``: 5,455 syncs before, 217 after):

- ``synchronous=FULL`` syncs the WAL on every commit;
- closing the last connection to a WAL database checkpoints it (and syncs) every time.

So each connection gets ``synchronous=NORMAL``, SQLite's documented setting for WAL: a crashed or
killed process loses nothing and the database stays consistent; only a power cut can drop the
last commits of the run history (never the warehouse: AIOS's event log is DuckDB). And the
process keeps one idle connection per database file, so a close is not the last one: SQLite then
checkpoints every 1,000 pages, and once more when the process exits.
"""

from __future__ import annotations

import atexit
import sqlite3
import threading
from collections import OrderedDict
from typing import Any

import sqlalchemy
from sqlalchemy import event

MAX_KEPT = 16  # files kept open at once (runs.db, index.db, a run's shard, schedules.db...)

_lock = threading.Lock()
_kept: OrderedDict[str, sqlite3.Connection] = OrderedDict()
_in_wal: set[str] = set()
_installed = False


def _keep_open(path: str) -> None:
    with _lock:
        keeper = _kept.get(path)
        if keeper is not None:
            _kept.move_to_end(path)
            if path in _in_wal:
                return
        else:
            try:
                keeper = sqlite3.connect(path, check_same_thread=False)
            except sqlite3.Error:  # a file we cannot open ourselves: its closes just checkpoint
                return
            _kept[path] = keeper
            while len(_kept) > MAX_KEPT:
                old, conn = _kept.popitem(last=False)
                _in_wal.discard(old)
                conn.close()
        # A connection counts once it has read the file in WAL mode (it then holds the WAL
        # index open); Dagster creates a run's file in rollback mode and switches it after.
        try:
            keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()  # re-reads the header
            if keeper.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                _in_wal.add(path)
        except sqlite3.Error:
            pass


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    for _seq, name, path in dbapi_connection.execute("PRAGMA database_list").fetchall():
        if name == "main" and path:  # "" is an in-memory or temporary database
            _keep_open(path)


def release_kept() -> None:
    """Close the kept connections (the last close checkpoints each file)."""
    with _lock:
        _in_wal.clear()
        while _kept:
            _kept.popitem(last=False)[1].close()


def relax_sqlite_sync() -> None:
    """Every SQLite engine this process opens (Dagster's storages) commits without an fsync.
    Idempotent; called when a command activates a home."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    event.listen(sqlalchemy.engine.Engine, "connect", _on_connect)
    atexit.register(release_kept)
