"""Free loopback ports for the test servers (aiosmtpd, Dovecot, Radicale, the UIs)."""

from __future__ import annotations

import socket
import threading
from collections import deque

_recent: deque[int] = deque(maxlen=256)
_lock = threading.Lock()


def free_port() -> int:
    """A free port on 127.0.0.1 that this process has not handed out recently: once a probe
    socket is closed the kernel may offer the same port again, and two servers started side by
    side (the UI and the console) would then be given one port."""
    with _lock:
        for _ in range(100):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _recent:
                _recent.append(port)
                return port
    raise RuntimeError("no free loopback port that was not just handed out")
