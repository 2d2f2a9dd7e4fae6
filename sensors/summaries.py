"""``summaries_backfill_sensor``: after a pipeline run that wrote only the current week's
summaries (an LLM endpoint, scope ``priority``), start ``summaries_backfill_job`` to write the
rest (the decision: ``aios_assets.memory.summaries.plan_backfill``)."""

import dagster as dg

from aios_assets.memory.summaries import BACKLOG_KEY, plan_backfill, summaries_backfill_job

# a run of these statuses holds or will hold the backfill: no second one is requested
PENDING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
           dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def latest_backlog(instance: dg.DagsterInstance) -> tuple[int | None, str | None]:
    """(backlog, run id) of the latest ``summaries`` materialization; (None, None) if none."""
    entry = instance.get_latest_materialization_event(dg.AssetKey("summaries"))
    if entry is None or entry.asset_materialization is None:
        return None, None
    value = entry.asset_materialization.metadata.get(BACKLOG_KEY)
    backlog = getattr(value, "value", value)
    return (backlog if isinstance(backlog, int) else None), entry.run_id


@dg.sensor(
    name="summaries_backfill_sensor",
    job=summaries_backfill_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts summaries_backfill_job when the latest summaries materialization left "
                "a backlog (older summaries not yet written with the LLM), its run has "
                "finished and no backfill is queued or running; once per materialization (the "
                "cursor is its run id).",
)
def summaries_backfill_sensor(context: dg.SensorEvaluationContext) -> (
        dg.RunRequest | dg.SkipReason):
    instance = context.instance
    backlog, run_id = latest_backlog(instance)
    producer = instance.get_run_by_id(run_id) if run_id else None
    running = bool(instance.get_run_ids(
        filters=dg.RunsFilter(job_name=summaries_backfill_job.name, statuses=PENDING), limit=1))
    decision, cursor = plan_backfill(backlog, run_id, producer is None or producer.is_finished,
                                     running, context.cursor)
    if cursor != context.cursor and cursor is not None:
        context.update_cursor(cursor)
    return decision
