"""The LLM economy benchmark at a tiny size: one simulated day of the agent fixtures' business
(triage hourly, ingests, summaries, the nightly agents) through two real LLMResources against
loopback OpenAI-compatible servers. The tiered + cached policy must cost less than every call
to the strong model, and every figure must come from the ledgers and agree with the servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import psycopg
import pytest

from aios_assets.testing import llm_ledger as ledger
from tests.agent_fixtures import CLOCK, build_business
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("llm-economy")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AIOS_POSTGRES_URL", "AIOS_LLM_BASE_URL", "AIOS_LLM_API_KEY"):
            mp.delenv(var, raising=False)
        mp.setenv("AIOS_HOME", str(tmp / "home"))
        mp.setenv("DAGSTER_HOME", str(tmp / "home" / "dagster"))
        warehouse = build_business(tmp / "business")
        out = tmp / "llm_economy.json"
        day = CLOCK.date() - timedelta(days=1)  # Bob's and Eve's mails arrive that day
        # The benchmark runs as its operator runs it (tests do not import benchmarks).
        # Every cheap draft and summary misses: the escalation path is exercised too.
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.llm_economy_bench", "--days", "1",
             "--history-days", "0", "--start", day.isoformat(), "--warehouse", str(warehouse),
             "--work-dir", str(tmp / "work"), "--cheap-miss-draft", "1",
             "--cheap-miss-summary", "1", "--out", str(out)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
            text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text())
    # what it printed is the summary of what it wrote
    assert f"{report['calls']} LLM calls in 1 simulated day(s)" in proc.stdout
    return report


def test_tiered_and_cached_costs_less_than_all_strong(tiny_report: dict) -> None:
    r = tiny_report
    tiered, strong = r["tiered"], r["all_strong"]
    assert r["calls"] > 0 and r["week"]["triage_runs"] == 24
    # both policies saw every call: one ledger row each (plus one per escalation, tiered)
    assert strong["ledger_rows"] == r["calls"] == strong["calls_to_server"]
    assert strong["strong_calls"] == r["calls"] and strong["cache_hits"] == 0
    assert tiered["ledger_rows"] >= r["calls"]
    # the hourly triage re-reads the same unanswered mail: the cache answers the repeats
    assert tiered["cache_hits"] > 0
    assert tiered["calls_to_server"] < strong["calls_to_server"]
    # every cheap draft missed ({placeholder} left): each escalated to the strong model once
    assert 0 < tiered["strong_calls"] < tiered["calls_to_server"]
    assert 0 < tiered["usd"] < strong["usd"]
    assert r["usd_ratio"] == pytest.approx(tiered["usd"] / strong["usd"], abs=1e-4)
    assert r["token_ratio"] == pytest.approx(tiered["tokens"] / strong["tokens"], abs=1e-4)
    assert r["answer_mismatches"] == 0  # escalations end in the same answer as the baseline
    assert r["assumptions"]["cheap_misses_seen"].get("draft", 0) > 0
    assert set(r) >= {"generated_at", "days", "calls", "tiered", "all_strong", "usd_ratio",
                      "token_ratio", "target_met"}


def test_figures_come_from_the_ledger_and_agree_with_the_servers(tiny_report: dict) -> None:
    r = tiny_report
    for name in ("tiered", "all_strong"):
        f, seen = r[name], r[name]["server"]
        assert all(r["cross_checks"][name].values()), r["cross_checks"][name]
        assert f["calls_to_server"] == seen["requests"] > 0
        assert f["tokens"] == seen["tokens"] > 0
        assert f["usd"] == pytest.approx(seen["usd"], abs=2e-6)
        assert f["cheap_calls"] + f["strong_calls"] == f["calls_to_server"]
    assert set(r["tiered"]["server"]["requests_by_model"]) == {ledger.CHEAP, ledger.STRONG}
    assert set(r["all_strong"]["server"]["requests_by_model"]) == {ledger.STRONG}
    # priced with the benchmark's table: strong tokens cost 2.5/10 USD per 1M in/out
    s = r["all_strong"]
    expected = (s["prompt_tokens"] * 2.50 + s["completion_tokens"] * 10.00) / 1_000_000
    assert s["usd"] == pytest.approx(expected, rel=1e-6)


def test_ledger_figures_read_the_real_table(pg_url: str) -> None:
    """``ledger_figures`` counts what is in aios.llm_calls, nothing else."""
    import uuid
    from urllib.parse import urlsplit

    from resources.llm import call_cost, ensure_llm_schema

    name = f"llmecon_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(pg_url)._replace(path=f"/{name}").geturl()
    try:
        ensure_llm_schema(url)
        rows = [("cheap", ledger.CHEAP, 1000, 100, False), ("strong", ledger.STRONG, 2000, 200,
                                                           False),
                ("cheap", ledger.CHEAP, 1000, 100, True)]
        with psycopg.connect(url, autocommit=True) as con:
            for tier, model, pt, ct, hit in rows:
                cost = 0.0 if hit else call_cost(ledger.PRICES, model, pt, ct)
                con.execute(
                    """INSERT INTO aios.llm_calls (call_id, called_at, agent, task, tier, model,
                       prompt_hash, prompt_tokens, completion_tokens, cost_usd, cache_hit,
                       degraded, outcome, attempts, latency_ms)
                       VALUES (gen_random_uuid(), now(), 'triage', 'draft', %s, %s, 'h', %s,
                               %s, %s, %s, false, 'ok', 1, 1)""", (tier, model, pt, ct, cost, hit))
        f = ledger.ledger_figures(url)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert (f["ledger_rows"], f["calls_to_server"], f["cache_hits"], f["strong_calls"]) == (
        3, 2, 1, 1)
    assert f["tokens"] == 3300 and f["tokens_served_from_cache"] == 1100
    assert f["usd"] == pytest.approx((1000 * 0.15 + 100 * 0.60 + 2000 * 2.5 + 200 * 10) / 1e6)
    assert f["usd_saved_by_cache"] == pytest.approx((1000 * 0.15 + 100 * 0.60) / 1e6)
