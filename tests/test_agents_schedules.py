"""Schedules of issue 5: hourly triage, publishing every 15 minutes, and every agent nightly
(inside nightly_precompute_schedule); each runs the job it names over the assets it should,
and a tick asks for one run."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

EXPECTED = {
    # name: (job, cron, assets the job materializes)
    "triage_hourly_schedule": ("triage_job", "5 * * * *",
                               {"agent_plans", "agent_triage", "action_proposals"}),
    "publish_schedule": ("publish_job", "*/15 * * * *",
                         {"proposal_gate_results", "published_actions"}),
}


def test_issue5_schedules_are_wired_to_their_jobs():
    from aios_assets.definitions import defs

    schedules = {s.name: s for s in defs.schedules}
    for name, (job_name, cron, assets) in EXPECTED.items():
        schedule = schedules[name]
        assert (schedule.job_name, schedule.cron_schedule) == (job_name, cron), name
        assert schedule.execution_timezone == "UTC"
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
        job = defs.resolve_job_def(job_name)
        selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
        assert selected == assets, name
        with dg.build_schedule_context(
                scheduled_execution_time=datetime(2026, 6, 3, 5, tzinfo=UTC)) as ctx:
            requests = schedule.evaluate_tick(ctx).run_requests
        assert requests is not None and len(requests) == 1
    # every agent, the canaries and the brief run nightly, after the summaries they read
    nightly = defs.resolve_job_def(schedules["nightly_precompute_schedule"].job_name)
    selected = {k.to_user_string() for k in nightly.asset_layer.selected_asset_keys}
    assert {"agent_plans", "agent_triage", "agent_followup", "agent_billing", "agent_content",
            "agent_brief", "agent_canary", "action_proposals", "summaries"} <= selected
    assert "agents_nightly_schedule" not in schedules  # superseded: one nightly run, in order
    # the outbox can be reconciled on its own from the launchpad
    assert defs.resolve_job_def("reconcile_job").name == "reconcile_job"
