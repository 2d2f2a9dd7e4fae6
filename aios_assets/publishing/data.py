"""What the gates and publishing read: proposals, the contact directory, opt-outs, the outbox,
the agents' allowed capabilities. Thin I/O around the pure functions in :mod:`gates`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb

from aios_assets.publishing.disclosure import Parties
from aios_assets.publishing.gates import Directory, SentRecord, fingerprint, normalize_proposal
from aios_assets.publishing.policy import IntentRules, email_recipients
from aios_assets.shared.db import columns, dict_rows, has_relation, transaction
from aios_assets.shared.home import AiosHome

PROPOSALS_TABLE = "action_proposals"
GATE_RESULTS_TABLE = "proposal_gate_results"
OPT_OUT_KEYS = ("do_not_contact", "opt_out", "opted_out", "unsubscribe", "unsubscribed")
# Until agent manifests exist (or when they cannot be read), what each agent may use.
FALLBACK_CAPABILITIES: dict[str, set[str]] = {
    "triage": {"email", "none"},
    "followup": {"email", "calendar", "none"},
    "billing": {"email", "none"},
    "content": {"http", "webhook", "none"},
    "brief": {"webhook", "email", "none"},
}

GATE_RESULTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {GATE_RESULTS_TABLE} (
    proposal_id VARCHAR NOT NULL,
    gate VARCHAR NOT NULL,
    passed BOOLEAN NOT NULL,
    reason VARCHAR,
    evaluated_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR,
    PRIMARY KEY (proposal_id, gate)
);
"""


def load_proposals(con: duckdb.DuckDBPyConnection,
                   ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every proposal (or those ids), oldest first, payload parsed; [] before any exists."""
    if not has_relation(con, PROPOSALS_TABLE):
        return []
    where, params = "TRUE", []
    if ids is not None:
        where, params = "proposal_id IN (SELECT unnest(?))", [list(ids)]
    cur = con.execute(f"SELECT * FROM {PROPOSALS_TABLE} WHERE {where} "
                      "ORDER BY created_at, proposal_id", params)
    return [normalize_proposal(r) for r in dict_rows(cur)]


def load_directory(con: duckdb.DuckDBPyConnection) -> Directory:
    """Canonical e-mail addresses from ``dim_contacts`` and ``entity_membership``."""
    email_to_entity: dict[str, str] = {}
    entities: set[str] = set()
    available = False
    if has_relation(con, "dim_contacts"):
        available = True
        for entity_id, emails, primary in con.execute(
                "SELECT entity_id, emails, primary_email FROM dim_contacts").fetchall():
            entities.add(entity_id)
            for e in [*(emails or []), primary]:
                if e:
                    email_to_entity.setdefault(str(e).strip().lower(), entity_id)
    if has_relation(con, "entity_membership"):
        available = True
        for entity_id, email in con.execute(
                "SELECT entity_id, email FROM entity_membership").fetchall():
            entities.add(entity_id)
            if email:
                email_to_entity.setdefault(str(email).strip().lower(), entity_id)
    return Directory(email_to_entity=email_to_entity, entities=frozenset(entities),
                     available=available)


def load_parties(con: duckdb.DuckDBPyConnection,
                 proposals: Sequence[Mapping[str, Any]] = ()) -> Parties:
    """Names, phones and invoices of canonical entities, the operator, and the participants of
    the threads the ``proposals`` answer (their ``in_reply_to``): the disclosure gate's view."""
    from aios_assets.ingest.events import normalize_phone
    from aios_assets.memory.base import detect_operator

    names: dict[str, str] = {}
    phones: dict[str, str] = {}
    invoices: dict[str, str] = {}
    if has_relation(con, "dim_contacts"):
        cols = columns(con, "dim_contacts")
        phone_col = next((c for c in ("phones", "phone", "primary_phone") if c in cols), None)
        name_col = "full_name" if "full_name" in cols else "NULL"
        for entity_id, name, phone in con.execute(
                f"SELECT entity_id, {name_col}, {phone_col or 'NULL'} FROM dim_contacts"
        ).fetchall():
            if name:
                names[entity_id] = str(name)
            for raw in (phone if isinstance(phone, list) else [phone]):
                if raw and (p := normalize_phone(str(raw))):
                    phones.setdefault(p, entity_id)
    if has_relation(con, "fct_invoices") and "customer_entity_id" in columns(con, "fct_invoices"):
        for inv, ent in con.execute("SELECT invoice_id, customer_entity_id FROM fct_invoices "
                                    "WHERE customer_entity_id IS NOT NULL").fetchall():
            invoices[str(inv).upper()] = ent
    op_emails: set[str] = set()
    op_entities: set[str] = set()
    threads: dict[str, frozenset[str]] = {}
    if has_relation(con, "events_current"):
        op = detect_operator(con)
        op_emails = {op.email} if op.email else set()
        op_entities = set(op.entity_ids) | ({op.entity_id} if op.entity_id else set())
        ids = sorted({str(m) for p in proposals
                      if (m := (p.get("payload") or {}).get("in_reply_to"))})
        if ids:
            rows = con.execute(
                """SELECT a.source_id, b.actor, b.payload ->> 'to', b.payload ->> 'cc'
                   FROM events_current a JOIN events_current b ON b.thread = a.thread
                   WHERE a.kind = 'email' AND b.kind = 'email'
                     AND a.source_id IN (SELECT unnest(?))""", [ids]).fetchall()
            people: dict[str, set[str]] = {}
            for mid, actor, to, cc in rows:
                people.setdefault(mid, set()).update(email_recipients(
                    {"to": _json_list(actor), "cc": [*_json_list(to), *_json_list(cc)]}))
            threads = {k: frozenset(v) for k, v in people.items()}
    return Parties(names=names, phones=phones, invoices=invoices,
                   operator_emails=frozenset(op_emails), operator_entities=frozenset(op_entities),
                   threads=threads)


def _json_list(value: Any) -> list[str]:
    """A JSON list (or a plain string) from a payload field, as strings."""
    if value is None:
        return []
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value) if value is not None else True


def load_opt_outs(con: duckdb.DuckDBPyConnection, policy_opted_out: Sequence[str] = ()) -> \
        frozenset[str]:
    """Addresses and entity ids never to contact: the policy's list and the operator's
    ``preference`` events with ``key`` do_not_contact / opt_out (latest version wins)."""
    out = {s.lower() for s in policy_opted_out}
    if has_relation(con, "events_current"):
        for (payload,) in con.execute(
                "SELECT payload FROM events_current WHERE source = 'operator' "
                "AND kind = 'preference' AND payload IS NOT NULL").fetchall():
            p = json.loads(payload) if isinstance(payload, str) else payload
            if not isinstance(p, Mapping) or str(p.get("key", "")).lower() not in OPT_OUT_KEYS:
                continue
            if not _truthy(p.get("value", True)):
                continue
            for k in ("entity_id", "email"):
                if p.get(k):
                    out.add(str(p[k]).strip().lower())
    return frozenset(out)


def sent_records(outbox: Any | None, proposals: Sequence[Mapping[str, Any]] = ()) -> \
        list[SentRecord]:
    """The outbox's rows as :class:`SentRecord` (with costs from the proposals they came from)."""
    if outbox is None:
        return []
    cost = {p["proposal_id"]: float(p.get("estimated_cost_usd") or 0.0) for p in proposals}
    out = []
    for row in outbox.rows():
        payload = getattr(row, "payload", None) or {}
        if isinstance(payload, str):
            payload = json.loads(payload)
        at = (getattr(row, "created_at", None) or getattr(row, "enqueued_at", None)
              or getattr(row, "updated_at", None))
        action_type = getattr(row, "action_type", "") or ""
        pid = getattr(row, "proposal_id", None)
        out.append(SentRecord(
            idempotency_key=row.idempotency_key, proposal_id=pid, action_type=action_type,
            fingerprint=fingerprint(action_type, payload), status=str(row.status),
            at=at if isinstance(at, datetime) else None,
            cost_usd=max(float(getattr(row, "cost_usd", 0.0) or 0.0),
                         cost.get(pid or "", 0.0))))
    return out


def load_intent_rules(home: AiosHome | None = None) -> dict[str, IntentRules]:
    """intent_id -> its autonomy and quiet hours, from ``$AIOS_HOME/intents.yaml`` (the
    defaults the agents would write when there is none). A broken file raises
    ``IntentsFileError``: the gates fail closed rather than ignore the operator's limits."""
    from aios_assets.agents.intents import default_intents, intents_path, load_intents

    path = intents_path(home)
    intents = load_intents(path) if path.exists() else default_intents()
    return {i.id: IntentRules(i.id, i.autonomy, i.constraints.quiet_hours) for i in intents}


def allowed_capabilities() -> dict[str, set[str]]:
    """agent -> capabilities it may use, from the current agent manifests."""
    try:
        from aios_assets.agents.manifests import load_manifests

        manifests = load_manifests()
    except (ImportError, ValueError, OSError):
        return {k: set(v) for k, v in FALLBACK_CAPABILITIES.items()}
    if not manifests:
        return {k: set(v) for k, v in FALLBACK_CAPABILITIES.items()}
    return {agent: {*slot["current"].capabilities, "none"} for agent, slot in manifests.items()}


def write_gate_results(con: duckdb.DuckDBPyConnection, results: Sequence[Any], *,
                       evaluated_at: datetime, run_id: str | None) -> None:
    """Replace the results of the proposals evaluated now; keep older ones for the others."""
    con.execute(GATE_RESULTS_DDL)
    ids = sorted({r.proposal_id for r in results})
    with transaction(con):
        if ids:
            con.execute(f"DELETE FROM {GATE_RESULTS_TABLE} WHERE proposal_id IN "
                        "(SELECT unnest(?))", [ids])
            con.executemany(
                f"INSERT INTO {GATE_RESULTS_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                [[r.proposal_id, r.gate, r.passed, r.reason or None, evaluated_at, run_id]
                 for r in results])


def load_gate_results(con: duckdb.DuckDBPyConnection, run_id: str | None = None,
                      ) -> dict[str, list[tuple[str, bool, str]]]:
    """proposal_id -> [(gate, passed, reason)]; only the verdicts of ``run_id`` if given."""
    if not has_relation(con, GATE_RESULTS_TABLE):
        return {}
    where, params = ("WHERE run_id = ?", [run_id]) if run_id is not None else ("", [])
    out: dict[str, list[tuple[str, bool, str]]] = {}
    for pid, gate, passed, reason in con.execute(
            f"SELECT proposal_id, gate, passed, reason FROM {GATE_RESULTS_TABLE} {where} "
            "ORDER BY proposal_id, gate", params).fetchall():
        out.setdefault(pid, []).append((gate, passed, reason or ""))
    return out


def proposals_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """For the demo's summary: live proposals per agent, canary ones, and the latest gate
    verdicts (proposals passing every gate, held back, failures per gate). None before any
    agent ran."""
    if not has_relation(con, PROPOSALS_TABLE):
        return None
    by_agent = dict(con.execute(
        f"SELECT agent, count(*) FROM {PROPOSALS_TABLE} WHERE mode = 'live' GROUP BY 1 "
        "ORDER BY 1").fetchall())
    other = con.execute(f"SELECT count(*) FROM {PROPOSALS_TABLE} WHERE mode <> 'live'"
                        ).fetchone()[0]
    out: dict[str, Any] = {"by_agent": by_agent, "not_live": int(other), "gated": False}
    if has_relation(con, GATE_RESULTS_TABLE):
        passing, failing = con.execute(
            f"""SELECT count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok)
            FROM (SELECT proposal_id, bool_and(passed) AS ok FROM {GATE_RESULTS_TABLE}
                  GROUP BY 1)""").fetchone()
        per_gate = dict(con.execute(
            f"SELECT gate, count(*) FROM {GATE_RESULTS_TABLE} WHERE NOT passed GROUP BY 1 "
            "ORDER BY 2 DESC, 1").fetchall())
        out.update(gated=True, passing=int(passing), failing=int(failing), per_gate=per_gate)
    return out
