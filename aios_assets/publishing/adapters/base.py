"""The base of every capability adapter: one place for how AIOS calls the outside world.

A :class:`CapabilityAdapter` is a ``dg.ConfigurableResource`` that performs one kind of side
effect (email, webhook, HTTP API) for an outbox action. :meth:`CapabilityAdapter.send` wraps the
concrete adapter's single attempt (:meth:`CapabilityAdapter._attempt`) with:

* a timeout per attempt (``timeout_s``, applied by the concrete adapter's client);
* retries by tenacity with exponential backoff and jitter, honouring the server's Retry-After
  (capped by ``retry_after_cap_s``), bounded by ``max_attempts`` and ``max_elapsed_s``;
* a token-bucket rate limit (``rate_per_s``, ``rate_burst``) shared by the calls of one instance;
* a circuit breaker: ``breaker_threshold`` consecutive transient failures open it; while open,
  calls fail fast with :class:`CircuitOpen` (never reaching the service); after
  ``breaker_reset_s`` it half-opens and lets one trial call through, which closes it again on
  success or re-opens it on failure (both from ``aios_assets/shared/limits.py``, set up by its
  ``EndpointLimits`` as in the LLM resource);
* normalized errors: :class:`AdapterRetryable` (nothing happened, try later),
  :class:`AdapterPermanent` (refused for good, do not retry), :class:`AdapterUnknown` (the effect
  may or may not have happened: a timeout or dropped connection after the request was sent);
* the action's idempotency key on every attempt (the concrete adapter puts it on the wire);
* one row per attempt in ``aios.adapter_calls`` (adapter, capability, key, outcome, error class,
  status code, cost, latency) - never payloads, addresses, tokens or passwords.

Retrying an :class:`AdapterUnknown` inside :meth:`send` happens only when
``resend_is_safe()`` - the service deduplicates by idempotency key - otherwise the error goes
up so the outbox marks the action ``in_doubt`` for :meth:`reconcile`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

import dagster as dg
import psycopg
import tenacity
from pydantic import Field, PrivateAttr

from aios_assets.publishing.adapters.actions import (
    ADAPTER_CALLS_DDL,
    CALL_COLUMNS,
    AdapterError,
    AdapterNotConfigured,
    AdapterPermanent,
    AdapterRetryable,
    AdapterUnknown,
    AttemptResult,
    CircuitBreaker,
    CircuitOpen,
    DeliveryReceipt,
    OutboxAction,
    ensure_adapter_schema,
    idempotency_key,
    required_setting,
    setting,
)
from aios_assets.shared import limits
from aios_assets.shared.home import AiosHome
from aios_assets.shared.postgres import connect as pg_connect
from aios_assets.shared.postgres import resolve_url

logger = logging.getLogger("aios.adapters")

__all__ = [
    "CapabilityAdapter",
    "ADAPTER_CALLS_DDL",
    "CALL_COLUMNS",
    "AdapterError",
    "AdapterRetryable",
    "AdapterPermanent",
    "AdapterUnknown",
    "CircuitOpen",
    "AdapterNotConfigured",
    "setting",
    "required_setting",
    "OutboxAction",
    "DeliveryReceipt",
    "AttemptResult",
    "CircuitBreaker",
    "idempotency_key",
    "ensure_adapter_schema",
]


# --- the base resource -----------------------------------------------------------------------


class CapabilityAdapter(dg.ConfigurableResource):
    """Base of the capability adapters (see the module docstring for what it adds).

    Subclasses set ``capability`` and implement :meth:`_attempt` (one try, raising the
    normalized errors) and optionally :meth:`lookup` (ask the service whether the action with
    this idempotency key already took effect). Calls are recorded in ``postgres_url`` or
    ``$AIOS_POSTGRES_URL`` or the embedded server under ``home`` / ``$AIOS_HOME``.
    """

    capability: ClassVar[str] = "none"

    timeout_s: float = 10.0
    max_attempts: int = 4
    max_elapsed_s: float = 60.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_after_cap_s: float = 30.0
    rate_per_s: float | None = None
    rate_burst: int = 5
    breaker_threshold: int = 5
    breaker_reset_s: float = 30.0
    cost_per_call_usd: float = 0.0
    reconcile_resend: bool = True
    record_calls: bool = True
    postgres_url: str | None = Field(default=None, repr=False)
    home: str | None = None

    _limits: limits.EndpointLimits = PrivateAttr(
        default_factory=lambda: limits.EndpointLimits(CircuitBreaker))

    # --- to override ---------------------------------------------------------------------------
    def _attempt(self, action: OutboxAction) -> AttemptResult:
        """One try at the effect; raise AdapterRetryable / AdapterPermanent / AdapterUnknown."""
        raise NotImplementedError

    def supports_lookup(self) -> bool:
        """Whether :meth:`lookup` can ask the service about an idempotency key."""
        return False

    def lookup(self, action: OutboxAction) -> AttemptResult | None:
        """The earlier effect of this action's key, or None if the service has none."""
        raise NotImplementedError(f"{type(self).__name__} cannot look actions up")

    def resend_is_safe(self) -> bool:
        """True when the service deduplicates by idempotency key (so resending is harmless)."""
        return False

    def describe(self) -> str:
        """Where this adapter sends, for messages (no credentials)."""
        return type(self).__name__

    # --- state -------------------------------------------------------------------------------
    @property
    def breaker(self) -> limits.CircuitBreaker:
        return self._limits.breaker(self)

    # --- public API ----------------------------------------------------------------------------
    def send(self, action: OutboxAction) -> DeliveryReceipt:
        """Deliver ``action`` (retries, rate limit, breaker); raise the normalized errors."""
        calls: list[dict[str, Any]] = []
        try:
            result, attempts = self._with_retries(action, calls, "send", self._attempt)
        finally:
            self._record(calls)
        cost = self.cost_per_call_usd * sum(1 for c in calls if c["outcome"] != "circuit_open")
        return DeliveryReceipt(result.external_id, cost, attempts)

    def reconcile(self, action: OutboxAction) -> DeliveryReceipt | None:
        """Settle an action whose outcome is unknown.

        With lookup: the earlier effect if the service has one, else a resend with the same
        key. Without lookup: a resend with the same key if ``reconcile_resend`` (safe when the
        service dedupes; for services that do not, at-least-once), else None (leave it in
        doubt for the operator).
        """
        if self.supports_lookup():
            calls: list[dict[str, Any]] = []
            try:
                found, _ = self._with_retries(
                    action, calls, "lookup", self.lookup, allow_unknown_retry=True)
            finally:
                self._record(calls)
            if found is not None:
                return DeliveryReceipt(found.external_id, 0.0, 0)
        elif not self.reconcile_resend:
            return None
        return self.send(action)

    # --- internals ---------------------------------------------------------------------------
    def _retry_wait(self) -> Any:
        backoff = tenacity.wait_exponential_jitter(
            initial=self.backoff_initial_s, max=self.backoff_max_s, jitter=self.backoff_initial_s)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            asked = getattr(exc, "retry_after_s", None)
            if asked is not None:
                return min(float(asked), self.retry_after_cap_s)
            return backoff(state)

        return wait

    def _with_retries(self, action: OutboxAction, calls: list[dict[str, Any]], operation: str,
                      fn: Any, *, allow_unknown_retry: bool | None = None) -> tuple[Any, int]:
        retry_unknown = self.resend_is_safe() if allow_unknown_retry is None \
            else allow_unknown_retry

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, CircuitOpen):
                return False  # fail fast: the outbox reschedules after the cool-down
            if isinstance(exc, AdapterRetryable):
                return True
            return isinstance(exc, AdapterUnknown) and retry_unknown

        attempt_no = 0

        def one() -> Any:
            nonlocal attempt_no
            attempt_no += 1
            return self._one_attempt(action, calls, operation, fn, attempt_no)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(should_retry),
            stop=(tenacity.stop_after_attempt(max(1, self.max_attempts))
                  | tenacity.stop_after_delay(self.max_elapsed_s)),
            wait=self._retry_wait(),
            reraise=True,
        )
        result = retrying(one)
        return result, attempt_no

    def _one_attempt(self, action: OutboxAction, calls: list[dict[str, Any]], operation: str,
                     fn: Any, attempt_no: int) -> Any:
        started = time.monotonic()
        row: dict[str, Any] = {
            "call_id": uuid.uuid4(), "called_at": datetime.now(UTC),
            "adapter": type(self).__name__, "capability": self.capability,
            "operation": operation, "idempotency_key": action.idempotency_key,
            "proposal_id": action.proposal_id, "agent": action.agent, "run_id": action.run_id,
            "attempt": attempt_no, "outcome": "ok", "error_class": None, "status_code": None,
            "retry_after_s": None, "external_id": None,
            "cost_usd": 0.0 if operation == "lookup" else self.cost_per_call_usd,
            "latency_ms": 0,
        }
        try:
            limits.admit(self.breaker, self._limits.bucket(self))
            result = fn(action)
        except AdapterError as exc:
            if isinstance(exc, CircuitOpen):
                row["cost_usd"] = 0.0
            elif isinstance(exc, AdapterRetryable | AdapterUnknown):
                self.breaker.failure()
            else:
                self.breaker.neutral()
            row.update(outcome=exc.outcome, error_class=exc.error_class,
                       status_code=exc.status_code, retry_after_s=exc.retry_after_s)
            logger.info("%s %s %s attempt %d: %s (%s)", self.describe(), operation,
                        action.idempotency_key, attempt_no, exc.outcome, exc.error_class)
            raise
        except Exception as exc:
            # A bug or an unexpected library error: we cannot tell whether the effect happened.
            self.breaker.failure()
            row.update(outcome="unknown", error_class=type(exc).__name__)
            raise AdapterUnknown(f"{self.describe()}: unexpected {type(exc).__name__}",
                                 error_class=type(exc).__name__) from exc
        finally:
            row["latency_ms"] = int((time.monotonic() - started) * 1000)
            calls.append(row)
        self.breaker.success()
        if result is not None:
            row["external_id"] = result.external_id
            row["status_code"] = result.status_code
        return result

    def ledger_url(self) -> str:
        url = self.postgres_url or resolve_url(AiosHome.from_env(self.home))
        ensure_adapter_schema(url)
        return url

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        con = pg_connect(self.ledger_url(), autocommit=True)
        try:
            yield con
        finally:
            con.close()

    def _record(self, calls: list[dict[str, Any]]) -> None:
        if not self.record_calls or not calls:
            return
        cols = ", ".join(CALL_COLUMNS)
        vals = ", ".join(f"%({c})s" for c in CALL_COLUMNS)
        try:
            with self._connect() as con, con.cursor() as cur:
                cur.executemany(f"INSERT INTO aios.adapter_calls ({cols}) VALUES ({vals})", calls)
        except (psycopg.Error, OSError, RuntimeError) as exc:
            # The effect already happened (or not); failing here would misreport it. The
            # outbox row remains the record of truth; the audit gap is logged.
            logger.warning("could not record %d adapter call(s): %s", len(calls),
                           type(exc).__name__)
