"""inbox_sensor: new files start one ingest run each; nothing is requested twice."""

from __future__ import annotations

import os

import dagster as dg

from aios_assets.definitions import defs
from aios_assets.shared.home import AiosHome
from sensors.inbox import inbox_sensor, pending_files, plan_inbox_runs
from tests.conftest import event, write_jsonl


def test_new_files_are_requested_once(aios_home):
    inbox = AiosHome.from_env().inbox
    write_jsonl(inbox / "a.jsonl", [event("a1")])
    instance = dg.DagsterInstance.ephemeral()
    ctx = dg.build_sensor_context(instance=instance, cursor=None)
    first = inbox_sensor(ctx)
    assert len(first) == 1
    assert first[0].run_config["ops"]["ingest_files"]["config"]["paths"] == [
        str(inbox / "a.jsonl")
    ]
    again = inbox_sensor(dg.build_sensor_context(instance=instance, cursor=ctx.cursor))
    assert isinstance(again, dg.SkipReason)


def test_changed_file_is_requested_again():
    files = [("a.jsonl:10:1", "p")]
    _, cursor = plan_inbox_runs(files, None)
    requests, _ = plan_inbox_runs([("a.jsonl:12:2", "p")], cursor)
    assert len(requests) == 1


def test_many_files_are_batched():
    files = [(f"f{i}:1:1", f"/x/f{i}") for i in range(450)]
    requests, _ = plan_inbox_runs(files, None)
    assert [len(r.run_config["ops"]["ingest_files"]["config"]["paths"]) for r in requests] == [
        200, 200, 50
    ]


def test_ingest_job_from_inbox_archives_files(aios_home):
    home = AiosHome.from_env()
    write_jsonl(home.inbox / "b.jsonl", [event("b1"), event("b2")])
    (home.inbox / ".hidden").write_text("ignored")
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=dg.DagsterInstance.get(), raise_on_error=True
    )
    assert result.success
    mats = {str(m.asset_key.path[-1]): m for m in result.get_asset_materialization_events()}
    assert mats["event_log"].materialization.metadata["events_new"].value == 2
    assert [k for k, _ in pending_files(home.inbox)] == []
    archived = list((home.archive / "inbox").rglob("b.jsonl"))
    assert len(archived) == 1 and os.path.getsize(archived[0]) > 0
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
