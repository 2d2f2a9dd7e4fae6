"""Typos and replaced fields the FEBRL comparison brought up (issue 14, item 6): swapped
letters, a house number with a mistyped street, typos in both names, one birthday for two
names, a surname-only contact from dbt - and namesakes that a record without a date of birth
must not bridge."""

from __future__ import annotations

import duckdb
import polars as pl

from aios_assets.entities.resolution.clusters import _Clusters
from aios_assets.entities.resolution.records import prepare_records
from aios_assets.entities.resolution.resolve import ResolverConfig, resolve_with_details
from aios_assets.entities.resolution.rules import (
    _dobs_agree,
    _dobs_conflict,
    _first_names_conflict,
    _only_placed,
    _surnames_conflict,
)
from tests.entity_fixtures import OTHERS

COLS = ["source", "source_id", "first_name", "last_name", "full_name", "dob", "street",
        "city", "postcode", "state"]


def _records(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{c: r.get(c) for c in COLS} for r in rows],
                        schema={c: pl.Utf8 for c in COLS})


def _normalized(rows: list[dict], cols: str) -> list[dict]:
    con = duckdb.connect()
    prepare_records(con, _records(rows), block_cap=300)
    return con.sql(f"select source_id, {cols} from _er_records order by source_id").pl().to_dicts()


def test_adjacent_letters_or_digits_swapped_are_a_typo():
    # Jaro-Winkler's matching window is 0 for three letters: "pia" / "pai" scores 0.56
    assert not _first_names_conflict(("pia", "pia", "maczkowiack"), ("pai", "pai", "maczkowiack"))
    assert _first_names_conflict(("pia", "pia", "maczkowiack"), ("leah", "leah", "maczkowiack"))
    assert not _surnames_conflict(("kirra", "kirra", "gaskin"), ("kirra", "kirra", "gaksin"))
    assert not _dobs_conflict("1909-11-11", "1990-11-11")  # "09" / "90"
    assert _dobs_conflict("1909-11-11", "1990-12-11")


def test_a_birthday_a_month_off_identifies_one_months_off_does_not():
    assert _dobs_agree("1980-12-06", "1981-01-03")  # 28 days: a slip of the month
    assert _dobs_agree("1953-11-14", "1953-11-41") or _dobs_agree("1953-11-14", "1953-11-15")
    assert not _dobs_agree("1984-03-15", "1984-05-02")  # seven weeks: two people
    assert not _dobs_conflict("1984-03-15", "1984-05-02")  # ... though no contradiction
    vincent = (("vincent", "vincent", "miller"), "1984-03-15", None, None)
    james = (("james", "james", "mrller"), "1984-05-02", None, None)
    assert _only_placed(vincent, james)
    assert not _only_placed(vincent, (james[0], "1984-03-16", None, None))


def test_house_number_with_postcode_and_initials_are_blocking_keys():
    rows = _normalized([
        {"source": "crm", "source_id": "1", "first_name": "Jamie", "last_name": "Hoffman",
         "street": "592 Dalrymple Street", "postcode": "4356", "city": "Vaucluse"},
        {"source": "crm", "source_id": "2", "first_name": "Jajie", "last_name": "Hofmfan",
         "street": "592 dalrymple s treet", "postcode": "4356", "city": "Vauclyse"},
        {"source": "crm", "source_id": "3", "last_name": "Hoffman", "postcode": "4356"},
    ], "k_addr, k_npost, k_ipost, k_icity")
    assert rows[0]["k_addr"] != rows[1]["k_addr"]  # the street's typo...
    assert rows[0]["k_npost"] == rows[1]["k_npost"] == "592|4356"  # ...number + postcode
    assert rows[0]["k_ipost"] == rows[1]["k_ipost"] == "jh|4356"  # typos in both names
    assert rows[0]["k_icity"] == "jaho|vaucluse"
    assert rows[2]["k_npost"] is None and rows[2]["k_ipost"] is None


def test_a_full_name_that_is_only_the_surname_gives_no_first_name():
    # dbt's contact_columns() builds full_name from first and last name: a contact with a
    # surname alone arrives with full_name = its surname
    rows = _normalized([
        {"source": "crm", "source_id": "1", "last_name": "Weller", "full_name": "Weller"},
        {"source": "crm", "source_id": "2", "last_name": "Weller", "full_name": "Sara Weller"},
        {"source": "chat", "source_id": "3", "full_name": "Ada"},
    ], "first_name, surname")
    assert [(r["first_name"], r["surname"]) for r in rows] == [
        (None, "weller"), ("sara", "weller"), ("ada", None)]


HOME = {"street": "39 Keilor Road", "city": "Keilor East", "postcode": "4304", "state": "nsw"}


def test_a_surname_only_contact_from_dbt_stays_out_of_the_household():
    # were the surname read as the first name, "weller weller" would look like Sara Weller
    # with first and last name swapped, and join her
    rows = [
        {"source": "crm", "source_id": "sara", "first_name": "Sara", "last_name": "Weller",
         "full_name": "Sara Weller", "dob": "1964-04-11", **HOME},
        {"source": "crm", "source_id": "w", "last_name": "Weller", "full_name": "Weller",
         **HOME},
        *OTHERS,
    ]
    m = resolve_with_details(_records(rows)).membership
    ent = dict(zip(m["source_id"], m["entity_id"], strict=True))
    assert ent["sara"] != ent["w"]


def test_one_birthday_in_one_postcode_under_two_names_is_one_person():
    # Both names replaced (an alias, a data-entry swap), the house number mistyped: the same
    # rare date of birth in one postcode still says one person. Another birthday does not.
    # The default model of a tiny set scores such pairs about 0.7; the guards decide at any
    # threshold, so the test lowers it to see them.
    street = {"city": "Burrum Heads", "postcode": "3078", "state": "sa"}
    rows = [
        {"source": "crm", "source_id": "meg", "first_name": "Meg", "last_name": "Herbert",
         "dob": "1910-11-26", "street": "162 Callister Crescent", **street},
        {"source": "billing", "source_id": "will", "first_name": "William",
         "last_name": "Green", "dob": "1910-11-26", "street": "7 Callister Crescent", **street},
        {"source": "crm", "source_id": "tom", "first_name": "Thomas", "last_name": "Green",
         "dob": "1948-02-17", "street": "7 Callister Crescent", **street},
        *OTHERS,
    ]
    res = resolve_with_details(_records(rows), config=ResolverConfig(match_threshold=0.5))
    ent = dict(zip(res.membership["source_id"], res.membership["entity_id"], strict=True))
    assert ent["meg"] == ent["will"]
    assert ent["tom"] not in (ent["meg"], ent["will"])
    assert res.stats["refused_merges"]["names"] >= 1  # Thomas / William: a household


def test_a_record_without_a_birthday_does_not_bridge_two_namesakes():
    vincent = ("vincent", "vincent", "perry")
    fn = {0: vincent, 1: vincent, 2: vincent, 3: vincent}
    dobs = {0: "1975-09-25", 1: None, 2: "1945-10-28", 3: "1945-10-28"}
    uf = _Clusters(4, fn, dobs, {}, 50)
    assert uf.try_union(0, 1)  # the Vincent of 1975 and a Vincent with no dob
    assert uf.try_union(2, 3)  # the Vincent of 1945, twice
    assert not uf.try_union(1, 2)  # the dob-less record would make the two one
    assert uf.refused["conflict"] == 1
    assert uf.try_union(0, 2, forced=True)  # an operator's must_link still can
