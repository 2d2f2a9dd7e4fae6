"""Incremental dbt builds equal full rebuilds: after new and changed events, the incremental
``int_person_records`` (and everything built on it) is what ``dbt build --full-refresh`` makes
of the same event log."""

from __future__ import annotations

import shutil

from entity_fixtures import add_events, contact, dbt, email_event, query, small_business

# (table, key columns): compared row for row, every column
TABLES = {
    "int_person_records": "source, source_id",
    "entity_membership": "source, source_id",
    "dim_contacts": "entity_id",
    "dim_organizations": "organization_id",
    "fct_interactions": "interaction_id",
    "fct_invoices": "invoice_id",
}


def _rows(wh, table, key):
    # lists (emails, sources) compare fine; timestamps and floats as stored
    return query(wh, f"select * from {table} order by {key}")


def test_incremental_build_equals_full_refresh(tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    add_events(wh, small_business())
    dbt("build", warehouse=wh, home=tmp_path)
    n_before = query(wh, "select count(*) from int_person_records")[0][0]

    add_events(wh, [
        # a new contact, a corrected contact (new version), a corrected subscriber
        contact("C9", first_name="Grace", last_name="Hopper", email="grace@navy.example"),
        contact("C4", first_name="John", last_name="Smith", email="jsmith@other.example",
                dob="1985-06-30", city="Bath"),
        contact("S1", source="newsletter", full_name="Ada King",
                email="ada@analytical.example"),
        # the same content again (same event id, a new version)
        contact("C3", first_name="John", last_name="Smith", email="john.smith@acme.example",
                dob="1970-01-01", city="Leeds", company="Acme"),
        # mail from a known and a new address: participant aggregates change
        email_event("m3@x", "Grace Hopper <grace@navy.example>",
                    ["Maya O. <maya@okaforstrategy.example>"], when="2026-05-01T09:00:00+00:00"),
        # a chat speaker whose key is a contact's: the contact row wins
        contact("bob@acme.example", source="chat", first_name="Bob", last_name="Stone",
                email="bob@acme.example"),
        {"source": "chat", "source_id": "c9", "kind": "chat_message", "thread": "t2",
         "actor": "Bob <bob@acme.example>", "text": "hello"},
    ], batch="b2")
    dbt("build", warehouse=wh, home=tmp_path)
    assert query(wh, "select count(*) from int_person_records")[0][0] > n_before
    assert query(wh, "select city from int_person_records where source = 'crm' "
                     "and source_id = 'C4'") == [("Bath",)]
    assert query(wh, "select full_name from int_person_records where source = 'newsletter' "
                     "and source_id = 'S1'") == [("Ada King",)]
    assert query(wh, "select record_kind from int_person_records where source = 'chat' "
                     "and source_id = 'bob@acme.example'") == [("contact",)]
    incremental = {t: _rows(wh, t, k) for t, k in TABLES.items()}

    # the same event log, every model rebuilt from scratch (entity ids persist by design)
    full = tmp_path / "full"
    full.mkdir()
    shutil.copy(wh, full / "warehouse.duckdb")
    fwh = full / "warehouse.duckdb"
    dbt("build", "--full-refresh", warehouse=fwh, home=full)
    for table, key in TABLES.items():
        assert _rows(fwh, table, key) == incremental[table], table

    # nothing new: an incremental run changes nothing
    dbt("build", warehouse=wh, home=tmp_path)
    for table, key in TABLES.items():
        assert _rows(wh, table, key) == incremental[table], table
