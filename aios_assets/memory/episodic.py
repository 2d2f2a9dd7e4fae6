"""Episodic memory: the event log grouped into episodes — threads, meetings, transactions and
decisions — with their participants (canonical entities) and outcomes.

Tables (DuckDB):

- ``episodes(episode_id, type, episode_key, title, started_at, ended_at, participants,
  outcome, event_count, last_event_at, content_hash, updated_at)``
- ``episode_events(episode_id, event_id, position)`` — an event can belong to several
  episodes (an invoice e-mail is in its thread and in the invoice's transaction).

Episodes are keyed (``episode_key``) by what groups them: ``thread|<source>|<thread>`` (a chat
thread is cut into sessions at gaps of ``chat_session_gap_hours``), ``meeting|<meeting id>``
(the calendar event, the transcript turns and the notes filed on that meeting),
``transaction|<invoice id>`` (the invoice, its payments and the e-mails naming it) and
``decision|<source>|<source_id>`` (one event that records a decision, with the turn it answers).

Incremental: only keys touched by event versions ingested since the last run (all versions of a
changed record, so a corrected event that moved thread refreshes both), plus open invoices and
upcoming meetings (their outcome depends on the clock), are recomputed; an episode whose content
hash did not change is left as it is. Participants of every episode are refreshed in one
statement, so a merge in entity resolution reaches old episodes too.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa

from aios_assets.memory.base import (
    ENTITY_MEMBERSHIP,
    EVENT_LOG,
    FCT_INTERACTIONS,
    FCT_INVOICES,
    GROUP,
    build_event_people,
    get_state,
    set_state,
    text_source,
)
from aios_assets.shared.automation import FOLLOW_INPUTS
from aios_assets.shared.db import transaction
from aios_assets.shared.text import markdown_table, message_body, name_of, stable_id, summary_line
from resources.warehouse import DuckDBWarehouse

ASSET = "episodes"
EPISODE_TYPES = ("thread", "meeting", "transaction", "decision")
# Kinds that never make a conversation thread of their own.
NON_THREAD_KINDS = ("meeting", "transcript_turn", "invoice", "payment", "note", "contact",
                    "post", "content_metrics", "approval_decision", "preference")
TURN_KINDS = ("chat_message", "transcript_turn")
INVOICE_TOKEN_RE = r"[A-Za-z]{2,}[-_]?[0-9][A-Za-z0-9_-]*"
DEFAULT_CHAT_GAP_HOURS = 6.0

DDL = """
CREATE TABLE IF NOT EXISTS episodes (
    episode_id VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    episode_key VARCHAR NOT NULL,
    title VARCHAR,
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    participants VARCHAR[],
    outcome VARCHAR,
    event_count INTEGER NOT NULL,
    last_event_at TIMESTAMPTZ,
    content_hash VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS episode_events (
    episode_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    position INTEGER NOT NULL
);
"""

_TS = pa.timestamp("us", tz="UTC")
_EPISODE_SCHEMA = pa.schema([
    ("episode_id", pa.string()), ("type", pa.string()), ("episode_key", pa.string()),
    ("title", pa.string()), ("started_at", _TS), ("ended_at", _TS), ("outcome", pa.string()),
    ("event_count", pa.int32()), ("last_event_at", _TS), ("content_hash", pa.string()),
    ("updated_at", _TS),
])
_LINK_SCHEMA = pa.schema([("episode_id", pa.string()), ("event_id", pa.string()),
                          ("position", pa.int32())])

# --- decisions ----------------------------------------------------------------------------

DECISION_PREFILTER = (
    r"(?i)(decided|decision|agreed|approved|declined|rejected|go ahead|signed off|"
    r"let.?s go with|chose|chosen)"
)
_I = re.IGNORECASE
_DECISION_PATTERNS = [
    re.compile(r"\bwe(?:'ve| have| had|'re| are)?\s+(?:just\s+|now\s+|finally\s+)?"
               r"(?:decided|agreed|approved|declined|rejected|chose|chosen|signed off)\b", _I),
    re.compile(r"^\s*(?:decided|decision|agreed|approved|declined|rejected)\b\s*[:—–-]", _I),
    re.compile(r"\b(?:happy|glad|ready|ok|okay)\s+to\s+go\s+ahead\b", re.IGNORECASE),
    re.compile(r"\blet'?s\s+go\s+(?:ahead\s+)?with\b", re.IGNORECASE),
    re.compile(r"\b(?:approved|declined|signed off)\s+(?:at|for)\b", re.IGNORECASE),
]
_DECISION_HEADING = re.compile(r"^#{1,6}\s*decisions?\b.*$", re.IGNORECASE | re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s*)?")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'£$€(])|\n+")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(text or "") if s and s.strip()]


def decision_text(text: str) -> str | None:
    """The decision an event records, or None.

    A Markdown ``## Decisions`` section gives its bullets joined with ``; ``; otherwise the
    first sentence saying "we decided / agreed / approved …", "Decided: …", "Agreed — …",
    "happy to go ahead …" or "let's go with …" (quoted text and signatures are ignored)."""
    body = message_body(text)
    heading = _DECISION_HEADING.search(body)
    if heading:
        items: list[str] = []
        for line in body[heading.end():].splitlines():
            if line.lstrip().startswith("#"):
                break
            if _BULLET.match(line):
                items.append(_BULLET.sub("", line).strip().rstrip("."))
            elif line.strip() and items:
                break
        if items:
            return "; ".join(items)
    for sentence in split_sentences(body):
        if any(p.search(sentence) for p in _DECISION_PATTERNS):
            return sentence
    return None


# --- outcomes -----------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", "")) if value not in (None, "") else None
    except ValueError:
        return None


def _date(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _money(amount: float, currency: str | None) -> str:
    return f"{amount:,.2f} {currency}".strip() if currency else f"{amount:,.2f}"


def transaction_outcome(invoice: dict[str, Any] | None, paid: float, last_paid_at: datetime | None,
                        as_of: datetime) -> str:
    """``paid``, ``partially paid``, ``overdue``, ``open`` or ``void`` (with amounts/dates)."""
    if not invoice:
        return f"payment received: {paid:,.2f} (no invoice on record)" if paid else "no invoice"
    amount = _num(invoice.get("amount")) or 0.0
    currency = invoice.get("currency")
    status = str(invoice.get("status") or "").lower()
    due = _date(invoice.get("due_at"))
    if status in ("void", "cancelled", "canceled"):
        return "void"
    if (amount and paid >= amount - 0.005) or status == "paid":  # as fct_invoices decides
        when = f" on {last_paid_at:%Y-%m-%d}" if last_paid_at else ""
        return f"paid{when}"
    outstanding = max(amount - paid, 0.0)
    if due is not None and due < as_of:
        part = f", {_money(paid, currency)} paid" if paid else ""
        return f"overdue: {_money(outstanding, currency)} outstanding since {due:%Y-%m-%d}{part}"
    if paid:
        return f"partially paid: {_money(paid, currency)} of {_money(amount, currency)}"
    return f"open: {_money(amount, currency)} due {due:%Y-%m-%d}" if due else (
        f"open: {_money(amount, currency)}")


def thread_outcome(n_actors: int, event_count: int, last_actor: str | None,
                   last_text: str | None) -> str:
    """``replied`` / ``no reply`` and who said what last."""
    status = "replied" if n_actors >= 2 else "no reply"
    line = summary_line(last_text or "")
    who = name_of(last_actor) or last_actor or "someone"
    return f"{status} — {who}: {line}" if line else status


def meeting_outcome(payload: dict[str, Any] | None, decisions: list[str], turns: int,
                    ended_at: datetime | None, as_of: datetime) -> str:
    if payload and str(payload.get("status") or "").upper() == "CANCELLED":
        return "cancelled"
    if decisions:
        return "decided: " + "; ".join(dict.fromkeys(d.rstrip(".") for d in decisions))
    if ended_at is not None and ended_at > as_of:
        return "scheduled"
    return f"held ({turns} transcript turns)" if turns else "held"


def _clean_subject(subject: str | None) -> str | None:
    if not subject:
        return None
    return re.sub(r"^\s*((re|fw|fwd|aw)\s*:\s*)+", "", subject, flags=re.IGNORECASE).strip() or None


# --- the build ----------------------------------------------------------------------------


@dataclass
class EpisodeStats:
    full: bool
    dirty_keys: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    participants_refreshed: int = 0
    total: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    watermark: str | None = None


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def _dirty_keys(con: duckdb.DuckDBPyConnection, watermark: str | None) -> None:
    where = "WHERE ingested_at > ?::TIMESTAMPTZ" if watermark else ""
    params = [watermark] if watermark else []
    non_thread = ", ".join(f"'{k}'" for k in NON_THREAD_KINDS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ep_dirty AS
        WITH changed AS (SELECT DISTINCT source, source_id FROM event_log {where}),
        versions AS (SELECT l.* FROM event_log l JOIN changed USING (source, source_id))
        SELECT DISTINCT key FROM (
            SELECT CASE
                WHEN kind = 'meeting' THEN 'meeting|' || coalesce(thread, source_id)
                WHEN kind IN ('transcript_turn', 'note') AND thread IS NOT NULL
                    THEN 'meeting|' || thread
                WHEN kind = 'invoice' THEN 'transaction|' || coalesce(payload ->> 'invoice_id',
                                                                      source_id)
                WHEN kind = 'payment' AND (payload ->> 'invoice_id') IS NOT NULL
                    THEN 'transaction|' || (payload ->> 'invoice_id')
                WHEN thread IS NOT NULL AND kind NOT IN ({non_thread})
                    THEN 'thread|' || source || '|' || thread
            END AS key
            FROM versions
            UNION ALL
            SELECT 'transaction|' || unnest(regexp_extract_all(subject, '{INVOICE_TOKEN_RE}'))
            FROM versions WHERE kind = 'email' AND subject IS NOT NULL
            UNION ALL
            SELECT 'decision|' || source || '|' || source_id FROM versions
        ) WHERE key IS NOT NULL"""
        , params,
    )
    # Outcomes that depend on the clock: open invoices, upcoming meetings.
    con.execute(
        """INSERT INTO _ep_dirty
        SELECT episode_key FROM episodes
        WHERE (type = 'transaction' AND outcome NOT LIKE 'paid%' AND outcome <> 'void')
           OR (type = 'meeting' AND outcome = 'scheduled')
        EXCEPT SELECT key FROM _ep_dirty"""
    )


def _members(con: duckdb.DuckDBPyConnection, gap_hours: float) -> None:
    """``_ep_rows``: (episode_id, key, type, event …) for the dirty thread, meeting and
    transaction keys; chat threads cut into sessions."""
    non_thread = ", ".join(f"'{k}'" for k in NON_THREAD_KINDS)
    cols = "event_id, source, source_id, kind, occurred_at, actor, thread, subject, text, payload"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ep_members AS
        WITH ev AS (SELECT {cols} FROM {text_source(con)}),
        m AS (
            SELECT 'thread|' || source || '|' || thread AS key, 'thread' AS type, {cols}
            FROM ev WHERE thread IS NOT NULL AND kind NOT IN ({non_thread})
            UNION ALL
            SELECT 'meeting|' || coalesce(thread, source_id), 'meeting', {cols}
            FROM ev WHERE kind = 'meeting'
            UNION ALL
            SELECT 'meeting|' || thread, 'meeting', {cols}
            FROM ev WHERE kind IN ('transcript_turn', 'note') AND thread IS NOT NULL
            UNION ALL
            SELECT 'transaction|' || coalesce(payload ->> 'invoice_id', source_id), 'transaction',
                   {cols}
            FROM ev WHERE kind = 'invoice'
            UNION ALL
            SELECT 'transaction|' || (payload ->> 'invoice_id'), 'transaction', {cols}
            FROM ev WHERE kind = 'payment' AND (payload ->> 'invoice_id') IS NOT NULL
            UNION ALL
            SELECT 'transaction|' || tok, 'transaction', {cols}
            FROM (SELECT *, unnest(regexp_extract_all(subject, '{INVOICE_TOKEN_RE}')) AS tok
                  FROM ev WHERE kind = 'email' AND subject IS NOT NULL)
        )
        SELECT DISTINCT * FROM m WHERE key IN (SELECT key FROM _ep_dirty)"""
    )
    # A meeting key needs the meeting or its transcript; a transaction needs money.
    con.execute(
        """DELETE FROM _ep_members WHERE key IN (
            SELECT key FROM _ep_members WHERE type IN ('meeting', 'transaction')
            GROUP BY key
            HAVING NOT bool_or(kind IN ('meeting', 'transcript_turn', 'invoice', 'payment')))"""
    )
    gap_s = int(gap_hours * 3600)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ep_rows AS
        WITH o AS (
            SELECT *,
                   (type = 'thread' AND kind <> 'email') AS split,
                   CASE WHEN type = 'thread' AND kind <> 'email'
                         AND epoch(occurred_at) - epoch(lag(occurred_at) OVER w) > {gap_s}
                        THEN 1 ELSE 0 END AS brk
            FROM _ep_members
            WINDOW w AS (PARTITION BY key ORDER BY occurred_at, source_id, event_id)
        ),
        s AS (
            SELECT *, sum(brk) OVER (PARTITION BY key ORDER BY occurred_at, source_id, event_id
                                     ROWS UNBOUNDED PRECEDING) AS session
            FROM o
        ),
        f AS (
            SELECT *, first_value(source_id) OVER (
                PARTITION BY key, session ORDER BY occurred_at, source_id, event_id) AS first_sid
            FROM s
        )
        SELECT 'ep_' || left(sha256(key || CASE WHEN split THEN '|' || first_sid ELSE '' END),
                             24) AS episode_id, *
        FROM f"""
    )


def _aggregate(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute(
        f"""SELECT episode_id, any_value(key) AS key, any_value(type) AS type,
               min(occurred_at) AS first_at, max(occurred_at) AS last_at, count(*) AS n,
               list(event_id ORDER BY occurred_at, source_id, event_id) AS event_ids,
               first(subject ORDER BY occurred_at, source_id) FILTER (
                   WHERE subject IS NOT NULL AND kind <> 'note') AS subject,
               max_by(text, (occurred_at, source_id)) FILTER (WHERE kind <> 'note') AS last_text,
               max_by(actor, (occurred_at, source_id)) FILTER (WHERE kind <> 'note')
                   AS last_actor,
               count(DISTINCT lower(actor)) FILTER (WHERE kind <> 'note') AS n_actors,
               any_value(payload) FILTER (WHERE kind = 'meeting') AS meeting_payload,
               any_value(occurred_at) FILTER (WHERE kind = 'meeting') AS meeting_at,
               count(*) FILTER (WHERE kind = 'transcript_turn') AS turns,
               any_value(payload) FILTER (WHERE kind = 'invoice') AS invoice_payload,
               any_value(text) FILTER (WHERE kind = 'invoice') AS invoice_text,
               sum(TRY_CAST(payload ->> 'amount' AS DOUBLE)) FILTER (WHERE kind = 'payment')
                   AS paid,
               max(occurred_at) FILTER (WHERE kind = 'payment') AS last_paid_at,
               list(text ORDER BY occurred_at, source_id) FILTER (
                   WHERE kind IN ('transcript_turn', 'note')
                     AND regexp_matches(text, '{DECISION_PREFILTER}')) AS decision_texts,
               any_value(thread) AS thread
        FROM _ep_rows GROUP BY episode_id"""
    ).fetchall()
    names = [d[0] for d in con.description]
    return [dict(zip(names, r, strict=True)) for r in rows]


def _json(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def episode_from_aggregate(agg: dict[str, Any], as_of: datetime) -> dict[str, Any]:
    """Title, times and outcome of a thread / meeting / transaction episode."""
    kind = agg["type"]
    started, ended = agg["first_at"], agg["last_at"]
    if kind == "thread":
        subject = _clean_subject(agg["subject"])
        thread = agg["thread"] or ""
        title = subject or f"Chat {thread} ({started:%Y-%m-%d})"
        outcome = thread_outcome(agg["n_actors"], agg["n"], agg["last_actor"], agg["last_text"])
    elif kind == "meeting":
        payload = _json(agg["meeting_payload"])
        title = _clean_subject(agg["subject"]) or f"Meeting {agg['thread'] or ''}".strip()
        if payload:
            started = _date(payload.get("start")) or agg["meeting_at"] or started
            ended = _date(payload.get("end")) or ended
            if agg["last_at"] and ended and agg["last_at"] > ended:
                ended = agg["last_at"]
        decisions = [d for d in (decision_text(t) for t in agg["decision_texts"] or []) if d]
        outcome = meeting_outcome(payload, decisions, agg["turns"], ended, as_of)
    else:  # transaction
        invoice = _json(agg["invoice_payload"])
        inv_id = agg["key"].split("|", 1)[1]
        if invoice:
            amount = _num(invoice.get("amount"))
            desc = invoice.get("description")
            money = f" ({_money(amount, invoice.get('currency'))})" if amount is not None else ""
            title = f"Invoice {inv_id}" + (f" — {desc}" if desc else "") + money
        else:
            title = f"Payment for invoice {inv_id}"
        outcome = transaction_outcome(invoice, float(agg["paid"] or 0.0), agg["last_paid_at"],
                                      as_of)
    return {
        "episode_id": agg["episode_id"], "type": kind, "episode_key": agg["key"],
        "title": title, "started_at": started, "ended_at": ended, "outcome": outcome,
        "event_count": agg["n"], "last_event_at": agg["last_at"],
        "event_ids": list(agg["event_ids"]),
    }


def _decision_episodes(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """One episode per event recording a decision (with the turn it answers)."""
    rows = con.execute(
        f"""WITH cand AS (
            SELECT e.* FROM {text_source(con)} e
            WHERE ('decision|' || e.source || '|' || e.source_id) IN (SELECT key FROM _ep_dirty)
              AND ((e.source = 'operator' AND e.kind = 'approval_decision')
                   OR regexp_matches(e.text, '{DECISION_PREFILTER}'))
        ),
        turns AS (
            SELECT e.event_id, lag(e.event_id) OVER (
                       PARTITION BY e.source, e.thread, e.kind
                       ORDER BY e.occurred_at, e.source_id) AS prev_event_id
            FROM events_current e
            WHERE e.kind IN ('chat_message', 'transcript_turn')
              AND e.thread IN (SELECT thread FROM cand WHERE thread IS NOT NULL)
        )
        SELECT c.event_id, c.source, c.source_id, c.kind, c.occurred_at, c.actor, c.thread,
               c.subject, c.text, c.payload, t.prev_event_id
        FROM cand c LEFT JOIN turns t USING (event_id)"""
    ).fetchall()
    out = []
    for (event_id, source, source_id, kind, occurred_at, _actor, _thread, subject, text, payload,
         prev_id) in rows:
        if source == "operator" and kind == "approval_decision":
            p = _json(payload) or {}
            decision = str(p.get("decision") or "?")
            what = " ".join(str(x) for x in (p.get("action_type"), p.get("proposal_id")) if x)
            reason = f": {p['reason']}" if p.get("reason") else ""
            outcome = f"{decision} {what}{reason}".strip()
            title = f"Operator {decision}: {p.get('action_type') or 'proposal'}"
        else:
            found = decision_text(text)
            if not found:
                continue
            outcome = found
            title = _clean_subject(subject) or (found if len(found) <= 80 else found[:79] + "…")
        members = [prev_id, event_id] if prev_id else [event_id]
        out.append({
            "episode_id": "ep_" + stable_id("decision", source, source_id),
            "type": "decision", "episode_key": f"decision|{source}|{source_id}",
            "title": title, "started_at": occurred_at, "ended_at": occurred_at,
            "outcome": outcome, "event_count": len(members), "last_event_at": occurred_at,
            "event_ids": members,
        })
    return out


def _content_hash(ep: dict[str, Any]) -> str:
    return stable_id(ep["type"], ep["title"], ep["started_at"], ep["ended_at"], ep["outcome"],
                     ep["event_count"], ep["last_event_at"], *ep["event_ids"], n=32)


def build_episodes(con: duckdb.DuckDBPyConnection, *, full_refresh: bool = False,
                   chat_session_gap_hours: float = DEFAULT_CHAT_GAP_HOURS,
                   as_of: datetime | None = None) -> EpisodeStats:
    """Bring ``episodes`` / ``episode_events`` up to date with the event log (incremental)."""
    ensure_tables(con)
    as_of = as_of or datetime.now(UTC)
    fingerprint = f"gap={chat_session_gap_hours}"
    watermark = get_state(con, ASSET, "watermark")
    full = full_refresh or watermark is None or get_state(con, ASSET, "config") != fingerprint
    stats = EpisodeStats(full=full)
    new_watermark = con.execute("SELECT max(ingested_at)::VARCHAR FROM event_log").fetchone()[0]
    if full:
        watermark = None
    build_event_people(con)
    _dirty_keys(con, watermark)
    if full:  # every key is recomputed: anything not found again goes away
        con.execute("INSERT INTO _ep_dirty SELECT DISTINCT episode_key FROM episodes "
                    "EXCEPT SELECT key FROM _ep_dirty")
    stats.dirty_keys = con.execute("SELECT count(*) FROM _ep_dirty").fetchone()[0]

    _members(con, chat_session_gap_hours)
    fresh = [episode_from_aggregate(a, as_of) for a in _aggregate(con)]
    fresh += _decision_episodes(con)
    for ep in fresh:
        ep["content_hash"] = _content_hash(ep)

    existing = dict(con.execute(
        "SELECT episode_id, content_hash FROM episodes "
        "WHERE episode_key IN (SELECT key FROM _ep_dirty)").fetchall())
    fresh_ids = {ep["episode_id"] for ep in fresh}
    write = [ep for ep in fresh if existing.get(ep["episode_id"]) != ep["content_hash"]]
    stats.new = sum(1 for ep in write if ep["episode_id"] not in existing)
    stats.updated = len(write) - stats.new
    stats.unchanged = len(fresh) - len(write)
    gone = [eid for eid in existing if eid not in fresh_ids]
    stats.removed = len(gone)

    with transaction(con):
        drop = gone + [ep["episode_id"] for ep in write if ep["episode_id"] in existing]
        if drop:
            con.execute("CREATE OR REPLACE TEMP TABLE _ep_drop AS SELECT unnest(?) AS episode_id",
                        [drop])
            con.execute("DELETE FROM episodes WHERE episode_id IN "
                        "(SELECT episode_id FROM _ep_drop)")
            con.execute("DELETE FROM episode_events WHERE episode_id IN "
                        "(SELECT episode_id FROM _ep_drop)")
        if write:
            now = datetime.now(UTC)
            rows = pa.Table.from_pylist([
                {"episode_id": ep["episode_id"], "type": ep["type"],
                 "episode_key": ep["episode_key"], "title": ep["title"],
                 "started_at": ep["started_at"], "ended_at": ep["ended_at"],
                 "outcome": ep["outcome"], "event_count": ep["event_count"],
                 "last_event_at": ep["last_event_at"], "content_hash": ep["content_hash"],
                 "updated_at": now} for ep in write], schema=_EPISODE_SCHEMA)
            links = pa.Table.from_pylist(
                [{"episode_id": ep["episode_id"], "event_id": eid, "position": i + 1}
                 for ep in write for i, eid in enumerate(ep["event_ids"])],
                schema=_LINK_SCHEMA)
            con.register("_ep_new", rows)
            con.register("_ep_new_links", links)
            con.execute(
                """INSERT INTO episodes SELECT episode_id, type, episode_key, title, started_at,
                       ended_at, []::VARCHAR[], outcome, event_count, last_event_at,
                       content_hash, updated_at FROM _ep_new""")
            con.execute("INSERT INTO episode_events SELECT episode_id, event_id, position "
                        "FROM _ep_new_links")
            con.unregister("_ep_new")
            con.unregister("_ep_new_links")
        stats.participants_refreshed = _refresh_participants(con)
        set_state(con, ASSET, "watermark", new_watermark)
        set_state(con, ASSET, "config", fingerprint)
    stats.watermark = new_watermark
    stats.total = con.execute("SELECT count(*) FROM episodes").fetchone()[0]
    stats.by_type = dict(con.execute(
        "SELECT type, count(*) FROM episodes GROUP BY 1 ORDER BY 1").fetchall())
    return stats


def _refresh_participants(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute every episode's participants from the current entity resolution; returns how
    many changed (a merge in the marts reaches old episodes without recomputing them)."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ep_people AS
        SELECT ee.episode_id, list(DISTINCT p.person ORDER BY p.person) AS participants
        FROM episode_events ee JOIN _event_people p USING (event_id)
        GROUP BY ee.episode_id"""
    )
    changed = con.execute(
        """SELECT count(*) FROM episodes e
        LEFT JOIN _ep_people p USING (episode_id)
        WHERE e.participants IS DISTINCT FROM coalesce(p.participants, [])"""
    ).fetchone()[0]
    if changed:
        con.execute(
            """UPDATE episodes SET participants = coalesce(p.participants, [])
            FROM (SELECT e.episode_id, p.participants FROM episodes e
                  LEFT JOIN _ep_people p USING (episode_id)) p
            WHERE episodes.episode_id = p.episode_id
              AND episodes.participants IS DISTINCT FROM coalesce(p.participants, [])"""
        )
    return changed


# --- Dagster ------------------------------------------------------------------------------


class EpisodesConfig(dg.Config):
    """How episodes are built."""

    full_refresh: bool = False  # recompute every episode (ids stay stable)
    chat_session_gap_hours: float = DEFAULT_CHAT_GAP_HOURS  # a chat pause this long ends one
    as_of: str | None = None  # ISO time deciding "overdue" / "scheduled"; default: now


def _preview(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(
        """SELECT type, title, started_at::DATE, len(participants), event_count, outcome
        FROM episodes ORDER BY last_event_at DESC NULLS LAST, episode_id LIMIT 10"""
    ).fetchall()
    return markdown_table(["type", "title", "started", "people", "events", "outcome"], rows)


@dg.asset(
    key=ASSET,
    group_name=GROUP,
    pool="warehouse",
    automation_condition=FOLLOW_INPUTS,
    kinds={"duckdb", "python"},
    deps=[EVENT_LOG, ENTITY_MEMBERSHIP, FCT_INTERACTIONS, FCT_INVOICES],
    description=(
        "Episodic memory: threads (chat threads cut into sessions), meetings with their "
        "transcripts and notes, transactions (an invoice with its payments) and decisions, "
        "each with participants (canonical entity ids) and an outcome. Tables `episodes` and "
        "`episode_events`; incremental on newly ingested event versions."
    ),
)
def episodes(context: dg.AssetExecutionContext, config: EpisodesConfig,
             warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    as_of = _date(config.as_of) if config.as_of else None
    with warehouse.connect() as con:
        stats = build_episodes(con, full_refresh=config.full_refresh,
                               chat_session_gap_hours=config.chat_session_gap_hours, as_of=as_of)
        links = con.execute("SELECT count(*) FROM episode_events").fetchone()[0]
        preview = _preview(con)
    context.log.info(
        f"episodes: {stats.new} new, {stats.updated} updated, {stats.removed} removed, "
        f"{stats.unchanged} unchanged of {stats.dirty_keys} touched keys"
        + (" (full rebuild)" if stats.full else ""))
    return dg.MaterializeResult(metadata={
        "dagster/row_count": stats.total,
        "new_rows": stats.new,
        "updated_rows": stats.updated,
        "removed_rows": stats.removed,
        "unchanged_rows": stats.unchanged,
        "touched_keys": stats.dirty_keys,
        "participants_refreshed": stats.participants_refreshed,
        "full_rebuild": stats.full,
        "episode_events": links,
        "by_type": dg.MetadataValue.json(stats.by_type),
        "watermark": stats.watermark or "",
        "preview": dg.MetadataValue.md(preview),
    })


@dg.asset_check(asset=ASSET, blocking=True,
                description="episode ids are unique and every episode has its events linked")
def episodes_consistent(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        dupes = con.execute("SELECT count(*) FROM (SELECT episode_id FROM episodes "
                            "GROUP BY 1 HAVING count(*) > 1)").fetchone()[0]
        mismatched = con.execute(
            """SELECT count(*) FROM episodes e
            LEFT JOIN (SELECT episode_id, count(*) n FROM episode_events GROUP BY 1) l
              USING (episode_id)
            WHERE coalesce(l.n, 0) <> e.event_count""").fetchone()[0]
        orphans = con.execute(
            "SELECT count(*) FROM episode_events WHERE episode_id NOT IN "
            "(SELECT episode_id FROM episodes)").fetchone()[0]
    return dg.AssetCheckResult(
        passed=dupes == 0 and mismatched == 0 and orphans == 0,
        metadata={"duplicate_ids": dupes, "count_mismatches": mismatched,
                  "orphan_links": orphans})


@dg.asset_check(asset=ASSET, blocking=False,
                description="every episode event is a current event of the log")
def episode_events_exist(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        missing = con.execute(
            "SELECT count(*) FROM episode_events WHERE event_id NOT IN "
            "(SELECT event_id FROM events_current)").fetchone()[0]
    return dg.AssetCheckResult(passed=missing == 0, metadata={"stale_links": missing})


EPISODIC_ASSETS = [episodes]
EPISODIC_CHECKS = [episodes_consistent, episode_events_exist]
