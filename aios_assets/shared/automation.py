"""The automation conditions assets declare where they are defined, and their owner and domain tag.

``automation_condition_sensor`` (``sensors/automation.py``) evaluates them: an ingest by
``inbox_sensor`` (event log only) is followed by one run that refreshes the marts, the memory
tiers and the embeddings; the Postgres mirrors refresh hourly.
"""

from __future__ import annotations

import dagster as dg

LEDGER_CRON = "0 * * * *"

# Rebuild after any upstream update (once nothing upstream is missing or still running). A run
# that already rebuilt the asset after its inputs (ingest_and_update_job) leaves nothing to do.
# The dbt models, episodes, working memory, semantic memory, entity facts and policy traces.
FOLLOW_INPUTS: dg.AutomationCondition = dg.AutomationCondition.eager()

# Every hour, whatever its deps did: the mirrors of Postgres tables (cost ledger, decisions).
# on_cron's "all deps updated since the tick" would wait for the agents the ledger lists as deps.
HOURLY_MIRROR: dg.AutomationCondition = (
    dg.AutomationCondition.in_latest_time_window()
    & dg.AutomationCondition.cron_tick_passed(LEDGER_CRON, "UTC").since_last_handled()
    & ~dg.AutomationCondition.in_progress()
).with_label(f"hourly_mirror({LEDGER_CRON}, UTC)")


# Who answers for an asset: the operator (a one-person company has one owner); the domain tag
# says which package under aios_assets/ defines it (filter the catalog by `domain`).
OWNER = "team:operator"


def in_domain(domain: str, assets: list) -> list:
    """``assets`` (AssetsDefinitions, dbt's included) with the operator as owner and the tag
    ``domain``, set where each domain's Definitions are built."""
    return list(dg.map_asset_specs(
        lambda spec: spec.replace_attributes(
            owners=[OWNER], tags={**spec.tags, "domain": domain}),
        assets,
    ))
