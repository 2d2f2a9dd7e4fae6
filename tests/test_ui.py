"""`aios ui` (what `make ui` runs) serves the Dagster UI on loopback with the whole graph."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import AIOS, ROOT

QUERY = """
{ assetNodes { assetKey { path } groupName }
  workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
    ... on RepositoryLocation { repositories { sensors { name sensorState { status } } } }
  } } } } }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listen_addresses(port: int) -> set[str]:
    """IPv4 addresses listening on ``port``, read from /proc/net/tcp (state 0A = LISTEN)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        addr, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(addr)[::-1]))
    return found


def test_ui_serves_assets_and_sensors(aios_home):
    port = _free_port()
    env = {**os.environ, "AIOS_HOME": str(aios_home), "DAGSTER_HOME": str(aios_home / "dagster")}
    proc = subprocess.Popen(
        # as a shell starts a background job (`aios ui &`): SIGINT ignored, then exec
        ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *AIOS, "ui", "--port", str(port)],
        cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        data = None
        while time.monotonic() < deadline:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY},
                               timeout=10)
                body = r.json()
                if r.status_code == 200 and body.get("data", {}).get("assetNodes"):
                    data = body["data"]
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert proc.poll() is None, "aios ui exited early"
            time.sleep(2)
        assert data is not None, "the UI did not answer within 180 s"
        keys = {"/".join(n["assetKey"]["path"]) for n in data["assetNodes"]}
        assert {"event_log", "quarantine"} <= keys
        sensors = {
            s["name"]: s["sensorState"]["status"]
            for entry in data["workspaceOrError"]["locationEntries"]
            for repo in entry["locationOrLoadError"]["repositories"]
            for s in repo["sensors"]
        }
        assert sensors.get("inbox_sensor") == "RUNNING"
        # Bound to loopback only.
        assert _listen_addresses(port) == {"127.0.0.1"}
        # SIGTERM to `aios ui` alone (not its group) stops it and its servers (issue 15: it
        # ignored SIGTERM and SIGINT when started in the background).
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert time.monotonic() - sent < 30
        assert _listen_addresses(port) == set()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
