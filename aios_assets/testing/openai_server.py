"""A real OpenAI-compatible HTTP server on loopback, for tests (no mocks of the client).

``OpenAIServer`` speaks just enough of the OpenAI API for the real ``openai`` client:

* ``POST /v1/chat/completions``: a deterministic answer derived from the model and the prompt
  (:func:`default_answer`), or a scripted one per model (:meth:`OpenAIServer.script`), with
  ``usage`` (tokens = ceil(chars / 4)).
* ``POST /v1/embeddings``: deterministic unit vectors (:func:`fake_embedding`) of ``dim``
  dimensions (or the request's ``dimensions``), with ``usage``. Stable across versions: other
  tests depend on these exact vectors.
* ``GET /v1/models``: the models seen or scripted so far.

Faults for the next requests are queued with :meth:`OpenAIServer.fail_next`: an HTTP status
(429 with ``Retry-After``, 500, ...), a slow answer (beyond the client's timeout) or a dropped
connection. Every request is logged (:attr:`OpenAIServer.requests`: path, model, the
Authorization header seen, the parsed body) so tests can assert on what reached the wire.

``latency_s`` delays every POST answer by that long (a model that takes its time), and
:attr:`OpenAIServer.max_in_flight` says how many requests were being handled at once at most,
so tests can see a client's concurrency without timing it. :meth:`OpenAIServer.hold_after`
answers the next ``n`` POST requests and holds every later one until :meth:`release` (or
shutdown); :attr:`OpenAIServer.answered` counts the POST answers sent.

``require_key`` makes the server answer 401 to any other key, echoing the key it got the way
real providers do ("Incorrect API key provided: ..."), so tests can check nothing leaks it.

Use it as a context manager; it binds 127.0.0.1 on a free port and shuts down cleanly (slow
answers are interrupted at shutdown)::

    with OpenAIServer(dim=8) as server:
        client = openai.OpenAI(base_url=server.url, api_key="x")
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# The server counts tokens with the rule of every AIOS budget: ceil(chars / 4).
from aios_assets.shared.text import estimate_tokens

Answer = str | list[str] | Callable[[str], str]


def default_answer(model: str, prompt: str) -> str:
    """The deterministic answer for ``prompt``: names the model and a hash of the prompt."""
    digest = hashlib.sha256(f"{model}\x00{prompt}".encode()).hexdigest()[:12]
    return f"[{model}] answer {digest}"


def fake_embedding(text: str, dim: int) -> list[float]:
    """A deterministic unit vector for ``text``: component j from sha256(text NUL j)."""
    raw = []
    for j in range(dim):
        block = hashlib.sha256(f"{text}\x00{j}".encode()).digest()
        (n,) = struct.unpack(">Q", block[:8])
        raw.append(n / 2**63 - 1.0)  # uniform in [-1, 1)
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


@dataclass(frozen=True)
class Fault:
    """What the server does to one request instead of answering it normally."""

    kind: str  # "status" | "slow" | "drop"
    status: int = 500
    retry_after: str | None = None
    delay_s: float = 0.0
    body: dict[str, Any] | None = None

    @classmethod
    def http(cls, status: int, retry_after: float | str | None = None) -> Fault:
        ra = None if retry_after is None else str(retry_after)
        return cls("status", status=status, retry_after=ra)

    @classmethod
    def rate_limited(cls, retry_after: float | str = 1) -> Fault:
        return cls.http(429, retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls.http(status)

    @classmethod
    def slow(cls, delay_s: float) -> Fault:
        """Answer normally, but only after ``delay_s`` (use more than the client's timeout)."""
        return cls("slow", delay_s=delay_s)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection (TCP reset) without answering."""
        return cls("drop")


@dataclass(frozen=True)
class SeenRequest:
    path: str
    model: str | None
    authorization: str | None
    body: dict[str, Any]
    fault: str | None
    at: float = field(default_factory=time.monotonic)

    @property
    def prompt(self) -> str:
        """The chat messages' text (or the embedding input) joined by newlines."""
        if "messages" in self.body:
            return "\n".join(str(m.get("content") or "") for m in self.body["messages"])
        inp = self.body.get("input", "")
        return "\n".join(inp) if isinstance(inp, list) else str(inp)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: with Nagle on, the client's delayed ACK adds
    # ~40 ms to every request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read OpenAIServer.requests instead

    def _read_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode(errors="replace")}
        return body if isinstance(body, dict) else {"_raw": body}

    def _send_json(self, status: int, payload: dict[str, Any],
                   headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _drop(self) -> None:
        # SO_LINGER 0 turns close() into a TCP reset: the client sees a connection reset.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def do_GET(self) -> None:
        owner = self.server.owner
        if self.path.rstrip("/").endswith("/models"):
            models = sorted({r.model for r in owner.requests if r.model} | set(owner.scripts))
            self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "aios-test"}
                for m in models]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}",
                                            "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        owner = self.server.owner
        owner._enter()
        try:
            self._post(owner)
        finally:
            owner._leave()

    def _post(self, owner: OpenAIServer) -> None:
        body = self._read_body()
        fault = owner._next_fault()
        seen = SeenRequest(
            path=self.path, model=body.get("model"),
            authorization=self.headers.get("Authorization"), body=body,
            fault=fault.kind if fault else None,
        )
        owner._log(seen)
        if owner.require_key is not None:
            sent = (seen.authorization or "").removeprefix("Bearer ").strip()
            if sent != owner.require_key:
                self._send_json(401, {"error": {
                    "message": f"Incorrect API key provided: {sent}.",
                    "type": "invalid_request_error", "code": "invalid_api_key"}})
                return
        if fault is not None:
            if fault.kind == "drop":
                self._drop()
                return
            if fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                self._send_json(fault.status, fault.body or {"error": {
                    "message": f"injected fault {fault.status}", "type": "server_error"}},
                    headers)
                return
            if fault.kind == "slow" and owner._stopping.wait(fault.delay_s):
                self._drop()  # shutting down: do not keep the test waiting
                return
        if not owner._admit():
            self._drop()  # held until shutdown
            return
        if owner.latency_s and owner._stopping.wait(owner.latency_s):
            self._drop()
            return
        path = self.path.split("?")[0].rstrip("/")
        if path.endswith("/chat/completions"):
            self._send_json(200, owner._chat(body))
            owner._answered()
        elif path.endswith("/embeddings"):
            self._send_json(200, owner._embeddings(body))
            owner._answered()
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}",
                                            "type": "invalid_request_error"}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    owner: OpenAIServer


class OpenAIServer:
    """A threaded OpenAI-compatible server on 127.0.0.1 (port 0); see the module docstring."""

    def __init__(self, *, dim: int = 8, require_key: str | None = None,
                 latency_s: float = 0.0) -> None:
        self.dim = dim
        self.require_key = require_key
        self.latency_s = latency_s
        self.max_in_flight = 0  # most POST requests handled at once
        self.answered = 0  # POST answers sent (200s)
        self._in_flight = 0
        self._admitted = 0
        self._hold_after: int | None = None
        self._released = threading.Event()
        self.scripts: dict[str, Answer] = {}
        self.requests: list[SeenRequest] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="openai-test-server", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The base URL for the openai client (``http://127.0.0.1:PORT/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    # --- scripting -------------------------------------------------------------------------
    def fail_next(self, *faults: Fault) -> None:
        """Queue faults: the next len(faults) POST requests get them, in order."""
        with self._lock:
            self._faults.extend(faults)

    def script(self, model: str, answer: Answer) -> None:
        """Answer chats to ``model`` with a fixed text, a sequence (last repeats) or f(prompt)."""
        with self._lock:
            self.scripts[model] = list(answer) if isinstance(answer, list) else answer

    def hold_after(self, n: int) -> None:
        """Answer the next ``n`` POST requests (after faults), then hold every later one
        unanswered until :meth:`release` or shutdown (a model that stops responding)."""
        with self._lock:
            self._hold_after = self._admitted + n
            self._released.clear()

    def release(self) -> None:
        """Let held requests (and every later one) through."""
        with self._lock:
            self._hold_after = None
        self._released.set()

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.requests.clear()
            self.scripts.clear()
            self.max_in_flight = 0
            self.answered = 0

    # --- inspection ------------------------------------------------------------------------
    def count(self, path: str | None = None, model: str | None = None) -> int:
        """Requests seen, optionally only those whose path ends with ``path`` / for ``model``."""
        with self._lock:
            return sum(1 for r in self.requests
                       if (path is None or r.path.rstrip("/").endswith(path.rstrip("/")))
                       and (model is None or r.model == model))

    @property
    def chat_requests(self) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    # --- internals -------------------------------------------------------------------------
    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _answered(self) -> None:
        with self._lock:
            self.answered += 1

    def _admit(self) -> bool:
        """Count this request; wait while it is beyond ``hold_after``. False: shutting down."""
        with self._lock:
            self._admitted += 1
            held = self._hold_after is not None and self._admitted > self._hold_after
        if held:
            self._released.wait()
        return not self._stopping.is_set()

    def _log(self, seen: SeenRequest) -> None:
        with self._lock:
            self.requests.append(seen)

    def _answer(self, model: str, prompt: str) -> str:
        with self._lock:
            scripted = self.scripts.get(model)
            if isinstance(scripted, list):
                text = scripted.pop(0) if len(scripted) > 1 else (scripted[0] if scripted else "")
                return text
        if scripted is None:
            return default_answer(model, prompt)
        if callable(scripted):
            return scripted(prompt)
        return scripted

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        model = str(body.get("model") or "unknown")
        messages = body.get("messages") or []
        prompt = "\n".join(str(m.get("content") or "") for m in messages)
        users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
        text = self._answer(model, users[-1] if users else prompt)
        pt, ct = estimate_tokens(prompt), estimate_tokens(text)
        digest = hashlib.sha256(f"{model}\x00{prompt}".encode()).hexdigest()[:16]
        return {
            "id": f"chatcmpl-{digest}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
        }

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("input", "")
        texts = [str(t) for t in inputs] if isinstance(inputs, list) else [str(inputs)]
        dim = int(body.get("dimensions") or self.dim)
        tokens = sum(estimate_tokens(t) for t in texts)
        return {
            "object": "list",
            "model": body.get("model") or "unknown",
            "data": [{"object": "embedding", "index": i,
                      "embedding": _encode(fake_embedding(t, dim), body.get("encoding_format"))}
                     for i, t in enumerate(texts)],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def _encode(vector: list[float], encoding_format: object) -> list[float] | str:
    # The openai client asks for base64 (little-endian float32) unless told otherwise.
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def running_server(**kwargs: Any) -> Iterator[OpenAIServer]:
    """Generator for a pytest fixture: ``yield from running_server(dim=8)``."""
    with OpenAIServer(**kwargs) as server:
        yield server
