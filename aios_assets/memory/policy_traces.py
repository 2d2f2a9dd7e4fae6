"""Policy traces: the operator's approvals, rejections, edits and stated preferences.

Operator decisions are ordinary events in the log (the contract, see docs/memory.md):

- ``source = 'operator'``, ``kind = 'approval_decision'``, ``payload = {proposal_id,
  action_type, decision: approved | rejected | edited, reason, entity_id, agent,
  manifest_version}``;
- ``source = 'operator'``, ``kind = 'preference'``, ``payload = {preference, action_type?,
  entity_id?, key?, value?, reason?}`` (``preference`` free text, e.g. "no e-mails before 9am";
  without it the event's text is used).

``policy_traces(trace_id, occurred_at, kind, proposal_id, action_type, decision, reason,
entity_id, agent, preference, manifest_version, source_event_id, source_id, problem)`` holds one
row per operator record (its latest version); a record that breaks the contract keeps its row
with ``decision`` NULL and the reason in ``problem`` (never dropped, never counted in rates).
:func:`policy_summary` is what the planner reads.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa

from aios_assets.memory.base import EVENT_LOG, GROUP
from aios_assets.shared.automation import FOLLOW_INPUTS
from aios_assets.shared.db import has_relation, transaction
from aios_assets.shared.text import markdown_table, stable_id
from resources.warehouse import DuckDBWarehouse

ASSET = "policy_traces"
OPERATOR_SOURCE = "operator"
DECISION_KIND = "approval_decision"
PREFERENCE_KIND = "preference"
DECISIONS = ("approved", "rejected", "edited")
_ALIASES = {
    "approved": "approved", "approve": "approved", "accept": "approved", "accepted": "approved",
    "yes": "approved", "ok": "approved",
    "rejected": "rejected", "reject": "rejected", "declined": "rejected", "decline": "rejected",
    "denied": "rejected", "deny": "rejected", "no": "rejected",
    "edited": "edited", "edit": "edited", "modified": "edited", "approved_with_edits": "edited",
    "approved with edits": "edited",
}

DDL = """
CREATE TABLE IF NOT EXISTS policy_traces (
    trace_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    kind VARCHAR NOT NULL,
    proposal_id VARCHAR,
    action_type VARCHAR,
    decision VARCHAR,
    reason VARCHAR,
    entity_id VARCHAR,
    agent VARCHAR,
    preference VARCHAR,
    manifest_version VARCHAR,
    source_event_id VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    problem VARCHAR
);
"""

_SCHEMA = pa.schema([
    ("trace_id", pa.string()), ("occurred_at", pa.timestamp("us", tz="UTC")),
    ("kind", pa.string()), ("proposal_id", pa.string()), ("action_type", pa.string()),
    ("decision", pa.string()), ("reason", pa.string()), ("entity_id", pa.string()),
    ("agent", pa.string()), ("preference", pa.string()), ("manifest_version", pa.string()),
    ("source_event_id", pa.string()), ("source_id", pa.string()), ("problem", pa.string()),
])


def normalize_decision(value: Any) -> str | None:
    """``approved`` / ``rejected`` / ``edited`` (common synonyms accepted), else None."""
    if value is None:
        return None
    return _ALIASES.get(str(value).strip().lower())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def trace_from_event(event_id: str, source_id: str, kind: str, occurred_at: datetime,
                     text: str | None, payload: dict[str, Any] | None) -> dict[str, Any]:
    """One ``policy_traces`` row from an operator event (contract problems noted, not fatal)."""
    p = payload if isinstance(payload, dict) else {}
    problems: list[str] = []
    if payload is not None and not isinstance(payload, dict):
        problems.append("payload is not an object")
    row: dict[str, Any] = {
        "trace_id": "tr_" + stable_id(OPERATOR_SOURCE, source_id),
        "occurred_at": occurred_at, "kind": kind,
        "proposal_id": _text(p.get("proposal_id")), "action_type": _text(p.get("action_type")),
        "decision": None, "reason": _text(p.get("reason")), "entity_id": _text(p.get("entity_id")),
        "agent": _text(p.get("agent")), "preference": None,
        "manifest_version": _text(p.get("manifest_version")),
        "source_event_id": event_id, "source_id": source_id,
    }
    if kind == DECISION_KIND:
        decision = normalize_decision(p.get("decision"))
        if decision is None:
            problems.append(f"unknown decision {p.get('decision')!r}")
        row["decision"] = decision
        if not row["action_type"]:
            problems.append("missing action_type")
        if not row["proposal_id"]:
            problems.append("missing proposal_id")
    else:
        pref = _text(p.get("preference"))
        if pref is None and p.get("key") is not None:
            pref = f"{p['key']} = {p.get('value')}"
        row["preference"] = pref or _text(text)
        if row["preference"] is None:
            problems.append("empty preference")
    row["problem"] = "; ".join(problems) or None
    return row


def _payload(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


@dataclass
class PolicyStats:
    rows: int
    new: int
    decisions: int
    preferences: int
    problems: int


def build_policy_traces(con: duckdb.DuckDBPyConnection) -> PolicyStats:
    """Rebuild ``policy_traces`` from the operator events of the log (small; the log keeps
    every version, the table the latest of each record)."""
    con.execute(DDL)
    rows = con.execute(
        """SELECT event_id, source_id, kind, occurred_at, text, payload FROM events_current
        WHERE source = ? AND kind IN (?, ?) ORDER BY occurred_at, source_id""",
        [OPERATOR_SOURCE, DECISION_KIND, PREFERENCE_KIND],
    ).fetchall()
    traces = [trace_from_event(e, s, k, t, x, _payload(p)) for e, s, k, t, x, p in rows]
    before = {r[0] for r in con.execute("SELECT trace_id FROM policy_traces").fetchall()}
    con.register("_pt_new", pa.Table.from_pylist(traces, schema=_SCHEMA))
    try:
        with transaction(con):
            con.execute("DELETE FROM policy_traces")
            con.execute("INSERT INTO policy_traces SELECT * FROM _pt_new")
    finally:
        con.unregister("_pt_new")
    return PolicyStats(
        rows=len(traces), new=sum(1 for t in traces if t["trace_id"] not in before),
        decisions=sum(1 for t in traces if t["kind"] == DECISION_KIND),
        preferences=sum(1 for t in traces if t["kind"] == PREFERENCE_KIND),
        problems=sum(1 for t in traces if t["problem"]))


def _rates(counts: dict[str, int]) -> dict[str, Any]:
    n = sum(counts.get(d, 0) for d in DECISIONS)
    out: dict[str, Any] = {"decisions": n, **{d: counts.get(d, 0) for d in DECISIONS}}
    out["approval_rate"] = round((out["approved"] + out["edited"]) / n, 4) if n else None
    out["clean_approval_rate"] = round(out["approved"] / n, 4) if n else None
    out["edit_rate"] = round(out["edited"] / n, 4) if n else None
    out["rejection_rate"] = round(out["rejected"] / n, 4) if n else None
    return out


def policy_summary(con: duckdb.DuckDBPyConnection, action_type: str | None = None, *,
                   recent: int = 5, window_days: int | None = None,
                   now: datetime | None = None) -> dict[str, Any]:
    """What the planner needs from the operator's history.

    Per action type: decisions, approved / edited / rejected counts, ``approval_rate``
    ((approved + edited) / decisions), ``clean_approval_rate``, ``edit_rate``,
    ``rejection_rate``, ``last_decision_at`` and the most recent rejection reasons; overall
    figures; the latest preferences (newest first); the count of traces breaking the contract.
    A proposal decided more than once counts once (its latest decision). ``window_days``
    limits everything to the last N days."""
    empty = {"action_types": {}, "overall": _rates({}), "recent_rejections": [],
             "preferences": [], "problems": 0}
    if not has_relation(con, "policy_traces"):
        return empty
    where, params = ["TRUE"], []
    if action_type is not None:
        where.append("action_type = ?")
        params.append(action_type)
    if window_days is not None:
        where.append("occurred_at >= ?")
        params.append((now or datetime.now(UTC)) - timedelta(days=window_days))
    cond = " AND ".join(where)
    latest = f"""
        SELECT * FROM policy_traces
        WHERE kind = '{DECISION_KIND}' AND decision IS NOT NULL AND {cond}
        QUALIFY row_number() OVER (PARTITION BY coalesce(proposal_id, trace_id)
                                   ORDER BY occurred_at DESC, source_id DESC) = 1"""
    per_type: dict[str, dict[str, Any]] = {}
    totals: dict[str, int] = {}
    for atype, decision, n, last in con.execute(
            f"""SELECT coalesce(action_type, '(none)'), decision, count(*), max(occurred_at)
            FROM ({latest}) GROUP BY 1, 2 ORDER BY 1, 2""", params).fetchall():
        entry = per_type.setdefault(atype, {"counts": {}, "last_decision_at": None})
        entry["counts"][decision] = n
        if entry["last_decision_at"] is None or last > entry["last_decision_at"]:
            entry["last_decision_at"] = last
        totals[decision] = totals.get(decision, 0) + n
    rejections = con.execute(
        f"""SELECT occurred_at, action_type, proposal_id, reason, entity_id, agent
        FROM ({latest}) WHERE decision = 'rejected'
        ORDER BY occurred_at DESC, source_id DESC""", params).fetchall()
    keys = ("occurred_at", "action_type", "proposal_id", "reason", "entity_id", "agent")
    rejection_rows = [dict(zip(keys, r, strict=True)) for r in rejections]
    for r in rejection_rows:
        r["occurred_at"] = r["occurred_at"].isoformat()
    action_types = {}
    for atype, entry in per_type.items():
        action_types[atype] = {
            **_rates(entry["counts"]),
            "last_decision_at": entry["last_decision_at"].isoformat(),
            "recent_rejection_reasons": [r["reason"] for r in rejection_rows
                                         if (r["action_type"] or "(none)") == atype
                                         and r["reason"]][:recent],
        }
    pref_where = ["kind = ?", "preference IS NOT NULL"]
    pref_params: list[Any] = [PREFERENCE_KIND]
    if action_type is not None:
        pref_where.append("(action_type = ? OR action_type IS NULL)")
        pref_params.append(action_type)
    if window_days is not None:
        pref_where.append("occurred_at >= ?")
        pref_params.append(params[-1])
    prefs = con.execute(
        f"""SELECT occurred_at, preference, action_type, entity_id, reason, source_id
        FROM policy_traces WHERE {' AND '.join(pref_where)}
        ORDER BY occurred_at DESC, source_id DESC LIMIT 50""", pref_params).fetchall()
    problems = con.execute(
        f"SELECT count(*) FROM policy_traces WHERE problem IS NOT NULL AND {cond}", params
    ).fetchone()[0]
    return {
        "action_types": action_types,
        "overall": _rates(totals),
        "recent_rejections": rejection_rows[:recent],
        "preferences": [{"occurred_at": t.isoformat(), "preference": p, "action_type": a,
                         "entity_id": e, "reason": r, "source_id": s}
                        for t, p, a, e, r, s in prefs],
        "problems": problems,
    }


# --- Dagster ------------------------------------------------------------------------------


@dg.asset(
    key=ASSET,
    group_name=GROUP,
    pool="warehouse",
    automation_condition=FOLLOW_INPUTS,
    kinds={"duckdb", "python"},
    deps=[EVENT_LOG],
    description=(
        "Policy traces: the operator's approvals, rejections, edits (with reasons) and stated "
        "preferences, from `operator` events of the log (kinds approval_decision / preference). "
        "The planner reads policy_summary() (approval rate per action type, recent rejection "
        "reasons, preferences)."
    ),
)
def policy_traces(context: dg.AssetExecutionContext,
                  warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        stats = build_policy_traces(con)
        summary = policy_summary(con)
        preview = con.execute(
            """SELECT occurred_at::DATE, kind, action_type, coalesce(decision, preference),
                      reason, problem
            FROM policy_traces ORDER BY occurred_at DESC, source_id DESC LIMIT 10"""
        ).fetchall()
    if stats.problems:
        context.log.warning(f"{stats.problems} operator record(s) break the policy contract")
    rates = {k: v["approval_rate"] for k, v in summary["action_types"].items()}
    return dg.MaterializeResult(metadata={
        "dagster/row_count": stats.rows,
        "new_rows": stats.new,
        "decisions": stats.decisions,
        "preferences": stats.preferences,
        "contract_problems": stats.problems,
        "approval_rate_by_action_type": dg.MetadataValue.json(rates),
        "preview": dg.MetadataValue.md(markdown_table(
            ["day", "kind", "action_type", "decision / preference", "reason", "problem"],
            preview)),
    })


@dg.asset_check(asset=ASSET, blocking=False,
                description="operator records follow the decision / preference contract")
def policy_traces_follow_contract(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        bad = con.execute(
            "SELECT source_id, problem FROM policy_traces WHERE problem IS NOT NULL "
            "ORDER BY occurred_at DESC LIMIT 20").fetchall()
        n = con.execute("SELECT count(*) FROM policy_traces WHERE problem IS NOT NULL"
                        ).fetchone()[0]
    return dg.AssetCheckResult(
        passed=n == 0, severity=dg.AssetCheckSeverity.WARN,
        metadata={"records_with_problems": n,
                  "examples": dg.MetadataValue.md(markdown_table(["source_id", "problem"], bad))})


POLICY_ASSETS = [policy_traces]
POLICY_CHECKS = [policy_traces_follow_contract]
