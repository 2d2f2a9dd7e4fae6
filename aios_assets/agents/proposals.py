"""Action proposals: what agents emit instead of acting (the contract GATES consumes).

One row per proposal in the DuckDB table ``action_proposals`` (:data:`PROPOSALS_TABLE`).
:func:`merge_proposals` inserts by ``proposal_id`` and never rewrites a row that exists, so a
rerun over the same inputs adds nothing and a proposal the operator has seen (or approved) never
changes under them. A changed situation (a new escalation level, a new inbound message) has a
different idempotency basis and therefore a new id.

Ids are pure functions of what the proposal is about:

* ``proposal_id = sha256(agent|action_type|target|basis)[:24]`` (:func:`proposal_id`);
* ``idempotency_key = "aios-" + sha256("idem"|agent|action_type|target|basis)[:32]``
  (:func:`idempotency_key`), the key the outbox and the adapters deduplicate side effects on.

``basis`` is what makes the action unique for the agent (e.g. ``invoice:INV-7|level:2``). Shadow
and canary runs add ``|mode:<mode>@<version>`` to it so they never collide with live proposals.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

PROPOSALS_TABLE = "action_proposals"
# What agent assets wrote in their latest run, before action_proposals merges it.
AGENT_OUTPUTS_TABLE = "agent_outputs"

ACTION_TYPES = ("send_email", "notify_webhook", "http_request", "internal_note",
                "calendar_hold", "calendar_confirm", "calendar_cancel")
CAPABILITIES = ("email", "webhook", "http", "calendar", "none")
MODES = ("live", "shadow", "canary")
# The capability each action type needs (an agent's manifest must allow it).
CAPABILITY_OF = {"send_email": "email", "notify_webhook": "webhook", "http_request": "http",
                 "internal_note": "none", "calendar_hold": "calendar",
                 "calendar_confirm": "calendar", "calendar_cancel": "calendar"}
# Calendar payloads (the CalDAV adapter's contract, docs/calendar.md): ``uid`` starts with
# CALENDAR_UID_PREFIX (the adapter never touches an event without it); ``start``/``end`` are
# ISO 8601 with an offset; ``attendees`` a list of e-mails.
CALENDAR_UID_PREFIX = "aios-"
_CALENDAR_OPTIONAL = {"calendar", "summary", "start", "end", "tzid", "attendees", "description"}
PAYLOAD_KEYS = {
    "send_email": ({"to", "subject", "body"}, {"cc", "in_reply_to"}),
    "notify_webhook": ({"text"}, {"blocks"}),
    "http_request": ({"method", "path", "json"}, set()),
    "internal_note": ({"text"}, {"title", "markdown"}),
    "calendar_hold": ({"uid", "summary", "start", "end", "attendees"},
                      {"calendar", "tzid", "description"}),
    "calendar_confirm": ({"uid"}, _CALENDAR_OPTIONAL),
    "calendar_cancel": ({"uid", "compensates"}, _CALENDAR_OPTIONAL),
}


class ProposalError(ValueError):
    """A proposal breaks the contract (unknown action type, payload keys, capability, ...)."""


@dataclass(frozen=True)
class Proposal:
    """One action proposal (the columns of ``action_proposals``, in order)."""

    proposal_id: str
    created_at: datetime
    agent: str
    manifest_version: str
    intent_id: str | None
    plan_id: str | None
    action_type: str
    capability: str
    target_entity_id: str | None
    payload: dict[str, Any]
    rationale: str
    evidence_event_ids: tuple[str, ...] = field(default_factory=tuple)
    confidence: float = 0.0
    estimated_cost_usd: float = 0.0
    idempotency_key: str = ""
    expires_at: datetime | None = None
    mode: str = "live"
    untrusted_input: bool = False
    run_id: str | None = None


COLUMNS = tuple(f.name for f in fields(Proposal))

DDL_COLUMNS = """
    proposal_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    agent VARCHAR NOT NULL,
    manifest_version VARCHAR NOT NULL,
    intent_id VARCHAR,
    plan_id VARCHAR,
    action_type VARCHAR NOT NULL,
    capability VARCHAR NOT NULL,
    target_entity_id VARCHAR,
    payload JSON NOT NULL,
    rationale VARCHAR NOT NULL,
    evidence_event_ids VARCHAR[] NOT NULL,
    confidence DOUBLE NOT NULL,
    estimated_cost_usd DOUBLE NOT NULL,
    idempotency_key VARCHAR NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    mode VARCHAR NOT NULL,
    untrusted_input BOOLEAN NOT NULL,
    run_id VARCHAR"""

PROPOSALS_DDL = f"""
CREATE TABLE IF NOT EXISTS {PROPOSALS_TABLE} ({DDL_COLUMNS},
    PRIMARY KEY (proposal_id),
    UNIQUE (idempotency_key)
);
"""
AGENT_OUTPUTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {AGENT_OUTPUTS_TABLE} ({DDL_COLUMNS}
);
"""


# --- pure helpers ---------------------------------------------------------------------------


def _digest(*parts: object) -> str:
    raw = "|".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(raw.encode()).hexdigest()


def mode_basis(basis: str, mode: str, manifest_version: str) -> str:
    """The idempotency basis of a run in ``mode``: live keeps it, shadow/canary tag it."""
    if mode not in MODES:
        raise ProposalError(f"mode must be one of {MODES}, not {mode!r}")
    return basis if mode == "live" else f"{basis}|mode:{mode}@{manifest_version}"


def proposal_id(agent: str, action_type: str, target: str | None, basis: str) -> str:
    """``sha256(agent|action_type|target|basis)[:24]``: stable across runs and processes."""
    return _digest(agent, action_type, target or "", basis)[:24]


def idempotency_key(agent: str, action_type: str, target: str | None, basis: str) -> str:
    """The key adapters deduplicate on: ``aios-`` + 32 hex characters."""
    return "aios-" + _digest("idem", agent, action_type, target or "", basis)[:32]


def _check_calendar(where: str, payload: dict[str, Any]) -> None:
    if not str(payload.get("uid") or "").startswith(CALENDAR_UID_PREFIX):
        raise ProposalError(f"{where}: calendar uid must start with {CALENDAR_UID_PREFIX!r}")
    times = {}
    for key in ("start", "end"):
        if key in payload:
            try:
                times[key] = datetime.fromisoformat(str(payload[key]))
            except ValueError:
                raise ProposalError(f"{where}: {key} {payload[key]!r} is not ISO 8601") from None
            if times[key].tzinfo is None:
                raise ProposalError(f"{where}: {key} {payload[key]!r} has no UTC offset")
    if len(times) == 2 and times["end"] <= times["start"]:
        raise ProposalError(f"{where}: end is not after start")
    attendees = payload.get("attendees", [])
    if not isinstance(attendees, list) or not all(isinstance(a, str) for a in attendees):
        raise ProposalError(f"{where}: attendees must be a list of e-mail addresses")


def validate(p: Proposal) -> Proposal:
    """``p`` if it keeps the contract, else :class:`ProposalError` saying what is wrong."""
    where = f"proposal {p.proposal_id or '?'} of agent {p.agent or '?'}"
    if p.action_type not in ACTION_TYPES:
        raise ProposalError(f"{where}: action_type {p.action_type!r} is not one of "
                            f"{ACTION_TYPES}")
    if p.capability != CAPABILITY_OF[p.action_type]:
        raise ProposalError(f"{where}: {p.action_type} needs capability "
                            f"{CAPABILITY_OF[p.action_type]!r}, not {p.capability!r}")
    if p.mode not in MODES:
        raise ProposalError(f"{where}: mode {p.mode!r} is not one of {MODES}")
    required, optional = PAYLOAD_KEYS[p.action_type]
    keys = set(p.payload)
    if missing := required - keys:
        raise ProposalError(f"{where}: payload lacks {sorted(missing)}")
    if extra := keys - required - optional:
        raise ProposalError(f"{where}: payload has unknown keys {sorted(extra)}")
    if p.capability == "calendar":
        _check_calendar(where, p.payload)
    if not 0.0 <= p.confidence <= 1.0:
        raise ProposalError(f"{where}: confidence {p.confidence} is not in [0, 1]")
    if p.estimated_cost_usd < 0:
        raise ProposalError(f"{where}: estimated_cost_usd is negative")
    if not p.idempotency_key:
        raise ProposalError(f"{where}: empty idempotency_key")
    if p.expires_at is None:
        raise ProposalError(f"{where}: no expires_at")
    if not p.agent or not p.manifest_version:
        raise ProposalError(f"{where}: agent and manifest_version are required")
    return p


def make_proposal(*, agent: str, manifest_version: str, action_type: str,
                  target_entity_id: str | None, basis: str, payload: dict[str, Any],
                  rationale: str, evidence_event_ids: Sequence[str], confidence: float,
                  estimated_cost_usd: float = 0.0, ttl: timedelta = timedelta(days=3),
                  mode: str = "live", untrusted_input: bool = False,
                  intent_id: str | None = None, plan_id: str | None = None,
                  run_id: str | None = None, now: datetime | None = None) -> Proposal:
    """A validated :class:`Proposal` with its stable id, idempotency key and expiry.

    ``now`` is the wall clock the proposal is made at (expiry counts from it)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    full_basis = mode_basis(basis, mode, manifest_version)
    evidence = tuple(dict.fromkeys(e for e in evidence_event_ids if e))
    return validate(Proposal(
        proposal_id=proposal_id(agent, action_type, target_entity_id, full_basis),
        created_at=now, agent=agent, manifest_version=manifest_version, intent_id=intent_id,
        plan_id=plan_id, action_type=action_type,
        capability=CAPABILITY_OF.get(action_type, "?"), target_entity_id=target_entity_id,
        payload=dict(payload), rationale=rationale.strip(), evidence_event_ids=evidence,
        confidence=round(float(confidence), 4),
        estimated_cost_usd=round(float(estimated_cost_usd), 6),
        idempotency_key=idempotency_key(agent, action_type, target_entity_id, full_basis),
        expires_at=now + ttl, mode=mode, untrusted_input=bool(untrusted_input), run_id=run_id,
    ))


def to_row(p: Proposal) -> list[Any]:
    d = asdict(p)
    d["payload"] = json.dumps(p.payload, sort_keys=True, ensure_ascii=False, default=str)
    d["evidence_event_ids"] = list(p.evidence_event_ids)
    return [d[c] for c in COLUMNS]


def from_row(row: Sequence[Any]) -> Proposal:
    d = dict(zip(COLUMNS, row, strict=True))
    payload = d["payload"]
    d["payload"] = json.loads(payload) if isinstance(payload, str) else dict(payload or {})
    d["evidence_event_ids"] = tuple(d["evidence_event_ids"] or ())
    return Proposal(**d)


# --- the tables -----------------------------------------------------------------------------


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(PROPOSALS_DDL)
    con.execute(AGENT_OUTPUTS_DDL)


def _dedupe(proposals: Iterable[Proposal]) -> list[Proposal]:
    # Within one batch the first proposal of an id (or key) wins, as across batches.
    seen_ids: set[str] = set()
    seen_keys: set[str] = set()
    out: list[Proposal] = []
    for p in proposals:
        if p.proposal_id in seen_ids or p.idempotency_key in seen_keys:
            continue
        seen_ids.add(p.proposal_id)
        seen_keys.add(p.idempotency_key)
        out.append(validate(p))
    return out


def merge_proposals(con: duckdb.DuckDBPyConnection, proposals: Iterable[Proposal]) -> int:
    """Insert proposals not yet in ``action_proposals`` (by id and idempotency key).

    Returns how many were new. Existing rows are never rewritten."""
    ensure_tables(con)
    batch = _dedupe(proposals)
    if not batch:
        return 0
    before = con.execute(f"SELECT count(*) FROM {PROPOSALS_TABLE}").fetchone()[0]
    con.execute("CREATE OR REPLACE TEMP TABLE _new_proposals AS "
                f"SELECT * FROM {PROPOSALS_TABLE} LIMIT 0")
    marks = ", ".join("?" for _ in COLUMNS)
    con.executemany(f"INSERT INTO _new_proposals VALUES ({marks})", [to_row(p) for p in batch])
    con.execute(
        f"""INSERT INTO {PROPOSALS_TABLE}
        SELECT n.* FROM _new_proposals n
        WHERE n.proposal_id NOT IN (SELECT proposal_id FROM {PROPOSALS_TABLE})
          AND n.idempotency_key NOT IN (SELECT idempotency_key FROM {PROPOSALS_TABLE})""")
    con.execute("DROP TABLE _new_proposals")
    return con.execute(f"SELECT count(*) FROM {PROPOSALS_TABLE}").fetchone()[0] - before


def replace_agent_outputs(con: duckdb.DuckDBPyConnection, agent: str, mode: str,
                          proposals: Iterable[Proposal]) -> int:
    """Make ``agent_outputs`` hold exactly this run's proposals of ``agent`` in ``mode``."""
    ensure_tables(con)
    batch = _dedupe(proposals)
    con.execute(f"DELETE FROM {AGENT_OUTPUTS_TABLE} WHERE agent = ? AND mode = ?", [agent, mode])
    if batch:
        marks = ", ".join("?" for _ in COLUMNS)
        con.executemany(f"INSERT INTO {AGENT_OUTPUTS_TABLE} VALUES ({marks})",
                        [to_row(p) for p in batch])
    return len(batch)


def read_proposals(con: duckdb.DuckDBPyConnection, table: str = PROPOSALS_TABLE,
                   where: str = "TRUE", params: Sequence[Any] = ()) -> list[Proposal]:
    if table not in (PROPOSALS_TABLE, AGENT_OUTPUTS_TABLE):
        raise ValueError(f"not a proposals table: {table}")
    cols = ", ".join(COLUMNS)
    rows = con.execute(f"SELECT {cols} FROM {table} WHERE {where} ORDER BY created_at, "
                       "proposal_id", list(params)).fetchall()
    return [from_row(r) for r in rows]
