"""Entity ids are stable: new records never renumber existing entities."""

from __future__ import annotations

from entity_fixtures import add_events, contact, dbt, email_event, query, small_business


def _ids(wh):
    return dict(((s, i), e) for s, i, e in
                query(wh, "select source, source_id, entity_id from entity_membership"))


def test_new_records_keep_existing_ids(tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    add_events(wh, small_business())
    dbt("build", warehouse=wh, home=tmp_path)
    before = _ids(wh)

    add_events(wh, [
        contact("C9", first_name="Grace", last_name="Hopper", email="grace@navy.example"),
        contact("C10", first_name="Ada", last_name="Lovelace", email="ada.l@personal.example",
                phone="+44 7700 900123", city="London"),
        email_event("m3@x", "Grace Hopper <grace@navy.example>", ["maya@okaforstrategy.example"]),
    ], batch="b2")
    dbt("build", warehouse=wh, home=tmp_path)
    after = _ids(wh)
    for key, entity in before.items():
        assert after[key] == entity, key
    assert after[("crm", "C10")] == before[("crm", "C1")]  # joined Ada's existing entity
    assert after[("crm", "C9")] not in before.values()
    assert after[("email", "grace@navy.example")] == after[("crm", "C9")]

    # a rebuild with nothing new changes nothing, even with --full-refresh
    dbt("build", "--full-refresh", warehouse=wh, home=tmp_path)
    assert _ids(wh) == after
