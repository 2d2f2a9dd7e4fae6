"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests.

``SmtpSink`` records every accepted transmission (envelope, parsed message, Message-ID) so
tests can count messages by unique Message-ID (what a mail client shows) and by transmission
(what crossed the wire). Optional AUTH (``user``/``password``, plain text over loopback) and
scripted faults: ``drop_after_data`` keys make the server accept (store) the message and then
drop the connection before answering 250, the one case where a client cannot know the outcome.
``copy_to`` (e.g. a :class:`tests.imap_server.ImapMailbox`) gets every accepted message's raw
bytes by ``append``, as a provider that files sent mail into the account's Sent folder.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from aios_assets.testing.ports import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: Message

    @property
    def message_id(self) -> str | None:
        return self.message.get("Message-ID")

    @property
    def key(self) -> str | None:
        return self.message.get("X-AIOS-Idempotency-Key")


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        received = Received(envelope.mail_from, tuple(envelope.rcpt_tos),
                            message_from_bytes(raw))
        drop = self.sink._store(received)
        if self.sink.copy_to is not None:
            self.sink.copy_to.append(raw)
        if drop:
            # Stored, but the client never hears back: its outcome is unknown.
            server.transport.abort()
        return "250 OK queued"


class SmtpSink:
    """aiosmtpd on 127.0.0.1 with an in-memory mailbox; a context manager."""

    def __init__(self, *, user: str | None = None, password: str | None = None,
                 copy_to: Any | None = None) -> None:
        self.user = user
        self.password = password
        self.copy_to = copy_to
        self.received: list[Received] = []
        self.drop_after_data: set[str] = set()
        self._lock = threading.Lock()
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if user is not None:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False,
                      "auth_required": True}
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                      **kwargs)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == self.user
              and auth_data.password.decode() == self.password)
        return AuthResult(success=ok, handled=False)

    def _store(self, received: Received) -> bool:
        with self._lock:
            self.received.append(received)
            key = received.key
            if key in self.drop_after_data:
                self.drop_after_data.discard(key)
                return True
            return False

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def by_message_id(self) -> Counter:
        """Message-ID -> transmissions received."""
        with self._lock:
            return Counter(r.message_id for r in self.received)

    def message_ids_by_key(self) -> dict[str, set[str]]:
        """Idempotency key -> the distinct Message-IDs seen for it (must be exactly one)."""
        out: dict[str, set[str]] = {}
        with self._lock:
            for r in self.received:
                out.setdefault(r.key or "", set()).add(r.message_id or "")
        return out
