"""Past one machine, the parts not covered by test_dagster_postgres: the Helm values parse with
the settings AIOS relies on (and agree with deploy/dagster.yaml), and a real ``dagster-daemon``
on the Postgres instance config dequeues a queued run of the project's ingest job, which
succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import psycopg
import pytest
import yaml

from tests.conftest import ROOT, event, write_jsonl

VALUES = ROOT / "deploy" / "helm" / "values.yaml"
INSTANCE = ROOT / "deploy" / "dagster.yaml"


def test_helm_values_parse_with_the_expected_settings():
    values = yaml.safe_load(VALUES.read_text())
    instance = yaml.safe_load(INSTANCE.read_text())

    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    k8s = launcher["config"]["k8sRunLauncher"]
    assert {"name": "aios-secrets"} in k8s["envSecrets"]
    # Run pods see the same AIOS_HOME volume as the code location.
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    home = next(e["value"] for e in deployment["env"] if e["name"] == "AIOS_HOME")
    assert f"AIOS_HOME={home}" in k8s["envVars"]
    assert {m["mountPath"] for m in k8s["volumeMounts"]} == {home}
    assert k8s["volumes"] == deployment["volumes"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "aios_assets.definitions"]

    daemon = values["dagsterDaemon"]
    assert daemon["enabled"] is True
    assert daemon["runCoordinator"] == {"enabled": True, "type": "QueuedRunCoordinator"}
    assert instance["run_coordinator"]["class"] == "QueuedRunCoordinator"
    # One warehouse writer at a time, on Kubernetes as on one server.
    assert values["concurrency"]["pools"]["defaultLimit"] == \
        instance["concurrency"]["pools"]["default_limit"] == 1
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] >= 1
    # External metadata Postgres, spoken to with psycopg2 (dagster-postgres).
    pg = values["postgresql"]
    assert pg["enabled"] is False and pg["postgresqlScheme"] == "postgresql+psycopg2"
    assert values["telemetry"]["enabled"] is False


@pytest.fixture
def pg_dagster_home(pg_url: str, aios_home: Path, monkeypatch: pytest.MonkeyPatch):
    """DAGSTER_HOME with deploy/dagster.yaml over a fresh database on the embedded server."""
    dbname = f"dagster_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{dbname}"')
    url = urlunsplit(urlsplit(pg_url)._replace(path=f"/{dbname}"))
    dagster_home = aios_home / "dagster"
    config = yaml.safe_load(INSTANCE.read_text())
    # Dequeue quickly so the test stays short; everything else as deployed.
    config["run_coordinator"]["config"] = {"dequeue_interval_seconds": 1}
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("AIOS_DAGSTER_PG_URL",
                       url.replace("postgresql://", "postgresql+psycopg2://", 1))
    yield dagster_home
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _stop(proc: subprocess.Popen, *, marker: Path | None = None) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    if marker is not None:
        _kill_strays(str(marker))


def _kill_strays(marker: str) -> None:
    """Kill what the daemon left behind in another session: its code server (``dagster api
    grpc``) starts its own process group and, orphaned, outlived its heartbeat timeout."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_daemon_dequeues_a_queued_run_and_it_succeeds(pg_dagster_home: Path, aios_home: Path,
                                                      tmp_path: Path):
    started = time.monotonic()
    data = write_jsonl(aios_home / "in.jsonl", [event("d-1", "one"), event("d-2", "two")])
    run_config = tmp_path / "run.yaml"
    run_config.write_text(yaml.safe_dump(
        {"ops": {"ingest_files": {"config": {"paths": [str(data)]}}}}))
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": {
        "module_name": "tests.daemon_location", "working_directory": str(ROOT)}}]}))
    env = {**os.environ, "DAGSTER_HOME": str(pg_dagster_home), "PYTHONPATH": str(ROOT)}
    bin_dir = Path(sys.executable).parent

    # Submitted with the queued coordinator: the run waits in the queue, nobody starts it.
    launch = subprocess.run(
        [str(bin_dir / "dagster"), "job", "launch", "-w", str(workspace), "-j", "ingest_job",
         "-c", str(run_config)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert launch.returncode == 0, launch.stdout + launch.stderr
    instance = dg.DagsterInstance.from_config(str(pg_dagster_home))
    try:
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="ingest_job"))
        assert run.status == dg.DagsterRunStatus.QUEUED

        log = (tmp_path / "daemon.log").open("wb")
        daemon = subprocess.Popen(
            [str(bin_dir / "dagster-daemon"), "run", "-w", str(workspace)], cwd=ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            status = run.status
            while time.monotonic() < deadline:
                status = instance.get_run_by_id(run.run_id).status
                if status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE):
                    break
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
                time.sleep(1)
        finally:
            _stop(daemon, marker=pg_dagster_home)
            log.close()
        assert status == dg.DagsterRunStatus.SUCCESS, (tmp_path / "daemon.log").read_text()[-3000:]
        # Enqueued by the launch, then started once by the daemon's queue.
        events = [e.dagster_event.event_type for e in instance.all_logs(run.run_id)
                  if e.dagster_event is not None]
        enqueued, starting = dg.DagsterEventType.RUN_ENQUEUED, dg.DagsterEventType.RUN_STARTING
        assert events.count(enqueued) == 1 and events.count(starting) == 1
        assert events.index(enqueued) < events.index(starting)
        assert events.index(starting) < events.index(dg.DagsterEventType.RUN_SUCCESS)
        mat = instance.get_latest_materialization_event(dg.AssetKey("event_log"))
        assert mat is not None and mat.run_id == run.run_id
        assert mat.asset_materialization.metadata["dagster/row_count"].value == 2
    finally:
        instance.dispose()
    print(f"daemon round trip {time.monotonic() - started:.1f} s")
