"""``imap_inbox_sensor``: new mail in the operator's IMAP folders becomes events.

The fetch, the staging and the cursor are in ``aios_assets/ingest/imap.py`` (its docstring says
why nothing is lost or doubled); this sensor runs one tick of it, keeps the cursor, asks for an
``ingest_job`` run over the staging folder, and turns a refused login into one incident (the
last three with ``sensors/live.py``, shared with ``caldav_calendar_sensor``).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from aios_assets.ingest.imap import CHANNEL, ImapMailbox, SyncCursor, imap_tick, staged_files
from aios_assets.shared.home import AiosHome
from resources.postgres import PostgresStore
from sensors import live

SENSOR_NAME = "imap_inbox_sensor"


def ingest_request(stage_dir: Path, files: list[Path], now: float, fresh: bool
                   ) -> dg.RunRequest | None:
    """One run over the whole staging folder, or None (see ``sensors.live.ingest_request``)."""
    return live.ingest_request(CHANNEL.name, stage_dir, files, now, fresh)


def run_imap_tick(cursor_raw: str | None, mailbox: ImapMailbox, postgres: PostgresStore,
                  home: AiosHome, log: dg.DagsterLogManager | None = None
                  ) -> tuple[str, dg.RunRequest | None, str]:
    """(new cursor, run request or None, summary) of one tick."""
    return live.run_tick(CHANNEL, SENSOR_NAME, SyncCursor.load(cursor_raw), home.imap_staging,
                         staged_files, lambda c: imap_tick(mailbox, c, home.imap_staging),
                         mailbox.describe(), postgres, log)


@dg.sensor(
    name=SENSOR_NAME,
    job_name="ingest_job",
    minimum_interval_seconds=60,
    # RUNNING like every AIOS sensor (docs/operating.md), so it is live the moment a mailbox
    # is configured; a fresh home still connects nowhere: without a host each tick skips.
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reads new mail from the IMAP folders (resource `imap`, $AIOS_IMAP_*) with "
                "BODY.PEEK[] (never marks read, never writes), stages it as mbox files and "
                "starts ingest_job on them. Cursor: per folder (UIDVALIDITY, last UID).",
)
def imap_inbox_sensor(context: dg.SensorEvaluationContext, imap: ImapMailbox,
                      postgres: PostgresStore):
    home = AiosHome.from_env()
    return live.answer(context, *run_imap_tick(context.cursor, imap, postgres, home,
                                               context.log))
