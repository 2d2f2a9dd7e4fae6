"""Agents: the planner, the agents that propose actions, their canaries and output checks, the
merge into ``action_proposals``, the hourly triage schedule and ``plans_sensor``."""

import dagster as dg

from aios_assets.agents.assets import AGENT_ASSETS, AGENT_CHECKS, agents_job
from aios_assets.agents.schedules import AGENT_JOBS, AGENT_SCHEDULES
from aios_assets.shared.automation import in_domain
from sensors.plans import plans_sensor

defs = dg.Definitions(
    assets=in_domain("agents", AGENT_ASSETS),
    asset_checks=AGENT_CHECKS,
    jobs=[agents_job, *AGENT_JOBS],
    schedules=AGENT_SCHEDULES,
    sensors=[plans_sensor],
)
