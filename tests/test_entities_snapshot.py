"""YAML snapshots keep SCD2 history: a changed contact adds a row, the old one is closed."""

from __future__ import annotations

from entity_fixtures import add_events, contact, dbt, query


def test_changed_contact_becomes_a_new_scd2_row(tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    add_events(wh, [contact("C1", first_name="Ada", last_name="Lovelace",
                            email="ada@analytical.example", city="London")])
    dbt("build", warehouse=wh, home=tmp_path)
    entity = query(wh, "select entity_id from dim_contacts")[0][0]
    assert query(wh, "select count(*) from snap_contacts") == [(1,)]

    add_events(wh, [contact("C1", first_name="Ada", last_name="Lovelace",
                            email="ada@analytical.example", city="Paris")], batch="b2")
    dbt("build", warehouse=wh, home=tmp_path)  # rebuilds dim_contacts, then snapshots it
    rows = query(wh, "select entity_id, city, dbt_valid_to is null from snap_contacts "
                     "order by dbt_valid_from")
    assert rows == [(entity, "London", False), (entity, "Paris", True)]

    dbt("snapshot", warehouse=wh, home=tmp_path)  # nothing changed: no new row
    assert query(wh, "select count(*) from snap_contacts") == [(2,)]
