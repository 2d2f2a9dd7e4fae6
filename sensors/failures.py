"""``run_failure_sensor``: a failed run opens an incident and notifies the operator once
(the incident, its runbook step and the claim-once notification:
``aios_assets/observability/incidents.py``)."""

from __future__ import annotations

import json

import dagster as dg

from aios_assets.observability.incidents import record_failure
from resources.postgres import PostgresStore


@dg.run_failure_sensor(
    name="run_failure_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A failed run opens an incident in aios.incidents (cause, runbook step) and "
                "notifies once through the webhook adapter ($AIOS_WEBHOOK_URL).",
)
def run_failure_sensor(context: dg.RunFailureSensorContext, postgres: PostgresStore) -> None:
    incident, opened, sent = record_failure(context, postgres)
    context.log.info(
        f"{'opened' if opened else 'already open'} incident {incident.incident_id} "
        f"({incident.cause}); notifications: {json.dumps(sent)}"
    )
