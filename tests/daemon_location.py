"""A small code location for the daemon test: the project's own ingest job and asset, without
the project's sensors and schedules (which the daemon would otherwise start running)."""

import dagster as dg

from aios_assets.ingest.assets import event_ids_unique, ingest_files, ingest_job
from resources.warehouse import DuckDBWarehouse

defs = dg.Definitions(
    assets=[ingest_files],
    asset_checks=[event_ids_unique],
    jobs=[ingest_job],
    resources={"warehouse": DuckDBWarehouse(),
               "ingest_observer": dg.ResourceDefinition.none_resource()},
)
