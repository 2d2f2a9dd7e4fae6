"""Operator overrides (entity_overrides.yaml in AIOS_HOME) apply and survive re-runs."""

from __future__ import annotations

from entity_fixtures import add_events, contact, dbt, query, small_business


def _entity(wh, source, source_id):
    return query(wh, "select entity_id, matched_by from entity_membership "
                     "where source = ? and source_id = ?", [source, source_id])[0]


def test_must_link_and_cannot_link_survive_reruns(tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    add_events(wh, small_business())
    dbt("build", warehouse=wh, home=tmp_path)
    assert _entity(wh, "crm", "C3")[0] != _entity(wh, "crm", "C4")[0]
    assert _entity(wh, "crm", "C1")[0] == _entity(wh, "crm", "C2")[0]

    (tmp_path / "entity_overrides.yaml").write_text(
        "# operator decisions\n"
        "must_link:\n"
        "  - [crm:C3, crm:C4]\n"
        "cannot_link:\n"
        "  - [crm:C1, crm:C2]\n"
    )
    for run in range(2):  # the overrides hold on every later run, with new data arriving too
        dbt("build", warehouse=wh, home=tmp_path)
        c3, c4 = _entity(wh, "crm", "C3"), _entity(wh, "crm", "C4")
        assert c3[0] == c4[0]
        assert "override:must_link" in {c3[1], c4[1]}
        assert _entity(wh, "crm", "C1")[0] != _entity(wh, "crm", "C2")[0]
        add_events(wh, [contact(f"N{run}", first_name="New", last_name=f"Person{run}",
                                email=f"new{run}@example.org")], batch=f"b{run + 2}")
    # N0 arrived after the override run: resolved by the incremental fast path (1 new record)
    assert query(wh, "select resolution_mode from int_entity_membership "
                     "where source_id = 'N0'") == [("incremental",)]
    # the ids of both sides of the split still exist, and the must-linked pair keeps one id
    assert query(wh, "select count(distinct entity_id) from entity_membership "
                     "where source = 'crm' and source_id in ('C1', 'C2')") == [(2,)]


def test_an_override_naming_unknown_records_does_not_break_the_run(tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    add_events(wh, small_business())
    (tmp_path / "entity_overrides.yaml").write_text("must_link:\n  - [crm:NOPE, crm:C1]\n")
    dbt("build", warehouse=wh, home=tmp_path)
    stats = query(wh, "select any_value(resolution_stats) from int_entity_membership")[0][0]
    assert "NOPE" in stats
