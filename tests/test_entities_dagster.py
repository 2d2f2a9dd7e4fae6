"""The dbt project as Dagster assets: keys, group, lineage from event_log, checks, a real run."""

from __future__ import annotations

import dagster as dg
import pytest
from entity_fixtures import add_events, small_business


@pytest.fixture(scope="module")
def entities():
    from aios_assets.entities.dbt_manifest import ensure_dbt_manifest

    ensure_dbt_manifest()  # before the import, as the CLI does: the assets see the manifest
    from aios_assets.entities import assets as entities

    return entities


def test_assets_group_lineage_and_checks(entities):
    (assets,) = entities.dbt_project_assets
    keys = {k.to_user_string() for k in assets.keys}
    assert {"stg_crm__contacts", "int_entity_membership", "entity_membership", "dim_contacts",
            "dim_organizations", "dim_products", "dim_projects", "fct_interactions",
            "fct_invoices", "fct_content_performance", "snap_contacts"} <= keys
    assert {spec.group_name for spec in assets.specs} == {"entities"}
    external = {k for k in assets.dependency_keys if k not in assets.keys}
    assert external == {dg.AssetKey("event_log")}
    assert dg.AssetKey("event_log") in {
        d.asset_key for d in assets.specs_by_key[dg.AssetKey("stg_crm__contacts")].deps}
    check_targets = {c.asset_key.to_user_string() for c in assets.check_specs}
    assert {"entity_membership", "dim_contacts", "fct_invoices"} <= check_targets
    assert assets.op.pool == "warehouse"


def test_manifest_helpers(entities, monkeypatch, tmp_path):
    from aios_assets.entities import dbt_manifest

    assert entities.ensure_dbt_manifest() == entities.MANIFEST_PATH
    assert not entities.manifest_is_stale()
    monkeypatch.setattr(dbt_manifest, "MANIFEST_PATH", tmp_path / "missing.json")
    assert entities.manifest_is_stale()
    monkeypatch.setattr(entities, "MANIFEST_PATH", tmp_path / "missing.json")
    assert entities._build_assets() == []  # definitions still load without a manifest


def test_materialize_under_the_warehouse_lock(entities, aios_home):
    from resources.warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse()
    add_events(warehouse.path, small_business())
    result = dg.materialize(
        entities.dbt_project_assets,
        resources={"dbt": entities.dbt_resource(), "warehouse": warehouse},
    )
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    # the read-only snapshot was published when the write session ended
    con = warehouse.read()
    try:
        assert con.execute("select count(*) from entity_membership").fetchone()[0] > 0
    finally:
        con.close()
