"""Signals added for issue 14 (FEBRL against a tuned Splink model), on tiny fixtures: names
swapped with a typo, a nickname with a surname typo and no dob, the job title as a weak signal,
one stray record in a person's cluster - and households and namesakes that must stay apart."""

from __future__ import annotations

import polars as pl

from aios_assets.entities.resolution.clusters import _Clusters
from aios_assets.entities.resolution.resolve import resolve
from tests.entity_fixtures import OTHERS

COLS = ["source", "source_id", "first_name", "last_name", "email", "dob", "city", "postcode",
        "street", "state", "title"]


def _records(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{c: r.get(c) for c in COLS} for r in rows],
                        schema={c: pl.Utf8 for c in COLS})


def _entity(m: pl.DataFrame, source_id: str) -> str:
    return m.filter(pl.col("source_id") == source_id)["entity_id"][0]


def _row(m: pl.DataFrame, source_id: str) -> dict:
    return m.filter(pl.col("source_id") == source_id).row(0, named=True)


HOME = {"street": "22 Warrego Circuit", "postcode": "3040", "city": "Bayswater",
        "state": "nt"}


def test_swapped_names_with_a_typo_merge():
    rows = [
        {"source": "crm", "source_id": "a", "first_name": "Alexa-Rose", "last_name": "White",
         **HOME},
        {"source": "billing", "source_id": "b", "first_name": "Whitbe",
         "last_name": "Alexa-Rose", **HOME},
        *OTHERS,
    ]
    m = resolve(_records(rows))
    assert _entity(m, "a") == _entity(m, "b")
    assert _row(m, "b")["matched_by"] == "splink"


def test_a_nickname_with_a_surname_typo_merges():
    rows = [
        {"source": "crm", "source_id": "a", "first_name": "Joseph", "last_name": "Bennett",
         **HOME},
        # no street: only the nickname, the postcode and the city bring the two together
        {"source": "events", "source_id": "b", "first_name": "Joe", "last_name": "Bent",
         "postcode": "3040", "city": "Bayswater"},
        *OTHERS,
    ]
    m = resolve(_records(rows))
    assert _entity(m, "a") == _entity(m, "b")


def test_two_people_of_one_household_do_not_merge_and_an_unnamed_record_joins_neither():
    rows = [
        {"source": "crm", "source_id": "mary", "first_name": "Mary", "last_name": "Jones",
         **HOME},
        {"source": "crm", "source_id": "peter", "first_name": "Peter", "last_name": "Jones",
         **HOME},
        # no first name: Mary or Peter - nothing tells, so it stays alone
        {"source": "billing", "source_id": "j", "last_name": "Jones", **HOME},
        *OTHERS,
    ]
    m = resolve(_records(rows))
    assert _entity(m, "mary") != _entity(m, "peter")
    assert _entity(m, "j") not in (_entity(m, "mary"), _entity(m, "peter"))


def test_namesakes_in_one_postcode_do_not_merge():
    rows = [
        {"source": "crm", "source_id": "walsh", "first_name": "Nora", "last_name": "Walsh",
         "city": "Denver", "postcode": "80202", "street": "24 Wharf Road"},
        {"source": "crm", "source_id": "osei", "first_name": "Nora", "last_name": "Osei",
         "city": "Denver", "postcode": "80202", "street": "343 Market Street"},
        *OTHERS,
    ]
    m = resolve(_records(rows))
    assert _entity(m, "walsh") != _entity(m, "osei")


def test_the_title_is_a_weak_signal():
    def score(title_a: str | None, title_b: str | None) -> float:
        rows = [
            {"source": "crm", "source_id": "a", "first_name": "Ada", "last_name": "Byron",
             "dob": "1985-12-10", "title": title_a},
            {"source": "crm", "source_id": "b", "first_name": "Ada", "last_name": "Byron",
             "dob": "1985-12-10", "title": title_b},
            *OTHERS,
        ]
        m = resolve(_records(rows))
        assert _entity(m, "a") == _entity(m, "b")
        return _row(m, "b")["score"] or _row(m, "a")["score"]

    same, unknown, other = score("Mathematician", "mathematician"), score(None, None), score(
        "Mathematician", "Poet")
    assert same > unknown > other
    # weak: the same title never makes two different people one
    rows = [
        {"source": "crm", "source_id": "x", "first_name": "Ann", "last_name": "Lee",
         "city": "Leeds", "title": "Accountant"},
        {"source": "crm", "source_id": "y", "first_name": "Bob", "last_name": "Stone",
         "city": "Leeds", "title": "Accountant"},
        *OTHERS,
    ]
    m = resolve(_records(rows))
    assert _entity(m, "x") != _entity(m, "y")


def test_one_stray_record_does_not_split_a_person():
    # FEBRL corrupts fields one at a time: Jake Burnell, Jake Burnell and "Samuel" Burnell (a
    # wrong first name) are one person, and so is a fourth record with a wrong dob. Any single
    # cross pair (Samuel 1917 / Jake 1936) clashes on first name and dob; most do not.
    fn = {0: ("jake", "jake", "burnell"), 1: ("jake", "jake", "burnell"),
          2: ("samuel", "samuel", "burnell"), 3: ("jake", "jake", "burnell"),
          4: ("alice", "alice", "burnell"), 5: ("bob", "robert", "burnell")}
    dobs = {0: "1917-05-29", 1: "1917-05-29", 2: "1917-05-29", 3: "1936-08-09",
            4: "1980-01-01", 5: "1982-03-04"}
    uf = _Clusters(6, fn, dobs, {}, 50)
    assert uf.try_union(0, 1) and uf.try_union(1, 2)
    assert uf.try_union(0, 3)  # 1 clash (samuel/1936) out of 3 cross pairs
    # two people who differ on both still stay apart
    assert not uf.try_union(4, 5)
    assert uf.refused["conflict"] == 1
