"""The street of a contact import reaches entity resolution through dbt and, with the other
address and title columns, the contacts mart; a warehouse built before ``int_person_records``
had those columns is brought up to date by a plain build."""

from __future__ import annotations

import duckdb
from entity_fixtures import add_events, contact, dbt, query, small_business


def test_street_reaches_the_resolver_and_an_old_table_is_rebuilt(tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    add_events(wh, [*small_business(),
                    contact("C20", first_name="Mitchell", last_name="Green",
                            street="7 Wallaby Pl.", postcode="2119", state="NSW",
                            country="Australia", title="Ranger")])
    dbt("build", warehouse=wh, home=tmp_path)
    assert query(wh, "select street from int_person_records where source_id = 'C20'") == [
        ("7 Wallaby Pl.",)]
    assert query(wh, "select street, street_number, street_name from er_record_state "
                     "where source_id = 'C20'") == [("7 wallaby place", "7", "wallaby place")]
    card = ("select street, postcode, state, country, title from dim_contacts "
            "join entity_membership using (entity_id) where source_id = 'C20'")
    assert query(wh, card) == [("7 Wallaby Pl.", "2119", "NSW", "Australia", "Ranger")]
    new = "street, state, country, title"
    before = query(wh, f"select * exclude ({new}) from int_person_records order by all")
    added = query(wh, f"select source, source_id, {new} from int_person_records order by all")

    # the layout of an older release: none of these columns
    con = duckdb.connect(str(wh))
    for col in new.split(", "):
        con.execute(f"alter table int_person_records drop column {col}")
    con.close()
    dbt("build", warehouse=wh, home=tmp_path)
    assert query(wh, f"select * exclude ({new}) from int_person_records order by all") == before
    assert query(wh, f"select source, source_id, {new} from int_person_records "
                     "order by all") == added
    assert query(wh, card) == [("7 Wallaby Pl.", "2119", "NSW", "Australia", "Ranger")]
