"""The DuckDB warehouse: one writer at a time, readers on a published snapshot.

DuckDB allows a single read-write process per file, and even a read-only reader blocks writers.
So writers take a cross-process file lock (and, inside Dagster, a slot of the ``warehouse``
pool) and, when they finish, publish a consistent copy (``warehouse.read.duckdb``) by atomic
rename. Analysts and the CLI read only that copy: they never see a lock error and never block
the pipeline.

:class:`Warehouse` is the plain object, without Dagster, so ``aios sql`` and the other read
commands start without importing it (about 1.3 CPU-s of a 1.8 CPU-s ``aios sql``);
``resources.warehouse.DuckDBWarehouse`` is the same operations as a Dagster resource.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import fasteners

from aios_assets.shared.home import AiosHome

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


class QueryRefused(ValueError):
    """SQL that ``aios sql`` does not run; the message is one line saying why and what instead."""


# Statement types an analyst may run, as DuckDB's own parser classifies them (DESCRIBE, SHOW,
# SUMMARIZE, FROM-first, PIVOT and table-valued PRAGMAs parse as SELECT). These are pybind
# enums: compare them with ==, never `is`.
_READ_TYPES = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
_WRITE_HINT = "the warehouse is read-only here: aios sql runs queries, not writes"
_REFUSALS = {
    duckdb.StatementType.ATTACH: "ATTACH is refused: aios sql reads only the published snapshot",
    duckdb.StatementType.DETACH: "DETACH is refused: aios sql reads only the published snapshot",
    duckdb.StatementType.COPY: "COPY is refused: export a result with `aios sql QUERY --format "
                               "csv > file` (or --format json)",
    duckdb.StatementType.COPY_DATABASE: "COPY FROM DATABASE is refused: aios sql only reads",
    duckdb.StatementType.EXPORT: "EXPORT DATABASE is refused: export a result with `aios sql "
                                 "QUERY --format csv > file`",
    duckdb.StatementType.LOAD: "INSTALL/LOAD is refused: nothing is downloaded, and the offline "
                               "fts and vss extensions load by themselves when a query uses them",
    duckdb.StatementType.SET: "SET/RESET/USE is refused: the analyst connection's settings are "
                              "locked",
    duckdb.StatementType.VARIABLE_SET: "SET VARIABLE is refused: the analyst connection's "
                                       "settings are locked",
    duckdb.StatementType.PRAGMA: "this PRAGMA is refused: use DESCRIBE t, SHOW TABLES or "
                                 "SELECT * FROM pragma_table_info('t')",
    duckdb.StatementType.CALL: "CALL is refused: use SELECT * FROM the_function(...)",
}
_EXPLAIN_PREFIX = re.compile(r"^\s*explain\s*(?:\([^)]*\)\s*)?(?:analy[sz]e\b)?",
                             re.IGNORECASE)
OFFLINE_EXTENSIONS = ("fts", "vss")
_NEEDS_EXTENSION = re.compile(r"exists in the (\w+) extension")


def check_analyst_query(query: str) -> None:
    """Raise :class:`QueryRefused` unless ``query`` is exactly one read-only statement.

    DuckDB's parser splits and classifies the statements, so comments, case and
    quoting cannot smuggle a second statement or a write past the check.
    """
    # PIVOT without an IN list expands into helper CREATE TYPE statements (temp enums) before
    # its SELECT; the parser leaves those without query text.
    statements = [s for s in duckdb.extract_statements(query)
                  if not (s.type == duckdb.StatementType.CREATE and not s.query.strip())]
    if not statements:
        raise QueryRefused("no SQL statement given")
    if len(statements) > 1:
        raise QueryRefused(f"{len(statements)} statements given: aios sql runs one statement "
                           "(drop the ';'-separated extras)")
    for s in statements:
        if s.type not in _READ_TYPES:
            raise QueryRefused(_REFUSALS.get(s.type, _WRITE_HINT))
        if s.type == duckdb.StatementType.EXPLAIN:
            # EXPLAIN ANALYZE runs its statement, so that one must pass the same check.
            inner = _EXPLAIN_PREFIX.sub("", s.query, count=1)
            try:
                check_analyst_query(inner)
            except (QueryRefused, duckdb.Error) as exc:
                raise QueryRefused(f"EXPLAIN of a refused statement: {exc}") from None


def open_sandboxed(path: Path, extensions: Sequence[str] = ()) -> duckdb.DuckDBPyConnection:
    """A connection that can read ``path`` and nothing else.

    Its own in-memory DuckDB instance attaches the file READ_ONLY (so locking the settings here
    never touches another connection to the same file in this process), loads the offline
    extensions asked for, then disables file and network access (no ATTACH, COPY TO,
    read_text, INSTALL, LOAD) and locks the configuration so SET cannot reopen it.
    """
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    try:
        for name in extensions:  # before the lock: LOAD reads a file
            con.execute(f"LOAD '{extension_path(name)}'")
        escaped = str(path).replace("'", "''")
        con.execute(f"ATTACH '{escaped}' (READ_ONLY)")
        (db,) = con.execute("SELECT database_name FROM duckdb_databases() WHERE NOT internal "
                            "AND database_name <> 'memory'").fetchone()
        con.execute(f'USE "{db}"')
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


class WarehouseAccess:
    """The warehouse's operations, for :class:`Warehouse` and the Dagster resource.

    ``home`` defaults to ``$AIOS_HOME``. Use :meth:`connect` inside a write session to write and
    :meth:`read` anywhere to read the latest published snapshot.
    """

    home: str | None
    lock_timeout_s: float

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

    def _open_rw(self) -> duckdb.DuckDBPyConnection:
        """Open the warehouse read-write, waiting (bounded) while another process still has the
        file: the write lock dies with its holder, but a SIGKILLed run's dbt child lives on and
        keeps DuckDB's own lock until it ends (issue 15)."""
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"the warehouse at {self.path} stayed open in another process for "
                        f"{self.lock_timeout_s:.0f}s (a killed run's child?): "
                        f"{str(exc).splitlines()[0]}") from exc
                time.sleep(0.2)

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, inside its own write session (the snapshot follows)."""
        with self.write_session():
            con = self._open_rw()
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
            con = self._open_rw()
            con.execute("CHECKPOINT")
            con.close()
        tmp = self.snapshot_path.with_name(f".{self.snapshot_path.name}.{os.getpid()}.tmp")
        shutil.copyfile(self.path, tmp)
        os.replace(tmp, self.snapshot_path)

    def _require_snapshot(self) -> None:
        if not self.snapshot_path.exists():
            raise WarehouseMissing(
                f"no warehouse yet at {self.snapshot_path.parent}: run `aios demo` or "
                "`aios ingest PATH` first"
            )

    def read(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the latest published snapshot (never blocks writers)."""
        self._require_snapshot()
        last: Exception | None = None
        for _ in range(5):
            try:
                return duckdb.connect(str(self.snapshot_path), read_only=True)
            except duckdb.IOException as exc:  # a rename raced with the open
                last = exc
                time.sleep(0.05)
        raise WarehouseBusy(f"could not open {self.snapshot_path}: {last}")

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run one analyst query on the snapshot, sandboxed: (column names, rows).

        Raises :class:`QueryRefused` for anything but one read-only statement, and
        ``duckdb.Error`` for a query DuckDB rejects. A query that uses fts or vss is rerun with
        that offline extension loaded (it cannot be loaded once the sandbox is locked).
        """
        check_analyst_query(sql)
        self._require_snapshot()
        extensions: list[str] = []
        while True:
            last: Exception | None = None
            for _ in range(5):
                try:
                    con = open_sandboxed(self.snapshot_path, extensions)
                    break
                except duckdb.IOException as exc:  # a rename raced with the open
                    last = exc
                    time.sleep(0.05)
            else:
                raise WarehouseBusy(f"could not open {self.snapshot_path}: {last}")
            try:
                cur = con.execute(sql)
                columns = [d[0] for d in cur.description] if cur.description else []
                return columns, (cur.fetchall() if columns else [])
            except duckdb.CatalogException as exc:
                needed = _NEEDS_EXTENSION.search(str(exc))
                if not needed or needed[1] not in OFFLINE_EXTENSIONS or needed[1] in extensions:
                    raise
                extensions.append(needed[1])
            finally:
                con.close()


@dataclasses.dataclass(frozen=True)
class Warehouse(WarehouseAccess):
    """The analyst-facing DuckDB warehouse under AIOS_HOME, outside Dagster."""

    home: str | None = None
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
