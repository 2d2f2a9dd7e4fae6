"""What the live-channel sensors (``imap.py``, ``caldav.py``) share: one tick with its cursor,
the ``ingest_job`` run over the staging folder, and one incident per refused-login episode.
The channels themselves are in ``aios_assets/ingest/`` (``live.py`` holds their shared part)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg

from aios_assets.ingest.live import Channel, LiveTick, LoginEpisode
from aios_assets.observability.incidents import (
    build_sensor_incident,
    open_condition_incident,
    resolve_condition_incident,
)
from resources.postgres import PostgresStore

RETRY_STAGED_S = 600  # staged files a run has not taken this long after: ask again

C = TypeVar("C", bound=LoginEpisode)


def ingest_request(channel: str, stage_dir: Path, files: list[Path], now: float, fresh: bool
                   ) -> dg.RunRequest | None:
    """One run over the whole staging folder, or None.

    ``fresh`` (this tick staged something): a run keyed by the staged files' names. Otherwise
    files still staged RETRY_STAGED_S after the newest arrived (a run that failed or was
    killed leaves them there) are asked for again, once per RETRY_STAGED_S."""
    if not files:
        return None
    names = hashlib.sha256("\n".join(p.name for p in files).encode()).hexdigest()[:16]
    if fresh:
        key = f"{channel}:{names}"
    else:
        # ctime: when it was staged (a staged mail's mtime is its arrival in the mailbox)
        newest = max((_ctime(p) for p in files), default=now)
        if now - newest < RETRY_STAGED_S:
            return None
        key = f"{channel}:{names}:{int(now // RETRY_STAGED_S)}"
    return dg.RunRequest(
        run_key=key,
        run_config={"ops": {"ingest_files": {"config": {"paths": [str(stage_dir)]}}}},
        tags={"aios/trigger": channel},
    )


def _ctime(path: Path) -> float:
    try:
        return path.stat().st_ctime
    except FileNotFoundError:  # ingested and archived meanwhile
        return 0.0


def handle_auth(channel: Channel, sensor_name: str, result: LiveTick[Any],
                postgres: PostgresStore, account: str,
                log: dg.DagsterLogManager | None = None) -> None:
    """Open the episode's incident once; resolve it when the login works again.
    ``account``: the account's ``describe()`` (never its password)."""
    cursor = result.cursor
    if result.auth_failed and cursor.auth_failed_since and not cursor.incident_id:
        incident_id = f"{channel.name}_auth:{account}:{cursor.auth_failed_since}"
        incident = build_sensor_incident(sensor_name, incident_id,
                                         channel.auth_failed.__name__, result.auth_failed)
        try:
            open_condition_incident(postgres, incident)
            cursor.incident_id = incident_id
        except Exception as exc:  # noqa: BLE001 - Postgres down: try again next tick
            if log:
                log.warning(f"could not record the {channel.label} login incident yet: {exc}")
    elif result.logged_in and cursor.auth_failed_since:
        try:
            if cursor.incident_id:
                resolve_condition_incident(postgres, cursor.incident_id)
            cursor.auth_failed_since = cursor.incident_id = None
        except Exception as exc:  # noqa: BLE001 - resolved at a later tick
            if log:
                log.warning(f"could not resolve the {channel.label} login incident yet: {exc}")


def run_tick(
        channel: Channel, sensor_name: str, cursor: C, stage_dir: Path,
        staged_files: Callable[[Path], list[Path]], tick: Callable[[C], LiveTick[C]],
        account: str, postgres: PostgresStore, log: dg.DagsterLogManager | None = None,
) -> tuple[str, dg.RunRequest | None, str]:
    """(new cursor, run request or None, summary) of one tick of ``tick`` from ``cursor``."""
    before = set(staged_files(stage_dir))
    result = tick(cursor)
    handle_auth(channel, sensor_name, result, postgres, account, log)
    files = staged_files(stage_dir)
    # Fresh: this tick staged a file (also one staged before a connection dropped mid-folder),
    # or moved the cursor over files a killed tick had staged without asking for their run.
    fresh = bool(set(files) - before) or result.cursor.positions() != cursor.positions()
    request = ingest_request(channel.name, stage_dir, files, time.time(), fresh=fresh)
    return result.cursor.dump(), request, result.summary()


def answer(context: dg.SensorEvaluationContext, cursor: str, request: dg.RunRequest | None,
           summary: str) -> dg.SkipReason | list[dg.RunRequest]:
    """What a live sensor returns: the run, or why there is none; the cursor kept either way."""
    context.update_cursor(cursor)
    context.log.info(summary)
    if request is None:
        return dg.SkipReason(summary)
    return [request]
