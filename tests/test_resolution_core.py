"""The resolver's core, called directly: rules, guards, overrides and stable ids."""

from __future__ import annotations

import polars as pl

from aios_assets.entities.resolution.overrides import Overrides
from aios_assets.entities.resolution.resolve import resolve, resolve_with_details


def _records(rows: list[dict]) -> pl.DataFrame:
    cols = ["source", "source_id", "first_name", "last_name", "full_name", "email", "dob",
            "city", "phone", "company"]
    return pl.DataFrame([{c: r.get(c) for c in cols} for r in rows],
                        schema={c: pl.Utf8 for c in cols})


def _entity(m: pl.DataFrame, source: str, source_id: str) -> str:
    return m.filter((pl.col("source") == source) & (pl.col("source_id") == source_id))[
        "entity_id"
    ][0]


def _row(m: pl.DataFrame, source: str, source_id: str) -> dict:
    return m.filter((pl.col("source") == source) & (pl.col("source_id") == source_id)).row(
        0, named=True
    )


BASE = [
    {"source": "crm", "source_id": "1", "first_name": "Ada", "last_name": "Lovelace",
     "email": "Ada@Analytical.example"},
    {"source": "newsletter", "source_id": "s9", "full_name": "Lovelace, Ada",
     "email": "ada@analytical.example "},
    {"source": "crm", "source_id": "2", "first_name": "John", "last_name": "Smith",
     "email": "john@acme.example", "dob": "1970-01-01", "city": "Leeds"},
    {"source": "crm", "source_id": "3", "first_name": "John", "last_name": "Smith",
     "email": "j.smith@other.example", "dob": "1988-07-30", "city": "Bristol"},
]


def test_same_normalized_email_merges_with_reason_email():
    m = resolve(_records(BASE))
    a, b = _row(m, "crm", "1"), _row(m, "newsletter", "s9")
    assert a["entity_id"] == b["entity_id"]
    assert a["matched_by"] == b["matched_by"] == "email"
    assert a["score"] == 1.0
    assert (b["matched_to_source"], b["matched_to_source_id"]) == ("crm", "1")


def test_same_name_different_person_does_not_merge():
    m = resolve(_records(BASE))
    assert _entity(m, "crm", "2") != _entity(m, "crm", "3")
    assert _row(m, "crm", "2")["matched_by"] == "self"
    assert _row(m, "crm", "2")["score"] is None


def test_shared_mailbox_is_not_identity():
    rows = [
        {"source": "crm", "source_id": "a", "first_name": "Kim", "last_name": "Park",
         "email": "info@shop.example"},
        {"source": "crm", "source_id": "b", "first_name": "Lee", "last_name": "Moss",
         "email": "info@shop.example"},
    ]
    m = resolve(_records(rows))
    assert _entity(m, "crm", "a") != _entity(m, "crm", "b")


def test_household_email_with_contradicting_names_is_not_an_email_merge():
    rows = [
        {"source": "crm", "source_id": "a", "first_name": "Mary", "last_name": "Jones",
         "email": "jonesfamily@mail.example", "dob": "1961-02-03"},
        {"source": "crm", "source_id": "b", "first_name": "Peter", "last_name": "Jones",
         "email": "jonesfamily@mail.example", "dob": "1990-11-12"},
    ]
    m = resolve(_records(rows))
    assert _entity(m, "crm", "a") != _entity(m, "crm", "b")


def test_probabilistic_match_is_explained_by_splink_score():
    rows = [
        {"source": "crm", "source_id": "a", "first_name": "Katherine", "last_name": "Olsen",
         "dob": "1979-04-02", "city": "Oxford", "phone": "+44 7700 900111"},
        {"source": "billing", "source_id": "INV-1", "first_name": "Kate", "last_name": "Olsen",
         "dob": "1979-04-02", "city": "oxford", "phone": "07700900111"},
    ]
    m = resolve(_records(rows))
    row = _row(m, "billing", "INV-1")
    assert row["entity_id"] == _entity(m, "crm", "a")
    assert row["matched_by"] == "splink"
    assert 0.95 <= row["score"] <= 1.0


def test_must_link_and_cannot_link():
    overrides = Overrides.from_mapping({
        "must_link": [["crm:2", "crm:3"]],
        "cannot_link": [[{"source": "crm", "source_id": "1"},
                         {"source": "newsletter", "source_id": "s9"}]],
    })
    m = resolve(_records(BASE), overrides=overrides)
    assert _entity(m, "crm", "2") == _entity(m, "crm", "3")
    assert _row(m, "crm", "3")["matched_by"] == "override:must_link"
    assert _entity(m, "crm", "1") != _entity(m, "newsletter", "s9")


def test_ids_stay_stable_and_merges_keep_the_older_id():
    first = resolve_with_details(_records(BASE))
    ids = {(r["source"], r["source_id"]): r["entity_id"]
           for r in first.membership.iter_rows(named=True)}
    more = BASE + [
        {"source": "crm", "source_id": "4", "first_name": "Grace", "last_name": "Hopper",
         "email": "grace@navy.example"},
        {"source": "chat", "source_id": "ada@analytical.example", "full_name": "Ada L.",
         "email": "ada@analytical.example"},
    ]
    second = resolve_with_details(_records(more), previous_membership=first.membership,
                                  previous_model=first.model)
    m2 = second.membership
    for key, entity in ids.items():
        assert _entity(m2, *key) == entity
    assert _entity(m2, "chat", "ada@analytical.example") == ids[("crm", "1")]
    assert _entity(m2, "crm", "4") not in ids.values()

    # an operator merge of two existing entities keeps the older id (crm:2 was seen first)
    third = resolve_with_details(
        _records(more), previous_membership=m2, previous_model=second.model,
        overrides={"must_link": [["crm:3", "crm:2"]]},
    )
    assert third.stats["mode"] == "full"
    m3 = third.membership
    assert _entity(m3, "crm", "2") == _entity(m3, "crm", "3")
    assert _entity(m3, "crm", "2") in {ids[("crm", "2")], ids[("crm", "3")]}
    assert _entity(m3, "crm", "1") == ids[("crm", "1")]


def test_few_new_records_run_incrementally_with_the_same_ids():
    from aios_assets.entities.resolution.synthetic import generate

    rows = generate(300, seed=99)
    df = pl.DataFrame(rows).with_columns(
        pl.lit("syn").alias("source"), pl.col("unique_id").cast(pl.Utf8).alias("source_id")
    ).drop("cluster", "unique_id")
    old, new = df.head(len(df) - 10), df
    first = resolve_with_details(old)
    second = resolve_with_details(new, previous_membership=first.membership,
                                  previous_model=first.model)
    assert second.stats["mode"] == "incremental"
    assert second.stats["new_or_changed"] == 10
    before = dict(zip(first.membership["source_id"], first.membership["entity_id"]))
    after = dict(zip(second.membership["source_id"], second.membership["entity_id"]))
    # old records keep their ids unless two old entities were merged (then the older id wins)
    changed = {k for k in before if after[k] != before[k]}
    assert all(after[k] in before.values() for k in changed)
    assert len(changed) <= 10


def test_split_leaves_the_id_with_the_larger_part():
    rows = BASE + [
        {"source": "email", "source_id": "ada@analytical.example",
         "email": "ada@analytical.example", "full_name": "Ada Lovelace"},
    ]
    first = resolve_with_details(_records(rows))
    ada = _entity(first.membership, "crm", "1")
    second = resolve_with_details(
        _records(rows), previous_membership=first.membership, previous_model=first.model,
        overrides={"cannot_link": [["crm:1", "newsletter:s9"],
                                   ["email:ada@analytical.example", "newsletter:s9"]]},
    )
    m = second.membership
    assert _entity(m, "crm", "1") == ada
    assert _entity(m, "email", "ada@analytical.example") == ada
    assert _entity(m, "newsletter", "s9") != ada


def test_oversized_clusters_are_not_built_automatically():
    rows = [{"source": "crm", "source_id": str(i), "first_name": "Sam", "last_name": "Lee",
             "email": "sam.lee@corp.example"} for i in range(8)]
    from aios_assets.entities.resolution.resolve import ResolverConfig

    res = resolve_with_details(_records(rows), config=ResolverConfig(max_cluster_size=5))
    sizes = res.membership.group_by("entity_id").len()["len"].to_list()
    assert max(sizes) <= 5
    assert res.stats["refused_merges"]["size"] > 0


def test_full_runs_reuse_the_trained_model_until_the_data_grows():
    from aios_assets.entities.resolution.synthetic import generate

    df = pl.DataFrame(generate(600, seed=5)).with_columns(
        pl.lit("syn").alias("source"), pl.col("unique_id").cast(pl.Utf8).alias("source_id")
    ).drop("cluster", "unique_id")
    first = resolve_with_details(df)
    assert first.stats["model"] == "trained"
    again = resolve_with_details(df, previous_membership=first.membership,
                                 previous_model=first.model, force_full=True)
    assert again.stats["mode"] == "full" and again.stats["model"] == "previous"
    assert again.membership["entity_id"].to_list() == first.membership["entity_id"].to_list()


def test_one_record_and_no_records():
    one = resolve(_records(BASE[:1]))
    assert one["matched_by"].to_list() == ["self"]
    assert resolve(_records([])).height == 0


def test_no_records_still_give_a_state_to_save():
    """A home whose data names nobody (only notes, say) still persists a typed, empty
    resolver state (save_state crashed on None)."""
    import duckdb

    from aios_assets.entities.resolution.incremental import save_state
    from aios_assets.entities.resolution.records import STATE_COLUMNS

    result = resolve_with_details(_records([]), return_records=True)
    assert result.membership.height == 0
    assert result.records is not None and result.records.num_rows == 0
    assert tuple(result.records.column_names) == STATE_COLUMNS
    con = duckdb.connect()
    save_state(con, "er_record_state", result.records, replace=True)
    assert [r[0] for r in con.execute("describe er_record_state").fetchall()] == list(
        STATE_COLUMNS)


def test_training_without_dates_of_birth_degrades_to_default_parameters(caplog):
    """No source has a dob (as in the demo business): the dob EM round finds no pairs, so it is
    skipped with a logged reason and name parameters come from the packaged default model."""
    import logging

    from aios_assets.entities.resolution import model as er_model
    from aios_assets.entities.resolution.resolve import ResolverConfig
    from aios_assets.entities.resolution.synthetic import generate

    df = pl.DataFrame(generate(150, seed=11)).with_columns(
        pl.lit("syn").alias("source"), pl.col("unique_id").cast(pl.Utf8).alias("source_id"),
        pl.lit(None, pl.Utf8).alias("dob"),
    ).drop("cluster", "unique_id")
    with caplog.at_level(logging.WARNING, logger="aios_assets.entities.resolution.model"):
        res = resolve_with_details(df, config=ResolverConfig(min_records_to_train=100))
    assert res.stats["model"] == "trained"
    steps = {s["step"]: s for s in res.stats["training"]["steps"]}
    assert steps["em:dob"]["status"] == "skipped" and steps["em:dob"]["pairs"] == 0
    assert steps["em:names"]["status"] == "trained"
    assert res.stats["training"]["untrained_comparisons"] == ["first_name", "surname"]
    assert "em:dob skipped" in caplog.text
    default = {c["output_column_name"]: c for c in er_model.default_model()["comparisons"]}
    got = {c["output_column_name"]: c for c in res.model["comparisons"]}
    m = [lv.get("m_probability") for lv in got["first_name"]["comparison_levels"]]
    assert m == [lv.get("m_probability") for lv in default["first_name"]["comparison_levels"]]
    assert res.membership.height == df.height


def test_fallback_prior_when_no_deterministic_pairs():
    from aios_assets.entities.resolution import model as er_model

    base = er_model.default_model()
    out = er_model.fallback_to_default(
        {**base, "probability_two_random_records_match": 0.3},
        {"untrained_comparisons": [], "prior_from_default": True}, n_records=2 * 41_908 - 1,
    )
    expected = base["probability_two_random_records_match"] / 2
    assert abs(out["probability_two_random_records_match"] - expected) < 1e-12


def test_a_name_only_record_joins_the_one_entity_with_that_name():
    rows = [
        {"source": "crm", "source_id": "c1", "first_name": "Benjamin", "last_name": "Haddad",
         "email": "benjamin.haddad@maple.example", "phone": "+44 7700 900001"},
        {"source": "chat", "source_id": "name:benjamin haddad", "full_name": "Benjamin Haddad"},
        # two identified namesakes: a name alone cannot say which one is meant
        {"source": "crm", "source_id": "c2", "first_name": "Nadia", "last_name": "Duarte",
         "email": "nadia@willow.example", "dob": "1980-01-02"},
        {"source": "crm", "source_id": "c3", "first_name": "Nadia", "last_name": "Duarte",
         "email": "nduarte@other.example", "dob": "1991-07-08"},
        {"source": "chat", "source_id": "name:nadia duarte", "full_name": "Nadia Duarte"},
    ]
    res = resolve_with_details(_records(rows))
    m = res.membership
    row = _row(m, "chat", "name:benjamin haddad")
    assert row["entity_id"] == _entity(m, "crm", "c1")
    assert row["matched_by"] == "unique_name" and 0.5 <= row["score"] < 0.95
    nadia = _entity(m, "chat", "name:nadia duarte")
    assert nadia not in {_entity(m, "crm", "c2"), _entity(m, "crm", "c3")}
    assert res.stats["unique_name_merges"] == 1


def test_resolve_update_matches_the_incremental_run_and_reads_only_a_neighbourhood():
    """The dbt model's fast path: state in DuckDB tables, only new records normalized/scored."""
    import duckdb

    from aios_assets.entities.resolution.incremental import resolve_update, save_state
    from aios_assets.entities.resolution.synthetic import generate

    df = pl.DataFrame(generate(600, seed=99)).with_columns(
        pl.lit("syn").alias("source"), pl.col("unique_id").cast(pl.Utf8).alias("source_id")
    ).drop("cluster", "unique_id")
    old = df.head(df.height - 12)
    first = resolve_with_details(old, return_records=True)
    con = duckdb.connect()
    con.register("_m", first.membership.to_arrow())
    con.execute("create table membership as select * from _m")
    save_state(con, "state", first.records, replace=True)
    con.register("_r", df.to_arrow())
    con.execute("create table recs as select * from _r")
    upd = resolve_update(con, records_table="recs", membership_table="membership",
                         state_table="state", previous_model=first.model)
    assert upd.stats["mode"] == "incremental" and upd.stats["new_or_changed"] == 12
    assert upd.records.num_rows == 12
    assert upd.stats["neighbourhood"] < df.height / 2
    ref = resolve_with_details(df, previous_membership=first.membership,
                               previous_model=first.model)
    assert ref.stats["mode"] == "incremental"
    merged = dict(zip(first.membership["source_id"], first.membership["entity_id"], strict=True))
    merged.update(zip(upd.membership["source_id"], upd.membership["entity_id"], strict=True))
    assert merged == dict(zip(ref.membership["source_id"], ref.membership["entity_id"],
                              strict=True))
    # persisted, a second update with nothing new changes nothing
    save_state(con, "state", upd.records, replace=False)
    con.register("_u", upd.membership.to_arrow())  # what dbt's delete+insert does
    con.execute("delete from membership m using _u where m.source = _u.source "
                "and m.source_id = _u.source_id")
    con.execute("insert into membership by name select * from _u")
    again = resolve_update(con, records_table="recs", membership_table="membership",
                           state_table="state", previous_model=first.model)
    assert again.stats["new_or_changed"] == 0 and again.membership.height == 0

    # too many changes, or a must_link not yet honoured: a full run is needed
    import pytest

    from aios_assets.entities.resolution.incremental import FullRunNeeded
    with pytest.raises(FullRunNeeded, match="must_link"):
        resolve_update(con, records_table="recs", membership_table="membership",
                       state_table="state", previous_model=first.model,
                       overrides={"must_link": [["syn:0", "syn:1"]]}
                       if merged["0"] != merged["1"] else {"must_link": [["syn:0", "syn:2"]]})
