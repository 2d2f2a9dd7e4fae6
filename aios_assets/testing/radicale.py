"""A real Radicale CalDAV server on loopback for tests (PyPI ``radicale``, a dev dependency).

:class:`Radicale` writes a throwaway configuration, a plain-text htpasswd file and a storage
folder under one folder, and runs ``python -m radicale`` on a free 127.0.0.1 port without TLS.
:meth:`Radicale.add_user` adds a user (Radicale reads the htpasswd file on every request, so no
restart is needed); :meth:`Radicale.stop` ends the server.

:class:`RecordingProxy` sits in front of it on another loopback port: it forwards every request
and records it, and with ``sync_collection=False`` refuses the ``sync-collection``
REPORT (HTTP 501) like a CalDAV server without RFC 6578. :meth:`RecordingProxy.fault` makes it
misbehave for chosen requests: run a callback before forwarding (a concurrent edit), or forward
the request (Radicale commits it) and then never answer (``"hang"``: hold the connection for
``hang_s``, then close it; ``"drop"``: close it at once), like a server or network that loses
the response of a write that took effect.
"""

from __future__ import annotations

import http.client
import importlib.util
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aios_assets.testing.ports import free_port

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


@dataclass
class Fault:
    """What the proxy does to the next ``times`` requests ``method`` whose path ends with
    ``path_suffix``. ``forwarded`` is set once such a request reached Radicale."""

    method: str
    path_suffix: str
    before: Callable[[], None] | None = None
    after: str | None = None  # None (answer normally), "hang" or "drop"
    hang_s: float = 5.0
    times: int = 1
    hits: int = 0
    forwarded: threading.Event = field(default_factory=threading.Event)


class RecordingProxy:
    """A loopback HTTP reverse proxy to ``target_port`` that records each request as
    ``(method, Depth header, path)``."""

    def __init__(self, target_port: int, sync_collection: bool = True) -> None:
        self.target_port = target_port
        self.sync_collection = sync_collection
        self.requests: list[tuple[str, str, str]] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.requests.append((self.command, self.headers.get("Depth", ""), self.path))
                fault = proxy._take_fault(self.command, self.path)
                if fault is not None and fault.before is not None:
                    fault.before()
                if (self.command == "REPORT" and not proxy.sync_collection
                        and b"sync-collection" in body):
                    self.send_response(501)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in ("host", "connection")}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                if fault is not None:
                    fault.forwarded.set()
                    if fault.after in ("hang", "drop"):
                        # The write took effect upstream; the client never hears of it.
                        if fault.after == "hang":
                            time.sleep(fault.hang_s)
                        self.close_connection = True
                        try:
                            self.connection.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        return
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in ("content-length", "connection",
                                           "transfer-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_DELETE = do_POST = do_PROPFIND = do_REPORT = _forward
            do_PROPPATCH = do_MKCALENDAR = do_MKCOL = do_MOVE = do_OPTIONS = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def fault(self, method: str, path_suffix: str, **settings: object) -> Fault:
        """Add a :class:`Fault` for requests ``method`` to paths ending with ``path_suffix``."""
        added = Fault(method.upper(), path_suffix, **settings)  # type: ignore[arg-type]
        with self._lock:
            self.faults.append(added)
        return added

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.method == method and path.endswith(f.path_suffix) and f.hits < f.times:
                    f.hits += 1
                    return f
        return None

    def start(self) -> RecordingProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
