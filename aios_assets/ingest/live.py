"""What the live channels (``imap.py``, ``caldav.py``) share: the tick's preamble and connect
loop (circuit breaker, retries, the refused-login episode), durable staging, and the cursor's and
tick result's common parts. Each channel module says why its own protocol loses nothing."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from aios_assets.shared.limits import CircuitBreaker, CircuitOpen


@dataclass(frozen=True)
class Channel:
    """What tells one live channel's shared code apart."""

    name: str  # "imap": run keys, the trigger tag, the incident's cause ("imap_auth")
    label: str  # "IMAP", in messages
    setup: str  # what to set when it is not configured, e.g. "$AIOS_IMAP_HOST and ..."
    password_env: str
    unavailable: type[Exception]  # transient: retried within the tick
    auth_failed: type[Exception]  # refused credentials: not retried for auth_retry_s


class Account(Protocol):
    connect_attempts: int
    auth_retry_s: float

    def configured(self) -> bool: ...
    def describe(self) -> str: ...
    def breaker(self) -> CircuitBreaker: ...
    def connect(self) -> Any: ...


_BREAKERS: dict[str, CircuitBreaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(account: str, threshold: int, reset_s: float) -> CircuitBreaker:
    """One breaker per account in this process, shared by every tick."""
    with _BREAKERS_LOCK:
        found = _BREAKERS.get(account)
        if found is None:
            found = _BREAKERS[account] = CircuitBreaker(threshold, reset_s)
        return found


# --- the cursor and the tick result ----------------------------------------------------------


@dataclass(kw_only=True)
class LoginEpisode:
    """The cursor's open login-failure episode, if any (each channel's ``SyncCursor`` adds its
    per-folder / per-calendar state)."""

    auth_failed_since: str | None = None  # ISO time of the first refused login of this episode
    auth_retry_at: float | None = None  # epoch seconds: no login attempt before this
    incident_id: str | None = None  # the episode's incident, once it is recorded

    @staticmethod
    def episode_from(data: dict[str, Any]) -> dict[str, Any]:
        return {"auth_failed_since": data.get("auth_failed_since"),
                "auth_retry_at": data.get("auth_retry_at"),
                "incident_id": data.get("incident_id")}

    def episode(self) -> dict[str, Any]:
        return {"auth_failed_since": self.auth_failed_since,
                "auth_retry_at": self.auth_retry_at,
                "incident_id": self.incident_id}

    def positions(self) -> Any:
        """Where the sync stands (per folder / calendar): what a tick moves on."""
        raise NotImplementedError

    def dump(self) -> str:
        raise NotImplementedError


C = TypeVar("C", bound=LoginEpisode)


@dataclass(kw_only=True)
class LiveTick(Generic[C]):
    """The parts of a tick's result every channel has."""

    cursor: C
    staged_now: int = 0
    error: str | None = None  # why the tick stopped early (connection, breaker, login)
    auth_failed: str | None = None  # the refused login's message, when it was refused
    skipped: str | None = None  # why the tick did nothing at all
    logged_in: bool = False

    def reports(self) -> list[Any]:
        """One report per folder / calendar synced, each with ``more`` and ``line()``."""
        raise NotImplementedError

    @property
    def more(self) -> bool:
        return any(r.more for r in self.reports())

    def summary(self) -> str:
        parts = [r.line() for r in self.reports()]
        if self.error:
            parts.append(f"stopped: {self.error}")
        return "; ".join(parts) or (self.skipped or "nothing to do")


R = TypeVar("R", bound=LiveTick[Any])


def tick(channel: Channel, account: Account, result: R, stage_dir: Path,
         sync: Callable[[Any], None], errors: tuple[type[BaseException], ...],
         *, now: float, sleep: Callable[[float], None] = time.sleep) -> R:
    """One tick: skip when not configured or in a refused login's wait, connect (breaker,
    retries), then ``sync(session)``; its ``errors`` stop the tick with the cursor
    ``sync`` has advanced so far.

    Never raises for the server's failures: they are in ``error`` / ``auth_failed``."""
    cursor = result.cursor
    if not account.configured():
        result.skipped = f"{channel.label} not configured: set {channel.setup}"
        return result
    if cursor.auth_retry_at is not None and now < cursor.auth_retry_at:
        wait = int(cursor.auth_retry_at - now)
        result.skipped = f"login was refused; next try in {wait}s (fix ${channel.password_env})"
        return result
    stage_dir.mkdir(parents=True, exist_ok=True)
    clear_temporaries(stage_dir)
    breaker = account.breaker()
    session = None
    for attempt in range(account.connect_attempts):
        try:
            breaker.before_call()
        except CircuitOpen as exc:
            result.error = f"{account.describe()} unreachable, breaker open: {exc}"
            return result
        try:
            session = account.connect()
            breaker.success()
            break
        except channel.auth_failed as exc:
            breaker.neutral()  # the server answered: it is up
            result.auth_failed = result.error = str(exc)
            cursor.auth_failed_since = cursor.auth_failed_since or datetime.fromtimestamp(
                now, UTC).isoformat(timespec="seconds")
            cursor.auth_retry_at = now + account.auth_retry_s
            return result
        except channel.unavailable as exc:
            breaker.failure()
            result.error = str(exc)
            if attempt + 1 < account.connect_attempts:
                sleep(min(2.0 ** attempt, 10.0))
    if session is None:
        return result
    result.error = None
    result.logged_in = True
    cursor.auth_retry_at = None  # the login worked: the episode (if any) is over
    try:
        sync(session)
    except errors as exc:
        breaker.failure()
        result.error = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        session.close()
    return result


# --- staging ---------------------------------------------------------------------------------


def write_staged(stage_dir: Path, prefix: str, suffix: str, data: bytes) -> tuple[Path, bool]:
    """``data`` as ``<prefix>-<sha256>.<suffix>`` in ``stage_dir``, durably and atomically;
    (path, True if it was not staged yet). Named by its content: the same batch is one file."""
    target = stage_dir / f"{prefix}-{hashlib.sha256(data).hexdigest()[:40]}{suffix}"
    if target.exists():
        return target, False
    tmp = stage_dir / f".{target.name}.{os.getpid()}.tmp"  # hidden: ingest never reads it
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    dir_fd = os.open(stage_dir, os.O_RDONLY)  # the rename itself must survive a crash
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target, True


def clear_temporaries(stage_dir: Path) -> int:
    """Remove half-written files a killed tick left behind (ticks of one sensor never overlap)."""
    count = 0
    for tmp in stage_dir.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
        count += 1
    return count


def staged_files(stage_dir: Path, suffix: str) -> list[Path]:
    if not stage_dir.is_dir():
        return []
    return sorted(p for p in stage_dir.iterdir() if p.suffix == suffix
                  and not p.name.startswith("."))
