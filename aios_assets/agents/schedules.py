"""When the agents run on their own (besides after every ingest, as downstream assets).

* ``triage_hourly_schedule``: the planner, the triage agent and the merge into
  ``action_proposals``, hourly (the ``inbox_triage`` intent's cadence).
* ``agents_nightly_schedule``: ``agents_job`` (planner, every agent, canaries, merge) at
  05:00 UTC, after the nightly summaries (02:30), so the daily brief and the day's follow-ups
  and reminders are waiting when the operator starts.

Both only write proposals (agents never act); ``publish_schedule`` and ``approvals_sensor``
publish. A rerun inside a plan window whose step already succeeded does nothing, so the
schedules are cheap when nothing changed.
"""

import dagster as dg

from aios_assets.agents.assets import AGENT_KEYS, PLANS_KEY, PROPOSALS_KEY, agents_job

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

agents_nightly_schedule = dg.ScheduleDefinition(
    name="agents_nightly_schedule",
    job=agents_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="05:00 UTC: precompute every agent's proposals (brief, follow-ups, billing, "
                "content, triage) and the canary diff, after the nightly summaries.",
)

AGENT_JOBS = [triage_job]
AGENT_SCHEDULES = [triage_hourly_schedule, agents_nightly_schedule]
