"""``freshness_checks_sensor``: evaluates the freshness checks every 10 minutes
(``aios_assets/observability/freshness.py``)."""

from __future__ import annotations

import warnings

import dagster as dg

from aios_assets.observability.freshness import FRESHNESS_CHECKS

with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.SupersessionWarning)
    freshness_checks_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=FRESHNESS_CHECKS,
        name="freshness_checks_sensor",
        minimum_interval_seconds=600,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
