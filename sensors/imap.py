"""``imap_inbox_sensor``: new mail in the operator's IMAP folders becomes events.

The fetch, the staging and the cursor are in ``aios_assets/ingest/imap.py`` (its docstring says
why nothing is lost or doubled); this sensor runs one tick of it, keeps the cursor, asks for an
``ingest_job`` run over the staging folder, and turns a refused login into one incident.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import dagster as dg

from aios_assets.ingest.imap import (
    ImapMailbox,
    SyncCursor,
    TickResult,
    imap_tick,
    staged_files,
)
from aios_assets.observability.incidents import (
    build_sensor_incident,
    open_condition_incident,
    resolve_condition_incident,
)
from aios_assets.shared.home import AiosHome
from resources.postgres import PostgresStore

SENSOR_NAME = "imap_inbox_sensor"
RETRY_STAGED_S = 600  # staged files a run has not taken this long after: ask again


def ingest_request(stage_dir: Path, files: list[Path], now: float, fresh: bool
                   ) -> dg.RunRequest | None:
    """One run over the whole staging folder, or None.

    ``fresh`` (this tick staged something): a run keyed by the staged files' names. Otherwise
    files still staged RETRY_STAGED_S after the newest arrived (a run that failed or was
    killed leaves them there) are asked for again, once per RETRY_STAGED_S."""
    if not files:
        return None
    names = hashlib.sha256("\n".join(p.name for p in files).encode()).hexdigest()[:16]
    if fresh:
        key = f"imap:{names}"
    else:
        # ctime: when it was staged (its mtime is the message's arrival in the mailbox)
        newest = max((_ctime(p) for p in files), default=now)
        if now - newest < RETRY_STAGED_S:
            return None
        key = f"imap:{names}:{int(now // RETRY_STAGED_S)}"
    return dg.RunRequest(
        run_key=key,
        run_config={"ops": {"ingest_files": {"config": {"paths": [str(stage_dir)]}}}},
        tags={"aios/trigger": "imap"},
    )


def _ctime(path: Path) -> float:
    try:
        return path.stat().st_ctime
    except FileNotFoundError:  # ingested and archived meanwhile
        return 0.0


def handle_auth(result: TickResult, postgres: PostgresStore, mailbox: ImapMailbox,
                log: dg.DagsterLogManager | None = None) -> None:
    """Open the episode's incident once; resolve it when the login works again."""
    cursor = result.cursor
    if result.auth_failed and cursor.auth_failed_since and not cursor.incident_id:
        incident_id = f"imap_auth:{mailbox.describe()}:{cursor.auth_failed_since}"
        incident = build_sensor_incident(SENSOR_NAME, incident_id, "ImapAuthFailed",
                                         result.auth_failed)
        try:
            open_condition_incident(postgres, incident)
            cursor.incident_id = incident_id
        except Exception as exc:  # noqa: BLE001 - Postgres down: try again next tick
            if log:
                log.warning(f"could not record the IMAP login incident yet: {exc}")
    elif result.logged_in and cursor.auth_failed_since:
        try:
            if cursor.incident_id:
                resolve_condition_incident(postgres, cursor.incident_id)
            cursor.auth_failed_since = cursor.incident_id = None
        except Exception as exc:  # noqa: BLE001 - resolved at a later tick
            if log:
                log.warning(f"could not resolve the IMAP login incident yet: {exc}")


def run_imap_tick(cursor_raw: str | None, mailbox: ImapMailbox, postgres: PostgresStore,
                  home: AiosHome, log: dg.DagsterLogManager | None = None
                  ) -> tuple[str, dg.RunRequest | None, str]:
    """(new cursor, run request or None, summary) of one tick."""
    cursor = SyncCursor.load(cursor_raw)
    before = set(staged_files(home.imap_staging))
    result = imap_tick(mailbox, cursor, home.imap_staging)
    handle_auth(result, postgres, mailbox, log)
    files = staged_files(home.imap_staging)
    # Fresh: this tick staged a file (also one staged before a connection dropped mid-folder),
    # or moved the cursor over files a killed tick had staged without asking for their run.
    fresh = bool(set(files) - before) or result.cursor.folders != cursor.folders
    request = ingest_request(home.imap_staging, files, time.time(), fresh=fresh)
    return result.cursor.dump(), request, result.summary()


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
    cursor, request, summary = run_imap_tick(context.cursor, imap, postgres, home, context.log)
    context.update_cursor(cursor)
    context.log.info(summary)
    if request is None:
        return dg.SkipReason(summary)
    return [request]
