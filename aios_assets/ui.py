"""``aios ui``: the Dagster UI + daemon (``dagster dev``) and the AIOS console, run together.

This process supervises both as children, each in its own process group, and stops both, with
every process under them (webserver, daemon, code servers, runs they launched), on SIGTERM,
SIGINT or SIGHUP, or as soon as either child exits. The children also get SIGTERM from the
kernel if this process dies without cleaning up (``PR_SET_PDEATHSIG`` on Linux), so even a
SIGKILL leaves no server behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = ROOT / "workspace.yaml"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# dagster dev stops its webserver, daemon and code server in a few seconds; past this bound
# whatever is left of a child's process group is killed.
STOP_GRACE_S = 20.0

# `dagster dev` warns that it is superseded by `dg dev` (the dagster-dg-cli package, which AIOS
# does not install); to an operator it is noise. -W scopes the filter to that one process.
DEV_SUPERSEDED_FILTER = "ignore:Function `dev_command` is superseded:Warning"

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux), whatever killed it."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    # Every process seen under the child (refreshed while it runs): what must be gone at stop.
    tree: dict[int, psutil.Process] = field(default_factory=dict)

    def start(self, env: dict[str, str]) -> None:
        # Own process group: a terminal's Ctrl-C reaches only the supervisor, which stops each
        # child in order; the group is also how leftovers are found and killed at the end.
        # Signal dispositions: handlers reset to default across exec, and this process handles
        # (never ignores) SIGINT/SIGTERM, so a child started from a background job still obeys
        # them (a shell starts background jobs with SIGINT ignored, which exec would keep).
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=env, start_new_session=True,
                                     preexec_fn=_die_with_parent)

    def refresh_tree(self) -> None:
        if self.proc is None:
            return
        try:
            root = psutil.Process(self.proc.pid)
            for p in [root, *root.children(recursive=True)]:
                self.tree.setdefault(p.pid, p)
        except psutil.NoSuchProcess:
            pass

    def alive(self) -> list[psutil.Process]:
        """Processes of this child's tree that still run (zombies count as gone)."""
        left = []
        for p in self.tree.values():
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    left.append(p)
            except psutil.NoSuchProcess:
                pass
        return left


def dagster_argv(host: str, port: int) -> list[str]:
    return [sys.executable, "-W", DEV_SUPERSEDED_FILTER, "-m", "dagster", "dev",
            "-w", str(WORKSPACE), "-h", host, "-p", str(port)]


def console_argv(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "aios_assets.cli", "console", "--host", host,
            "--port", str(port)]


def supervise(children: list[Child], *, say: Callable[[str], None],
              grace_s: float = STOP_GRACE_S) -> int:
    """Start ``children``, wait for a stop signal or for one to exit, stop all; the exit code
    (128 + the signal number after a signal, like every ``aios`` command)."""
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)

    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, on_signal)
    code = 0
    try:
        env = dict(os.environ)
        for child in children:
            child.start(env)
        last_scan = 0.0
        while not received:
            exited = [c for c in children if c.proc is not None and c.proc.poll() is not None]
            if exited:
                c = exited[0]
                say(f"{c.name} exited with code {c.proc.returncode}; stopping the others")
                code = c.proc.returncode or 1
                break
            if time.monotonic() - last_scan > 2:
                for c in children:
                    c.refresh_tree()
                last_scan = time.monotonic()
            time.sleep(0.2)
    finally:
        # Further signals must not interrupt the stop itself (a second Ctrl-C).
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        stop(children, grace_s=grace_s)
        for s, h in before.items():
            signal.signal(s, h)
    if received:
        say(f"stopped ({signal.Signals(received[0]).name})")
        return 128 + received[0]
    return code


def stop(children: list[Child], *, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM each child (dagster dev then stops its webserver, daemon and code server), wait
    up to ``grace_s`` for every process seen under them, then SIGKILL what is left, including
    anything left in the children's process groups."""
    for c in children:
        c.refresh_tree()
        if c.proc is not None and c.proc.poll() is None:
            c.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    orphaned: set[int] = set()
    while time.monotonic() < deadline and any(c.alive() for c in children):
        for c in children:
            # Once a child is gone, what it left (a code server waiting out its heartbeat) has
            # no one to stop it: SIGTERM it now rather than wait for a timeout.
            if c.proc is not None and c.proc.poll() is not None:
                for p in c.alive():
                    if p.pid not in orphaned:
                        orphaned.add(p.pid)
                        try:
                            p.terminate()
                        except psutil.NoSuchProcess:
                            pass
        time.sleep(0.2)
    for c in children:
        for p in c.alive():
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        if c.proc is not None:
            try:
                os.killpg(c.proc.pid, signal.SIGKILL)  # anything re-parented but still grouped
            except (ProcessLookupError, PermissionError):
                pass
            try:
                c.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
