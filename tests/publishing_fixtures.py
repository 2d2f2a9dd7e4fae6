"""Tiny fixtures for the publishing tests: proposals, contacts and a real DuckDB warehouse."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from aios_assets.agents.proposals import Proposal, make_proposal, merge_proposals
from resources.warehouse import DuckDBWarehouse
from tests.dbt_marts import create_mart

NOW = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)

CONTACTS = [
    # entity_id, emails
    ("ent_ada", ["ada@acme.io", "ada.l@gmail.com"]),
    ("ent_bob", ["bob@globex.com"]),
    ("ent_cy", ["cy@initech.com"]),
]


def proposal(basis: str, *, agent: str = "followup", action_type: str = "send_email",
             target: str | None = "ent_ada", payload: dict[str, Any] | None = None,
             untrusted: bool = False, mode: str = "live", cost: float = 0.0,
             now: datetime = NOW, ttl: timedelta = timedelta(days=3),
             intent: str | None = None) -> dict[str, Any]:
    """A proposal made by the AGENTS contract code, as the dict the gates read."""
    if payload is None:
        payload = {"to": "ada@acme.io", "subject": "Checking in",
                   "body": "Hi Ada, shall we talk next week about the retainer?"}
    p = make_proposal(agent=agent, manifest_version="1.0.0", action_type=action_type,
                      target_entity_id=target, basis=basis, payload=payload,
                      rationale="test", evidence_event_ids=["e1"], confidence=0.8,
                      estimated_cost_usd=cost, mode=mode, untrusted_input=untrusted, now=now,
                      ttl=ttl, intent_id=intent)
    return asdict(p)


def build_warehouse(proposals: list[dict[str, Any]], *, contacts=CONTACTS,
                    preferences: list[dict[str, Any]] | None = None) -> DuckDBWarehouse:
    """action_proposals + dim_contacts + entity_membership in $AIOS_HOME's warehouse."""
    from aios_assets.ingest.loader import ensure_tables

    wh = DuckDBWarehouse()
    with wh.connect() as con:
        ensure_tables(con)
        create_mart(con, "dim_contacts", replace=False)
        create_mart(con, "entity_membership", replace=False)
        for entity, emails in contacts:
            con.execute("INSERT INTO dim_contacts (entity_id, emails, primary_email) "
                        "VALUES (?, ?, ?)", [entity, emails, emails[0]])
            for e in emails:
                con.execute("INSERT INTO entity_membership (entity_id, email) VALUES (?, ?)",
                            [entity, e])
        merge_proposals(con, [Proposal(**{**p, "evidence_event_ids": tuple(
            p["evidence_event_ids"])}) for p in proposals])
        for i, pref in enumerate(preferences or []):
            con.execute(
                "INSERT INTO event_log (event_id, source, source_id, version, kind, occurred_at, "
                "ingested_at, text, payload, content_hash, batch_id, record_key) VALUES "
                "(?, 'operator', ?, 1, 'preference', now(), now(), '', ?, 'h', 'b', ?)",
                [f"pref{i}", f"pref{i}", json.dumps(pref), f"pref{i}"])
    return wh
