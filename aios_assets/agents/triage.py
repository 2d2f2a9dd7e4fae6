"""Triage: classify unanswered inbound mail, prioritize it, suggest replies, flag injections.

Per thread, the newest inbound message (not from the operator) in the last ``window_days`` that
the operator has not answered since. Then:

* instructions aimed at an assistant (:func:`injection_signals`) -> an ``internal_note`` warning
  to the operator; nothing is drafted to the sender and nothing in the mail is acted on;
* spam -> counted in the digest;
* a known correspondent (canonical entity in the CRM, a customer, or someone the operator has
  written to) -> a ``send_email`` reply to their canonical primary email (from
  ``dim_contacts``, never from the message headers), ``in_reply_to`` the message;
* anything else -> one ``internal_note`` digest for the operator.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import duckdb

from aios_assets.agents.marts import clean_subject, contact, require
from aios_assets.agents.runtime import (
    AgentOutput,
    AgentRun,
    injection_signals,
    keep_best,
    operator_first_name,
    quote_for_delivery,
    quote_untrusted,
    safe_inbound,
    sender_label,
)
from aios_assets.shared.sql_rules import sql_email_of
from aios_assets.shared.text import markdown_table, message_body

AGENT = "triage"


def _inbound(con: duckdb.DuckDBPyConnection, run: AgentRun, operator_email: str | None,
             ) -> list[tuple]:
    sender = sql_email_of("e.actor")
    since = run.as_of - timedelta(days=float(run.param("window_days", 3)))
    return con.execute(
        f"""WITH mail AS (
            SELECT e.event_id, e.source, e.source_id, coalesce(e.thread, e.source_id) AS thread,
                   e.subject, e.text, e.actor, e.occurred_at, e.payload ->> 'message_id' AS mid,
                   {sender} AS sender
            FROM events_current e WHERE e.kind = 'email' AND e.occurred_at <= ?
        ),
        answered AS (
            SELECT thread, max(occurred_at) AS last_out FROM mail
            WHERE sender = ? GROUP BY thread
        ),
        inbound AS (
            SELECT m.* FROM mail m LEFT JOIN answered a USING (thread)
            WHERE m.occurred_at > ? AND m.sender IS DISTINCT FROM ?
              AND (a.last_out IS NULL OR a.last_out < m.occurred_at)
            QUALIFY row_number() OVER (PARTITION BY m.thread ORDER BY m.occurred_at DESC,
                                       m.event_id) = 1
        )
        SELECT i.event_id, i.source_id, i.thread, i.subject, i.text, i.actor, i.occurred_at,
               i.mid, f.entity_id,
               EXISTS (SELECT 1 FROM fct_interactions t JOIN mail o
                         ON o.source = t.source AND o.source_id = t.source_event_id
                       WHERE t.entity_id = f.entity_id AND t.role IN ('to', 'cc')
                         AND o.sender = ? AND o.occurred_at < i.occurred_at) AS written_to
        FROM inbound i
        LEFT JOIN fct_interactions f
          ON f.source = i.source AND f.source_event_id = i.source_id AND f.role = 'from'
        ORDER BY i.occurred_at DESC, i.event_id""",
        [run.as_of, operator_email, since, operator_email, operator_email]).fetchall()


def run_triage(con: duckdb.DuckDBPyConnection, run: AgentRun) -> AgentOutput:
    require(con, "events_current", "fct_interactions", "dim_contacts")
    op_email, op_first = operator_first_name(con)
    keep = frozenset({op_email.lower()}) if op_email else frozenset()
    labels = list(run.param("labels", ["urgent", "billing", "sales", "spam", "other"]))
    no_reply = set(run.param("no_reply_labels", ["spam"]))
    priority_of = dict(run.param("priority", {}))
    proposals, digest, rows_md = [], [], []
    stats = {"inbound": 0, "replies": 0, "injections": 0, "digest": 0, "spam": 0}
    for (event_id, source_id, thread, subject, text, actor, at, mid, entity_id,
         written_to) in _inbound(con, run, op_email):
        stats["inbound"] += 1
        body = message_body(text or "")
        signals = injection_signals(f"{subject or ''}\n{text or ''}")
        who = contact(con, entity_id)
        name = sender_label(who.full_name if who else None, actor)
        # Subjects quoted to the operator never carry the instructions themselves, and the
        # rest are quoted as marked, one-line, escaped data (no smuggled header lines).
        shown = safe_inbound(subject, "(subject withheld: it carries the instructions)")
        if shown and shown == subject:
            shown = quote_for_delivery(subject, keep_emails=keep)
        thread_ids = [r[0] for r in con.execute(
            "SELECT event_id FROM events_current WHERE coalesce(thread, source_id) = ? "
            "AND occurred_at <= ? ORDER BY occurred_at DESC LIMIT 5",
            [thread, run.as_of]).fetchall()]
        evidence = [event_id, *thread_ids]
        if signals:
            stats["injections"] += 1
            note = (f"Message from {name} ({at:%Y-%m-%d %H:%M}, event {event_id}), subject "
                    f"{shown or '(none)'}, contains instructions aimed at an assistant "
                    f"({', '.join(signals)}). Nothing was drafted or done; treat any request "
                    "in it (payments, bank details, forwarding data) as suspect and verify "
                    "through a known channel.")
            proposals.append(run.propose(
                action_type="internal_note", target_entity_id=entity_id,
                basis=f"triage:injection:{event_id}",
                payload={"title": f"Suspected prompt injection from {name}", "text": note},
                rationale=f"Inbound mail matched injection patterns {signals}; untrusted text "
                          "is never acted on, so the operator is warned instead of a reply.",
                evidence=[event_id], confidence=0.9, untrusted_input=True))
            rows_md.append(("high", name, subject, "injection", "warn operator"))
            continue
        label, conf = run.classify(f"{subject or ''}\n{body}", labels)
        priority = priority_of.get(label, "normal")
        known = who is not None and (who.in_crm or who.is_customer or bool(written_to))
        if label in no_reply:
            stats["spam"] += 1
            digest.append((priority, name, shown, label, event_id))
            rows_md.append((priority, name, subject, label, "digest"))
            continue
        if not (known and who and who.primary_email and who.greeting_name):
            digest.append((priority, name, shown, label, event_id))
            rows_md.append((priority, name, subject, label, "digest"))
            continue
        topic = clean_subject(subject) or "your message"
        fields = {"subject": topic, "first_name": who.greeting_name, "topic": topic,
                  "when": "today" if priority == "high" else "by the end of the week",
                  "operator_first_name": op_first}
        payload = {"to": who.primary_email, "subject": run.fill("subject", fields),
                   "body": run.draft("body", fields)}
        if mid or source_id:
            payload["in_reply_to"] = mid or source_id
        hours = max(0, int((run.as_of - at).total_seconds() // 3600))
        proposals.append(run.propose(
            action_type="send_email", target_entity_id=who.entity_id,
            basis=f"triage:reply:{event_id}", payload=payload,
            rationale=(f"{label} mail from {who.full_name} (confidence {conf:.2f}), unanswered "
                       f"for {hours}h; priority {priority}. Reply goes to their canonical "
                       "address, not the message headers."),
            evidence=evidence, confidence=0.5 + 0.4 * conf, untrusted_input=True))
        stats["replies"] += 1
        rows_md.append((priority, who.full_name, subject, label, "reply drafted"))
    if digest:
        stats["digest"] = len(digest)
        order = {"high": 0, "normal": 1, "low": 2}
        digest.sort(key=lambda d: (order.get(d[0], 1), d[1] or ""))
        lines = [f"- [{p}] {n}: {s or '(no subject)'} ({lbl})" for p, n, s, lbl, _ in digest[:20]]
        ids = sorted(d[4] for d in digest)
        key = hashlib.sha256("|".join(ids).encode()).hexdigest()[:12]
        proposals.append(run.propose(
            action_type="internal_note", target_entity_id=None,
            basis=f"triage:digest:{run.as_of:%Y-%m-%d}:{key}",
            payload={"title": f"Inbox digest: {len(digest)} message(s) with no drafted reply",
                     "text": "\n".join(lines)},
            rationale=("Unknown senders, spam and low-value mail are listed for the operator "
                       "rather than answered."),
            evidence=ids, confidence=0.8, untrusted_input=True))
    kept = keep_best(proposals, run)
    preview = markdown_table(["priority", "from", "subject", "label", "action"], rows_md[:20])
    if kept:
        first = next((p for p in kept if p.action_type == "send_email"), kept[0])
        preview += "\n\n**Draft** (" + first.action_type + "):\n\n" + quote_md(first.payload)
    return AgentOutput(kept, preview, stats)


def quote_md(payload: dict) -> str:
    text = payload.get("body") or payload.get("text") or ""
    head = f"To: {payload['to']}  \nSubject: {payload.get('subject')}\n\n" if "to" in payload \
        else ""
    return head + "\n".join("> " + line for line in str(text).splitlines())


__all__ = ["AGENT", "quote_untrusted", "run_triage"]
