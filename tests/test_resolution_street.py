"""Street addresses and compact dates of birth, as a contact import brings them."""

from __future__ import annotations

import duckdb
import polars as pl

from aios_assets.entities.resolution.records import prepare_records
from aios_assets.entities.resolution.resolve import ResolverConfig, resolve_with_details


def _normalized(rows: list[dict]) -> list[dict]:
    con = duckdb.connect()
    prepare_records(con, pl.DataFrame(rows), block_cap=300)
    out = con.sql("select source_id, street, street_number, street_name, dob, k_addr "
                  "from _er_records order by source_id").pl()
    return out.to_dicts()


def test_street_types_are_spelt_out_and_the_number_split_off():
    rows = _normalized([
        {"source": "crm", "source_id": "1", "street": "12 High St."},
        {"source": "crm", "source_id": "2", "street": "12 high  street"},
        {"source": "crm", "source_id": "3", "street": "Flat 4b, Orchard Rd"},
        {"source": "crm", "source_id": "4", "street": "  "},
    ])
    assert rows[0]["street"] == rows[1]["street"] == "12 high street"
    assert (rows[0]["street_number"], rows[0]["street_name"]) == ("12", "high street")
    assert rows[0]["k_addr"] == rows[1]["k_addr"] == "12|high street"
    assert (rows[2]["street_number"], rows[2]["street_name"]) == ("4b", "flat orchard road")
    assert rows[3]["street"] is None and rows[3]["k_addr"] is None


def test_compact_dates_of_birth_are_read():
    rows = _normalized([
        {"source": "crm", "source_id": "1", "dob": "19560409"},
        {"source": "crm", "source_id": "2", "dob": "19561399"},  # no such date
        {"source": "crm", "source_id": "3", "dob": "1956040"},  # not eight digits
    ])
    assert [r["dob"] for r in rows] == ["1956-04-09", None, None]


OFFICE = {"street": "306 Bridge Road", "postcode": "D02 XY45", "city": "Dublin",
          "company": "Riverstone Travel"}
JESS = {"source": "crm", "source_id": "1", "first_name": "Jess", "last_name": "Sorensen",
        "dob": "1982-09-01"}
HIROSHI = {"source": "crm", "source_id": "2", "first_name": "Hiroshi", "last_name": "Zhang"}


def _entities(rows: list[dict], **config) -> tuple[int, dict]:
    res = resolve_with_details(pl.DataFrame(rows), config=ResolverConfig(**config))
    return res.membership["entity_id"].n_unique(), res.stats["refused_merges"]


def test_colleagues_at_one_office_address_stay_apart():
    # street and postcode are one piece of evidence (the address comparison), not two
    n, _ = _entities([{**JESS, **OFFICE}, {**HIROSHI, **OFFICE}])
    assert n == 2


def test_a_shared_switchboard_does_not_merge_two_different_names():
    rows = [{**JESS, **OFFICE, "phone": "015 550 5650"},
            {**HIROSHI, **OFFICE, "phone": "015 550 5650"}]
    n, refused = _entities(rows)
    assert (n, refused["names"]) == (2, 1)
    assert _entities(rows, conflict_guard=False)[0] == 1  # Splink's score alone merges them


def test_a_surname_and_an_address_alone_do_not_merge():
    # a household: a record with a surname and the address, nothing that identifies a person
    home = {"street": "193 West Lane", "postcode": "HU11 1GT", "city": "Manchester"}
    rows = [{"source": "crm", "source_id": "1", "first_name": "Nick", "last_name": "Jones",
             "dob": "1953-11-14", **home},
            {"source": "crm", "source_id": "2", "last_name": "Jones", **home,
             "street": "193 West Ln"}]
    n, refused = _entities(rows)
    assert (n, refused["names"]) == (2, 1)
    assert _entities(rows, conflict_guard=False)[0] == 1


def test_only_placed_needs_something_that_identifies_a_person():
    from aios_assets.entities.resolution.rules import _only_placed

    nick = (("nick", "nicholas", "jones"), "1953-11-14", None, "447700900001")
    theresa = (("theresa", "theresa", "jones"), None, None, None)
    no_first = (None, None, None, None)
    assert _only_placed(nick, theresa)  # other first name, nothing identifying in common
    assert _only_placed(nick, no_first)  # no first name, nothing identifying
    assert not _only_placed(nick, (("nick", "nicholas", None), None, None, None))
    assert not _only_placed(nick, (theresa[0], "1953-11-14", None, None))  # same birthday
    assert not _only_placed(nick, (theresa[0], "1953-11-15", None, None))  # up to a typo
    assert not _only_placed(nick, (None, None, None, "447700900001"))  # same phone
    assert not _only_placed((None, None, "n@x.example", None), (None, None, "n@x.example", None))


def test_an_impossible_dob_keeps_its_digits():
    # the ingest leaves "19931819" empty and dbt hands its raw text over as dob_unparsed; a
    # direct caller may pass it in dob: either way no date, only its eight digits
    rows = [{"source": "crm", "source_id": "1", "dob": "19931819"},
            {"source": "crm", "source_id": "2", "dob_unparsed": "1993-18-19"},
            {"source": "crm", "source_id": "3", "dob": "1993-10-19", "dob_unparsed": "x"},
            {"source": "crm", "source_id": "4", "dob_unparsed": "1993181"}]
    con = duckdb.connect()
    prepare_records(con, pl.DataFrame(rows), block_cap=300)
    got = con.sql("select dob, dob_digits from _er_records order by source_id").fetchall()
    assert got == [(None, "19931819"), (None, "19931819"), ("1993-10-19", None), (None, None)]


def test_an_impossible_dob_one_typo_from_the_other_identifies_a_household_member():
    # household-shaped (another first name, the same surname and address) - apart, unless an
    # impossible date of birth is one keystroke from the other record's date
    home = {"street": "11 Arndell Street", "postcode": "2594", "city": "Kempsey", "state": "sa"}
    aleisha = {"source": "crm", "source_id": "1", "first_name": "Aleisha",
               "last_name": "Bridgland", "dob": "19931019", **home}
    bertie = {"source": "crm", "source_id": "2", "first_name": "Bertie",
              "last_name": "Bridgland", **home}
    for dob_unparsed, entities in (("19931819", 1),  # a digit mistyped
                                   ("19930119", 1),  # ... or two adjacent digits swapped
                                   ("19937799", 2),  # two digits away: a relative
                                   (None, 2)):  # nothing identifying in common
        n, _ = _entities([aleisha, {**bertie, "dob_unparsed": dob_unparsed}])
        assert n == entities, dob_unparsed
    # Splink's score alone merges every one of them: the guard is what keeps them apart
    assert _entities([aleisha, bertie], conflict_guard=False)[0] == 1


def test_dob_digits_agree_only_up_to_one_keystroke():
    from aios_assets.entities.resolution.rules import _dob_digits_agree

    assert _dob_digits_agree("19010271", "19010217")  # adjacent digits swapped
    assert _dob_digits_agree("19931819", "19931019")  # one digit
    assert not _dob_digits_agree("19937799", "19931019")
    assert not _dob_digits_agree("1993101", "19931019")  # not eight digits
