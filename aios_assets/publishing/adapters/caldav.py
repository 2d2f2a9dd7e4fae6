"""Calendar holds over CalDAV: create, confirm and cancel events that AIOS itself created.

Configuration: the read side's environment (``aios_assets/ingest/caldav.py``):
``$AIOS_CALDAV_URL`` (server or calendar URL), ``$AIOS_CALDAV_USER``, ``$AIOS_CALDAV_PASSWORD``
(read from the environment at call time; never logged, recorded or in ``repr``) and
``$AIOS_CALDAV_CALENDARS`` (the first name in it is the default calendar; else the first
calendar found).

Action types (capability ``calendar``), payload keys:

* ``calendar_hold``: ``uid`` (required, starts with :data:`UID_PREFIX`), ``summary``,
  ``start``, ``end`` (ISO 8601 with offset), ``tzid`` (IANA name: DTSTART/DTEND carry TZID and
  a VTIMEZONE), ``attendees`` (emails), ``description``, ``calendar`` (URL or display name).
  Creates the event ``STATUS:TENTATIVE``.
* ``calendar_confirm``: ``uid``; optional new ``start``/``end``/``tzid``/``summary``/
  ``description``/``attendees``. Sets ``STATUS:CONFIRMED``.
* ``calendar_cancel``: ``uid``, ``compensates`` (the idempotency key of the action it undoes).
  Sets ``STATUS:CANCELLED`` (the event stays, so attendees' clients and the read side see a
  cancellation, and the effect can be looked up).

Exactly once: the event lives at ``<calendar>/<uid>.ics``. A hold is ``PUT`` with
``If-None-Match: *``; a 412 means the object exists, and it is read back: ours (its
``X-AIOS-CREATED-BY`` is this action's key) means delivered, anything else is refused
(:class:`AdapterPermanent`; nothing is overwritten). Confirm and cancel read the object first
and ``PUT`` with ``If-Match: <etag>``; a 412 (someone changed it meanwhile) re-reads and applies
the change again, at most :data:`IF_MATCH_TRIES` times. Every write adds the action's key as an
``X-AIOS-ACTION`` property, so :meth:`CalDavAdapter.lookup` (used by reconciliation) tells
whether an action already took effect by reading the UID back. A timeout or dropped connection
after a write was sent is :class:`AdapterUnknown` (the outbox marks it ``in_doubt``).

Never: touch an object whose UID lacks :data:`UID_PREFIX` or that AIOS did not create (no
``X-AIOS-CREATED-BY``), delete anything, or write iCalendar text by hand (``icalendar`` builds
and escapes every value, ``description`` included).
"""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import icalendar
from pydantic import Field, PrivateAttr

from aios_assets.agents.proposals import CALENDAR_UID_PREFIX
from aios_assets.ingest.caldav import (
    PASSWORD_ENV,
    URL_ENV,
    USER_ENV,
    CalDavAuthFailed,
    CalDavCalendar,
    CalDavUnavailable,
    calendars_from_env,
)
from aios_assets.publishing.adapters._http import ClientCache, classify_status, request
from aios_assets.publishing.adapters.base import (
    AdapterNotConfigured,
    AdapterPermanent,
    AdapterRetryable,
    AttemptResult,
    CapabilityAdapter,
    OutboxAction,
    required_setting,
    setting,
)

UID_PREFIX = CALENDAR_UID_PREFIX
# The UID becomes the object's file name: keep it to characters no URL or path can misread.
UID_RE = re.compile(rf"^{re.escape(UID_PREFIX)}[A-Za-z0-9._@-]{{1,200}}$")
ACTION_TYPES = ("calendar_hold", "calendar_confirm", "calendar_cancel")
IF_MATCH_TRIES = 3
PRODID = "-//AIOS//outbox calendar adapter//EN"
CREATED_BY = "X-AIOS-CREATED-BY"
ACTION_MARK = "X-AIOS-ACTION"
COMPENSATES = "X-AIOS-COMPENSATES"


def _bad(message: str) -> AdapterPermanent:
    return AdapterPermanent(message, error_class="BadPayload")


def _instant(payload: dict[str, Any], name: str, tz: ZoneInfo | None) -> datetime | None:
    raw = payload.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _bad(f"calendar payload {name!r} must be an ISO 8601 string")
    try:
        at = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"calendar payload {name!r} is not ISO 8601") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise _bad(f"calendar payload {name!r} needs a UTC offset (e.g. +02:00)")
    # The instant is what the offset says; TZID only changes how it is written.
    return at.astimezone(tz) if tz is not None else at.astimezone(UTC)


def _zone(payload: dict[str, Any]) -> ZoneInfo | None:
    tzid = payload.get("tzid")
    if tzid is None or tzid == "":
        return None
    if not isinstance(tzid, str):
        raise _bad("calendar payload 'tzid' must be an IANA time zone name")
    try:
        return ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(f"calendar payload 'tzid' {tzid!r} is not a known IANA time zone") from None


def _attendees(payload: dict[str, Any]) -> list[str] | None:
    value = payload.get("attendees")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise _bad("calendar payload 'attendees' must be a list of e-mail addresses")
    out = [a.strip() for a in value if a.strip()]
    for a in out:
        if "@" not in a or any(c in a for c in "\r\n:;,<> \t"):
            raise _bad("calendar payload 'attendees' has an invalid address")
    return out


def _text(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, str):
        raise _bad(f"calendar payload {name!r} must be a string")
    return value


def event_uid(action: OutboxAction) -> str:
    """The payload's UID, checked: required, AIOS's prefix, safe as a file name."""
    if action.action_type not in ACTION_TYPES:
        raise _bad(f"the calendar adapter does {', '.join(ACTION_TYPES)}, "
                   f"not {action.action_type!r}")
    uid = action.payload.get("uid")
    if not isinstance(uid, str) or not uid:
        raise _bad("calendar payload needs 'uid'")
    if not uid.startswith(UID_PREFIX):
        raise AdapterPermanent(f"AIOS only writes events whose UID starts with {UID_PREFIX!r}",
                               error_class="NotAiosUid")
    if not UID_RE.fullmatch(uid):
        raise _bad("calendar payload 'uid' may hold only letters, digits and . _ @ -")
    return uid


def _marks(event: icalendar.Event) -> list[str]:
    value = event.get(ACTION_MARK)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values]


def _apply(event: icalendar.Event, action: OutboxAction) -> None:
    """Set the payload's fields on ``event`` (all through icalendar, which escapes them)."""
    payload = action.payload
    tz = _zone(payload)
    for name in ("dtstart", "dtend"):
        at = _instant(payload, "start" if name == "dtstart" else "end", tz)
        if at is not None:
            event.pop(name, None)
            event.add(name, at)
    for key, prop in (("summary", "summary"), ("description", "description")):
        value = _text(payload, key)
        if value is not None:
            event.pop(prop, None)
            event.add(prop, value)
    attendees = _attendees(payload)
    if attendees is not None:
        event.pop("attendee", None)
        for address in attendees:
            who = icalendar.vCalAddress(f"mailto:{address}")
            who.params["ROLE"] = "REQ-PARTICIPANT"
            who.params["PARTSTAT"] = "NEEDS-ACTION"
            event.add("attendee", who)
    start, end = event.decoded("dtstart", None), event.decoded("dtend", None)
    if start is None or end is None:
        raise _bad("calendar_hold payload needs 'start' and 'end'")
    if end <= start:
        raise _bad("calendar payload 'end' must be after 'start'")


def build_hold(action: OutboxAction, uid: str, now: datetime | None = None) -> bytes:
    """The VCALENDAR of a new tentative hold (DTSTAMP = ``now``)."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", now or datetime.now(UTC))
    event.add("sequence", 0)
    event.add("status", "TENTATIVE")
    _apply(event, action)
    if event.get("summary") is None:
        event.add("summary", "Hold")
    event.add(CREATED_BY, action.idempotency_key)
    event.add(ACTION_MARK, action.idempotency_key)
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def _only_event(cal: icalendar.Calendar, uid: str) -> icalendar.Event:
    events = [e for e in cal.walk("VEVENT")]
    if len(events) != 1 or str(events[0].get("uid")) != uid:
        raise AdapterPermanent(f"the object of {uid} is not one event with that UID; "
                               "AIOS does not change it", error_class="NotAiosEvent")
    return events[0]


def change(text: bytes, action: OutboxAction, uid: str, now: datetime | None = None) -> bytes:
    """The stored object with a confirm or cancel applied (other properties kept)."""
    try:
        cal = icalendar.Calendar.from_ical(text)
    except ValueError:
        raise AdapterPermanent(f"the object of {uid} cannot be parsed; AIOS does not change it",
                               error_class="NotAiosEvent") from None
    event = _only_event(cal, uid)
    status = str(event.get("status", "")).upper()
    if action.action_type == "calendar_confirm":
        if status == "CANCELLED":
            raise AdapterPermanent(f"{uid} was cancelled; a cancelled hold is not confirmed",
                                   error_class="Cancelled")
        _apply(event, action)
        new_status = "CONFIRMED"
    else:
        new_status = "CANCELLED"
        compensates = action.payload.get("compensates")
        if isinstance(compensates, str) and compensates:
            event.add(COMPENSATES, compensates)
    event.pop("status", None)
    event.add("status", new_status)
    seq = int(event.get("sequence", 0) or 0)
    event.pop("sequence", None)
    event.add("sequence", seq + 1)
    for prop in ("dtstamp", "last-modified"):
        event.pop(prop, None)
        event.add(prop, now or datetime.now(UTC))
    event.add(ACTION_MARK, action.idempotency_key)
    cal.add_missing_timezones()
    return cal.to_ical()


class CalDavAdapter(CapabilityAdapter):
    """Writes ``calendar_hold`` / ``calendar_confirm`` / ``calendar_cancel`` actions to a
    CalDAV calendar; see the module docstring."""

    capability: ClassVar[str] = "calendar"

    url: str | None = None
    user: str | None = None
    password: str | None = Field(default=None, repr=False)
    calendars: list[str] | None = None

    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)
    _found: dict[str, str] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # --- settings ------------------------------------------------------------------------------
    def _url(self) -> str:
        return required_setting(self.url, URL_ENV, "CalDAV URL")

    def _user(self) -> str:
        return setting(self.user, USER_ENV)

    def _auth(self) -> tuple[str, str] | None:
        user = self._user()
        if not user:
            return None
        return user, self.password or os.environ.get(PASSWORD_ENV) or ""

    def _wanted(self) -> list[str]:
        if self.calendars is not None:
            return list(self.calendars)
        return calendars_from_env()

    def describe(self) -> str:
        try:
            parts = urlsplit(self._url())
        except AdapterNotConfigured:
            return "caldav (unconfigured)"
        # Host and port only: credentials written into the URL never reach a log line.
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"

    def supports_lookup(self) -> bool:
        return True

    # --- where the event lives ----------------------------------------------------------------
    def calendar_url(self, payload: dict[str, Any]) -> str:
        """The payload's calendar (a URL, or a display name found on the server), else the
        first of ``$AIOS_CALDAV_CALENDARS``, else the first calendar found."""
        wanted = payload.get("calendar")
        if wanted is not None and (not isinstance(wanted, str) or not wanted.strip()):
            raise _bad("calendar payload 'calendar' must be a URL or a display name")
        base = self._url()
        if isinstance(wanted, str) and wanted.strip().lower().startswith(("http://",
                                                                          "https://", "/")):
            url = urljoin(base, wanted.strip())
            if urlsplit(url).netloc != urlsplit(base).netloc:
                raise _bad(f"calendar {wanted!r} is not on the server of ${URL_ENV}")
            return url.rstrip("/") + "/"
        names = [wanted.strip()] if isinstance(wanted, str) else self._wanted()[:1]
        cache_key = names[0] if names else ""
        with self._lock:
            if cache_key in self._found:
                return self._found[cache_key]
        user = self._user()
        account = CalDavCalendar(url=base, user=user or "anonymous",
                                 password=(self._auth() or ("", ""))[1], calendars=names,
                                 timeout_s=max(1, int(self.timeout_s + 0.999)))
        try:
            session = account.connect()
        except CalDavAuthFailed:
            raise AdapterPermanent(f"CalDAV login refused; check ${USER_ENV}/${PASSWORD_ENV}",
                                   error_class="CalDavAuthFailed", status_code=401) from None
        except CalDavUnavailable as exc:
            raise AdapterRetryable(f"CalDAV calendar discovery failed: {str(exc)[:200]}",
                                   error_class=type(exc).__name__) from None
        try:
            found = list(session.calendars)
        finally:
            session.close()
        if not found:
            what = f"no calendar named {names[0]!r}" if names else "no calendar"
            raise AdapterPermanent(f"{what} on {self.describe()}", error_class="NoCalendar")
        url = found[0].rstrip("/") + "/"
        with self._lock:
            self._found[cache_key] = url
        return url

    def _href(self, action: OutboxAction) -> tuple[str, str]:
        uid = event_uid(action)
        return self.calendar_url(action.payload) + f"{uid}.ics", uid

    # --- HTTP ----------------------------------------------------------------------------------
    def _client(self) -> httpx.Client:
        return self._clients.get(self.timeout_s)

    def _request(self, method: str, url: str, headers: dict[str, str] | None = None,
                 content: bytes | None = None) -> httpx.Response:
        return request(self._client(), method, url,
                       headers={"User-Agent": "aios-outbox", **(headers or {})},
                       content=content, auth=self._auth())

    def _get(self, url: str) -> tuple[bytes, str] | None:
        """(object text, ETag), or None when there is no such object."""
        response = self._request("GET", url)
        if response.status_code in (404, 410):
            return None
        error = classify_status(response)
        if error is not None:
            raise error
        return response.content, response.headers.get("etag", "")

    @staticmethod
    def _receipt(url: str, response: httpx.Response | None, etag: str = "") -> AttemptResult:
        tag = (response.headers.get("etag", "") if response is not None else "") or etag
        return AttemptResult(external_id=f"{urlsplit(url).path} {tag}".strip(),
                             status_code=response.status_code if response is not None else None)

    # --- the effect ----------------------------------------------------------------------------
    def _attempt(self, action: OutboxAction) -> AttemptResult:
        url, uid = self._href(action)
        if action.action_type == "calendar_hold":
            return self._create(action, url, uid)
        return self._update(action, url, uid)

    def _create(self, action: OutboxAction, url: str, uid: str) -> AttemptResult:
        body = build_hold(action, uid)
        response = self._request("PUT", url, {"If-None-Match": "*",
                                              "Content-Type": "text/calendar; charset=utf-8"},
                                 body)
        if response.status_code == 412:
            # It exists: an earlier transmission of this hold (ours: delivered), or an object
            # AIOS did not make (refused; never overwritten).
            found = self._ours(action, url, uid)
            if found is None:
                raise AdapterRetryable(f"{uid} answered 412 but cannot be read back",
                                       error_class="HTTP 412", status_code=412)
            return found
        error = classify_status(response)
        if error is not None:
            raise error
        return self._receipt(url, response)

    def _ours(self, action: OutboxAction, url: str, uid: str,
              got: tuple[bytes, str] | None = None) -> AttemptResult | None:
        """Read the UID back (or judge ``got``, already read): the result if this action's
        effect is there, :data:`_NOT_YET` if the event is ours without it, None if there is no
        object; AdapterPermanent if the object is not an AIOS event (or, for a cancel, not the
        event of the action it compensates)."""
        if got is None:
            got = self._get(url)
        if got is None:
            return None
        text, etag = got
        try:
            event = _only_event(icalendar.Calendar.from_ical(text), uid)
        except ValueError:
            raise AdapterPermanent(f"the object of {uid} cannot be parsed; AIOS does not "
                                   "change it", error_class="NotAiosEvent") from None
        created_by = event.get(CREATED_BY)
        if created_by is None:
            raise AdapterPermanent(f"{uid} exists and was not created by AIOS; AIOS does not "
                                   "change it", error_class="NotAiosEvent")
        if action.action_type == "calendar_hold":
            if str(created_by) != action.idempotency_key:
                raise AdapterPermanent(f"{uid} was created by another action; not overwritten",
                                       error_class="UidTaken")
            return self._receipt(url, None, etag)  # our hold (maybe confirmed since)
        marks = _marks(event)
        if action.idempotency_key in marks:
            return self._receipt(url, None, etag)
        compensates = action.payload.get("compensates")
        if action.action_type == "calendar_cancel" and compensates not in (None, "") \
                and compensates not in marks:
            raise AdapterPermanent(f"{uid} carries no action {compensates!r}: the cancel does "
                                   "not undo what it says it compensates",
                                   error_class="CompensationMismatch")
        return _NOT_YET

    def _update(self, action: OutboxAction, url: str, uid: str) -> AttemptResult:
        for _ in range(IF_MATCH_TRIES):
            got = self._get(url)
            if got is None:
                if action.action_type == "calendar_cancel":
                    # Gone (deleted by hand): nothing is left to withdraw.
                    return AttemptResult(external_id=f"{urlsplit(url).path} (gone)",
                                         status_code=404)
                raise AdapterPermanent(f"no event {uid} to confirm", error_class="NoSuchEvent",
                                       status_code=404)
            text, etag = got
            done = self._ours(action, url, uid, got)  # refuses what AIOS did not create
            if done is not None and done is not _NOT_YET:
                return done
            body = change(text, action, uid)
            headers = {"Content-Type": "text/calendar; charset=utf-8"}
            if etag:
                headers["If-Match"] = etag
            response = self._request("PUT", url, headers, body)
            if response.status_code == 412:
                continue  # changed since we read it: read again and re-apply
            error = classify_status(response)
            if error is not None:
                raise error
            return self._receipt(url, response)
        raise AdapterRetryable(f"{uid} kept changing while AIOS updated it "
                               f"({IF_MATCH_TRIES} tries)", error_class="HTTP 412",
                               status_code=412)

    def lookup(self, action: OutboxAction) -> AttemptResult | None:
        """Whether this action already took effect: the UID read back carries its key."""
        url, uid = self._href(action)
        found = self._ours(action, url, uid)
        if found is _NOT_YET:
            return None
        if found is None and action.action_type == "calendar_cancel":
            return AttemptResult(external_id=f"{urlsplit(url).path} (gone)", status_code=404)
        return found


# "The event is ours but this action has not been applied to it yet."
_NOT_YET = AttemptResult(external_id=None, status_code=None)

__all__ = ["ACTION_TYPES", "UID_PREFIX", "CalDavAdapter", "build_hold", "change", "event_uid"]
