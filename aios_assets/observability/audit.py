"""The audit trail: what the system did about a proposal, an entity or a run, and why.

Everything here reads what the pipeline already records; nothing new is logged:

* DuckDB (the read snapshot): ``action_proposals``, ``agent_runs``, ``proposal_gate_results``,
  ``event_log`` / ``events_current``, ``entity_membership``, ``dim_contacts``,
  ``fct_interactions``, ``policy_traces``, ``cost_ledger``;
* Postgres (schema ``aios``): ``proposal_decisions``, ``outbox``, ``adapter_calls``,
  ``llm_calls``, ``agent_plans``;
* the Dagster instance (a run's materializations).

:func:`resolve_target` turns what the operator typed (a proposal id or prefix, a Dagster run id
or prefix, an entity id, an e-mail address or a name) into one thing, or says why it cannot.
:func:`audit_proposal`, :func:`audit_entity` and :func:`audit_run` return plain dicts (the JSON
of ``aios audit --json``; ``audit_cli`` renders them). ``audit_export.export_trail`` writes the
whole trail of a period (or an entity) as JSONL or Parquet with credentials redacted
(:func:`redact`). The cost views and budgets live in ``costs.py``.

LLM calls are linked to proposals by (run id, agent): the ledger records the run and agent of
each call, not the proposal, so a run's calls are shared by the proposals that run made (an even
share each, as in the cost views).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import psycopg

from aios_assets.publishing.gates import (
    APPROVAL_CLEARS,
    SECRET_PATTERNS,
    secret_values_from_env,
)
from aios_assets.publishing.status import from_outbox
from aios_assets.shared.db import columns, dict_rows, has_relation
from aios_assets.shared.jsonable import jsonable
from aios_assets.shared.postgres import connect as pg_connect

PREFIX_MIN = 6  # shortest id prefix accepted (as `aios approve`)
REDACTED = "[redacted]"
# Payload keys whose values are credentials whatever they look like.
CREDENTIAL_KEY_RE = re.compile(
    r"(?i)(pass(word|wd)?|pwd|secret|token|api[_-]?key|apikey|authorization|auth[_-]?header|"
    r"cookie|private[_-]?key|client[_-]?secret|credentials?|bearer)")
_SECRET_VALUE_RES = [re.compile(p) for p in SECRET_PATTERNS.values()]


class AuditError(LookupError):
    """Nothing matches what was asked for (the message says what was searched)."""


class AmbiguousTarget(AuditError):
    """Several things match; ``suggestions`` lists them (kind, id, label)."""

    def __init__(self, message: str, suggestions: Sequence[tuple[str, str, str]]) -> None:
        super().__init__(message)
        self.suggestions = list(suggestions)


# --- small helpers ---------------------------------------------------------------------------


def _name_col(con: duckdb.DuckDBPyConnection) -> str:
    """``full_name`` of dim_contacts, or NULL when a small warehouse lacks it."""
    return "full_name" if "full_name" in columns(con, "dim_contacts") else "NULL::VARCHAR"


def _q(con: duckdb.DuckDBPyConnection, table: str, sql: str,
       params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Rows of ``sql`` (which reads ``table``), or [] when the table does not exist yet."""
    if not has_relation(con, table):
        return []
    return dict_rows(con.execute(sql, list(params)))


def _pg(pg_url: str | None, table: str, sql: str,
        params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
    """Rows from Postgres ``aios.<table>``; [] when there is no URL or no such table yet."""
    if not pg_url:
        return []
    with pg_connect(pg_url, autocommit=True) as con:
        if con.execute("SELECT to_regclass(%s)", (f"aios.{table}",)).fetchone()[0] is None:
            return []
        return dict_rows(con.execute(sql, params))


def _payload(value: Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return {"_unparseable": REDACTED}
    return dict(value) if isinstance(value, Mapping) else {}


def redact(value: Any, secret_values: Iterable[str] | None = None) -> Any:
    """``value`` with credentials removed: values under credential-like keys (password, token,
    api_key, authorization, ...) become ``[redacted]``; key-shaped strings (the patterns of the
    ``secrets`` gate: ``sk-...``, AWS, GitHub, Slack, private keys, bearer tokens, JWTs,
    ``password: ...``) and the values of secret environment variables are cut out of text."""
    secrets = sorted({s for s in (secret_values if secret_values is not None
                                  else secret_values_from_env()) if s}, key=len, reverse=True)

    def walk(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {k: (REDACTED if CREDENTIAL_KEY_RE.search(str(k)) and v2 not in (None, "")
                        else walk(v2)) for k, v2 in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        if isinstance(v, str):
            for s in secrets:
                v = v.replace(s, REDACTED)
            for rx in _SECRET_VALUE_RES:
                v = rx.sub(REDACTED, v)
            return v
        return v

    return walk(value)


def parse_when(text: str | None, *, end: bool = False) -> datetime | None:
    """An ISO date or time (UTC when no zone); a bare date at ``end`` means the day's end."""
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip()
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
            at = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return at.replace(hour=23, minute=59, second=59, microsecond=999999) if end else at
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO date or time: {raw!r} (e.g. 2026-03-01 or "
                         "2026-03-01T12:00Z)") from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


# --- resolving what the operator typed ------------------------------------------------------


@dataclass(frozen=True)
class Target:
    kind: str  # proposal | run | entity
    id: str
    label: str = ""


def _proposal_matches(con: duckdb.DuckDBPyConnection, text: str) -> list[Target]:
    if len(text) < PREFIX_MIN:
        where, params = "proposal_id = ? OR idempotency_key = ?", [text, text]
    else:
        where, params = ("starts_with(proposal_id, ?) OR idempotency_key = ?", [text, text])
    rows = _q(con, "action_proposals",
              f"SELECT proposal_id, agent, action_type, target_entity_id FROM action_proposals "
              f"WHERE {where} ORDER BY proposal_id LIMIT 20", params)
    return [Target("proposal", r["proposal_id"],
                   f"{r['agent']} {r['action_type']} → {r['target_entity_id'] or '-'}")
            for r in rows]


def _run_ids(con: duckdb.DuckDBPyConnection, pg_url: str | None, instance: Any) -> set[str]:
    ids: set[str] = set()
    for table in ("agent_runs", "action_proposals", "proposal_gate_results", "cost_ledger"):
        ids |= {r["run_id"] for r in _q(con, table, f"SELECT DISTINCT run_id FROM {table} "
                                                    "WHERE run_id IS NOT NULL")}
    for table in ("llm_calls", "adapter_calls", "outbox"):
        try:
            ids |= {r["run_id"] for r in _pg(pg_url, table, f"SELECT DISTINCT run_id FROM "
                                                             f"aios.{table} WHERE run_id IS NOT "
                                                             "NULL")}
        except psycopg.Error:
            pass
    if instance is not None:
        try:
            ids |= set(instance.get_run_ids(limit=5000))
        except Exception:  # noqa: BLE001 - the instance is optional context
            pass
    return ids


def _run_matches(con, pg_url, instance, text: str) -> list[Target]:
    if len(text) < PREFIX_MIN:
        return []
    return [Target("run", r, "Dagster run") for r in sorted(_run_ids(con, pg_url, instance))
            if r.startswith(text)]


def _entity_matches(con: duckdb.DuckDBPyConnection, text: str) -> list[Target]:
    t = text.strip()
    names: dict[str, str] = {r["entity_id"]: r["full_name"] or "" for r in _q(
        con, "dim_contacts", f"SELECT entity_id, {_name_col(con)} AS full_name "
        "FROM dim_contacts")}
    ids = {r["entity_id"] for r in _q(
        con, "entity_membership", "SELECT DISTINCT entity_id FROM entity_membership "
        "WHERE entity_id = ?", [t])} | ({t} if t in names else set())
    if ids:
        return [Target("entity", t, names.get(t, ""))]
    if "@" in t:
        email = t.lower()
        found = {r["entity_id"] for r in _q(
            con, "dim_contacts", "SELECT entity_id FROM dim_contacts WHERE lower(primary_email) "
            "= ? OR list_contains(list_transform(emails, e -> lower(e)), ?)", [email, email])}
        found |= {r["entity_id"] for r in _q(
            con, "entity_membership", "SELECT DISTINCT entity_id FROM entity_membership "
            "WHERE lower(email) = ?", [email])}
        return [Target("entity", e, names.get(e, "")) for e in sorted(found)]
    low = t.lower()
    exact = [e for e, n in names.items() if n.lower() == low]
    if exact:
        return [Target("entity", e, names[e]) for e in sorted(exact)]
    return [Target("entity", e, n) for e, n in sorted(names.items())
            if low and low in n.lower()][:20]


def resolve_target(con: duckdb.DuckDBPyConnection, text: str, *, pg_url: str | None = None,
                   instance: Any = None, kind: str | None = None) -> Target:
    """The one proposal, run or entity ``text`` names; :class:`AuditError` when none,
    :class:`AmbiguousTarget` (with suggestions) when several do."""
    text = (text or "").strip()
    if not text:
        raise AuditError("say what to audit: a proposal id, a Dagster run id, an entity id, "
                         "an e-mail address or a name")
    kinds = (kind,) if kind else ("proposal", "run", "entity")
    found: list[Target] = []
    for k in kinds:
        if k == "proposal":
            found += _proposal_matches(con, text)
        elif k == "run":
            found += _run_matches(con, pg_url, instance, text)
        elif k == "entity":
            found += _entity_matches(con, text)
        else:
            raise AuditError(f"unknown kind {k!r}: proposal, run or entity")
        if found and kind is None and any(f.id == text for f in found):
            return next(f for f in found if f.id == text)  # an exact id wins outright
    if len(found) == 1:
        return found[0]
    if not found:
        raise AuditError(
            f"nothing matches {text!r}: no proposal id (or prefix of {PREFIX_MIN}+ characters), "
            "no Dagster run id, no entity id, no contact e-mail address or name. "
            "List proposals with `aios proposals`, entities with "
            "`aios sql \"select entity_id, full_name from dim_contacts\"`.")
    raise AmbiguousTarget(f"{text!r} matches {len(found)} things; be more specific", found)


# --- shared lookups --------------------------------------------------------------------------


def _evidence(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = {r["event_id"]: r for r in _q(
        con, "event_log",
        """SELECT event_id, source, source_id, kind, occurred_at, actor, subject,
                  left(regexp_replace(text, '\\s+', ' ', 'g'), 120) AS line
           FROM event_log WHERE event_id IN (SELECT unnest(?))
           QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY version DESC) = 1""",
        [list(ids)])}
    out = []
    for e in ids:
        r = rows.get(e)
        out.append({"event_id": e, "found": r is not None, **({
            "source": r["source"], "source_id": r["source_id"], "kind": r["kind"],
            "occurred_at": r["occurred_at"], "actor": r["actor"],
            "line": redact(" ".join(x for x in (r["subject"], r["line"]) if x))} if r else {})})
    return out


def _llm_calls(con: duckdb.DuckDBPyConnection, pg_url: str | None, *, run_ids: Sequence[str],
               agent: str | None = None) -> list[dict[str, Any]]:
    """LLM ledger rows of these runs (Postgres, else the DuckDB mirror)."""
    if not run_ids:
        return []
    cols = ("called_at, run_id, agent, task, tier, model, prompt_hash, prompt_tokens, "
            "completion_tokens, cost_usd, cache_hit, degraded, outcome, error_class, reason")
    try:
        rows = _pg(pg_url, "llm_calls", f"SELECT {cols} FROM aios.llm_calls WHERE run_id = "
                   "ANY(%s)" + (" AND agent = %s" if agent else "") + " ORDER BY called_at",
                   (list(run_ids), agent) if agent else (list(run_ids),))
        if rows or pg_url:
            return rows
    except psycopg.Error:
        pass
    return _q(con, "cost_ledger", f"SELECT {cols} FROM cost_ledger WHERE kind = 'llm' AND "
              "run_id IN (SELECT unnest(?))" + (" AND agent = ?" if agent else "")
              + " ORDER BY called_at", [list(run_ids), agent] if agent else [list(run_ids)])


def _decisions(pg_url: str | None, proposal_ids: Sequence[str]) -> list[dict[str, Any]]:
    if not proposal_ids:
        return []
    return _pg(pg_url, "proposal_decisions",
               """SELECT decision_id, proposal_id, decision, reason, decided_by, via, decided_at
                  FROM aios.proposal_decisions WHERE proposal_id = ANY(%s) ORDER BY seq""",
               (list(proposal_ids),))


def _outbox(pg_url: str | None, keys: Sequence[str]) -> list[dict[str, Any]]:
    if not keys:
        return []
    # No payload: the proposal shows what was meant to go out; last_error is redacted.
    rows = _pg(pg_url, "outbox",
               """SELECT idempotency_key, proposal_id, action_type, capability, agent, run_id,
                         status, attempts, enqueued_at, claimed_at, delivered_at, external_id,
                         cost_usd, error_class, last_error, updated_at
                  FROM aios.outbox WHERE idempotency_key = ANY(%s) ORDER BY seq""",
               (list(keys),))
    for r in rows:
        r["last_error"] = redact(r["last_error"]) if r["last_error"] else None
    return rows


def _adapter_calls(pg_url: str | None, keys: Sequence[str]) -> list[dict[str, Any]]:
    if not keys:
        return []
    return _pg(pg_url, "adapter_calls",
               """SELECT called_at, adapter, capability, operation, idempotency_key, proposal_id,
                         agent, run_id, attempt, outcome, error_class, status_code,
                         external_id, cost_usd, latency_ms
                  FROM aios.adapter_calls WHERE idempotency_key = ANY(%s)
                  ORDER BY called_at""", (list(keys),))


def _link(key: str, proposals: Sequence[Mapping[str, Any]],
          outbox: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    prop = next((r for r in proposals if r["idempotency_key"] == key), None)
    row = next((r for r in outbox if r["idempotency_key"] == key), None)
    src = prop or row or {}
    return {"idempotency_key": key, "proposal_id": src.get("proposal_id"),
            "action_type": src.get("action_type"), "status": row["status"] if row else None}


def compensation(con: duckdb.DuckDBPyConnection, pg_url: str | None,
                 p: Mapping[str, Any]) -> dict[str, Any]:
    """Compensating actions, both ways: the action this one undoes (its payload's
    ``compensates``, e.g. a ``calendar_cancel`` of a ``calendar_hold``) and the actions that
    undo this one (proposals or outbox rows whose ``compensates`` is its idempotency key)."""
    key = p["idempotency_key"]
    target = (p.get("payload") or {}).get("compensates")
    compensates = None
    if isinstance(target, str) and target:
        props = _q(con, "action_proposals", "SELECT proposal_id, idempotency_key, action_type "
                   "FROM action_proposals WHERE idempotency_key = ?", [target])
        compensates = _link(target, props, _outbox(pg_url, [target]))
    props = _q(con, "action_proposals", "SELECT proposal_id, idempotency_key, action_type "
               "FROM action_proposals WHERE json_extract_string(payload, '$.compensates') = ? "
               "ORDER BY created_at, proposal_id", [key])
    rows = _pg(pg_url, "outbox", "SELECT idempotency_key, proposal_id, action_type, status "
               "FROM aios.outbox WHERE payload->>'compensates' = %s ORDER BY seq", (key,))
    keys = list(dict.fromkeys([r["idempotency_key"] for r in props]
                              + [r["idempotency_key"] for r in rows]))
    return {"compensates": compensates,
            "compensated_by": [_link(k, props, rows) for k in keys]}


def fate(p: Mapping[str, Any], *, gates: Sequence[Mapping[str, Any]],
         decisions: Sequence[Mapping[str, Any]], outbox: Mapping[str, Any] | None,
         now: datetime | None = None, mode: str | None = None) -> str:
    """How a proposal ended (or where it waits): a word of the one status vocabulary
    (publishing/status.py, as ``aios proposals`` says it), maybe with a qualifier. ``mode``:
    the policy's effective mode for it (:func:`policy_modes`), when known."""
    if outbox is not None:
        return from_outbox(outbox["status"], outbox.get("error_class"))
    if p.get("mode") == "canary":
        return "shadow (a canary version's, never published)"
    if p.get("mode") == "shadow":
        return "shadow (never published)"
    latest = decisions[-1]["decision"] if decisions else None
    if latest == "rejected":
        return "rejected"
    expires = p.get("expires_at")
    if expires is not None and expires < (now or datetime.now(UTC)):
        return "expired"
    if gates and not all(g["passed"] for g in gates if g["gate"] not in APPROVAL_CLEARS):
        return "failed_gate"
    if gates and not all(g["passed"] for g in gates):
        return "pending (held for approval)"  # e.g. a cross-party disclosure
    if not gates:
        return "approved (not gated yet)" if latest == "approved" else "pending (not gated yet)"
    # the order of publishing.publish.proposal_status, so both commands say the same word
    if mode == "shadow":
        return "shadow"
    if mode == "disabled":
        return "failed_gate (action disabled by the policy)"
    if latest == "approved":
        return "approved (not sent yet)"
    return "autonomous" if mode == "autonomous" else "pending"


def policy_modes(con: duckdb.DuckDBPyConnection,
                 proposals: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """proposal_id -> the policy's effective mode (autonomous, approve_first, shadow, ...);
    {} when the policy or intents file cannot be read (the fate then leaves the mode out)."""
    from aios_assets.agents.intents import IntentsFileError
    from aios_assets.publishing.data import load_directory, load_intent_rules
    from aios_assets.publishing.gates import GateContext, proposal_mode
    from aios_assets.publishing.policy import PolicyError, load_policy

    try:
        ctx = GateContext(policy=load_policy(), directory=load_directory(con),
                          intents=load_intent_rules())
    except (PolicyError, IntentsFileError):
        return {}
    return {p["proposal_id"]: proposal_mode(p, ctx)[0].value for p in proposals}


# --- proposal --------------------------------------------------------------------------------


def _proposal_row(con: duckdb.DuckDBPyConnection, pid: str) -> dict[str, Any]:
    rows = _q(con, "action_proposals", "SELECT * FROM action_proposals WHERE proposal_id = ?",
              [pid])
    if not rows:
        raise AuditError(f"no proposal {pid!r} in action_proposals")
    p = rows[0]
    p["payload"] = _payload(p["payload"])
    p["evidence_event_ids"] = list(p["evidence_event_ids"] or [])
    return p


def _manifest_info(agent: str, version: str) -> dict[str, Any]:
    """The manifest that made a proposal: channel, template version, model tier (if found)."""
    try:
        from aios_assets.agents.manifests import load_manifest, manifest_dirs

        for d in reversed(manifest_dirs()):
            for path in sorted(d.glob(f"{agent}.*.yaml")):
                m = load_manifest(path)
                if m.agent == agent and m.version == version:
                    return {"version": version, "channel": m.channel,
                            "template_version": m.template_version,
                            "model_tier": m.model_tier, "file": path.name}
    except (ImportError, ValueError, OSError):
        pass
    return {"version": version, "channel": None, "template_version": None, "model_tier": None,
            "file": None}


def _entity_names(con: duckdb.DuckDBPyConnection, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {r["entity_id"]: r["full_name"] for r in _q(
        con, "dim_contacts", f"SELECT entity_id, {_name_col(con)} AS full_name FROM "
        "dim_contacts WHERE entity_id IN (SELECT unnest(?))", [wanted])}


def _run_proposal_counts(con: duckdb.DuckDBPyConnection, pairs: Iterable[tuple[str, str]],
                         ) -> dict[tuple[str, str], int]:
    pairs = sorted({(r, a) for r, a in pairs if r})
    if not pairs:
        return {}
    rows = _q(con, "action_proposals",
              "SELECT run_id, agent, count(*) AS n FROM action_proposals WHERE run_id IN "
              "(SELECT unnest(?)) GROUP BY ALL", [[r for r, _ in pairs]])
    return {(r["run_id"], r["agent"]): int(r["n"]) for r in rows}


def cost_explanation(p: Mapping[str, Any], llm: Sequence[Mapping[str, Any]],
                     adapter: Sequence[Mapping[str, Any]], shared_by: int) -> dict[str, Any]:
    """What a proposal cost and why, in figures and one sentence."""
    llm_usd = sum(float(c["cost_usd"] or 0) for c in llm)
    share = llm_usd / max(1, shared_by)
    adapter_usd = sum(float(c["cost_usd"] or 0) for c in adapter)
    paid = [c for c in llm if not c["cache_hit"] and c["tier"] != "offline"]
    hits = sum(bool(c["cache_hit"]) for c in llm)
    offline = sum(c["tier"] == "offline" for c in llm)
    tokens = sum(int(c["prompt_tokens"] or 0) + int(c["completion_tokens"] or 0) for c in llm)
    models = sorted({c["model"] for c in llm})
    parts = []
    if llm:
        parts.append(
            f"{len(llm)} LLM call(s) of its run by agent {p['agent']} ({', '.join(models)}; "
            f"{tokens:,} tokens; {len(paid)} paid, {hits} cache hit(s), {offline} offline) "
            f"cost ${llm_usd:.6f}"
            + (f", shared by the {shared_by} proposals of that run: ${share:.6f} each"
               if shared_by > 1 else ""))
    else:
        parts.append("no LLM calls recorded for its run" if p.get("run_id")
                     else "made outside a Dagster run: no LLM calls linked")
    if adapter:
        parts.append(f"{len(adapter)} delivery attempt(s) cost ${adapter_usd:.6f}")
    else:
        parts.append("never delivered (no adapter calls)")
    parts.append(f"estimated at proposal time: ${float(p.get('estimated_cost_usd') or 0):.6f} "
                 "(its LLM share plus the manifest's action cost)")
    return {"llm_usd_run": round(llm_usd, 6), "llm_usd_share": round(share, 6),
            "shared_by": shared_by, "adapter_usd": round(adapter_usd, 6),
            "estimated_usd": float(p.get("estimated_cost_usd") or 0),
            "total_usd": round(share + adapter_usd, 6), "tokens": tokens,
            "why": "; ".join(parts) + "."}


def audit_proposal(con: duckdb.DuckDBPyConnection, pid: str, *,
                   pg_url: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Everything about one proposal: who made it and why, evidence, LLM calls, gates,
    decisions, delivery, the compensating actions linked to it, cost."""
    p = _proposal_row(con, pid)
    gates = _q(con, "proposal_gate_results",
               "SELECT gate, passed, reason, evaluated_at, run_id FROM proposal_gate_results "
               "WHERE proposal_id = ? ORDER BY passed, gate", [pid])
    decisions = _decisions(pg_url, [pid])
    outbox = _outbox(pg_url, [p["idempotency_key"]])
    adapter = _adapter_calls(pg_url, [p["idempotency_key"]])
    llm = _llm_calls(con, pg_url, run_ids=[p["run_id"]] if p["run_id"] else [],
                     agent=p["agent"])
    shared = _run_proposal_counts(con, [(p["run_id"], p["agent"])]).get(
        (p["run_id"], p["agent"]), 1)
    plan = _pg(pg_url, "agent_plans",
               "SELECT plan_id, intent_id, window_start, status, expected_cost_usd, deadline, "
               "reason FROM aios.agent_plans WHERE plan_id = %s", (p["plan_id"],)) \
        if p.get("plan_id") else []
    run = _q(con, "agent_runs", "SELECT run_id, mode, manifest_version, as_of, ran_at, outcome, "
             "proposals FROM agent_runs WHERE run_id = ? AND agent = ? ORDER BY ran_at",
             [p["run_id"], p["agent"]]) if p["run_id"] else []
    target = p["target_entity_id"]
    return jsonable({
        "kind": "proposal",
        "proposal": {k: p[k] for k in (
            "proposal_id", "created_at", "expires_at", "agent", "manifest_version", "intent_id",
            "plan_id", "run_id", "mode", "action_type", "capability", "target_entity_id",
            "rationale", "confidence", "estimated_cost_usd", "idempotency_key",
            "untrusted_input")} | {
            "target_name": _entity_names(con, [target]).get(target) if target else None,
            "payload": redact(p["payload"])},
        "manifest": _manifest_info(p["agent"], p["manifest_version"]),
        "agent_run": run,
        "plan": plan[0] if plan else None,
        "evidence": _evidence(con, p["evidence_event_ids"]),
        "llm_calls": llm,
        "gates": gates,
        "decisions": decisions,
        "outbox": outbox,
        "adapter_calls": adapter,
        "fate": fate(p, gates=gates, decisions=decisions, outbox=outbox[0] if outbox else None,
                     now=now, mode=policy_modes(con, [p]).get(p["proposal_id"])),
        "compensation": compensation(con, pg_url, p),
        "cost": cost_explanation(p, llm, adapter, shared),
    })


# --- entity ----------------------------------------------------------------------------------


def audit_entity(con: duckdb.DuckDBPyConnection, entity_id: str, *,
                 pg_url: str | None = None, now: datetime | None = None,
                 limit: int = 20) -> dict[str, Any]:
    """One entity: who it is, its records, interactions, the proposals about it and their
    fates, and what it cost."""
    contact = _q(con, "dim_contacts", "SELECT * FROM dim_contacts WHERE entity_id = ?",
                 [entity_id])
    records = _q(con, "entity_membership", "SELECT * FROM entity_membership WHERE entity_id = ? "
                 "ORDER BY ALL", [entity_id])
    if not contact and not records:
        raise AuditError(f"no entity {entity_id!r} in dim_contacts or entity_membership")
    inter_count = _q(con, "fct_interactions", "SELECT count(*) AS n, min(occurred_at) AS first, "
                     "max(occurred_at) AS last FROM fct_interactions WHERE entity_id = ?",
                     [entity_id])
    interactions = _q(con, "fct_interactions",
                      "SELECT occurred_at, interaction_type, role, subject, source, "
                      "source_event_id FROM fct_interactions WHERE entity_id = ? "
                      "ORDER BY occurred_at DESC LIMIT ?", [entity_id, limit])
    props = _q(con, "action_proposals",
               "SELECT * FROM action_proposals WHERE target_entity_id = ? "
               "ORDER BY created_at DESC, proposal_id", [entity_id])
    ids = [p["proposal_id"] for p in props]
    gates = _q(con, "proposal_gate_results", "SELECT proposal_id, gate, passed, reason FROM "
               "proposal_gate_results WHERE proposal_id IN (SELECT unnest(?))", [ids]) \
        if ids else []
    decisions = _decisions(pg_url, ids)
    keys = [p["idempotency_key"] for p in props]
    outbox = {r["idempotency_key"]: r for r in _outbox(pg_url, keys)}
    adapter = _adapter_calls(pg_url, keys)
    llm_by_run = {}
    for c in _llm_calls(con, pg_url, run_ids=sorted({p["run_id"] for p in props
                                                      if p["run_id"]})):
        llm_by_run.setdefault((c["run_id"], c["agent"]), []).append(c)
    shared = _run_proposal_counts(con, [(p["run_id"], p["agent"]) for p in props])
    rows, llm_share = [], 0.0
    modes = policy_modes(con, props)
    for p in props:
        pid = p["proposal_id"]
        g = [x for x in gates if x["proposal_id"] == pid]
        d = [x for x in decisions if x["proposal_id"] == pid]
        payload = _payload(p["payload"])
        key = (p["run_id"], p["agent"])
        llm_share += sum(float(c["cost_usd"] or 0) for c in llm_by_run.get(key, [])) / max(
            1, shared.get(key, 1))
        rows.append({
            "proposal_id": pid, "created_at": p["created_at"], "agent": p["agent"],
            "manifest_version": p["manifest_version"], "action_type": p["action_type"],
            "mode": p["mode"], "intent_id": p["intent_id"],
            "summary": redact(str(payload.get("subject") or payload.get("title")
                                  or payload.get("text") or payload.get("path") or ""))[:80],
            "rationale": p["rationale"],
            "fate": fate(p, gates=g, decisions=d, outbox=outbox.get(p["idempotency_key"]),
                         now=now, mode=modes.get(pid)),
            "failed_gates": [f"{x['gate']}: {x['reason']}" for x in g if not x["passed"]],
            "decision": d[-1]["decision"] if d else None,
            "decision_reason": d[-1]["reason"] if d else None,
            "decided_by": d[-1]["decided_by"] if d else None,
        })
    traces = _q(con, "policy_traces", "SELECT occurred_at, kind, proposal_id, decision, reason, "
                "preference FROM policy_traces WHERE entity_id = ? ORDER BY occurred_at",
                [entity_id])
    adapter_usd = sum(float(c["cost_usd"] or 0) for c in adapter)
    fates: dict[str, int] = {}
    for r in rows:
        fates[r["fate"]] = fates.get(r["fate"], 0) + 1
    return jsonable({
        "kind": "entity",
        "entity_id": entity_id,
        "contact": redact(contact[0]) if contact else None,
        "records": redact(records),
        "interactions": {"count": inter_count[0]["n"] if inter_count else 0,
                         "first": inter_count[0]["first"] if inter_count else None,
                         "last": inter_count[0]["last"] if inter_count else None,
                         "recent": interactions},
        "proposals": rows,
        "fates": fates,
        "policy_traces": traces,
        "cost": {"llm_usd_share": round(llm_share, 6), "adapter_usd": round(adapter_usd, 6),
                 "total_usd": round(llm_share + adapter_usd, 6),
                 "why": f"LLM share of the runs that made its {len(rows)} proposal(s) "
                        f"${llm_share:.6f}; {len(adapter)} delivery attempt(s) "
                        f"${adapter_usd:.6f}."},
    })


# --- run -------------------------------------------------------------------------------------


def dagster_run(instance: Any, run_id: str) -> dict[str, Any] | None:
    """Job, status, times and materialized assets of a run in the Dagster instance."""
    if instance is None:
        return None
    import dagster as dg

    try:
        record = instance.get_run_record_by_id(run_id)
    except Exception:  # noqa: BLE001 - a foreign or broken instance: audit without it
        return None
    if record is None:
        return None
    run = record.dagster_run
    assets: list[str] = []
    for rec in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1000).records:
        ev = rec.event_log_entry.dagster_event
        if ev is not None and ev.asset_key is not None:
            assets.append(ev.asset_key.to_user_string())
    ts = lambda t: datetime.fromtimestamp(t, UTC) if t else None  # noqa: E731
    return {"job": run.job_name, "status": run.status.value, "start": ts(record.start_time),
            "end": ts(record.end_time), "assets_materialized": sorted(set(assets))}


def audit_run(con: duckdb.DuckDBPyConnection, run_id: str, *, pg_url: str | None = None,
              instance: Any = None, now: datetime | None = None) -> dict[str, Any]:
    """One Dagster run: what it materialized, the agent runs, proposals, gate verdicts, LLM and
    adapter calls and cost."""
    dag = dagster_run(instance, run_id)
    agent_runs = _q(con, "agent_runs", "SELECT agent, mode, manifest_version, as_of, ran_at, "
                    "outcome, proposals FROM agent_runs WHERE run_id = ? ORDER BY ran_at",
                    [run_id])
    props = _q(con, "action_proposals", "SELECT proposal_id, agent, manifest_version, mode, "
               "action_type, target_entity_id, rationale, estimated_cost_usd FROM "
               "action_proposals WHERE run_id = ? ORDER BY agent, proposal_id", [run_id])
    gates = _q(con, "proposal_gate_results", "SELECT gate, count(*) AS evaluated, "
               "count(*) FILTER (WHERE NOT passed) AS failed FROM proposal_gate_results "
               "WHERE run_id = ? GROUP BY gate ORDER BY gate", [run_id])
    llm = _llm_calls(con, pg_url, run_ids=[run_id])
    adapter = _pg(pg_url, "adapter_calls",
                  """SELECT called_at, adapter, capability, operation, proposal_id, agent,
                            attempt, outcome, error_class, status_code, cost_usd, latency_ms
                     FROM aios.adapter_calls WHERE run_id = %s ORDER BY called_at""", (run_id,))
    outbox = _pg(pg_url, "outbox", "SELECT proposal_id, action_type, agent, status, attempts, "
                 "delivered_at FROM aios.outbox WHERE run_id = %s ORDER BY seq", (run_id,))
    if dag is None and not (agent_runs or props or gates or llm or adapter or outbox):
        raise AuditError(f"run {run_id!r} left no trace: not in the Dagster instance and no "
                         "proposals, gate results, LLM or adapter calls carry it")
    llm_by: dict[tuple[str, str], dict[str, Any]] = {}
    for c in llm:
        s = llm_by.setdefault((c["agent"], c["model"]), {
            "agent": c["agent"], "model": c["model"], "calls": 0, "cache_hits": 0,
            "tokens": 0, "cost_usd": 0.0})
        s["calls"] += 1
        s["cache_hits"] += bool(c["cache_hit"])
        s["tokens"] += int(c["prompt_tokens"] or 0) + int(c["completion_tokens"] or 0)
        s["cost_usd"] += float(c["cost_usd"] or 0)
    llm_usd = sum(s["cost_usd"] for s in llm_by.values())
    adapter_usd = sum(float(c["cost_usd"] or 0) for c in adapter)
    return jsonable({
        "kind": "run", "run_id": run_id, "dagster": dag, "agent_runs": agent_runs,
        "proposals": props, "gates": gates, "llm": list(llm_by.values()),
        "adapter_calls": adapter, "outbox": outbox,
        "cost": {"llm_usd": round(llm_usd, 6), "adapter_usd": round(adapter_usd, 6),
                 "total_usd": round(llm_usd + adapter_usd, 6)},
    })


def audit(con: duckdb.DuckDBPyConnection, text: str, *, pg_url: str | None = None,
          instance: Any = None, kind: str | None = None) -> dict[str, Any]:
    """Resolve ``text`` and audit it."""
    t = resolve_target(con, text, pg_url=pg_url, instance=instance, kind=kind)
    if t.kind == "proposal":
        return audit_proposal(con, t.id, pg_url=pg_url)
    if t.kind == "run":
        return audit_run(con, t.id, pg_url=pg_url, instance=instance)
    return audit_entity(con, t.id, pg_url=pg_url)
