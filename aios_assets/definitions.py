"""The one Dagster ``Definitions`` of AIOS (``workspace.yaml`` points here).

Each domain package has its own ``definitions.py`` (assets, checks, jobs, schedules and the
sensors that drive them); this module merges them with ``dg.Definitions.merge`` and adds what
spans domains: the jobs that run the whole pipeline, the nightly schedule, and the resources.

Nothing here touches the disk, the network or dbt at import: resources resolve AIOS_HOME when
a run uses them.
"""

from __future__ import annotations

import dagster as dg

from aios_assets.agents import definitions as agents
from aios_assets.entities import definitions as entities
from aios_assets.entities.assets import dbt_resource
from aios_assets.ingest import definitions as ingest
from aios_assets.memory import definitions as memory
from aios_assets.memory.curation import CURATION_ASSETS
from aios_assets.observability import definitions as observability
from aios_assets.publishing import definitions as publishing
from aios_assets.publishing.adapters.resource import AdaptersResource
from aios_assets.publishing.assets import PUBLISHED_ASSET
from resources.embeddings import EmbeddingsResource
from resources.llm import LLMResource
from resources.postgres import PostgresStore

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

# Only `defs` may be a Definitions object at module scope (Dagster loads the one it finds).
defs = dg.Definitions.merge(
    ingest.defs, entities.defs, memory.defs, agents.defs, publishing.defs, observability.defs,
    dg.Definitions(
        jobs=[ingest_and_update_job, nightly_precompute_job],
        schedules=[nightly_precompute_schedule],
        resources={
            **ingest.job_resources(),
            "postgres": PostgresStore(),
            "dbt": dbt_resource(),
            "llm": LLMResource(),
            "embeddings": EmbeddingsResource(),
            "adapters": AdaptersResource(),
        },
    ),
)
