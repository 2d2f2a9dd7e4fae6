"""The webserver serves the asset graph (GraphQL) and headless Chromium renders its lineage page.

Starts ``dagster-webserver`` for the project's workspace on a free loopback port with a temp
AIOS_HOME/DAGSTER_HOME, checks keys, groups and edges through GraphQL, then has Debian's
``chromium`` take a screenshot (and dump the rendered DOM) of event_log's lineage page.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from aios_assets.testing.ports import free_port as _free_port
from tests.conftest import ROOT
from tests.png_reader import decode_png

GRAPH_QUERY = """
{ assetNodes { assetKey { path } groupName dependencyKeys { path } }
  workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
    ... on RepositoryLocation { repositories {
      sensors { name sensorState { status } }
      schedules { name scheduleState { status } } } } } } } } }
"""
CHROMIUM_FLAGS = [
    # What a headless probe on a closed network needs: no sandbox as root, no GPU, and no
    # background connections that the network refuses.
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1600,1000",
    # Lets the React app fetch the graph and lay it out before the shot is taken.
    "--virtual-time-budget=25000",
]


def _wait_for_graph(port: int, proc: subprocess.Popen, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": GRAPH_QUERY},
                           timeout=10)
            data = (r.json().get("data") or {}) if r.status_code == 200 else {}
            if data.get("assetNodes"):
                return data
        except (httpx.HTTPError, ValueError):
            pass
        assert proc.poll() is None, "dagster-webserver exited early"
        time.sleep(2)
    raise AssertionError(f"the webserver did not serve the asset graph within {timeout_s} s")


@pytest.fixture
def webserver(aios_home: Path):
    from aios_assets.entities.dbt_manifest import ensure_dbt_manifest

    ensure_dbt_manifest()
    port = _free_port()
    env = {**os.environ, "AIOS_HOME": str(aios_home), "DAGSTER_HOME": str(aios_home / "dagster")}
    exe = Path(sys.executable).with_name("dagster-webserver")
    log = (aios_home / "webserver.log").open("wb")
    proc = subprocess.Popen(
        [str(exe), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        yield port, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def test_lineage_graph_through_graphql_and_chromium(webserver, tmp_path: Path):
    port, proc = webserver
    data = _wait_for_graph(port, proc)
    nodes = data["assetNodes"]

    keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
    groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    edges = {
        ("/".join(d["path"]), "/".join(n["assetKey"]["path"]))
        for n in nodes for d in n["dependencyKeys"]
    }
    assert {"event_log", "quarantine", "stg_crm__contacts", "dim_contacts", "semantic_memory",
            "summaries", "working_memory", "cost_ledger"} <= keys
    assert groups["event_log"] == "ingest" and groups["stg_crm__contacts"] == "entities"
    assert groups["semantic_memory"] == "memory" and groups["cost_ledger"] == "llm"
    assert {("event_log", "stg_crm__contacts"), ("event_log", "semantic_memory"),
            ("event_log", "summaries"), ("dim_contacts", "dim_organizations")} <= edges

    # Sensors and schedules start live (what `make ui` shows under Automation).
    repos = [repo for entry in data["workspaceOrError"]["locationEntries"]
             for repo in entry["locationOrLoadError"]["repositories"]]
    sensors = {s["name"]: s["sensorState"]["status"] for r in repos for s in r["sensors"]}
    schedules = {s["name"]: s["scheduleState"]["status"] for r in repos for s in r["schedules"]}
    for name in ("inbox_sensor", "run_failure_sensor", "freshness_checks_sensor",
                 "automation_condition_sensor"):
        assert sensors.get(name) == "RUNNING", (name, sensors)
    assert schedules.get("nightly_precompute_schedule") == "RUNNING", schedules
    assert sensors.get("plans_sensor") == "RUNNING", sensors

    # The first-visit community dialog would cover the graph; dismiss it through the API.
    r = httpx.post(f"http://127.0.0.1:{port}/graphql",
                   json={"query": "mutation { setNuxSeen }"}, timeout=10)
    assert r.json()["data"]["setNuxSeen"] is True

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed (.ci/run installs it)"
    shot = tmp_path / "lineage.png"
    url = (f"http://127.0.0.1:{port}/assets/event_log"
           "?view=lineage&lineageScope=downstream&lineageDepth=1")
    res = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}",
         f"--screenshot={shot}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]

    # The page rendered the graph: asset nodes carry event_log and its downstream assets.
    rendered = set(re.findall(r'AssetNode_assetName[^"]*">([a-z0-9_]+)<', res.stdout))
    assert {"event_log", "stg_crm__contacts", "semantic_memory"} <= rendered, rendered

    width, height, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1600, 1000)
    # Not blank: many distinct colours, and the graph canvas (right of the nav) is not uniform.
    sample = {row[x:x + 3] for row in rows[::10] for x in range(0, len(row), 3 * 7)}
    assert len(sample) > 20, f"only {len(sample)} colours: a blank page"
    bpp = len(rows[0]) // width
    canvas = {rows[y][x * bpp:x * bpp + 3] for y in range(200, 950, 5) for x in range(300, 1500, 5)}
    assert len(canvas) > 5, "the lineage canvas is uniform: no graph drawn"
