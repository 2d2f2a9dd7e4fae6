"""Calendar-aware follow-ups: what the warehouse says about time, and the linked proposals.

A follow-up whose correspondent's last message asked to meet (:func:`slots.asks_to_meet`,
unanswered in its thread) offers free slots: one ``send_email`` with the slots in the
recipient's time zone, and one ``calendar_hold`` per slot. Proposals carry one action each, so
the holds are **linked proposals**: their ``uid`` is ``aios-<email proposal id>-<option>``,
their rationale names the e-mail proposal, and each is gated and approved like any proposal
(``policy.yaml`` ``actions.calendar_hold``). When the correspondent replies in that thread
naming one slot (:func:`slots.pick_slot`), the agent proposes ``calendar_confirm`` for its hold
and ``calendar_cancel`` (``compensates`` = the hold's idempotency key) for the others.

Busy time is the operator's meetings in ``stg_calendar__meetings`` (cancelled ones ignored,
all-day ones busy the whole local day), plus the holds of offers still open in
``action_proposals``. Working hours and the time zone come from ``policy.yaml``; the
recipient's time zone from their contact record (``timezone``/``time_zone``/``tz``), else the
``tzid`` of meetings they organized or attended, else the operator's.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import yaml
from pydantic import ValidationError

from aios_assets.agents.marts import clean_subject
from aios_assets.agents.proposals import (
    PROPOSALS_TABLE,
    Proposal,
    mode_basis,
    proposal_id,
    read_proposals,
)
from aios_assets.agents.runtime import AgentContractError, AgentRun, injection_signals
from aios_assets.agents.slots import (
    DEFAULT_HOURS,
    Interval,
    Pick,
    WorkingHours,
    WorkingHoursPolicy,
    all_day,
    asks_to_meet,
    find_slots,
    pick_slot,
    render_slot,
    zone,
)
from aios_assets.shared.db import has_relation
from aios_assets.shared.home import AiosHome

MEETINGS = "stg_calendar__meetings"
ATTENDEES = "stg_calendar__attendees"
CONTACT_TZ_KEYS = ("timezone", "time_zone", "tz", "tzid")


@dataclass(frozen=True)
class CalendarSettings:
    """The operator's time zone and working hours (``policy.yaml``)."""

    tz: ZoneInfo
    hours: WorkingHours


def calendar_settings(home: AiosHome | None = None) -> CalendarSettings:
    """``timezone`` and ``working_hours`` of ``$AIOS_HOME/policy.yaml`` (UTC, mon-fri
    09:00-17:30 when absent). A bad value raises :class:`AgentContractError` naming the field,
    like the gates' reading of the same file (``publishing/policy.py``)."""
    path: Path = (home or AiosHome.from_env()).root / "policy.yaml"
    raw: Any = {}
    if path.exists():
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise AgentContractError(f"{path}: cannot read: {exc}") from None
    if not isinstance(raw, dict):
        raise AgentContractError(f"{path}: expected a mapping at the top")
    tz = zone(raw.get("timezone") or "UTC")
    if tz is None:
        raise AgentContractError(f"{path}: timezone: unknown time zone {raw.get('timezone')!r}")
    section = raw.get("working_hours")
    if section is None:
        return CalendarSettings(tz, DEFAULT_HOURS)
    try:
        return CalendarSettings(tz, WorkingHoursPolicy.model_validate(section).hours())
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(["working_hours", *(str(p) for p in err["loc"])])
        raise AgentContractError(f"{path}: {where}: {err['msg']}") from None


# --- reading the warehouse ------------------------------------------------------------------


def calendar_available(con: duckdb.DuckDBPyConnection) -> bool:
    return has_relation(con, MEETINGS) and has_relation(con, ATTENDEES)


def busy_intervals(con: duckdb.DuckDBPyConnection, operator_email: str | None, tz: ZoneInfo,
                   since: datetime, until: datetime) -> list[Interval]:
    """The operator's meetings overlapping ``[since, until)``: not cancelled, and the operator
    organizes or attends them (or nobody is named: a block on their own calendar). A meeting
    without an end is taken as one hour; an all-day one as whole local days in ``tz``."""
    rows = con.execute(
        f"""SELECT m.starts_at, m.ends_at, m.is_all_day, m.start_date, m.end_date
        FROM {MEETINGS} m
        WHERE coalesce(m.status, '') <> 'CANCELLED' AND m.starts_at IS NOT NULL
          AND m.starts_at < ? AND coalesce(m.ends_at, m.starts_at + INTERVAL 1 DAY) > ?
          AND (? IS NULL
               OR NOT EXISTS (SELECT 1 FROM {ATTENDEES} a WHERE a.source = m.source
                              AND a.meeting_id = m.meeting_id AND a.email IS NOT NULL)
               OR EXISTS (SELECT 1 FROM {ATTENDEES} a WHERE a.source = m.source
                          AND a.meeting_id = m.meeting_id AND lower(a.email) = ?))""",
        [until + timedelta(days=1), since - timedelta(days=1), operator_email,
         (operator_email or "").lower()]).fetchall()
    out: list[Interval] = []
    for starts, ends, is_all_day, start_date, end_date in rows:
        if is_all_day and start_date is not None:
            out.append(all_day(start_date, end_date, tz))
            continue
        start = starts.astimezone(UTC)
        end = ends.astimezone(UTC) if ends is not None and ends > starts else (
            start + timedelta(hours=1))
        out.append(Interval(start, end))
    return out


def recipient_zone(con: duckdb.DuckDBPyConnection, entity_id: str,
                   emails: list[str]) -> tuple[ZoneInfo | None, str]:
    """(the recipient's time zone or None, where it came from)."""
    if has_relation(con, "entity_membership"):
        keys = ", ".join(f"e.payload ->> '{k}'" for k in CONTACT_TZ_KEYS)
        row = con.execute(
            f"""SELECT coalesce({keys}) FROM entity_membership m
            JOIN events_current e ON e.source = m.source AND e.source_id = m.source_id
            WHERE m.entity_id = ? AND e.kind = 'contact' AND coalesce({keys}) IS NOT NULL
            ORDER BY e.occurred_at DESC LIMIT 1""", [entity_id]).fetchone()
        if row and (tz := zone(row[0])):
            return tz, "their contact record"
    if calendar_available(con) and emails:
        rows = con.execute(
            f"""SELECT a.role, m.tzid, m.starts_at FROM {ATTENDEES} a
            JOIN {MEETINGS} m ON m.source = a.source AND m.meeting_id = a.meeting_id
            WHERE lower(a.email) IN (SELECT unnest(?)) AND m.tzid IS NOT NULL""",
            [[e.lower() for e in emails]]).fetchall()
        for role, what in (("organizer", "meetings they organized"),
                           ("attendee", "meetings they attended")):
            zones = Counter(t for r, t, _ in rows if r == role and zone(t))
            if zones:
                latest = {t: max(s for r, tt, s in rows if tt == t) for t in zones}
                best = max(zones, key=lambda t: (zones[t], latest[t]))
                return zone(best), f"the time zone of {what}"
    return None, "unknown (the operator's is used)"


@dataclass(frozen=True)
class MeetingAsk:
    event_id: str
    thread: str
    occurred_at: datetime


def meeting_ask(con: duckdb.DuckDBPyConnection, entity_id: str, operator_email: str | None,
                as_of: datetime) -> MeetingAsk | None:
    """The entity's newest message when it asks to meet and nobody from the operator's side
    wrote in its thread since. Inbound text is data: it only selects this kind of follow-up,
    and a message carrying instructions aimed at an assistant never does."""
    row = con.execute(
        """SELECT e.event_id, coalesce(e.thread, e.source_id), e.occurred_at, e.subject, e.text
        FROM fct_interactions f
        JOIN events_current e ON e.source = f.source AND e.source_id = f.source_event_id
        WHERE f.entity_id = ? AND f.role = 'from' AND e.kind = 'email' AND e.occurred_at <= ?
        ORDER BY e.occurred_at DESC, e.event_id LIMIT 1""", [entity_id, as_of]).fetchone()
    if row is None:
        return None
    event_id, thread, at, subject, text = row
    if not asks_to_meet(f"{subject or ''}\n{text or ''}") or injection_signals(
            f"{subject or ''}\n{text or ''}"):
        return None
    if operator_email:
        answered = con.execute(
            """SELECT count(*) FROM events_current WHERE kind = 'email'
            AND coalesce(thread, source_id) = ? AND occurred_at > ? AND occurred_at <= ?
            AND position(? IN lower(coalesce(actor, ''))) > 0""",
            [thread, at, as_of, operator_email.lower()]).fetchone()[0]
        if answered:
            return None
    return MeetingAsk(event_id, thread, at)


def held_elsewhere(con: duckdb.DuckDBPyConnection, agent: str,
                   now: datetime) -> list[tuple[str | None, Interval]]:
    """(target, slot) of the live holds of open offers (not expired): a slot offered to one
    person is not offered to another while their offer stands."""
    if not has_relation(con, PROPOSALS_TABLE):
        return []
    rows = con.execute(
        f"""SELECT target_entity_id, payload ->> 'start', payload ->> 'end'
        FROM {PROPOSALS_TABLE}
        WHERE agent = ? AND action_type = 'calendar_hold' AND mode = 'live'
          AND expires_at > ?""", [agent, now]).fetchall()
    return [(t, Interval(datetime.fromisoformat(s), datetime.fromisoformat(e)))
            for t, s, e in rows]


# --- the offer ------------------------------------------------------------------------------


def hold_uid(email_proposal_id: str, option: int) -> str:
    """``aios-<e-mail proposal id>-<option>``: stable across reruns, and it names its offer."""
    return f"aios-{email_proposal_id}-{option}"


def offer_of(uid: str) -> tuple[str, int] | None:
    """(e-mail proposal id, option) of a hold uid made by :func:`hold_uid`."""
    parts = uid.split("-")
    if len(parts) != 3 or parts[0] != "aios" or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2])


def existing(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, Proposal]:
    """Proposals already merged, by id: a rerun re-emits them as they are, so the slots an
    e-mail offered and its holds never drift apart."""
    if not ids or not has_relation(con, PROPOSALS_TABLE):
        return {}
    return {p.proposal_id: p for p in read_proposals(
        con, where="proposal_id IN (SELECT unnest(?))", params=[ids])}


def slots_text(slots: list[Interval], tz: ZoneInfo) -> str:
    return "\n".join(f"Option {i}: {render_slot(s, tz)}" for i, s in enumerate(slots, 1))


def make_offer(con: duckdb.DuckDBPyConnection, run: AgentRun, *, entity_id: str,
               full_name: str, email: str, basis: str, fields: dict[str, Any],
               evidence: list[str], confidence: float, why: str, ask: MeetingAsk,
               settings: CalendarSettings, busy: list[tuple[str | None, Interval]],
               ) -> tuple[list[Proposal], str] | None:
    """[send_email offering slots, calendar_hold per slot] and the note for the preview, or
    None when fewer than two slots are free (the caller proposes a plain follow-up). ``busy``
    is (whose hold, or None for a meeting, interval): this entity's own holds do not count
    (a canary run sees the slots the live run offered them)."""
    pid = proposal_id(run.agent, "send_email", entity_id,
                      mode_basis(basis, run.mode, run.manifest.version))
    count = int(run.param("meeting_slots", 3))
    hold_ids = [proposal_id(run.agent, "calendar_hold", entity_id,
                            mode_basis(f"{basis}|hold:{i}", run.mode, run.manifest.version))
                for i in range(1, count + 1)]
    before = existing(con, [pid, *hold_ids])
    if pid in before:
        return [before[pid], *(before[h] for h in hold_ids if h in before)], "(offer as made)"
    rtz, tz_from = recipient_zone(con, entity_id, [email])
    shown_tz = rtz or settings.tz
    slots = find_slots([b for t, b in busy if t != entity_id], settings.hours, settings.tz,
                       timedelta(minutes=float(run.param("meeting_minutes", 30))),
                       int(run.param("meeting_horizon_days", 5)), run.now,
                       recipient_tz=rtz, recipient_hours=settings.hours,
                       buffer=timedelta(minutes=float(run.param("meeting_buffer_minutes", 15))),
                       count=count)
    if len(slots) < 2:
        return None
    payload = {"to": email, "subject": run.fill("meeting_subject", fields),
               "body": run.fill("meeting_body", {**fields, "slots": slots_text(slots, shown_tz)})}
    why = (f"{why} Their last message asked to meet: {len(slots)} free slots offered, shown "
           f"in {shown_tz.key} ({tz_from}); one calendar_hold proposal per slot "
           f"(uids {hold_uid(pid, 1)}…).")
    evidence = [ask.event_id, *evidence]
    out = [run.propose(action_type="send_email", target_entity_id=entity_id, basis=basis,
                       payload=payload, rationale=why, evidence=evidence,
                       confidence=confidence, untrusted_input=True)]
    for i, slot in enumerate(slots, 1):
        hold = {"uid": hold_uid(pid, i), "summary": f"Hold: {full_name} / "
                f"{fields['operator_first_name']} ({fields['topic']})",
                "start": slot.start.astimezone(settings.tz).isoformat(),
                "end": slot.end.astimezone(settings.tz).isoformat(),
                # a hold blocks the operator's time and invites nobody: the invitation goes
                # with calendar_confirm, once a time is agreed
                "tzid": settings.tz.key, "attendees": [],
                "description": f"Option {i} of {len(slots)} offered to {full_name} by "
                               f"follow-up proposal {pid}; withdrawn unless picked."}
        out.append(run.propose(
            action_type="calendar_hold", target_entity_id=entity_id,
            basis=f"{basis}|hold:{i}", payload=hold,
            rationale=(f"Tentative hold for option {i} ({render_slot(slot, settings.tz)}) of "
                       f"the meeting times offered to {full_name} in proposal {pid}: approve "
                       "it together with that e-mail."),
            evidence=evidence, confidence=confidence, untrusted_input=True))
    return out, f"offered {len(slots)} slots to {full_name} in {shown_tz.key}"


# --- the reply ------------------------------------------------------------------------------


def smtp_message_token(idempotency_key: str) -> str:
    """The local part of the Message-ID the SMTP adapter gives an action
    (``publishing/adapters/smtp.message_id``): a reply's In-Reply-To carries it."""
    return "aios." + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32] + "@"


@dataclass(frozen=True)
class Offer:
    email: Proposal
    holds: list[Proposal]  # by option number
    rejected: frozenset[str]  # ids of holds the operator rejected


def open_offers(con: duckdb.DuckDBPyConnection, run: AgentRun) -> list[Offer]:
    """Offers of this agent and mode made within ``meeting_reply_days``, holds by option, and
    which holds the operator rejected (``proposal_decisions``)."""
    if not has_relation(con, PROPOSALS_TABLE):
        return []
    since = run.now - timedelta(days=float(run.param("meeting_reply_days", 14)))
    holds = read_proposals(con, where="agent = ? AND mode = ? AND action_type = "
                           "'calendar_hold' AND created_at >= ?",
                           params=[run.agent, run.mode, since])
    rejected: set[str] = set()
    if has_relation(con, "proposal_decisions"):
        rejected = {r[0] for r in con.execute(
            "SELECT proposal_id FROM proposal_decisions QUALIFY row_number() OVER "
            "(PARTITION BY proposal_id ORDER BY seq DESC) = 1 AND decision = 'rejected'"
        ).fetchall()}
    by_offer: dict[str, list[tuple[int, Proposal]]] = {}
    for h in holds:
        if o := offer_of(str(h.payload.get("uid"))):
            by_offer.setdefault(o[0], []).append((o[1], h))
    emails = existing(con, list(by_offer))
    return [Offer(emails[pid], [h for _, h in sorted(hs, key=lambda x: x[0])],
                  frozenset(h.proposal_id for _, h in hs if h.proposal_id in rejected))
            for pid, hs in sorted(by_offer.items()) if pid in emails]


@dataclass(frozen=True)
class Reply:
    event_id: str
    text: str
    occurred_at: datetime


def reply_to(con: duckdb.DuckDBPyConnection, offer: Offer, as_of: datetime) -> Reply | None:
    """The correspondent's newest message after the offer in its thread: same subject (past
    Re:), or In-Reply-To / References naming the Message-ID the offer was sent with."""
    p = offer.email
    subject = clean_subject(p.payload.get("subject")) or ""
    token = smtp_message_token(p.idempotency_key)
    rows = con.execute(
        """SELECT e.event_id, e.subject, e.text, e.occurred_at,
                  coalesce(e.payload ->> 'in_reply_to', '') || ' ' ||
                  coalesce(CAST(e.payload -> 'references' AS VARCHAR), '')
        FROM fct_interactions f
        JOIN events_current e ON e.source = f.source AND e.source_id = f.source_event_id
        WHERE f.entity_id = ? AND f.role = 'from' AND e.kind = 'email'
          AND e.occurred_at > ? AND e.occurred_at <= ?
        ORDER BY e.occurred_at DESC, e.event_id""",
        [p.target_entity_id, p.created_at, as_of]).fetchall()
    for event_id, subj, text, at, refs in rows:
        if token in refs or (subject and clean_subject(subj) == subject):
            return Reply(event_id, text or "", at)
    return None


def settle(run: AgentRun, offer: Offer, reply: Reply, pick: Pick) -> list[Proposal]:
    """calendar_confirm for the picked hold, calendar_cancel for each other one."""
    assert pick.index is not None
    picked = offer.holds[pick.index]
    who = str(offer.email.payload.get("to") or "")
    evidence = [reply.event_id, *offer.email.evidence_event_ids]
    out = [run.propose(
        action_type="calendar_confirm", target_entity_id=picked.target_entity_id,
        basis=f"confirm:{picked.payload['uid']}",
        payload={**{k: picked.payload[k] for k in ("uid", "summary", "start", "end", "tzid")
                    if k in picked.payload}, "attendees": [who] if who else []},
        rationale=(f"{who} replied to the times offered in proposal {offer.email.proposal_id}: "
                   f"{pick.reason}. Confirm that hold."),
        evidence=evidence, confidence=0.8, untrusted_input=True)]
    for i, hold in enumerate(offer.holds):
        if i == pick.index or hold.proposal_id in offer.rejected:
            continue  # a rejected hold was never made: nothing to withdraw
        out.append(run.propose(
            action_type="calendar_cancel", target_entity_id=hold.target_entity_id,
            basis=f"cancel:{hold.payload['uid']}",
            payload={"uid": hold.payload["uid"], "compensates": hold.idempotency_key,
                     **{k: hold.payload[k] for k in ("summary", "start", "end", "tzid")
                        if k in hold.payload}},
            rationale=(f"{who} picked another time (option {pick.index + 1}) of proposal "
                       f"{offer.email.proposal_id}: withdraw the hold for option {i + 1}."),
            evidence=evidence, confidence=0.8, untrusted_input=True))
    return out


def pick_of(con: duckdb.DuckDBPyConnection, offer: Offer, reply: Reply,
            settings: CalendarSettings) -> Pick:
    """Which hold of ``offer`` the reply picks, read in the time zone the offer showed."""
    rtz, _ = recipient_zone(con, offer.email.target_entity_id or "",
                            [str(offer.email.payload.get("to") or "")])
    slots = [Interval(datetime.fromisoformat(h.payload["start"]),
                      datetime.fromisoformat(h.payload["end"])) for h in offer.holds]
    return pick_slot(reply.text, slots, rtz or settings.tz)
