"""Billing: overdue invoices get a reminder whose tone escalates with the days overdue.

Overdue = unpaid balance and ``due_at`` before the business clock (``fct_invoices``; void and
cancelled invoices excluded). The level comes from ``params.levels`` ([min days, tone], ...):
friendly, firm, final. Amounts, numbers and dates come from the mart and are filled into the
subject locally; the recipient is the customer entity's canonical address. A customer that did
not resolve to an entity gets an internal note to the operator instead.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import duckdb

from aios_assets.agents.marts import contact, recent_rejections, require
from aios_assets.agents.runtime import AgentOutput, AgentRun, keep_best, operator_first_name
from aios_assets.agents.triage import quote_md
from aios_assets.shared.text import markdown_table

AGENT = "billing"
CONFIDENCE = {"friendly": 0.85, "firm": 0.8, "final": 0.7}


def level_for(days_overdue: int, levels: list[list]) -> str:
    """The tone for ``days_overdue`` (the highest level whose threshold is reached)."""
    tone = str(levels[0][1])
    for threshold, name in sorted(levels, key=lambda x: int(x[0])):
        if days_overdue >= int(threshold):
            tone = str(name)
    return tone


def money(amount: Decimal | float, currency: str | None) -> str:
    return f"{(currency or '').upper()} {float(amount):,.2f}".strip()


def overdue_invoices(con: duckdb.DuckDBPyConnection, as_of: datetime) -> list[tuple]:
    return con.execute(
        """SELECT invoice_id, event_id, customer_entity_id, customer_name, description,
                  due_at, balance, currency
           FROM fct_invoices
           WHERE NOT coalesce(is_paid, false) AND balance > 0
             AND coalesce(payment_state, 'open') NOT IN ('void', 'cancelled', 'canceled', 'paid')
             AND due_at < ?
           ORDER BY due_at, invoice_id""", [as_of]).fetchall()


def run_billing(con: duckdb.DuckDBPyConnection, run: AgentRun) -> AgentOutput:
    require(con, "fct_invoices", "dim_contacts", "events_current")
    _, op_first = operator_first_name(con)
    levels = run.param("levels", [[1, "friendly"], [14, "firm"], [30, "final"]])
    proposals, rows_md = [], []
    stats = {"overdue": 0, "reminders": 0, "unresolved_customers": 0, "overdue_balance": 0.0}
    for (invoice_id, event_id, entity_id, customer_name, description, due_at, balance,
         currency) in overdue_invoices(con, run.as_of):
        stats["overdue"] += 1
        stats["overdue_balance"] += float(balance)
        days = max(1, int((run.as_of - due_at).total_seconds() // 86400))
        tone = level_for(days, levels)
        payments = [r[0] for r in con.execute(
            "SELECT event_id FROM events_current WHERE kind = 'payment' "
            "AND (payload ->> 'invoice_id') = ? ORDER BY occurred_at", [invoice_id]).fetchall()]
        evidence = [e for e in [event_id, *payments] if e]
        who = contact(con, entity_id)
        amount = money(balance, currency)
        if who is None or not who.primary_email or not who.greeting_name:
            stats["unresolved_customers"] += 1
            proposals.append(run.propose(
                action_type="internal_note", target_entity_id=entity_id,
                basis=f"invoice:{invoice_id}|level:{tone}|unresolved",
                payload={"title": f"Invoice {invoice_id} overdue: no canonical contact",
                         "text": f"Invoice {invoice_id} ({amount}, {customer_name or '?'}) is "
                                 f"{days} days overdue, but its customer has no canonical "
                                 "address, so no reminder was drafted."},
                rationale="Overdue invoice whose customer did not resolve to a contact with "
                          "an address; the operator decides.",
                evidence=evidence, confidence=0.9))
            rows_md.append((invoice_id, customer_name, amount, days, "note to operator"))
            continue
        fields = {"invoice_id": invoice_id, "first_name": who.greeting_name, "balance": amount,
                  "description": description or "our work", "due_date": f"{due_at:%d %B %Y}",
                  "days_overdue": days, "operator_first_name": op_first}
        payload = {"to": who.primary_email, "subject": run.fill(f"subject_{tone}", fields),
                   "body": run.draft(f"body_{tone}", fields)}
        rejected = recent_rejections(con, AGENT, who.entity_id, run.as_of)
        confidence = CONFIDENCE.get(tone, 0.75) - (0.3 if rejected else 0.0)
        why = (f"Invoice {invoice_id} ({amount}) was due {due_at:%Y-%m-%d} and is {days} days "
               f"overdue: {tone} reminder to {who.full_name}.")
        if rejected:
            why += f" The operator rejected a reminder to them recently ({rejected[0]})."
        proposals.append(run.propose(
            action_type="send_email", target_entity_id=who.entity_id,
            basis=f"invoice:{invoice_id}|level:{tone}", payload=payload, rationale=why,
            evidence=evidence, confidence=confidence))
        stats["reminders"] += 1
        rows_md.append((invoice_id, who.full_name, amount, days, tone))
    stats["overdue_balance"] = round(stats["overdue_balance"], 2)
    kept = keep_best(proposals, run)
    preview = markdown_table(["invoice", "customer", "balance", "days overdue", "tone"],
                             rows_md[:20])
    if kept:
        preview += "\n\n**Draft**:\n\n" + quote_md(kept[0].payload)
    return AgentOutput(kept, preview, stats)
