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
    assert query(wh, "select street, street_number, street_name from resolver.record_state "
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


def test_an_impossible_dob_reaches_the_resolver_as_digits(tmp_path):
    # the real ingest leaves "19931819" empty (a field issue); dbt hands its raw text over
    # and the resolver merges the household-shaped pair it identifies
    from aios_assets.ingest.loader import ingest_paths

    wh = tmp_path / "warehouse.duckdb"
    csv = tmp_path / "contacts.csv"
    home = "11 Arndell Street,2594,Kempsey,sa"
    csv.write_text("source_id,first_name,last_name,dob,street,postcode,city,state\n"
                   f"A1,Aleisha,Bridgland,19931019,{home}\n"
                   f"A2,Bertie,Bridgland,19931819,{home}\n"
                   f"A3,Kiana,Bridgland,,{home}\n")
    con = duckdb.connect(str(wh))
    try:
        report = ingest_paths(con, [csv], source="crm")
    finally:
        con.close()
    assert (report.rejected, report.field_issues) == (0, 1)
    dbt("build", warehouse=wh, home=tmp_path)
    assert query(wh, "select source_id, dob, dob_unparsed from int_person_records "
                     "order by source_id") == [("A1", "1993-10-19", None),
                                               ("A2", None, "19931819"), ("A3", None, None)]
    assert query(wh, "select dob_digits from resolver.record_state where source_id = 'A2'") == [
        ("19931819",)]
    ent = dict(query(wh, "select source_id, entity_id from entity_membership"))
    assert ent["A1"] == ent["A2"] != ent["A3"]  # Kiana: nothing identifying in common
