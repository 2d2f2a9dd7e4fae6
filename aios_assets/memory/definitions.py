"""Memory: episodes, working memory, entity facts, policy traces, semantic memory (the recall
index), summaries with their blocking fidelity check (and the sensor that fills the backlog
a pipeline run leaves with an LLM endpoint), and the weekly cold archive."""

import dagster as dg

from aios_assets.memory.curation import CURATION_ASSETS
from aios_assets.memory.episodic import EPISODIC_ASSETS, EPISODIC_CHECKS
from aios_assets.memory.facts import FACTS_ASSETS, FACTS_CHECKS
from aios_assets.memory.policy_traces import POLICY_ASSETS, POLICY_CHECKS
from aios_assets.memory.semantic import SEMANTIC_ASSETS
from aios_assets.memory.summaries import (
    SUMMARY_ASSETS,
    SUMMARY_CHECKS,
    curation_job,
    summaries_backfill_job,
    summaries_job,
)
from aios_assets.memory.working import WORKING_ASSETS, WORKING_CHECKS
from aios_assets.shared.automation import in_domain
from sensors.summaries import summaries_backfill_sensor

memory_curation_schedule = dg.ScheduleDefinition(
    name="memory_curation_schedule",
    job=curation_job,
    cron_schedule="0 4 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays 04:00 UTC: summaries and their blocking fidelity check, then the "
                "cold archive.",
)

defs = dg.Definitions(
    assets=in_domain("memory", [
        *EPISODIC_ASSETS, *WORKING_ASSETS, *FACTS_ASSETS, *POLICY_ASSETS, *SEMANTIC_ASSETS,
        *SUMMARY_ASSETS, *CURATION_ASSETS]),
    asset_checks=[*EPISODIC_CHECKS, *WORKING_CHECKS, *FACTS_CHECKS, *POLICY_CHECKS,
                  *SUMMARY_CHECKS],
    jobs=[summaries_job, summaries_backfill_job, curation_job],
    schedules=[memory_curation_schedule],
    sensors=[summaries_backfill_sensor],
)
