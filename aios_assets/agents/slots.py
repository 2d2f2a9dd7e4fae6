"""Free meeting slots, and what a reply says about them: pure functions, no I/O.

* :func:`find_slots` — the operator's busy intervals, working hours (``policy.yaml``
  ``working_hours``, in the policy's ``timezone``), a duration, a horizon of working days and
  the wall clock give up to ``count`` free slots on different days, never in the past, never
  within ``buffer`` of busy time, preferring times inside the recipient's working day.
* :func:`all_day` — an all-day event as busy time (local midnight to midnight).
* :func:`asks_to_meet` — whether an inbound text asks for a meeting or call (selects the kind of
  follow-up only: it never changes what AIOS may do).
* :func:`render_slot` / :func:`pick_slot` — a slot as the recipient reads it (their zone named)
  and which offered slot a reply picks, conservatively (ambiguous: none, with the reason).

All arithmetic is done in UTC: adding a timedelta to an aware datetime in a zone with DST is
wall-clock arithmetic in Python, which would make slots across a DST change the wrong length.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONG_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")


def parse_clock(value: str) -> time:
    """``"09:00"`` -> ``time(9, 0)``; ValueError saying what is wrong otherwise."""
    m = _TIME_RE.fullmatch(str(value).strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"must be a time like '09:00', got {value!r}")
    return time(int(m.group(1)), int(m.group(2)))


class WorkingHoursPolicy(BaseModel):
    """``working_hours`` in ``policy.yaml``: the days and the hours meetings may be offered,
    in the policy's ``timezone``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[str] = Field(default_factory=lambda: list(DAY_NAMES[:5]))
    start: str = "09:00"
    end: str = "17:30"

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        names = {**{d: d for d in DAY_NAMES}, **dict(zip(_LONG_DAYS, DAY_NAMES, strict=True))}
        bad = [d for d in v if str(d).strip().lower() not in names]
        if bad:
            raise ValueError(f"unknown day(s) {bad} (use mon, tue, wed, thu, fri, sat, sun)")
        if not v:
            raise ValueError("needs at least one day")
        return list(dict.fromkeys(names[str(d).strip().lower()] for d in v))

    @field_validator("start", "end", mode="before")
    @classmethod
    def _sexagesimal(cls, v: object) -> object:
        # YAML 1.1 reads an unquoted 17:30 as the base-60 integer 1050: take it as meant.
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 24 * 60:
            return f"{v // 60:02d}:{v % 60:02d}"
        return v

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        parse_clock(v)
        return v

    @model_validator(mode="after")
    def _order(self) -> WorkingHoursPolicy:
        if parse_clock(self.end) <= parse_clock(self.start):
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    def hours(self) -> WorkingHours:
        return WorkingHours(frozenset(DAY_NAMES.index(d) for d in self.days),
                            parse_clock(self.start), parse_clock(self.end))


@dataclass(frozen=True)
class WorkingHours:
    """Weekdays (0 = Monday) and the local start and end of the working day."""

    days: frozenset[int]
    start: time
    end: time


DEFAULT_HOURS = WorkingHoursPolicy().hours()


@dataclass(frozen=True, order=True)
class Interval:
    """``[start, end)``, both timezone-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval ends must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"interval ends before it starts: {self.start} > {self.end}")

    def overlaps(self, other: Interval, pad: timedelta = timedelta(0)) -> bool:
        return self.start < other.end + pad and other.start < self.end + pad


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name``, or None when it is empty or unknown."""
    if not name or not str(name).strip():
        return None
    try:
        return ZoneInfo(str(name).strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``day`` at local ``at`` in ``tz``, as UTC (a time inside a spring-forward gap moves
    forward by the gap, as clocks do)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz).astimezone(UTC)


def all_day(first: date, end: date | None, tz: ZoneInfo) -> Interval:
    """An all-day event from ``first`` to ``end`` (exclusive, as DTEND of a DATE; None: one
    day), busy from local midnight to local midnight in ``tz``."""
    last = end if end is not None and end > first else first + timedelta(days=1)
    return Interval(_local(first, time(0), tz), _local(last, time(0), tz))


def _working_days(hours: WorkingHours, tz: ZoneInfo, now: datetime, n: int) -> list[date]:
    """The next ``n`` working days in ``tz``, today first when its working day ends after
    ``now`` (the caller passes the earliest end a slot could have)."""
    today = now.astimezone(tz).date()
    out: list[date] = []
    day = today
    while len(out) < n and (day - today).days < 366:
        if day.weekday() in hours.days and _local(day, hours.end, tz) > now:
            out.append(day)
        day += timedelta(days=1)
    return out


def misfit_minutes(slot: Interval, hours: WorkingHours, tz: ZoneInfo) -> float:
    """How badly ``slot`` fits the working day of someone in ``tz``: 0 when it lies wholly
    inside their working hours on one of their working days, else the minutes outside them
    plus the minutes between the slot and their nearest working hours."""
    inside = timedelta(0)
    gap: timedelta | None = None
    first = slot.start.astimezone(tz).date()
    for day in (first + timedelta(days=k) for k in range(-3, 4)):
        if day.weekday() not in hours.days:
            continue
        lo, hi = _local(day, hours.start, tz), _local(day, hours.end, tz)
        if min(slot.end, hi) > max(slot.start, lo):
            inside += min(slot.end, hi) - max(slot.start, lo)
            gap = timedelta(0)
        else:
            d = lo - slot.end if slot.end <= lo else slot.start - hi
            gap = d if gap is None else min(gap, d)
    outside = slot.end - slot.start - inside
    return (outside + (gap or timedelta(0))).total_seconds() / 60


def find_slots(busy: Iterable[Interval], hours: WorkingHours, tz: ZoneInfo,
               duration: timedelta, horizon_days: int, now: datetime, *,
               recipient_tz: ZoneInfo | None = None,
               recipient_hours: WorkingHours | None = None,
               buffer: timedelta = timedelta(minutes=15), step: timedelta = timedelta(minutes=30),
               count: int = 3) -> list[Interval]:
    """Up to ``count`` free slots of ``duration`` on different working days, earliest first.

    Candidates start on the ``step`` grid of each working day (in ``tz``) within the next
    ``horizon_days`` working days, end by the end of the working day, start after ``now``
    (plus ``buffer``), and keep ``buffer`` away from every busy interval. Each day offers its
    candidate that best fits the recipient's working day (``recipient_hours``, default the
    operator's, in ``recipient_tz``; earliest on a tie); the days whose best fits best win.
    """
    if duration <= timedelta(0) or step <= timedelta(0):
        raise ValueError("duration and step must be positive")
    now = now.astimezone(UTC)
    blocked = sorted(b for b in busy if b.end > now - buffer)
    rtz = recipient_tz or tz
    rhours = recipient_hours or hours
    best: list[tuple[float, datetime, Interval]] = []
    earliest = now + buffer
    for day in _working_days(hours, tz, earliest + duration, horizon_days):
        day_start, day_end = _local(day, hours.start, tz), _local(day, hours.end, tz)
        chosen: tuple[float, datetime, Interval] | None = None
        at = day_start
        while at + duration <= day_end:
            slot = Interval(at, at + duration)
            if at >= earliest and not any(slot.overlaps(b, buffer) for b in blocked):
                score = misfit_minutes(slot, rhours, rtz)
                if chosen is None or score < chosen[0]:
                    chosen = (score, at, slot)
                if score == 0:
                    break  # the earliest slot inside the recipient's day: nothing beats it
            at += step
        if chosen is not None:
            best.append(chosen)
    best.sort(key=lambda c: (c[0], c[1]))
    return sorted(c[2] for c in best[:count])


# --- what people write ----------------------------------------------------------------------

_MEET_RE = re.compile(
    r"\b(?:schedule|set up|setup|arrange|book|organi[sz]e|find|hop on|jump on|have|get on)\s+"
    r"(?:a|an|some)?\s*(?:quick|short|brief|\d+[- ]?min(?:ute)?s?)?\s*"
    r"(?:call|meeting|chat|catch[- ]?up|video ?call|phone call|zoom|time to (?:talk|meet|chat))\b"
    r"|\b(?:can|could|shall|should|would it make sense (?:for|if))\s+we\s+(?:meet|talk|speak|chat|"
    r"catch up|have a call|jump on a call|hop on a call|get on a call)\b"
    r"|\b(?:are|would) you (?:be )?(?:available|free) (?:for|to)\b"
    r"|\b(?:would|do|will) you have (?:some |any )?time (?:for (?:a|an)\b[^.?!\n]{0,30}?\b(?:call|"
    r"meeting|chat|catch[- ]?up)|to (?:talk|meet|chat|speak))\b"
    r"|\bwhen (?:are|would) you (?:be )?(?:available|free)\b"
    r"|\byour availability\b"
    r"|\blet'?s (?:meet|talk|chat|catch up|schedule|set up a (?:call|meeting))\b"
    r"|\b(?:a|an) (?:call|meeting) (?:next|this) (?:week|monday|tuesday|wednesday|thursday|"
    r"friday)\b",
    re.IGNORECASE)
_NO_MEET_RE = re.compile(
    r"\b(?:no need (?:for|to)|(?:don'?t|do not|doesn'?t|does not) need|not necessary)\b"
    r"[^.\n]{0,30}\b(?:call|meet|meeting|chat|talk)", re.IGNORECASE)


def asks_to_meet(text: str | None) -> bool:
    """Whether ``text`` asks for a meeting or a call ("could we schedule a call", "are you
    available for a chat next week"), and does not wave one off ("no need for a call")."""
    t = " ".join((text or "").split())
    return bool(_MEET_RE.search(t)) and not _NO_MEET_RE.search(t)


def zone_label(moment: datetime, tz: ZoneInfo) -> str:
    """``EDT (America/New_York)``: the abbreviation in force and the IANA name."""
    abbr = moment.astimezone(tz).tzname() or ""
    name = str(tz.key)
    return f"{abbr} ({name})" if abbr and abbr != name else name


def render_slot(slot: Interval, tz: ZoneInfo) -> str:
    """``Tue 10 Mar 2026, 10:00-10:30 EDT (America/New_York)`` in ``tz``."""
    s, e = slot.start.astimezone(tz), slot.end.astimezone(tz)
    end = f"{e:%H:%M}" if e.date() == s.date() else f"{e:%a %d %b} {e:%H:%M}"
    return f"{s:%a} {s.day} {s:%b %Y}, {s:%H:%M}-{end} {zone_label(slot.start, tz)}"


@dataclass(frozen=True)
class Pick:
    """Which offered slot a reply picks (``index``), or None and why not."""

    index: int | None
    reason: str


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3}
_OPTION_RE = re.compile(r"\b(?:option|slot|choice|number|nr\.?|no\.)\s*#?\s*([1-9])\b"
                        r"|#([1-9])\b"
                        r"|\bthe (first|second|third|1st|2nd|3rd) (?:one|option|slot|time)\b",
                        re.IGNORECASE)
_WEEKDAY_RE = re.compile(r"\b(monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thu|"
                         r"friday|fri|saturday|sat|sunday|sun)\b", re.IGNORECASE)
# Where the quoted original starts in a reply: the offer itself must not count as a pick.
_QUOTE_START_RE = re.compile(r"^\s*(?:on\b.{0,200}\bwrote:|-{2,}\s*original message\s*-{2,}"
                             r"|from:\s)", re.IGNORECASE)


def unquoted(text: str | None) -> str:
    """A reply without the message it quotes (lines from "On ... wrote:" / "From:" on, and
    lines starting with ">")."""
    out: list[str] = []
    for line in (text or "").splitlines():
        if _QUOTE_START_RE.match(line):
            break
        if not line.lstrip().startswith(">"):
            out.append(line)
    return "\n".join(out)
_DAY_MONTH_RE = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"[a-z]*\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})"
    r"(?:st|nd|rd|th)?\b|\b(\d{4})-(\d{2})-(\d{2})\b", re.IGNORECASE)
_CLOCK_RE = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?!\w)"
                       r"|\b(\d{1,2}):(\d{2})\b|\b(\d{1,2})h(\d{2})?\b", re.IGNORECASE)


def _clocks(text: str) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for m in _CLOCK_RE.finditer(text):
        if m.group(1):
            h, mi = int(m.group(1)), int(m.group(2) or 0)
            pm = m.group(3).lower().startswith("p")
            if h > 12:
                continue
            h = (h % 12) + (12 if pm else 0)
        elif m.group(4):
            h, mi = int(m.group(4)), int(m.group(5))
        else:
            h, mi = int(m.group(6)), int(m.group(7) or 0)
        if h <= 23 and mi <= 59:
            out.add((h, mi))
    return out


def _dates(text: str) -> set[tuple[int, int]]:
    """(month, day) pairs mentioned ("10 March", "March 10th", "2026-03-10")."""
    out: set[tuple[int, int]] = set()
    for m in _DAY_MONTH_RE.finditer(text):
        if m.group(1):
            out.add((_MONTHS.index(m.group(2).lower()) + 1, int(m.group(1))))
        elif m.group(3):
            out.add((_MONTHS.index(m.group(3).lower()) + 1, int(m.group(4))))
        else:
            out.add((int(m.group(6)), int(m.group(7))))
    return out


def pick_slot(text: str | None, offered: Sequence[Interval], tz: ZoneInfo) -> Pick:
    """Which of ``offered`` (numbered from 1, rendered in ``tz``) a reply picks.

    A slot is named by its option number ("option 2", "the second one"), its weekday or its
    date, read in ``tz``; a clock time mentioned that is one of the offered start times must be
    the slot's own. Exactly one slot so named is the pick; none or several pick nothing, and
    the reason says which."""
    t = " ".join(unquoted(text).split())
    if not offered:
        return Pick(None, "no slots were offered")
    local = [s.start.astimezone(tz) for s in offered]
    options = {int(m.group(1) or m.group(2) or _ORDINALS[m.group(3).lower()])
               for m in _OPTION_RE.finditer(t)}
    weekdays = {DAY_NAMES.index(m.group(1).lower()[:3]) for m in _WEEKDAY_RE.finditer(t)}
    dates = _dates(t)
    starts = Counter((d.hour, d.minute) for d in local)
    offered_clocks = set(starts)
    clocks = _clocks(t) & offered_clocks
    named: list[int] = []
    for i, d in enumerate(local):
        by_name = (i + 1 in options or d.weekday() in weekdays or (d.month, d.day) in dates)
        if not by_name and (d.hour, d.minute) in clocks:
            by_name = starts[(d.hour, d.minute)] == 1  # a start time no other option has
        if by_name and (not clocks or (d.hour, d.minute) in clocks):
            named.append(i)
    if len(named) == 1:
        return Pick(named[0], f"the reply names option {named[0] + 1} "
                              f"({render_slot(offered[named[0]], tz)})")
    if not named:
        return Pick(None, "the reply names none of the offered times")
    return Pick(None, "the reply could mean options "
                      + ", ".join(str(i + 1) for i in named) + ": ambiguous")
