"""LLM calls share the capability adapters' circuit breaker and rate limiter
(aios_assets/publishing/adapters/base.py), against the real OpenAI-compatible server on loopback
and the real ledger in Postgres: sustained 500s open the breaker (calls then degrade without
reaching
the endpoint), and after the cool-down one trial call closes it again."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.rows import dict_row

from aios_assets.shared.limits import CircuitBreaker, TokenBucket
from aios_assets.testing.openai_server import Fault, OpenAIServer
from resources.llm import LLMResource


@pytest.fixture
def ledger_db(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"llmbrk_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(pg_url)._replace(path=f"/{name}").geturl()
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    yield url
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _llm(server: OpenAIServer, url: str, **kw) -> LLMResource:
    return LLMResource(base_url=server.url, api_key="k", cheap_model="m", strong_model="m",
                       postgres_url=url, cache_ttl_s=0, backoff_initial_s=0.01,
                       backoff_max_s=0.02, **kw)


def _ask(llm: LLMResource, i: int):
    return llm.complete(agent="triage", task="summarize", prompt=f"Summarize message {i}.",
                        offline=lambda: "offline answer")


def test_breaker_opens_under_sustained_500s_and_recovers(ledger_db):
    with OpenAIServer() as server:
        llm = _llm(server, ledger_db, max_retries=1, breaker_threshold=3, breaker_reset_s=0.6)
        assert isinstance(llm.breaker, CircuitBreaker)  # the adapters' class, not a copy
        server.fail_next(*[Fault.server_error(500)] * 50)
        first = _ask(llm, 1)  # 2 attempts (1 retry), both 500
        second = _ask(llm, 2)  # the 3rd consecutive failure opens the breaker mid-call
        assert server.count("/chat/completions") == 3 and llm.breaker.state == "open"
        assert first.degraded and second.degraded and first.text == "offline answer"
        # open: calls degrade at once, the endpoint never sees them
        for i in range(3, 7):
            r = _ask(llm, i)
            assert r.degraded and r.tier == "offline"
            assert "circuit open" in r.reason and "not called" in r.reason
        assert server.count("/chat/completions") == 3
        # the service recovers; after the cool-down one trial call goes through and closes it
        server.reset()
        time.sleep(0.65)
        assert llm.breaker.state == "half_open"
        ok = _ask(llm, 7)
        assert not ok.degraded and ok.tier == "cheap" and llm.breaker.state == "closed"
        assert all(not _ask(llm, i).degraded for i in (8, 9))
        assert server.count("/chat/completions") == 3
    with psycopg.connect(ledger_db, row_factory=dict_row) as con:
        rows = con.execute("SELECT tier, outcome, error_class, attempts, reason FROM "
                           "aios.llm_calls WHERE tier = 'cheap' ORDER BY called_at").fetchall()
    # every call is in the ledger: 2 failed, 4 not called (circuit open), 3 ok
    assert [(r["outcome"], r["error_class"], r["attempts"]) for r in rows] == [
        ("error", "InternalServerError", 2), ("error", "CircuitOpen", 1),
        *[("error", "CircuitOpen", 0)] * 4, *[("ok", None, 1)] * 3]


def test_bad_requests_do_not_open_the_breaker(ledger_db):
    from resources.llm import LLMPermanentError

    with OpenAIServer() as server:
        llm = _llm(server, ledger_db, max_retries=0, breaker_threshold=2)
        server.fail_next(*[Fault.http(400)] * 3)
        for i in range(3):
            with pytest.raises(LLMPermanentError):
                _ask(llm, i)
        assert llm.breaker.state == "closed"
        assert not _ask(llm, 9).degraded


def test_rate_limit_spaces_calls(ledger_db):
    with OpenAIServer() as server:
        llm = _llm(server, ledger_db, rate_per_s=10.0, rate_burst=1)
        assert isinstance(llm._rate_bucket(), TokenBucket)
        started = time.monotonic()
        for i in range(5):
            assert not _ask(llm, i).degraded
        elapsed = time.monotonic() - started
        seen = [r.at for r in server.chat_requests]
    # burst 1 at 10/s: the 4 calls after the first wait >= 0.1 s each
    assert elapsed >= 0.38
    # arrivals at the server: 0.1 s apart at the client, minus the jitter of one request's
    # trip (tens of ms on a loaded 2-core machine); unlimited calls arrive ~5 ms apart
    assert min(b - a for a, b in zip(seen, seen[1:], strict=False)) >= 0.05
