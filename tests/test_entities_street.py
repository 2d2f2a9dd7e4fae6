"""The street of a contact import reaches entity resolution through dbt, and a warehouse built
before ``int_person_records`` had a ``street`` column is brought up to date by a plain build."""

from __future__ import annotations

import duckdb
from entity_fixtures import add_events, contact, dbt, query, small_business


def test_street_reaches_the_resolver_and_an_old_table_is_rebuilt(tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    add_events(wh, [*small_business(),
                    contact("C20", first_name="Mitchell", last_name="Green",
                            street="7 Wallaby Pl.", postcode="2119")])
    dbt("build", warehouse=wh, home=tmp_path)
    assert query(wh, "select street from int_person_records where source_id = 'C20'") == [
        ("7 Wallaby Pl.",)]
    assert query(wh, "select street, street_number, street_name from er_record_state "
                     "where source_id = 'C20'") == [("7 wallaby place", "7", "wallaby place")]
    before = query(wh, "select * exclude (street) from int_person_records order by all")
    streets = query(wh, "select source, source_id, street from int_person_records order by all")

    # the layout of an older release: no street column
    con = duckdb.connect(str(wh))
    con.execute("alter table int_person_records drop column street")
    con.close()
    dbt("build", warehouse=wh, home=tmp_path)
    assert query(wh, "select * exclude (street) from int_person_records order by all") == before
    assert query(wh, "select source, source_id, street from int_person_records "
                     "order by all") == streets
