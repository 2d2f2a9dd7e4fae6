"""Approvals and publishing: the gates (``proposal_gate_results``), the operator's decisions
(mirrored as ``proposal_decisions``), the exactly-once outbox (``published_actions``), their
jobs, ``publish_schedule`` and the ``approvals_sensor`` that publishes what was approved."""

import dagster as dg

from aios_assets.publishing.assets import (
    PUBLISHING_ASSETS,
    PUBLISHING_JOBS,
    PUBLISHING_SCHEDULES,
)
from aios_assets.publishing.decision_mirror import DECISION_ASSETS
from aios_assets.shared.automation import in_domain
from sensors.approvals import approvals_sensor

defs = dg.Definitions(
    assets=in_domain("publishing", [*PUBLISHING_ASSETS, *DECISION_ASSETS]),
    jobs=PUBLISHING_JOBS,
    schedules=PUBLISHING_SCHEDULES,
    sensors=[approvals_sensor],
)
