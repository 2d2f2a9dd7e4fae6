"""iCalendar (``.ics``): one event per ``VEVENT``.

The file is scanned for ``BEGIN:VEVENT`` / ``END:VEVENT`` lines first (so that every event knows
its line and an unclosed block is reported), then parsed with :mod:`icalendar`. When the whole
calendar parses into as many VEVENTs as the scan found, they are paired in order; otherwise each
block is parsed on its own (with the file's VTIMEZONEs), so one broken block costs only itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import icalendar

from aios_assets.ingest.events import (
    MAX_TEXT_CHARS,
    Event,
    FieldIssue,
    InvalidTimestamp,
    Rejection,
    parse_timestamp,
)
from aios_assets.ingest.formats.common import Ctx, decode_text, too_large


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _scan(lines: list[str]) -> tuple[list[tuple[int, int | None]], list[str]]:
    """VEVENT blocks as (first line, last line or None when unclosed) and VTIMEZONE texts."""
    blocks: list[tuple[int, int | None]] = []
    timezones: list[str] = []
    open_event: int | None = None
    tz_start: int | None = None
    for i, line in enumerate(lines, 1):
        u = line.strip().upper()
        if not u.startswith(("BEGIN:", "END:")):
            continue
        if u == "BEGIN:VEVENT":
            if open_event is not None:
                blocks.append((open_event, None))
            open_event = i
        elif u == "END:VEVENT" and open_event is not None:
            blocks.append((open_event, i))
            open_event = None
        elif u == "END:VCALENDAR" and open_event is not None:
            blocks.append((open_event, None))
            open_event = None
        elif u == "BEGIN:VTIMEZONE":
            tz_start = i
        elif u == "END:VTIMEZONE" and tz_start is not None:
            timezones.append("\n".join(lines[tz_start - 1 : i]))
            tz_start = None
    if open_event is not None:
        blocks.append((open_event, None))
    return blocks, timezones


def _whole(text: str) -> list[Any] | None:
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception:
        return None
    return [c for cal in calendars for c in cal.walk("VEVENT")]


def _single(block: str, timezones: list[str]) -> Any:
    text = "\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", *timezones, block, "END:VCALENDAR", ""])
    events = icalendar.Calendar.from_ical(text).walk("VEVENT")
    if not events:
        raise ValueError("no VEVENT could be read")
    return events[0]


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None


def _address(value: Any) -> tuple[str | None, str | None]:
    """A CAL-ADDRESS -> (name, email)."""
    if value is None:
        return None, None
    addr = str(value).strip()
    if addr.lower().startswith("mailto:"):
        addr = addr[7:].strip()
    params = getattr(value, "params", {}) or {}
    name = params.get("CN")
    name = " ".join(str(name).split()) if name else None
    return name or None, addr or None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
        if value is None:
            return None
    text = str(value).strip()
    return text or None


def _errors(component: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for prop, message in getattr(component, "errors", []) or []:
        out.setdefault(str(prop or "line"), str(message))
    return out


def _dt(component: Any, name: str) -> Any:
    value = component.get(name)
    if value is None:
        return None
    return value.dt  # raises for a broken property


# What identifies an event that has no UID: the same meeting exported twice gets the same id.
_IDENTITY = ("SUMMARY", "ORGANIZER", "LOCATION", "DTEND", "DURATION", "RRULE")
_DERIVED = "id derived from DTSTART, " + ", ".join(_IDENTITY)


def derived_uid(component: Any, start: datetime | date | None) -> str:
    """A stable id for a VEVENT without UID: a hash of its start and identifying properties."""
    first = start.isoformat() if start is not None else ""
    parts = [first, *(_ical_text(component.get(name)) for name in _IDENTITY)]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"derived-{digest}"


def _ical_text(value: Any) -> str:
    """A property as its iCalendar text, whitespace folded (never raises)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\x1e".join(_ical_text(v) for v in value)
    try:
        text = value.to_ical() if hasattr(value, "to_ical") else str(value)
    except Exception:
        text = str(value)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(text.split())


_RAW_START_RE = re.compile(r"^DTSTART[^:\n]*:([^\n]{8,40})$", re.M | re.I)
# When DTSTART is missing or unusable, the next best time the VEVENT carries.
_TIME_FALLBACKS = ("DTSTAMP", "CREATED", "LAST-MODIFIED")


def _start(component: Any, raw: str, errors: dict[str, str]
           ) -> tuple[Any, datetime | None, FieldIssue | None]:
    """(DTSTART's value, the event time, a field issue when the time is not DTSTART's).

    A VEVENT is kept without a usable DTSTART: a time zone that cannot be read (a TZID defined
    later, or nowhere) gives the wall time read as UTC; a missing or implausible one (years
    outside 1900-2200) gives DTSTAMP / CREATED / LAST-MODIFIED, else the load time."""
    problem = "VEVENT without DTSTART"
    start: Any = None
    if component.get("DTSTART") is not None:
        try:
            start = _dt(component, "DTSTART")
            tzid = (getattr(component.get("DTSTART"), "params", None) or {}).get("TZID")
            if tzid and isinstance(start, datetime) and start.tzinfo is None:
                return start, parse_timestamp(start), FieldIssue(
                    "occurred_at", str(tzid)[:200],
                    f"DTSTART time zone {str(tzid)[:60]!r} unknown; wall time read as UTC")
            return start, parse_timestamp(start), None
        except InvalidTimestamp as exc:
            problem = f"DTSTART {exc}"
            if not isinstance(start, datetime | date):  # a duration or period, not a start
                start = None
        except Exception:  # noqa: BLE001 - icalendar raises many kinds for a broken value
            problem = f"invalid DTSTART: {errors.get('DTSTART', 'unreadable value')}"
            m = _RAW_START_RE.search(raw)
            if m:  # the value as written: basic (20240314T100000) or extended ISO 8601
                value = m.group(1).strip()
                try:
                    wall = parse_timestamp(value.rstrip("Zz"))
                    return wall, wall, FieldIssue(
                        "occurred_at", m.group(0)[:200], f"{problem}; wall time read as UTC")
                except InvalidTimestamp:
                    pass
    for name in _TIME_FALLBACKS:
        try:
            value = _dt(component, name)
            if value is not None:
                return start, parse_timestamp(value), FieldIssue(
                    "occurred_at", _iso(start), f"{problem}; time taken from {name}")
        except Exception:  # noqa: BLE001, S112 - try the next one
            continue
    return start, None, FieldIssue("occurred_at", _iso(start), f"{problem}; load time used")


def component_to_event(
    component: Any, line: int, raw: str, ctx: Ctx, source: str, decoded_as: str | None
) -> Event | Rejection:
    errors = _errors(component)
    issues: list[FieldIssue] = []
    start, occurred_at, issue = _start(component, raw, errors)
    if issue is not None:
        issues.append(issue)
    end = None
    try:
        end = _dt(component, "DTEND")
        if end is None:
            duration = _dt(component, "DURATION")
            if isinstance(duration, timedelta):
                end = start + duration
    except Exception:
        end = None
    uid = _text(component.get("UID"))
    if not uid:
        uid = derived_uid(component, start)
        issues.append(FieldIssue("source_id", None, f"VEVENT without UID; {_DERIVED}"))
    source_id = uid
    try:
        rid = _dt(component, "RECURRENCE-ID")
    except Exception:
        rid = None
        errors.setdefault("RECURRENCE-ID", "unreadable value")
    if rid is not None:
        try:
            rid_text = parse_timestamp(rid).isoformat()
        except InvalidTimestamp:
            rid_text = str(rid)
        source_id = f"{uid}#{rid_text}"
    org_name, org_email = _address(component.get("ORGANIZER"))
    organizer = f"{org_name} <{org_email}>" if org_name and org_email else (org_email or org_name)
    raw_attendees = component.get("ATTENDEE")
    if raw_attendees is None:
        raw_attendees = []
    elif not isinstance(raw_attendees, list):
        raw_attendees = [raw_attendees]
    attendees = []
    for att in raw_attendees:
        name, addr = _address(att)
        if name or addr:
            attendees.append({"name": name, "email": addr})
    text = _text(component.get("DESCRIPTION")) or ""
    subject = _text(component.get("SUMMARY"))
    location = _text(component.get("LOCATION"))
    if occurred_at is None and start is None and not (
        subject or text or organizer or attendees or location
    ):  # no time and nothing else to keep: a UID alone is not a meeting
        return ctx.reject(line, issue.reason if issue else "empty VEVENT", raw, source=source)
    if len(text) > MAX_TEXT_CHARS:
        return ctx.reject(line, too_large(len(text.encode())), raw, source=source)
    payload: dict[str, Any] = {
        "organizer": organizer,
        "attendees": attendees,
        "start": _iso(start),
        "end": _iso(end),
        "location": location,
    }
    status = _text(component.get("STATUS"))
    if status:
        payload["status"] = status.upper()
    if rid is not None:
        payload["recurrence_id"] = _iso(rid)
    errors.pop("DTSTART", None)
    if errors:
        payload["_errors"] = errors
    if decoded_as:
        payload["_decoded_as"] = decoded_as
    return Event(
        source=source,
        source_id=source_id,
        kind="meeting",
        occurred_at=occurred_at,
        text=text,
        actor=organizer,
        thread=uid,
        subject=subject,
        payload=payload,
        file=ctx.file,
        line=line,
        issues=issues,
    )


def parse_ics(data: bytes, ctx: Ctx, source: str) -> Iterator[Event | Rejection]:
    text, decoded_as = decode_text(data)
    lines = _lines(text)
    blocks, timezones = _scan(lines)
    # A bare VEVENT (no VCALENDAR around it, as some tools export one event) is still read.
    if not blocks and not any(line.strip().upper() == "BEGIN:VCALENDAR" for line in lines):
        yield ctx.reject(1, "not an iCalendar file (no BEGIN:VCALENDAR)", text, source=source)
        return
    if not blocks:
        yield ctx.reject(None, "calendar has no VEVENT", source=source)
        return
    closed = [(s, e) for s, e in blocks if e is not None]
    components = None
    if len(closed) == len(blocks):
        components = _whole(text)
        if components is not None and len(components) != len(closed):
            components = None
    index = 0
    for start, end in blocks:
        if end is None:
            raw = "\n".join(lines[start - 1 : start + 40])
            yield ctx.reject(start, "VEVENT not closed (no END:VEVENT)", raw, source=source)
            continue
        raw = "\n".join(lines[start - 1 : end])
        if components is not None:
            component = components[index]
            index += 1
        else:
            try:
                component = _single(raw, timezones)
            except Exception as exc:
                yield ctx.reject(start, f"unreadable VEVENT: {exc}", raw, source=source)
                continue
        yield component_to_event(component, start, raw, ctx, source, decoded_as)
