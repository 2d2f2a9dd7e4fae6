"""The DuckDB warehouse as a Dagster resource (its operations: aios_assets.shared.warehouse)."""

from __future__ import annotations

import dagster as dg

from aios_assets.shared.warehouse import (
    DEFAULT_LOCK_TIMEOUT_S,
    OFFLINE_EXTENSIONS,
    QueryRefused,
    WarehouseAccess,
    WarehouseBusy,
    WarehouseMissing,
    check_analyst_query,
    extension_path,
    load_extensions,
    open_sandboxed,
)

__all__ = [
    "DEFAULT_LOCK_TIMEOUT_S", "OFFLINE_EXTENSIONS", "DuckDBWarehouse", "QueryRefused",
    "WarehouseBusy", "WarehouseMissing", "check_analyst_query", "extension_path",
    "load_extensions", "open_sandboxed",
]


class DuckDBWarehouse(WarehouseAccess, dg.ConfigurableResource):
    """The analyst-facing DuckDB warehouse under AIOS_HOME (``home`` defaults to ``$AIOS_HOME``).

    Use :meth:`connect` inside a write session to write and :meth:`read` anywhere to read the
    latest published snapshot.
    """

    home: str | None = None
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
