"""Incidents: a failed run opens one and notifies the operator once (``run_failure_sensor`` in
``sensors/failures.py`` calls :func:`record_failure`).

An incident is one row in Postgres ``aios.incidents`` per failed run: what failed (job, step),
the run id, the error, the likely cause classified from the error text, and the runbook step for
that cause (the table in ``docs/runbook.md`` is :data:`RUNBOOK`; a test keeps them equal).
The notification goes out through the webhook adapter (``$AIOS_WEBHOOK_URL``, Slack-style JSON)
at most once per incident: the row is inserted once (``ON CONFLICT DO NOTHING``), the send is
claimed in the row before it happens (:func:`deliver_once`), and a delivery whose outcome is
unknown is not resent. A failed send is retried by the next failed run's tick and by every
``plans_sensor`` tick (:func:`retry_notifications`), at most :data:`MAX_NOTIFY_ATTEMPTS` times.
The claim-once delivery (:func:`deliver_once`, :func:`post_webhook`) serves the plan and
proposal notices too (``notices.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import psycopg

from resources.postgres import PostgresStore, apply_ddl

INCIDENTS_DDL = """
CREATE TABLE IF NOT EXISTS aios.incidents (
    incident_id text PRIMARY KEY,            -- 'run:<run_id>': one incident per failed run
    opened_at timestamptz NOT NULL DEFAULT now(),
    job_name text NOT NULL,
    run_id text NOT NULL UNIQUE,
    step_key text,                            -- NULL when the run failed outside a step
    error_class text,
    error_message text NOT NULL,
    cause text NOT NULL,                      -- a RUNBOOK key
    runbook_step text NOT NULL,
    status text NOT NULL DEFAULT 'open',      -- open | resolved
    notify_status text NOT NULL DEFAULT 'pending',  -- pending|sending|sent|failed|in_doubt|off
    notify_attempts int NOT NULL DEFAULT 0,
    notified_at timestamptz,
    notify_error text
);
CREATE INDEX IF NOT EXISTS incidents_opened_at ON aios.incidents (opened_at);
"""
MAX_NOTIFY_ATTEMPTS = 3
MAX_ERROR_CHARS = 4000


@dataclass(frozen=True)
class RunbookEntry:
    cause: str
    pattern: str  # case-insensitive regex over the error class + message
    likely_cause: str
    step: str


# Keep in the same order as the table in docs/runbook.md (first match wins).
RUNBOOK: tuple[RunbookEntry, ...] = (
    RunbookEntry(
        "duckdb_lock", r"could not set lock|conflicting lock|database is locked",
        "another process holds the DuckDB warehouse's write lock",
        "Find the other writer (`aios sql` never writes; a second `dagster dev` on the same "
        "AIOS_HOME does); make warehouse writers use pool `warehouse`; re-execute from failure.",
    ),
    RunbookEntry(
        "postgres_unavailable",
        r"postgresunavailable|operationalerror|could not connect|connection refused"
        r"|connection is bad|server closed the connection",
        "Postgres is down or unreachable",
        "`aios pg status`; start it with `aios pg start`, or check AIOS_POSTGRES_URL; then "
        "re-execute from failure.",
    ),
    RunbookEntry(
        "llm_budget", r"budget",
        "the LLM budget for the day or the agent is spent",
        "See `aios sql \"select * from cost_by_day_agent_model\"`; raise the budget in "
        "LLMResource (or `$AIOS_LLM_DAILY_BUDGET_USD`, `resources/budgets.py`) or wait for "
        "tomorrow; the offline tier keeps working.",
    ),
    RunbookEntry(
        "llm_endpoint", r"openai|apiconnectionerror|ratelimiterror|apitimeouterror",
        "the LLM endpoint failed or refused the call",
        "Check AIOS_LLM_BASE_URL / the provider's status; unset it to fall back to the "
        "offline tier; re-execute from failure.",
    ),
    RunbookEntry(
        "check_failed", r"assetcheck|asset check|blocking check",
        "a blocking data check failed, so downstream assets did not run",
        "Open the asset's Checks tab in the UI, fix the data (or the input in quarantine), "
        "then re-materialize the asset.",
    ),
    RunbookEntry(
        "dbt", r"\bdbt\b|dbtclierror|dbt_project",
        "a dbt model or data test failed",
        "Read the dbt step's log in the UI; `dbt build --select <model>` in dbt_project/ to "
        "reproduce; re-execute from failure.",
    ),
    RunbookEntry(
        "disk_full", r"no space left on device|disk quota",
        "the disk under AIOS_HOME is full",
        "`du -sh $AIOS_HOME/*`; run the weekly curation (cold archive) or free space; "
        "re-execute from failure.",
    ),
    RunbookEntry(
        "imap_auth", r"imapauthfailed|imap login refused",
        "the IMAP server refused AIOS's login (wrong user or password, app password revoked)",
        "Check $AIOS_IMAP_USER / $AIOS_IMAP_PASSWORD (an app password for Gmail or Fastmail) "
        "and restart `make ui`; `imap_inbox_sensor` tries again after `auth_retry_s` and "
        "resolves this incident when the login works.",
    ),
    RunbookEntry(
        "caldav_auth", r"caldavauthfailed|caldav login refused",
        "the CalDAV server refused AIOS's login (wrong user or password, app password revoked)",
        "Check $AIOS_CALDAV_USER / $AIOS_CALDAV_PASSWORD (an app password for Fastmail or "
        "Nextcloud) and restart `make ui`; `caldav_calendar_sensor` tries again after "
        "`auth_retry_s` and resolves this incident when the login works.",
    ),
    RunbookEntry(
        "timeout", r"timed? ?out|timeouterror|deadline exceeded",
        "a call or a step took longer than its limit",
        "Check the service the step calls; re-execute from failure; if it repeats, raise "
        "the step's timeout.",
    ),
    RunbookEntry(
        "unknown", r".*",
        "not recognised from the error text",
        "Read the failed step's stack trace in the UI (Runs → this run); fix, then "
        "re-execute from failure.",
    ),
)


@dataclass(frozen=True)
class Incident:
    incident_id: str
    job_name: str
    run_id: str
    step_key: str | None
    error_class: str | None
    error_message: str
    cause: str
    likely_cause: str
    runbook_step: str


def classify_failure(error_class: str | None, message: str) -> RunbookEntry:
    """The first runbook entry whose pattern matches the error (``unknown`` at the least)."""
    text = f"{error_class or ''} {message}"
    for entry in RUNBOOK:
        if re.search(entry.pattern, text, flags=re.IGNORECASE):
            return entry
    raise AssertionError("RUNBOOK ends with a catch-all entry")  # pragma: no cover


# Credentials that error texts sometimes carry (connection URLs, DSNs, API keys, bearer tokens).
_SECRETS = (
    (re.compile(r"(\w+://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(password\s*=\s*)[^\s'\"]+", re.IGNORECASE), r"\1***"),
    (re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}"), r"\1-***"),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1***"),
)


def redact(text: str) -> str:
    """``text`` without the credentials error messages sometimes include."""
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text


def build_incident(job_name: str, run_id: str, step_key: str | None, error_class: str | None,
                   message: str) -> Incident:
    message = redact(message)
    entry = classify_failure(error_class, message)
    return Incident(
        incident_id=f"run:{run_id}", job_name=job_name, run_id=run_id, step_key=step_key,
        error_class=error_class, error_message=message[:MAX_ERROR_CHARS], cause=entry.cause,
        likely_cause=entry.likely_cause, runbook_step=entry.step,
    )


def incident_from_context(context: dg.RunFailureSensorContext) -> Incident:
    """What failed, from the first failed step (or the run's failure event if none)."""
    run = context.dagster_run
    steps = context.get_step_failure_events()
    if steps:
        event = steps[0]
        error = event.step_failure_data.error
        step_key = event.step_key
    else:
        event, step_key = context.failure_event, None
        error = getattr(event.event_specific_data, "error", None)
    if error is not None:
        # The innermost cause names the real error (Dagster wraps user code errors).
        inner = error
        while inner.cause is not None:
            inner = inner.cause
        error_class = inner.cls_name or error.cls_name
        message = inner.message.strip() or error.message.strip()
    else:
        error_class, message = None, (context.failure_event.message or "run failed")
    return build_incident(run.job_name, run.run_id, step_key, error_class, message)


def build_sensor_incident(sensor: str, incident_id: str, error_class: str,
                          message: str) -> Incident:
    """An incident that a sensor opens for a condition, not for a failed run (``run_id`` holds
    the incident id: the column is unique and a condition has no run)."""
    message = redact(message)
    entry = classify_failure(error_class, message)
    return Incident(
        incident_id=incident_id, job_name=sensor, run_id=incident_id, step_key=None,
        error_class=error_class, error_message=message[:MAX_ERROR_CHARS], cause=entry.cause,
        likely_cause=entry.likely_cause, runbook_step=entry.step,
    )


def open_condition_incident(postgres: PostgresStore, incident: Incident) -> bool:
    """Record ``incident`` once (repeated ticks add nothing); True when this call opened it.
    Its notification goes out with the others (``plans_sensor`` retries pending ones)."""
    url = postgres.resolved_url()
    ensure_schema(url)
    with postgres.connect(autocommit=True) as con:
        return open_incident(con, incident)


def resolve_condition_incident(postgres: PostgresStore, incident_id: str) -> bool:
    """Mark an open incident resolved (its condition is over); True when it was open."""
    url = postgres.resolved_url()
    ensure_schema(url)
    with postgres.connect(autocommit=True) as con:
        row = con.execute(
            "UPDATE aios.incidents SET status = 'resolved' "
            "WHERE incident_id = %s AND status = 'open' RETURNING incident_id",
            (incident_id,)).fetchone()
    return row is not None


def ensure_schema(url: str) -> None:
    apply_ddl(url, "incidents_v1", INCIDENTS_DDL)


def open_incident(con: psycopg.Connection, incident: Incident) -> bool:
    """Insert the incident; False if this run already has one (repeated ticks, restarts)."""
    row = con.execute(
        """INSERT INTO aios.incidents (incident_id, job_name, run_id, step_key, error_class,
                                       error_message, cause, runbook_step)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT DO NOTHING RETURNING incident_id""",
        (incident.incident_id, incident.job_name, incident.run_id, incident.step_key,
         incident.error_class, incident.error_message, incident.cause, incident.runbook_step),
    ).fetchone()
    return row is not None


def notification_text(incident: Incident) -> str:
    where = f"step `{incident.step_key}`" if incident.step_key else "the run"
    return (
        f":rotating_light: AIOS run failed: job `{incident.job_name}`, {where}\n"
        f"run: {incident.run_id}\n"
        f"error: {incident.error_class or 'error'}: {incident.error_message[:300]}\n"
        f"likely cause: {incident.likely_cause}\n"
        f"runbook ({incident.cause}): {incident.runbook_step}"
    )


class NotifyUnknown(RuntimeError):
    """The notification may or may not have been delivered (timeout after sending)."""


def post_webhook(idempotency_key: str, subject_id: str, text: str, *,
                 run_id: str | None = None, postgres_url: str | None = None) -> str:
    """Post ``text`` through the webhook adapter (``$AIOS_WEBHOOK_URL``); the external id.

    Raises :class:`NotifyUnknown` when the outcome is unknown, anything else when it failed.
    """
    from aios_assets.publishing.adapters.base import AdapterUnknown, OutboxAction
    from aios_assets.publishing.adapters.webhook import WebhookAdapter

    adapter = WebhookAdapter(postgres_url=postgres_url, max_attempts=2, max_elapsed_s=20)
    action = OutboxAction(
        idempotency_key=idempotency_key, proposal_id=subject_id,
        action_type="notify_webhook", capability="webhook", payload={"text": text},
        agent="operations", run_id=run_id,
    )
    try:
        return adapter.send(action).external_id
    except AdapterUnknown as exc:
        raise NotifyUnknown(str(exc)) from exc


def send_webhook(incident: Incident, postgres_url: str | None = None) -> str:
    """Post the incident through the webhook adapter; returns the external id."""
    return post_webhook(f"incident:{incident.run_id}", incident.incident_id,
                        notification_text(incident), run_id=incident.run_id,
                        postgres_url=postgres_url)


Notifier = Callable[[Incident, str | None], str]


def deliver_once(con: psycopg.Connection, table: str, key_col: str, key: str,
                 send: Callable[[], object]) -> str | None:
    """Claim the row's notification, send it, record the outcome; the new status, or None
    when another evaluator claimed it first. ``table`` needs the ``notify_*`` columns of
    ``aios.incidents`` (``aios.notices`` has them too).

    Claiming first (pending|failed -> sending, one more attempt) means a concurrent evaluator
    or a crash mid-send can never send it twice; an unknown outcome is ``in_doubt``, never
    resent; any other failure is ``failed`` and may be retried by the caller.
    """
    claimed = con.execute(
        f"""UPDATE {table} SET notify_status = 'sending', notify_attempts = notify_attempts + 1
            WHERE {key_col} = %s AND notify_status IN ('pending', 'failed')
            RETURNING {key_col}""", (key,)).fetchone()
    if claimed is None:
        return None
    try:
        send()
        status, error = "sent", None
    except NotifyUnknown as exc:
        status, error = "in_doubt", str(exc)[:500]
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried later
        status, error = "failed", f"{type(exc).__name__}: {exc}"[:500]
    con.execute(
        f"UPDATE {table} SET notify_status = %s, notify_error = %s, "
        f"notified_at = CASE WHEN %s = 'sent' THEN now() END WHERE {key_col} = %s",
        (status, error, status, key))
    return status


def notify_pending(con: psycopg.Connection, notify: Notifier = send_webhook,
                   postgres_url: str | None = None) -> list[tuple[str, str]]:
    """Send each incident's notification at most once; returns (incident_id, status) pairs.

    Unsent incidents (a failed earlier try) are retried up to MAX_NOTIFY_ATTEMPTS, by the next
    failed run's tick or by ``plans_sensor`` (every 10 minutes); an in-doubt delivery is never
    resent. Without $AIOS_WEBHOOK_URL notifications are off for the incidents opened meanwhile
    (status 'off'; they stay in the table, nothing is sent later).
    """
    if not os.environ.get("AIOS_WEBHOOK_URL"):
        con.execute("UPDATE aios.incidents SET notify_status = 'off' "
                    "WHERE notify_status = 'pending'")
        return []
    rows = con.execute(
        """SELECT incident_id, job_name, run_id, step_key, error_class, error_message, cause,
                  runbook_step FROM aios.incidents
           WHERE notify_status IN ('pending', 'failed') AND notify_attempts < %s
           ORDER BY opened_at LIMIT 20""",
        (MAX_NOTIFY_ATTEMPTS,),
    ).fetchall()
    out = []
    for row in rows:
        entry = next((e for e in RUNBOOK if e.cause == row[6]), RUNBOOK[-1])
        incident = Incident(*row[:7], likely_cause=entry.likely_cause, runbook_step=row[7])
        status = deliver_once(con, "aios.incidents", "incident_id", incident.incident_id,
                              lambda i=incident: notify(i, postgres_url))
        if status is not None:
            out.append((incident.incident_id, status))
    return out


def record_failure(context: dg.RunFailureSensorContext, postgres: PostgresStore,
                   notify: Notifier = send_webhook) -> tuple[Incident, bool, list]:
    """Open the incident for this failed run (once) and send pending notifications."""
    incident = incident_from_context(context)
    url = postgres.resolved_url()
    ensure_schema(url)
    with postgres.connect(autocommit=True) as con:
        opened = open_incident(con, incident)
        sent = notify_pending(con, notify, url)
    return incident, opened, sent


def retry_notifications(postgres: PostgresStore,
                        notify: Notifier = send_webhook) -> list[tuple[str, str]]:
    """Send the incident notifications still pending or failed (a tick-based retry, so they
    do not wait for the next failed run)."""
    url = postgres.resolved_url()
    ensure_schema(url)
    with postgres.connect(autocommit=True) as con:
        return notify_pending(con, notify, url)
