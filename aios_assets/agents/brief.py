"""Brief: the daily operator brief — what happened, what waits, what it cost.

Reads the last ``lookback_hours`` of the log (as of the business clock), the latest daily
summary, the other agents' proposals of this run (``agent_outputs``), overdue invoices and the
LLM cost ledger, and proposes one ``notify_webhook`` message per day.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import duckdb

from aios_assets.agents.billing import money, overdue_invoices
from aios_assets.agents.marts import require
from aios_assets.agents.proposals import AGENT_OUTPUTS_TABLE
from aios_assets.agents.runtime import (
    AgentOutput,
    AgentRun,
    injection_signals,
    keep_best,
    operator_first_name,
    quote_for_delivery,
)
from aios_assets.shared.db import has_relation
from aios_assets.shared.sql_rules import sql_email_of


def _costs(con: duckdb.DuckDBPyConnection, run: AgentRun) -> str:
    spend = getattr(run.llm, "spend_today", None)
    if callable(spend):
        try:
            s = spend()
            return f"${s.total_usd:.4f} on paid LLM tiers today (UTC), {s.total_tokens:,} tokens"
        except Exception as exc:  # the brief still goes out; it says why costs are unknown
            return f"unknown ({type(exc).__name__})"
    if has_relation(con, "cost_ledger"):
        usd = con.execute("SELECT coalesce(sum(cost_usd), 0) FROM cost_ledger").fetchone()[0]
        return f"${float(usd):.4f} in the cost ledger"
    return "no LLM endpoint configured: offline tier, $0"


def run_brief(con: duckdb.DuckDBPyConnection, run: AgentRun) -> AgentOutput:
    require(con, "events_current")
    since = run.as_of - timedelta(hours=float(run.param("lookback_hours", 24)))
    events = con.execute(
        f"""SELECT event_id, kind, subject, {sql_email_of('actor')}, payload ->> 'amount'
            FROM events_current WHERE occurred_at > ? AND occurred_at <= ?
            ORDER BY occurred_at DESC, event_id""", [since, run.as_of]).fetchall()
    kinds = Counter(e[1] for e in events)
    paid = sum(float(e[4] or 0) for e in events if e[1] == "payment")
    mail_subjects = [e[2] for e in events if e[1] == "email" and e[2]]
    # Inbound subjects are untrusted: those carrying instructions aimed at an assistant are
    # counted, never copied into the brief (triage warns about them separately).
    withheld = sum(1 for s in mail_subjects if injection_signals(s))
    subjects = [s for s in mail_subjects if not injection_signals(s)][:3]
    op_email, _ = operator_first_name(con)
    keep = frozenset({op_email.lower()}) if op_email else frozenset()
    lines = [f"# Daily brief — {run.as_of:%A %d %B %Y}", "", "## What happened"]
    if events:
        lines.append("- " + ", ".join(f"{n} {k.replace('_', ' ')}(s)"
                                      for k, n in kinds.most_common()))
        if paid:
            lines.append(f"- payments received: {paid:,.2f}")
        # Quoted as data: one escaped line, marked untrusted, no addresses but the operator's.
        lines += [f"- mail subject {quote_for_delivery(s, keep_emails=keep)}" for s in subjects]
        if withheld:
            lines.append(f"- {withheld} mail subject(s) withheld: suspected prompt injection")
    else:
        lines.append("- nothing new in the last day")
    daily_ids: list[str] = []
    if has_relation(con, "summaries"):
        row = con.execute(
            "SELECT text, source_event_ids FROM summaries WHERE level = 'daily' "
            "AND period_start <= ? ORDER BY period_start DESC LIMIT 1", [run.as_of]).fetchone()
        summary = " ".join(str(row[0]).split())[:400] if row else ""
        if summary and not injection_signals(summary):
            lines.append(f"- summary {quote_for_delivery(summary, limit=400, keep_emails=keep)}")
            daily_ids = list(row[1] or [])[:10]
        elif summary:
            lines.append("- summary withheld: it quotes a suspected prompt injection")
    lines += ["", "## What waits"]
    if has_relation(con, AGENT_OUTPUTS_TABLE):
        waiting = con.execute(
            f"SELECT agent, action_type, count(*) FROM {AGENT_OUTPUTS_TABLE} "
            "WHERE mode = 'live' AND agent <> 'brief' GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
        lines += [f"- {n} {a} proposal(s) from {g}" for g, a, n in waiting] or [
            "- no proposals waiting"]
    if has_relation(con, "fct_invoices"):
        overdue = overdue_invoices(con, run.as_of)
        if overdue:
            total = sum(float(r[6]) for r in overdue)
            cur = overdue[0][7]
            lines.append(f"- {len(overdue)} overdue invoice(s), {money(total, cur)} outstanding")
    lines += ["", "## What it cost", f"- {_costs(con, run)}"]
    text = "\n".join(lines)
    evidence = [*(e[0] for e in events[:20]), *daily_ids]
    if not evidence:  # a quiet day: cite the newest event the brief saw
        row = con.execute("SELECT event_id FROM events_current WHERE occurred_at <= ? "
                          "ORDER BY occurred_at DESC LIMIT 1", [run.as_of]).fetchone()
        evidence = [row[0]] if row else []
    stats = {"events": len(events), "emails": kinds.get("email", 0)}
    if not evidence:
        # an empty event log (a new home whose files were all rejected): nothing to cite, and
        # a proposal without evidence fails brief_outputs_valid, so no brief to send
        return AgentOutput([], text, stats)
    proposal = run.propose(
        action_type="notify_webhook", target_entity_id=None,
        basis=f"brief:{run.as_of:%Y-%m-%d}", payload={"text": text},
        rationale=f"Daily brief for {run.as_of:%Y-%m-%d}: {len(events)} event(s) in the last "
                  "day, waiting work and costs.",
        evidence=evidence, confidence=0.9,
        untrusted_input=bool(subjects) or bool(daily_ids))  # both quote inbound text
    return AgentOutput(keep_best([proposal], run), text, stats)
