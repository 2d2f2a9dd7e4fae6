"""What an adapter and the outbox exchange, without Dagster: the outbox action, the delivery
receipt, the normalized errors, idempotency keys and the ``aios.adapter_calls`` table. The
outbox and its readers (``aios proposals``) need only these; :mod:`.base` builds the adapters
on them.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from typing import Any, ClassVar

from aios_assets.shared import limits
from aios_assets.shared.postgres import apply_ddl

logger = logging.getLogger("aios.adapters")

ADAPTER_CALLS_DDL = """
CREATE TABLE IF NOT EXISTS aios.adapter_calls (
    call_id uuid PRIMARY KEY,
    called_at timestamptz NOT NULL,
    adapter text NOT NULL,
    capability text NOT NULL,
    operation text NOT NULL,
    idempotency_key text,
    proposal_id text,
    agent text,
    run_id text,
    attempt integer NOT NULL,
    outcome text NOT NULL,
    error_class text,
    status_code integer,
    retry_after_s double precision,
    external_id text,
    cost_usd double precision NOT NULL,
    latency_ms integer NOT NULL
);
CREATE INDEX IF NOT EXISTS adapter_calls_called_at ON aios.adapter_calls (called_at);
CREATE INDEX IF NOT EXISTS adapter_calls_key ON aios.adapter_calls (idempotency_key);
"""

CALL_COLUMNS = (
    "call_id", "called_at", "adapter", "capability", "operation", "idempotency_key",
    "proposal_id", "agent", "run_id", "attempt", "outcome", "error_class", "status_code",
    "retry_after_s", "external_id", "cost_usd", "latency_ms",
)


# --- errors ---------------------------------------------------------------------------------


class AdapterError(RuntimeError):
    """Base of the normalized adapter errors. Messages never carry secrets or payloads."""

    outcome: ClassVar[str] = "error"

    def __init__(self, message: str, *, error_class: str | None = None,
                 status_code: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.error_class = error_class or type(self).__name__
        self.status_code = status_code
        self.retry_after_s = retry_after_s


class AdapterRetryable(AdapterError):
    """Nothing happened (or the service asked us to come back): safe to try again later."""

    outcome = "retryable"


class AdapterPermanent(AdapterError):
    """The service (or the adapter, for bad input) refused the action for good."""

    outcome = "permanent"


class AdapterUnknown(AdapterError):
    """The request may have taken effect: it was sent but no answer came back."""

    outcome = "unknown"


class CircuitOpen(AdapterRetryable, limits.CircuitOpen):
    """The breaker is open: the call was not attempted. ``retry_after_s`` = rest of cool-down.
    An adapter error (retry later) and the shared breaker's :class:`limits.CircuitOpen`."""

    outcome = "circuit_open"


class AdapterNotConfigured(AdapterPermanent):
    """A required setting (host, URL) is missing; names the environment variable to set."""


def setting(value: str | None, env: str) -> str:
    """An adapter setting: its config value, else ``$env``, stripped ("" when neither)."""
    return (value or os.environ.get(env) or "").strip()


def required_setting(value: str | None, env: str, what: str) -> str:
    """:func:`setting`, or :class:`AdapterNotConfigured` naming the variable to set."""
    found = setting(value, env)
    if not found:
        raise AdapterNotConfigured(f"no {what}: set ${env}")
    return found


@dataclass(frozen=True)
class OutboxAction:
    """One approved action to execute once, keyed by ``idempotency_key``: what the outbox
    (``aios_assets/publishing/outbox.py``) hands an adapter."""

    idempotency_key: str
    proposal_id: str
    action_type: str
    capability: str
    payload: dict[str, Any]
    agent: str
    run_id: str | None = None


@dataclass(frozen=True)
class DeliveryReceipt:
    """What a successful delivery returns: the service's id for it, its cost, attempts used."""

    external_id: str | None
    cost_usd: float
    attempts: int


@dataclass(frozen=True)
class AttemptResult:
    """One successful attempt of a concrete adapter."""

    external_id: str | None
    status_code: int | None = None


class CircuitBreaker(limits.CircuitBreaker):
    """The shared breaker (``aios_assets/shared/limits.py``), raising the adapters'
    :class:`CircuitOpen` so the outbox reschedules the action after the cool-down."""

    open_error = CircuitOpen


# --- pure helpers ---------------------------------------------------------------------------


def idempotency_key(*parts: object) -> str:
    """A stable key from parts (sha256 hex, 32 chars): the same parts give the same key."""
    raw = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


_SCHEMA_READY: set[str] = set()


def ensure_adapter_schema(url: str) -> None:
    """Create ``aios.adapter_calls`` once per database (idempotent)."""
    if url not in _SCHEMA_READY:
        apply_ddl(url, "adapter_calls_v1", ADAPTER_CALLS_DDL)
        _SCHEMA_READY.add(url)
