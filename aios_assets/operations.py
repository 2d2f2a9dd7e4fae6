"""Operating AIOS: freshness checks on what the operator relies on, and automation conditions
for assets that should simply follow their inputs.

- Freshness: ``event_log`` (the inbox flow is alive), ``semantic_memory`` (recall is current),
  ``summaries`` (the nightly refresh ran) and ``cost_ledger`` (spend is mirrored) each warn when
  their last update is older than :data:`FRESHNESS_HOURS`; ``freshness_checks_sensor`` evaluates
  them every 10 minutes, so a stale asset shows in the UI without anyone running anything.
- Automation: ``episodes`` and ``working_memory`` follow their inputs (``eager``: after any
  upstream update, once the upstream is not in progress); ``cost_ledger`` mirrors
  ``aios.llm_calls`` hourly (``on_cron``). Dagster's automation condition sensor evaluates them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import timedelta

import dagster as dg

# Asset -> hours after its last update that it counts as stale. Summaries refresh nightly
# (02:30 UTC) and the ledger hourly, so each bound leaves one missed cycle of slack.
FRESHNESS_HOURS: dict[str, float] = {
    "event_log": 26,
    "semantic_memory": 26,
    "summaries": 26,
    "cost_ledger": 3,
}

# Asset -> the automation condition it gets (see the module docstring).
AUTOMATION: dict[str, dg.AutomationCondition] = {
    "episodes": dg.AutomationCondition.eager(),
    "working_memory": dg.AutomationCondition.eager(),
    "cost_ledger": dg.AutomationCondition.on_cron("0 * * * *", cron_timezone="UTC"),
}


def build_freshness_checks() -> list[dg.AssetChecksDefinition]:
    """One last-update freshness check (severity WARN) per asset in FRESHNESS_HOURS."""
    checks: list[dg.AssetChecksDefinition] = []
    # Dagster 1.13 marks these "superseded" by FreshnessPolicy objects, which are still a
    # preview that needs `freshness: enabled` in every instance's dagster.yaml; the checks
    # are stable, show in each asset's Checks tab and need only the sensor below.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        for key, hours in FRESHNESS_HOURS.items():
            checks.extend(dg.build_last_update_freshness_checks(
                assets=[key], lower_bound_delta=timedelta(hours=hours),
            ))
    return checks


FRESHNESS_CHECKS = build_freshness_checks()

with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.SupersessionWarning)
    freshness_checks_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=FRESHNESS_CHECKS,
        name="freshness_checks_sensor",
        minimum_interval_seconds=600,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )

# Dagster's implicit automation sensor starts STOPPED; this one runs as soon as the daemon does.
automation_condition_sensor = dg.AutomationConditionSensorDefinition(
    "automation_condition_sensor",
    target=dg.AssetSelection.assets(*AUTOMATION),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Evaluates the automation conditions of aios_assets/operations.py::AUTOMATION.",
)


def with_automation(assets: Sequence[dg.AssetsDefinition],
                    conditions: dict[str, dg.AutomationCondition] | None = None,
                    ) -> list[dg.AssetsDefinition]:
    """The same assets, with an automation condition on each key named in ``conditions``."""
    wanted = AUTOMATION if conditions is None else conditions

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        condition = wanted.get(spec.key.to_user_string())
        return spec.replace_attributes(automation_condition=condition) if condition else spec

    return list(dg.map_asset_specs(apply, list(assets)))
