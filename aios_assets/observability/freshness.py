"""Freshness checks on what the operator relies on.

``event_log`` (the inbox flow is alive), ``semantic_memory`` (recall is current), ``summaries``
(the nightly refresh ran) and ``cost_ledger`` (spend is mirrored) each warn when their last
update is older than :data:`FRESHNESS_HOURS`; ``freshness_checks_sensor``
(``sensors/freshness.py``) evaluates them every 10 minutes, so a stale asset shows in the UI
without anyone running anything.
"""

from __future__ import annotations

import warnings
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


def build_freshness_checks() -> list[dg.AssetChecksDefinition]:
    """One last-update freshness check (severity WARN) per asset in FRESHNESS_HOURS."""
    checks: list[dg.AssetChecksDefinition] = []
    # Dagster 1.13 marks these "superseded" by FreshnessPolicy objects, which are still a
    # preview that needs `freshness: enabled` in every instance's dagster.yaml; the checks
    # are stable, show in each asset's Checks tab and need only the sensor.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        for key, hours in FRESHNESS_HOURS.items():
            checks.extend(dg.build_last_update_freshness_checks(
                assets=[key], lower_bound_delta=timedelta(hours=hours),
            ))
    return checks


FRESHNESS_CHECKS = build_freshness_checks()
