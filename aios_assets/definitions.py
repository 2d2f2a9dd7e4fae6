"""The one Dagster ``Definitions`` of AIOS (``workspace.yaml`` points here).

Nothing here touches the disk, the network or dbt at import: resources resolve AIOS_HOME when
a run uses them.
"""

from __future__ import annotations

import dagster as dg

from aios_assets.agents.assets import AGENT_ASSETS, AGENT_CHECKS, agents_job
from aios_assets.agents.schedules import AGENT_JOBS, AGENT_SCHEDULES
from aios_assets.entities.assets import dbt_project_assets, dbt_resource
from aios_assets.ingest.assets import (
    event_ids_unique,
    event_versions_contiguous,
    ingest_files,
    ingest_job,
)
from aios_assets.memory.curation import CURATION_ASSETS, curation_job
from aios_assets.memory.episodic import EPISODIC_ASSETS, EPISODIC_CHECKS
from aios_assets.memory.facts import FACTS_ASSETS, FACTS_CHECKS
from aios_assets.memory.policy_traces import POLICY_ASSETS, POLICY_CHECKS
from aios_assets.memory.semantic import SEMANTIC_ASSETS
from aios_assets.memory.summaries import SUMMARY_ASSETS, SUMMARY_CHECKS, summaries_job
from aios_assets.memory.working import WORKING_ASSETS, WORKING_CHECKS
from aios_assets.observability.costs import cost_ledger
from aios_assets.observability.operations import (
    FRESHNESS_CHECKS,
    automation_condition_sensor,
    freshness_checks_sensor,
    with_automation,
)
from aios_assets.publishing.assets import (
    PUBLISHED_ASSET,
    PUBLISHING_ASSETS,
    PUBLISHING_JOBS,
    PUBLISHING_SCHEDULES,
)
from aios_assets.publishing.decision_mirror import DECISION_ASSETS
from resources.embeddings import EmbeddingsResource
from resources.llm import LLMResource
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse
from sensors.approvals import approvals_sensor
from sensors.failures import run_failure_sensor
from sensors.inbox import inbox_sensor
from sensors.plans import plans_sensor

MEMORY_ASSETS = [
    *EPISODIC_ASSETS, *WORKING_ASSETS, *FACTS_ASSETS, *POLICY_ASSETS, *SEMANTIC_ASSETS,
    *SUMMARY_ASSETS,
]
MEMORY_CHECKS = [
    *EPISODIC_CHECKS, *WORKING_CHECKS, *FACTS_CHECKS, *POLICY_CHECKS, *SUMMARY_CHECKS,
]
# Memory tiers that follow the event log (eager); see aios_assets/observability/operations.py.
MEMORY_ASSETS = with_automation(MEMORY_ASSETS)

# Everything the pipeline derives from the event log: entities (dbt), memory tiers and their
# embeddings, summaries, agents and their gates, and the cost ledger (it follows the agents).
# Curation archives on its own weekly schedule, never as a side effect of an ingest or a
# nightly run; publishing has its own job (publish_job: approvals_sensor, `aios publish`).
DERIVED_SELECTION = (
    dg.AssetSelection.assets("event_log", "quarantine").downstream(include_self=False)
    - dg.AssetSelection.assets(*[a.key for a in CURATION_ASSETS])
    - dg.AssetSelection.assets(PUBLISHED_ASSET)
)

ingest_and_update_job = dg.define_asset_job(
    "ingest_and_update_job",
    selection=dg.AssetSelection.assets("event_log", "quarantine") | DERIVED_SELECTION,
    description="Ingest files, then update everything downstream (entities, memory, "
                "summaries, agents' proposals and their gates, the cost ledger).",
)

nightly_precompute_job = dg.define_asset_job(
    "nightly_precompute_job",
    selection=DERIVED_SELECTION,
    description="Rebuild what is derived from the event log, in lineage order: marts (dbt) -> "
                "memory tiers incl. semantic_memory embeddings -> summaries -> the agents' "
                "drafts and the daily brief -> gates -> cost ledger. Nothing is ingested.",
)

nightly_precompute_schedule = dg.ScheduleDefinition(
    name="nightly_precompute_schedule",
    job=nightly_precompute_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:30 UTC: marts, memory (embeddings), summaries, agents' drafts and the "
                "brief, so everything is ready before the operator starts.",
)
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
    assets=[ingest_files, *dbt_project_assets, *MEMORY_ASSETS, *CURATION_ASSETS,
            *with_automation([cost_ledger, *DECISION_ASSETS]),
            *PUBLISHING_ASSETS, *AGENT_ASSETS],
    asset_checks=[event_ids_unique, event_versions_contiguous, *MEMORY_CHECKS, *AGENT_CHECKS,
                  *FRESHNESS_CHECKS],
    jobs=[ingest_job, ingest_and_update_job, nightly_precompute_job, summaries_job,
          curation_job, *PUBLISHING_JOBS, agents_job, *AGENT_JOBS],
    schedules=[nightly_precompute_schedule, memory_curation_schedule, *PUBLISHING_SCHEDULES,
               *AGENT_SCHEDULES],
    sensors=[inbox_sensor, approvals_sensor, run_failure_sensor, plans_sensor,
             freshness_checks_sensor, automation_condition_sensor],
    resources={
        "warehouse": DuckDBWarehouse(),
        "postgres": PostgresStore(),
        "dbt": dbt_resource(),
        "llm": LLMResource(),
        "embeddings": EmbeddingsResource(),
        "ingest_observer": dg.ResourceDefinition.none_resource(
            description="Progress hook the CLI sets; unused in the UI."
        ),
    },
)
