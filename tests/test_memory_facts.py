"""Entity facts: extraction rules, validity intervals by event time, supersession without
deletion, late-arriving history, idempotent incremental runs, entity merges."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest
from entity_fixtures import add_events
from memory_tier_fixtures import ADA, BOB, MAYA, build_marts, chat, connect, mail, ts

from aios_assets.memory.fact_extraction import (
    extract_from_signature,
    extract_from_text,
    resolve_date,
)
from aios_assets.memory.facts import facts_as_of

REF = datetime(2026, 7, 10, 9, tzinfo=UTC)


def found(text: str, by_operator: bool = False) -> set[tuple[str, str, str]]:
    return {(f.attribute, f.value, f.subject)
            for f in extract_from_text(text, REF, by_operator=by_operator)}


def test_rules_find_what_the_author_states():
    assert found("Hi Maya,\n\nI'm now Head of Data at Lumen Foods.") == {
        ("title", "Head of Data", "author"), ("company", "Lumen Foods", "author")}
    assert found("Small note: I got married and changed my surname to Moreno. My new email is "
                 "k.moreno@acme.example; the old one stops working.") == {
        ("last_name", "Moreno", "author"), ("email", "k.moreno@acme.example", "author")}
    assert ("phone", "+44 7700 900123", "author") in found("My new number is +44 7700 900123.")
    assert ("city", "Lisbon", "author") in found("We've moved to Lisbon.")
    assert found("I prefer calls over email, honestly.") == {
        ("preferred_channel", "calls over email, honestly", "author")}
    assert found("We're happy to go ahead with the Q3 retainer at €7,500/month.") == {
        ("retainer", "€7,500 per month (Q3 retainer)", "author")}
    assert found("Our budget is about $20k for this.") == {("budget", "$20k", "author")}
    assert found("Yes: our warehouse is on Snowflake, and the board meets on Monday 20 July.") == {
        ("data_warehouse", "Snowflake", "author"), ("board_meeting", "2026-07-20", "author")}
    assert found("We're looking for help with a churn model. Free next week?") == {
        ("need", "a churn model", "author")}
    assert found("I think we should prioritise the churn dashboard before the pricing model.") == {
        ("priority", "the churn dashboard before the pricing model", "author")}
    assert found("Decided: from Monday 3 August new clients pay a day rate of £1,800.") == {
        ("day_rate", "£1,800 per day from 2026-08-03", "author")}
    assert found("Rule: at most 6 retainer clients at a time.") == {
        ("max_retainer_clients", "6", "author")}


def test_rules_respect_who_speaks_and_what_is_quoted():
    # the operator's own commitments go to the counterparty; a vague one is not a fact
    assert found("Yes — I'll have the churn dashboard ready by Monday 13 July.", True) == {
        ("commitment", "the churn dashboard by Monday 2026-07-13", "counterparty")}
    assert found("Great — I'll get that done by Tuesday.", True) == set()
    assert found("Yes — I'll have the deck ready by Monday 13 July.") == set()  # not operator
    assert found("- Promised Dana the revised proposal by Friday (17 July).") == {
        ("commitment", "the revised proposal by Friday 2026-07-17", "mention:Dana")}
    assert found("Could you help again with bookkeeping for one of my clients this month?",
                 True) == {("service", "bookkeeping", "recipient")}
    # a proposal by the operator is not an agreed price; quoted text is not the author's
    assert found("I'd suggest a retainer at $6,500/month.", True) == set()
    assert found("We agreed to the retainer at $6,500/month.", True) == set()
    assert found("Thanks!\n\nOn Friday, Ada wrote:\n> I'm now CEO at Acme Corp.") == set()
    assert found("Nothing to see here: the weather is nice.") == set()


def test_signature_and_dates():
    text = ("Hi,\n\nSee you then.\n\nAda\n\n-- \nAda Lovelace\nHead of Data | Analytical "
            "Engines Ltd\n+44 20 7946 0018\n\nOn Monday, Bob wrote:\n> -- \n> Bob\n> CEO | X")
    assert {(f.attribute, f.value) for f in extract_from_signature(text)} == {
        ("title", "Head of Data"), ("company", "Analytical Engines Ltd"),
        ("phone", "+44 20 7946 0018")}
    assert resolve_date("Monday 13 July", REF) == (date(2026, 7, 13), "monday")
    assert resolve_date("Friday (12 June)", REF)[0] == date(2026, 6, 12)
    assert resolve_date("3 January", REF)[0] == date(2027, 1, 3)  # next year, not last
    assert resolve_date("2026-09-01", REF)[0] == date(2026, 9, 1)
    assert resolve_date("Tuesday", REF)[0] == date(2026, 7, 14)


def contact(sid: str, person: dict, updated: datetime, **fields) -> dict:
    payload = {"source_id": sid, "full_name": person["full_name"], "email": person["email"],
               **fields}
    return {"source": "crm", "source_id": sid, "kind": "contact", "occurred_at": updated,
            "actor": person["full_name"], "text": person["full_name"], "payload": payload}


def chain(con, entity_id: str, attribute: str) -> list[tuple]:
    return con.execute(
        "select value, valid_from, valid_to, superseded_by, fact_id, extracted_by, source_id "
        "from entity_facts where entity_id = ? and attribute = ? order by valid_from, seq",
        [entity_id, attribute]).fetchall()


def assert_chains_valid(con) -> None:
    """The asset checks' conditions: one current per (entity, attribute), linked intervals."""
    assert con.execute("select count(*) from (select 1 from entity_facts where valid_to is null "
                       "group by entity_id, attribute having count(*) > 1)").fetchone()[0] == 0
    assert con.execute(
        """select count(*) from (select *, lead(valid_from) over w nf, lead(fact_id) over w ni
           from entity_facts window w as (partition by entity_id, attribute
                                          order by valid_from, seq))
           where valid_to is distinct from nf or superseded_by is distinct from ni"""
    ).fetchone()[0] == 0


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "w.duckdb"
    add_events(path, [
        contact("C1", ADA, ts(1, month=1), title="Analyst", company="Analytical Engines Ltd",
                phone="+44 20 7946 0000", city="London"),
        mail("m1", ADA, [MAYA], ts(1, month=3), "Hi Maya,\n\nI'm now Head of Data at "
             "Analytical Engines.\n\nAda"),
        chat("c1", BOB, ts(2, month=3), "Our warehouse is on BigQuery."),
        chat("c2", MAYA, ts(2, 11, month=3), "I'll have the audit ready by Friday 6 March."),
        {"source": "notes", "source_id": "n1", "kind": "note", "occurred_at": ts(3, month=3),
         "actor": "Maya Okafor", "text": "Call with Ada (Analytical Engines).\n\n- Promised Ada "
         "the plan by Friday (6 March).", "payload": {}},
    ])
    build_marts(path, [MAYA, ADA, BOB])
    return path


def test_newer_fact_supersedes_by_event_time_and_nothing_is_deleted(log):
    con = connect(log)
    stats = build_entity_facts_(con)
    assert stats.inserted > 0 and stats.historical == 0
    titles = chain(con, "ent_ada", "title")
    assert [(t[0], t[5]) for t in titles] == [("Analyst", "contact_record"),
                                             ("Head of Data", "rule:role")]
    assert titles[0][2] == titles[1][1] and titles[0][3] == titles[1][4]  # closed, linked
    assert titles[1][2] is None and titles[1][3] is None  # current
    # "Analytical Engines" restates "Analytical Engines Ltd": no new company fact
    assert [c[0] for c in chain(con, "ent_ada", "company")] == ["Analytical Engines Ltd"]
    # company-level facts land on the organization; commitments on the counterparty
    assert chain(con, "org_analytical", "data_warehouse")[0][0] == "BigQuery"
    assert chain(con, "ent_bob", "commitment")[0][0] == "the audit by Friday 2026-03-06"
    assert chain(con, "ent_ada", "commitment")[0][0] == "the plan by Friday 2026-03-06"
    current = dict(con.execute("select attribute, value from entity_facts_current "
                               "where entity_id = 'ent_ada'").fetchall())
    assert current["title"] == "Head of Data" and current["city"] == "London"
    as_of = facts_as_of(con, "ent_ada", datetime(2026, 2, 1, tzinfo=UTC))
    assert as_of["title"]["value"] == "Analyst" and as_of["title"]["source_id"] == "C1"
    rows = con.execute("select count(*) from entity_facts").fetchone()[0]
    con.close()

    # later: a late-arriving OLDER record (loaded now, happened in 2025) and a newer one
    add_events(log, [
        contact("C0", ADA, datetime(2025, 6, 1, tzinfo=UTC), title="Intern"),
        mail("m2", ADA, [MAYA], ts(1, month=5), "News: I'm now CEO at Analytical Engines."),
        mail("m3", ADA, [MAYA], ts(2, month=5), "As said, I am CEO at Analytical Engines."),
    ], batch="b2")
    build_marts(log, [MAYA, ADA, BOB])
    con = connect(log)
    stats = build_entity_facts_(con)
    assert stats.historical == 3 and stats.corroborated >= 1  # C0's title, name and email
    titles = chain(con, "ent_ada", "title")
    assert [t[0] for t in titles] == ["Intern", "Analyst", "Head of Data", "CEO"]
    intern = titles[0]
    assert intern[2] == titles[1][1] and intern[3] == titles[1][4]  # history, not current
    assert con.execute("select value from entity_facts_current where entity_id = 'ent_ada' "
                       "and attribute = 'title'").fetchone()[0] == "CEO"
    assert con.execute("select count(*) from entity_facts").fetchone()[0] > rows
    assert_chains_valid(con)


def build_entity_facts_(con, **kw):
    from aios_assets.memory.facts import build_entity_facts

    return build_entity_facts(con, operator_email=MAYA["email"], **kw)


def test_incremental_runs_are_idempotent(log):
    con = connect(log)
    first = build_entity_facts_(con)
    snapshot = con.execute("select * from entity_facts order by fact_id").fetchall()
    again = build_entity_facts_(con)
    assert again.candidates == 0 and again.inserted == 0 and not again.full
    full = build_entity_facts_(con, full_refresh=True)
    assert full.inserted == 0 and full.duplicates + full.corroborated == first.candidates
    assert con.execute("select * from entity_facts order by fact_id").fetchall() == snapshot


def test_facts_follow_an_entity_merge(log):
    con = connect(log)
    build_entity_facts_(con)
    con.close()
    # entity resolution merges Ada's records into ent_ada2 (the surviving id)
    merged = {**ADA, "entity_id": "ent_ada2"}
    build_marts(log, [MAYA, merged, BOB],
                extra_membership=[("crm", "C9", "ent_ada2", "email", 1.0, ADA["email"],
                                   "Ada Lovelace", "ent_ada", "contact")])
    con = connect(log)
    stats = build_entity_facts_(con)
    assert stats.rekeyed >= 5
    assert con.execute("select count(*) from entity_facts where entity_id = 'ent_ada'"
                       ).fetchone()[0] == 0
    assert [t[0] for t in chain(con, "ent_ada2", "title")] == ["Analyst", "Head of Data"]
    assert_chains_valid(con)


def test_facts_as_of_on_a_read_only_snapshot(log):
    con = connect(log)
    build_entity_facts_(con)
    con.close()
    ro = duckdb.connect(str(log), read_only=True)
    assert facts_as_of(ro, "ent_ada")["title"]["value"] == "Head of Data"
    assert facts_as_of(ro, "ent_ada", datetime(2025, 1, 1, tzinfo=UTC)) == {}
