"""Email over SMTP (smtplib) with a deterministic Message-ID.

Configuration: ``host``/``port``/``user``/``password`` fields, each falling back to
``$AIOS_SMTP_HOST`` / ``$AIOS_SMTP_PORT`` (default 25) / ``$AIOS_SMTP_USER`` /
``$AIOS_SMTP_PASSWORD`` (login only when a user is set); ``$AIOS_SMTP_FROM`` for the sender.
In Dagster: ``SmtpAdapter(password=dg.EnvVar("AIOS_SMTP_PASSWORD"))``.

The Message-ID is derived from the idempotency key (:func:`message_id`), so every
transmission of one action - retries, reconciliation after a crash - carries the same
Message-ID. SMTP itself has no server-side deduplication: a resend after an unknown outcome can
reach the server twice, as the same message. See ``docs/adapters.md`` for the guarantee.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from resources.adapters.base import (
    AdapterNotConfigured,
    AdapterPermanent,
    AdapterRetryable,
    AdapterUnknown,
    AttemptResult,
    CapabilityAdapter,
)

if TYPE_CHECKING:
    from resources.outbox import OutboxAction

HOST_ENV = "AIOS_SMTP_HOST"
PORT_ENV = "AIOS_SMTP_PORT"
USER_ENV = "AIOS_SMTP_USER"
PASSWORD_ENV = "AIOS_SMTP_PASSWORD"
FROM_ENV = "AIOS_SMTP_FROM"
DEFAULT_FROM = "aios@localhost"


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

    def _host(self) -> str:
        host = (self.host or os.environ.get(HOST_ENV) or "").strip()
        if not host:
            raise AdapterNotConfigured(f"no SMTP host: set ${HOST_ENV}")
        return host

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
