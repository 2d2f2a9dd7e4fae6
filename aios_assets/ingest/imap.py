"""Live mail: an IMAP mailbox read continuously into the event log (``imap_inbox_sensor``).

How a message travels, and why nothing is lost or doubled under SIGKILL:

1. **Fetch** (the sensor tick, :func:`imap_tick`). Each watched folder is opened with
   ``EXAMINE`` (read-only), new UIDs are listed with ``UID SEARCH UID n:*`` and fetched with
   ``BODY.PEEK[]``, so AIOS never sets ``\\Seen`` or any other flag, and never writes to the
   mailbox. A tick takes at most ``max_messages_per_tick`` messages / ``max_bytes_per_tick``
   bytes (always at least one message, so a large one cannot block the folder) and the next
   tick carries on.
2. **Stage.** Each fetch (at most ``messages_per_fetch`` messages, 100 by default, and
   20 MB) is written as one mboxrd file, ``$AIOS_HOME/staging/imap/imap-<sha256 of its
   bytes>.mbox``, through a hidden temporary file, fsync and an atomic rename: a staged file
   is always whole. Its ``From `` lines carry each message's INTERNALDATE. (One file per
   fetch, not per message: the event log commits one transaction per file, and 1,000
   one-message files would cost 50 ms each.)
3. **Cursor.** Only then does the tick return its cursor, per folder ``(UIDVALIDITY, last
   UID)``; Dagster stores it when the tick ends. A tick killed before that stores nothing, and
   the next tick fetches the same UIDs again: no loss, and the copies dedupe in step 4.
4. **Ingest.** The tick requests an ``ingest_job`` run over the whole staging folder. The run
   parses each message with the same function as an ``.eml`` file (``message_to_event``: the
   same charsets, the same missing-date rules, with INTERNALDATE as the time of last resort),
   inserts each file in one DuckDB transaction, and only after the commit moves the file to
   ``archive/imap/<date>/``. A killed run leaves the files staged; any later run picks them
   up. Events are keyed like every ``.eml``: source ``email``, ``source_id`` = the Message-ID,
   ``event_id`` = hash of source, source_id and content, so the same message from INBOX and
   Sent, from a resync, from a re-fetch after a kill, or from a file export is one event.

A changed UIDVALIDITY (the server rebuilt the folder's UIDs) resets that folder to UID 0: the
folder is fetched again over the next ticks and adds no event, since every message dedupes as
above. A message expunged between the listing and the fetch is skipped once the server
confirms it is gone. Connection failures go through a :class:`~aios_assets.shared.limits.
CircuitBreaker` per account (retried within the tick, then failing fast while open); a refused
login opens one incident per episode (``aios.incidents``, cause ``imap_auth``) and is not
retried for ``auth_retry_s``, so a wrong password never becomes a lock-out or a crash loop.
"""

from __future__ import annotations

import imaplib
import json
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from aios_assets.ingest import live
from aios_assets.shared.limits import CircuitBreaker

HOST_ENV = "AIOS_IMAP_HOST"
PORT_ENV = "AIOS_IMAP_PORT"
SSL_ENV = "AIOS_IMAP_SSL"
USER_ENV = "AIOS_IMAP_USER"
PASSWORD_ENV = "AIOS_IMAP_PASSWORD"
FOLDERS_ENV = "AIOS_IMAP_FOLDERS"
DEFAULT_FOLDERS = ("INBOX", "Sent")
CURSOR_VERSION = 1
FETCH_MESSAGES = 100  # per UID FETCH and staged file; progress is kept chunk by chunk
FETCH_BYTES = 20_000_000  # ... and at most this many bytes (a larger message goes alone)
STAGED_SUFFIX = ".mbox"


class ImapUnavailable(RuntimeError):
    """The server could not be reached or dropped the connection (transient: retried)."""


class ImapAuthFailed(RuntimeError):
    """The server refused the login (user or password wrong): not retried until fixed."""


CHANNEL = live.Channel("imap", "IMAP", f"${HOST_ENV} and ${USER_ENV}", PASSWORD_ENV,
                       ImapUnavailable, ImapAuthFailed)


class ImapMailbox(dg.ConfigurableResource):
    """The operator's IMAP account, read by ``imap_inbox_sensor`` (never written to).

    ``host`` empty means not configured: the sensor then does nothing and connects nowhere.
    Give the password as ``dg.EnvVar("AIOS_IMAP_PASSWORD")`` (the default wiring does), so the
    UI shows the variable's name, never its value.
    """

    host: str = Field(default="", description="IMAP server; empty: the sensor is off")
    port: int = Field(default=993, description="993 with TLS, 143 without")
    ssl: bool = Field(default=True, description="TLS from the first byte (IMAPS)")
    user: str = ""
    password: str = Field(default="", repr=False, description="use dg.EnvVar(...)")
    folders: list[str] = Field(default_factory=lambda: list(DEFAULT_FOLDERS),
                               description="folders to watch (a missing one is skipped)")
    max_messages_per_tick: int = Field(default=200, ge=1)
    max_bytes_per_tick: int = Field(default=50_000_000, ge=1)
    messages_per_fetch: int = Field(default=FETCH_MESSAGES, ge=1,
                                    description="per UID FETCH and staged file")
    timeout_s: float = Field(default=60.0, gt=0)
    connect_attempts: int = Field(default=3, ge=1, description="tries per tick before giving up")
    auth_retry_s: float = Field(default=900.0, ge=0,
                                description="wait after a refused login before trying again")
    breaker_threshold: int = Field(default=3, ge=1)
    breaker_reset_s: float = Field(default=300.0, ge=0)

    def configured(self) -> bool:
        return bool(self.host.strip() and self.user.strip())

    def describe(self) -> str:
        scheme = "imaps" if self.ssl else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}"

    def breaker(self) -> CircuitBreaker:
        return live.breaker_for(self.describe(), self.breaker_threshold, self.breaker_reset_s)

    def connect(self) -> ImapSession:
        """A logged-in session. Raises :class:`ImapUnavailable` or :class:`ImapAuthFailed`."""
        try:
            if self.ssl:
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=ssl.create_default_context(),
                    timeout=self.timeout_s)
            else:
                imap = imaplib.IMAP4(self.host, self.port, timeout=self.timeout_s)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapUnavailable(f"cannot connect to {self.host}:{self.port}: "
                                  f"{type(exc).__name__}: {exc}") from None
        try:
            imap.login(self.user, self.password)
        except imaplib.IMAP4.abort as exc:
            _close(imap)
            raise ImapUnavailable(f"connection lost during login: {exc}") from None
        except imaplib.IMAP4.error as exc:
            _close(imap)
            text = _text(exc)
            if re.search(r"\[(UNAVAILABLE|SERVERBUG|LIMIT|INUSE)\]", text, re.IGNORECASE):
                raise ImapUnavailable(f"login deferred by the server: {text}") from None
            raise ImapAuthFailed(
                f"IMAP login refused by {self.host}:{self.port} for user {self.user!r}: "
                f"{text}") from None
        except OSError as exc:
            _close(imap)
            raise ImapUnavailable(f"connection lost during login: {exc}") from None
        return ImapSession(imap)


def mailbox_from_env(**overrides: Any) -> ImapMailbox:
    """The resource as the default definitions build it from ``$AIOS_IMAP_*``."""
    ssl_flag = os.environ.get(SSL_ENV, "1").strip().lower() not in ("0", "false", "no", "off")
    port = os.environ.get(PORT_ENV, "").strip()
    folders = [f.strip() for f in os.environ.get(FOLDERS_ENV, "").split(",") if f.strip()]
    settings: dict[str, Any] = {
        "host": os.environ.get(HOST_ENV, "").strip(),
        "user": os.environ.get(USER_ENV, "").strip(),
        "ssl": ssl_flag,
        "port": int(port) if port.isdigit() else (993 if ssl_flag else 143),
        "folders": folders or list(DEFAULT_FOLDERS),
        # Resolved when the sensor runs; the UI shows the variable's name, not the value.
        "password": dg.EnvVar(PASSWORD_ENV) if os.environ.get(PASSWORD_ENV) else "",
    }
    settings.update(overrides)
    return ImapMailbox(**settings)


def _text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace")
    return str(arg)


def _close(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except (OSError, imaplib.IMAP4.error):
        pass


def quote_mailbox(name: str) -> str:
    """A folder name as an IMAP quoted string (modified UTF-7 is the caller's business)."""
    if any(c in name for c in "\r\n\0"):
        raise ValueError(f"bad folder name {name!r}")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(uids: Iterable[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``'1:3,7'`` (short commands for long runs of UIDs)."""
    out: list[str] = []
    ordered = sorted(set(uids))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(out)


_UID_RE = re.compile(rb"\bUID (\d+)")
_SIZE_RE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_DATE_RE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_UIDVALIDITY_RE = re.compile(rb"\bUIDVALIDITY (\d+)")


class ImapSession:
    """The few read-only IMAP commands the sync needs, over one imaplib connection."""

    def __init__(self, imap: imaplib.IMAP4) -> None:
        self.imap = imap

    def close(self) -> None:
        _close(self.imap)

    def _ok(self, typ: str, data: Any, what: str) -> Any:
        if typ != "OK":
            raise ImapUnavailable(f"{what} failed: {typ} {data!r}"[:300])
        return data

    def examine(self, folder: str) -> int | None:
        """Open ``folder`` read-only; its UIDVALIDITY, or None when there is no such folder."""
        typ, data = self.imap.select(quote_mailbox(folder), readonly=True)
        if typ != "OK":
            return None
        _, values = self.imap.response("UIDVALIDITY")
        for value in values or []:
            if value:
                return int(value)
        # Some servers put it only in the STATUS answer.
        typ, data = self.imap.status(quote_mailbox(folder), "(UIDVALIDITY)")
        found = _UIDVALIDITY_RE.search(b" ".join(d for d in data if isinstance(d, bytes)))
        if typ != "OK" or not found:
            raise ImapUnavailable(f"no UIDVALIDITY for folder {folder!r}")
        return int(found.group(1))

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid`` in the open folder, ascending."""
        typ, data = self.imap.uid("SEARCH", "UID", f"{last_uid + 1}:*")
        data = self._ok(typ, data, "UID SEARCH")
        words = b" ".join(d for d in data if isinstance(d, bytes)).split()
        # "n:*" always matches the highest UID, even one below n.
        return sorted(u for u in (int(w) for w in words) if u > last_uid)

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """RFC822.SIZE of each UID still there."""
        out: dict[int, int] = {}
        for start in range(0, len(uids), 500):
            chunk = uids[start:start + 500]
            typ, data = self.imap.uid("FETCH", uid_set(chunk), "(RFC822.SIZE)")
            for item in self._ok(typ, data, "UID FETCH RFC822.SIZE"):
                line = item[0] if isinstance(item, tuple) else item
                if not isinstance(line, bytes):
                    continue
                uid, size = _UID_RE.search(line), _SIZE_RE.search(line)
                if uid and size:
                    out[int(uid.group(1))] = int(size.group(1))
        return out

    def fetch(self, uids: list[int]) -> dict[int, tuple[bytes, datetime | None]]:
        """(raw bytes, INTERNALDATE) per UID, with ``BODY.PEEK[]`` (sets no flag). UIDs that
        were expunged meanwhile are simply absent."""
        typ, data = self.imap.uid("FETCH", uid_set(uids), "(INTERNALDATE BODY.PEEK[])")
        if typ != "OK":
            # Dovecot answers NO [EXPUNGEISSUED] when some asked messages are gone: the rest
            # is still in the answer.
            if "EXPUNGEISSUED" not in repr(data).upper():
                raise ImapUnavailable(f"UID FETCH failed: {typ} {repr(data)[:200]}")
        out: dict[int, tuple[bytes, datetime | None]] = {}
        for item in data or []:
            if not isinstance(item, tuple) or len(item) < 2:
                continue
            head, body = item[0], item[1]
            uid = _UID_RE.search(head)
            if uid is None or not isinstance(body, bytes):
                continue
            date = _DATE_RE.search(head)
            out[int(uid.group(1))] = (body, _internaldate(date.group(1)) if date else None)
        return out

    def still_there(self, uids: list[int]) -> set[int]:
        """Which of ``uids`` the server still has (after taking in its expunge news)."""
        self.imap.noop()
        typ, data = self.imap.uid("SEARCH", "UID", uid_set(uids))
        data = self._ok(typ, data, "UID SEARCH")
        found = {int(w) for w in b" ".join(d for d in data if isinstance(d, bytes)).split()}
        return found & set(uids)


def _internaldate(raw: bytes) -> datetime | None:
    try:
        return datetime.strptime(raw.decode(), "%d-%b-%Y %H:%M:%S %z").astimezone(UTC)
    except ValueError:
        return None


# --- the cursor ----------------------------------------------------------------------------------


@dataclass
class FolderState:
    uidvalidity: int
    last_uid: int = 0


@dataclass
class SyncCursor(live.LoginEpisode):
    """What the sensor's cursor holds (JSON): per folder (UIDVALIDITY, last UID), and the
    open login-failure episode, if any."""

    folders: dict[str, FolderState] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> SyncCursor:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            folders = {
                name: FolderState(int(v["uidvalidity"]), int(v["last_uid"]))
                for name, v in (data.get("folders") or {}).items()
            }
            return cls(folders, **cls.episode_from(data))
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()  # an unreadable cursor: start over, which only costs a resync

    def dump(self) -> str:
        return json.dumps({
            "v": CURSOR_VERSION,
            "folders": {name: {"uidvalidity": s.uidvalidity, "last_uid": s.last_uid}
                        for name, s in sorted(self.folders.items())},
            **self.episode(),
        }, sort_keys=True)

    def positions(self) -> dict[str, FolderState]:
        return self.folders


# --- staging -------------------------------------------------------------------------------------


_FROM_RE = re.compile(rb"^(>*From )", re.MULTILINE)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def to_mboxrd(messages: list[tuple[bytes, datetime | None]], fallback: datetime) -> bytes:
    """Messages as one mboxrd file: a ``From `` line carrying the server's INTERNALDATE (the
    parser's fallback time for a message without a readable Date or Received header), body
    lines that start with ``>*From `` quoted with one more ``>`` (the parser removes it)."""
    parts: list[bytes] = []
    for raw, received in messages:
        when = (received or fallback).astimezone(UTC)
        stamp = (f"{_DAYS[when.weekday()]} {_MONTHS[when.month - 1]} {when.day:2d} "
                 f"{when:%H:%M:%S} {when.year}")  # asctime, whatever the locale
        parts.append(f"From MAILER-DAEMON {stamp}\n".encode())
        body = _FROM_RE.sub(rb">\1", raw)
        parts.append(body if body.endswith(b"\n") else body + b"\n")
        parts.append(b"\n")
    return b"".join(parts)


def stage_batch(stage_dir: Path, messages: list[tuple[bytes, datetime | None]],
                now: datetime | None = None) -> tuple[Path, bool]:
    """Write fetched messages as one staged mbox file, durably and atomically; (path, True if
    it was not staged yet). Named by its content: the same batch fetched again is one file."""
    return live.write_staged(stage_dir, "imap", STAGED_SUFFIX,
                             to_mboxrd(messages, now or datetime.now(UTC)))


def staged_files(stage_dir: Path) -> list[Path]:
    return live.staged_files(stage_dir, STAGED_SUFFIX)


# --- one folder, one tick ------------------------------------------------------------------------


@dataclass
class Budget:
    """What is left of one tick's bounds."""

    messages: int
    bytes: int
    taken: int = 0

    def take(self, size: int) -> bool:
        if self.messages <= 0 or (self.taken and size > self.bytes):
            return False  # the first message of a tick always fits, however large
        self.messages -= 1
        self.bytes -= size
        self.taken += 1
        return True


@dataclass
class FolderReport:
    folder: str
    missing: bool = False  # no such folder on the server
    resynced: bool = False  # UIDVALIDITY changed: fetched again from UID 0
    listed: int = 0  # new UIDs found
    fetched: int = 0
    staged: int = 0  # new staged files (the rest were staged already)
    bytes: int = 0
    vanished: int = 0  # expunged between the listing and the fetch
    more: bool = False  # new messages left for the next tick

    def line(self) -> str:
        if self.missing:
            return f"{self.folder}: no such folder"
        bits = [f"{self.fetched} fetched", f"{self.staged} new"]
        if self.resynced:
            bits.append("UIDVALIDITY changed, resyncing")
        if self.vanished:
            bits.append(f"{self.vanished} expunged before fetch")
        if self.more:
            bits.append("more next tick")
        return f"{self.folder}: " + ", ".join(bits)


AfterList = Callable[[str, list[int]], None]


def sync_folder(session: ImapSession, folder: str, states: dict[str, FolderState],
                budget: Budget, stage_dir: Path, after_list: AfterList | None = None,
                per_fetch: int = FETCH_MESSAGES) -> FolderReport:
    """Fetch what is new in ``folder`` within ``budget`` into ``stage_dir``.

    ``states[folder]`` advances as the fetch goes (so an error keeps what was staged before
    it), and only ever past UIDs that are staged on disk or confirmed gone."""
    report = FolderReport(folder)
    uidvalidity = session.examine(folder)
    if uidvalidity is None:
        report.missing = True
        return report
    old = states.get(folder)
    if old is None or old.uidvalidity != uidvalidity:
        report.resynced = old is not None
        state = states[folder] = FolderState(uidvalidity, 0)
    else:
        state = states[folder] = FolderState(old.uidvalidity, old.last_uid)
    uids = session.uids_after(state.last_uid)
    report.listed = len(uids)
    if not uids:
        return report
    sizes = session.sizes(uids)
    chosen: list[int] = []
    for uid in uids:
        if not budget.take(sizes.get(uid, 0)):
            report.more = True
            break
        chosen.append(uid)
    if after_list is not None:
        after_list(folder, chosen)  # a test seam: the mailbox may change here
    for chunk in chunks(chosen, sizes, per_fetch):
        got = session.fetch(chunk)
        batch = [got[uid] for uid in chunk if uid in got]
        if batch:
            _, new = stage_batch(stage_dir, batch)
            report.fetched += len(batch)
            report.staged += len(batch) if new else 0
            report.bytes += sum(len(raw) for raw, _ in batch)
        gone = [u for u in chunk if u not in got]
        if gone:
            kept = session.still_there(gone)
            report.vanished += len(gone) - len(kept)
            if kept:  # the server has them but did not send them: try again next tick
                state.last_uid = max([state.last_uid, *[u for u in chunk if u < min(kept)]])
                report.more = True
                return report
        state.last_uid = max(state.last_uid, chunk[-1])
    return report


def chunks(uids: list[int], sizes: dict[int, int], per_fetch: int = FETCH_MESSAGES
           ) -> list[list[int]]:
    """``uids`` cut into fetches of at most ``per_fetch`` messages / FETCH_BYTES bytes."""
    out: list[list[int]] = []
    current: list[int] = []
    size = 0
    for uid in uids:
        n = sizes.get(uid, 0)
        if current and (len(current) >= per_fetch or size + n > FETCH_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(uid)
        size += n
    if current:
        out.append(current)
    return out


# --- one tick ------------------------------------------------------------------------------------


@dataclass
class TickResult(live.LiveTick[SyncCursor]):
    folders: list[FolderReport] = field(default_factory=list)

    def reports(self) -> list[FolderReport]:
        return self.folders


def imap_tick(mailbox: ImapMailbox, cursor: SyncCursor, stage_dir: Path, *,
              now: float | None = None, after_list: AfterList | None = None,
              sleep: Callable[[float], None] = time.sleep) -> TickResult:
    """One sensor tick: connect (breaker, retries), sync each folder within the tick's bounds.

    Never raises for the mailbox's failures: they are in ``error`` / ``auth_failed`` and the
    cursor keeps whatever was staged before them."""
    result = TickResult(cursor=SyncCursor(dict(cursor.folders), **cursor.episode()))

    def sync(session: ImapSession) -> None:
        budget = Budget(mailbox.max_messages_per_tick, mailbox.max_bytes_per_tick)
        for folder in mailbox.folders:
            report = sync_folder(session, folder, result.cursor.folders, budget, stage_dir,
                                 after_list, mailbox.messages_per_fetch)
            result.folders.append(report)
            result.staged_now += report.staged

    return live.tick(CHANNEL, mailbox, result, stage_dir, sync,
                     (ImapUnavailable, imaplib.IMAP4.error, OSError, socket.timeout),
                     now=time.time() if now is None else now, sleep=sleep)
