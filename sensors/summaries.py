"""``summaries_backfill_sensor``: after a pipeline run that wrote only the current week's
summaries (an LLM endpoint, scope ``priority``), start ``summaries_backfill_job`` to write the
rest (the logic: ``aios_assets.memory.summaries.evaluate_backfill``)."""

import dagster as dg

from aios_assets.memory.summaries import evaluate_backfill, summaries_backfill_job


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
    decision, cursor = evaluate_backfill(context.instance, context.cursor)
    if cursor is not None and cursor != context.cursor:
        context.update_cursor(cursor)
    return decision
