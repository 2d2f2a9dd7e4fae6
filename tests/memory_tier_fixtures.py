"""Helpers for the memory-tier tests: tiny event logs and chosen mart rows in a real DuckDB file.

``build_marts`` creates ``entity_membership``, ``dim_contacts``, ``dim_organizations``,
``fct_interactions`` and ``fct_invoices`` with the dbt models' own columns and types
(``tests.dbt_marts``) and fills the columns the memory tiers read, derived from the events
already in the log and a list of people (known entity ids, which no resolver run would give;
one test per feature file that needs the real chain runs dbt instead).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from tests.dbt_marts import create_mart

MAYA = {"entity_id": "ent_maya", "full_name": "Maya Okafor", "first_name": "Maya",
        "email": "maya@okafor.example", "organization_id": "org_okafor"}
ADA = {"entity_id": "ent_ada", "full_name": "Ada Lovelace", "first_name": "Ada",
       "email": "ada@analytical.example", "organization_id": "org_analytical"}
BOB = {"entity_id": "ent_bob", "full_name": "Bob Stone", "first_name": "Bob",
       "email": "bob@analytical.example", "organization_id": "org_analytical"}
ORGS = [("org_okafor", "Okafor Strategy", ["okafor strategy"]),
        ("org_analytical", "Analytical Engines Ltd", ["analytical engines"])]


def ts(day: int, hour: int = 10, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def mail(sid: str, sender: dict, to: list[dict], when: datetime, text: str, *,
         subject: str = "Plan", thread: str = "t-plan") -> dict[str, Any]:
    return {"source": "email", "source_id": sid, "kind": "email", "occurred_at": when,
            "actor": f"{sender['full_name']} <{sender['email']}>", "thread": thread,
            "subject": subject, "text": text,
            "payload": {"from": f"{sender['full_name']} <{sender['email']}>",
                        "to": [f"{p['full_name']} <{p['email']}>" for p in to], "cc": [],
                        "message_id": sid}}


def chat(sid: str, speaker: dict, when: datetime, text: str, *, thread: str = "chat-ada",
         kind: str = "chat_message", subject: str | None = None) -> dict[str, Any]:
    return {"source": "chat", "source_id": sid, "kind": kind, "occurred_at": when,
            "actor": speaker["full_name"], "thread": thread, "subject": subject, "text": text,
            "payload": {"speaker_email": speaker["email"]}}


def build_marts(path: Path, people: list[dict], orgs: list[tuple] | None = None,
                extra_membership: list[tuple] | None = None) -> None:
    """(Re)create the marts the memory tiers read, from the log and ``people``."""
    con = duckdb.connect(str(path))
    try:
        con.execute("DROP TABLE IF EXISTS _people")
        for mart in ("entity_membership", "dim_contacts", "dim_organizations",
                     "fct_interactions", "fct_invoices"):
            create_mart(con, mart)
        con.execute("CREATE TABLE _people (entity_id VARCHAR, full_name VARCHAR, "
                    "first_name VARCHAR, email VARCHAR, organization_id VARCHAR)")
        con.executemany("INSERT INTO _people VALUES (?, ?, ?, ?, ?)",
                        [[p["entity_id"], p["full_name"], p["first_name"], p["email"],
                          p.get("organization_id")] for p in people])
        email_of = ("lower(coalesce(nullif(regexp_extract({0}, '<([^<>]+)>', 1), ''), "
                    "CASE WHEN {0} LIKE '%@%' THEN trim({0}) END))")
        con.execute(
            """INSERT INTO entity_membership BY NAME
            SELECT 'email' AS source, email AS source_id, entity_id, 'email' AS matched_by,
                   1.0 AS score, email, full_name AS record_name,
                   NULL::VARCHAR AS previous_entity_id, 'email_participant' AS record_kind
            FROM _people
            UNION ALL
            SELECT e.source, e.source_id, p.entity_id, 'email', 1.0, p.email, p.full_name,
                   NULL, 'contact'
            FROM events_current e JOIN _people p
              ON p.email = lower(e.payload ->> 'email') WHERE e.kind = 'contact'
            UNION ALL
            SELECT e.source, e.source_id, p.entity_id, 'email', 1.0, p.email, p.full_name,
                   NULL, 'invoice_customer'
            FROM events_current e JOIN _people p
              ON p.email = lower(e.payload ->> 'customer_email') WHERE e.kind = 'invoice'""")
        for row in extra_membership or []:
            con.execute("INSERT INTO entity_membership (source, source_id, entity_id, matched_by, "
                        "score, email, record_name, previous_entity_id, record_kind) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
        con.execute(
            """INSERT INTO dim_contacts BY NAME
            SELECT p.entity_id, p.full_name, p.first_name, p.email AS primary_email,
                   p.organization_id,
                   (SELECT count(*) FROM entity_membership m WHERE m.entity_id = p.entity_id)
                       AS record_count
            FROM _people p""")
        for org in orgs if orgs is not None else ORGS:
            con.execute("INSERT INTO dim_organizations (organization_id, name, company_keys) "
                        "VALUES (?, ?, ?)", list(org))
        con.execute(
            f"""INSERT INTO fct_interactions BY NAME
            WITH mails AS (
                SELECT source, source_id, 'from' AS role, actor AS raw FROM events_current
                WHERE kind = 'email'
                UNION ALL
                SELECT source, source_id, 'to', unnest(from_json(payload -> 'to', '["VARCHAR"]'))
                FROM events_current WHERE kind = 'email'
                UNION ALL
                SELECT source, source_id, 'speaker',
                       coalesce(payload ->> 'speaker_email', actor)
                FROM events_current WHERE kind IN ('chat_message', 'transcript_turn')
                UNION ALL
                SELECT source, source_id, 'organizer', actor FROM events_current
                WHERE kind = 'meeting'
                UNION ALL
                SELECT source, source_id, 'attendee', a.email
                FROM (SELECT source, source_id, unnest(from_json(payload -> 'attendees',
                        '[{{"name": "VARCHAR", "email": "VARCHAR"}}]')) AS a
                      FROM events_current WHERE kind = 'meeting')
            )
            SELECT m.source, m.source_id AS source_event_id, 'x' AS interaction_type, m.role,
                   p.entity_id, {email_of.format('m.raw')} AS email,
                   NULL::VARCHAR AS display_name
            FROM mails m LEFT JOIN _people p ON p.email = {email_of.format('m.raw')}""")
        con.execute(
            """INSERT INTO fct_invoices BY NAME
            SELECT e.source_id AS invoice_id, e.source, p.entity_id AS customer_entity_id,
                   e.payload ->> 'customer_email' AS customer_email,
                   e.payload ->> 'customer_name' AS customer_name
            FROM events_current e LEFT JOIN _people p
              ON p.email = lower(e.payload ->> 'customer_email')
            WHERE e.kind = 'invoice'""")
        con.execute("DROP TABLE _people")
    finally:
        con.close()


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path))
