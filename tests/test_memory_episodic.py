"""Episodic memory: threads, meetings, transactions and decisions, incremental and idempotent;
plus the one test of the real chain (event log -> dbt entities -> all memory assets)."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest
from entity_fixtures import add_events, dbt
from memory_tier_fixtures import ADA, BOB, MAYA, build_marts, chat, connect, mail, ts

from aios_assets.memory.episodic import (
    EPISODIC_ASSETS,
    EPISODIC_CHECKS,
    build_episodes,
    decision_text,
    transaction_outcome,
)

AS_OF = datetime(2026, 3, 20, tzinfo=UTC)


def test_decision_text_finds_decisions_and_ignores_the_rest():
    assert decision_text("Hi Maya,\n\nWe've reviewed it and we're happy to go ahead with the "
                         "retainer at $4,500/month.\n\nBest,\nAda") == (
        "We've reviewed it and we're happy to go ahead with the retainer at $4,500/month.")
    assert decision_text("Agreed — the churn dashboard first, then pricing. I'll update the plan."
                         ) == "Agreed — the churn dashboard first, then pricing."
    assert decision_text("# Kickoff\n\n## Decisions\n- Prioritise churn.\n- Weekly check-ins.\n\n"
                         "## Actions\n- [ ] Maya: send checklist") == (
        "Prioritise churn; Weekly check-ins")
    assert decision_text("Decided: new clients pay £1,800 a day.") == (
        "Decided: new clients pay £1,800 a day.")
    assert decision_text("We decided to pause the newsletter in August.")
    # not decisions: a proposal, a quoted decision, an opinion about decisions
    assert decision_text("I'd suggest a Q3 retainer at $6,500/month.") is None
    assert decision_text("Thanks!\n\nOn Monday, Ada wrote:\n> We decided to go ahead.") is None
    assert decision_text("Nobody agreed which decision it is supposed to change.") is None


def test_transaction_outcome():
    inv = {"amount": 1000, "currency": "EUR", "due_at": "2026-03-10", "status": "sent"}
    assert transaction_outcome(inv, 1000.0, ts(9), AS_OF) == "paid on 2026-03-09"
    assert transaction_outcome(inv, 0.0, None, AS_OF).startswith(
        "overdue: 1,000.00 EUR outstanding since 2026-03-10")
    assert transaction_outcome(inv, 400.0, ts(5), datetime(2026, 3, 1, tzinfo=UTC)) == (
        "partially paid: 400.00 EUR of 1,000.00 EUR")
    assert transaction_outcome(inv, 0.0, None, datetime(2026, 3, 1, tzinfo=UTC)) == (
        "open: 1,000.00 EUR due 2026-03-10")
    assert transaction_outcome({**inv, "status": "void"}, 0.0, None, AS_OF) == "void"


def business() -> list[dict]:
    return [
        mail("m1", ADA, [MAYA], ts(2, 9), "Hi Maya,\n\nCan we meet about the plan?\n\nBest,\nAda"),
        mail("m2", MAYA, [ADA], ts(2, 11), "Hi Ada,\n\nSure — Thursday works.\n\nBest,\nMaya\n\n"
             "On Monday, Ada wrote:\n> Can we meet about the plan?", subject="Re: Plan"),
        chat("c1", ADA, ts(3, 9), "Morning! Quick one on the export."),
        chat("c2", MAYA, ts(3, 9, 5), "Sure, what's up?"),
        chat("c3", ADA, ts(3, 20), "Never mind, found it."),  # 11 h later: a new session
        {"source": "calendar", "source_id": "mtg1", "kind": "meeting", "occurred_at": ts(5, 14),
         "actor": f"Maya Okafor <{MAYA['email']}>", "thread": "mtg1", "subject": "Kickoff",
         "text": "Agenda", "payload": {"organizer": f"Maya Okafor <{MAYA['email']}>",
                                       "attendees": [{"name": "Bob Stone",
                                                      "email": BOB["email"]}],
                                       "start": "2026-03-05T14:00:00+00:00",
                                       "end": "2026-03-05T15:00:00+00:00"}},
        chat("t1", BOB, ts(5, 14, 5), "I think we should prioritise churn before pricing.",
             thread="mtg1", kind="transcript_turn", subject="Kickoff"),
        chat("t2", MAYA, ts(5, 14, 6), "Agreed — churn first, then pricing.", thread="mtg1",
             kind="transcript_turn", subject="Kickoff"),
        {"source": "notes", "source_id": "n1", "kind": "note", "occurred_at": ts(5, 16),
         "actor": "Maya Okafor", "thread": "mtg1", "subject": "Kickoff notes",
         "text": "## Decisions\n- Churn before pricing.\n", "payload": {}},
        {"source": "billing", "source_id": "INV-7", "kind": "invoice", "occurred_at": ts(1),
         "actor": "Ada Lovelace", "thread": "INV-7", "text": "invoice",
         "payload": {"invoice_id": "INV-7", "customer_email": ADA["email"], "amount": 1200.0,
                     "currency": "EUR", "due_at": "2026-03-31", "status": "sent",
                     "description": "Audit"}},
        mail("m3", MAYA, [ADA], ts(1, 12), "Please find attached invoice INV-7.",
             subject="Invoice INV-7 - Audit", thread="t-inv"),
        {"source": "operator", "source_id": "d1", "kind": "approval_decision",
         "occurred_at": ts(6), "actor": "Maya Okafor", "text": "",
         "payload": {"proposal_id": "p1", "action_type": "send_email", "decision": "rejected",
                     "reason": "too pushy"}},
    ]


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "w.duckdb"
    add_events(path, business())
    build_marts(path, [MAYA, ADA, BOB])
    return path


def _episodes(con):
    rows = con.execute("select type, episode_key, title, participants, outcome, event_count, "
                       "episode_id from episodes order by type, started_at").fetchall()
    return rows


def test_episodes_of_every_type_with_participants_and_outcomes(log):
    con = connect(log)
    stats = build_episodes(con, as_of=AS_OF)
    assert stats.full and stats.by_type == {"decision": 3, "meeting": 1, "thread": 4,
                                            "transaction": 1}
    rows = {(r[0], r[2]): r for r in _episodes(con)}
    plan = rows[("thread", "Plan")]
    assert plan[3] == ["ent_ada", "ent_maya"] and plan[5] == 2
    assert plan[4] == "replied — Maya Okafor: Sure — Thursday works."
    chats = [r for r in _episodes(con) if r[1] == "thread|chat|chat-ada"]
    assert sorted(r[5] for r in chats) == [1, 2]  # cut into two sessions at the 11-hour gap
    meeting = rows[("meeting", "Kickoff")]
    assert meeting[3] == ["ent_bob", "ent_maya"] and meeting[5] == 4  # event, 2 turns, note
    assert meeting[4].startswith("decided: Agreed — churn first, then pricing")
    invoice = rows[("transaction", "Invoice INV-7 — Audit (1,200.00 EUR)")]
    assert invoice[4] == "open: 1,200.00 EUR due 2026-03-31" and invoice[5] == 2  # + the email
    outcomes = {r[4] for r in _episodes(con) if r[0] == "decision"}
    assert "Agreed — churn first, then pricing." in outcomes
    assert "rejected send_email p1: too pushy" in outcomes
    decision_turn = next(r for r in _episodes(con) if r[1] == "decision|chat|t2")
    assert decision_turn[5] == 2  # the turn it answers is part of the episode
    links = con.execute("select count(*) from episode_events").fetchone()[0]
    assert links == sum(r[5] for r in _episodes(con))


def test_incremental_idempotent_and_clock_dependent(log):
    con = connect(log)
    build_episodes(con, as_of=AS_OF)
    ids = {r[6]: r[4] for r in _episodes(con)}
    con.close()

    con = connect(log)
    again = build_episodes(con, as_of=AS_OF)
    assert (again.full, again.new, again.updated, again.removed) == (False, 0, 0, 0)
    assert again.dirty_keys == 1  # only the open invoice is looked at again (clock)
    con.close()

    # a reply arrives and one chat message is corrected: only those keys are recomputed
    add_events(log, [mail("m4", ADA, [MAYA], ts(4, 9), "Thursday it is.", subject="Re: Plan"),
                     chat("c3", ADA, ts(3, 20), "Never mind, found the export.")], batch="b2")
    build_marts(log, [MAYA, ADA, BOB])
    con = connect(log)
    inc = build_episodes(con, as_of=AS_OF)
    assert not inc.full and (inc.new, inc.updated, inc.removed) == (0, 2, 0)
    now = {r[6]: r[4] for r in _episodes(con)}
    assert set(now) == set(ids)  # ids are stable
    plan = next(r for r in _episodes(con) if r[2] == "Plan")
    assert plan[5] == 3 and plan[4].endswith("Thursday it is.")
    # time passes: the open invoice becomes overdue without any new event
    later = build_episodes(con, as_of=datetime(2026, 4, 2, tzinfo=UTC))
    assert later.updated == 1
    assert next(r for r in _episodes(con) if r[0] == "transaction")[4].startswith("overdue")


def test_participants_follow_entity_resolution(log):
    con = connect(log)
    build_episodes(con, as_of=AS_OF)
    con.close()
    # entity resolution merges Bob into Ada (no new event)
    build_marts(log, [MAYA, ADA, {**BOB, "entity_id": "ent_ada"}])
    con = connect(log)
    stats = build_episodes(con, as_of=AS_OF)
    assert stats.new == stats.updated == 0 and stats.participants_refreshed >= 2
    meeting = next(r for r in _episodes(con) if r[0] == "meeting")
    assert meeting[3] == ["ent_ada", "ent_maya"]


def test_real_chain_event_log_entities_memory(aios_home):
    """Event log -> dbt (real entity resolution and marts) -> the four memory assets."""
    from aios_assets.memory.facts import FACTS_ASSETS, FACTS_CHECKS
    from aios_assets.memory.policy_traces import POLICY_ASSETS, POLICY_CHECKS
    from aios_assets.memory.working import WORKING_ASSETS, WORKING_CHECKS
    from resources.warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse()
    events = business() + [
        {"source": "crm", "source_id": "C1", "kind": "contact", "occurred_at": ts(1, 8),
         "actor": "Ada Lovelace", "text": "Ada",
         "payload": {"source_id": "C1", "first_name": "Ada", "last_name": "Lovelace",
                     "email": ADA["email"], "title": "Analyst",
                     "company": "Analytical Engines Ltd"}},
        mail("m5", ADA, [MAYA], ts(8, 9), "Hi Maya,\n\nNews: I'm now Head of Data at "
             "Analytical Engines.\n\nBest,\nAda", subject="News", thread="t-news"),
    ]
    add_events(warehouse.path, events)
    dbt("build", warehouse=warehouse.path, home=aios_home)
    assets = [*EPISODIC_ASSETS, *WORKING_ASSETS, *FACTS_ASSETS, *POLICY_ASSETS]
    checks_defs = [*EPISODIC_CHECKS, *WORKING_CHECKS, *FACTS_CHECKS, *POLICY_CHECKS]
    result = dg.materialize(
        [*assets, *checks_defs], resources={"warehouse": warehouse},
        run_config={"ops": {"episodes": {"config": {"as_of": "2026-03-20T00:00:00+00:00"}}}},
    )
    assert result.success
    checks = result.get_asset_check_evaluations()
    names = {c.check_name for c in checks}
    assert names == {spec.name for c in checks_defs for spec in c.check_specs}
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]
    for asset in assets:
        assert dg.AssetKey("event_log") in asset.dependency_keys
        assert next(iter(asset.specs)).group_name == "memory"
    assert dg.AssetKey("entity_membership") in EPISODIC_ASSETS[0].dependency_keys
    mats = {m.asset_key.to_user_string(): m.metadata
            for m in result.get_asset_materialization_events()
            for m in [m.event_specific_data.materialization]}
    assert mats["episodes"]["dagster/row_count"].value >= 10
    assert "| type |" in mats["episodes"]["preview"].value
    con = warehouse.read()
    try:
        ada = con.execute("select entity_id from entity_membership where source = 'crm' "
                          "and source_id = 'C1'").fetchone()[0]
        parts = con.execute("select participants from episodes where title = 'Plan'"
                            ).fetchone()[0]
        assert ada in parts  # canonical entity ids from the real resolver
        title = con.execute("select value from entity_facts_current where entity_id = ? and "
                            "attribute = 'title'", [ada]).fetchone()[0]
        assert title == "Head of Data"
        assert con.execute("select count(*) from working_memory where scope = 'entity' "
                           "and scope_id = ?", [ada]).fetchone()[0] >= 3
        assert con.execute("select decision from policy_traces").fetchone()[0] == "rejected"
    finally:
        con.close()
