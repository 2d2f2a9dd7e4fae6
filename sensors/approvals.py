"""``approvals_sensor``: new approvals (CLI or launchpad) start ``publish_job``."""


import dagster as dg

from aios_assets.publishing.decisions import Decision, all_decisions
from resources.postgres import PostgresStore, PostgresUnavailable


def plan_publish_run(decisions: list[Decision], cursor: str | None) -> tuple[
        dg.RunRequest | None, str]:
    """A publish run request when a decision after the cursor approves something; the new
    cursor is the highest decision ``seq`` seen (rejections only move the cursor)."""
    last = int(cursor) if cursor else 0
    new = [d for d in decisions if d.seq > last]
    if not new:
        return None, str(last)
    top = max(d.seq for d in new)
    approved = sorted({d.proposal_id for d in new if d.decision == "approved"})
    if not approved:
        return None, str(top)
    return dg.RunRequest(
        run_key=f"approvals-upto-{top}",
        tags={"aios/trigger": "approvals", "aios/approved": str(len(approved))},
    ), str(top)


@dg.sensor(
    job_name="publish_job",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts publish_job when the operator approves proposals (aios approve or "
                "approval_job); the cursor is the last decision seen.",
)
def approvals_sensor(context: dg.SensorEvaluationContext, postgres: PostgresStore):
    last = int(context.cursor) if context.cursor else 0
    try:
        decisions = all_decisions(postgres, after_seq=last)
    except PostgresUnavailable as exc:
        return dg.SkipReason(f"Postgres unavailable: {exc}")
    request, cursor = plan_publish_run(decisions, context.cursor)
    context.update_cursor(cursor)
    if request is None:
        return dg.SkipReason("no new approvals")
    return request
