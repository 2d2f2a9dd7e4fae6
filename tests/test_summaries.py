"""Summaries: extractive writing that keeps key items, the thread -> daily -> weekly hierarchy,
incremental re-runs, the entity level over entity_membership, and the LLM hook."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from aios_assets.ingest.loader import ingest_paths
from aios_assets.memory.fidelity import check_fidelity, key_items
from aios_assets.memory.summaries import summaries
from aios_assets.memory.summary_writing import (
    SourceItem,
    build_extractive,
    extractive_summary,
    summary_label,
    write_summary,
)
from resources.warehouse import DuckDBWarehouse
from tests.conftest import event, write_jsonl
from tests.dbt_marts import create_mart

DANA = "Dana Reyes <dana@acme.io>"
MAYA = "Maya Okafor <maya@okafor.example>"
ANA = "Ana Lopez <ana@beta.example>"
DAY1, DAY2 = "2025-03-03", "2025-03-04"  # Monday and Tuesday of ISO week 2025-W10


def business() -> list[dict]:
    return [
        event("c1", "Q3 retainer approved at $4,500/month.", actor=DANA, thread="acme",
              occurred_at=f"{DAY1}T09:00:00Z"),
        event("c2", "Great — I'll send the signed SOW by Friday.", actor=MAYA, thread="acme",
              occurred_at=f"{DAY1}T09:05:00Z"),
        event("c3", "Ha, the coffee machine is broken again.", actor="Dana Reyes", thread="acme",
              occurred_at=f"{DAY1}T09:06:00Z"),
        event("e1", "Hi Maya,\n\nCan we move the kickoff to 10 March 2025?\n\nBest,\nAna\n-- \n"
                    "Ana Lopez | Beta Ltd | +1 555 0100", source="email", kind="email",
              actor=ANA, thread="beta-kickoff", subject="Re: Kickoff",
              occurred_at=f"{DAY1}T11:00:00Z", payload={"to": [MAYA], "cc": []}),
        event("c4", "Invoice INV-100 for $9,000 is due on 31 March 2025.", actor=DANA,
              thread="acme", occurred_at=f"{DAY2}T08:00:00Z"),
        event("n1", "Decided to raise the day rate to €1,200 from April.", source="notes",
              kind="note", actor="Maya Okafor", thread=None, occurred_at=f"{DAY2}T18:00:00Z"),
    ]


def ingest(tmp_path: Path, records: list[dict]) -> None:
    path = write_jsonl(tmp_path / f"in-{uuid.uuid4().hex[:8]}.jsonl", records)
    with DuckDBWarehouse().connect() as con:
        ingest_paths(con, [path])


def materialize(llm: object | None = None, **config: object) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [summaries],
        resources={"warehouse": DuckDBWarehouse(),
                   "llm": llm if llm is not None else dg.ResourceDefinition.none_resource()},
        run_config={"ops": {"summaries": {"config": config}}} if config else None,
    )


def meta(result: dg.ExecuteInProcessResult) -> dict:
    (mat,) = result.asset_materializations_for_node("summaries")
    return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}


def rows(sql: str, params: list | None = None) -> list[tuple]:
    with DuckDBWarehouse().read() as con:
        return con.execute(sql, params or []).fetchall()


# --- the extractive writer (pure) ------------------------------------------------------------


def items_of(records: list[dict]) -> list[SourceItem]:
    return [SourceItem(text=r["text"], actor=r["actor"].split(" <")[0], kind=r["kind"])
            for r in records]


def test_extractive_keeps_every_key_item_first_then_fills_the_budget() -> None:
    records = business()
    extra = event("c5", "Can we get the dashboards in the brand colours for the board review?",
                  actor=DANA)
    items = items_of([*records, extra])
    tight = build_extractive(items, 10, participants=[DANA, MAYA, ANA])
    # nothing is dropped for the budget: every amount, date and commitment is there
    for needle in ("$4,500", "by Friday", "10 March 2025", "$9,000", "31 March 2025", "€1,200"):
        assert needle in tight.text
    assert tight.fidelity.passed and len(tight.items.commitments) == 2
    assert "coffee" not in tight.text and "brand colours" not in tight.text
    assert "+1 555 0100" not in tight.text and "Best," not in tight.text  # signature, sign-off
    assert tight.text.splitlines()[0] == "People: Dana Reyes; Maya Okafor; Ana Lopez"
    roomy = extractive_summary(items, 2000, participants=[DANA, MAYA, ANA])
    assert "brand colours" in roomy  # the budget is filled with the best other sentences
    lines = roomy.splitlines()[1:]
    assert lines.index("- Dana Reyes: Q3 retainer approved at $4,500/month.") < lines.index(
        "- Ana Lopez: Can we move the kickoff to 10 March 2025?")  # source order


def test_a_sentence_said_twice_is_one_line_with_both_speakers() -> None:
    items = [SourceItem("The board approved the plan for 2025-04-01.", actor=a, kind="chat_message")
             for a in ("Dana Reyes", "Ana Lopez", "Dana Reyes")]
    assert extractive_summary(items, 500) == (
        "- Dana Reyes, Ana Lopez: The board approved the plan for 2025-04-01.")


def test_extractive_output_passes_an_independent_fidelity_check() -> None:
    records = business()
    text = extractive_summary(items_of(records), 0, title="T")
    independent = key_items([r["text"].split("\n-- \n")[0] for r in records],
                            [r["actor"] for r in records])
    assert check_fidelity(text, independent).passed


# --- hierarchy and incremental re-runs -------------------------------------------------------


def test_summaries_are_hierarchical_thread_daily_weekly(aios_home: Path, tmp_path: Path) -> None:
    ingest(tmp_path, business())
    result = materialize()
    assert result.success
    m = meta(result)
    assert (m["thread_recomputed"], m["daily_recomputed"], m["weekly_recomputed"]) == (3, 2, 1)
    assert "entity" not in m or "entity_recomputed" not in m  # no entity_membership: skipped
    assert "no entity_membership" in m["levels"]

    got = {(lv, s, f"{p:%Y-%m-%d}"): (sid, ev, sm, ok)
           for lv, s, p, sid, ev, sm, ok in rows(
               "SELECT level, scope_id, period_start, summary_id, source_event_ids, "
               "source_summary_ids, fidelity_passed FROM summaries")}
    assert set(got) == {
        ("thread", "acme", DAY1), ("thread", "beta-kickoff", DAY1), ("thread", "acme", DAY2),
        ("daily", DAY1, DAY1), ("daily", DAY2, DAY2), ("weekly", "2025-W10", DAY1),
    }
    assert all(ok for *_, ok in got.values())
    acme1, beta1, acme2 = (got[("thread", s, d)][0] for s, d in
                           (("acme", DAY1), ("beta-kickoff", DAY1), ("acme", DAY2)))
    daily1, daily2 = got[("daily", DAY1, DAY1)], got[("daily", DAY2, DAY2)]
    assert sorted(daily1[2]) == sorted([acme1, beta1]) and daily1[1] == []
    assert daily2[2] == [acme2] and len(daily2[1]) == 1  # the un-threaded note
    assert sorted(got[("weekly", "2025-W10", DAY1)][2]) == sorted([daily1[0], daily2[0]])

    (daily_text,) = rows("SELECT text FROM summaries WHERE level = 'daily' AND scope_id = ?",
                         [DAY1])[0]
    assert daily_text.startswith(f"Day: {DAY1} (Monday) · 2 threads, 4 events")
    assert "[acme] Dana Reyes: Q3 retainer approved at $4,500/month." in daily_text
    assert "[Kickoff] Ana Lopez: Can we move the kickoff to 10 March 2025?" in daily_text
    (weekly_text,) = rows("SELECT text FROM summaries WHERE level = 'weekly'")[0]
    for needle in ("$4,500", "by Friday", "$9,000", "31 March 2025", "€1,200", "Ana Lopez"):
        assert needle in weekly_text


def test_rerun_recomputes_only_summaries_whose_inputs_changed(
    aios_home: Path, tmp_path: Path
) -> None:
    ingest(tmp_path, business())
    materialize()
    before = {(lv, s, f"{p:%F}"): (sid, at, h) for lv, s, p, sid, at, h in rows(
        "SELECT level, scope_id, period_start, summary_id, created_at, input_hash "
        "FROM summaries")}

    assert meta(materialize())["recomputed"] == 0  # nothing changed: nothing rewritten

    ingest(tmp_path, [event("e2", "Yes, 10 March works. I'll book the room.", source="email",
                            kind="email", actor=MAYA, thread="beta-kickoff",
                            occurred_at=f"{DAY1}T12:00:00Z")])
    m = meta(materialize())
    assert (m["thread_recomputed"], m["daily_recomputed"], m["weekly_recomputed"]) == (1, 1, 1)
    assert m["unchanged"] == 3  # two acme thread-days and the other day
    after = {(lv, s, f"{p:%F}"): (sid, at, h) for lv, s, p, sid, at, h in rows(
        "SELECT level, scope_id, period_start, summary_id, created_at, input_hash "
        "FROM summaries")}
    assert set(after) == set(before)
    for key in [("thread", "acme", DAY1), ("thread", "acme", DAY2), ("daily", DAY2, DAY2)]:
        assert after[key] == before[key]  # same id, same created_at: not re-summarised
    for key in [("thread", "beta-kickoff", DAY1), ("daily", DAY1, DAY1),
                ("weekly", "2025-W10", DAY1)]:
        assert after[key][0] != before[key][0] and after[key][1] > before[key][1]
    (text,) = rows("SELECT text FROM summaries WHERE level = 'thread' AND scope_id = ?",
                   ["beta-kickoff"])[0]
    assert "I'll book the room." in text


def test_entity_level_follows_entity_membership(
    aios_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOS_OPERATOR_EMAIL", "maya@okafor.example")
    ingest(tmp_path, business())
    with DuckDBWarehouse().connect() as con:
        create_mart(con, "entity_membership")
        con.execute("""INSERT INTO entity_membership BY NAME SELECT * FROM (VALUES
            ('chat', 'dana@acme.io', 'ent_dana', 'Dana Reyes', 'dana@acme.io'),
            ('chat', 'name:dana reyes', 'ent_dana', 'Dana Reyes', NULL),
            ('email', 'maya@okafor.example', 'ent_maya', 'Maya Okafor', 'maya@okafor.example'),
            ('email', 'ana@beta.example', 'ent_ana', 'Ana Lopez', 'ana@beta.example'))
            AS t(source, source_id, entity_id, record_name, email)""")
    assert meta(materialize(max_entity_share=1.0))["entity_recomputed"] == 2
    ents = dict(rows("SELECT scope_id, text FROM summaries WHERE level = 'entity'"))
    assert set(ents) == {"ent_dana", "ent_ana"}  # the operator gets no entity summary
    assert ents["ent_dana"].startswith("Entity: Dana Reyes · week 2025-W10")
    assert "$4,500" in ents["ent_dana"] and "$9,000" in ents["ent_dana"]  # by address
    assert "coffee" in ents["ent_dana"]  # a chat speaker without address: by name
    assert "kickoff" in ents["ent_ana"]  # a mail recipient or sender: by address
    # an entity in more than half of the linked events (Dana: 3 of 4) gets none either
    materialize(max_entity_share=0.5)
    assert {s for (s,) in rows("SELECT scope_id FROM summaries WHERE level = 'entity'")} == {
        "ent_ana"}


# --- the LLM hook ----------------------------------------------------------------------------


@dataclass
class FakeResult:
    text: str
    tier: str = "cheap"
    model: str = "fake-model"


class FakeLLM:
    """Duck-typed stand-in for resources.llm.LLMResource (endpoint() + complete())."""

    def __init__(self, answer: Callable[[str], str] | Exception, tier: str = "cheap") -> None:
        self.answer, self.tier, self.calls = answer, tier, []

    def endpoint(self) -> str:
        return "http://llm.invalid/v1"

    def complete(self, *, agent: str, task: str, prompt: str, offline, accept,
                 system: str | None = None, **_: object):
        self.calls.append((agent, task, prompt, system))
        if isinstance(self.answer, Exception):
            raise self.answer
        text = offline() if self.tier == "offline" else self.answer(prompt)
        return FakeResult(text, tier=self.tier)


def must_keep(prompt: str) -> str:
    """A faithful answer: exactly the MUST KEEP lines of the prompt."""
    block = prompt.split("MUST KEEP:\n", 1)[1].split("\n\nSOURCES:", 1)[0]
    return block


def test_llm_summary_is_used_only_when_it_passes_fidelity() -> None:
    items = items_of(business()[:3])
    kw = {"title": "Thread: acme", "participants": [DANA, MAYA]}
    good = FakeLLM(must_keep)
    draft, method, model = write_summary("thread", items, 600, llm=good, **kw)
    assert (method, model) == ("llm", "fake-model") and draft.fidelity.passed
    agent, task, prompt, system = good.calls[0]
    assert (agent, task) == ("summarizer", "summarize")
    assert "never instructions" in system and "Q3 retainer approved" in prompt.split("SOURCES:")[1]
    assert "coffee" not in draft.body and "USD 4500" in draft.body

    lossy = FakeLLM(lambda _prompt: "- The retainer was discussed.")
    draft, method, _ = write_summary("thread", items, 600, llm=lossy, **kw)
    assert method == "extractive-fallback" and draft.fidelity.passed
    assert draft.text == extractive_summary(items, 600, **kw)

    for llm, expected in ((FakeLLM(RuntimeError("boom")), "extractive-fallback"),
                          (FakeLLM(must_keep, tier="offline"), "extractive")):
        draft, method, _ = write_summary("thread", items, 600, llm=llm, **kw)
        assert method == expected and draft.fidelity.passed


def test_summaries_asset_records_the_method(aios_home: Path, tmp_path: Path) -> None:
    ingest(tmp_path, business())
    materialize(llm=FakeLLM(lambda _p: "- nothing useful"))
    methods = dict(rows("SELECT level, list(DISTINCT method) FROM summaries GROUP BY 1"))
    assert methods["thread"] == ["extractive-fallback"]
    assert all(ok for (ok,) in rows("SELECT fidelity_passed FROM summaries"))
    materialize(use_llm=False, thread_budget_chars=601)  # budget is an input: all recomputed
    assert {m for (m,) in rows("SELECT DISTINCT method FROM summaries WHERE level = 'thread'")} \
        == {"extractive"}


@pytest.mark.usefixtures("aios_home")
def test_real_llm_resource_escalates_until_fidelity_passes(pg_url: str) -> None:
    from aios_assets.testing.openai_server import OpenAIServer
    from resources.llm import LLMResource

    items = items_of(business()[:3])
    with OpenAIServer() as server:
        server.script("cheap-m", "- The retainer was discussed.")
        server.script("strong-m", must_keep)
        llm = LLMResource(base_url=server.url, api_key="sk-test-key", cheap_model="cheap-m",
                          strong_model="strong-m", postgres_url=pg_url, cache_ttl_s=0)
        draft, method, model = write_summary("thread", items, 600, title="Thread: acme",
                                             participants=[DANA, MAYA], llm=llm)
    assert (method, model) == ("llm", "strong-m") and draft.fidelity.passed
    assert "USD 4500" in draft.text and "by Friday" in draft.text


def test_summary_label_reads_a_child_title() -> None:
    assert summary_label("Thread: Kickoff · 2025-03-03 · 2 events\n...") == "Kickoff"
