"""Freshness checks on the assets the operator relies on; automation that follows inputs."""

from __future__ import annotations

import dagster as dg
import pytest

from aios_assets.operations import FRESHNESS_CHECKS, FRESHNESS_HOURS


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
    for name in ("freshness_checks_sensor", "automation_condition_sensor", "run_failure_sensor"):
        assert sensors[name] == dg.DefaultSensorStatus.RUNNING, name


def test_working_memory_and_episodes_follow_their_inputs(defs):
    graph = defs.resolve_asset_graph()
    episodes = graph.get(dg.AssetKey("episodes"))
    for key in ("episodes", "working_memory"):
        assert graph.get(dg.AssetKey(key)).automation_condition.get_label() == "eager"
    assert "on_cron(0 * * * *" in graph.get(dg.AssetKey("cost_ledger")) \
        .automation_condition.get_label()
    with dg.instance_for_test() as instance:
        # Everything upstream of episodes and working memory (and they themselves) exist.
        upstream = set()
        for key in ("episodes", "working_memory"):
            upstream |= graph.get(dg.AssetKey(key)).parent_keys
        for key in sorted(upstream | {episodes.key, dg.AssetKey("working_memory")}):
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0  # nothing new since they were built
        instance.report_runless_asset_event(dg.AssetMaterialization("event_log"))
        second = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                   cursor=first.cursor)
        assert second.get_num_requested(dg.AssetKey("episodes")) == 1
        assert second.get_num_requested(dg.AssetKey("working_memory")) == 1
        # Not everything downstream of the event log: only what declares it follows.
        assert second.get_num_requested(dg.AssetKey("semantic_memory")) == 0
