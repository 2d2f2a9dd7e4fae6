"""dbt assets carry row counts: one DuckDB count query after the build, under the warehouse
write lock, equal to the tables' real counts; no DuckDB handle lingers (the snapshot and the
next writer in the same process still work). dbt's artifacts stay in the home, and the home's
second build reuses the first one's parse."""

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
    assert (target / "run_results.json").exists() and (target / "partial_parse.msgpack").exists()
    log = target / "dbt.log"
    first = log.read_text()
    assert dg.materialize(entities.dbt_project_assets, resources=resources).success
    second = log.read_text()[len(first):]
    assert "Running with dbt" in second
    # dbt's own words when the saved parse matches the project and this home's profile
    assert "Nothing changed, skipping partial parsing" in second, second[:2000]
