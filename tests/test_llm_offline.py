"""The offline tier: the default with no endpoint and no key, and its summarize / classify /
draft functions (a designed tier: these tests pin what it keeps and what it refuses)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.rows import dict_row

from aios_assets.llm.offline import (
    Rule,
    UnknownOfflineTask,
    UnresolvedPlaceholder,
    classify,
    classify_prompt,
    draft,
    draft_prompt,
    sentence_score,
    split_sentences,
    summarize,
    summarize_prompt,
)
from aios_assets.testing.openai_server import OpenAIServer
from resources.llm import LLMResource, estimate_tokens

THREAD = [
    "Hi Sam, hope the week is going well! The weather here has been grey all week.",
    ("Dana Reyes <dana@acme.example> approved the Q3 retainer at $4,500/month. "
     "I had coffee this morning. We will send the signed contract by Friday, June 5."),
    "Thanks! Cheers.",
]


@pytest.fixture
def ledger_db(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database on the session's embedded Postgres, as AIOS_POSTGRES_URL; no
    endpoint and no key in the environment."""
    name = f"llmoff_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = urlsplit(pg_url)._replace(path=f"/{name}").geturl()
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("AIOS_LLM_API_KEY", raising=False)
    yield url
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def calls(url: str) -> list[dict]:
    with psycopg.connect(url, row_factory=dict_row) as con:
        return con.execute("SELECT * FROM aios.llm_calls ORDER BY called_at").fetchall()


def test_offline_is_the_default_without_endpoint_or_key(ledger_db: str) -> None:
    llm = LLMResource()
    assert llm.endpoint() is None
    prompt = summarize_prompt(THREAD, max_sentences=2)
    res = llm.complete(agent="memory", task="summarize", prompt=prompt)
    assert res.tier == "offline" and res.model == "offline"
    assert res.cost_usd == 0 and not res.cache_hit and not res.degraded
    assert "no LLM endpoint" in res.reason
    assert res.text == ("Dana Reyes <dana@acme.example> approved the Q3 retainer at $4,500/month. "
                        "We will send the signed contract by Friday, June 5.")
    assert res.prompt_tokens == estimate_tokens(prompt)
    assert res.completion_tokens == estimate_tokens(res.text)
    (row,) = calls(ledger_db)
    assert (row["agent"], row["task"], row["tier"], row["model"], row["outcome"]) == (
        "memory", "summarize", "offline", "offline", "ok")
    assert row["cost_usd"] == 0 and row["prompt_tokens"] == res.prompt_tokens
    assert row["prompt_hash"] == res.prompt_hash


def test_builtin_classify_and_draft(ledger_db: str) -> None:
    llm = LLMResource()
    label = llm.complete(agent="triage", task="classify", prompt=classify_prompt(
        "Can we move our call to 3pm tomorrow?", ["billing", "scheduling", "spam"]))
    assert label.text == "scheduling"
    text = llm.complete(agent="followup", task="draft", prompt=draft_prompt(
        "Hi {name},\nInvoice {invoice} for {amount} is {days} days overdue.",
        {"name": "Dana", "invoice": "INV-7", "amount": "$1,200", "days": 14})).text
    assert text == "Hi Dana,\nInvoice INV-7 for $1,200 is 14 days overdue."
    with pytest.raises(UnresolvedPlaceholder, match=r"\{amount\}"):
        llm.complete(agent="followup", task="draft", prompt=draft_prompt(
            "Hi {name}, you owe {amount}.", {"name": "Dana", "amount": ""}))
    assert [r["outcome"] for r in calls(ledger_db)] == ["ok", "ok", "error"]
    assert calls(ledger_db)[-1]["error_class"] == "UnresolvedPlaceholder"


def test_offline_callable_and_unknown_task(ledger_db: str) -> None:
    llm = LLMResource()
    res = llm.complete(agent="a", task="extract_terms", prompt="p",
                       offline=lambda: "net 30")
    assert res.text == "net 30" and res.tier == "offline"
    with pytest.raises(UnknownOfflineTask, match="extract_terms.*offline=callable"):
        llm.complete(agent="a", task="extract_terms", prompt="p")


def test_base_url_from_env_and_embedded_server_under_home(
        pg_url: str, tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No AIOS_POSTGRES_URL: the resource finds the embedded server of its AIOS home (here the
    # one the session's pg_url fixture started) and builds its tables there.
    homes = [p for p in Path(tmp_path_factory.getbasetemp()).glob("pg-home*")
             if (p / "pg" / "PG_VERSION").exists()]
    assert homes, "the pg_url fixture's home was not found"
    monkeypatch.delenv("AIOS_POSTGRES_URL", raising=False)
    monkeypatch.delenv("AIOS_LLM_API_KEY", raising=False)
    agent = f"env-{uuid.uuid4().hex[:8]}"
    with OpenAIServer() as srv:
        monkeypatch.setenv("AIOS_LLM_BASE_URL", srv.url)
        llm = LLMResource(home=str(homes[0]))
        assert llm.ledger_url() == pg_url
        res = llm.complete(agent=agent, task="summarize", prompt="hello there")
        assert res.tier == "cheap" and srv.count() == 1
        assert srv.requests[0].authorization == "Bearer no-key"  # keyless endpoints work
    with psycopg.connect(pg_url) as con:
        n = con.execute("SELECT count(*) FROM aios.llm_calls WHERE agent = %s",
                        (agent,)).fetchone()[0]
    assert n == 1


# --- the offline functions ------------------------------------------------------------------


def test_summarize_keeps_people_amounts_dates_commitments_in_order() -> None:
    summary = summarize(THREAD, max_sentences=2)
    assert summary.startswith("Dana Reyes") and summary.endswith("by Friday, June 5.")
    assert "weather" not in summary and "coffee" not in summary
    one = summarize(THREAD, max_sentences=1)
    assert one in summary and len(split_sentences(one)) == 1
    assert sentence_score("Invoice INV-7 for $1,200 is due 2026-05-01.") > sentence_score(
        "The weather was grey all week long.")
    assert sentence_score("Thanks!") < 0


def test_summarize_budget_and_edge_cases() -> None:
    assert summarize([], 3) == "" and summarize("   ", 3) == ""
    bounded = summarize(THREAD, max_sentences=5, max_chars=80)
    assert len(bounded) <= 80 and "$4,500" in bounded
    cut = summarize("Dana Reyes will pay $4,500 on June 5 for the long retainer work.", 1,
                    max_chars=30)
    assert len(cut) <= 30 and cut.endswith("…")
    assert summarize(["Same sentence here.", "Same sentence here."], 5) == "Same sentence here."
    assert split_sentences("Dr. Smith will call. Ok then.") == ["Dr. Smith will call.",
                                                               "Ok then."]


def test_classify_rules_and_confidence() -> None:
    strong = classify("Invoice INV-9 is overdue: please pay the $300 invoice.",
                      ["scheduling", "billing"])
    assert strong.label == "billing" and strong.confidence > 0.8
    assert "billing:invoice" in strong.matched
    mixed = classify("URGENT: invoice INV-9 overdue, pay $300 today", ["billing", "urgent"])
    assert mixed.label in {"billing", "urgent"} and mixed.confidence < strong.confidence
    none = classify("lovely chat yesterday", ["billing", "spam"])
    assert (none.label, none.confidence) == ("other", 0.0)
    custom = classify("PO-2231 attached", {"purchase_order": [r"\bPO-\d+"], "other": ["misc"]})
    assert custom.label == "purchase_order" and custom.confidence > 0
    rules = [Rule("lead", "interested in", 2.0), Rule("lead", r"\bquote\b"), Rule("noise", "hi")]
    assert classify("Hi! We are interested in a quote.", rules).label == "lead"
    thin = classify("call me", ["scheduling", "billing"])
    assert thin.label == "scheduling" and thin.confidence < strong.confidence


def test_draft_refuses_unresolved_placeholders() -> None:
    assert draft("Hi {name}, {{literal}}", {"name": "Dana"}) == "Hi Dana, {literal}"
    with pytest.raises(UnresolvedPlaceholder) as info:
        draft("Hi {name}, {amount} due {date}", {"name": "Dana", "date": None})
    assert info.value.missing == ["amount", "date"]


def test_estimate_tokens_rule() -> None:
    assert [estimate_tokens(t) for t in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]
