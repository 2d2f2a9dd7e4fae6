"""Reads agents share: canonical contacts from the marts, evidence ids, policy traces.

Agents take people (ids, names, addresses) only from the dbt marts (``dim_contacts``,
``entity_membership``, ``fct_interactions``, ``fct_invoices``); never from inbound headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from aios_assets.shared.db import has_relation


class MartsMissing(RuntimeError):
    """A mart an agent needs has not been built yet (run the entities assets / dbt first)."""

    retryable = False


def require(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    missing = [n for n in names if not has_relation(con, n)]
    if missing:
        raise MartsMissing(f"missing table(s) {', '.join(missing)}: build the entity marts "
                           "(aios demo / aios ingest) first")


@dataclass(frozen=True)
class Contact:
    entity_id: str
    full_name: str | None
    first_name: str | None
    primary_email: str | None
    in_crm: bool
    is_customer: bool

    @property
    def greeting_name(self) -> str | None:
        if self.first_name:
            return self.first_name.strip().title() if self.first_name.isupper() \
                else self.first_name.strip()
        return self.full_name.split()[0] if self.full_name else None


def contact(con: duckdb.DuckDBPyConnection, entity_id: str | None) -> Contact | None:
    if not entity_id:
        return None
    row = con.execute(
        """SELECT entity_id, full_name, first_name, primary_email,
                  coalesce(in_crm, false), coalesce(is_customer, false)
           FROM dim_contacts WHERE entity_id = ?""", [entity_id]).fetchone()
    return Contact(*row) if row else None


def entity_events(con: duckdb.DuckDBPyConnection, entity_id: str, as_of: datetime,
                  limit: int = 3) -> list[str]:
    """Event ids of the entity's latest interactions up to ``as_of`` (newest first)."""
    rows = con.execute(
        """SELECT DISTINCT e.event_id, f.occurred_at FROM fct_interactions f
           JOIN events_current e ON e.source = f.source AND e.source_id = f.source_event_id
           WHERE f.entity_id = ? AND f.occurred_at <= ?
           ORDER BY f.occurred_at DESC, e.event_id LIMIT ?""",
        [entity_id, as_of, limit]).fetchall()
    return [r[0] for r in rows]


def recent_rejections(con: duckdb.DuckDBPyConnection, agent: str, entity_id: str | None,
                      as_of: datetime, days: int = 30) -> list[str]:
    """Reasons the operator gave for rejecting this agent's proposals to this entity lately."""
    if not entity_id or not has_relation(con, "policy_traces"):
        return []
    rows = con.execute(
        """SELECT coalesce(reason, 'no reason given') FROM policy_traces
           WHERE decision = 'rejected' AND agent = ? AND entity_id = ? AND occurred_at >= ?
           ORDER BY occurred_at DESC""",
        [agent, entity_id, as_of - timedelta(days=days)]).fetchall()
    return [r[0] for r in rows]


def clean_subject(subject: str | None) -> str | None:
    """A subject without Re:/Fwd: prefixes, as one visible line (a subject reused in a draft
    never carries hidden text, control characters or a smuggled header line)."""
    from aios_assets.agents.runtime import visible_text

    s = " ".join(visible_text(subject)[0].split())
    while True:
        low = s.lower()
        for prefix in ("re:", "fw:", "fwd:", "aw:"):
            if low.startswith(prefix):
                s = s[len(prefix):].strip()
                break
        else:
            return s or None
