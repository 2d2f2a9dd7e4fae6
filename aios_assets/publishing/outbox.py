"""The action outbox: approved actions executed exactly once through capability adapters.

State lives in Postgres (``aios.outbox``, one row per idempotency key). The protocol:

1. :meth:`Outbox.enqueue` inserts actions idempotently by key (re-enqueueing the same action is
   a no-op; the same key with a different action is an :class:`OutboxConflict`).
2. :meth:`Outbox.publish` claims one row at a time in a short transaction
   (``SELECT ... FOR UPDATE SKIP LOCKED``, status ``claimed`` with a fresh claim token and time,
   attempts + 1), commits, calls the adapter with the action's idempotency key outside any
   transaction, then records the outcome guarded by the claim token:
   ``delivered`` (external id), ``pending`` again with ``next_attempt_at`` (retryable),
   ``failed_permanent`` (permanent, or retryable ``max_attempts`` times), ``in_doubt``
   (unknown: the effect may have happened). Capabilities an agent may not use (``allowed``) are
   ``refused`` without calling anything.
3. :meth:`Outbox.reconcile` settles rows left ``claimed`` (a crashed publisher) or ``in_doubt``
   for longer than ``older_than_s``: it re-claims them and asks the adapter to settle them with
   the same idempotency key (lookup by key where the service supports it, else resend with the
   same key / the same Message-ID). See ``docs/adapters.md`` for the guarantee per adapter.

Actions with capability ``none`` (internal notes) have no external effect and are marked
delivered without an adapter.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import dict_row

from aios_assets.publishing.adapters.actions import (
    AdapterError,
    AdapterNotConfigured,
    AdapterPermanent,
    AdapterRetryable,
    AdapterUnknown,
    CircuitOpen,
    DeliveryReceipt,
    OutboxAction,
)
from aios_assets.shared.postgres import Postgres, PostgresAccess, apply_ddl

if TYPE_CHECKING:  # the adapters (Dagster resources) are only passed in
    from aios_assets.publishing.adapters.base import CapabilityAdapter

logger = logging.getLogger("aios.outbox")

STATUSES = ("pending", "claimed", "delivered", "failed_permanent", "refused", "in_doubt")
NO_CAPABILITY = "none"
# What to set so that default_adapters() has an adapter for a capability (for messages).
ADAPTER_ENV = {"email": "AIOS_SMTP_HOST", "webhook": "AIOS_WEBHOOK_URL",
               "http": "AIOS_API_BASE_URL", "calendar": "AIOS_CALDAV_URL"}

OUTBOX_DDL = """
CREATE TABLE IF NOT EXISTS aios.outbox (
    idempotency_key text PRIMARY KEY,
    seq bigserial NOT NULL,
    proposal_id text NOT NULL,
    action_type text NOT NULL,
    capability text NOT NULL,
    agent text NOT NULL,
    run_id text,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN
        ('pending', 'claimed', 'delivered', 'failed_permanent', 'refused', 'in_doubt')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    enqueued_at timestamptz NOT NULL DEFAULT now(),
    claim_token uuid,
    claimed_at timestamptz,
    external_id text,
    cost_usd double precision NOT NULL DEFAULT 0,
    delivered_at timestamptz,
    error_class text,
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS outbox_status_next ON aios.outbox (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_proposal ON aios.outbox (proposal_id);
"""

ROW_COLUMNS = (
    "idempotency_key", "proposal_id", "action_type", "capability", "agent", "run_id",
    "payload", "status", "attempts", "next_attempt_at", "enqueued_at", "claim_token",
    "claimed_at", "external_id", "cost_usd", "delivered_at", "error_class", "last_error",
    "updated_at",
)

# on_step hook points, in publishing order (tests kill the process at each).
STEPS = ("claimed", "sent", "recorded")


class OutboxError(RuntimeError):
    """Base of the outbox's own errors."""


class OutboxConflict(OutboxError):
    """An idempotency key is already enqueued for a different action."""


class BadAction(OutboxError, ValueError):
    """An action cannot be enqueued as given (empty key, payload not a JSON object, ...)."""


@dataclass(frozen=True)
class OutboxRow:
    """A row of ``aios.outbox``."""

    idempotency_key: str
    proposal_id: str
    action_type: str
    capability: str
    agent: str
    run_id: str | None
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    enqueued_at: datetime
    claim_token: uuid.UUID | None
    claimed_at: datetime | None
    external_id: str | None
    cost_usd: float
    delivered_at: datetime | None
    error_class: str | None
    last_error: str | None
    updated_at: datetime

    def action(self) -> OutboxAction:
        return OutboxAction(self.idempotency_key, self.proposal_id, self.action_type,
                            self.capability, self.payload, self.agent, self.run_id)


@dataclass(frozen=True)
class OutboxResult:
    """What one publish/reconcile step did to one action."""

    idempotency_key: str
    status: str
    external_id: str | None = None
    attempts: int = 0
    error_class: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def validate_action(action: OutboxAction) -> None:
    """Raise :class:`BadAction` with a clear reason if ``action`` cannot be enqueued."""
    if not isinstance(action, OutboxAction):
        raise BadAction(f"expected an OutboxAction, got {type(action).__name__}")
    for name in ("idempotency_key", "proposal_id", "action_type", "capability", "agent"):
        value = getattr(action, name)
        if not isinstance(value, str) or not value.strip():
            raise BadAction(f"action {action.idempotency_key!r}: {name} must be a non-empty "
                            "string")
    if not isinstance(action.payload, dict):
        raise BadAction(f"action {action.idempotency_key!r}: payload must be a JSON object")
    try:
        json.dumps(action.payload)
    except (TypeError, ValueError) as exc:
        raise BadAction(f"action {action.idempotency_key!r}: payload is not JSON ({exc})") \
            from None


def retry_delay_s(attempts: int, base_s: float, max_s: float, asked_s: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Delay before the next publish attempt: the service's wish, else full-jitter backoff."""
    if asked_s is not None:
        return min(max(0.0, asked_s), max_s)
    ceiling = min(max_s, base_s * (2 ** max(0, attempts - 1)))
    return (rng or random).uniform(ceiling / 2, ceiling)


def _same_action(row: dict[str, Any], action: OutboxAction) -> bool:
    return (row["proposal_id"], row["action_type"], row["capability"], row["agent"],
            row["payload"]) == (action.proposal_id, action.action_type, action.capability,
                                action.agent, json.loads(json.dumps(action.payload)))


_SCHEMA_READY: set[str] = set()


class Outbox:
    """The Postgres outbox (see the module docstring).

    ``max_attempts``: after this many retryable failures an action is ``failed_permanent``.
    ``retry_base_s`` / ``retry_max_s``: backoff between publish attempts. ``on_step(step, key)``
    is called after each step of publishing (``claimed``, ``sent``, ``recorded``); tests use it
    to kill the process at exact points.
    """

    def __init__(self, store: PostgresAccess | None = None, *, max_attempts: int = 8,
                 retry_base_s: float = 5.0, retry_max_s: float = 600.0,
                 on_step: Callable[[str, str], None] | None = None) -> None:
        self.store = store if store is not None else Postgres()
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.on_step = on_step

    # --- plumbing ------------------------------------------------------------------------------
    def _connect(self) -> Any:
        url = self.store.resolved_url()
        if url not in _SCHEMA_READY:
            apply_ddl(url, "outbox_v1", OUTBOX_DDL)
            _SCHEMA_READY.add(url)
        return self.store.connect(autocommit=True)

    def _step(self, step: str, key: str) -> None:
        if self.on_step is not None:
            self.on_step(step, key)

    # --- enqueue / inspect ---------------------------------------------------------------------
    def enqueue(self, actions: Iterable[OutboxAction]) -> int:
        """Insert actions (idempotent per key); return how many were new."""
        actions = list(actions)
        for action in actions:
            validate_action(action)
        inserted = 0
        with self._connect() as con, con.transaction():
            for action in actions:
                row = con.execute(
                    """INSERT INTO aios.outbox (idempotency_key, proposal_id, action_type,
                           capability, agent, run_id, payload)
                       VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)
                       ON CONFLICT (idempotency_key) DO NOTHING
                       RETURNING idempotency_key""",
                    (action.idempotency_key, action.proposal_id, action.action_type,
                     action.capability, action.agent, action.run_id,
                     json.dumps(action.payload))).fetchone()
                if row is not None:
                    inserted += 1
                    continue
                with con.cursor(row_factory=dict_row) as cur:
                    existing = cur.execute(
                        "SELECT * FROM aios.outbox WHERE idempotency_key = %s",
                        (action.idempotency_key,)).fetchone()
                if existing is not None and not _same_action(existing, action):
                    raise OutboxConflict(
                        f"idempotency key {action.idempotency_key!r} is already enqueued for a "
                        f"different action (proposal {existing['proposal_id']!r}); nothing "
                        "from this batch was enqueued")
        return inserted

    def status(self, idempotency_key: str) -> OutboxRow | None:
        with self._connect() as con, con.cursor(row_factory=dict_row) as cur:
            row = cur.execute("SELECT * FROM aios.outbox WHERE idempotency_key = %s",
                              (idempotency_key,)).fetchone()
        return _row(row) if row else None

    def rows(self, *, status: str | None = None) -> list[OutboxRow]:
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown outbox status {status!r}; one of {', '.join(STATUSES)}")
        with self._connect() as con, con.cursor(row_factory=dict_row) as cur:
            found = cur.execute(
                """SELECT * FROM aios.outbox WHERE %(s)s::text IS NULL OR status = %(s)s
                   ORDER BY seq""", {"s": status}).fetchall()
        return [_row(r) for r in found]

    # --- publish -------------------------------------------------------------------------------
    def publish(self, adapters: Mapping[str, CapabilityAdapter], *, limit: int | None = None,
                allowed: Mapping[str, set[str]] | None = None) -> list[OutboxResult]:
        """Execute due pending actions (each at most once per call); see the module docstring.

        ``allowed`` maps agent -> the capabilities it may use; anything else is ``refused``
        (an agent missing from the mapping may use none). None disables the check. Actions
        whose capability has no adapter here stay pending (reported with status ``pending``).
        """
        results: list[OutboxResult] = []
        seen: list[str] = []
        with self._connect() as con:
            while limit is None or len(results) < limit:
                claimed = self._claim_next(con, seen, adapters, allowed)
                if claimed is None:
                    break
                row, early = claimed
                seen.append(row["idempotency_key"])
                if early is not None:
                    results.append(early)
                    continue
                self._step("claimed", row["idempotency_key"])
                results.append(self._execute(con, row, adapters[row["capability"]], "send"))
        return results

    def _claim_next(self, con: psycopg.Connection, seen: list[str],
                    adapters: Mapping[str, CapabilityAdapter],
                    allowed: Mapping[str, set[str]] | None,
                    ) -> tuple[dict[str, Any], OutboxResult | None] | None:
        with con.transaction(), con.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                """SELECT * FROM aios.outbox
                   WHERE status = 'pending' AND next_attempt_at <= now()
                     AND NOT (idempotency_key = ANY(%s))
                   ORDER BY next_attempt_at, seq
                   LIMIT 1 FOR UPDATE SKIP LOCKED""", (seen,)).fetchone()
            if row is None:
                return None
            key, capability, agent = row["idempotency_key"], row["capability"], row["agent"]
            if capability != NO_CAPABILITY and allowed is not None \
                    and capability not in allowed.get(agent, set()):
                why = f"agent {agent!r} may not use capability {capability!r}"
                cur.execute(
                    """UPDATE aios.outbox SET status = 'refused', error_class = 'Refused',
                           last_error = %s, updated_at = now() WHERE idempotency_key = %s""",
                    (why, key))
                logger.warning("refused %s: %s", key, why)
                return row, OutboxResult(key, "refused", attempts=row["attempts"],
                                         error_class="Refused", error=why)
            if capability == NO_CAPABILITY:
                cur.execute(
                    """UPDATE aios.outbox SET status = 'delivered', delivered_at = now(),
                           attempts = attempts + 1, updated_at = now()
                       WHERE idempotency_key = %s""", (key,))
                return row, OutboxResult(key, "delivered", attempts=row["attempts"] + 1)
            if capability not in adapters:
                hint = ADAPTER_ENV.get(capability)
                why = (f"no adapter configured for capability {capability!r}"
                       + (f" (set {hint})" if hint else ""))
                cur.execute(
                    """UPDATE aios.outbox SET error_class = 'NoAdapter', last_error = %s,
                           updated_at = now() WHERE idempotency_key = %s""", (why, key))
                return row, OutboxResult(key, "pending", attempts=row["attempts"],
                                         error_class="NoAdapter", error=why)
            token = uuid.uuid4()
            claimed = cur.execute(
                """UPDATE aios.outbox SET status = 'claimed', claim_token = %s,
                       claimed_at = now(), attempts = attempts + 1, updated_at = now()
                   WHERE idempotency_key = %s RETURNING *""", (token, key)).fetchone()
        return claimed, None

    def _execute(self, con: psycopg.Connection, row: dict[str, Any],
                 adapter: CapabilityAdapter, mode: str) -> OutboxResult:
        """Call the adapter for a claimed row (outside any transaction) and record the outcome."""
        key, token = row["idempotency_key"], row["claim_token"]
        action = _row(row).action()
        receipt: DeliveryReceipt | None = None
        error: BaseException | None = None
        try:
            if mode == "send":
                receipt = adapter.send(action)
            else:
                receipt = adapter.reconcile(action)
        except AdapterError as exc:
            error = exc
        except Exception as exc:  # an adapter bug: the effect may or may not have happened
            error = AdapterUnknown(f"unexpected {type(exc).__name__} in {type(adapter).__name__}",
                                   error_class=type(exc).__name__)
        self._step("sent", key)
        result = self._record(con, row, token, receipt, error, mode)
        self._step("recorded", key)
        return result

    def _record(self, con: psycopg.Connection, row: dict[str, Any], token: uuid.UUID,
                receipt: DeliveryReceipt | None, error: BaseException | None,
                mode: str) -> OutboxResult:
        key, attempts = row["idempotency_key"], row["attempts"]
        sets: dict[str, Any]
        if error is None and receipt is not None:
            sets = {"status": "delivered", "external_id": receipt.external_id,
                    "error_class": None, "last_error": None}
            sql_extra = ", delivered_at = now(), cost_usd = cost_usd + %(cost)s"
            params = {"cost": receipt.cost_usd}
        elif error is None:  # reconcile declined to resend (adapter leaves it to the operator)
            sets = {"status": "in_doubt", "error_class": "NotResent",
                    "last_error": "outcome unknown and the adapter does not resend; check the "
                                  "recipient and mark it by hand"}
            sql_extra, params = "", {}
        else:
            label = getattr(error, "error_class", type(error).__name__)
            message = str(error)[:500]
            sql_extra, params = "", {}
            if isinstance(error, AdapterNotConfigured):
                # The operator's setup, not the action, is at fault: keep it for later.
                sets = {"status": "pending"}
                sql_extra = (", attempts = GREATEST(attempts - 1, 0)"
                             ", next_attempt_at = now() + make_interval(secs => %(delay)s)")
                params = {"delay": self.retry_max_s}
            elif isinstance(error, AdapterPermanent):
                sets = {"status": "failed_permanent"}
            elif isinstance(error, AdapterRetryable):
                if isinstance(error, CircuitOpen):
                    sql_extra = ", attempts = GREATEST(attempts - 1, 0)"  # never reached it
                    attempts -= 1
                if attempts >= self.max_attempts:
                    sets = {"status": "failed_permanent"}
                    message = f"gave up after {attempts} attempts: {message}"
                else:
                    delay = retry_delay_s(attempts, self.retry_base_s, self.retry_max_s,
                                          getattr(error, "retry_after_s", None))
                    sets = {"status": "pending"}
                    sql_extra += ", next_attempt_at = now() + make_interval(secs => %(delay)s)"
                    params = {"delay": delay}
            else:  # AdapterUnknown
                sets = {"status": "in_doubt"}
            sets.update(error_class=label, last_error=message)
        assignments = ", ".join(f"{k} = %({k})s" for k in sets)
        with con.transaction(), con.cursor(row_factory=dict_row) as cur:
            updated = cur.execute(
                f"""UPDATE aios.outbox SET {assignments}{sql_extra}, updated_at = now()
                    WHERE idempotency_key = %(key)s AND claim_token = %(token)s
                      AND status = 'claimed'
                    RETURNING *""",
                {**sets, **params, "key": key, "token": token}).fetchone()
            if updated is None:
                # Someone else (a reconciler) took the claim over; their record wins. Our
                # effect, if any, carried the same idempotency key.
                current = cur.execute("SELECT * FROM aios.outbox WHERE idempotency_key = %s",
                                      (key,)).fetchone()
                logger.warning("lost the claim on %s while %s; now %s", key,
                               "publishing" if mode == "send" else "reconciling",
                               current["status"] if current else "gone")
                return OutboxResult(key, current["status"] if current else "unknown",
                                    external_id=current["external_id"] if current else None,
                                    attempts=current["attempts"] if current else attempts,
                                    extra={"lost_claim": True})
        if updated["status"] != "delivered":
            logger.info("%s %s: %s (%s)", mode, key, updated["status"], updated["error_class"])
        return OutboxResult(key, updated["status"], external_id=updated["external_id"],
                            attempts=updated["attempts"], error_class=updated["error_class"],
                            error=updated["last_error"])

    # --- reconcile -----------------------------------------------------------------------------
    def reconcile(self, adapters: Mapping[str, CapabilityAdapter], *,
                  older_than_s: float = 300) -> list[OutboxResult]:
        """Settle rows ``claimed`` or ``in_doubt`` for more than ``older_than_s`` seconds.

        Each is re-claimed (a new token fences off a publisher that is merely slow) and handed
        to its adapter's :meth:`~CapabilityAdapter.reconcile` with the same idempotency key.
        Rows whose capability has no adapter here are left as they are.
        """
        results: list[OutboxResult] = []
        seen: list[str] = []
        with self._connect() as con:
            while True:
                with con.transaction(), con.cursor(row_factory=dict_row) as cur:
                    row = cur.execute(
                        """SELECT * FROM aios.outbox
                           WHERE status IN ('claimed', 'in_doubt')
                             AND coalesce(claimed_at, updated_at)
                                 <= now() - make_interval(secs => %s)
                             AND NOT (idempotency_key = ANY(%s))
                             AND capability = ANY(%s)
                           ORDER BY claimed_at, seq
                           LIMIT 1 FOR UPDATE SKIP LOCKED""",
                        (older_than_s, seen, list(adapters))).fetchone()
                    if row is None:
                        break
                    seen.append(row["idempotency_key"])
                    row = cur.execute(
                        """UPDATE aios.outbox SET status = 'claimed', claim_token = %s,
                               claimed_at = now(), attempts = attempts + 1, updated_at = now()
                           WHERE idempotency_key = %s RETURNING *""",
                        (uuid.uuid4(), row["idempotency_key"])).fetchone()
                results.append(self._execute(con, row, adapters[row["capability"]],
                                             "reconcile"))
        return results


def _row(raw: dict[str, Any]) -> OutboxRow:
    return OutboxRow(**{c: raw[c] for c in ROW_COLUMNS})
