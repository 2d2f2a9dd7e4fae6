"""Operator decisions on proposals: durable in Postgres, mirrored into the event log.

``aios.proposal_decisions`` is the record (one row per decision; the latest per proposal
counts). Each decision also becomes an ``operator`` / ``approval_decision`` event, written as a
JSONL file under ``$AIOS_HOME/archive/operator/`` and loaded by the ingest loader under the
warehouse write lock, so ``policy_traces`` (and the planner) see it. When the warehouse is busy
the event is written later (:func:`flush_decision_events`); the Postgres row remembers which
decisions are not in the log yet, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aios_assets.shared.home import AiosHome
from aios_assets.shared.postgres import PostgresAccess, apply_ddl
from aios_assets.shared.warehouse import Warehouse, WarehouseAccess, WarehouseBusy

DECISIONS = ("approved", "rejected")
OPERATOR_SOURCE = "operator"
DECISION_KIND = "approval_decision"

DDL = """
CREATE TABLE IF NOT EXISTS aios.proposal_decisions (
    seq bigserial UNIQUE,
    decision_id text PRIMARY KEY,
    proposal_id text NOT NULL,
    decision text NOT NULL CHECK (decision IN ('approved', 'rejected')),
    reason text,
    decided_by text NOT NULL,
    via text NOT NULL,
    decided_at timestamptz NOT NULL DEFAULT now(),
    action_type text,
    agent text,
    manifest_version text,
    entity_id text,
    event_logged_at timestamptz
);
CREATE INDEX IF NOT EXISTS proposal_decisions_by_proposal
    ON aios.proposal_decisions (proposal_id, seq DESC);
"""
MIGRATION = "publishing_proposal_decisions_v1"

_COLUMNS = ("seq", "decision_id", "proposal_id", "decision", "reason", "decided_by", "via",
            "decided_at", "action_type", "agent", "manifest_version", "entity_id",
            "event_logged_at")


class DecisionError(ValueError):
    """A decision that cannot be recorded (unknown decision, rejection without a reason...)."""


@dataclass(frozen=True)
class Decision:
    seq: int
    decision_id: str
    proposal_id: str
    decision: str
    reason: str | None
    decided_by: str
    via: str
    decided_at: datetime
    action_type: str | None
    agent: str | None
    manifest_version: str | None
    entity_id: str | None
    event_logged_at: datetime | None


def ensure_schema(store: PostgresAccess) -> None:
    apply_ddl(store.resolved_url(), MIGRATION, DDL)


def validate_decision(decision: str, reason: str | None) -> tuple[str, str | None]:
    """Normalized (decision, reason); a rejection needs a reason the planner can learn from."""
    d = (decision or "").strip().lower()
    d = {"approve": "approved", "reject": "rejected"}.get(d, d)
    if d not in DECISIONS:
        raise DecisionError(f"decision must be 'approved' or 'rejected', got {decision!r}")
    reason = (reason or "").strip() or None
    if d == "rejected" and not reason:
        raise DecisionError("a rejection needs a reason (--reason TEXT)")
    return d, reason


def record_decisions(store: PostgresAccess, proposals: Sequence[Mapping[str, Any]],
                     decision: str, reason: str | None, *, via: str,
                     decided_by: str = "operator",
                     now: datetime | None = None) -> list[Decision]:
    """Store one decision per proposal (one transaction); returns the rows written."""
    decision, reason = validate_decision(decision, reason)
    ensure_schema(store)
    now = now or datetime.now(UTC)
    written: list[Decision] = []
    with store.connect() as con:
        for p in proposals:
            row = con.execute(
                f"""INSERT INTO aios.proposal_decisions
                (decision_id, proposal_id, decision, reason, decided_by, via, decided_at,
                 action_type, agent, manifest_version, entity_id)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                RETURNING {', '.join(_COLUMNS)}""",
                ("dec_" + uuid.uuid4().hex[:20], p["proposal_id"], decision, reason,
                 decided_by, via, now, p.get("action_type"), p.get("agent"),
                 p.get("manifest_version"), p.get("target_entity_id")),
            ).fetchone()
            written.append(Decision(*row))
        con.commit()
    return written


def all_decisions(store: PostgresAccess, *, after_seq: int = 0) -> list[Decision]:
    ensure_schema(store)
    with store.connect() as con:
        rows = con.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM aios.proposal_decisions WHERE seq > %s "
            "ORDER BY seq", (after_seq,)).fetchall()
    return [Decision(*r) for r in rows]


def latest_decisions(decisions: Iterable[Decision]) -> dict[str, Decision]:
    """proposal_id -> its latest decision."""
    out: dict[str, Decision] = {}
    for d in sorted(decisions, key=lambda d: d.seq):
        out[d.proposal_id] = d
    return out


# --- event log ------------------------------------------------------------------------------


def decision_event(d: Decision) -> dict[str, Any]:
    """The ``operator`` / ``approval_decision`` event of a decision (the policy contract)."""
    return {
        "source": OPERATOR_SOURCE,
        "source_id": d.decision_id,
        "kind": DECISION_KIND,
        "occurred_at": d.decided_at.astimezone(UTC).isoformat(),
        "actor": d.decided_by,
        "thread": None,
        "subject": f"{d.decision} {d.proposal_id}",
        "text": d.reason or "",
        "payload": {
            "proposal_id": d.proposal_id, "action_type": d.action_type,
            "decision": d.decision, "reason": d.reason, "entity_id": d.entity_id,
            "agent": d.agent, "manifest_version": d.manifest_version, "via": d.via,
        },
    }


def _decision_file(home: AiosHome, decisions: Sequence[Decision]) -> Path:
    ids = ",".join(d.decision_id for d in decisions)
    digest = hashlib.sha256(ids.encode()).hexdigest()[:16]
    day = decisions[0].decided_at.astimezone(UTC).date().isoformat()
    folder = home.archive / "operator" / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"decisions-{digest}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(decision_event(d)) + "\n" for d in decisions))
        tmp.replace(path)
    return path


def flush_decision_events(store: PostgresAccess, warehouse: WarehouseAccess, *,
                          lock_timeout_s: float | None = None) -> int:
    """Load every decision not yet in the event log; returns how many were loaded.

    Idempotent: the loader skips a file it has seen and an event it already holds, and rows
    are marked only after the load committed."""
    from aios_assets.ingest.loader import ensure_tables, ingest_file

    ensure_schema(store)
    with store.connect() as con:
        pending = [Decision(*r) for r in con.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM aios.proposal_decisions "
            "WHERE event_logged_at IS NULL ORDER BY seq").fetchall()]
    if not pending:
        return 0
    path = _decision_file(warehouse.layout, pending)
    wh = warehouse if lock_timeout_s is None else Warehouse(
        home=warehouse.home, lock_timeout_s=lock_timeout_s)
    with wh.connect() as con:
        ensure_tables(con)
        report = ingest_file(con, path, batch_id="operator-" + uuid.uuid4().hex[:10])
    if report.rejected:
        raise DecisionError(f"decision events rejected by the loader: {report.reasons}")
    with store.connect() as con:
        con.execute("UPDATE aios.proposal_decisions SET event_logged_at = now() "
                    "WHERE decision_id = ANY(%s)", ([d.decision_id for d in pending],))
        con.commit()
    return len(pending)


def try_flush_decision_events(store: PostgresAccess, warehouse: WarehouseAccess,
                              *, lock_timeout_s: float = 20.0) -> tuple[int, str | None]:
    """:func:`flush_decision_events`, but a busy warehouse is a note, not an error."""
    try:
        return flush_decision_events(store, warehouse, lock_timeout_s=lock_timeout_s), None
    except WarehouseBusy as exc:
        return 0, f"event log busy, decisions will be logged by the next publish run: {exc}"
