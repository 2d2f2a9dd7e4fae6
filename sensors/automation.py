"""``automation_condition_sensor``: evaluates every asset's automation condition.

Dagster's implicit automation sensor starts STOPPED; this one runs as soon as the daemon does.
It targets every asset (those without a condition are skipped), so the dbt models and any
condition added later are evaluated too. The conditions sit on the assets
(``aios_assets/shared/automation.py``: ``FOLLOW_INPUTS``, ``HOURLY_MIRROR``).
"""

from __future__ import annotations

import dagster as dg

automation_condition_sensor = dg.AutomationConditionSensorDefinition(
    "automation_condition_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Evaluates every asset's automation condition (set where each asset is "
                "defined: the dbt models and memory tiers follow the event log, the cost "
                "ledger and the decisions mirror are hourly).",
)
