"""``caldav_calendar_sensor``: changes in the operator's CalDAV calendars become events.

The listing, the staging and the cursor are in ``aios_assets/ingest/caldav.py`` (its docstring
says why nothing is lost or doubled); this sensor runs one tick of it, keeps the cursor, asks
for an ``ingest_job`` run over the staging folder, and turns refused credentials into one
incident (the last three with ``sensors/live.py``, shared with ``imap_inbox_sensor``).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from aios_assets.ingest.caldav import (
    CHANNEL,
    CalDavCalendar,
    SyncCursor,
    caldav_tick,
    staged_files,
)
from aios_assets.shared.home import AiosHome
from resources.postgres import PostgresStore
from sensors import live

SENSOR_NAME = "caldav_calendar_sensor"


def ingest_request(stage_dir: Path, files: list[Path], now: float, fresh: bool
                   ) -> dg.RunRequest | None:
    """One run over the whole staging folder, or None (see ``sensors.live.ingest_request``)."""
    return live.ingest_request(CHANNEL.name, stage_dir, files, now, fresh)


def run_caldav_tick(cursor_raw: str | None, account: CalDavCalendar, postgres: PostgresStore,
                    home: AiosHome, log: dg.DagsterLogManager | None = None
                    ) -> tuple[str, dg.RunRequest | None, str]:
    """(new cursor, run request or None, summary) of one tick."""
    return live.run_tick(
        CHANNEL, SENSOR_NAME, SyncCursor.load(cursor_raw), home.caldav_staging, staged_files,
        lambda c: caldav_tick(account, c, home.caldav_staging, home.caldav_state),
        account.describe(), postgres, log)


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
    return live.answer(context, *run_caldav_tick(context.cursor, caldav, postgres, home,
                                                 context.log))
