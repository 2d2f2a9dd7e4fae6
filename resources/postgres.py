"""Postgres + pgvector as a Dagster resource (the store itself, embedded server included:
:mod:`aios_assets.shared.postgres`)."""

from __future__ import annotations

import dagster as dg

from aios_assets.shared.postgres import (
    BASE_DDL,
    DATABASE,
    URL_ENV,
    PostgresAccess,
    PostgresUnavailable,
    apply_ddl,
    connect,
    embedded_running,
    embedded_url,
    guard_text,
    resolve_url,
    stop_embedded,
    went_away,
)

__all__ = [
    "BASE_DDL", "DATABASE", "URL_ENV", "PostgresStore", "PostgresUnavailable", "apply_ddl",
    "connect", "embedded_running", "embedded_url", "guard_text", "resolve_url", "stop_embedded",
    "went_away",
]


class PostgresStore(PostgresAccess, dg.ConfigurableResource):
    """Postgres with pgvector for what people and agents read and change concurrently.

    ``url`` empty means ``$AIOS_POSTGRES_URL`` or the embedded server under ``home``.
    Configure a real server with ``url=dg.EnvVar("AIOS_POSTGRES_URL")``.
    """

    url: str | None = None
    home: str | None = None
