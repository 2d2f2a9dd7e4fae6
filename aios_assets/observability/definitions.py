"""Observability: the cost ledger (LLM and adapter spend), freshness checks, incidents from
failed runs (``run_failure_sensor``) and the sensor that evaluates every automation
condition."""

import dagster as dg

from aios_assets.observability.costs import cost_ledger
from aios_assets.observability.freshness import FRESHNESS_CHECKS
from aios_assets.shared.automation import in_domain
from sensors.automation import automation_condition_sensor
from sensors.failures import run_failure_sensor
from sensors.freshness import freshness_checks_sensor

defs = dg.Definitions(
    assets=in_domain("observability", [cost_ledger]),
    asset_checks=FRESHNESS_CHECKS,
    sensors=[run_failure_sensor, freshness_checks_sensor, automation_condition_sensor],
)
