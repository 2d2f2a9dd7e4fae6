"""Ingest: files become events in the append-only event log (``ingest_files``), with its
checks, ``ingest_job`` and the ``inbox_sensor`` that feeds it."""

import dagster as dg

from aios_assets.ingest.assets import (
    event_ids_unique,
    event_versions_contiguous,
    ingest_files,
    ingest_job,
)
from aios_assets.shared.automation import in_domain
from sensors.inbox import inbox_sensor

defs = dg.Definitions(
    assets=in_domain("ingest", [ingest_files]),
    asset_checks=[event_ids_unique, event_versions_contiguous],
    jobs=[ingest_job],
    sensors=[inbox_sensor],
)
