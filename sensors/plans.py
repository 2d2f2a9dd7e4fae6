"""``plans_sensor``: stuck plans, approve-first proposals about to expire, unsent incidents
(what it checks and sends: ``aios_assets/observability/notices.py``)."""

from __future__ import annotations

import dagster as dg

from aios_assets.agents.assets import agents_job
from aios_assets.observability.notices import evaluate_plans
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse


@dg.sensor(
    name="plans_sensor",
    job=agents_job,
    minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every 10 min: stuck plans (expired lease, past deadline or expiry) start an "
                "agents_job run that settles them; stuck plans and approve-first proposals "
                "expiring within 4 h notify the operator once (aios.notices, webhook); failed "
                "incident notifications are retried.",
)
def plans_sensor(context: dg.SensorEvaluationContext, postgres: PostgresStore,
                 warehouse: DuckDBWarehouse) -> dg.SensorResult | dg.SkipReason:
    return evaluate_plans(postgres, warehouse, context.cursor, context.log)
