"""Follow-up: stale leads and quiet customers get a short, specific nudge.

A lead is an entity with a CRM record whose ``lifecycle_stage`` is ``lead`` (entity ids from
``entity_membership``); it is stale when nothing (mail, meeting, chat) involved it for
``stale_days`` before the business clock. A customer (``dim_contacts.is_customer``) is quiet
after ``quiet_days``. The topic is the subject of the last interaction; the evidence is the
CRM record and the latest interactions; working memory feeds the model tier.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb

from aios_assets.agents.marts import clean_subject, entity_events, recent_rejections, require
from aios_assets.agents.runtime import (
    AgentOutput,
    AgentRun,
    days_between,
    injection_signals,
    keep_best,
    operator_first_name,
)
from aios_assets.agents.triage import quote_md
from aios_assets.shared.text import markdown_table

AGENT = "followup"


def candidates(con: duckdb.DuckDBPyConnection, run: AgentRun, operator_email: str | None,
               ) -> list[tuple]:
    stale = run.as_of - timedelta(days=float(run.param("stale_days", 21)))
    quiet = run.as_of - timedelta(days=float(run.param("quiet_days", 45)))
    return con.execute(
        """WITH leads AS (
            SELECT m.entity_id, arg_max(e.event_id, e.occurred_at) AS crm_event_id
            FROM entity_membership m
            JOIN events_current e ON e.source = m.source AND e.source_id = m.source_id
            WHERE e.kind = 'contact' AND lower(e.payload ->> 'lifecycle_stage') = 'lead'
            GROUP BY 1
        ),
        last AS (
            SELECT entity_id, max(occurred_at) AS last_at,
                   arg_max(subject, occurred_at) AS last_subject
            FROM fct_interactions WHERE entity_id IS NOT NULL AND occurred_at <= ?
            GROUP BY 1
        )
        SELECT c.entity_id, c.full_name, c.first_name, c.primary_email,
               l.entity_id IS NOT NULL AS is_lead, coalesce(c.is_customer, false),
               last.last_at, last.last_subject, l.crm_event_id
        FROM dim_contacts c
        LEFT JOIN leads l USING (entity_id)
        LEFT JOIN last USING (entity_id)
        WHERE lower(coalesce(c.primary_email, '')) IS DISTINCT FROM lower(?)
          AND ((l.entity_id IS NOT NULL AND (last.last_at IS NULL OR last.last_at < ?))
               OR (l.entity_id IS NULL AND coalesce(c.is_customer, false)
                   AND last.last_at < ?))
        ORDER BY last.last_at NULLS FIRST, c.entity_id""",
        [run.as_of, operator_email or "", stale, quiet]).fetchall()


def run_followup(con: duckdb.DuckDBPyConnection, run: AgentRun) -> AgentOutput:
    require(con, "events_current", "entity_membership", "dim_contacts", "fct_interactions")
    from aios_assets.memory.working import working_window

    op_email, op_first = operator_first_name(con)
    proposals, rows_md = [], []
    stats = {"candidates": 0, "stale_leads": 0, "quiet_customers": 0, "skipped_no_email": 0}
    for (entity_id, full_name, first_name, email, is_lead, _is_customer, last_at, last_subject,
         crm_event) in candidates(con, run, op_email):
        stats["candidates"] += 1
        stats["stale_leads" if is_lead else "quiet_customers"] += 1
        first = (first_name or (full_name or "").split(" ")[0] or "").strip()
        if first.isupper():
            first = first.title()
        if not email or not first:
            stats["skipped_no_email"] += 1
            continue
        days = days_between(run.as_of, last_at)
        generic = "your data plans" if is_lead else "how things are going"
        subject_topic = clean_subject(last_subject)
        # The topic is a mail subject, often written by the correspondent: untrusted input,
        # and never copied into a draft when it carries instructions aimed at an assistant.
        suspicious = injection_signals(subject_topic)
        topic = generic if suspicious or not subject_topic else subject_topic
        window = working_window(con, "entity", entity_id, 400)
        evidence = [*([crm_event] if crm_event else []),
                    *entity_events(con, entity_id, run.as_of), *(w.event_id for w in window)]
        fields = {"first_name": first, "topic": topic,
                  "days_quiet": days if days is not None else "many",
                  "operator_first_name": op_first}
        payload = {"to": email, "subject": run.fill("subject", fields),
                   "body": run.draft("body", fields)}
        rejected = recent_rejections(con, AGENT, entity_id, run.as_of)
        confidence = (0.7 if last_at else 0.55) if is_lead else 0.6
        why = (f"{'Lead' if is_lead else 'Customer'} {full_name}: "
               + (f"no interaction for {days} days (last: \"{topic}\")" if last_at
                  else "never contacted since entering the CRM") + ".")
        if rejected:
            confidence -= 0.3
            why += f" The operator rejected a follow-up recently ({rejected[0]})."
        if suspicious:
            why += (f" The last subject looked like a prompt injection ({', '.join(suspicious)}"
                    "): a generic topic is used instead.")
        proposals.append(run.propose(
            action_type="send_email", target_entity_id=entity_id,
            basis=f"followup:{entity_id}:{last_at:%Y-%m-%d}" if last_at
            else f"followup:{entity_id}:never",
            payload=payload, rationale=why, evidence=evidence, confidence=confidence,
            untrusted_input=bool(subject_topic)))
        rows_md.append(("lead" if is_lead else "customer", full_name, days, topic))
    kept = keep_best(proposals, run)
    preview = markdown_table(["kind", "who", "days quiet", "topic"], rows_md[:20])
    if kept:
        preview += "\n\n**Draft**:\n\n" + quote_md(kept[0].payload)
    return AgentOutput(kept, preview, stats)
