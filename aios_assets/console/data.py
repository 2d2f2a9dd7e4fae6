"""What the Today and Proposals pages show, read from the warehouse snapshot and Postgres."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb

from aios_assets.console import seams

# Statuses the operator acts on (approve, reject, edit).
DECIDABLE = frozenset({"pending", "failed_gate", "approved"})
AWAITING = "pending"


def has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                      [name]).fetchone()
    return bool(row and row[0])


# --- today -----------------------------------------------------------------------------------


def latest_brief(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The newest live brief the brief agent proposed (its text is markdown)."""
    if not has_relation(con, "action_proposals"):
        return None
    row = con.execute(
        """SELECT proposal_id, created_at, coalesce(payload ->> 'text', payload ->> 'title', '')
           FROM action_proposals WHERE agent = 'brief' AND mode = 'live'
           ORDER BY created_at DESC, proposal_id LIMIT 1""").fetchone()
    if row is None:
        return None
    return {"proposal_id": row[0], "created_at": row[1], "text": row[2]}


def open_incidents(pg_url: str | None, limit: int = 20) -> list[dict[str, Any]]:
    """Open incidents (``aios.incidents``), newest first, with their runbook step."""
    return seams.pg_rows(
        pg_url, """SELECT incident_id, opened_at, job_name, run_id, step_key, error_class,
                          left(error_message, 400) AS error_message, cause, runbook_step
                   FROM aios.incidents WHERE status = 'open'
                   ORDER BY opened_at DESC LIMIT %s""", (limit,), table="incidents")


def spend_today(pg_url: str | None, con: duckdb.DuckDBPyConnection,
                now: datetime | None = None) -> dict[str, Any]:
    """LLM spend since midnight UTC (total and per agent) against the budgets in force."""
    now = now or datetime.now(UTC)
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = seams.pg_rows(
        pg_url, """SELECT coalesce(agent, '-') AS agent, count(*) AS calls,
                          coalesce(sum(cost_usd), 0)::float8 AS usd,
                          coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint AS tokens
                   FROM aios.llm_calls WHERE called_at >= %s GROUP BY 1 ORDER BY 3 DESC, 1""",
        (start,), table="llm_calls")
    source = "aios.llm_calls"
    if not pg_url and has_relation(con, "cost_ledger"):
        source = "cost_ledger"
        cur = con.execute(
            """SELECT coalesce(agent, '-'), count(*), coalesce(sum(cost_usd), 0),
                      coalesce(sum(prompt_tokens + completion_tokens), 0)
               FROM cost_ledger WHERE kind = 'llm' AND called_at >= ? GROUP BY 1
               ORDER BY 3 DESC, 1""", [start])
        rows = [{"agent": a, "calls": c, "usd": float(u), "tokens": int(t)}
                for a, c, u, t in cur.fetchall()]
    total = sum(float(r["usd"]) for r in rows)
    tokens = sum(int(r["tokens"]) for r in rows)
    by_agent = {r["agent"]: r for r in rows}
    lines = []
    try:
        budgets = seams.budgets()
        budget_error = None
    except ValueError as exc:
        budgets, budget_error = [], str(exc)
    for b in budgets:
        if b.scope == "all":
            used, used_tokens = total, tokens
        elif b.scope == "agent":
            r = by_agent.get(b.name, {})
            used, used_tokens = float(r.get("usd", 0.0)), int(r.get("tokens", 0))
        else:
            continue  # per-run intent budgets are held against each run, not the day
        share = (used / b.budget_usd) if b.budget_usd else None
        lines.append({"scope": b.scope, "name": b.name, "budget_usd": b.budget_usd,
                      "budget_tokens": b.budget_tokens, "used_usd": round(used, 6),
                      "used_tokens": used_tokens, "share": share, "source": b.source,
                      "over": bool(share is not None and share >= 1.0)})
    return {"since": start, "total_usd": round(total, 6), "tokens": tokens, "by_agent": rows,
            "budgets": lines, "budget_error": budget_error, "source": source}


# --- proposals -------------------------------------------------------------------------------


def proposals(con: duckdb.DuckDBPyConnection, status: str | None = None
              ) -> list[dict[str, Any]]:
    rows = seams.proposals_overview(con)
    rows.sort(key=lambda r: (r["status"] != AWAITING, -(r["created_at"] or datetime.min.replace(
        tzinfo=UTC)).timestamp(), r["proposal_id"]))
    if status:
        rows = [r for r in rows if r["status"] == status]
    return rows


def status_counts(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return dict(sorted(counts.items()))


def evidence(con: duckdb.DuckDBPyConnection, ids: Sequence[str], chars: int = 600
             ) -> list[dict[str, Any]]:
    """Each evidence event quoted (latest version): source_id, date, actor, subject, text."""
    if not ids or not has_relation(con, "event_log"):
        return []
    cur = con.execute(
        """SELECT event_id, source, source_id, kind, occurred_at, actor, thread, subject,
                  left(text, ?) AS text, length(text) > ? AS cut
           FROM event_log WHERE event_id IN (SELECT unnest(?))
           QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY version DESC) = 1""",
        [chars, chars, list(ids)])
    cols = [d[0] for d in cur.description]
    found = {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    return [found.get(e, {"event_id": e, "missing": True}) for e in ids]


def proposal_detail(con: duckdb.DuckDBPyConnection, pid: str, pg_url: str | None
                    ) -> dict[str, Any] | None:
    """Everything the proposal page shows, or None for an unknown id."""
    rows = seams.load_proposal_rows(con, [pid])
    if not rows:
        return None
    raw = rows[0]
    audit = seams.audit_proposal(con, pid, pg_url)
    overview = next((r for r in seams.proposals_overview(con) if r["proposal_id"] == pid), {})
    payload = audit["proposal"]["payload"] or {}
    edits = seams.pg_rows(
        pg_url, """SELECT edit_id, original_id, new_id, edited_by, via, edited_at,
                          old_subject, new_subject, old_body, new_body
                   FROM aios.proposal_edits WHERE original_id = %s OR new_id = %s
                   ORDER BY edited_at""", (pid, pid), table="proposal_edits")
    return {
        "proposal": audit["proposal"],
        "payload": payload,
        "recipients": recipients(raw["action_type"], payload),
        "status": overview.get("status", "?"),
        "mode": overview.get("mode"),
        "mode_reason": overview.get("mode_reason"),
        "status_reason": overview.get("status_reason"),
        "evidence": evidence(con, list(raw.get("evidence_event_ids") or [])),
        "gates": audit["gates"],
        "decisions": audit["decisions"],
        "outbox": audit["outbox"],
        "cost": audit["cost"],
        "fate": audit["fate"],
        "edits": edits,
        "editable": raw["action_type"] == "send_email",
        "decidable": overview.get("status") in DECIDABLE,
    }


def recipients(action_type: str, payload: dict[str, Any]) -> list[str]:
    if action_type == "send_email":
        out: list[str] = []
        for key in ("to", "cc"):
            value = payload.get(key)
            out += [str(v) for v in value] if isinstance(value, list) else (
                [str(value)] if value else [])
        return out
    if action_type == "notify_webhook":
        return ["the operator's webhook"]
    if action_type == "http_request":
        return [f"{payload.get('method', '?')} {payload.get('path', '?')}"]
    return ["internal (no one outside)"]
