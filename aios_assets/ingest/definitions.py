"""Ingest: files become events in the append-only event log (``ingest_files``), with its
checks, ``ingest_job``, the ``inbox_sensor`` that feeds it from the drop folder, the
``imap_inbox_sensor`` that feeds it from the operator's mailbox (resource ``imap``) and the
``caldav_calendar_sensor`` that feeds it from the operator's calendars (resource ``caldav``)."""

from typing import Any

import dagster as dg

from aios_assets.ingest.assets import (
    event_ids_unique,
    event_versions_contiguous,
    ingest_files,
    ingest_job,
)
from aios_assets.ingest.caldav import calendar_from_env
from aios_assets.ingest.imap import mailbox_from_env
from aios_assets.shared.automation import in_domain
from resources.warehouse import DuckDBWarehouse
from sensors.caldav import caldav_calendar_sensor
from sensors.imap import imap_inbox_sensor
from sensors.inbox import inbox_sensor

defs = dg.Definitions(
    assets=in_domain("ingest", [ingest_files]),
    asset_checks=[event_ids_unique, event_versions_contiguous],
    jobs=[ingest_job],
    sensors=[inbox_sensor, imap_inbox_sensor, caldav_calendar_sensor],
    # From $AIOS_IMAP_* / $AIOS_CALDAV_* when the code loads; the passwords stay EnvVars
    # (masked in the UI).
    resources={"imap": mailbox_from_env(), "caldav": calendar_from_env()},
)


def job_resources() -> dict[str, Any]:
    """The resources ``ingest_job`` needs besides its sensors' (the top-level Definitions
    passes these too, for the whole pipeline)."""
    return {
        "warehouse": DuckDBWarehouse(),
        "ingest_observer": dg.ResourceDefinition.none_resource(
            description="Progress hook the CLI sets; unused in the UI."
        ),
    }


def ingest_job_definitions() -> dg.Definitions:
    """``ingest_job`` with its resources and nothing else: what ``aios ingest
    --no-materialize`` loads. The whole Definitions also imports dbt, the agents and memory,
    about 2 CPU-s of start-up this job never uses (the event log's freshness check, in the
    observability domain, then runs on its own schedule rather than in this run)."""
    return dg.Definitions.merge(defs, dg.Definitions(resources=job_resources()))
