"""LLMResource against a real OpenAI-compatible server on loopback and a real Postgres.

Routing (cheap first, escalation by accept and by value), retries (429 + Retry-After, 5xx,
timeouts, resets), degradation to the offline tier, permanent errors without the key, the
Postgres cache with its TTL, budgets in both modes and the ledger rows.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.rows import dict_row

from aios_assets.llm.offline import summarize, summarize_prompt
from aios_assets.testing.openai_server import Fault, OpenAIServer, default_answer
from resources.budgets import Spend, budget_problem
from resources.llm import (
    BudgetExceeded,
    LLMPermanentError,
    LLMResource,
    call_cost,
    prompt_hash,
    retry_after_s,
    usage_metadata,
)

KEY = "sk-test-SECRET-7f3a9c1e5b"
PRICES = {"cheap-m": [1000.0, 2000.0], "strong-m": [10000.0, 20000.0]}
TEXT = ("Hi Sam. Dana Reyes approved the Q3 retainer at $4,500/month. "
        "The weather was grey. We will send the signed contract by Friday, June 5.")


@pytest.fixture
def ledger_db(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database on the session's embedded Postgres, as AIOS_POSTGRES_URL."""
    name = f"llm_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(pg_url)._replace(path=f"/{name}").geturl()
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("AIOS_LLM_API_KEY", raising=False)
    yield url
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


def make_llm(server: OpenAIServer, **overrides: object) -> LLMResource:
    config: dict[str, object] = {
        "base_url": server.url, "api_key": KEY, "cheap_model": "cheap-m",
        "strong_model": "strong-m", "prices": PRICES, "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05, "timeout_s": 5.0, "max_retries": 3}
    config.update(overrides)
    return LLMResource(**config)


def ledger(url: str, agent: str | None = None) -> list[dict]:
    with psycopg.connect(url, row_factory=dict_row) as con:
        if agent is None:
            return con.execute("SELECT * FROM aios.llm_calls ORDER BY called_at").fetchall()
        return con.execute(
            "SELECT * FROM aios.llm_calls WHERE agent = %s ORDER BY called_at", (agent,)).fetchall()


def server_cost(model: str, prompt: str, answer: str) -> float:
    # The test server counts tokens as ceil(chars / 4) of all messages / of the answer.
    pt, ct = math.ceil(len(prompt) / 4), math.ceil(len(answer) / 4)
    return (pt * PRICES[model][0] + ct * PRICES[model][1]) / 1e6


def test_cheap_model_first_and_ledger_row(ledger_db: str, server: OpenAIServer) -> None:
    llm = make_llm(server)
    res = llm.complete(agent="triage", task="summarize", prompt=TEXT, system="Be brief.")
    assert res.tier == "cheap" and res.model == "cheap-m"
    assert res.text == default_answer("cheap-m", TEXT)
    assert not res.cache_hit and not res.degraded and not res.escalated
    assert res.cost_usd == pytest.approx(server_cost("cheap-m", "Be brief.\n" + TEXT, res.text))
    assert res.prompt_hash == prompt_hash("cheap-m", "Be brief.", TEXT, 512, "summarize")
    assert server.count("/chat/completions", model="cheap-m") == 1
    assert server.count(model="strong-m") == 0
    seen = server.chat_requests[0]
    assert seen.authorization == f"Bearer {KEY}"
    assert [m["role"] for m in seen.body["messages"]] == ["system", "user"]
    assert seen.body["max_tokens"] == 512

    (row,) = ledger(ledger_db, "triage")
    assert (row["task"], row["tier"], row["model"], row["outcome"]) == (
        "summarize", "cheap", "cheap-m", "ok")
    assert row["prompt_hash"] == res.prompt_hash
    assert (row["prompt_tokens"], row["completion_tokens"]) == (
        res.prompt_tokens, res.completion_tokens)
    assert row["cost_usd"] == pytest.approx(res.cost_usd) and row["cost_usd"] > 0
    assert row["cache_hit"] is False and row["degraded"] is False
    assert row["attempts"] == 1 and row["latency_ms"] >= 0
    assert row["run_id"] is None and row["asset"] is None
    assert TEXT not in str(row)  # no prompt text in the ledger


def test_escalates_to_strong_when_answer_not_accepted(ledger_db: str,
                                                     server: OpenAIServer) -> None:
    server.script("cheap-m", "not sure")
    server.script("strong-m", "CONFIDENT: Dana approved $4,500/month")
    llm = make_llm(server)
    res = llm.complete(agent="triage", task="summarize", prompt=TEXT,
                       accept=lambda text: text.startswith("CONFIDENT"))
    assert res.tier == "strong" and res.escalated and res.text.startswith("CONFIDENT")
    assert server.count(model="cheap-m") == 1 and server.count(model="strong-m") == 1
    rows = ledger(ledger_db, "triage")
    assert [r["tier"] for r in rows] == ["cheap", "strong"]
    assert res.cost_usd == pytest.approx(sum(r["cost_usd"] for r in rows))
    assert res.reason.startswith("escalated")

    # An accepted cheap answer is not escalated.
    server.script("cheap-m", "CONFIDENT too")
    ok = llm.complete(agent="triage", task="summarize", prompt=TEXT + " (2)",
                      accept=lambda text: text.startswith("CONFIDENT"))
    assert ok.tier == "cheap" and not ok.escalated
    assert server.count(model="strong-m") == 1


def test_high_value_goes_straight_to_strong(ledger_db: str, server: OpenAIServer) -> None:
    llm = make_llm(server, strong_value_threshold=0.8)
    res = llm.complete(agent="closer", task="draft", prompt="Write the proposal.", value=0.9)
    assert res.tier == "strong" and res.model == "strong-m"
    assert server.count(model="cheap-m") == 0 and server.count(model="strong-m") == 1
    low = llm.complete(agent="closer", task="draft", prompt="Write the proposal.", value=0.5)
    assert low.tier == "cheap"


def test_429_retry_after_is_honoured(ledger_db: str, server: OpenAIServer) -> None:
    server.fail_next(Fault.rate_limited(retry_after=1))
    llm = make_llm(server)  # backoff 0.01 s: a ~1 s wait can only come from Retry-After
    t0 = time.monotonic()
    res = llm.complete(agent="a429", task="summarize", prompt=TEXT)
    elapsed = time.monotonic() - t0
    assert res.tier == "cheap" and not res.degraded
    assert server.count("/chat/completions") == 2
    first, second = server.chat_requests
    assert second.at - first.at >= 0.95
    assert 0.95 <= elapsed < 5
    assert ledger(ledger_db, "a429")[0]["attempts"] == 2


def test_retry_after_is_capped(ledger_db: str, server: OpenAIServer) -> None:
    server.fail_next(Fault.rate_limited(retry_after=120))
    t0 = time.monotonic()
    res = make_llm(server, retry_after_cap_s=0.2).complete(
        agent="cap", task="summarize", prompt=TEXT)
    assert res.tier == "cheap" and time.monotonic() - t0 < 3
    assert server.count() == 2


def test_server_errors_are_retried_then_succeed(ledger_db: str, server: OpenAIServer) -> None:
    server.fail_next(Fault.server_error(500), Fault.server_error(502), Fault.server_error(503))
    res = make_llm(server).complete(agent="a5xx", task="summarize", prompt=TEXT)
    assert res.tier == "cheap" and not res.degraded
    assert server.count() == 4
    assert ledger(ledger_db, "a5xx")[0]["attempts"] == 4


def test_timeout_then_success(ledger_db: str, server: OpenAIServer) -> None:
    server.fail_next(Fault.slow(5.0))
    t0 = time.monotonic()
    res = make_llm(server, timeout_s=0.4).complete(agent="slow", task="summarize", prompt=TEXT)
    elapsed = time.monotonic() - t0
    assert res.tier == "cheap" and not res.degraded
    assert server.count() == 2
    assert 0.4 <= elapsed < 4  # waited for the timeout, not for the slow answer


def test_connection_reset_then_success(ledger_db: str, server: OpenAIServer) -> None:
    server.fail_next(Fault.drop())
    res = make_llm(server).complete(agent="reset", task="summarize", prompt=TEXT)
    assert res.tier == "cheap" and server.count() == 2


def test_persistent_failure_degrades_to_offline(ledger_db: str, server: OpenAIServer,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="aios.llm")
    server.fail_next(*[Fault.server_error(503)] * 3)
    prompt = summarize_prompt([TEXT], max_sentences=2)
    res = make_llm(server, max_retries=2).complete(agent="down", task="summarize",
                                                    prompt=prompt)
    assert res.tier == "offline" and res.model == "offline" and res.degraded
    assert "unavailable after 3 attempt(s)" in res.reason and "503" in res.reason
    assert res.text == summarize([TEXT], max_sentences=2, max_chars=512 * 4)
    assert "$4,500" in res.text and res.cost_usd == 0
    assert server.count() == 3
    failed, offline = ledger(ledger_db, "down")
    assert (failed["tier"], failed["outcome"], failed["error_class"], failed["attempts"]) == (
        "cheap", "error", "InternalServerError", 3)
    assert (offline["tier"], offline["degraded"], offline["cost_usd"]) == ("offline", True, 0)
    assert any("degraded to the offline tier" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)


def test_unreachable_endpoint_degrades(ledger_db: str) -> None:
    with OpenAIServer() as gone:
        url = gone.url
    res = LLMResource(base_url=url, max_retries=1, backoff_initial_s=0.01).complete(
        agent="nohost", task="classify", prompt="Invoice 7 is overdue, please pay $300")
    assert res.tier == "offline" and res.degraded and "APIConnectionError" in res.reason
    assert res.text == "billing"


def test_permanent_401_raises_without_the_key(ledger_db: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with OpenAIServer(require_key="the-right-key") as srv:
        llm = make_llm(srv)
        with pytest.raises(LLMPermanentError) as info:
            llm.complete(agent="auth", task="summarize", prompt=TEXT)
        assert srv.count() == 1  # permanent: no retry
        assert srv.requests[0].authorization == f"Bearer {KEY}"  # the server did see it
    err = info.value
    assert err.status_code == 401 and "401" in str(err) and "AIOS_LLM_API_KEY" in str(err)
    rendered = "".join(traceback.format_exception(err))
    assert KEY not in rendered and KEY not in repr(err)
    assert err.__context__ is None and err.__cause__ is None
    assert KEY not in caplog.text
    (row,) = ledger(ledger_db, "auth")
    assert (row["outcome"], row["error_class"]) == ("error", "AuthenticationError")
    assert KEY not in str(row)


def test_400_is_permanent_with_scrubbed_server_message(ledger_db: str,
                                                      server: OpenAIServer) -> None:
    server.fail_next(Fault("status", status=400, body={"error": {
        "message": f"bad request from key {KEY}: max_tokens too large",
        "type": "invalid_request_error"}}))
    with pytest.raises(LLMPermanentError) as info:
        make_llm(server).complete(agent="bad", task="summarize", prompt=TEXT)
    assert "max_tokens too large" in str(info.value) and KEY not in str(info.value)
    assert server.count() == 1


def test_cache_hit_costs_nothing_and_sends_nothing(ledger_db: str, server: OpenAIServer) -> None:
    llm = make_llm(server)
    first = llm.complete(agent="cache", task="summarize", prompt=TEXT)
    again = llm.complete(agent="cache", task="summarize", prompt=TEXT)
    assert server.count() == 1
    assert again.cache_hit and again.cost_usd == 0 and again.text == first.text
    assert again.prompt_hash == first.prompt_hash and again.tier == "cheap"
    rows = ledger(ledger_db, "cache")
    assert [(r["cache_hit"], r["cost_usd"] > 0) for r in rows] == [(False, True), (True, False)]
    # Another max_tokens is another prompt: a miss.
    llm.complete(agent="cache", task="summarize", prompt=TEXT, max_tokens=100)
    assert server.count() == 2
    # Cache hits do not count against budgets.
    assert llm.spend_today("cache").agent_usd == pytest.approx(
        sum(r["cost_usd"] for r in ledger(ledger_db, "cache")))


def test_cache_ttl_expiry_refetches(ledger_db: str, server: OpenAIServer) -> None:
    llm = make_llm(server, cache_ttl_s=1.0)
    llm.complete(agent="ttl", task="summarize", prompt=TEXT)
    assert llm.complete(agent="ttl", task="summarize", prompt=TEXT).cache_hit
    with psycopg.connect(ledger_db) as con:
        ttl = con.execute("SELECT extract(epoch FROM expires_at - created_at) "
                          "FROM aios.llm_cache").fetchone()[0]
    assert float(ttl) == pytest.approx(1.0)
    time.sleep(1.1)
    late = llm.complete(agent="ttl", task="summarize", prompt=TEXT)
    assert not late.cache_hit and late.cost_usd > 0
    assert server.count() == 2


def test_agent_budget_degrades(ledger_db: str, server: OpenAIServer,
                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="aios.llm")
    llm = make_llm(server, agent_daily_budget_usd={"spender": 0.001})
    paid = llm.complete(agent="spender", task="summarize", prompt=TEXT)
    assert paid.tier == "cheap" and paid.cost_usd > 0.001  # this call used the budget up
    res = llm.complete(agent="spender", task="summarize", prompt=TEXT + " More.")
    assert res.tier == "offline" and res.degraded
    assert res.reason == (f"over budget: agent spender spent ${paid.cost_usd:.4f} of $0.0010 "
                          "today (UTC)")
    assert server.count() == 1
    assert any("over budget: agent spender" in r.getMessage() for r in caplog.records)
    # Other agents keep their own budget.
    assert llm.complete(agent="other", task="summarize", prompt=TEXT + " x").tier == "cheap"


def test_agent_budget_stop_raises(ledger_db: str, server: OpenAIServer) -> None:
    llm = make_llm(server, agent_daily_budget_usd={"*": 0.001}, over_budget="stop")
    llm.complete(agent="stopper", task="summarize", prompt=TEXT)
    with pytest.raises(BudgetExceeded, match=r"over budget: agent stopper spent \$0\.\d+ of "
                                             r"\$0\.0010 today"):
        llm.complete(agent="stopper", task="summarize", prompt=TEXT + " again")
    assert server.count() == 1
    assert ledger(ledger_db, "stopper")[-1]["error_class"] == "BudgetExceeded"


def test_daily_token_and_dollar_budgets(ledger_db: str, server: OpenAIServer) -> None:
    llm = make_llm(server, daily_budget_tokens=10)
    llm.complete(agent="t1", task="summarize", prompt=TEXT)
    res = llm.complete(agent="t2", task="summarize", prompt=TEXT + "!")
    assert res.degraded and res.reason.startswith("over budget: all agents used")
    usd = make_llm(server, daily_budget_usd=0.001).complete(
        agent="t3", task="summarize", prompt=TEXT + "?")
    assert usd.degraded and "all agents spent $" in usd.reason
    assert server.count() == 1


def test_environment_budgets_are_enforced_as_shown(ledger_db: str, server: OpenAIServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget `aios cost` shows from the environment is the one the resource holds calls
    against (one definition: resources/budgets.py)."""
    from aios_assets.observability.cost_views import Budget, budgets

    monkeypatch.setenv("AIOS_LLM_AGENT_DAILY_BUDGET_USD", "envagent=0.000001")
    llm = make_llm(server)
    assert budgets(llm) == [Budget("agent", "envagent", "day", 0.000001, None, "environment")]
    first = llm.complete(agent="envagent", task="summarize", prompt=TEXT + " env")
    assert not first.degraded and first.cost_usd > 0
    second = llm.complete(agent="envagent", task="summarize", prompt=TEXT + " env again")
    assert second.degraded and second.reason.startswith("over budget: agent envagent spent")
    monkeypatch.setenv("AIOS_LLM_AGENT_DAILY_BUDGET_USD", "envagent")
    with pytest.raises(ValueError, match="AIOS_LLM_AGENT_DAILY_BUDGET_USD"):
        llm.complete(agent="envagent", task="summarize", prompt=TEXT + " bad setting")


def test_pure_helpers() -> None:
    assert call_cost(PRICES, "cheap-m", 1000, 500) == pytest.approx(2.0)
    assert call_cost(PRICES, "unpriced-local", 1000, 500) == 0
    assert call_cost(PRICES, "offline", 1000, 500) == 0
    assert prompt_hash("m", None, "p", 1, "t") != prompt_hash("m", "", "p", 1, "t")
    assert budget_problem("a", Spend(0.5, 10, 0.5, 10), daily_usd=None, agent_usd=1.0,
                          daily_tokens=None, agent_tokens=None) is None
    assert budget_problem("a", Spend(1.0, 10, 1.0, 10), daily_usd=None, agent_usd=1.0,
                          daily_tokens=None, agent_tokens=None) == (
        "over budget: agent a spent $1.0000 of $1.0000 today (UTC)")
    assert retry_after_s(None) is None
    meta = usage_metadata([])
    assert meta["llm_calls"] == 0 and meta["llm_cost_usd"] == 0


def test_key_never_in_ledger_cache_or_logs(ledger_db: str, server: OpenAIServer,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    llm = make_llm(server, max_retries=1)
    llm.complete(agent="leak", task="summarize", prompt=TEXT)
    llm.complete(agent="leak", task="summarize", prompt=TEXT)  # cache hit
    server.fail_next(Fault.rate_limited(0), Fault.server_error(500))
    llm.complete(agent="leak", task="summarize", prompt=TEXT + " (degrade)")
    assert server.requests[-1].authorization == f"Bearer {KEY}"
    assert "LLMResource(" in repr(llm) and KEY not in repr(llm)
    with psycopg.connect(ledger_db) as con:
        calls = con.execute("SELECT t::text FROM aios.llm_calls t").fetchall()
        cache = con.execute("SELECT t::text FROM aios.llm_cache t").fetchall()
    assert len(calls) == 4 and len(cache) == 1
    assert not any(KEY in row[0] for row in calls + cache)
    assert "retry 1/1" in caplog.text  # the logs were captured...
    assert KEY not in caplog.text  # ...and hold no key
