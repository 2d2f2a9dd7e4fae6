"""A real Radicale CalDAV server on loopback for tests (PyPI ``radicale``, a dev dependency).

:class:`Radicale` writes a throwaway configuration, a plain-text htpasswd file and a storage
folder under one folder, and runs ``python -m radicale`` on a free 127.0.0.1 port without TLS.
:meth:`Radicale.add_user` adds a user (Radicale reads the htpasswd file on every request, so no
restart is needed); :meth:`Radicale.stop` ends the server.
"""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

_CONFIG = """\
[server]
hosts = 127.0.0.1:{port}
[auth]
type = htpasswd
htpasswd_filename = {root}/users
htpasswd_encryption = plain
# no delay after a refused login: the tests refuse on purpose
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = {root}/collections
[logging]
level = warning
[web]
type = none
"""


def available() -> bool:
    return importlib.util.find_spec("radicale") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Radicale:
    """One Radicale process serving ``http://127.0.0.1:<port>/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.users: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def add_user(self, user: str, password: str) -> None:
        self.users[user] = password
        lines = "".join(f"{u}:{p}\n" for u, p in self.users.items())
        (self.root / "users").write_text(lines)

    def start(self, timeout_s: float = 20.0) -> Radicale:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "users").touch()
        config = self.root / "radicale.conf"
        config.write_text(_CONFIG.format(port=self.port, root=self.root))
        log = (self.root / "radicale.log").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                                     stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("radicale exited: "
                                   + (self.root / "radicale.log").read_text()[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"radicale did not listen on port {self.port} in {timeout_s}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
