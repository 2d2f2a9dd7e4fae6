"""Where the console reaches into the rest of AIOS: one small function per dependency.

Modules are being moved (issue 16: incidents to ``observability/incidents.py``, costs to
``observability/costs.py``...). Every import of another package goes through this file, so a move
is fixed here once; tables are read with SQL where that is simplest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb


def warehouse_read() -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse snapshot."""
    from resources.warehouse import DuckDBWarehouse

    return DuckDBWarehouse().read()


def warehouse_write() -> Any:
    """A context manager: a read-write warehouse connection under the write lock (short
    wait, so a busy warehouse is an error the page shows instead of a hung request)."""
    from resources.warehouse import DuckDBWarehouse

    return DuckDBWarehouse(lock_timeout_s=20.0).connect()


def warehouse_errors() -> tuple[type[Exception], ...]:
    """What a missing or busy warehouse, or an unreachable Postgres, raises (one line)."""
    import psycopg

    from aios_assets.shared.postgres import PostgresUnavailable
    from aios_assets.shared.warehouse import WarehouseBusy, WarehouseMissing

    return (WarehouseBusy, WarehouseMissing, PostgresUnavailable, psycopg.OperationalError)


def postgres_store() -> Any:
    from resources.postgres import PostgresStore

    return PostgresStore()


def postgres_url() -> str | None:
    """The Postgres URL, or None when it cannot be reached (pages then say so)."""
    from aios_assets.shared.postgres import PostgresUnavailable

    try:
        return postgres_store().resolved_url()
    except PostgresUnavailable:
        return None


def pg_rows(url: str | None, sql: str, params: Sequence[Any] = (),
            table: str | None = None) -> list[dict[str, Any]]:
    """Rows as dicts; [] without Postgres or before ``aios.<table>`` exists."""
    if not url:
        return []
    import psycopg

    from aios_assets.shared.postgres import connect

    with connect(url, autocommit=True) as con:
        if table and con.execute("SELECT to_regclass(%s)", (f"aios.{table}",)
                                 ).fetchone()[0] is None:
            return []
        cur = con.execute(sql, tuple(params))
        cols = [d.name for d in cur.description or []]
        try:
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        except psycopg.ProgrammingError:
            return []


def home_root() -> Path:
    from aios_assets.shared.home import AiosHome

    return AiosHome.from_env().root


def activate() -> Path:
    from aios_assets.shared.home import activate_home

    return activate_home().root


# --- secrets ---------------------------------------------------------------------------------


def redactor() -> Any:
    """``redact(value)``: credentials and secret environment values cut out (audit's rule)."""
    from aios_assets.observability.audit import redact

    return redact


# --- proposals and decisions -----------------------------------------------------------------


def proposals_overview(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every proposal with its status (the rows of ``aios proposals --json``)."""
    from aios_assets.publishing.data import load_intent_rules
    from aios_assets.publishing.decisions import all_decisions, latest_decisions
    from aios_assets.publishing.outbox import Outbox
    from aios_assets.publishing.policy import load_policy
    from aios_assets.publishing.publish import proposals_overview as overview
    from aios_assets.shared.home import AiosHome

    store = postgres_store()
    home = AiosHome.from_env()
    return overview(con, load_policy(home), decisions=latest_decisions(all_decisions(store)),
                    outbox=Outbox(store), intents=load_intent_rules(home))


def audit_proposal(con: duckdb.DuckDBPyConnection, pid: str, pg_url: str | None
                   ) -> dict[str, Any]:
    from aios_assets.observability.audit import audit_proposal as audit

    return audit(con, pid, pg_url=pg_url)


def audit_entity(con: duckdb.DuckDBPyConnection, entity_id: str, pg_url: str | None
                 ) -> dict[str, Any]:
    from aios_assets.observability.audit import audit_entity as audit

    return audit(con, entity_id, pg_url=pg_url)


def audit_error() -> type[Exception]:
    from aios_assets.observability.audit import AuditError

    return AuditError


def decide(ids: Sequence[str], decision: str, reason: str | None, *, decided_by: str) -> Any:
    """The one durable path of ``aios approve/reject`` (Postgres, then the event log)."""
    from aios_assets.publishing.approvals import decide as run_decide
    from resources.warehouse import DuckDBWarehouse

    return run_decide(ids, decision, reason, via="console", warehouse=DuckDBWarehouse(),
                      store=postgres_store(), decided_by=decided_by)


def decision_error() -> type[Exception]:
    from aios_assets.publishing.decisions import DecisionError

    return DecisionError


def proposal_contract() -> Any:
    """The agents' proposal contract module (ids, keys, validation, merge)."""
    from aios_assets.agents import proposals

    return proposals


def load_proposal_rows(con: duckdb.DuckDBPyConnection, ids: Sequence[str]
                       ) -> list[dict[str, Any]]:
    from aios_assets.publishing.data import load_proposals

    return load_proposals(con, ids)


def apply_ddl(url: str, migration: str, ddl: str) -> None:
    from aios_assets.shared.postgres import apply_ddl as run

    run(url, migration, ddl)


# --- spend, budgets, incidents ---------------------------------------------------------------


def budgets() -> list[Any]:
    """Budgets in force (LLM settings in the environment, intents' per-run budgets)."""
    from aios_assets.observability.cost_views import budgets as read_budgets

    intents: list[Any] = []
    try:
        from aios_assets.agents.intents import load_intents

        intents = list(load_intents())
    except Exception:  # noqa: BLE001 - a broken intents file shows as "no intent budgets"
        intents = []
    return read_budgets(None, intents)


# --- people ----------------------------------------------------------------------------------


def overrides_path() -> Path:
    """``$AIOS_ENTITY_OVERRIDES`` or ``$AIOS_HOME/entity_overrides.yaml`` (what dbt reads)."""
    import os

    from aios_assets.entities.resolution.overrides import OVERRIDES_ENV, overrides_file

    return overrides_file(home_root(), os.environ.get(OVERRIDES_ENV))


def load_overrides(path: Path) -> Any:
    from aios_assets.entities.resolution.resolve import Overrides

    return Overrides.load(path)


# --- search ----------------------------------------------------------------------------------


def recall(query: str, *, k: int, filters: Mapping[str, Any]) -> list[Any]:
    from aios_assets.memory.recall import recall as run_recall

    return run_recall(query, k=k, **filters)


def recall_errors() -> tuple[type[Exception], ...]:
    from aios_assets.memory.index import IndexMissing
    from aios_assets.memory.recall import RecallError

    return (IndexMissing, RecallError)
