"""Staging models parse contacts, mail, meetings, billing, content, notes and chat."""

from __future__ import annotations

import pytest
from entity_fixtures import add_events, dbt, query, small_business

# An organizer given as a bare address (no "Name <...>"): the macros must parenthesize their
# argument, else `payload ->> 'organizer' like '%@%'` parses as `payload ->> ('...' like ...)`.
BARE_ORGANIZER = {
    "source": "calendar", "source_id": "ev2", "kind": "meeting", "subject": "Call",
    "actor": "maya@okaforstrategy.example", "text": "",
    "payload": {"organizer": "maya@okaforstrategy.example", "attendees": [],
                "start": "2026-03-04T10:00:00+00:00", "end": "2026-03-04T10:30:00+00:00"},
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    wh = tmp_path_factory.mktemp("staging") / "warehouse.duckdb"
    add_events(wh, small_business() + [BARE_ORGANIZER])
    dbt("build", "--select", "staging", warehouse=wh)
    return wh


def test_contacts_are_parsed_from_payload(warehouse):
    rows = query(warehouse, "select source_id, first_name, last_name, email, phone, company "
                            "from stg_crm__contacts order by source_id")
    assert rows[0] == ("C1", "Ada", "Lovelace", "ada@analytical.example", None,
                       "Analytical Engines Ltd")
    assert rows[1][3] == "ada@analytical.example"  # lower-cased
    assert rows[1][4] == "+44 7700 900123"
    subs = query(warehouse, "select source_id, full_name, email from stg_newsletter__subscribers")
    assert subs == [("S1", "Ada Lovelace", "ada@analytical.example")]


def test_email_participants_are_split_by_role(warehouse):
    rows = query(warehouse, "select message_id, role, email, display_name "
                            "from stg_email__participants order by message_id, role, email")
    assert ("m1@x", "cc", "bob@acme.example", None) in rows
    assert ("m1@x", "from", "ada@analytical.example", "Ada Lovelace") in rows
    assert ("m1@x", "to", "maya@okaforstrategy.example", "Maya Okafor") in rows
    assert len([r for r in rows if r[0] == "m2@x"]) == 2


def test_other_sources(warehouse):
    assert query(warehouse, "select role, email from stg_calendar__attendees "
                            "where meeting_id = 'ev1' order by role") == [
        ("attendee", "john.smith@acme.example"), ("organizer", "maya@okaforstrategy.example")]
    assert query(warehouse, "select invoice_id, amount, currency from stg_billing__invoices "
                            "order by invoice_id")[0][
        0] == "INV-1"
    assert query(warehouse, "select opens, clicks from stg_newsletter__content_metrics") == [
        (55, 12)]
    assert query(warehouse, "select project from stg_notes__notes") == [("Acme audit",)]
    assert query(warehouse, "select speaker_email, speaker_name from stg_chat__messages "
                            "order by message_id") == [
        ("john.smith@acme.example", "John Smith"), (None, "Ada Lovelace")]


def test_bare_address_organizer_and_sender(warehouse):
    assert query(warehouse, "select organizer_email, organizer_name from stg_calendar__meetings "
                            "where meeting_id = 'ev2'") == [("maya@okaforstrategy.example", None)]
    # the email participants already had bare addresses (cc); the sender path uses the same macro
    assert query(warehouse, "select from_email from stg_email__messages where message_id = 'm1@x'"
                 ) == [("ada@analytical.example",)]


def test_latest_version_wins(tmp_path):
    from entity_fixtures import contact

    wh = tmp_path / "warehouse.duckdb"
    add_events(wh, [contact("C1", first_name="Ada", email="ada@old.example")])
    add_events(wh, [contact("C1", first_name="Ada", email="ada@new.example")], batch="b2")
    dbt("build", "--select", "stg_crm__contacts", warehouse=wh)
    assert query(wh, "select email, version from stg_crm__contacts") == [("ada@new.example", 2)]
