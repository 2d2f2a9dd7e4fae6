"""``caldav_calendar_sensor``: changes in the operator's CalDAV calendars become events.

The listing, the staging and the cursor are in ``aios_assets/ingest/caldav.py`` (its docstring
says why nothing is lost or doubled); this sensor runs one tick of it, keeps the cursor, asks
for an ``ingest_job`` run over the staging folder, and turns refused credentials into one
incident.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import dagster as dg

from aios_assets.ingest.caldav import (
    CalDavCalendar,
    SyncCursor,
    TickResult,
    caldav_tick,
    staged_files,
)
from aios_assets.observability.incidents import (
    build_sensor_incident,
    open_condition_incident,
    resolve_condition_incident,
)
from aios_assets.shared.home import AiosHome
from resources.postgres import PostgresStore

SENSOR_NAME = "caldav_calendar_sensor"
RETRY_STAGED_S = 600  # staged files a run has not taken this long after: ask again


def ingest_request(stage_dir: Path, files: list[Path], now: float, fresh: bool
                   ) -> dg.RunRequest | None:
    """One run over the whole staging folder, or None (as ``sensors/imap.py`` does)."""
    if not files:
        return None
    names = hashlib.sha256("\n".join(p.name for p in files).encode()).hexdigest()[:16]
    if fresh:
        key = f"caldav:{names}"
    else:
        newest = max((_ctime(p) for p in files), default=now)
        if now - newest < RETRY_STAGED_S:
            return None
        key = f"caldav:{names}:{int(now // RETRY_STAGED_S)}"
    return dg.RunRequest(
        run_key=key,
        run_config={"ops": {"ingest_files": {"config": {"paths": [str(stage_dir)]}}}},
        tags={"aios/trigger": "caldav"},
    )


def _ctime(path: Path) -> float:
    try:
        return path.stat().st_ctime
    except FileNotFoundError:  # ingested and archived meanwhile
        return 0.0


def handle_auth(result: TickResult, postgres: PostgresStore, account: CalDavCalendar,
                log: dg.DagsterLogManager | None = None) -> None:
    """Open the episode's incident once; resolve it when the login works again."""
    cursor = result.cursor
    if result.auth_failed and cursor.auth_failed_since and not cursor.incident_id:
        incident_id = f"caldav_auth:{account.describe()}:{cursor.auth_failed_since}"
        incident = build_sensor_incident(SENSOR_NAME, incident_id, "CalDavAuthFailed",
                                         result.auth_failed)
        try:
            open_condition_incident(postgres, incident)
            cursor.incident_id = incident_id
        except Exception as exc:  # noqa: BLE001 - Postgres down: try again next tick
            if log:
                log.warning(f"could not record the CalDAV login incident yet: {exc}")
    elif result.logged_in and cursor.auth_failed_since:
        try:
            if cursor.incident_id:
                resolve_condition_incident(postgres, cursor.incident_id)
            cursor.auth_failed_since = cursor.incident_id = None
        except Exception as exc:  # noqa: BLE001 - resolved at a later tick
            if log:
                log.warning(f"could not resolve the CalDAV login incident yet: {exc}")


def run_caldav_tick(cursor_raw: str | None, account: CalDavCalendar, postgres: PostgresStore,
                    home: AiosHome, log: dg.DagsterLogManager | None = None
                    ) -> tuple[str, dg.RunRequest | None, str]:
    """(new cursor, run request or None, summary) of one tick."""
    cursor = SyncCursor.load(cursor_raw)
    before = set(staged_files(home.caldav_staging))
    result = caldav_tick(account, cursor, home.caldav_staging, home.caldav_state)
    handle_auth(result, postgres, account, log)
    files = staged_files(home.caldav_staging)
    fresh = bool(set(files) - before) or result.cursor.calendars != cursor.calendars
    request = ingest_request(home.caldav_staging, files, time.time(), fresh=fresh)
    return result.cursor.dump(), request, result.summary()


@dg.sensor(
    name=SENSOR_NAME,
    job_name="ingest_job",
    minimum_interval_seconds=120,
    # RUNNING like every AIOS sensor (docs/operating.md): live the moment a calendar is
    # configured; a fresh home still connects nowhere, as without a URL each tick skips.
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reads the CalDAV calendars (resource `caldav`, $AIOS_CALDAV_*) read-only "
                "(PROPFIND/REPORT only), stages changed events as .ics files (a deleted event "
                "as a cancelled version) and starts ingest_job on them. Cursor: per calendar "
                "(sync-token, ctag, ETag per object).",
)
def caldav_calendar_sensor(context: dg.SensorEvaluationContext, caldav: CalDavCalendar,
                           postgres: PostgresStore):
    home = AiosHome.from_env()
    cursor, request, summary = run_caldav_tick(context.cursor, caldav, postgres, home,
                                               context.log)
    context.update_cursor(cursor)
    context.log.info(summary)
    if request is None:
        return dg.SkipReason(summary)
    return [request]
