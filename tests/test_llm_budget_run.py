"""The LLM budget settings hold in a Dagster run: the ``llm`` resource of the one Definitions
reads ``$AIOS_LLM_DAILY_BUDGET_USD`` and ``$AIOS_LLM_OVER_BUDGET``, and a run over budget
degrades to the offline tier (or stops) and says so in its metadata and its log. The endpoint
is the OpenAI-compatible test server on loopback; the ledger a fresh Postgres database."""

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import dagster as dg
import psycopg
import pytest

from aios_assets.testing.openai_server import OpenAIServer
from resources.llm import LLMResource, usage_metadata


@dg.asset
def budgeted_notes(context: dg.AssetExecutionContext, llm: LLMResource) -> dg.MaterializeResult:
    """Three paid-tier calls, as an agent's asset makes them."""
    results = [llm.complete(agent="budgeted", task="summarize", context=context,
                            prompt=f"Summarize note {i}: Dana approved $4,500 on June {i + 1}.")
               for i in range(3)]
    return dg.MaterializeResult(metadata=usage_metadata(results))


@pytest.fixture
def endpoint(aios_home, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    name = f"budget_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv("AIOS_POSTGRES_URL", urlsplit(pg_url)._replace(path=f"/{name}").geturl())
    # a budget the first paid call uses up (its cost is well above a millionth of a dollar)
    monkeypatch.setenv("AIOS_LLM_DAILY_BUDGET_USD", "0.000001")
    for var in ("AIOS_LLM_DAILY_BUDGET_TOKENS", "AIOS_LLM_AGENT_DAILY_BUDGET_USD",
                "AIOS_LLM_OVER_BUDGET"):
        monkeypatch.delenv(var, raising=False)
    with OpenAIServer() as server:
        monkeypatch.setenv("AIOS_LLM_BASE_URL", server.url)
        monkeypatch.setenv("AIOS_LLM_API_KEY", "sk-test-budget")
        yield server
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def definitions_llm() -> LLMResource:
    from aios_assets.definitions import defs

    llm = defs.resources["llm"]
    assert isinstance(llm, LLMResource)
    return llm


def test_a_run_over_budget_degrades_and_says_so(endpoint: OpenAIServer) -> None:
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([budgeted_notes], resources={"llm": definitions_llm()},
                            instance=instance)
    assert result.success
    (mat,) = result.asset_materializations_for_node("budgeted_notes")
    meta = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    assert (meta["llm_calls"], meta["llm_degraded"]) == (3, 2)
    assert meta["llm_degraded_reasons"].startswith("over budget: all agents spent $")
    assert "of $0.0000 today (UTC)" in meta["llm_degraded_reasons"]
    assert endpoint.count("/v1/chat/completions") == 1  # the other two never left the machine
    messages = [r.user_message for r in instance.all_logs(result.run_id)]
    assert sum("LLM degraded to the offline tier for agent budgeted task summarize: over "
               "budget: all agents spent" in m for m in messages) == 2


def test_a_run_over_budget_stops_when_set_to(endpoint: OpenAIServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOS_LLM_OVER_BUDGET", "stop")
    result = dg.materialize([budgeted_notes], resources={"llm": definitions_llm()},
                            raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    error = failure.event_specific_data.error  # type: ignore[union-attr]
    while error.cause is not None:  # Dagster wraps the asset's exception
        error = error.cause
    assert error.cls_name == "BudgetExceeded"
    assert error.message.startswith("resources.llm.BudgetExceeded: over budget: all agents")
    assert endpoint.count("/v1/chat/completions") == 1
