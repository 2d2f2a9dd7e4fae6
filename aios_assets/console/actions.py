"""What the console changes: decisions (the same path as ``aios approve/reject``) and edited
drafts.

An edited draft is a **new proposal** (new id and idempotency key, same agent, target, evidence
and intent), because a proposal the operator has seen never changes under them
(``merge_proposals`` never rewrites a row). The edit is kept in Postgres ``aios.proposal_edits``
(before and after), the original is rejected with a reason naming its new version, and the new
version is approved; it publishes only once it has passed every gate again in the next publish
run, exactly like any approved proposal.

Order matters for a crash: the new row first (harmless while undecided), then the edit record,
then the original's rejection, then the new version's approval. A crash anywhere leaves at
most a pending new version, never two approved drafts.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aios_assets.console import seams

EDIT_DDL = """
CREATE TABLE IF NOT EXISTS aios.proposal_edits (
    edit_id text PRIMARY KEY,
    original_id text NOT NULL,
    new_id text NOT NULL UNIQUE,
    edited_by text NOT NULL,
    via text NOT NULL,
    edited_at timestamptz NOT NULL DEFAULT now(),
    old_subject text,
    new_subject text,
    old_body text,
    new_body text
);
CREATE INDEX IF NOT EXISTS proposal_edits_by_original ON aios.proposal_edits (original_id);
"""
EDIT_MIGRATION = "console_proposal_edits_v1"
# Statuses whose draft may still be edited: nothing approved or sent yet.
EDITABLE_STATUSES = frozenset({"pending", "failed_gate"})
MIN_TTL = timedelta(days=1)


class ConsoleActionError(ValueError):
    """An action the console refuses, with the reason shown to the operator."""


@dataclass(frozen=True)
class Outcome:
    message: str
    proposal_id: str  # the proposal page to show next
    warnings: tuple[str, ...] = ()


def decide(pid: str, decision: str, reason: str | None, *, decided_by: str) -> Outcome:
    """Approve or reject one proposal through ``publishing.approvals.decide``."""
    try:
        report = seams.decide([pid], decision, reason, decided_by=decided_by)
    except seams.decision_error() as exc:
        raise ConsoleActionError(str(exc)) from exc
    d = report.decisions[0]
    note = f" ({report.note})" if report.note else ""
    return Outcome(f"{d.decision} {d.proposal_id} by {d.decided_by} via console{note}",
                   d.proposal_id, tuple(report.warnings))


def _status(pid: str) -> str | None:
    con = seams.warehouse_read()
    try:
        row = next((r for r in seams.proposals_overview(con) if r["proposal_id"] == pid), None)
    finally:
        con.close()
    return row["status"] if row else None


def edited_proposal(original: dict[str, Any], subject: str, body: str, *,
                    now: datetime) -> Any:
    """The new version of ``original`` with this subject and body (a contract Proposal)."""
    contract = seams.proposal_contract()
    payload = {**original["payload"], "subject": subject, "body": body}
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()
                            ).hexdigest()[:16]
    expires = original.get("expires_at")
    ttl = max(MIN_TTL, (expires - now) if expires else MIN_TTL)
    return contract.make_proposal(
        agent=original["agent"], manifest_version=original["manifest_version"],
        action_type=original["action_type"], target_entity_id=original["target_entity_id"],
        basis=f"edit-of:{original['proposal_id']}|{digest}", payload=payload,
        rationale=f"{original['rationale']}\n[edited by the operator in the console; "
                  f"previous version {original['proposal_id']}]",
        evidence_event_ids=list(original.get("evidence_event_ids") or ()),
        confidence=float(original.get("confidence") or 0.0),
        estimated_cost_usd=float(original.get("estimated_cost_usd") or 0.0), ttl=ttl,
        mode=original.get("mode") or "live", untrusted_input=bool(original.get("untrusted_input")),
        intent_id=original.get("intent_id"), plan_id=original.get("plan_id"),
        run_id=original.get("run_id"), now=now)


def edit_and_approve(pid: str, subject: str, body: str, *, decided_by: str) -> Outcome:
    """Store the edited draft as a new version, reject the old one, approve the new one."""
    subject, body = (subject or "").strip(), (body or "").replace("\r\n", "\n").strip()
    if not subject or not body:
        raise ConsoleActionError("the edited draft needs a subject and a body")
    con = seams.warehouse_read()
    try:
        rows = seams.load_proposal_rows(con, [pid])
    finally:
        con.close()
    if not rows:
        raise ConsoleActionError(f"no proposal {pid!r}")
    original = rows[0]
    if original["action_type"] != "send_email":
        raise ConsoleActionError("only e-mail drafts can be edited here")
    status = _status(pid)
    if status not in EDITABLE_STATUSES:
        raise ConsoleActionError(f"proposal {pid} is {status}: only a pending or held-back "
                                 "draft can be edited")
    old = original["payload"]
    if subject == str(old.get("subject") or "").strip() and \
            body == str(old.get("body") or "").replace("\r\n", "\n").strip():
        return decide(pid, "approved", "approved unchanged from the edit form",
                      decided_by=decided_by)
    now = datetime.now(UTC)
    new = edited_proposal(original, subject, body, now=now)
    contract = seams.proposal_contract()
    try:
        with seams.warehouse_write() as wcon:
            contract.merge_proposals(wcon, [new])
    except seams.warehouse_errors() as exc:
        raise ConsoleActionError(f"the warehouse is busy, nothing was changed; try again: "
                                 f"{exc}") from exc
    url = seams.postgres_store().resolved_url()
    seams.apply_ddl(url, EDIT_MIGRATION, EDIT_DDL)
    with seams.postgres_store().connect() as pcon:
        pcon.execute(
            """INSERT INTO aios.proposal_edits (edit_id, original_id, new_id, edited_by, via,
               edited_at, old_subject, new_subject, old_body, new_body)
               VALUES (%s, %s, %s, %s, 'console', %s, %s, %s, %s, %s)
               ON CONFLICT (new_id) DO NOTHING""",
            ("edit_" + uuid.uuid4().hex[:20], pid, new.proposal_id, decided_by, now,
             old.get("subject"), subject, old.get("body"), body))
        pcon.commit()
    decide(pid, "rejected", f"edited in the console: replaced by {new.proposal_id}",
           decided_by=decided_by)
    approved = decide(new.proposal_id, "approved", f"edited version of {pid}",
                      decided_by=decided_by)
    return Outcome(f"saved the edit as {new.proposal_id} and approved it (it publishes once "
                   f"its gates pass); {pid} rejected as replaced", new.proposal_id,
                   approved.warnings)
