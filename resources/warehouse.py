"""The DuckDB warehouse: one writer at a time, readers on a published snapshot.

DuckDB allows a single read-write process per file, and even a read-only reader blocks writers.
So writers take a cross-process file lock (and, inside Dagster, a slot of the ``warehouse``
pool) and, when they finish, publish a consistent copy (``warehouse.read.duckdb``) by atomic
rename. Analysts and the CLI read only that copy: they never see a lock error and never block
the pipeline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import fasteners

from resources.home import AiosHome

DEFAULT_LOCK_TIMEOUT_S = 600.0


class WarehouseBusy(RuntimeError):
    """Another process held the warehouse write lock for longer than the timeout."""


class WarehouseMissing(FileNotFoundError):
    """Nothing has been ingested yet, so there is no warehouse to read."""


def extension_path(name: str) -> Path:
    """The offline DuckDB extension file shipped by the ``duckdb-extension-<name>`` package."""
    import importlib

    module = importlib.import_module(f"duckdb_extension_{name}")
    base = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    return base / f"{name}.duckdb_extension"


def load_extensions(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Install and load extensions from their PyPI packages (nothing is downloaded)."""
    for name in names:
        con.execute(f"INSTALL '{extension_path(name)}'")
        con.execute(f"LOAD {name}")


class DuckDBWarehouse(dg.ConfigurableResource):
    """The analyst-facing DuckDB warehouse under AIOS_HOME.

    ``home`` defaults to ``$AIOS_HOME``. Use :meth:`connect` inside a write session to write and
    :meth:`read` anywhere to read the latest published snapshot.
    """

    home: str | None = None
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S

    @property
    def layout(self) -> AiosHome:
        return AiosHome.from_env(self.home)

    @property
    def path(self) -> Path:
        return self.layout.warehouse

    @property
    def snapshot_path(self) -> Path:
        return self.layout.warehouse_snapshot

    @contextlib.contextmanager
    def write_session(self) -> Iterator[None]:
        """Hold the cross-process write lock; publish the read snapshot when the block exits."""
        layout = self.layout.ensure()
        lock = fasteners.InterProcessLock(str(layout.locks / "warehouse.lock"))
        if not lock.acquire(blocking=True, timeout=self.lock_timeout_s):
            raise WarehouseBusy(
                f"the warehouse at {self.path} stayed locked for {self.lock_timeout_s:.0f}s "
                "by another AIOS process"
            )
        try:
            yield
            self._publish_snapshot()
        finally:
            lock.release()

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, inside its own write session (the snapshot follows)."""
        with self.write_session():
            con = duckdb.connect(str(self.path))
            try:
                yield con
            finally:
                con.close()

    def _publish_snapshot(self) -> None:
        # The writer has closed its connection (DuckDB checkpoints on close), so the file is
        # consistent; copy then rename so readers holding the old copy keep a valid file.
        if not self.path.exists():
            return
        wal = self.path.with_suffix(self.path.suffix + ".wal")
        if wal.exists():
            con = duckdb.connect(str(self.path))
            con.execute("CHECKPOINT")
            con.close()
        tmp = self.snapshot_path.with_name(f".{self.snapshot_path.name}.{os.getpid()}.tmp")
        shutil.copyfile(self.path, tmp)
        os.replace(tmp, self.snapshot_path)

    def read(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the latest published snapshot (never blocks writers)."""
        if not self.snapshot_path.exists():
            raise WarehouseMissing(
                f"no warehouse yet at {self.snapshot_path.parent}: run `aios demo` or "
                "`aios ingest PATH` first"
            )
        last: Exception | None = None
        for _ in range(5):
            try:
                return duckdb.connect(str(self.snapshot_path), read_only=True)
            except duckdb.IOException as exc:  # a rename raced with the open
                last = exc
                time.sleep(0.05)
        raise WarehouseBusy(f"could not open {self.snapshot_path}: {last}")
