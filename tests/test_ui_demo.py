"""`make ui` on a demo home: the Dagster UI and the console both serve, the catalog flags no
data as stale right after start (also after files were ingested again and an hourly mirror
re-ran), and SIGTERM to make stops everything.

One small demo home for the module: a copy of the session's (`make demo` at --scale 0.1
--days 30, built once, conftest.demo_checkout).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import AIOS, ROOT, copy_demo
from tests.test_ui import (
    NOISE,
    STOP_BOUND_S,
    _assert_all_gone,
    _free_port,
    _quiet_env,
    _tree,
    _wait_serving,
)

LOCATION = "aios_assets.definitions"
TICKS = """
{ sensorOrError(sensorSelector: {repositoryName: "__repository__",
    repositoryLocationName: "%s", sensorName: "automation_condition_sensor"}) {
  ... on Sensor { sensorState { ticks(limit: 5) { status timestamp } } } } }
""" % LOCATION
STALE = """
{ assetNodes { assetKey { path } staleStatus
    staleCauses { key { path } category reason dependency { path } } } }
"""
MATERIALIZATIONS = """
{ assetOrError(assetKey: {path: ["cost_ledger"]}) {
  ... on Asset { assetMaterializations(limit: 10) { runId } } } }
"""


@pytest.fixture(scope="module")
def demo_home(demo_checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from aios_assets.shared.home import AiosHome
    from resources.postgres import stop_embedded

    # a copy of the session's demo home (`make demo` at --scale 0.1 --days 30)
    home = copy_demo(demo_checkout, tmp_path_factory.mktemp("ui-demo") / "checkout") / ".aios"
    env = _quiet_env(home)
    # Files ingested again add nothing: the event log keeps its data version.
    res = subprocess.run([*AIOS, "ingest", str(home / "demo" / "chat"), "--no-materialize"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    # What the hourly mirrors do at the next full hour (cost_ledger, proposal_decisions), run
    # now: they find at most the calls the demo made after the ledger (the brief's, the
    # canary's), which must not flag the brief stale.
    res = subprocess.run(
        [Path(sys.executable).with_name("dagster"), "asset", "materialize", "-m", LOCATION,
         "--select", "cost_ledger,proposal_decisions"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    yield home
    stop_embedded(AiosHome.from_env(home))


def _gql(port: int, query: str) -> dict:
    r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=30)
    body = r.json()
    assert r.status_code == 200 and not body.get("errors"), body
    return body["data"]


def test_make_ui_serves_both_flags_nothing_stale_and_stops(demo_home: Path, tmp_path: Path):
    venv = Path(sys.prefix)  # the virtualenv running the tests (`make test`: the checkout's)
    env = _quiet_env(demo_home)
    # This checkout first, should that venv's editable install point at another one.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    port, console_port = _free_port(), _free_port()
    log = tmp_path / "make-ui.log"
    with log.open("wb") as out:
        # -o: the venv is built (make would otherwise install one, as on a first `make ui`)
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "-o", f"{venv}/bin/aios", f"VENV={venv}", "ui",
             f"UI_ARGS=--port {port} --console-port {console_port}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_serving(port, console_port, proc, log)
        text = log.read_text()
        assert f"Dagster UI    http://127.0.0.1:{port}" in text, text
        assert f"AIOS console  http://127.0.0.1:{console_port}" in text, text

        # The mirror re-ran after the demo (the case that flagged the brief).
        mats = _gql(port, MATERIALIZATIONS)["assetOrError"]["assetMaterializations"]
        assert len({m["runId"] for m in mats}) >= 2, mats
        # After the automation sensor's first tick on this instance, nothing is stale.
        deadline = time.monotonic() + 120
        ticks: list = []
        while time.monotonic() < deadline:
            state = _gql(port, TICKS)["sensorOrError"].get("sensorState") or {}
            ticks = [t for t in state.get("ticks", []) if t["status"] in ("SUCCESS", "SKIPPED")]
            if ticks:
                break
            time.sleep(2)
        assert ticks, "automation_condition_sensor did not tick within 120 s"
        nodes = _gql(port, STALE)["assetNodes"]
        status = {"/".join(n["assetKey"]["path"]): n["staleStatus"] for n in nodes}
        stale = {"/".join(n["assetKey"]["path"]): n["staleCauses"] for n in nodes
                 if n["staleStatus"] == "STALE"}
        assert not stale, stale
        assert status["agent_brief"] == "FRESH" and status["cost_ledger"] == "FRESH", status
        # Only what the demo never builds is missing (weekly archive, publishing).
        assert {k for k, v in status.items() if v == "MISSING"} <= {"cold_archive",
                                                                    "published_actions"}

        procs = _tree(proc.pid)
        proc.send_signal(signal.SIGTERM)  # to make alone: it passes SIGTERM to `aios ui`
        proc.wait(timeout=STOP_BOUND_S)
        _assert_all_gone(procs, (port, console_port))
        text = log.read_text()
        assert not [n for n in NOISE if n in text], text[-3000:]
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
