"""Tying facts to entities: which entity a contact record or a sentence speaks about (the
author, a counterpart, their organization), as fact candidates for
:mod:`aios_assets.memory.facts`."""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

import duckdb
import pyarrow as pa

from aios_assets.entities.resolution.nicknames import nickname_map
from aios_assets.memory.base import (
    Operator,
    text_source,
)
from aios_assets.memory.fact_extraction import (
    PREFILTER,
    company_key,
    extract_from_signature,
    extract_from_text,
    normalize_value,
)
from aios_assets.shared.db import has_relation
from aios_assets.shared.text import (
    email_of,
    name_of,
    stable_id,
)

CONTACT_ATTRIBUTES = ("full_name", "email", "phone", "title", "company", "city", "country")
ORG_ATTRIBUTES = frozenset({"retainer", "budget", "data_warehouse", "email_domain", "priority",
                            "board_meeting"})
TEXT_KINDS_EXCLUDED = ("contact", "invoice", "payment", "content_metrics", "post", "meeting")

_NICKNAMES = nickname_map()


@dataclass
class Resolver:
    """Looks up canonical entities from the marts (empty maps when there are none)."""

    by_email: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    org_of: dict[str, str] = field(default_factory=dict)
    org_keys: dict[str, str] = field(default_factory=dict)  # company key -> organization_id
    by_first_org: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    previous: dict[str, str] = field(default_factory=dict)  # old entity id -> current one
    info: dict[str, tuple[str, int]] = field(default_factory=dict)  # entity -> (name, records)
    operator: Operator = field(default_factory=Operator)

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, operator: Operator) -> "Resolver":
        r = cls(operator=operator)
        if has_relation(con, "entity_membership"):
            r.by_email = dict(con.execute(
                "SELECT lower(email), arg_min(entity_id, entity_id) FROM entity_membership "
                "WHERE email IS NOT NULL GROUP BY 1").fetchall())
            r.previous = dict(con.execute(
                "SELECT previous_entity_id, mode(entity_id) FROM entity_membership "
                "WHERE previous_entity_id IS NOT NULL AND previous_entity_id <> entity_id "
                "GROUP BY 1").fetchall())
        if has_relation(con, "dim_contacts"):
            r.by_name = dict(con.execute(
                "SELECT lower(full_name), arg_max(entity_id, (record_count, entity_id)) "
                "FROM dim_contacts WHERE full_name IS NOT NULL GROUP BY 1").fetchall())
            r.org_of = dict(con.execute(
                "SELECT entity_id, organization_id FROM dim_contacts "
                "WHERE organization_id IS NOT NULL").fetchall())
            for entity_id, first, full, org, records in con.execute(
                    "SELECT entity_id, first_name, full_name, organization_id, record_count "
                    "FROM dim_contacts").fetchall():
                r.info[entity_id] = (full or "", int(records or 0))
                for given in {(first or "").lower(), (full or "").split(" ")[0].lower()}:
                    if given:
                        key = (_NICKNAMES.get(given, given), org or "")
                        r.by_first_org.setdefault(key, set()).add(entity_id)
        if has_relation(con, "dim_organizations"):
            for org_id, name, keys in con.execute(
                    "SELECT organization_id, name, company_keys FROM dim_organizations"
            ).fetchall():
                for key in [company_key(name or ""), *(keys or [])]:
                    if key and len(key) >= 3:
                        r.org_keys.setdefault(key, org_id)
        return r

    def author(self, actor: str | None, payload: dict[str, Any] | None,
               people: Sequence[tuple[str, str | None]]) -> tuple[str | None, str | None]:
        """(entity_id, subject_key) of whoever wrote an event."""
        if self.operator.is_actor(actor) and self.operator.entity_id:
            return self.operator.entity_id, "operator"
        addr = email_of(actor) or email_of((payload or {}).get("speaker_email")) or email_of(
            (payload or {}).get("from"))
        if addr and addr in self.by_email:
            return self.by_email[addr], f"email:{addr}"
        for role, entity_id in people:
            if role in ("from", "speaker", "organizer", "actor", "contact") and entity_id:
                return entity_id, f"{role}:{entity_id}"
        name = (name_of(actor) or "").lower()
        if name and name in self.by_name:
            return self.by_name[name], f"name:{name}"
        return None, None

    def mention(self, first: str, text: str) -> tuple[str | None, str | None]:
        """Someone named by first name in a note, pinned down by an organization named there."""
        folded = f" {company_key(text)} "
        orgs = {org for key, org in self.org_keys.items() if f" {key} " in folded}
        found: set[str] = set()
        given = first.lower()
        for org in orgs:
            found |= self.by_first_org.get((_NICKNAMES.get(given, given), org), set())
        if len(found) > 1:  # the same person split in two by resolution (a typo, a nickname)?
            names = {company_key(self.info.get(e, ("", 0))[0]) for e in found}
            ranked = sorted(found, key=lambda e: (-self.info.get(e, ("", 0))[1], e))
            top, runner_up = ranked[0], ranked[1]
            alike = all(SequenceMatcher(None, a, b).ratio() >= 0.85 for a in names
                        for b in names)
            if alike and self.info.get(top, ("", 0))[1] > self.info.get(runner_up, ("", 0))[1]:
                found = {top}
        if len(found) == 1:
            entity_id = next(iter(found))
            return entity_id, f"mention:{first.lower()}@{self.org_of.get(entity_id, '')}"
        return None, None


@dataclass
class Candidate:
    entity_id: str
    entity_kind: str
    attribute: str
    value: str
    valid_from: datetime
    source_event_id: str
    source: str
    source_id: str
    extracted_by: str
    confidence: float
    subject_key: str | None
    evidence: str | None

    @property
    def fact_id(self) -> str:
        return "fact_" + stable_id(self.attribute, self.source_event_id, self.subject_key,
                                   normalize_value(self.attribute, self.value))


def _scoped(resolver: Resolver, entity_id: str, attribute: str) -> tuple[str, str]:
    if attribute in ORG_ATTRIBUTES and entity_id in resolver.org_of:
        return resolver.org_of[entity_id], "organization"
    return entity_id, "organization" if entity_id.startswith("org_") else "person"


def contact_candidates(con: duckdb.DuckDBPyConnection, watermark: str | None
                       ) -> list[Candidate]:
    """Facts stated by contact records (one per non-empty field)."""
    if not has_relation(con, "entity_membership"):
        return []
    where = "AND e.ingested_at > ?::TIMESTAMPTZ" if watermark else ""
    fields = ", ".join(f"nullif(trim(e.payload ->> '{a}'), '') AS {a}"
                       for a in CONTACT_ATTRIBUTES if a != "full_name")
    rows = con.execute(
        f"""SELECT e.event_id, e.source, e.source_id, e.occurred_at, m.entity_id,
                   coalesce(m.score, 1.0) AS score,
                   coalesce(nullif(trim(e.payload ->> 'full_name'), ''),
                            nullif(trim(concat_ws(' ', nullif(trim(e.payload ->> 'first_name'),
                                    ''), nullif(trim(e.payload ->> 'last_name'), ''))), ''))
                       AS full_name,
                   {fields}
        FROM events_current e
        JOIN entity_membership m ON m.source = e.source AND m.source_id = e.source_id
        WHERE e.kind = 'contact' {where}""",
        [watermark] if watermark else [],
    ).fetchall()
    names = [d[0] for d in con.description]
    out = []
    for row in rows:
        r = dict(zip(names, row, strict=True))
        for attribute in CONTACT_ATTRIBUTES:
            value = r.get(attribute)
            if not value:
                continue
            out.append(Candidate(
                r["entity_id"], "person", attribute, str(value).strip(), r["occurred_at"],
                r["event_id"], r["source"], r["source_id"], "contact_record",
                round(0.9 * float(r["score"]), 3), f"record:{r['source']}:{r['source_id']}",
                None))
    return out


def text_candidates(con: duckdb.DuckDBPyConnection, resolver: Resolver,
                    watermark: str | None) -> list[Candidate]:
    """Facts the rules and signatures find in messages and notes, tied to entities."""
    where = "AND ingested_at > ?::TIMESTAMPTZ" if watermark else ""
    excluded = ", ".join(f"'{k}'" for k in TEXT_KINDS_EXCLUDED)
    params: list[Any] = [PREFILTER] + ([watermark] if watermark else [])
    rows = con.execute(
        f"""SELECT event_id, source, source_id, kind, occurred_at, actor, thread, text, payload
        FROM {text_source(con)}
        WHERE kind NOT IN ({excluded}) AND text IS NOT NULL AND text <> ''
          AND (regexp_matches(text, ?) OR (kind = 'email' AND contains(text, chr(10) || '--')))
          {where}""",
        params,
    ).fetchall()
    if not rows:
        return []
    con.register("_ef_ids", pa.table({"event_id": pa.array([r[0] for r in rows], pa.string())}))
    people: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for event_id, role, entity_id in con.execute(
            "SELECT p.event_id, p.role, p.entity_id FROM _event_people p "
            "JOIN _ef_ids USING (event_id)").fetchall():
        people[event_id].append((role, entity_id))
    con.unregister("_ef_ids")
    counterparts = _counterparts(con, resolver, [r for r in rows if r[6] is not None])
    out: list[Candidate] = []
    for event_id, source, source_id, kind, occurred_at, actor, _thread, text, payload in rows:
        pl = _payload(payload)
        author, author_key = resolver.author(actor, pl, people[event_id])
        is_op = resolver.operator.is_actor(actor, author)
        found = extract_from_text(text, occurred_at, by_operator=is_op)
        if kind == "email" and not is_op:
            found += [replace(f, rule="signature") for f in extract_from_signature(text)]
        for f in found:
            entity_id, key = None, None
            if f.subject == "author":
                entity_id, key = author, author_key
            elif f.subject == "operator":
                entity_id, key = resolver.operator.entity_id, "operator"
            elif f.subject == "recipient":
                to = [e for role, e in people[event_id] if role in ("to", "attendee") and e
                      and e not in resolver.operator.entity_ids]
                if len(set(to)) == 1:
                    entity_id, key = to[0], f"recipient:{to[0]}"
            elif f.subject == "counterparty":
                if kind in ("chat_message", "transcript_turn"):
                    entity_id = counterparts.get(event_id)
                else:
                    to = [e for role, e in people[event_id] if role == "to" and e
                          and e not in resolver.operator.entity_ids]
                    entity_id = to[0] if len(set(to)) == 1 else None
                key = f"counterparty:{entity_id}" if entity_id else None
            elif f.subject.startswith("mention:"):
                entity_id, key = resolver.mention(f.subject.split(":", 1)[1], text)
            if not entity_id:
                continue
            scoped, kind_of = _scoped(resolver, entity_id, f.attribute)
            if scoped != entity_id:
                key = f"org-of:{key}"
            out.append(Candidate(scoped, kind_of, f.attribute, f.value, occurred_at, event_id,
                                 source, source_id, f.rule, f.confidence, key, f.evidence[:500]))
    return out


def _payload(payload: Any) -> dict[str, Any] | None:
    if payload is None or isinstance(payload, dict):
        return payload
    try:
        parsed = json.loads(payload)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _counterparts(con: duckdb.DuckDBPyConnection, resolver: Resolver,
                  rows: Sequence[tuple[Any, ...]]) -> dict[str, str]:
    """For the operator's chat / transcript turns: the last other speaker in the thread."""
    wanted = {r[0]: r[6] for r in rows if r[3] in ("chat_message", "transcript_turn")}
    if not wanted:
        return {}
    con.register("_ef_threads", pa.table({"thread": pa.array(sorted(set(wanted.values())),
                                                             pa.string())}))
    turns = con.execute(
        """SELECT e.event_id, e.thread, e.occurred_at, e.source_id, e.actor, e.payload,
                  p.entity_id
        FROM events_current e JOIN _ef_threads t USING (thread)
        LEFT JOIN _event_people p ON p.event_id = e.event_id AND p.role IN ('speaker', 'actor')
        WHERE e.kind IN ('chat_message', 'transcript_turn')
        ORDER BY e.thread, e.occurred_at, e.source_id"""
    ).fetchall()
    con.unregister("_ef_threads")
    out: dict[str, str] = {}
    last_other: dict[str, str] = {}
    for event_id, thread, _, _, actor, payload, entity_id in turns:
        if event_id in wanted and thread in last_other:
            out[event_id] = last_other[thread]
        if not resolver.operator.is_actor(actor, entity_id):
            who, _ = resolver.author(actor, _payload(payload),
                                     [("speaker", entity_id)] if entity_id else [])
            if who:
                last_other[thread] = who
    return out
