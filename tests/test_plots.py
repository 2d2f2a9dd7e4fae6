"""Plots in the UI come from Dagster's own metadata, through real materializations.

cost_ledger carries this run's breakdowns as typed tables (spend per day for 30 days, spend per
agent) and its totals as float/int entries; semantic_memory carries units per build as an int.
The UI's Plots tab draws every float/int entry across an asset's materializations, so the tests
read the history back from the instance the way the webserver does and check the series.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from tests.audit_fixtures import fresh_database

NUMERIC = (dg.FloatMetadataValue, dg.IntMetadataValue)  # the types the Plots tab draws


@pytest.fixture
def fresh_pg(aios_home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = fresh_database(pg_url)
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    return url


def _history(instance: dg.DagsterInstance, asset: str, key: str) -> list[float]:
    """One entry's values over the asset's materializations, oldest first (the Plots tab)."""
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
    values = []
    for record in reversed(records):
        value = record.asset_materialization.metadata[key]
        assert isinstance(value, NUMERIC), (key, type(value))
        values.append(value.value)
    return values


def _paid_call(pg: str, agent: str, usd: float, ago: str) -> None:
    """A paid LLM call ``ago`` (a Postgres interval), as a real endpoint would have recorded."""
    with psycopg.connect(pg, autocommit=True) as con:
        con.execute(
            """INSERT INTO aios.llm_calls (call_id, called_at, agent, task, tier, model,
                   prompt_hash, prompt_tokens, completion_tokens, cost_usd, cache_hit, degraded,
                   outcome, attempts, latency_ms)
               VALUES (gen_random_uuid(), now() - %s::interval, %s, 'classify', 'cheap',
                       'cheap-m', 'h', 10, 5, %s, false, false, 'ok', 1, 9)""",
            [ago, agent, usd])


def test_cost_ledger_tables_and_spend_plotted_over_materializations(fresh_pg: str):
    from aios_assets.llm.offline import summarize_prompt
    from aios_assets.observability.costs import cost_ledger
    from resources.llm import LLMResource
    from resources.warehouse import DuckDBWarehouse

    llm = LLMResource()
    for i in range(3):  # offline tier: calls, no spend
        llm.complete(agent="memory", task="summarize",
                     prompt=summarize_prompt([f"Dana will pay ${i}00 on May 2."]))
    _paid_call(fresh_pg, "triage", 0.25, "3 days")
    resources = {"warehouse": DuckDBWarehouse(), "llm": llm}
    metas = []
    with dg.instance_for_test() as instance:
        for extra in (None, ("billing", 0.5, "0 seconds")):
            if extra:
                _paid_call(fresh_pg, *extra)
            result = dg.materialize([cost_ledger], instance=instance, resources=resources)
            (mat,) = result.asset_materializations_for_node("cost_ledger")
            metas.append(mat.metadata)
        # What the Plots tab draws for the ledger: totals per materialization.
        assert _history(instance, "cost_ledger", "llm_spend_usd") == pytest.approx([0.25, 0.75])
        assert _history(instance, "cost_ledger", "adapter_spend_usd") == [0.0, 0.0]
        assert _history(instance, "cost_ledger", "spend_today_usd") == pytest.approx([0, 0.5])
        assert _history(instance, "cost_ledger", "spend_last_30d_usd") == pytest.approx(
            [0.25, 0.75])
        assert _history(instance, "cost_ledger", "rows") == [4, 5]
    first, second = metas

    # Spend per day: 30 UTC days, oldest first, zero-filled, typed columns.
    table = second["spend_per_day"]
    assert isinstance(table, dg.TableMetadataValue)
    assert [(c.name, c.type) for c in table.schema.columns] == [
        ("day", "date"), ("total_usd", "float"), ("llm_usd", "float"), ("adapter_usd", "float"),
        ("llm_calls", "int"), ("adapter_calls", "int")]
    rows = [r.data for r in table.records]
    today = datetime.now(UTC).date()
    assert [r["day"] for r in rows] == [
        (today - timedelta(days=29 - i)).isoformat() for i in range(30)]
    by_day = {r["day"]: r for r in rows}
    assert by_day[today.isoformat()] == {
        "day": today.isoformat(), "total_usd": 0.5, "llm_usd": 0.5, "adapter_usd": 0.0,
        "llm_calls": 4, "adapter_calls": 0}
    assert by_day[(today - timedelta(days=3)).isoformat()]["llm_usd"] == pytest.approx(0.25)
    assert sum(r["llm_calls"] for r in rows) == 5
    assert sum(r["total_usd"] for r in rows) == pytest.approx(second["spend_last_30d_usd"].value)
    # The first build saw no spend today; its table still has the day (zero), not a gap.
    assert [r.data for r in first["spend_per_day"].records][-1]["total_usd"] == 0.0

    # Spend per agent: biggest spender first.
    agents = second["spend_by_agent"]
    assert [(c.name, c.type) for c in agents.schema.columns] == [
        ("agent", "string"), ("today_usd", "float"), ("total_usd", "float"), ("calls", "int")]
    assert [r.data for r in agents.records] == [
        {"agent": "billing", "today_usd": 0.5, "total_usd": 0.5, "calls": 1},
        {"agent": "triage", "today_usd": 0.0, "total_usd": 0.25, "calls": 1},
        {"agent": "memory", "today_usd": 0.0, "total_usd": 0.0, "calls": 3}]


def test_semantic_memory_units_per_build_are_plotted(fresh_pg: str, aios_home: Path):
    from aios_assets.ingest.loader import ingest_paths
    from aios_assets.memory.semantic import semantic_memory
    from resources.embeddings import EmbeddingsResource
    from resources.postgres import PostgresStore
    from resources.warehouse import DuckDBWarehouse
    from tests.conftest import event, write_jsonl

    warehouse = DuckDBWarehouse()
    resources = {"warehouse": warehouse, "postgres": PostgresStore(),
                 "embeddings": EmbeddingsResource()}

    def add(n0: int, n: int) -> None:
        path = write_jsonl(aios_home / f"chat-{n0}.jsonl", [
            event(f"g-{i}", f"message number {i} about the pottery class and the beagle {i}")
            for i in range(n0, n0 + n)])
        with warehouse.connect() as con:
            ingest_paths(con, [path])

    with dg.instance_for_test() as instance:
        for n0, n in ((0, 3), (3, 4), (7, 0)):
            if n:
                add(n0, n)
            dg.materialize([semantic_memory], instance=instance, resources=resources)
        units = _history(instance, "semantic_memory", "units")
        embedded = _history(instance, "semantic_memory", "embedded_now")
        events = _history(instance, "semantic_memory", "events")
        for key in ("reused_embeddings", "embed_seconds", "index_seconds"):
            assert len(_history(instance, "semantic_memory", key)) == 3
    with warehouse.read() as con:
        stored = con.execute("SELECT count(*) FROM semantic_chunks").fetchone()[0]
    # Memory growth: more units after new events, the same after a build with nothing new.
    assert units[2] == units[1] == stored
    assert units[1] > units[0] > 0
    assert events == [3, 7, 7]
    assert embedded[0] == units[0] and embedded[1] == units[1] - units[0] and embedded[2] == 0
