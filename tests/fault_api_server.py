"""A loopback HTTP API that injects faults and counts effects by ``Idempotency-Key``.

It plays an idempotent third-party API (Stripe-style) for adapter and outbox tests, over real
sockets on 127.0.0.1 (threaded server):

* ``POST``/``PUT``/``PATCH``/``DELETE`` any path = an **effect**. With ``dedupe=True`` (default)
  the effect happens once per ``Idempotency-Key``; repeats of a key get the first result back
  (header ``Idempotent-Replayed: true``). ``dedupe=False`` plays a Slack-style webhook that
  acts on every request. Requests without the header always act (counted under key None).
* ``GET /idempotency/{key}``: 200 with the stored result if the key took effect, else 404
  (``lookup=True``).
* Faults, from a queue (:meth:`FaultApiServer.fail_next`), per key (:meth:`fail_key`), at
  random (``fault_rate`` with a seeded RNG; the kinds in ``mix`` take turns), or ``down``
  (every request 503):
  ``429`` with Retry-After, ``500``, ``slow`` (the effect happens, the answer comes after
  ``slow_s``, beyond the client's timeout), ``drop`` (connection reset before the effect) and
  ``drop_after`` (reset after the effect).
* Everything is counted: :attr:`requests` (method, path, key, fault, time),
  :meth:`effects` (key -> effect count), :attr:`effect_log` (key, body per effect).
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote

FAULT_KINDS = ("429", "500", "slow", "drop", "drop_after")


@dataclass(frozen=True)
class Fault:
    kind: str  # one of FAULT_KINDS
    retry_after: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {FAULT_KINDS}")


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    key: str | None
    fault: str | None
    authorization: str | None
    at: float = field(default_factory=time.monotonic)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timed out) before the answer

    def _drop(self) -> None:
        # SO_LINGER 0: close() sends a TCP reset, the client sees the connection reset.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            self.server.owner.cut_short += 1
            # The client died while sending the body. A real server never acts on half a
            # request; http.server treats a timeout as a gone client (no answer, no effect).
            raise TimeoutError(f"request body cut short ({len(raw)} of {length} bytes)")
        try:
            return json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return {"_raw": raw.decode(errors="replace")}

    def do_GET(self) -> None:
        owner = self.server.owner
        owner._log(Seen("GET", self.path, self.headers.get("Idempotency-Key"), None,
                        self.headers.get("Authorization")))
        if not owner._authorized(self.headers.get("Authorization")):
            self._send(401, {"error": "unauthorized"})
            return
        if owner.down:
            self._send(503, {"error": "down"})
            return
        prefix = "/idempotency/"
        if owner.lookup and self.path.startswith(prefix):
            found = owner._result(unquote(self.path[len(prefix):]))
            if found is None:
                self._send(404, {"error": "no such key"})
            else:
                self._send(200, found)
            return
        self._send(404, {"error": f"no route {self.path}"})

    def _effect_request(self) -> None:
        owner = self.server.owner
        body = self._body()
        key = self.headers.get("Idempotency-Key")
        fault = owner._fault_for(key)
        owner._log(Seen(self.command, self.path, key, fault.kind if fault else None,
                        self.headers.get("Authorization")))
        if not owner._authorized(self.headers.get("Authorization")):
            self._send(401, {"error": "unauthorized"})
            return
        if owner.down:
            self._send(503, {"error": "down"}, {"Retry-After": owner.down_retry_after}
                       if owner.down_retry_after else None)
            return
        if fault is not None and fault.kind in ("429", "500", "drop"):
            if fault.kind == "drop":
                self._drop()
            elif fault.kind == "429":
                self._send(429, {"error": "slow down"},
                           {"Retry-After": fault.retry_after or owner.retry_after})
            else:
                self._send(500, {"error": "injected"})
            return
        result, replayed = owner._effect(key, self.command, self.path, body)
        if fault is not None and fault.kind == "drop_after":
            self._drop()
            return
        if fault is not None and fault.kind == "slow" and owner._stopping.wait(owner.slow_s):
            self._drop()
            return
        self._send(200 if replayed else 201, result,
                   {"Idempotent-Replayed": "true"} if replayed else None)

    do_POST = do_PUT = do_PATCH = do_DELETE = _effect_request


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64
    owner: FaultApiServer


class FaultApiServer:
    """A threaded idempotent API with injected faults on 127.0.0.1 (see the module docstring)."""

    def __init__(self, *, fault_rate: float = 0.0, mix: tuple[str, ...] = FAULT_KINDS,
                 seed: int = 0, retry_after: str = "0.05", slow_s: float = 1.0,
                 dedupe: bool = True, lookup: bool = True, require_token: str | None = None,
                 ) -> None:
        for kind in mix:
            Fault(kind)
        self.fault_rate = fault_rate
        self.mix = mix
        self.retry_after = retry_after
        self.slow_s = slow_s
        self.dedupe = dedupe
        self.lookup = lookup
        self.require_token = require_token
        self.down = False
        self.cut_short = 0  # requests whose body never fully arrived (no effect)
        self.down_retry_after: str | None = None
        self.requests: list[Seen] = []
        self.effect_log: list[tuple[str | None, Any]] = []
        self._results: dict[str, dict[str, Any]] = {}
        self._queue: deque[Fault] = deque()
        self._per_key: dict[str, deque[Fault]] = {}
        self._rng = random.Random(seed)
        self._kinds = list(mix)
        self._rng.shuffle(self._kinds)
        self._turn = -1
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> Self:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fault-api-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- scripting -----------------------------------------------------------------------------
    def fail_next(self, *faults: Fault) -> None:
        """The next effect requests (any key) get these faults, in order."""
        with self._lock:
            self._queue.extend(faults)

    def fail_key(self, key: str, *faults: Fault) -> None:
        """The next requests with this Idempotency-Key get these faults, in order."""
        with self._lock:
            self._per_key.setdefault(key, deque()).extend(faults)

    # --- inspection ----------------------------------------------------------------------------
    def effects(self) -> Counter:
        """Idempotency key -> how many times it took effect."""
        with self._lock:
            return Counter(k for k, _ in self.effect_log)

    def requests_for(self, key: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.key == key]

    def count(self, *, fault: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if fault is None or r.fault == fault)

    # --- internals -----------------------------------------------------------------------------
    def _log(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def _authorized(self, header: str | None) -> bool:
        return self.require_token is None or header == f"Bearer {self.require_token}"

    def _fault_for(self, key: str | None) -> Fault | None:
        with self._lock:
            if key is not None and self._per_key.get(key):
                return self._per_key[key].popleft()
            if self._queue:
                return self._queue.popleft()
            if self.fault_rate and self._rng.random() < self.fault_rate:
                # Kinds take turns (shuffled once), so every kind shows up in a short run.
                self._turn += 1
                return Fault(self._kinds[self._turn % len(self._kinds)])
            return None

    def _result(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._results.get(key)

    def _effect(self, key: str | None, method: str, path: str, body: Any,
                ) -> tuple[dict[str, Any], bool]:
        """Perform the effect once per key (or every time without dedupe / without a key)."""
        with self._lock:
            if self.dedupe and key is not None and key in self._results:
                return self._results[key], True
            self.effect_log.append((key, body))
            result = {"id": f"fx-{len(self.effect_log)}", "key": key, "method": method,
                      "path": path, "status": "done"}
            if key is not None:
                self._results.setdefault(key, result)
            return result, False
