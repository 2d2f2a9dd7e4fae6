"""Live calendar: CalDAV calendars read continuously into the event log (the sensor
``caldav_calendar_sensor``).

Read-only: AIOS sends PROPFIND and REPORT requests (through the ``caldav`` library's client)
and never PUT, DELETE, MKCALENDAR or PROPPATCH.

How a calendar change travels, and why nothing is lost or doubled:

1. **List changes** (the sensor tick, :func:`caldav_tick`). Per calendar, with its
   sync-token, a ``sync-collection`` REPORT (RFC 6578) lists the objects changed or deleted
   since the last tick. Without a token (first tick, lost cursor, a token the server no longer
   accepts) the same REPORT with an empty token lists every object and gives a fresh token; a
   server without sync-collection is listed with PROPFIND instead (its ``getctag`` says
   whether anything changed at all). Either way each object comes with its ETag, and an object
   whose ETag the cursor already holds is not fetched again.
2. **Fetch and stage.** Changed objects are fetched with ``calendar-multiget`` and written, one
   ``VCALENDAR`` after the other, as one ``.ics`` file per fetch,
   ``$AIOS_HOME/staging/caldav/caldav-<sha256 of its bytes>.ics`` (hidden temporary file, fsync,
   atomic rename: a staged file is always whole). A deleted object is staged as its last known
   text with every ``VEVENT``'s ``STATUS`` set to ``CANCELLED``: a new version marked cancelled.
   The last known text of every object is kept in ``$AIOS_HOME/caldav/<calendar>/`` for that.
3. **Cursor.** Only then does the tick return its cursor, per calendar ``(sync-token, ctag,
   ETag per object)``. A tick killed before that stores nothing, and the next tick lists and
   stages the same changes again: no loss, and the copies dedupe in step 4.
4. **Ingest.** The tick requests an ``ingest_job`` run over the staging folder. Each file is
   parsed by the same function as any ``.ics`` file (``parse_ics``, source ``calendar``,
   ``source_id`` = the event's UID, ``#RECURRENCE-ID`` for an override), so an event
   synced twice, or also dropped in the inbox as an export, is one event; a changed event is a
   new version of its record, and a cancelled one a version whose payload ``status`` is
   ``CANCELLED``. After the commit the file moves to ``archive/caldav/<date>/``.

Connection failures go through a :class:`~aios_assets.shared.limits.CircuitBreaker` per
account (retried within the tick, then failing fast while open); refused credentials open one
incident per episode (``aios.incidents``, cause ``caldav_auth``) and are not retried for
``auth_retry_s``. The password is never in the cursor, the staged files or the incident.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import caldav
import dagster as dg
from caldav.lib import error as dav_error
from lxml import etree
from pydantic import Field

from aios_assets.ingest import live
from aios_assets.shared.limits import CircuitBreaker

URL_ENV = "AIOS_CALDAV_URL"
USER_ENV = "AIOS_CALDAV_USER"
PASSWORD_ENV = "AIOS_CALDAV_PASSWORD"
CALENDARS_ENV = "AIOS_CALDAV_CALENDARS"
CURSOR_VERSION = 1
FETCH_OBJECTS = 100  # per calendar-multiget and staged file
STAGED_SUFFIX = ".ics"

_NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav", "CS": "http://calendarserver.org/ns/"}
_XML = '<?xml version="1.0" encoding="utf-8"?>\n'


class CalDavUnavailable(RuntimeError):
    """The server could not be reached or answered with an error (transient: retried)."""


class CalDavAuthFailed(RuntimeError):
    """The server refused the credentials (401): not retried until fixed."""


class CalDavForbidden(CalDavUnavailable):
    """403: no permission, or (on a sync-collection REPORT) a sync-token no longer valid."""


CHANNEL = live.Channel("caldav", "CalDAV", f"${URL_ENV} and ${USER_ENV}", PASSWORD_ENV,
                       CalDavUnavailable, CalDavAuthFailed)


class CalDavCalendar(dg.ConfigurableResource):
    """The operator's CalDAV account, read by ``caldav_calendar_sensor`` (never written to).

    ``url`` empty means not configured: the sensor then does nothing and connects nowhere.
    ``url`` is the server's CalDAV address (its calendars are found from the principal) or one
    calendar's address. Give the password as ``dg.EnvVar("AIOS_CALDAV_PASSWORD")`` (the default
    wiring does), so the UI shows the variable's name, never its value.
    """

    url: str = Field(default="", description="CalDAV server or calendar URL; empty: sensor off")
    user: str = ""
    password: str = Field(default="", repr=False, description="use dg.EnvVar(...)")
    calendars: list[str] = Field(default_factory=list,
                                 description="display names or URLs to read; empty: all")
    max_objects_per_tick: int = Field(default=500, ge=1)
    objects_per_fetch: int = Field(default=FETCH_OBJECTS, ge=1,
                                   description="per calendar-multiget and staged file")
    timeout_s: int = Field(default=60, gt=0)
    connect_attempts: int = Field(default=3, ge=1, description="tries per tick before giving up")
    auth_retry_s: float = Field(default=900.0, ge=0,
                                description="wait after refused credentials before trying again")
    breaker_threshold: int = Field(default=3, ge=1)
    breaker_reset_s: float = Field(default=300.0, ge=0)

    def configured(self) -> bool:
        return bool(self.url.strip() and self.user.strip())

    def describe(self) -> str:
        parts = urlsplit(self.url.strip())
        return f"{parts.scheme}://{self.user}@{parts.netloc}{parts.path}"

    def breaker(self) -> CircuitBreaker:
        return live.breaker_for(self.describe(), self.breaker_threshold, self.breaker_reset_s)

    def connect(self) -> CalDavSession:
        """A session with the calendars to read. Raises :class:`CalDavUnavailable` or
        :class:`CalDavAuthFailed`."""
        client = caldav.DAVClient(url=self.url.strip(), username=self.user,
                                  password=self.password, timeout=self.timeout_s)
        session = CalDavSession(client, self.describe())
        try:
            session.calendars = session.discover(self.url.strip(), self.calendars)
        except BaseException:
            session.close()
            raise
        return session


def calendars_from_env() -> list[str]:
    """``$AIOS_CALDAV_CALENDARS``: display names or URLs, comma-separated."""
    return [c.strip() for c in os.environ.get(CALENDARS_ENV, "").split(",") if c.strip()]


def calendar_from_env(**overrides: Any) -> CalDavCalendar:
    """The resource as the default definitions build it from ``$AIOS_CALDAV_*``."""
    settings: dict[str, Any] = {
        "url": os.environ.get(URL_ENV, "").strip(),
        "user": os.environ.get(USER_ENV, "").strip(),
        "calendars": calendars_from_env(),
        # Resolved when the sensor runs; the UI shows the variable's name, not the value.
        "password": dg.EnvVar(PASSWORD_ENV) if os.environ.get(PASSWORD_ENV) else "",
    }
    settings.update(overrides)
    return CalDavCalendar(**settings)


# --- the protocol --------------------------------------------------------------------------------


@dataclass
class Listed:
    """What a listing found: changed objects (href -> ETag), deleted hrefs, the new token /
    ctag, and whether it covers the whole calendar (so unlisted known objects are gone)."""

    changed: dict[str, str] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    sync_token: str | None = None
    ctag: str | None = None
    full: bool = False
    unchanged: bool = False  # the ctag says nothing changed: no listing was made


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


def _xml(body: bytes | str) -> Any:
    data = body.encode() if isinstance(body, str) else body
    try:
        return etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise CalDavUnavailable(f"unreadable answer from the server: {exc}") from None


def _status_code(text: str | None) -> int | None:
    m = re.search(r"\s(\d{3})\b", text or "")
    return int(m.group(1)) if m else None


def _responses(tree: Any) -> Iterable[tuple[str, int | None, dict[str, Any]]]:
    """(href, status, {prop tag: element}) per DAV:response; props only from 2xx propstats."""
    for resp in tree.iterfind("D:response", _NS):
        href = (resp.findtext("D:href", namespaces=_NS) or "").strip()
        status = _status_code(resp.findtext("D:status", namespaces=_NS))
        props: dict[str, Any] = {}
        for propstat in resp.iterfind("D:propstat", _NS):
            code = _status_code(propstat.findtext("D:status", namespaces=_NS))
            if code is not None and not 200 <= code < 300:
                continue
            status = status or code
            for prop in propstat.iterfind("D:prop", _NS):
                for child in prop:
                    props[child.tag] = child
        yield unquote(urlsplit(href).path or href), status, props  # some servers send URLs


def _text_of(props: dict[str, Any], ns: str, name: str) -> str | None:
    el = props.get(f"{{{_NS[ns]}}}{name}")
    if el is None or el.text is None:
        return None
    return el.text.strip()


class CalDavSession:
    """The few read-only requests the sync needs, over one ``caldav.DAVClient``."""

    def __init__(self, client: caldav.DAVClient, account: str) -> None:
        self.client = client
        self.account = account
        self.calendars: list[str] = []

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001, S110 - closing a dead connection
            pass

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            response = fn()
        except dav_error.AuthorizationError as exc:
            if getattr(exc, "status", None) == 401 or "401" in str(exc)[:200]:
                raise CalDavAuthFailed(f"CalDAV login refused for {self.account}: "
                                       f"{str(exc)[:200]}") from None
            raise CalDavForbidden(f"{what} refused (403): {str(exc)[:300]}") from None
        except dav_error.DAVError as exc:
            raise CalDavUnavailable(f"{what} failed: {str(exc)[:300]}") from None
        except OSError as exc:  # niquests' connection errors and timeouts are OSErrors
            raise CalDavUnavailable(f"cannot reach {self.account}: "
                                    f"{type(exc).__name__}: {exc}"[:300]) from None
        return response

    def discover(self, url: str, wanted: list[str]) -> list[str]:
        """Calendar URLs to read: the principal's calendars (filtered by display name or URL),
        or ``url`` itself when it is a calendar."""
        body = (_XML + '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/>'
                "<D:current-user-principal/></D:prop></D:propfind>")
        resp = self._call("PROPFIND", lambda: self.client.propfind(url, body, depth=0))
        if resp.status >= 400:
            raise CalDavUnavailable(f"PROPFIND {url}: HTTP {resp.status}")
        for _, _, props in _responses(_xml(resp._raw or b"<x/>")):
            rtype = props.get(f"{{{_NS['D']}}}resourcetype")
            if rtype is not None and rtype.find("C:calendar", _NS) is not None:
                return [url]
        principal = self._call("principal discovery", self.client.principal)
        found = self._call("calendar listing", principal.calendars)
        out: list[str] = []
        for cal in found:
            cal_url = str(cal.url)
            if wanted:
                name = self._call("calendar name", cal.get_display_name) or ""
                if name not in wanted and cal_url not in wanted:
                    continue
            out.append(cal_url)
        return out

    def sync(self, cal_url: str, token: str) -> Listed | None:
        """Changes since ``token`` (all objects for ``""``); None when the server does not do
        sync-collection or no longer accepts the token."""
        body = (_XML + '<D:sync-collection xmlns:D="DAV:"><D:sync-token>'
                f"{_escape(token)}</D:sync-token><D:sync-level>1</D:sync-level>"
                "<D:prop><D:getetag/></D:prop></D:sync-collection>")
        try:
            resp = self._call("sync-collection", lambda: self.client.report(cal_url, body, 0))
        except CalDavForbidden:
            return None  # 403 valid-sync-token (RFC 6578): resync from scratch
        if resp.status >= 400:
            return None
        tree = _xml(resp._raw or b"<x/>")
        listed = Listed(full=token == "")
        listed.sync_token = (tree.findtext("D:sync-token", namespaces=_NS) or "").strip() or None
        base = urlsplit(cal_url).path
        for href, status, props in _responses(tree):
            if _same_path(href, base):
                continue
            if status == 404:
                listed.deleted.append(href)
            else:
                etag = _text_of(props, "D", "getetag")
                listed.changed[href] = etag or ""
        return listed

    def ctag(self, cal_url: str) -> str | None:
        body = (_XML + '<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
                "<D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>")
        resp = self._call("PROPFIND", lambda: self.client.propfind(cal_url, body, depth=0))
        if resp.status >= 400:
            return None
        for _, _, props in _responses(_xml(resp._raw or b"<x/>")):
            return _text_of(props, "CS", "getctag") or _text_of(props, "D", "sync-token")
        return None

    def listing(self, cal_url: str) -> Listed:
        """Every object of the calendar with its ETag (PROPFIND Depth 1)."""
        body = (_XML + '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:resourcetype/>'
                "</D:prop></D:propfind>")
        resp = self._call("PROPFIND", lambda: self.client.propfind(cal_url, body, depth=1))
        if resp.status >= 400:
            raise CalDavUnavailable(f"PROPFIND {cal_url}: HTTP {resp.status}")
        listed = Listed(full=True)
        base = urlsplit(cal_url).path
        for href, _, props in _responses(_xml(resp._raw or b"<x/>")):
            rtype = props.get(f"{{{_NS['D']}}}resourcetype")
            if _same_path(href, base) or (rtype is not None and len(rtype)):
                continue  # the calendar itself, or a sub-collection
            listed.changed[href] = _text_of(props, "D", "getetag") or ""
        return listed

    def multiget(self, cal_url: str, hrefs: list[str]) -> dict[str, tuple[str, str]]:
        """(ETag, calendar data) per href still there; deleted ones are absent."""
        refs = "".join(f"<D:href>{_escape(_quote_path(h))}</D:href>" for h in hrefs)
        body = (_XML + '<C:calendar-multiget xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>'
                f"<C:calendar-data/></D:prop>{refs}</C:calendar-multiget>")
        resp = self._call("calendar-multiget", lambda: self.client.report(cal_url, body, 1))
        if resp.status >= 400:
            raise CalDavUnavailable(f"calendar-multiget {cal_url}: HTTP {resp.status}")
        out: dict[str, tuple[str, str]] = {}
        for href, status, props in _responses(_xml(resp._raw or b"<x/>")):
            data = _text_of(props, "C", "calendar-data")
            if status == 404 or data is None:
                continue
            out[href] = (_text_of(props, "D", "getetag") or "", data)
        return out


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quote_path(path: str) -> str:
    return quote(path, safe="/:@!$&'()*+,;=-._~")


def _same_path(a: str, b: str) -> bool:
    return unquote(urlsplit(a).path).rstrip("/") == unquote(b).rstrip("/")


# --- the cursor ----------------------------------------------------------------------------------


@dataclass
class CalendarState:
    sync_token: str | None = None
    ctag: str | None = None
    etags: dict[str, str] = field(default_factory=dict)  # href -> ETag of what was staged


@dataclass
class SyncCursor(live.LoginEpisode):
    """What the sensor's cursor holds (JSON): per calendar URL its sync-token, ctag and the
    ETag of each object staged, and the open login-failure episode, if any."""

    calendars: dict[str, CalendarState] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> SyncCursor:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            calendars = {
                url: CalendarState(v.get("sync_token"), v.get("ctag"),
                                   {str(h): str(e) for h, e in (v.get("etags") or {}).items()})
                for url, v in (data.get("calendars") or {}).items()
            }
            return cls(calendars, **cls.episode_from(data))
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()  # an unreadable cursor: start over, which only costs a resync

    def dump(self) -> str:
        return json.dumps({
            "v": CURSOR_VERSION,
            "calendars": {url: {"sync_token": s.sync_token, "ctag": s.ctag,
                                "etags": dict(sorted(s.etags.items()))}
                          for url, s in sorted(self.calendars.items())},
            **self.episode(),
        }, sort_keys=True)

    def copy(self) -> SyncCursor:
        return SyncCursor({u: CalendarState(s.sync_token, s.ctag, dict(s.etags))
                           for u, s in self.calendars.items()}, **self.episode())

    def positions(self) -> dict[str, CalendarState]:
        return self.calendars


# --- last known objects, staging -----------------------------------------------------------------


class KnownObjects:
    """The last text AIOS staged of each object of one calendar (to stage a deleted one as
    cancelled). One JSON file per object: ``{"href", "etag", "ics", "deleted"}``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, href: str) -> Path:
        return self.folder / f"{hashlib.sha256(href.encode()).hexdigest()[:32]}.json"

    def get(self, href: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(href).read_text())
        except (OSError, ValueError):
            return None

    def put(self, href: str, etag: str, ics: str, deleted: bool = False) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._path(href)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"href": href, "etag": etag, "ics": ics, "deleted": deleted}))
        os.replace(tmp, target)

    def live(self) -> set[str]:
        """hrefs of known objects not yet staged as deleted."""
        out: set[str] = set()
        if not self.folder.is_dir():
            return out
        for path in self.folder.glob("*.json"):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if not data.get("deleted"):
                out.add(str(data.get("href")))
        return out


def cancelled(ics: str) -> str:
    """``ics`` with every VEVENT's STATUS set to CANCELLED (everything else as it was)."""
    lines = ics.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    in_event = skipping = False
    for line in lines:
        if skipping and line[:1] in (" ", "\t"):
            continue  # a folded continuation of the STATUS line dropped
        skipping = False
        upper = line.strip().upper()
        if upper == "BEGIN:VEVENT":
            in_event = True
        elif upper == "END:VEVENT" and in_event:
            out.append("STATUS:CANCELLED")
            in_event = False
        elif in_event and re.match(r"STATUS[;:]", upper):
            skipping = True
            continue
        out.append(line)
    return "\r\n".join(out)


def has_event(ics: str) -> bool:
    return re.search(r"^BEGIN:VEVENT\s*$", ics, re.M | re.I) is not None


def stage_objects(stage_dir: Path, texts: list[str]) -> tuple[Path, bool]:
    """Write calendar objects as one staged ``.ics`` file, durably and atomically; (path, True
    if it was not staged yet). Named by its content: the same batch staged again is one file."""
    parts = [t.replace("\r\n", "\n").replace("\r", "\n").strip("\n") + "\n" for t in texts]
    data = "".join(parts).replace("\n", "\r\n").encode("utf-8")
    return live.write_staged(stage_dir, "caldav", STAGED_SUFFIX, data)


def staged_files(stage_dir: Path) -> list[Path]:
    return live.staged_files(stage_dir, STAGED_SUFFIX)


def known_folder(state_dir: Path, cal_url: str) -> Path:
    return state_dir / hashlib.sha256(cal_url.encode()).hexdigest()[:16]


# --- one calendar, one tick ----------------------------------------------------------------------


@dataclass
class CalendarReport:
    calendar: str
    resynced: bool = False  # listed in full (no token, a refused token, or no sync support)
    listed: int = 0  # changed objects listed
    fetched: int = 0
    changed: int = 0  # objects staged as new versions
    cancelled: int = 0  # deleted objects staged as cancelled
    staged: int = 0  # new staged files
    more: bool = False  # changes left for the next tick

    def line(self) -> str:
        bits = [f"{self.changed} changed", f"{self.cancelled} cancelled", f"{self.staged} files"]
        if self.resynced:
            bits.append("full resync")
        if self.more:
            bits.append("more next tick")
        return f"{self.calendar}: " + ", ".join(bits)


def sync_calendar(session: CalDavSession, cal_url: str, state: CalendarState,
                  budget: list[int], stage_dir: Path, known: KnownObjects,
                  per_fetch: int = FETCH_OBJECTS) -> CalendarReport:
    """Stage what changed in one calendar, within ``budget`` (objects left in this tick).

    ``state`` advances as the staging goes, and its token / ctag only once every listed change
    is staged, so a tick cut short lists the same changes again next time."""
    report = CalendarReport(cal_url)
    listed: Listed | None = None
    if state.sync_token:
        listed = session.sync(cal_url, state.sync_token)
    fallback = bool(state.ctag and not state.sync_token)  # sync-collection refused before
    if listed is None and not fallback:
        listed = session.sync(cal_url, "")
        report.resynced = bool(state.sync_token or state.etags)
    if listed is None:  # no sync-collection: ctag and a full listing
        tag = session.ctag(cal_url)
        if tag is not None and tag == state.ctag:
            return report
        listed = session.listing(cal_url)
        listed.ctag = tag
    if listed.full:
        listed.deleted = sorted((set(state.etags) | known.live()) - set(listed.changed))
    todo = {h: e for h, e in listed.changed.items() if state.etags.get(h) != e or not e}
    report.listed = len(todo)

    texts: list[str] = []

    def flush() -> None:
        if texts:
            _, new = stage_objects(stage_dir, texts)
            report.staged += int(new)
            texts.clear()

    pending: list[tuple[str, str, str, bool]] = []  # href, etag, text to remember, deleted

    def commit() -> None:
        """After the staged file is durable: remember the objects and their ETags."""
        flush()
        for href, etag, text, deleted in pending:
            if deleted:
                if text:
                    known.put(href, etag, text, deleted=True)
                state.etags.pop(href, None)
            else:
                if text:
                    known.put(href, etag, text)
                state.etags[href] = etag
        pending.clear()

    for href in listed.deleted:
        if budget[0] <= 0:
            report.more = True
            break
        budget[0] -= 1
        last = known.get(href)
        if last and not last.get("deleted") and has_event(last["ics"]):
            text = cancelled(last["ics"])
            texts.append(text)
            report.cancelled += 1
            pending.append((href, last.get("etag") or "", text, True))
        else:
            pending.append((href, "", "", True))
    # the cancelled versions go into the first fetch's file (one ingest transaction less)

    hrefs = sorted(todo)
    for start in range(0, len(hrefs), per_fetch):
        if budget[0] <= 0:
            report.more = True
            break
        chunk = hrefs[start:start + min(per_fetch, budget[0])]
        budget[0] -= len(chunk)
        got = session.multiget(cal_url, chunk)
        report.fetched += len(got)
        for href in chunk:
            if href not in got:  # deleted between the listing and the fetch
                last = known.get(href)
                if last and not last.get("deleted") and has_event(last["ics"]):
                    text = cancelled(last["ics"])
                    texts.append(text)
                    report.cancelled += 1
                    pending.append((href, "", text, True))
                else:
                    pending.append((href, "", "", True))
                continue
            etag, data = got[href]
            etag = etag or todo[href]
            if has_event(data):
                texts.append(data)
                report.changed += 1
                pending.append((href, etag, data, False))
            else:  # a task or journal: not a meeting, only its ETag is kept
                pending.append((href, etag, "", False))
        commit()
        if start + len(chunk) < len(hrefs) and len(chunk) < per_fetch:
            report.more = True
            break
    commit()
    if not report.more:
        state.sync_token = listed.sync_token
        state.ctag = listed.ctag
    return report


# --- one tick ------------------------------------------------------------------------------------


@dataclass
class TickResult(live.LiveTick[SyncCursor]):
    calendars: list[CalendarReport] = field(default_factory=list)

    def reports(self) -> list[CalendarReport]:
        return self.calendars


def caldav_tick(account: CalDavCalendar, cursor: SyncCursor, stage_dir: Path,
                state_dir: Path, *, now: float | None = None,
                sleep: Callable[[float], None] = time.sleep) -> TickResult:
    """One sensor tick: connect (breaker, retries), sync each calendar within the tick's bounds.

    Never raises for the server's failures: they are in ``error`` / ``auth_failed`` and the
    cursor keeps whatever was staged before them."""
    result = TickResult(cursor=cursor.copy())

    def sync(session: CalDavSession) -> None:
        budget = [account.max_objects_per_tick]
        for cal_url in session.calendars:
            state = result.cursor.calendars.setdefault(cal_url, CalendarState())
            report = sync_calendar(session, cal_url, state, budget, stage_dir,
                                   KnownObjects(known_folder(state_dir, cal_url)),
                                   account.objects_per_fetch)
            result.calendars.append(report)
            result.staged_now += report.staged

    return live.tick(CHANNEL, account, result, stage_dir, sync,
                     (CalDavUnavailable, CalDavAuthFailed, dav_error.DAVError, OSError),
                     now=time.time() if now is None else now, sleep=sleep)
