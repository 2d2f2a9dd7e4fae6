"""dbt assets carry row counts: one DuckDB count query after the build, under the warehouse
write lock, equal to the tables' real counts; no DuckDB handle lingers (the snapshot and the
next writer in the same process still work). dbt's artifacts stay in the home, a new home's first
build reuses the project's parse (``aios-dbt`` runs dbt in the home), and the home's second build
reuses the first one's parse. Builds write no debug log and no JSON artifacts."""

from __future__ import annotations

import dagster as dg
import duckdb
from entity_fixtures import add_events, small_business


def test_dbt_tables_carry_their_row_counts(aios_home):
    from aios_assets.entities.dbt_manifest import ensure_dbt_manifest

    ensure_dbt_manifest()
    from aios_assets.entities import assets as entities
    from resources.warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse()
    add_events(warehouse.path, small_business())
    result = dg.materialize(entities.dbt_project_assets,
                            resources={"dbt": entities.dbt_resource(), "warehouse": warehouse})
    assert result.success
    counts = {m.asset_key.to_user_string(): m.materialization.metadata.get("dagster/row_count")
              for m in result.get_asset_materialization_events()}

    # Same process, right after: a writer and the snapshot open the file without the
    # "different configuration" error a lingering dbt-duckdb handle would cause.
    with warehouse.connect() as con:
        con.execute("CREATE TABLE after_dbt AS SELECT 1 AS x")
    snap = duckdb.connect(str(warehouse.snapshot_path), read_only=True)
    try:
        kinds = dict(snap.execute("SELECT table_name, table_type FROM information_schema.tables"
                                  ).fetchall())
        real = {t: snap.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                for t in counts if kinds.get(t) == "BASE TABLE"}
        assert snap.execute("SELECT x FROM after_dbt").fetchone() == (1,)
    finally:
        snap.close()
    assert {"dim_contacts", "entity_membership", "fct_invoices", "snap_contacts"} <= set(real)
    for table, n in real.items():
        assert counts[table] is not None and counts[table].value == n, table
    assert real["dim_contacts"] > 0
    # Views are not counted (their queries can be costly): staging has no row count.
    assert counts["stg_crm__contacts"] is None and kinds["stg_crm__contacts"] == "VIEW"


def test_a_homes_second_build_skips_the_parse(aios_home):
    from aios_assets.entities.dbt_manifest import ensure_dbt_manifest

    ensure_dbt_manifest()
    from aios_assets.entities import assets as entities
    from resources.warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse()
    add_events(warehouse.path, small_business())
    resources = {"dbt": entities.dbt_resource(), "warehouse": warehouse}
    assert dg.materialize(entities.dbt_project_assets, resources=resources).success
    target = warehouse.layout.dbt_target
    parse = target / "partial_parse.msgpack"
    # a new home: the profile dbt renders is the project's, so `make venv`'s parse is reused;
    # dbt rewrites this file only when it parses (a changed profile: a whole new parse)
    assert parse.read_bytes() == (entities.DBT_TARGET_DIR / "partial_parse.msgpack").read_bytes()
    parsed_at = parse.stat().st_mtime_ns
    # no debug log and no JSON artifacts (QUIET_BUILD_FLAGS): dagster-dbt reads dbt's stdout
    assert not {"dbt.log", "manifest.json", "run_results.json"} & {p.name for p in target.iterdir()}
    # built into this home's warehouse, nothing in the project folder
    assert not list(entities.DBT_PROJECT_DIR.glob("*.duckdb"))
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM dim_contacts").fetchone()[0] > 0
    assert dg.materialize(entities.dbt_project_assets, resources=resources).success
    # the second build: the saved parse matches the project and this home's profile
    assert parse.stat().st_mtime_ns == parsed_at


def test_builds_skip_the_debug_log_and_json_artifacts_unless_asked():
    from aios_assets.entities.assets import dbt_global_flags

    assert dbt_global_flags({}) == ["--log-level-file", "none", "--no-write-json"]
    # dbt's own variables win: DBT_LOG_LEVEL_FILE=debug gives dbt.log back
    assert dbt_global_flags({"DBT_LOG_LEVEL_FILE": "debug"}) == ["--no-write-json"]
    assert dbt_global_flags({"DBT_WRITE_JSON": "true"}) == ["--log-level-file", "none"]


def test_the_step_names_the_warehouse_relative_to_the_home_only_under_aios_dbt(tmp_path):
    from aios_assets.entities.assets import dbt_step_env

    warehouse = tmp_path / "warehouse.duckdb"
    assert dbt_step_env(warehouse, "/venv/bin/aios-dbt") == {
        "AIOS_WAREHOUSE": "warehouse.duckdb", "AIOS_DBT_CWD": str(tmp_path)}
    # plain dbt runs in the project folder: the warehouse by its whole path
    assert dbt_step_env(warehouse, "/venv/bin/dbt") == {
        "AIOS_WAREHOUSE": str(warehouse), "AIOS_DBT_CWD": None}
    other = tmp_path / "elsewhere.duckdb"
    assert dbt_step_env(other, "/venv/bin/aios-dbt")["AIOS_WAREHOUSE"] == str(other)


def test_overrides_file_is_the_homes_unless_named_whole(tmp_path):
    from aios_assets.entities.resolution.overrides import overrides_file

    assert overrides_file(tmp_path) == tmp_path / "entity_overrides.yaml"
    assert overrides_file(tmp_path, "entity_overrides.yaml") == tmp_path / "entity_overrides.yaml"
    assert overrides_file(tmp_path, "conf/o.yaml") == tmp_path / "conf" / "o.yaml"
    assert overrides_file(tmp_path, "/etc/aios/o.yaml").as_posix() == "/etc/aios/o.yaml"
