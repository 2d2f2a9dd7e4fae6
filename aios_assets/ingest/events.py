"""The event model: what every parser yields and what the event log stores.

An input record becomes an :class:`Event`; input that cannot become one becomes a
:class:`Rejection` (file, line, reason) that lands in the quarantine table. Identity is content
addressed: ``event_id`` hashes source, source_id and the content, so re-ingesting the same record
adds nothing and a corrected record adds a new version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson

from aios_assets.shared.text import EMAIL_RE, storable, storable_json

# Keys the public JSONL schema allows; anything else in a record is kept inside payload.
JSONL_FIELDS = (
    "source",
    "source_id",
    "kind",
    "occurred_at",
    "actor",
    "thread",
    "subject",
    "text",
    "payload",
)
REQUIRED_JSONL_FIELDS = ("source", "source_id", "kind", "occurred_at", "text")

MAX_TEXT_CHARS = 1_000_000  # one event's text; longer input is quarantined, not truncated


class InvalidTimestamp(ValueError):
    """A timestamp that cannot be read as ISO 8601 (or a supported variant)."""


ISSUE_REASON_CHARS = 600
ISSUE_RAW_CHARS = 500  # how much of a bad field's value a field issue keeps


@dataclass(slots=True, frozen=True)
class FieldIssue:
    """One bad or guessed field of a record that was kept anyway (the field was nulled or fixed).

    The loader writes these to the ``field_issues`` table with the event's file and line, so an
    analyst can see what was dropped from a record and why, instead of losing the record."""

    field: str  # the canonical field (or payload key / header) concerned
    raw: str | None  # the value as it was read (cut to a few hundred characters)
    reason: str  # one line: what was wrong, and what was kept instead

    def __post_init__(self) -> None:
        # a reason quotes the bad value, which can be huge or span lines
        reason = " ".join(self.reason.split())
        if len(reason) > ISSUE_REASON_CHARS:
            reason = reason[: ISSUE_REASON_CHARS - 3] + "..."
        object.__setattr__(self, "reason", reason)
        if self.raw is not None and len(self.raw) > ISSUE_RAW_CHARS:
            object.__setattr__(self, "raw", self.raw[:ISSUE_RAW_CHARS])


@dataclass(slots=True)
class Event:
    """One normalized input record (before the loader assigns ids, versions and load time)."""

    source: str
    source_id: str
    kind: str
    occurred_at: datetime | None  # None: the input has no event time; the loader uses load time
    text: str
    actor: str | None = None
    thread: str | None = None
    subject: str | None = None
    payload: dict[str, Any] | None = None
    file: str | None = None
    line: int | None = None
    # Provenance, like file and line: not part of the content hash.
    issues: list[FieldIssue] = field(default_factory=list)

    def content_hash(self) -> str:
        """Hash of everything that makes two versions of a record differ (not provenance)."""
        body = orjson.dumps(
            [
                self.kind,
                self.occurred_at.isoformat() if self.occurred_at else None,
                self.actor,
                self.thread,
                self.subject,
                self.text,
                self.payload,
            ],
            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
            default=str,
        )
        return hashlib.sha256(body).hexdigest()

    def event_id(self) -> str:
        return make_event_id(self.source, self.source_id, self.content_hash())


@dataclass(slots=True)
class Rejection:
    """Input that could not become an event: it goes to quarantine with the reason."""

    file: str
    line: int | None
    reason: str
    raw: str = ""
    source: str | None = None
    fmt: str | None = None


@dataclass(slots=True)
class ParseResult:
    """Everything a parser made of one file."""

    events: list[Event] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    fmt: str = "unknown"


# Text that PostgreSQL (and Arrow) refuse: NUL, and lone surrogates (from surrogateescape'd
# mail headers). One such byte in the event log used to fail every later run at semantic_memory;
# here each replacement is a field issue (the rule itself: aios_assets.shared.text.storable).
_EVENT_TEXT_FIELDS = ("source", "source_id", "kind", "actor", "thread", "subject", "text")


def _shown(value: str) -> str:
    """A raw value for a field issue, with the unstorable characters spelt out."""
    return value[:200].encode("utf-8", "backslashreplace").decode("utf-8").replace(
        "\x00", "\\x00")


def make_storable(event: Event, payload_json: str | None) -> str | None:
    """Replace text no store can hold in ``event`` (in place), each with a field issue.

    ``payload_json`` is the payload already serialized (or None when serializing it failed on a
    surrogate); returns the payload's JSON after any repair."""
    for name in _EVENT_TEXT_FIELDS:
        value = getattr(event, name)
        if value and value is not (fixed := storable(value)):
            event.issues.append(FieldIssue(
                name, _shown(value), "NUL or invalid character replaced by U+FFFD"))
            setattr(event, name, fixed)
    if event.payload is not None and (payload_json is None or "\\u0000" in payload_json):
        event.issues.append(FieldIssue(
            "payload", _shown(payload_json if payload_json is not None else repr(event.payload)),
            "NUL or invalid character replaced by U+FFFD"))
        event.payload = storable_json(event.payload)
        payload_json = orjson.dumps(
            event.payload, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    return payload_json


def make_event_id(source: str, source_id: str, content_hash: str) -> str:
    return hashlib.sha256(f"{source}\x1f{source_id}\x1f{content_hash}".encode()).hexdigest()[:32]


# Event times outside these years are refused as implausible: they would stretch every timeline
# (daily summaries, recency) over centuries. Dates that are not event times (a date of birth) use
# the whole calendar Python and DuckDB share.
EVENT_YEARS = (1900, 2200)
CALENDAR_YEARS = (1, 9999)


def parse_timestamp(value: Any, *, years: tuple[int, int] = EVENT_YEARS) -> datetime:
    """Read an ISO 8601 timestamp (or a date) as an aware UTC datetime.

    Naive timestamps are taken as UTC. Raises :class:`InvalidTimestamp` with a readable reason,
    also for a year outside ``years``.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidTimestamp("empty timestamp")
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as exc:
            raise InvalidTimestamp(f"not an ISO 8601 timestamp: {value!r}") from exc
    else:
        raise InvalidTimestamp(f"timestamp must be a string, got {type(value).__name__}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        dt = dt.astimezone(UTC)
    except (OverflowError, ValueError) as exc:  # e.g. 0001-01-01T00:00+01:00
        raise InvalidTimestamp(f"timestamp out of range: {value!r}") from exc
    if not years[0] <= dt.year <= years[1]:
        raise InvalidTimestamp(f"timestamp out of range: {value!r}")
    return dt


# --- entity reference extraction -------------------------------------------------------------

_URL_DOMAIN_RE = re.compile(r"https?://(?:www\.)?([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")
_PHONE_RE = re.compile(r"(?<![\w/])(\+?\d[\d\s().\-]{6,18}\d)(?![\w/])")
_DISPLAY_NAME_RE = re.compile(r"^\s*\"?([^\"<>@]+?)\"?\s*<[^<>]+@[^<>]+>\s*$")
_NAME_KEYS = ("name", "full_name", "customer_name", "attendee_name", "speaker", "author")
_FIRST_LAST_KEYS = (("first_name", "last_name"), ("first_name", "surname"))
_DIGIT_RUN_RE = re.compile(r"\d{3}")
_NON_DIGIT_RE = re.compile(r"\D")
_DATEISH_RE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")


def normalize_email(value: str) -> str:
    return value.strip().strip(".").lower()


def normalize_phone(value: str) -> str | None:
    """Digits only (a leading + kept); None when it is too short or long to be a phone number."""
    digits = _NON_DIGIT_RE.sub("", value)
    if not 7 <= len(digits) <= 15:
        return None
    return ("+" if value.strip().startswith("+") else "") + digits


# Identifier fields look like emails or phone numbers (Message-IDs, UIDs) but name no entity.
_ID_KEYS = frozenset(
    {"message_id", "in_reply_to", "references", "uid", "id", "source_id", "post_id",
     "invoice_id", "payment_id", "thread", "thread_id"}
)


def _walk_strings(value: Any, key: str | None = None):
    """Yield (key, string) for every string inside a JSON-like value, skipping id fields."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if str(k).lower() not in _ID_KEYS:
                yield from _walk_strings(v, str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk_strings(v, key)


_HAS_DIGIT_RE = re.compile(r"\d")


def _looks_like_name(value: str) -> bool:
    return (
        len(value) <= 80
        and "@" not in value
        and 1 <= len(value.split()) <= 5
        and not _HAS_DIGIT_RE.search(value)
    )


def extract_entity_refs(event: Event) -> dict[str, list[str]]:
    """Emails, names, domains and phone numbers mentioned by an event, normalized and sorted."""
    emails: set[str] = set()
    names: set[str] = set()
    domains: set[str] = set()
    phones: set[str] = set()

    texts = [event.actor or "", event.subject or "", event.text or ""]
    for key, s in _walk_strings(event.payload or {}):
        texts.append(s)
        k = (key or "").lower()
        if k in _NAME_KEYS and _looks_like_name(s):
            names.add(" ".join(s.split()))
        if k in ("phone", "mobile", "telephone", "phone_number"):
            p = normalize_phone(s)
            if p:
                phones.add(p)
    if isinstance(event.payload, dict):
        for first_key, last_key in _FIRST_LAST_KEYS:
            first, last = event.payload.get(first_key), event.payload.get(last_key)
            if isinstance(first, str) and isinstance(last, str) and (first.strip() or last.strip()):
                full = f"{first.strip()} {last.strip()}".strip()
                if _looks_like_name(full):
                    names.add(full)

    # One regex pass per kind over all strings joined by NUL (no pattern matches across it),
    # after cheap substring tests: the regexes are the slowest part of ingest.
    for s in texts:
        if "<" in s and len(s) < 300:
            m = _DISPLAY_NAME_RE.match(s)
            if m and _looks_like_name(m.group(1)):
                names.add(" ".join(m.group(1).split()))
    joined = "\x00".join(texts)
    if "@" in joined:
        for e in EMAIL_RE.findall(joined):
            emails.add(normalize_email(e))
    if "http" in joined:
        for d in _URL_DOMAIN_RE.findall(joined):
            domains.add(d.lower())
    if _DIGIT_RUN_RE.search(joined):
        for raw in _PHONE_RE.findall(joined):
            if _DATEISH_RE.match(raw.strip()):
                continue
            p = normalize_phone(raw)
            if p and (raw.strip().startswith("+") or len(_NON_DIGIT_RE.sub("", raw)) >= 9):
                phones.add(p)
    if event.actor and _looks_like_name(event.actor) and " " in event.actor.strip():
        names.add(" ".join(event.actor.split()))
    for e in emails:
        domains.add(e.rsplit("@", 1)[1])
    return {
        "emails": sorted(emails),
        "names": sorted(names),
        "domains": sorted(domains),
        "phones": sorted(phones),
    }
