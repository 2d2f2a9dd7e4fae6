"""When the agents run on their own (besides after every ingest, as downstream assets).

* ``triage_hourly_schedule``: the planner, the triage agent and the merge into
  ``action_proposals``, hourly (the ``inbox_triage`` intent's cadence).
* every agent, the canaries and the daily brief also run nightly in
  ``nightly_precompute_schedule`` (``aios_assets/definitions.py``, 02:30 UTC), after the marts,
  the memory tiers and the summaries they read, in one run ordered by lineage, so the brief
  and the day's follow-ups and reminders are waiting when the operator starts.

They only write proposals (agents never act); ``publish_schedule`` and ``approvals_sensor``
publish. A rerun inside a plan window whose step already succeeded does nothing, so the
schedules are cheap when nothing changed. ``plans_sensor`` (``sensors/plans.py``) re-runs the
steps of plans that got stuck between schedules.
"""

import dagster as dg

from aios_assets.agents.assets import AGENT_KEYS, PLANS_KEY, PROPOSALS_KEY

triage_job = dg.define_asset_job(
    "triage_job",
    selection=dg.AssetSelection.assets(PLANS_KEY, AGENT_KEYS["triage"], PROPOSALS_KEY),
    description="Plan, run the triage agent on unanswered inbound mail, merge its proposals.",
)

triage_hourly_schedule = dg.ScheduleDefinition(
    name="triage_hourly_schedule",
    job=triage_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly at :05 UTC: triage unanswered inbound mail into proposals.",
)

AGENT_JOBS = [triage_job]
AGENT_SCHEDULES = [triage_hourly_schedule]
