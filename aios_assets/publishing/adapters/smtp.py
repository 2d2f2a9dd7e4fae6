"""Email over SMTP (smtplib) with a deterministic Message-ID.

Configuration: ``host``/``port``/``user``/``password`` fields, each falling back to
``$AIOS_SMTP_HOST`` / ``$AIOS_SMTP_PORT`` (default 25) / ``$AIOS_SMTP_USER`` /
``$AIOS_SMTP_PASSWORD`` (login only when a user is set); ``$AIOS_SMTP_FROM`` for the sender.
In Dagster: ``SmtpAdapter(password=dg.EnvVar("AIOS_SMTP_PASSWORD"))``.

The Message-ID is derived from the idempotency key (:func:`message_id`), so every
transmission of one action - retries, reconciliation after a crash - carries the same
Message-ID. SMTP itself has no server-side deduplication: a resend after an unknown outcome can
reach the server twice, as the same message. See ``docs/adapters.md`` for the guarantee.

Lookup through IMAP (optional): when ``imap_host`` / ``$AIOS_IMAP_HOST`` is set,
:meth:`SmtpAdapter.lookup` logs in to the account's IMAP server (``imap_port`` /
``$AIOS_IMAP_PORT``, default 993 with TLS or 143 with ``imap_ssl=False`` /
``$AIOS_IMAP_SSL=0``; ``imap_user`` / ``$AIOS_IMAP_USER`` and ``imap_password`` /
``$AIOS_IMAP_PASSWORD``, defaulting to the SMTP ones), opens ``imap_folder`` /
``$AIOS_IMAP_FOLDER`` (default ``Sent``) read-only and searches it for the action's
Message-ID. Reconciliation then settles an unknown outcome without a second transmission:
found means delivered, not found means it never left (sent now, once). If the lookup itself
fails (IMAP down, bad login, no such folder) the action stays ``in_doubt`` and is looked up
again at the next reconciliation - never resent blindly.
"""

from __future__ import annotations

import hashlib
import imaplib
import os
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, ClassVar

from pydantic import Field, PrivateAttr

from aios_assets.publishing.adapters.base import (
    AdapterError,
    AdapterNotConfigured,
    AdapterPermanent,
    AdapterRetryable,
    AdapterUnknown,
    AttemptResult,
    CapabilityAdapter,
    CircuitBreaker,
    DeliveryReceipt,
    OutboxAction,
    required_setting,
    setting,
)
from aios_assets.shared import limits
from aios_assets.shared.limits import EndpointLimits

HOST_ENV = "AIOS_SMTP_HOST"
PORT_ENV = "AIOS_SMTP_PORT"
USER_ENV = "AIOS_SMTP_USER"
PASSWORD_ENV = "AIOS_SMTP_PASSWORD"
FROM_ENV = "AIOS_SMTP_FROM"
DEFAULT_FROM = "aios@localhost"
IMAP_HOST_ENV = "AIOS_IMAP_HOST"
IMAP_PORT_ENV = "AIOS_IMAP_PORT"
IMAP_SSL_ENV = "AIOS_IMAP_SSL"
IMAP_USER_ENV = "AIOS_IMAP_USER"
IMAP_PASSWORD_ENV = "AIOS_IMAP_PASSWORD"
IMAP_FOLDER_ENV = "AIOS_IMAP_FOLDER"
DEFAULT_IMAP_FOLDER = "Sent"


def message_id(key: str, domain: str = "aios.local") -> str:
    """The Message-ID for an idempotency key: ``<aios.{sha256(key)[:32]}@{domain}>``."""
    return f"<aios.{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _addresses(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        items = [a.strip() for a in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(a).strip() for a in value]
    elif value is None:
        items = []
    else:
        raise AdapterPermanent(f"send_email payload field {field!r} must be a string or a list",
                               error_class="BadPayload")
    items = [a for a in items if a]
    for address in items:
        if "@" not in address or any(c in address for c in "\r\n"):
            raise AdapterPermanent(f"send_email payload field {field!r} has an invalid address",
                                   error_class="BadPayload")
    return items


def build_message(action: OutboxAction, sender: str, domain: str) -> tuple[EmailMessage,
                                                                           list[str]]:
    """The email for a send_email action and its envelope recipients; bad payload: permanent."""
    payload = action.payload
    to = _addresses(payload.get("to"), "to")
    cc = _addresses(payload.get("cc"), "cc")
    if not to:
        raise AdapterPermanent("send_email payload needs 'to'", error_class="BadPayload")
    subject = payload.get("subject")
    body = payload.get("body")
    if not isinstance(subject, str) or not isinstance(body, str):
        raise AdapterPermanent("send_email payload needs string 'subject' and 'body'",
                               error_class="BadPayload")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject.replace("\r", " ").replace("\n", " ")
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(action.idempotency_key, domain)
    reply_to = payload.get("in_reply_to")
    if isinstance(reply_to, str) and reply_to.strip():
        msg["In-Reply-To"] = reply_to.strip()
        msg["References"] = reply_to.strip()
    msg["X-AIOS-Idempotency-Key"] = action.idempotency_key
    msg.set_content(body)
    return msg, to + cc


def _smtp_error(exc: smtplib.SMTPResponseException, phase: str) -> Exception:
    code = int(exc.smtp_code)
    label = f"{type(exc).__name__} {code}"
    if 400 <= code < 500:
        return AdapterRetryable(f"SMTP {phase} deferred ({code})", error_class=label,
                                status_code=code)
    return AdapterPermanent(f"SMTP {phase} refused ({code})", error_class=label, status_code=code)


def _imap_quoted(value: str, what: str) -> str:
    """``value`` as an IMAP quoted string (ASCII, no line breaks), for a folder or a header."""
    if not value.isascii() or any(c in value for c in "\r\n\0"):
        raise AdapterNotConfigured(f"{what} must be ASCII without line breaks")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw not in ("0", "false", "no", "off")


class SmtpAdapter(CapabilityAdapter):
    """Sends ``send_email`` actions over SMTP; see the module docstring for configuration."""

    capability: ClassVar[str] = "email"

    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = Field(default=None, repr=False)
    sender: str | None = None
    starttls: bool = False
    use_ssl: bool = False
    message_id_domain: str = "aios.local"
    imap_host: str | None = None
    imap_port: int | None = None
    imap_ssl: bool | None = None
    imap_user: str | None = None
    imap_password: str | None = Field(default=None, repr=False)
    imap_folder: str | None = None

    # IMAP lookups get their own breaker (same settings): an IMAP outage must not stop SMTP
    # sending. _imap_breaker is the one _imap_limits built, once a lookup ran.
    _imap_limits: EndpointLimits = PrivateAttr(
        default_factory=lambda: EndpointLimits(CircuitBreaker))
    _imap_breaker: limits.CircuitBreaker | None = PrivateAttr(default=None)
    _in_lookup: threading.local = PrivateAttr(default_factory=threading.local)

    def _host(self) -> str:
        return required_setting(self.host, HOST_ENV, "SMTP host")

    def _port(self) -> int:
        if self.port:
            return self.port
        raw = os.environ.get(PORT_ENV) or ("465" if self.use_ssl else "25")
        try:
            return int(raw)
        except ValueError:
            raise AdapterNotConfigured(f"${PORT_ENV} must be a port number") from None

    def describe(self) -> str:
        try:
            return f"smtp://{self._host()}:{self._port()}"
        except AdapterNotConfigured:
            return "smtp://(unconfigured)"

    # --- IMAP lookup -----------------------------------------------------------------------
    def _imap_host(self) -> str:
        return setting(self.imap_host, IMAP_HOST_ENV)

    def _imap_ssl(self) -> bool:
        return self.imap_ssl if self.imap_ssl is not None else _env_flag(IMAP_SSL_ENV, True)

    def _imap_port(self) -> int:
        if self.imap_port:
            return self.imap_port
        raw = os.environ.get(IMAP_PORT_ENV) or ("993" if self._imap_ssl() else "143")
        try:
            return int(raw)
        except ValueError:
            raise AdapterNotConfigured(f"${IMAP_PORT_ENV} must be a port number") from None

    def supports_lookup(self) -> bool:
        """True when an IMAP host is configured (``imap_host`` or ``$AIOS_IMAP_HOST``)."""
        return bool(self._imap_host())

    @property
    def breaker(self) -> limits.CircuitBreaker:
        if not getattr(self._in_lookup, "active", False):
            return super().breaker
        self._imap_breaker = self._imap_limits.breaker(self)
        return self._imap_breaker

    def lookup(self, action: OutboxAction) -> AttemptResult | None:
        """Search the IMAP folder for this action's Message-ID: the result if found, else None.

        One try; raises AdapterRetryable (connection failed or lost), AdapterPermanent (login
        refused, folder missing) or AdapterNotConfigured. Never sends anything.
        """
        host = self._imap_host()
        if not host:
            raise AdapterNotConfigured(f"no IMAP host: set ${IMAP_HOST_ENV}")
        port, use_ssl = self._imap_port(), self._imap_ssl()
        user = self.imap_user or os.environ.get(IMAP_USER_ENV) or self.user \
            or os.environ.get(USER_ENV)
        password = self.imap_password or os.environ.get(IMAP_PASSWORD_ENV) or self.password \
            or os.environ.get(PASSWORD_ENV) or ""
        if not user:
            raise AdapterNotConfigured(f"no IMAP user: set ${IMAP_USER_ENV} (or ${USER_ENV})")
        folder = self.imap_folder or os.environ.get(IMAP_FOLDER_ENV) or DEFAULT_IMAP_FOLDER
        mid = message_id(action.idempotency_key, self.message_id_domain)
        quoted_folder = _imap_quoted(folder, f"${IMAP_FOLDER_ENV}")
        quoted_mid = _imap_quoted(mid, "message_id_domain")
        try:
            if use_ssl:
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    host, port, ssl_context=ssl.create_default_context(), timeout=self.timeout_s)
            else:
                imap = imaplib.IMAP4(host, port, timeout=self.timeout_s)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise AdapterRetryable(f"IMAP connect to {host}:{port} failed ({type(exc).__name__})",
                                   error_class=f"Imap{type(exc).__name__}") from None
        phase = "login"
        try:
            try:
                imap.login(user, password)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error:
                raise AdapterPermanent(
                    f"IMAP login refused by {host}:{port}; check ${IMAP_USER_ENV}/"
                    f"${IMAP_PASSWORD_ENV} (default: the SMTP user/password)",
                    error_class="ImapLoginRefused") from None
            phase = "select"
            typ, _ = imap.select(quoted_folder, readonly=True)
            if typ != "OK":
                raise AdapterPermanent(
                    f"IMAP folder {folder!r} cannot be opened; check ${IMAP_FOLDER_ENV}",
                    error_class="ImapNoFolder")
            phase = "search"
            typ, data = imap.uid("SEARCH", "HEADER", "Message-ID", quoted_mid)
            if typ != "OK":
                raise AdapterRetryable(f"IMAP search failed ({typ})",
                                       error_class="ImapSearchFailed")
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise AdapterRetryable(f"IMAP {phase} failed ({type(exc).__name__})",
                                   error_class=f"Imap{type(exc).__name__}") from None
        except imaplib.IMAP4.error:
            raise AdapterPermanent(f"IMAP {phase} refused by {host}:{port}",
                                   error_class="ImapError") from None
        finally:
            try:
                imap.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
        uids = b" ".join(d for d in data if isinstance(d, bytes)).split()
        return AttemptResult(external_id=mid) if uids else None

    def reconcile(self, action: OutboxAction) -> DeliveryReceipt | None:
        """Settle an unknown outcome; with IMAP configured, look it up before sending.

        Found in the folder: delivered (no transmission). Not found: sent now. The lookup
        failed: :class:`AdapterUnknown`, so the outbox keeps the action ``in_doubt`` and asks
        again at the next reconciliation. Without IMAP: as :meth:`CapabilityAdapter.reconcile`.
        """
        if not self.supports_lookup():
            return super().reconcile(action)
        calls: list[dict[str, Any]] = []
        self._in_lookup.active = True
        try:
            found, _ = self._with_retries(action, calls, "lookup", self.lookup,
                                          allow_unknown_retry=True)
        except AdapterError as exc:
            raise AdapterUnknown(f"outcome still unknown, not resent: IMAP lookup failed: {exc}",
                                 error_class=exc.error_class,
                                 status_code=exc.status_code) from None
        finally:
            self._in_lookup.active = False
            self._record(calls)
        if found is not None:
            return DeliveryReceipt(found.external_id, 0.0, 0)
        return self.send(action)

    def _attempt(self, action: OutboxAction) -> AttemptResult:
        msg, recipients = build_message(
            action, self.sender or os.environ.get(FROM_ENV) or DEFAULT_FROM,
            self.message_id_domain)
        user = self.user or os.environ.get(USER_ENV)
        password = self.password or os.environ.get(PASSWORD_ENV)
        host, port = self._host(), self._port()
        phase = "connect"
        try:
            cls = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
            with cls(host, port, timeout=self.timeout_s) as smtp:
                phase = "ehlo"
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if user:
                    phase = "login"
                    smtp.login(user, password or "")
                phase = "envelope"
                code, _ = smtp.mail(str(msg["From"]))
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, b"", str(msg["From"]))
                for rcpt in recipients:
                    code, _ = smtp.rcpt(rcpt)
                    if code not in (250, 251):
                        raise smtplib.SMTPRecipientsRefused({rcpt: (code, b"")})
                # From here on the server may have the message although we never hear back.
                phase = "data"
                code, _ = smtp.data(msg.as_bytes())
                if code != 250:
                    raise smtplib.SMTPDataError(code, b"")
                phase = "quit"
        except smtplib.SMTPAuthenticationError as exc:
            raise AdapterPermanent(
                f"SMTP login refused ({exc.smtp_code}); check ${USER_ENV}/${PASSWORD_ENV}",
                error_class=f"SMTPAuthenticationError {exc.smtp_code}",
                status_code=exc.smtp_code) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [c for c, _ in exc.recipients.values()]
            transient = all(400 <= int(c) < 500 for c in codes)
            cls_ = AdapterRetryable if transient else AdapterPermanent
            raise cls_(f"SMTP recipients refused ({sorted(set(codes))})",
                       error_class="SMTPRecipientsRefused",
                       status_code=int(codes[0]) if codes else None) from None
        except smtplib.SMTPResponseException as exc:
            raise _smtp_error(exc, phase) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # OSError covers refused/reset connections and socket timeouts.
            label = type(exc).__name__
            if phase == "quit":
                pass  # the message was accepted (250); a failing QUIT changes nothing
            elif phase == "data":
                raise AdapterUnknown(f"SMTP connection lost after sending DATA ({label})",
                                     error_class=label) from None
            else:
                raise AdapterRetryable(f"SMTP {phase} failed ({label})",
                                       error_class=label) from None
        except smtplib.SMTPException as exc:
            raise AdapterRetryable(f"SMTP {phase} failed ({type(exc).__name__})",
                                   error_class=type(exc).__name__) from None
        return AttemptResult(external_id=str(msg["Message-ID"]), status_code=250)


__all__ = ["SmtpAdapter", "build_message", "message_id"]
