"""Follow-up: stale leads and quiet customers get a short, specific nudge.

A lead is an entity with a CRM record whose ``lifecycle_stage`` is ``lead`` (entity ids from
``entity_membership``); it is stale when nothing (mail, meeting, chat) involved it for
``stale_days`` before the business clock. A customer (``dim_contacts.is_customer``) is quiet
after ``quiet_days``. The topic is the subject of the last interaction; the evidence is the
CRM record and the latest interactions; working memory feeds the model tier.

Meetings (:mod:`aios_assets.agents.meetings`): when the candidate's last message asked to meet
and nobody answered it, the follow-up offers free slots and proposes one linked
``calendar_hold`` per slot; when a reply in that thread picks one, ``calendar_confirm`` and
``calendar_cancel`` proposals follow. A group (an e-mail and its holds, or a confirm and its
cancels) is kept or dropped whole by ``keep_best``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from aios_assets.agents import meetings
from aios_assets.agents.marts import clean_subject, entity_events, recent_rejections, require
from aios_assets.agents.proposals import Proposal
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
    groups: list[list[Proposal]] = []
    rows_md: list[tuple] = []
    notes: list[str] = []
    stats = {"candidates": 0, "stale_leads": 0, "quiet_customers": 0, "skipped_no_email": 0,
             "meeting_offers": 0, "meeting_offers_too_few_slots": 0,
             "meeting_picks": 0, "meeting_replies_unclear": 0}
    calendar = "calendar_hold" in run.manifest.action_types and meetings.calendar_available(con)
    settings = meetings.calendar_settings() if calendar else None
    busy: list[tuple[str | None, meetings.Interval]] = []
    if settings is not None:
        # N working days span at most N weeks (a one-day working week) plus today's
        horizon = run.now + timedelta(days=7 * int(run.param("meeting_horizon_days", 5)) + 7)
        busy = [*((None, b) for b in meetings.busy_intervals(con, op_email, settings.tz,
                                                             run.now, horizon)),
                *meetings.held_elsewhere(con, AGENT, run.now)]
        for offer in meetings.open_offers(con, run):
            reply = meetings.reply_to(con, offer, run.as_of)
            if reply is None:
                continue
            pick = meetings.pick_of(con, offer, reply, settings)
            who = offer.email.payload.get("to")
            if pick.index is not None and offer.holds[pick.index].proposal_id in offer.rejected:
                pick = meetings.Pick(None, f"{pick.reason}, but the operator rejected that hold")
            if pick.index is None:
                stats["meeting_replies_unclear"] += 1
                notes.append(f"{who} replied to the times offered in proposal "
                             f"{offer.email.proposal_id}; nothing proposed: {pick.reason}.")
                continue
            stats["meeting_picks"] += 1
            groups.append(meetings.settle(run, offer, reply, pick))
            notes.append(f"{who} picked: {pick.reason}.")
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
        ask = (meetings.meeting_ask(con, entity_id, op_email, run.as_of)
               if settings is not None else None)
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
        if ask is not None and settings is not None and last_at is not None:
            offer = meetings.make_offer(
                con, run, entity_id=entity_id, full_name=full_name, email=email,
                basis=f"followup-meet:{entity_id}:{last_at:%Y-%m-%d}", fields=fields,
                evidence=evidence, confidence=confidence, why=why, ask=ask,
                settings=settings, busy=busy)
            if offer is not None:
                group, note = offer
                stats["meeting_offers"] += 1
                busy += [(None, meetings.Interval(datetime.fromisoformat(p.payload["start"]),
                                                  datetime.fromisoformat(p.payload["end"])))
                         for p in group if p.action_type == "calendar_hold"]
                groups.append(group)
                notes.append(note)
                rows_md.append(("lead" if is_lead else "customer", full_name, days,
                                f"{topic} (meeting)"))
                continue
            stats["meeting_offers_too_few_slots"] += 1
            why += " They asked to meet, but fewer than two slots are free: a plain follow-up."
        groups.append([run.propose(
            action_type="send_email", target_entity_id=entity_id,
            basis=f"followup:{entity_id}:{last_at:%Y-%m-%d}" if last_at
            else f"followup:{entity_id}:never",
            payload=payload, rationale=why, evidence=evidence, confidence=confidence,
            untrusted_input=bool(subject_topic))])
        rows_md.append(("lead" if is_lead else "customer", full_name, days, topic))
    # keep_best ranks the first proposal of each group; a kept group stays whole.
    heads = {g[0].proposal_id: g for g in groups}
    kept = [p for head in keep_best([g[0] for g in groups], run) for p in heads[head.proposal_id]]
    preview = markdown_table(["kind", "who", "days quiet", "topic"], rows_md[:20])
    if notes:
        preview += "\n\n**Meetings**:\n\n" + "\n".join(f"- {n}" for n in notes)
    emails = [p for p in kept if p.action_type == "send_email"]
    if emails:
        preview += "\n\n**Draft**:\n\n" + quote_md(emails[0].payload)
    stats["meeting_notes"] = notes
    return AgentOutput(kept, preview, stats)
