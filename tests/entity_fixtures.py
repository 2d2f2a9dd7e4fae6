"""Helpers for the entity tests: a hand-made event_log in a real DuckDB file, and dbt runs.

The event_log table and the events_current view are created here with the columns of
docs/schema.md, so these tests do not depend on the ingest loader.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from aios_assets.entities.assets import dbt_global_flags, dbt_step_env
from aios_assets.entities.dbt_cli import CWD_ENV
from aios_assets.entities.dbt_manifest import DBT_PROJECT_DIR, DBT_TARGET_DIR, home_dbt_executable
from aios_assets.ingest.loader import ensure_tables


def create_event_log(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        ensure_tables(con)
    finally:
        con.close()


def _record_key(e: dict[str, Any]) -> str:
    # Mirrors the loader's RECORD_KEY_SQL: chat and transcript turns are scoped by thread.
    if e["kind"] in ("chat_message", "transcript_turn") and e.get("thread"):
        return f"{e['thread']}\x1f{e['source_id']}"
    return e["source_id"]


def add_events(path: Path, events: list[dict[str, Any]], *, batch: str = "b1") -> None:
    """Append events (dicts with source, source_id, kind, payload, …); versions are assigned."""
    create_event_log(path)
    con = duckdb.connect(str(path))
    try:
        for e in events:
            payload = e.get("payload")
            body = json.dumps([e["kind"], e.get("text", ""), payload], sort_keys=True)
            content_hash = hashlib.sha256(body.encode()).hexdigest()
            record_key = _record_key(e)
            version = con.execute(
                "select coalesce(max(version), 0) + 1 from event_log "
                "where source = ? and record_key = ?",
                [e["source"], record_key],
            ).fetchone()[0]
            event_id = hashlib.sha256(
                f"{e['source']}\x1f{e['source_id']}\x1f{content_hash}".encode()
            ).hexdigest()[:32]
            now = e.get("ingested_at") or datetime.now(UTC)
            con.execute(
                "insert into event_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "{'emails': [], 'names': [], 'domains': [], 'phones': []}, ?, ?, ?, ?, ?)",
                [
                    event_id, e["source"], e["source_id"], version, e["kind"],
                    e.get("occurred_at") or now, now, e.get("actor"), e.get("thread"),
                    e.get("subject"), e.get("text", ""),
                    json.dumps(payload) if payload is not None else None,
                    content_hash, e.get("file"), e.get("line"), batch, record_key,
                ],
            )
    finally:
        con.close()


def contact(source_id: str, *, source: str = "crm", **fields: Any) -> dict[str, Any]:
    """A `contact` event with the canonical CSV headers in its payload."""
    payload = {"source_id": source_id, **fields}
    name = fields.get("full_name") or " ".join(
        str(fields[k]) for k in ("first_name", "last_name") if fields.get(k)
    )
    return {
        "source": source,
        "source_id": source_id,
        "kind": "contact",
        "actor": name or None,
        "text": f"{name} {fields.get('email') or ''}".strip(),
        "payload": payload,
    }


def email_event(message_id: str, sender: str, to: list[str], *, subject: str = "hi",
                cc: list[str] | None = None, when: str = "2026-03-01T10:00:00+00:00") -> dict:
    return {
        "source": "email",
        "source_id": message_id,
        "kind": "email",
        "occurred_at": datetime.fromisoformat(when),
        "actor": sender,
        "thread": message_id,
        "subject": subject,
        "text": "body",
        "payload": {"from": sender, "to": to, "cc": cc or [], "message_id": message_id,
                    "in_reply_to": None, "references": []},
    }


def dbt(*args: str, warehouse: Path, home: Path | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run the real dbt CLI of the venv against ``warehouse``.

    A home's ``warehouse.duckdb`` is built as the dbt asset builds it: through ``aios-dbt`` in
    the home, with the warehouse named relative to it (:func:`dbt_step_env`), so dbt reuses the
    parse ``make venv`` left in the project instead of parsing all 82 nodes again (about 2
    CPU-s of each test's first build), and with the asset's flags (no debug log or JSON
    artifacts). Any other file: plain dbt with its whole path."""
    home = home or warehouse.parent
    target = warehouse.parent / "dbt_target"
    executable = home_dbt_executable()
    step = dbt_step_env(warehouse, executable) if executable and home == warehouse.parent else {}
    if step.get(CWD_ENV):
        target.mkdir(parents=True, exist_ok=True)
        parse = DBT_TARGET_DIR / "partial_parse.msgpack"
        if parse.exists() and not (target / parse.name).exists():
            shutil.copyfile(parse, target / parse.name)  # as dagster-dbt seeds a new target
    else:
        executable = str(Path(sys.executable).with_name("dbt"))
        step = {"AIOS_WAREHOUSE": str(warehouse), CWD_ENV: None}
    env = {
        **{k: v for k, v in os.environ.items() if k != CWD_ENV},
        **{k: v for k, v in step.items() if v is not None},
        "AIOS_HOME": str(home),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_LOG_PATH": str(warehouse.parent / "dbt_logs"),
    }
    cmd = [
        executable, *dbt_global_flags(), *args,
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False,
                          cwd=str(DBT_PROJECT_DIR))
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def small_business() -> list[dict]:
    """A tiny hand-made event log: CRM and newsletter contacts, mail, a meeting, an invoice
    and its payment, a post and its metrics, a note and a chat turn."""
    return [
        contact("C1", first_name="Ada", last_name="Lovelace", email="ada@analytical.example",
                company="Analytical Engines Ltd", city="London"),
        contact("C2", first_name="Ada", last_name="Lovelace", email="ADA@Analytical.example",
                phone="+44 7700 900123"),
        contact("C3", first_name="John", last_name="Smith", email="john.smith@acme.example",
                dob="1970-01-01", city="Leeds", company="Acme"),
        contact("C4", first_name="John", last_name="Smith", email="jsmith@other.example",
                dob="1985-06-30", city="Bristol"),
        contact("S1", source="newsletter", full_name="Ada Lovelace",
                email="ada@analytical.example"),
        email_event("m1@x", "Ada Lovelace <ada@analytical.example>",
                    ["Maya Okafor <maya@okaforstrategy.example>"], cc=["bob@acme.example"]),
        email_event("m2@x", "Maya Okafor <maya@okaforstrategy.example>",
                    ["John Smith <john.smith@acme.example>"], subject="proposal"),
        {"source": "calendar", "source_id": "ev1", "kind": "meeting", "actor":
         "Maya Okafor <maya@okaforstrategy.example>", "subject": "Kickoff", "text": "",
         "payload": {"organizer": "Maya Okafor <maya@okaforstrategy.example>",
                     "attendees": [{"name": "John Smith", "email": "john.smith@acme.example"}],
                     "start": "2026-03-02T10:00:00+00:00", "end": "2026-03-02T11:00:00+00:00",
                     "location": "Zoom"}},
        {"source": "billing", "source_id": "INV-1", "kind": "invoice", "actor": "John Smith",
         "text": "invoice", "payload": {"invoice_id": "INV-1",
                                         "customer_email": "john.smith@acme.example",
                                         "customer_name": "John Smith", "company": "Acme",
                                         "issued_at": "2026-03-01", "due_at": "2026-03-31",
                                         "amount": "1200.00", "currency": "EUR",
                                         "status": "sent", "description": "Data strategy audit"}},
        {"source": "billing", "source_id": "INV-2", "kind": "invoice", "actor": "John Smith",
         "text": "invoice", "payload": {"invoice_id": "INV-2",
                                         "customer_email": "john.smith@acme.example",
                                         "customer_name": "John Smith", "company": "Acme",
                                         "issued_at": "2026-04-01", "due_at": "2026-04-30",
                                         "amount": "800.00", "currency": "EUR",
                                         "status": "sent",
                                         "description": "Data strategy audit - April 2026"}},
        {"source": "billing", "source_id": "PAY-1", "kind": "payment", "actor": "John Smith",
         "text": "payment", "payload": {"payment_id": "PAY-1", "invoice_id": "INV-1",
                                         "paid_at": "2026-03-20", "amount": "1200.00",
                                         "currency": "EUR", "method": "transfer"}},
        {"source": "newsletter", "source_id": "P1", "kind": "post", "subject": "Issue 1",
         "text": "hello readers", "payload": {}},
        {"source": "analytics", "source_id": "P1", "kind": "content_metrics",
         "subject": "Issue 1", "text": "metrics",
         "payload": {"post_id": "P1", "title": "Issue 1", "sent_at": "2026-03-03",
                     "recipients": "100", "opens": "55", "clicks": "12", "unsubscribes": "1",
                     "paid_signups": "2"}},
        {"source": "notes", "source_id": "n1", "kind": "note", "subject": "Acme audit",
         "text": "notes", "payload": {"project": "Acme audit", "tags": ["acme"]}},
        {"source": "chat", "source_id": "c1", "kind": "chat_message", "thread": "t1",
         "actor": "John Smith <john.smith@acme.example>", "text": "see you"},
        # a speaker known only by name: joins Ada's entity by the unique-name rule
        {"source": "chat", "source_id": "c2", "kind": "chat_message", "thread": "t1",
         "actor": "Ada Lovelace", "text": "thanks both"},
    ]


# Unrelated people for resolver fixtures, so that no fixture is two records alone.
OTHERS = [
    {"source": "crm", "source_id": "o1", "first_name": "Grace", "last_name": "Hopper",
     "dob": "1906-12-09", "city": "New York", "postcode": "10001"},
    {"source": "crm", "source_id": "o2", "first_name": "Alan", "last_name": "Turing",
     "dob": "1912-06-23", "city": "Wilmslow", "postcode": "SK9"},
]
