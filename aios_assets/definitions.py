"""The one Dagster ``Definitions`` of AIOS (``workspace.yaml`` points here).

Nothing here touches the disk, the network or dbt at import: resources resolve AIOS_HOME when
a run uses them.
"""

from __future__ import annotations

import dagster as dg

from aios_assets.entities import dbt_project_assets, dbt_resource
from aios_assets.ingest.assets import (
    event_ids_unique,
    event_versions_contiguous,
    ingest_files,
    ingest_job,
)
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse
from sensors.inbox import inbox_sensor

ingest_and_update_job = dg.define_asset_job(
    "ingest_and_update_job",
    selection=dg.AssetSelection.assets("event_log", "quarantine").downstream(),
    description="Ingest files, then update everything downstream (memory, entities).",
)

defs = dg.Definitions(
    assets=[ingest_files, *dbt_project_assets],
    asset_checks=[event_ids_unique, event_versions_contiguous],
    jobs=[ingest_job, ingest_and_update_job],
    sensors=[inbox_sensor],
    resources={
        "warehouse": DuckDBWarehouse(),
        "postgres": PostgresStore(),
        "dbt": dbt_resource(),
        "ingest_observer": dg.ResourceDefinition.none_resource(
            description="Progress hook the CLI sets; unused in the UI."
        ),
    },
)
