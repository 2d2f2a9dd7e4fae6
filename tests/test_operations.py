"""Freshness checks on the assets the operator relies on; automation that follows inputs."""

from __future__ import annotations

import dagster as dg
import pytest

from aios_assets.observability.freshness import FRESHNESS_CHECKS, FRESHNESS_HOURS


@pytest.fixture(scope="module")
def defs():
    from aios_assets.definitions import defs

    return defs


def test_freshness_checks_fail_when_stale_and_pass_after_an_update(aios_home):
    checks = [c for c in FRESHNESS_CHECKS
              if dg.AssetKey("event_log") in {k.asset_key for k in c.check_keys}]
    assert len(checks) == 1
    with dg.instance_for_test() as instance:
        stale = dg.materialize([dg.AssetSpec("event_log"), *checks], instance=instance,
                               selection=dg.AssetSelection.checks(*checks))
        [result] = stale.get_asset_check_evaluations()
        assert result.passed is False  # never updated
        instance.report_runless_asset_event(dg.AssetMaterialization("event_log"))
        fresh = dg.materialize([dg.AssetSpec("event_log"), *checks], instance=instance,
                               selection=dg.AssetSelection.checks(*checks))
        [result] = fresh.get_asset_check_evaluations()
        assert result.passed is True
        assert result.severity == dg.AssetCheckSeverity.WARN


def test_operator_assets_have_freshness_checks_and_live_sensors(defs):
    checked = {key.to_user_string() for c in FRESHNESS_CHECKS
               for key in {k.asset_key for k in c.check_keys}}
    assert checked == set(FRESHNESS_HOURS) == {
        "event_log", "semantic_memory", "summaries", "cost_ledger"}
    repo = defs.get_repository_def()
    sensors = {s.name: s.default_status for s in repo.sensor_defs}
    for name in ("freshness_checks_sensor", "automation_condition_sensor", "run_failure_sensor",
                 "plans_sensor"):
        assert sensors[name] == dg.DefaultSensorStatus.RUNNING, name


FOLLOWERS = ("episodes", "working_memory", "semantic_memory", "entity_facts", "policy_traces")


def _report_all(instance: dg.DagsterInstance, keys) -> None:
    for key in sorted(keys):
        instance.report_runless_asset_event(dg.AssetMaterialization(key))


def test_a_new_event_log_materialization_requests_the_marts_and_memory(defs):
    graph = defs.resolve_asset_graph()
    dbt_keys = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "entities"}
    assert {dg.AssetKey("dim_contacts"), dg.AssetKey("fct_invoices")} <= dbt_keys
    for key in [*dbt_keys, *map(dg.AssetKey, FOLLOWERS)]:
        assert graph.get(key).automation_condition.get_label() == "eager", key
    assert graph.get(dg.AssetKey("cost_ledger")).automation_condition.get_label() == \
        "hourly_mirror(0 * * * *, UTC)"
    with dg.instance_for_test() as instance:
        # Everything exists and is up to date: nothing to do.
        _report_all(instance, graph.get_all_asset_keys())
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0
        # An inbox ingest (ingest_job) writes only the event log ...
        instance.report_runless_asset_event(dg.AssetMaterialization("event_log"))
        second = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                   cursor=first.cursor)
        requested = {k for k in graph.get_all_asset_keys() if second.get_num_requested(k)}
        # ... and the marts, the memory tiers and the embeddings follow, in one tick.
        assert dbt_keys | set(map(dg.AssetKey, FOLLOWERS)) <= requested
        assert dg.AssetKey("semantic_memory") in requested
        # Not the heavy, LLM-using work (nightly) and not publishing.
        for key in ("summaries", "agent_triage", "agent_brief", "published_actions",
                    "cold_archive", "event_log"):
            assert dg.AssetKey(key) not in requested, key
        # Once they are rebuilt, nothing is requested again.
        _report_all(instance, requested)
        third = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                  cursor=second.cursor)
        assert third.total_requested == 0


def test_the_cost_ledger_mirrors_hourly_whatever_its_deps_did(defs):
    from datetime import UTC, datetime

    graph = defs.resolve_asset_graph()
    ledger = dg.AssetKey("cost_ledger")
    assert {dg.AssetKey("agent_triage"), dg.AssetKey("summaries")} <= graph.get(ledger).parent_keys
    with dg.instance_for_test() as instance:
        _report_all(instance, graph.get_all_asset_keys())
        at = datetime(2026, 6, 3, 10, 30, tzinfo=UTC)
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                  evaluation_time=at)
        assert first.get_num_requested(ledger) == 0
        # The 11:00 tick passed: the ledger and the decisions mirror are due, although none
        # of their deps (the agents) was updated since.
        later = datetime(2026, 6, 3, 11, 1, tzinfo=UTC)
        second = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                   cursor=first.cursor, evaluation_time=later)
        assert second.get_num_requested(ledger) == 1
        assert second.get_num_requested(dg.AssetKey("proposal_decisions")) == 1
        assert second.get_num_requested(dg.AssetKey("agent_triage")) == 0


def test_nightly_precompute_job_and_schedule(defs):
    from datetime import UTC, datetime

    job = defs.resolve_job_def("nightly_precompute_job")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    graph = defs.resolve_asset_graph()
    dbt_models = {k.to_user_string() for k in graph.get_all_asset_keys()
                  if graph.get(k).group_name == "entities"}
    # marts -> memory (incl. embeddings) -> summaries -> agents' drafts and the brief
    assert dbt_models <= selected
    assert {"semantic_memory", "episodes", "working_memory", "entity_facts", "policy_traces",
            "summaries", "agent_plans", "agent_triage", "agent_followup", "agent_billing",
            "agent_content", "agent_brief", "agent_canary", "action_proposals",
            "proposal_gate_results", "cost_ledger", "proposal_decisions"} <= selected
    # nothing is ingested, archived or published by it
    assert not {"event_log", "quarantine", "cold_archive", "published_actions"} & selected
    # Every asset it runs writes the warehouse through the `warehouse` pool (limit 1).
    for key in job.asset_layer.selected_asset_keys:
        assert graph.get(key).pools == {"warehouse"}, key
    # Lineage orders it: the brief after the summaries and the marts it reads.
    upstream_of_brief = {k.to_user_string() for k in
                         dg.AssetSelection.assets("agent_brief").upstream()
                         .resolve(graph)}
    assert {"summaries", "fct_invoices", "cost_ledger"} <= upstream_of_brief
    assert dg.validate_run_config(job, {})  # a schedule tick needs no config

    schedule = defs.resolve_schedule_def("nightly_precompute_schedule")
    assert (schedule.job_name, schedule.cron_schedule, schedule.execution_timezone) == (
        "nightly_precompute_job", "30 2 * * *", "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 6, 3, 2, 30, tzinfo=UTC)) as ctx:
        requests = schedule.evaluate_tick(ctx).run_requests
    assert requests is not None and len(requests) == 1
    # The update after an ingest is the same selection plus the ingest itself.
    update = defs.resolve_job_def("ingest_and_update_job")
    assert {k.to_user_string() for k in update.asset_layer.selected_asset_keys} == \
        selected | {"event_log", "quarantine"}


def _doc_table() -> dict[str, dict[str, str]]:
    import re

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "operating.md").read_text()
    section = text.split("## Background work", 1)[1].split("###", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\| `(\w+)` \| (sensor|schedule) \| ([^|]+) \| ([^|]+) \|", line)
        if m:
            rows[m[1]] = {"kind": m[2], "when": m[3].strip(), "starts": m[4].strip()}
    return rows


def test_operating_doc_lists_every_schedule_and_sensor(defs):
    import re

    table = _doc_table()
    schedules = {s.name: s for s in defs.schedules}
    sensors = {s.name: s for s in defs.sensors}
    assert set(table) == set(schedules) | set(sensors)
    for name, row in table.items():
        if name in schedules:
            s = schedules[name]
            assert row["kind"] == "schedule", name
            assert row["when"] == f"`{s.cron_schedule}` {s.execution_timezone}", name
            assert row["starts"] == f"`{s.job_name}`", name
        else:
            s = sensors[name]
            assert row["kind"] == "sensor", name
            n, unit = re.fullmatch(r"every (\d+) (s|min)", row["when"]).groups()
            assert int(n) * (60 if unit == "min" else 1) == s.minimum_interval_seconds, name
            try:
                job: str | None = s.job_name
            except dg.DagsterInvalidDefinitionError:  # it targets no job
                job = None
            assert row["starts"] == (f"`{job}`" if job else "—"), name
            assert s.default_status == dg.DefaultSensorStatus.RUNNING, name
