"""What every memory tier (episodes, working memory, entity facts, policy traces) shares.

The asset keys they read, a tiny key/value state table for watermarks, who took part in each
event (canonical entity ids from the dbt marts, raw actor strings when nothing resolved) and who
the operator is. Text rules (mail bodies, addresses) live in :mod:`aios_assets.shared.text`.
"""

import os
from dataclasses import dataclass, field

import dagster as dg
import duckdb

from aios_assets.shared.db import has_relation
from aios_assets.shared.sql_rules import sql_email_of, sql_name_of
from aios_assets.shared.text import email_of, name_of

EVENT_LOG = dg.AssetKey("event_log")
ENTITY_MEMBERSHIP = dg.AssetKey("entity_membership")
DIM_CONTACTS = dg.AssetKey("dim_contacts")
DIM_ORGANIZATIONS = dg.AssetKey("dim_organizations")
FCT_INTERACTIONS = dg.AssetKey("fct_interactions")
FCT_INVOICES = dg.AssetKey("fct_invoices")

GROUP = "memory"

STATE_DDL = """
CREATE TABLE IF NOT EXISTS memory_state (
    asset VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    value VARCHAR,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (asset, key)
);
"""


def text_source(con: duckdb.DuckDBPyConnection) -> str:
    """Where to read event bodies: ``events_current_full`` (archived text read back from the
    cold tier) when curation created it, else ``events_current``."""
    return "events_current_full" if has_relation(con, "events_current_full") else "events_current"


def get_state(con: duckdb.DuckDBPyConnection, asset: str, key: str) -> str | None:
    """A value of ``memory_state`` (works on read-only connections; None when unset)."""
    if not has_relation(con, "memory_state"):
        return None
    row = con.execute(
        "SELECT value FROM memory_state WHERE asset = ? AND key = ?", [asset, key]
    ).fetchone()
    return row[0] if row else None


def set_state(con: duckdb.DuckDBPyConnection, asset: str, key: str, value: str | None) -> None:
    con.execute(STATE_DDL)
    con.execute(
        "INSERT OR REPLACE INTO memory_state (asset, key, value, updated_at) "
        "VALUES (?, ?, ?, now())",
        [asset, key, value],
    )


# --- who took part in each event ----------------------------------------------------------


def build_event_people(con: duckdb.DuckDBPyConnection) -> str:
    """Create the temp table ``_event_people(event_id, role, entity_id, person)``.

    One row per (event, person): canonical ``entity_id`` from the marts where the person
    resolved (``fct_interactions`` for mail / meetings / chat, ``fct_invoices`` for invoices and
    their payments, ``entity_membership`` for contact rows); ``person`` is the entity id, else
    the raw address / name. Events that resolve to nobody get their raw ``actor``. Works
    without the marts (everything falls back to actors). Returns the table name.
    """
    parts: list[str] = []
    if has_relation(con, "fct_interactions"):
        parts.append(
            """SELECT e.event_id, i.role, i.entity_id,
                      coalesce(i.entity_id, i.email, i.display_name) AS person
               FROM fct_interactions i
               JOIN events_current e ON e.source = i.source AND e.source_id = i.source_event_id"""
        )
    if has_relation(con, "fct_invoices"):
        parts.append(
            """SELECT e.event_id, 'customer' AS role, f.customer_entity_id AS entity_id,
                      coalesce(f.customer_entity_id, f.customer_email, f.customer_name) AS person
               FROM events_current e
               JOIN fct_invoices f ON e.source = f.source AND e.source_id = f.invoice_id
               WHERE e.kind = 'invoice'
               UNION ALL
               SELECT e.event_id, 'customer', f.customer_entity_id,
                      coalesce(f.customer_entity_id, f.customer_email, f.customer_name)
               FROM events_current e
               JOIN fct_invoices f
                 ON e.source = f.source AND (e.payload ->> 'invoice_id') = f.invoice_id
               WHERE e.kind = 'payment'"""
        )
    if has_relation(con, "entity_membership"):
        parts.append(
            """SELECT e.event_id, 'contact' AS role, m.entity_id, m.entity_id AS person
               FROM events_current e
               JOIN entity_membership m ON m.source = e.source AND m.source_id = e.source_id
               WHERE e.kind = 'contact'"""
        )
    resolved = " UNION ALL ".join(parts) if parts else (
        "SELECT NULL::VARCHAR AS event_id, NULL::VARCHAR AS role, NULL::VARCHAR AS entity_id, "
        "NULL::VARCHAR AS person WHERE false"
    )
    lookups = ""
    email_join = name_join = ""
    resolved_ids = "NULL::VARCHAR"
    if has_relation(con, "entity_membership"):
        lookups += """,
        by_email AS (
            SELECT lower(email) AS email, arg_min(entity_id, entity_id) AS entity_id
            FROM entity_membership WHERE email IS NOT NULL GROUP BY 1
        )"""
        email_join = f"LEFT JOIN by_email ON by_email.email = {sql_email_of('e.actor')}"
        resolved_ids = "by_email.entity_id"
    if has_relation(con, "dim_contacts"):
        lookups += """,
        by_name AS (
            SELECT lower(full_name) AS name, arg_max(entity_id, (record_count, entity_id))
                AS entity_id
            FROM dim_contacts WHERE full_name IS NOT NULL GROUP BY 1
        )"""
        name_join = f"LEFT JOIN by_name ON by_name.name = lower({sql_name_of('e.actor')})"
        resolved_ids = f"coalesce({resolved_ids}, by_name.entity_id)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _event_people AS
        WITH resolved AS ({resolved}){lookups},
        fallback AS (
            SELECT e.event_id, 'actor' AS role, {resolved_ids} AS entity_id,
                   coalesce({resolved_ids}, trim(e.actor)) AS person
            FROM events_current e
            {email_join}
            {name_join}
            WHERE e.actor IS NOT NULL AND trim(e.actor) <> ''
              AND e.event_id NOT IN (SELECT event_id FROM resolved WHERE person IS NOT NULL)
        )
        SELECT DISTINCT event_id, role, entity_id, person FROM resolved WHERE person IS NOT NULL
        UNION ALL
        SELECT event_id, role, entity_id, person FROM fallback"""
    )
    return "_event_people"


# --- the operator -------------------------------------------------------------------------


@dataclass
class Operator:
    """The person AIOS works for: their address, display names and canonical entity ids."""

    email: str | None = None
    names: set[str] = field(default_factory=set)  # lower case display names
    entity_ids: set[str] = field(default_factory=set)
    entity_id: str | None = None  # the main one (the entity holding the address)

    def is_actor(self, actor: str | None, entity_id: str | None = None) -> bool:
        if entity_id and entity_id in self.entity_ids:
            return True
        if not actor:
            return False
        addr = email_of(actor)
        if addr and self.email and addr == self.email:
            return True
        name = (name_of(actor) or "").lower()
        return bool(name) and name in self.names


def detect_operator(con: duckdb.DuckDBPyConnection, email: str | None = None) -> Operator:
    """Who the operator is: ``email`` (or ``$AIOS_OPERATOR_EMAIL``), else the address that
    takes part in the most mail, meetings and chats (the owner of the mailbox)."""
    email = (email or os.environ.get("AIOS_OPERATOR_EMAIL") or "").strip().lower() or None
    if email is None and has_relation(con, "fct_interactions"):
        row = con.execute(
            "SELECT email FROM fct_interactions WHERE email IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, email LIMIT 1"
        ).fetchone()
        email = row[0] if row else None
    if email is None:
        row = con.execute(
            "SELECT a FROM (SELECT unnest(entity_refs.emails) AS a FROM events_current "
            "WHERE kind IN ('email', 'meeting')) GROUP BY 1 ORDER BY count(*) DESC, a LIMIT 1"
        ).fetchone()
        email = row[0] if row else None
    op = Operator(email=email)
    if email is None:
        return op
    names = con.execute(
        "SELECT DISTINCT lower(trim(regexp_replace(actor, '\\s*<[^>]*>\\s*', '', 'g'))) "
        "FROM events_current WHERE lower(actor) LIKE ? AND actor LIKE '%<%'",
        [f"%<{email}>%"],
    ).fetchall()
    op.names = {n for (n,) in names if n}
    if has_relation(con, "entity_membership"):
        rows = con.execute(
            "SELECT entity_id, count(*) FROM entity_membership WHERE lower(email) = ? "
            "GROUP BY 1 ORDER BY 2 DESC, 1",
            [email],
        ).fetchall()
        if rows:
            op.entity_id = rows[0][0]
        op.entity_ids = {r[0] for r in rows}
        if op.names:
            named = con.execute(
                "SELECT DISTINCT entity_id FROM entity_membership WHERE email IS NULL "
                "AND list_contains(?, lower(record_name))",
                [sorted(op.names)],
            ).fetchall()
            op.entity_ids |= {r[0] for r in named}
    return op
