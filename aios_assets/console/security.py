"""Sessions, CSRF tokens, the optional password, and the bind-address rule.

- A session is a random id in an HttpOnly, SameSite=Strict cookie, signed with a key that lives
  only in this process (a restart logs everyone out, which is fine for one operator).
- The CSRF token of a session is ``HMAC(key, "csrf:" + session id)``: every form carries it in
  a hidden field (htmx requests in the ``X-CSRF-Token`` header too), and a POST without the
  right one is refused with 403 before any handler runs.
- With ``AIOS_CONSOLE_PASSWORD`` set, every page but the login page and static files needs a
  logged-in session; the password is compared in constant time and never stored or shown.
- Binding anything but a loopback address without a password is refused at start.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import socket
from dataclasses import dataclass, field

PASSWORD_ENV = "AIOS_CONSOLE_PASSWORD"
SESSION_COOKIE = "aios_console_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class BindRefused(ValueError):
    """A non-loopback bind without a password."""


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback address."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_bind(host: str, password: str | None) -> None:
    if not is_loopback(host) and not password:
        raise BindRefused(f"refusing to serve the console on {host} without a password: set "
                          f"{PASSWORD_ENV} (required for any non-loopback address)")


@dataclass
class Guard:
    """Per-process signing key, logged-in sessions, and the password (if any)."""

    password: str | None = None
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _logged_in: set[str] = field(default_factory=set)

    @classmethod
    def from_env(cls) -> Guard:
        return cls(password=os.environ.get(PASSWORD_ENV) or None)

    def _sign(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> tuple[str, str]:
        """(session id, cookie value)."""
        sid = secrets.token_urlsafe(24)
        return sid, f"{sid}.{self._sign('session:' + sid)}"

    def session_of(self, cookie: str | None) -> str | None:
        """The session id in a cookie whose signature holds, else None."""
        if not cookie or "." not in cookie:
            return None
        sid, sig = cookie.rsplit(".", 1)
        return sid if hmac.compare_digest(sig, self._sign("session:" + sid)) else None

    def csrf_token(self, sid: str) -> str:
        return self._sign("csrf:" + sid)

    def csrf_ok(self, sid: str | None, token: str | None) -> bool:
        return bool(sid and token and hmac.compare_digest(token, self.csrf_token(sid)))

    @property
    def needs_login(self) -> bool:
        return self.password is not None

    def logged_in(self, sid: str | None) -> bool:
        return not self.needs_login or (sid is not None and sid in self._logged_in)

    def login(self, sid: str, password: str) -> bool:
        ok = self.password is not None and hmac.compare_digest(
            password.encode(), self.password.encode())
        if ok:
            self._logged_in.add(sid)
        return ok

    def logout(self, sid: str | None) -> None:
        self._logged_in.discard(sid or "")
