"""Gates every proposal must pass before it may be published: small pure functions.

Each gate takes one proposal (a mapping with the ``action_proposals`` columns, payload parsed)
and a :class:`GateContext` and returns a :class:`Verdict`. Two gates look at the whole batch in
order (in-batch duplicates, per-day limits). :func:`evaluate_gates` runs them all, and the Great
Expectations suite (:func:`run_ge_suite`), and returns one :class:`GateResult` per proposal and
gate. Reasons never quote a secret or personal datum, only say what kind it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aios_assets.publishing.disclosure import INTERNAL, OPERATOR_CHANNELS, Parties, disclosures
from aios_assets.publishing.policy import (
    ACTION_CAPABILITY,
    CALENDAR_ACTIONS,
    IntentRules,
    Mode,
    Policy,
    content_text,
    effective_mode,
    email_recipients,
    has_external_effect,
    in_quiet_hours,
    outgoing_text,
)
from aios_assets.shared.text import VALID_ADDRESS_RE

GATES = (
    "policy", "expiry", "placeholders", "secrets", "personal_data", "disclosure", "recipients",
    "opt_out", "duplicates", "limits", "ge_suite",
)
# Gates an operator's approval clears: their finding holds a proposal for approval, not forever.
APPROVAL_CLEARS = frozenset({"disclosure"})
CAPABILITIES = ("email", "webhook", "http", "calendar", "none")
PROPOSAL_MODES = ("live", "shadow", "canary")
# Outbox statuses that mean "sent, or about to be": a proposal like one of these is a duplicate.
SENT_STATUSES = frozenset({"pending", "claimed", "delivered", "in_doubt"})

# --- patterns (shared with the GE suite) ----------------------------------------------------

PLACEHOLDER_PATTERNS = {
    "template variable {{...}}": r"\{\{[^{}]*\}\}",
    "format field {name}": r"\{[a-z_][a-z0-9_]*\}",
    "bracketed placeholder [NAME]": r"\[[A-Z][A-Z0-9 _-]{1,40}\]",
    "bracketed placeholder [your ...]": r"(?i:\[(?:your|insert|client|first|last|company|name)"
                                        r"[^\]]{0,40}\])",
    "TODO/TBD/FIXME marker": r"\b(?:TODO|TBD|FIXME|XXX)\b",
    "<insert ...> marker": r"(?i:<\s*insert[^>]*>)",
    "lorem ipsum": r"(?i:lorem ipsum)",
}
SECRET_PATTERNS = {
    "API key (sk-...)": r"\bsk-[A-Za-z0-9_-]{16,}",
    "AWS access key": r"\bAKIA[0-9A-Z]{16}\b",
    "GitHub token": r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    "Slack token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "bearer token": r"(?i:\bbearer\s+[A-Za-z0-9._~+/-]{16,})",
    "JWT": r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    "password or key assignment": r"(?i:\b(?:password|passwd|pwd|api[_ -]?key|secret|token)"
                                  r"\s*[:=]\s*\S{4,})",
}
PLACEHOLDER_RE = re.compile("|".join(f"(?:{p})" for p in PLACEHOLDER_PATTERNS.values()))
SECRET_RE = re.compile("|".join(f"(?:{p})" for p in SECRET_PATTERNS.values()))
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
# Runs of digit groups separated by one space or hyphen; cards are looked for inside them.
_DIGIT_RUN_RE = re.compile(r"(?<![\w-])\d+(?:[ -]\d+)*(?![\w-])")
# Issuer prefixes (IIN ranges) and the lengths each network issues: (low, high, lengths).
# Prefixes are compared on the first len(str(low)) digits.
_CARD_IIN = (
    (4, 4, (13, 16, 19)),                      # Visa
    (51, 55, (16,)), (2221, 2720, (16,)),      # Mastercard
    (34, 34, (15,)), (37, 37, (15,)),          # American Express
    (6011, 6011, (16, 19)), (644, 649, (16, 19)), (65, 65, (16, 19)),  # Discover
    (3528, 3589, (16, 19)),                    # JCB
    (300, 305, (14, 16, 19)), (36, 36, (14, 16, 19)), (38, 39, (16, 19)),  # Diners Club
    (62, 62, (16, 17, 18, 19)),                # UnionPay
    (50, 50, (13, 16, 19)), (56, 58, (13, 16, 19)), (67, 67, (13, 16, 19)),  # Maestro
)
# Separated card numbers come in these groupings (4-4-4-4[-3], Amex 4-6-5, Diners 4-6-4).
_CARD_GROUPS = ((4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 2),
                (4, 4, 4, 3), (4, 4, 4, 4, 1), (4, 4, 4, 4, 2))
_DOB_RE = re.compile(
    r"(?i:\b(?:DOB|D\.O\.B\.?|date of birth|birth ?date|born on)\b\s*[:\-]?\s*"
    r"(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}\s+[a-z]{3,9}\s+\d{4}|[a-z]{3,9}\s+\d{1,2},?\s+"
    r"\d{4}))"
)
_SSN_RE = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_SECRET_ENV_RE = re.compile(r"(PASSWORD|TOKEN|SECRET|API_KEY|APIKEY)$")


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str = ""


PASS = Verdict(True)


@dataclass(frozen=True)
class GateResult:
    proposal_id: str
    gate: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Directory:
    """Canonical contacts from the marts: e-mail address -> entity, entity -> addresses."""

    email_to_entity: Mapping[str, str] = field(default_factory=dict)
    entities: frozenset[str] = frozenset()
    available: bool = True  # False: the marts are not built yet

    def emails_of(self, entity_id: str | None) -> frozenset[str]:
        if not entity_id:
            return frozenset()
        return frozenset(e for e, ent in self.email_to_entity.items() if ent == entity_id)


@dataclass(frozen=True)
class SentRecord:
    """Something already in the outbox (from :meth:`Outbox.rows`)."""

    idempotency_key: str
    proposal_id: str | None
    action_type: str
    fingerprint: str
    status: str
    at: datetime | None = None
    cost_usd: float = 0.0


@dataclass(frozen=True)
class GateContext:
    policy: Policy
    directory: Directory = field(default_factory=Directory)
    opted_out: frozenset[str] = frozenset()  # lower-cased e-mails and entity ids
    sent: Sequence[SentRecord] = ()
    decisions: Mapping[str, str] = field(default_factory=dict)  # proposal_id -> latest decision
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    secret_values: frozenset[str] = frozenset()
    intents: Mapping[str, IntentRules] = field(default_factory=dict)  # intent_id -> rules
    parties: Parties = field(default_factory=Parties)  # names, phones, invoices, threads

    def intent_of(self, p: Mapping[str, Any]) -> IntentRules | None:
        return self.intents.get(p.get("intent_id") or "")


def secret_values_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Values of secret-looking environment variables (``*_PASSWORD``, ``*_TOKEN``, ...)."""
    env = os.environ if environ is None else environ
    return frozenset(v for k, v in env.items() if _SECRET_ENV_RE.search(k.upper()) and len(v) >= 8)


def normalize_proposal(row: Mapping[str, Any]) -> dict[str, Any]:
    """A proposal row as a plain dict with ``payload`` parsed (DuckDB returns JSON as text)."""
    p = dict(row)
    payload = p.get("payload")
    if isinstance(payload, str | bytes):
        try:
            payload = json.loads(payload)
        except ValueError:
            payload = {"_unparseable": payload}
    p["payload"] = payload if isinstance(payload, dict) else ({} if payload is None else
                                                              {"_value": payload})
    return p


def fingerprint(action_type: str, payload: Mapping[str, Any] | None) -> str:
    """What makes two actions "the same message": type, recipients and normalized content."""
    payload = payload or {}
    recipients = sorted(email_recipients(payload)) if action_type == "send_email" else []
    content = {k: v for k, v in payload.items() if k not in ("to", "cc", "bcc", "in_reply_to")}
    text = re.sub(r"\s+", " ", json.dumps(content, sort_keys=True, default=str)).strip().lower()
    body = json.dumps([action_type, recipients, text])
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _target_emails(p: Mapping[str, Any], ctx: GateContext) -> frozenset[str]:
    return ctx.directory.emails_of(p.get("target_entity_id"))


def proposal_mode(p: Mapping[str, Any], ctx: GateContext) -> tuple[Mode, str]:
    return effective_mode(ctx.policy, p, _target_emails(p, ctx), ctx.intent_of(p))


def will_publish(p: Mapping[str, Any], ctx: GateContext) -> bool:
    """Would this proposal be sent now if its gates pass (autonomous, or approved)?"""
    decision = ctx.decisions.get(p["proposal_id"])
    if decision == "rejected":
        return False
    mode, _ = proposal_mode(p, ctx)
    return mode == Mode.AUTONOMOUS or (mode == Mode.APPROVE_FIRST and decision == "approved")


# --- per-proposal gates ---------------------------------------------------------------------


def gate_policy(p: Mapping[str, Any], ctx: GateContext) -> Verdict:
    """Known action type, the capability it needs, and not disabled by the policy."""
    action_type = p.get("action_type") or ""
    if action_type not in ACTION_CAPABILITY and action_type not in ctx.policy.actions:
        return Verdict(False, f"unknown action type {action_type!r} (not in the policy)")
    expected = ACTION_CAPABILITY.get(action_type)
    if expected is not None and p.get("capability") != expected:
        return Verdict(False, f"{action_type} needs capability {expected!r}, "
                              f"proposal says {p.get('capability')!r}")
    mode, why = proposal_mode(p, ctx)
    if mode == Mode.DISABLED:
        return Verdict(False, f"disabled ({why})")
    return PASS


def gate_expiry(p: Mapping[str, Any], ctx: GateContext) -> Verdict:
    expires = p.get("expires_at")
    if expires is not None and expires <= ctx.now:
        return Verdict(False, f"expired at {expires.isoformat()}")
    return PASS


def gate_placeholders(p: Mapping[str, Any], ctx: GateContext) -> Verdict:
    text = content_text(p.get("payload"))
    found = [name for name, pat in PLACEHOLDER_PATTERNS.items() if re.search(pat, text)]
    if found:
        return Verdict(False, "unresolved placeholder: " + ", ".join(found))
    return PASS


def gate_secrets(p: Mapping[str, Any], ctx: GateContext) -> Verdict:
    # Every field, headers included: a credential leaks from a header as well, and these
    # patterns are specific enough not to fire on Message-IDs.
    text = outgoing_text(p.get("payload"))
    found = [name for name, pat in SECRET_PATTERNS.items() if re.search(pat, text)]
    if any(v in text for v in ctx.secret_values):
        found.append("the value of a secret environment variable")
    if found:
        return Verdict(False, "secret in outgoing text: " + ", ".join(found))
    return PASS


def iban_valid(candidate: str) -> bool:
    """ISO 13616 mod-97 check (so order numbers that merely look like IBANs pass)."""
    s = candidate.replace(" ", "").upper()
    if not 15 <= len(s) <= 34:
        return False
    digits = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(digits) % 97 == 1


def luhn_valid(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def known_iin(digits: str) -> bool:
    """The digits start with a card network's issuer prefix, at a length it issues."""
    for low, high, lengths in _CARD_IIN:
        width = len(str(low))
        if len(digits) in lengths and low <= int(digits[:width]) <= high:
            return True
    return False


def card_number(candidate: str) -> bool:
    """A plausible payment card number: 13-19 digits, a known issuer prefix for that length,
    card-like grouping when separated, and a valid Luhn check digit. Timestamps, order
    numbers and phone numbers that merely pass Luhn are not cards."""
    groups = tuple(len(g) for g in re.split(r"[ -]", candidate.strip()) if g)
    if len(groups) > 1 and groups not in _CARD_GROUPS:
        return False
    digits = "".join(c for c in candidate if c.isdigit())
    return 13 <= len(digits) <= 19 and known_iin(digits) and luhn_valid(digits)


def has_card_number(text: str) -> bool:
    """Whether ``text`` holds a card number: one ungrouped run of digits, or consecutive
    groups of a run (so "ref 20 4111 1111 1111 1111" still finds the card)."""
    for m in _DIGIT_RUN_RE.finditer(text):
        groups = re.split(r"[ -]", m.group())
        for i in range(len(groups)):
            for j in range(i + 1, min(len(groups), i + 5) + 1):
                if card_number(" ".join(groups[i:j])):
                    return True
    return False


def gate_personal_data(p: Mapping[str, Any], ctx: GateContext) -> Verdict:
    """IBANs (other than the operator's allowed ones), card numbers, dates of birth, SSNs in
    the message content (header and identifier fields are left out: see ``content_text``)."""
    text = content_text(p.get("payload"))
    found: list[str] = []
    allowed = set(ctx.policy.personal_data.allowed_ibans)
    for m in _IBAN_RE.finditer(text):
        if iban_valid(m.group()) and m.group().replace(" ", "").upper() not in allowed:
            found.append("IBAN")
            break
    if has_card_number(text):
        found.append("payment card number")
    if _DOB_RE.search(text):
        found.append("date of birth")
    if _SSN_RE.search(text):
        found.append("social security number")
    if found:
        return Verdict(False, "personal data must not leave: " + ", ".join(found))
    return PASS


def gate_disclosure(p: Mapping[str, Any], ctx: GateContext) -> Verdict:
    """Cross-party disclosure: the message mentions e-mail addresses, phone numbers and amounts
    tied to a person only of its recipients (target entity included), the operator, or the
    people of the thread it answers. A finding holds it for the operator's approval."""
    action_type = p.get("action_type") or ""
    if action_type in INTERNAL:
        return PASS
    payload = p.get("payload") or {}
    allowed_emails = set(ctx.policy.recipients.allowed_recipients)
    allowed_entities: set[str] = set()
    if action_type == "send_email" or action_type in CALENDAR_ACTIONS:
        recipients = email_recipients(payload)  # a calendar action's attendees
        allowed_emails |= set(recipients)
        allowed_entities |= {e for a in recipients
                             if (e := ctx.directory.email_to_entity.get(a))}
        if p.get("target_entity_id"):
            allowed_entities.add(p["target_entity_id"])
        allowed_emails |= ctx.parties.threads.get(str(payload.get("in_reply_to") or ""),
                                                  frozenset())
    found = disclosures(content_text(payload), allowed_entities=allowed_entities,
                        allowed_emails=allowed_emails,
                        email_to_entity=ctx.directory.email_to_entity, parties=ctx.parties,
                        contact_data_only=action_type in OPERATOR_CHANNELS)
    if not found:
        return PASS
    what = "; ".join(found[:8]) + (f"; and {len(found) - 8} more" if len(found) > 8 else "")
    if ctx.decisions.get(p["proposal_id"]) == "approved":
        return Verdict(True, f"approved by the operator despite disclosing: {what}")
    return Verdict(False, f"held for the operator's approval: discloses {what}")


def gate_recipients(p: Mapping[str, Any], ctx: GateContext) -> Verdict:
    """The target is a canonical entity; every e-mail recipient (and calendar attendee) is one
    of its addresses (or an allowed address), inside the allowed domains when the policy lists
    any."""
    target = p.get("target_entity_id")
    directory = ctx.directory
    rules = ctx.policy.recipients
    if target and target not in directory.entities:
        if not directory.available:
            return Verdict(False, "the marts (dim_contacts) are not built: cannot check the "
                                  "target entity")
        return Verdict(False, f"target {target} is not a canonical entity in dim_contacts")
    action_type = p.get("action_type")
    if action_type != "send_email" and action_type not in CALENDAR_ACTIONS:
        return PASS
    recipients = email_recipients(p.get("payload"))
    if not recipients:
        return (Verdict(False, "e-mail without a recipient") if action_type == "send_email"
                else PASS)  # a calendar hold without attendees invites nobody
    problems: list[str] = []
    for addr in recipients:
        if not VALID_ADDRESS_RE.match(addr):
            problems.append(f"{addr!r} is not an e-mail address")
            continue
        domain = addr.rsplit("@", 1)[1]
        if addr in rules.allowed_recipients:
            continue
        if rules.allowed_domains and domain not in rules.allowed_domains:
            problems.append(f"{addr} is outside the allowed domains")
            continue
        entity = directory.email_to_entity.get(addr)
        if entity is None:
            problems.append(f"{addr} is not a canonical contact")
        elif target and entity != target:
            problems.append(f"{addr} belongs to {entity}, not the target {target}")
    if problems:
        return Verdict(False, "; ".join(problems))
    return PASS


def gate_opt_out(p: Mapping[str, Any], ctx: GateContext) -> Verdict:
    hits = []
    target = p.get("target_entity_id")
    if target and target.lower() in ctx.opted_out:
        hits.append(f"target {target}")
    for addr in email_recipients(p.get("payload")):
        entity = ctx.directory.email_to_entity.get(addr)
        if addr in ctx.opted_out or (entity and entity.lower() in ctx.opted_out):
            hits.append(addr)
    if hits:
        return Verdict(False, "opted out / do not contact: " + ", ".join(dict.fromkeys(hits)))
    return PASS


def gate_already_sent(p: Mapping[str, Any], ctx: GateContext) -> Verdict:
    """Not something the outbox already holds or delivered (same key, or same message)."""
    key = p.get("idempotency_key")
    fp = fingerprint(p.get("action_type") or "", p.get("payload"))
    for s in ctx.sent:
        if s.status not in SENT_STATUSES or s.proposal_id == p.get("proposal_id"):
            continue
        if s.idempotency_key == key:
            return Verdict(False, f"idempotency key already in the outbox ({s.status})")
        if s.fingerprint == fp:
            return Verdict(False, f"same message already {s.status} "
                                  f"(proposal {s.proposal_id or '?'})")
    return PASS


PER_PROPOSAL_GATES = {
    "policy": gate_policy,
    "expiry": gate_expiry,
    "placeholders": gate_placeholders,
    "secrets": gate_secrets,
    "personal_data": gate_personal_data,
    "disclosure": gate_disclosure,
    "recipients": gate_recipients,
    "opt_out": gate_opt_out,
}


# --- batch gates ----------------------------------------------------------------------------


def _day_start(now: datetime, ctx: GateContext) -> datetime:
    local = now.astimezone(ctx.policy.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def gate_duplicates(proposals: Sequence[Mapping[str, Any]],
                    ctx: GateContext) -> dict[str, Verdict]:
    """Already sent (outbox) or a repeat of an earlier proposal in this batch."""
    out: dict[str, Verdict] = {}
    first: dict[str, str] = {}
    for p in proposals:
        verdict = gate_already_sent(p, ctx)
        fp = fingerprint(p.get("action_type") or "", p.get("payload"))
        if verdict.passed and fp in first:
            verdict = Verdict(False, f"duplicate of proposal {first[fp]} in this batch")
        first.setdefault(fp, p["proposal_id"])
        out[p["proposal_id"]] = verdict
    return out


def gate_limits(proposals: Sequence[Mapping[str, Any]], ctx: GateContext,
                eligible: Iterable[str] | None = None) -> dict[str, Verdict]:
    """Quiet hours and per-day count / spend limits (per action type and in total).

    Today's usage is what the outbox took today; then the proposals that would publish now
    (autonomous or approved) take the remaining room first, in creation order, then the rest.
    ``eligible`` limits the count to proposals that passed the other gates."""
    eligible_ids = set(eligible) if eligible is not None else {p["proposal_id"]
                                                             for p in proposals}
    now = ctx.now
    start = _day_start(now, ctx)
    used_n: dict[str, int] = {}
    used_usd: dict[str, float] = {}
    total_usd = 0.0
    for s in ctx.sent:
        if s.status in SENT_STATUSES and s.at is not None and s.at >= start:
            used_n[s.action_type] = used_n.get(s.action_type, 0) + 1
            used_usd[s.action_type] = used_usd.get(s.action_type, 0.0) + s.cost_usd
            total_usd += s.cost_usd
    order = sorted(proposals, key=lambda p: (not will_publish(p, ctx),
                                             p.get("created_at") or now, p["proposal_id"]))
    out: dict[str, Verdict] = {}
    reopen = (start + timedelta(days=1)).isoformat(timespec="minutes")
    for p in order:
        pid, atype = p["proposal_id"], p.get("action_type") or ""
        rules = ctx.policy.for_action(atype)
        cost = float(p.get("estimated_cost_usd") or 0.0)
        if in_quiet_hours(rules, now, ctx.policy.tz):
            out[pid] = Verdict(False, f"quiet hours {rules.quiet_hours} ({ctx.policy.timezone}) "
                                      "for " + atype)
            continue
        intent = ctx.intent_of(p)
        if intent is not None and has_external_effect(atype) \
                and in_quiet_hours(intent, now, ctx.policy.tz):
            out[pid] = Verdict(False, f"quiet hours {intent.quiet_hours} "
                                      f"({ctx.policy.timezone}) of intent {intent.intent_id}")
            continue
        if pid not in eligible_ids or proposal_mode(p, ctx)[0] in (Mode.SHADOW, Mode.DISABLED):
            out[pid] = PASS  # does not use the day's room
            continue
        n = used_n.get(atype, 0)
        if rules.max_per_day is not None and n + 1 > rules.max_per_day:
            out[pid] = Verdict(False, f"{atype}: {rules.max_per_day} per day reached "
                                      f"(next room after {reopen})")
            continue
        if (rules.max_spend_usd_per_day is not None
                and used_usd.get(atype, 0.0) + cost > rules.max_spend_usd_per_day + 1e-9):
            out[pid] = Verdict(False, f"{atype}: ${rules.max_spend_usd_per_day:.2f} per day "
                                      "spend limit reached")
            continue
        if (ctx.policy.daily_spend_usd is not None
                and total_usd + cost > ctx.policy.daily_spend_usd + 1e-9):
            out[pid] = Verdict(False, f"daily spend limit ${ctx.policy.daily_spend_usd:.2f} "
                                      "reached")
            continue
        used_n[atype] = n + 1
        used_usd[atype] = used_usd.get(atype, 0.0) + cost
        total_usd += cost
        out[pid] = PASS
    return out


# --- all together -------------------------------------------------------------------------


def evaluate_gates(proposals: Sequence[Mapping[str, Any]], ctx: GateContext, *,
                   ge: Mapping[str, Verdict] | None = None) -> list[GateResult]:
    """One result per proposal and gate (``GATES`` order). ``ge``: per-proposal verdicts of the
    Great Expectations suite (:func:`run_ge_suite`); None leaves that gate out."""
    results: dict[tuple[str, str], Verdict] = {}
    for p in proposals:
        for name, gate in PER_PROPOSAL_GATES.items():
            try:
                results[(p["proposal_id"], name)] = gate(p, ctx)
            except Exception as exc:  # noqa: BLE001 - a gate that breaks fails closed
                results[(p["proposal_id"], name)] = Verdict(
                    False, f"gate error: {type(exc).__name__}: {exc}")
    for pid, verdict in gate_duplicates(proposals, ctx).items():
        results[(pid, "duplicates")] = verdict
    if ge is not None:
        for p in proposals:
            results[(p["proposal_id"], "ge_suite")] = ge.get(
                p["proposal_id"], Verdict(False, "not validated by the GE suite"))
    clean = [p["proposal_id"] for p in proposals
             if all(v.passed for (pid, _), v in results.items() if pid == p["proposal_id"])]
    for pid, verdict in gate_limits(proposals, ctx, eligible=clean).items():
        results[(pid, "limits")] = verdict
    order = {g: i for i, g in enumerate(GATES)}
    return [GateResult(pid, gate, v.passed, v.reason)
            for (pid, gate), v in sorted(results.items(),
                                         key=lambda kv: (kv[0][0], order.get(kv[0][1], 99)))]
