"""The cost_ledger asset: Postgres aios.llm_calls mirrored into DuckDB, incrementally, with
run/asset labels from the Dagster context, spend metadata, and never a key."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import duckdb
import psycopg
import pytest

from aios_assets.llm.offline import summarize_prompt
from aios_assets.observability.cost_views import COST_LEDGER_DDL
from aios_assets.observability.costs import cost_ledger, ledger_data_version
from aios_assets.testing.openai_server import Fault, OpenAIServer
from resources.llm import LLMPermanentError, LLMResource, usage_metadata
from resources.warehouse import DuckDBWarehouse

KEY = "sk-test-LEDGER-4d2c8e0f1a"
WRONG_KEY = "sk-test-WRONG-99e1b7c3d2"
PRICES = {"cheap-m": [1000.0, 2000.0], "strong-m": [10000.0, 20000.0]}


@pytest.fixture
def ledger_db(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database on the session's embedded Postgres, as AIOS_POSTGRES_URL."""
    name = f"llmcost_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(pg_url)._replace(path=f"/{name}").geturl()
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("AIOS_LLM_API_KEY", raising=False)
    yield url
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_llm(server: OpenAIServer, key: str = KEY, **overrides: Any) -> LLMResource:
    return LLMResource(base_url=server.url, api_key=key, cheap_model="cheap-m",
                       strong_model="strong-m", prices=PRICES, backoff_initial_s=0.01,
                       max_retries=1, **overrides)


def materialize_ledger(llm: LLMResource) -> dict[str, Any]:
    result = dg.materialize([cost_ledger], resources={"warehouse": DuckDBWarehouse(),
                                                      "llm": llm})
    assert result.success
    (mat,) = result.asset_materializations_for_node("cost_ledger")
    return {k: v.value for k, v in mat.metadata.items()}


def pg_rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as con:
        return con.execute(
            "SELECT call_id::text, agent, tier, cost_usd, cache_hit FROM aios.llm_calls "
            "ORDER BY call_id").fetchall()


def test_cost_ledger_is_incremental_and_keyless(aios_home: Path, ledger_db: str) -> None:
    with OpenAIServer(require_key=KEY) as srv:
        llm = make_llm(srv)
        llm.complete(agent="sales", task="draft", prompt="Proposal for Acme.")
        llm.complete(agent="sales", task="draft", prompt="Proposal for Acme.")  # cache hit
        LLMResource().complete(agent="memory", task="summarize",
                               prompt=summarize_prompt(["Dana will pay $400 on May 2."]))
        with pytest.raises(LLMPermanentError):
            make_llm(srv, key=WRONG_KEY).complete(agent="sales", task="draft", prompt="x")
        srv.fail_next(Fault.server_error(500), Fault.server_error(500))
        degraded = llm.complete(agent="triage", task="classify", prompt="invoice overdue")
        assert degraded.degraded

        first = materialize_ledger(llm)
        pg = pg_rows(ledger_db)
        assert len(pg) == 6  # ok, cache hit, offline, 401, failed cheap, degraded offline
        assert first["rows"] == first["new_rows"] == first["dagster/row_count"] == len(pg)
        paid = sum(r[3] for r in pg)
        assert paid > 0 and first["spend_today_usd"] == pytest.approx(paid, rel=1e-6)
        agents = {r.data["agent"]: r.data for r in first["spend_by_agent"].records}
        assert set(agents) == {"sales", "memory", "triage"}
        assert sum(a["total_usd"] for a in agents.values()) == pytest.approx(paid, rel=1e-5)
        assert sum(a["calls"] for a in agents.values()) == len(pg)

        with DuckDBWarehouse().read() as con:
            duck = con.execute(
                "SELECT call_id, agent, tier, cost_usd, cache_hit FROM cost_ledger "
                "ORDER BY call_id").fetchall()
            everything = con.execute("SELECT * FROM cost_ledger").fetchall()
            demo_total = con.execute("SELECT sum(cost_usd) FROM cost_ledger").fetchone()[0]
            by_model = dict(con.execute(
                "SELECT model, sum(cost_usd) FROM cost_by_day_agent_model GROUP BY 1"
            ).fetchall())
        assert duck == pg
        assert demo_total == pytest.approx(paid)
        assert by_model["offline"] == 0 and by_model["cheap-m"] == pytest.approx(paid)
        dump = repr(everything)
        assert KEY not in dump and WRONG_KEY not in dump and "Proposal for Acme" not in dump

        # Only new calls are copied.
        llm.complete(agent="sales", task="draft", prompt="Follow-up for Acme.")
        llm.complete(agent="sales", task="draft", prompt="Follow-up for Acme.")
        second = materialize_ledger(llm)
        assert (second["new_rows"], second["rows"]) == (2, len(pg) + 2)
        assert materialize_ledger(llm)["new_rows"] == 0

    # A call committed late, stamped before the newest copied one, is still picked up.
    with psycopg.connect(ledger_db, autocommit=True) as con:
        con.execute(
            """INSERT INTO aios.llm_calls (call_id, called_at, agent, task, tier, model,
                   prompt_hash, prompt_tokens, completion_tokens, cost_usd, cache_hit, degraded,
                   outcome, attempts, latency_ms)
               VALUES (%s, %s, 'late', 'draft', 'cheap', 'cheap-m', 'h', 1, 1, 0.5, false,
                       false, 'ok', 1, 5)""",
            (uuid.uuid4(), datetime.now(UTC) - timedelta(minutes=10)))
    late = materialize_ledger(LLMResource())
    assert (late["new_rows"], late["rows"]) == (1, len(pg) + 3)


@dg.asset
def summarize_notes(context: dg.AssetExecutionContext, llm: LLMResource) -> dg.MaterializeResult:
    results = [
        llm.complete(agent="memory", task="summarize", context=context,
                     prompt=summarize_prompt([text]))
        for text in ("Dana Reyes approved $4,500 on June 5.", "Sam will send the deck Friday.")
    ]
    return dg.MaterializeResult(metadata=usage_metadata(results))


def test_calls_from_an_asset_carry_run_and_asset(aios_home: Path, ledger_db: str) -> None:
    llm = LLMResource()
    result = dg.materialize([summarize_notes], resources={"llm": llm})
    assert result.success
    (mat,) = result.asset_materializations_for_node("summarize_notes")
    assert mat.metadata["llm_calls"].value == 2
    assert mat.metadata["llm_tiers"].value == "offline: 2"
    assert mat.metadata["llm_prompt_tokens"].value > 0

    materialize_ledger(llm)
    with DuckDBWarehouse().read() as con:
        rows = con.execute("SELECT run_id, asset, agent, tier FROM cost_ledger").fetchall()
    assert rows == [(result.run_id, "summarize_notes", "memory", "offline")] * 2


OLD_LEDGER_DDL = """CREATE TABLE cost_ledger (
    call_id VARCHAR PRIMARY KEY, called_at TIMESTAMP NOT NULL, run_id VARCHAR, asset VARCHAR,
    agent VARCHAR NOT NULL, task VARCHAR NOT NULL, tier VARCHAR NOT NULL, model VARCHAR NOT NULL,
    prompt_hash VARCHAR NOT NULL, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, cost_usd DOUBLE NOT NULL, cache_hit BOOLEAN NOT NULL,
    degraded BOOLEAN NOT NULL, outcome VARCHAR NOT NULL, error_class VARCHAR, reason VARCHAR,
    attempts INTEGER NOT NULL, latency_ms INTEGER NOT NULL)"""


def test_adapter_calls_join_the_ledger_as_kind_adapter(aios_home: Path, ledger_db: str) -> None:
    from aios_assets.publishing.adapters.base import AdapterRetryable, OutboxAction
    from aios_assets.publishing.adapters.smtp import SmtpAdapter
    from tests.smtp_sink import SmtpSink, free_port

    # A ledger from before adapter calls were mirrored: it gains `kind`, its rows are LLM calls.
    with DuckDBWarehouse().connect() as con:
        con.execute(OLD_LEDGER_DDL)
        con.execute("INSERT INTO cost_ledger VALUES ('old-1', '2026-01-01 10:00', NULL, NULL, "
                    "'memory', 'summarize', 'cheap', 'cheap-m', 'h', 5, 5, 0.25, false, false, "
                    "'ok', NULL, NULL, 1, 40)")
    LLMResource().complete(agent="memory", task="summarize",
                           prompt=summarize_prompt(["Dana will pay $400 on May 2."]))
    action = OutboxAction("ledger-key-1", "p-1", "send_email", "email",
                          {"to": "dana@acme.io", "subject": "Invoice", "body": "Hi Dana"},
                          "billing", "run-9")
    with SmtpSink() as sink:
        SmtpAdapter(host="127.0.0.1", port=sink.port, postgres_url=ledger_db,
                    cost_per_call_usd=0.002).send(action)
    with pytest.raises(AdapterRetryable):  # nothing listens: two refused attempts, both logged
        SmtpAdapter(host="127.0.0.1", port=free_port(), postgres_url=ledger_db, max_attempts=2,
                    backoff_initial_s=0.01, backoff_max_s=0.02, timeout_s=1).send(
            OutboxAction("ledger-key-2", "p-2", "send_email", "email",
                         {"to": "dana@acme.io", "subject": "Again", "body": "Hi"}, "billing"))
    with psycopg.connect(ledger_db) as con:
        pg_adapter = con.execute("SELECT call_id::text, outcome, cost_usd, latency_ms "
                                 "FROM aios.adapter_calls ORDER BY call_id").fetchall()
    assert [r[1] for r in sorted(pg_adapter, key=lambda r: r[1])] == ["ok", "retryable",
                                                                      "retryable"]

    first = materialize_ledger(LLMResource())
    assert first["new_adapter_rows"] == 3 and first["new_rows"] == 4
    assert first["rows"] == 5
    with DuckDBWarehouse().read() as con:
        kinds = dict(con.execute("SELECT kind, count(*) FROM cost_ledger GROUP BY 1").fetchall())
        duck_adapter = con.execute(
            "SELECT call_id, outcome, cost_usd, latency_ms FROM cost_ledger "
            "WHERE kind = 'adapter' ORDER BY call_id").fetchall()
        labels = con.execute(
            "SELECT DISTINCT agent, task, tier, model, run_id FROM cost_ledger "
            "WHERE kind = 'adapter' AND outcome = 'ok'").fetchall()
        view = con.execute(
            "SELECT kind, model, tier, calls, errors, cost_usd FROM cost_by_day_agent_model "
            "WHERE kind = 'adapter' ORDER BY ALL").fetchall()
        dump = repr(con.execute("SELECT * FROM cost_ledger").fetchall())
    assert kinds == {"llm": 2, "adapter": 3}
    assert duck_adapter == pg_adapter  # cost and latency exactly as recorded
    assert labels == [("billing", "send", "email", "SmtpAdapter", "run-9")]
    assert view == [("adapter", "SmtpAdapter", "email", 3, 2, pytest.approx(0.002))]
    assert "dana@acme.io" not in dump and "ledger-key-1" not in dump
    assert first["spend_by_kind_usd"]["adapter"] == pytest.approx(0.002)

    second = materialize_ledger(LLMResource())
    assert (second["new_rows"], second["new_adapter_rows"], second["rows"]) == (0, 0, 5)


def test_ledger_data_version_moves_only_with_its_upstream_calls() -> None:
    """The brief (downstream of the ledger) calls the LLM after the run that read the ledger;
    were those calls in the ledger's data version, every hourly mirror would flag the brief
    "Upstream data". Calls of the assets the ledger lists upstream do change it."""
    con = duckdb.connect()
    con.execute(COST_LEDGER_DDL)

    def call(call_id: str, asset: str | None, cost: float) -> None:
        con.execute(
            """INSERT INTO cost_ledger (call_id, called_at, asset, agent, task, tier, model,
                   prompt_hash, prompt_tokens, completion_tokens, cost_usd, cache_hit,
                   degraded, outcome, attempts, latency_ms)
               VALUES (?, TIMESTAMP '2026-06-01 09:00', ?, 'a', 't', 'cheap', 'm', 'h', 1, 1,
                       ?, false, false, 'ok', 1, 1)""", [call_id, asset, cost])

    empty = ledger_data_version(con)
    call("c1", "agent_triage", 0.01)
    after_triage = ledger_data_version(con)
    assert after_triage != empty
    call("c2", "agent_brief", 0.02)  # downstream of the ledger
    call("c3", None, 0.03)  # outside any asset (the CLI)
    assert ledger_data_version(con) == after_triage
    call("c4", "summaries", 0.0)  # upstream, even at no cost
    assert ledger_data_version(con) != after_triage
