"""A small real history for the audit and replay tests: the agent fixture business, agents run
as Dagster assets (in the test's Dagster instance) with the LLM on a loopback
OpenAI-compatible server, so runs, ledger rows, cache entries and proposals are all real."""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg
import psycopg

from aios_assets.agents.assets import AGENT_ASSETS
from resources.llm import LLMResource
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse
from tests.agent_fixtures import CLOCK, build_business

POLICY = """
version: 1
default_mode: approve_first
actions:
  send_email: {mode: approve_first, max_per_day: 10}
  http_request: {mode: approve_first, max_per_day: 10}
  internal_note: {mode: autonomous}
"""
DRAFT = "Hi Ada, a friendly reminder about invoice INV-7. Best, Maya"


def fresh_database(pg_url: str) -> str:
    """A database of its own on the session's embedded server."""
    name = "audit_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return psycopg.conninfo.make_conninfo(pg_url, dbname=name)


def run_agents(home: Path, url: str, llm_base_url: str | None,
               agents: tuple[str, ...] = ("billing",)) -> dg.ExecuteInProcessResult:
    """Plan, run ``agents`` and merge their proposals, in the instance of ``$DAGSTER_HOME``."""
    keys = {"agent_plans", "action_proposals", *(f"agent_{a}" for a in agents)}
    assets = [a for a in AGENT_ASSETS if a.key.to_user_string() in keys]
    config = {"as_of": CLOCK.isoformat()}
    ops = {k: {"config": config} for k in keys if k != "action_proposals"}
    return dg.materialize(
        assets, instance=dg.DagsterInstance.get(),
        resources={"warehouse": DuckDBWarehouse(home=str(home)),
                   "postgres": PostgresStore(url=url),
                   "llm": LLMResource(postgres_url=url, home=str(home),
                                      base_url=llm_base_url)},
        run_config={"ops": ops}, raise_on_error=True)


def business_with_agents(home: Path, url: str, llm_base_url: str | None,
                         agents: tuple[str, ...] = ("billing",)) -> dg.ExecuteInProcessResult:
    (home / "policy.yaml").write_text(POLICY)
    build_business(home)
    return run_agents(home, url, llm_base_url, agents)
