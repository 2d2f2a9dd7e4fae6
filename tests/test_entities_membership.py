"""A full `dbt build` on a tiny event log: entity membership, marts and their data tests."""

from __future__ import annotations

import pytest
from entity_fixtures import add_events, dbt, query, small_business


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    wh = tmp_path_factory.mktemp("membership") / "warehouse.duckdb"
    add_events(wh, small_business())
    proc = dbt("build", warehouse=wh)  # models, snapshots and every data test
    assert "ERROR=0" in proc.stdout and "WARN=0" in proc.stdout
    return wh


def _entity(wh, source, source_id):
    rows = query(wh, "select entity_id from entity_membership where source = ? and source_id = ?",
                 [source, source_id])
    assert len(rows) == 1, (source, source_id, rows)
    return rows[0][0]


def test_email_equal_records_merge_with_matched_by_email(warehouse):
    ada = _entity(warehouse, "crm", "C1")
    assert _entity(warehouse, "crm", "C2") == ada
    assert _entity(warehouse, "newsletter", "S1") == ada
    assert _entity(warehouse, "email", "ada@analytical.example") == ada
    rows = query(warehouse, "select matched_by, score from entity_membership "
                            "where entity_id = ? and source_id <> 'C1' "
                            "and source_id not like 'name:%'", [ada])
    assert {r[0] for r in rows} == {"email"} and {r[1] for r in rows} == {1.0}


def test_same_name_different_person_is_not_merged(warehouse):
    assert _entity(warehouse, "crm", "C3") != _entity(warehouse, "crm", "C4")


def test_every_participant_maps_to_an_entity(warehouse):
    john = _entity(warehouse, "crm", "C3")
    for source, source_id in [("email", "john.smith@acme.example"),
                              ("calendar", "john.smith@acme.example"),
                              ("chat", "john.smith@acme.example"),
                              ("billing", "INV-1")]:
        assert _entity(warehouse, source, source_id) == john
    kinds = {r[0] for r in query(warehouse, "select distinct record_kind from entity_membership")}
    assert kinds == {"contact", "subscriber", "email_participant", "calendar_participant",
                     "chat_speaker", "invoice_customer"}


def test_marts(warehouse):
    ada = _entity(warehouse, "crm", "C1")
    row = query(warehouse, "select full_name, primary_email, phone, record_count, in_crm, "
                           "is_subscriber from dim_contacts where entity_id = ?", [ada])[0]
    assert row == ("Ada Lovelace", "ada@analytical.example", "+44 7700 900123", 5, True, True)
    assert query(warehouse, "select entity_id, matched_by from entity_membership "
                            "where source_id = 'name:ada lovelace'") == [(ada, "unique_name")]
    inv = query(warehouse, "select customer_entity_id, payment_state, balance, organization_id "
                           "from fct_invoices where invoice_id = 'INV-1'")[0]
    assert inv[0] == _entity(warehouse, "crm", "C3") and inv[1] == "paid" and inv[2] == 0
    org = query(warehouse, "select name, domain from dim_organizations where organization_id = ?",
                [inv[3]])
    assert org == [("Acme", "acme.example")]
    assert query(warehouse, "select count(*) from fct_interactions where entity_id is null") == [
        (0,)]
    assert query(warehouse, "select round(open_rate, 2) from fct_content_performance") == [
        (0.55,)]
    assert {r[0] for r in query(warehouse, "select origin from dim_projects")} == {"note",
                                                                                  "invoice"}
    # "Data strategy audit" and "... - April 2026": one product, one engagement with Acme
    assert query(warehouse, "select name, invoice_count, customer_count, invoiced_amount, "
                            "paid_amount from dim_products") == [
        ("Data strategy audit", 2, 1, 2000, 1200)]
    assert query(warehouse, "select name, invoice_count, meeting_count from dim_projects "
                            "where origin = 'invoice'") == [("Acme — Data strategy audit", 2, 1)]


def test_resolution_is_explained(warehouse):
    rows = query(warehouse, "select matched_by, score, matched_to_source_id from entity_membership")
    for matched_by, score, to in rows:
        if matched_by == "self":
            assert score is None and to is None
        else:
            assert 0 < score <= 1 and to is not None
