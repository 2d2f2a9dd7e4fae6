"""The cheap paths of ``int_entity_membership``: a build with nothing new skips the resolver
(fingerprint in ``resolver.run_fingerprint``) and leaves every table as the resolver would; anything
the resolver reads that changes (records, overrides, membership out of step with its state)
takes the resolver's path again. Real DuckDB files, real dbt builds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from entity_fixtures import add_events, contact, dbt, query, small_business

# (table, key columns): compared row for row, every column
TABLES = {
    "int_entity_membership": "source, source_id",
    "resolver.record_state": "source, source_id",
    "entity_membership": "source, source_id",
    "int_entity_clusters": "entity_id",
    "dim_contacts": "entity_id",
}


def _rows(wh: Path) -> dict[str, list[tuple]]:
    out = {t: query(wh, f"select * from {t} order by {k}") for t, k in TABLES.items()}
    out["resolver.model_state"] = query(
        wh, "select * from resolver.model_state order by trained_at")
    return out


def _stamp(wh: Path) -> list[tuple]:
    return query(wh, "select fingerprint, written_at from resolver.run_fingerprint")


def _execute(wh: Path, sql: str) -> None:
    con = duckdb.connect(str(wh))
    try:
        con.execute(sql)
    finally:
        con.close()


def _entity(wh: Path, source_id: str) -> str | None:
    rows = query(wh, "select entity_id from int_entity_membership "
                     "where source = 'crm' and source_id = ?", [source_id])
    return rows[0][0] if rows else None


def _after_an_incremental_build(tmp_path: Path) -> Path:
    wh = tmp_path / "warehouse.duckdb"
    add_events(wh, small_business())
    dbt("build", warehouse=wh, home=tmp_path)  # first build: a full resolution
    add_events(wh, [contact("C9", first_name="Grace", last_name="Hopper",
                            email="grace@navy.example")], batch="b2")
    dbt("build", warehouse=wh, home=tmp_path)  # incremental: stores the fingerprint
    assert query(wh, "select resolution_mode from int_entity_membership "
                     "where source_id = 'C9'") == [("incremental",)]
    assert len(_stamp(wh)) == 1
    return wh


@pytest.fixture(scope="module")
def _built_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    home = tmp_path_factory.mktemp("incremental")
    _after_an_incremental_build(home)
    pristine = tmp_path_factory.mktemp("incremental-pristine")
    shutil.copytree(home, pristine, dirs_exist_ok=True)
    return home, pristine


@pytest.fixture
def home(_built_once: tuple[Path, Path]) -> Path:
    """A home after a full and an incremental build: built once per module, and given back to
    each test as built, at the same path (the resolver's fingerprint names the overrides file,
    which lives in the home, by its path; a copy elsewhere would not skip)."""
    home, pristine = _built_once
    shutil.rmtree(home)
    shutil.copytree(pristine, home)
    return home


def test_importing_the_resolver_does_not_import_splink():
    code = (
        "import sys\n"
        "from aios_assets.entities.resolution import resolve\n"
        "assert 'splink' not in sys.modules, 'splink imported'\n"
        "from aios_assets.entities.resolution import model\n"
        "assert resolve._TRAINED_ON == model.TRAINED_ON\n"
        "assert resolve.er_model.TRAINED_ON == model.TRAINED_ON\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_nothing_new_skips_the_resolver_and_changes_nothing(home):
    tmp_path = home  # the home the builds below run in
    wh = home / "warehouse.duckdb"
    before, stamp = _rows(wh), _stamp(wh)

    dbt("build", warehouse=wh, home=tmp_path)
    # the fingerprint was not rewritten: the resolver did not run, and nothing changed
    assert _stamp(wh) == stamp
    assert _rows(wh) == before

    # without the fingerprint the resolver runs (and finds nothing new): the same tables
    _execute(wh, "drop table resolver.run_fingerprint")
    dbt("build", warehouse=wh, home=tmp_path)
    assert _rows(wh) == before
    assert len(_stamp(wh)) == 1 and _stamp(wh)[0][1] != stamp[0][1]


def test_changes_are_not_skipped(home):
    tmp_path = home  # the home the builds below run in
    wh = home / "warehouse.duckdb"

    # a corrected contact: resolved again
    add_events(wh, [contact("C9", first_name="Grace", last_name="Hopper",
                            email="grace@navy.example", city="Arlington")], batch="b3")
    hash_before = query(wh, "select record_hash from int_entity_membership "
                            "where source_id = 'C9'")
    dbt("build", warehouse=wh, home=tmp_path)
    assert query(wh, "select record_hash from int_entity_membership "
                     "where source_id = 'C9'") != hash_before
    assert query(wh, "select city from resolver.record_state where source_id = 'C9'") == [
        ("arlington",)]

    # an override written after the last build: applied by the next one
    assert _entity(wh, "C3") != _entity(wh, "C4")
    (tmp_path / "entity_overrides.yaml").write_text("must_link:\n  - [crm:C3, crm:C4]\n")
    dbt("build", warehouse=wh, home=tmp_path)
    assert _entity(wh, "C3") == _entity(wh, "C4")

    # membership out of step with the resolver state (as after a failed write): repaired
    dbt("build", warehouse=wh, home=tmp_path)  # stores a fingerprint again
    assert len(_stamp(wh)) == 1
    ada = _entity(wh, "C1")
    _execute(wh, "delete from int_entity_membership where source = 'crm' and source_id = 'C1'")
    dbt("build", warehouse=wh, home=tmp_path)
    assert _entity(wh, "C1") == ada
