"""Operating AIOS: freshness checks on what the operator relies on, and automation conditions
so that everything derived from the event log follows it without anyone running anything.

- Freshness: ``event_log`` (the inbox flow is alive), ``semantic_memory`` (recall is current),
  ``summaries`` (the nightly refresh ran) and ``cost_ledger`` (spend is mirrored) each warn when
  their last update is older than :data:`FRESHNESS_HOURS`; ``freshness_checks_sensor`` evaluates
  them every 10 minutes, so a stale asset shows in the UI without anyone running anything.
- Automation: the dbt models and snapshots (condition set by the dbt translator in
  ``aios_assets/entities/assets.py``), ``episodes``, ``working_memory``, ``semantic_memory``,
  ``entity_facts`` and ``policy_traces`` follow their inputs (:data:`FOLLOW_INPUTS`, ``eager``:
  after any upstream update, once nothing upstream is in progress), so an ``inbox_sensor``
  ingest (``ingest_job``: event log only) is followed by one run that refreshes the marts, the
  memory tiers and the embeddings. ``cost_ledger`` and ``proposal_decisions`` mirror their
  Postgres tables hourly (:data:`HOURLY_MIRROR`). Summaries and agents are heavier and run on
  the nightly precompute schedule (``aios_assets/definitions.py``).
  ``automation_condition_sensor`` evaluates them all.
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

LEDGER_CRON = "0 * * * *"

# Rebuild after any upstream update (once nothing upstream is missing or still running). A run
# that already rebuilt the asset after its inputs (ingest_and_update_job) leaves nothing to do.
FOLLOW_INPUTS: dg.AutomationCondition = dg.AutomationCondition.eager()

# Every hour, whatever its deps did: the ledger mirrors Postgres, and on_cron's "all deps
# updated since the tick" would wait for the agents it lists as deps.
HOURLY_MIRROR: dg.AutomationCondition = (
    dg.AutomationCondition.in_latest_time_window()
    & dg.AutomationCondition.cron_tick_passed(LEDGER_CRON, "UTC").since_last_handled()
    & ~dg.AutomationCondition.in_progress()
).with_label(f"hourly_mirror({LEDGER_CRON}, UTC)")

# Asset -> the automation condition it gets (dbt models get FOLLOW_INPUTS from the translator).
AUTOMATION: dict[str, dg.AutomationCondition] = {
    "episodes": FOLLOW_INPUTS,
    "working_memory": FOLLOW_INPUTS,
    "semantic_memory": FOLLOW_INPUTS,
    "entity_facts": FOLLOW_INPUTS,
    "policy_traces": FOLLOW_INPUTS,
    "cost_ledger": HOURLY_MIRROR,
    "proposal_decisions": HOURLY_MIRROR,
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
# It targets every asset (those without a condition are skipped), so the dbt models and any
# condition added later are evaluated too.
automation_condition_sensor = dg.AutomationConditionSensorDefinition(
    "automation_condition_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Evaluates every asset's automation condition "
                "(aios_assets/observability/operations.py: the dbt models and memory tiers "
                "follow the event log, the cost ledger is hourly).",
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
