"""The operator's policy: ``$AIOS_HOME/policy.yaml``.

Maps each action type to a mode (``autonomous`` / ``approve_first`` / ``shadow`` /
``disabled``) with limits (per-day count and spend, quiet hours), and says who may be contacted
(allowed domains and recipients, opt-outs). A default file is written when none exists, so the
operator has something to edit. Whatever the file says, a proposal made from untrusted inbound
text never runs autonomously when its action is high-impact (:func:`effective_mode`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aios_assets.agents.proposals import CAPABILITY_OF
from aios_assets.agents.slots import WorkingHoursPolicy
from aios_assets.shared.home import AiosHome

POLICY_FILE = "policy.yaml"


class Mode(StrEnum):
    AUTONOMOUS = "autonomous"
    APPROVE_FIRST = "approve_first"
    SHADOW = "shadow"
    DISABLED = "disabled"


# Most restrictive wins when several rules apply to one proposal.
_STRICTNESS = {Mode.AUTONOMOUS: 0, Mode.APPROVE_FIRST: 1, Mode.SHADOW: 2, Mode.DISABLED: 3}

# The contract's action types and the capability each one needs (one copy: the proposals').
ACTION_CAPABILITY = CAPABILITY_OF
CALENDAR_ACTIONS = frozenset(a for a, c in ACTION_CAPABILITY.items() if c == "calendar")
# High-impact whatever the policy file says (it may add more, never remove these).
ALWAYS_HIGH_IMPACT = frozenset({"http_request", "payment", "wire_transfer", "refund"})
# Outgoing text that asks for or moves money is high-impact in any action type.
PAYMENT_INSTRUCTION_RE = re.compile(
    r"\b(wire|bank transfer|routing number|swift|bic|iban|send (the )?money|gift ?cards?|"
    r"crypto|bitcoin|payment details|account number)\b",
    re.IGNORECASE,
)

DEFAULT_POLICY_YAML = """\
# AIOS policy: what agents may do on their own (docs/approvals.md).
# mode: autonomous | approve_first | shadow | disabled
#   autonomous     published without asking, once every gate passes
#   approve_first  waits for `aios approve ID` (or the approval_job in the Dagster UI)
#   shadow         gated and recorded as "would send", never sent
#   disabled       never proposed for publishing (fails the policy gate)
# Untrusted inbound text can never make a high-impact action autonomous, whatever this says.
version: 1
timezone: UTC              # for quiet hours, "per day" and working_hours (an IANA name)
default_mode: approve_first  # action types not listed below
daily_spend_usd: 5.0       # all actions together, estimated cost
actions:
  send_email:
    mode: approve_first
    max_per_day: 25
    max_spend_usd_per_day: 1.0
    quiet_hours: "21:00-07:00"
  notify_webhook:
    mode: autonomous
    max_per_day: 50
  http_request:
    mode: approve_first
    max_per_day: 10
  internal_note:
    mode: autonomous
  calendar_hold:             # a tentative event on your calendar (docs/calendar.md)
    mode: approve_first
    max_per_day: 10
  calendar_confirm:
    mode: approve_first
  calendar_cancel:           # withdraws a hold AIOS made (a compensating action)
    mode: approve_first
# When meetings may be offered (follow-ups propose free slots inside these hours, in
# `timezone`). days: mon tue wed thu fri sat sun; start/end: "HH:MM", end after start.
# Without this section: mon-fri, 09:00-17:30.
working_hours:
  days: [mon, tue, wed, thu, fri]
  start: "09:00"
  end: "17:30"
recipients:
  allowed_domains: []      # empty: any canonical contact; else only these e-mail domains
  allowed_recipients: []   # addresses always allowed (e.g. your own)
  opted_out: []            # e-mail addresses or entity ids never to contact
high_impact: [http_request]  # plus payment, wire_transfer, refund (always)
personal_data:
  allowed_ibans: []        # e.g. your own IBAN on invoice reminders
"""


class PolicyError(ValueError):
    """The policy file cannot be read or breaks its schema (message names file and field)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # spans midnight

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet_hours(value: str) -> QuietHours:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    if not m:
        raise ValueError(f"quiet_hours must look like '21:00-07:00', got {value!r}")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"quiet_hours has an impossible time: {value!r}")
    return QuietHours(time(h1, m1), time(h2, m2))


class ActionPolicy(_Strict):
    mode: Mode = Mode.APPROVE_FIRST
    max_per_day: int | None = Field(default=None, ge=0)
    max_spend_usd_per_day: float | None = Field(default=None, ge=0)
    quiet_hours: str | None = None

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str | None) -> str | None:
        if v is not None:
            parse_quiet_hours(v)
        return v

    @property
    def quiet(self) -> QuietHours | None:
        return parse_quiet_hours(self.quiet_hours) if self.quiet_hours else None


class RecipientPolicy(_Strict):
    allowed_domains: list[str] = Field(default_factory=list)
    allowed_recipients: list[str] = Field(default_factory=list)
    opted_out: list[str] = Field(default_factory=list)

    @field_validator("allowed_domains", "allowed_recipients", "opted_out")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [s.strip().lower() for s in v if s and s.strip()]


class PersonalDataPolicy(_Strict):
    allowed_ibans: list[str] = Field(default_factory=list)

    @field_validator("allowed_ibans")
    @classmethod
    def _norm(cls, v: list[str]) -> list[str]:
        return [re.sub(r"\s+", "", s).upper() for s in v]


class Policy(_Strict):
    version: int = 1
    timezone: str = "UTC"
    default_mode: Mode = Mode.APPROVE_FIRST
    daily_spend_usd: float | None = Field(default=None, ge=0)
    actions: dict[str, ActionPolicy] = Field(default_factory=dict)
    recipients: RecipientPolicy = Field(default_factory=RecipientPolicy)
    high_impact: list[str] = Field(default_factory=list)
    personal_data: PersonalDataPolicy = Field(default_factory=PersonalDataPolicy)
    working_hours: WorkingHoursPolicy | None = None

    @field_validator("version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != 1:
            raise ValueError(f"unsupported policy version {v} (this AIOS reads version 1)")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def for_action(self, action_type: str) -> ActionPolicy:
        return self.actions.get(action_type) or ActionPolicy(mode=self.default_mode)

    @property
    def high_impact_types(self) -> frozenset[str]:
        return ALWAYS_HIGH_IMPACT | frozenset(self.high_impact)


def policy_path(home: AiosHome | None = None) -> Path:
    return (home or AiosHome.from_env()).root / POLICY_FILE


def parse_policy(text: str, *, source: str = POLICY_FILE) -> Policy:
    """A :class:`Policy` from YAML text; :class:`PolicyError` says where it is wrong."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: expected a mapping at the top, got {type(raw).__name__}")
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise PolicyError(f"{source}: {problems}") from exc


DEMO_EMAILS_PER_DAY = 5
# The demo operator: cautious about e-mail (a few a day, so the limits gate visibly holds the
# rest back in `aios proposals` and the UI), and no e-mail quiet hours, because the demo runs
# at any hour and approving a proposal should deliver it right away.
DEMO_POLICY_YAML = DEFAULT_POLICY_YAML.replace(
    "    max_per_day: 25\n    max_spend_usd_per_day: 1.0\n    quiet_hours: \"21:00-07:00\"\n",
    f"    max_per_day: {DEMO_EMAILS_PER_DAY}        # demo: a cautious operator\n"
    "    max_spend_usd_per_day: 1.0\n"
    "    # demo: no quiet hours (the default policy has \"21:00-07:00\")\n",
)


def write_demo_policy(home: AiosHome | None = None) -> bool:
    """Write the demo's policy unless ``policy.yaml`` exists; True when written."""
    path = policy_path(home)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DEMO_POLICY_YAML)
    return True


def load_policy(home: AiosHome | None = None) -> Policy:
    """Read ``$AIOS_HOME/policy.yaml``, writing the default first when there is none."""
    path = policy_path(home)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(DEFAULT_POLICY_YAML)
    try:
        text = path.read_text()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc}") from exc
    return parse_policy(text, source=str(path))


# --- intents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntentRules:
    """What an operator intent (``intents.yaml``) adds to the policy for its own proposals:
    its autonomy (which can only make the policy stricter) and its quiet hours."""

    intent_id: str
    autonomy: str = "approve_first"  # suggest_only | approve_first | autonomous
    quiet_hours: str | None = None

    @property
    def quiet(self) -> QuietHours | None:
        return parse_quiet_hours(self.quiet_hours) if self.quiet_hours else None


# The mode an intent's autonomy requires at least (autonomous leaves the policy's mode).
_AUTONOMY_FLOOR = {"suggest_only": Mode.SHADOW, "approve_first": Mode.APPROVE_FIRST}


def has_external_effect(action_type: str) -> bool:
    """Everything but internal notes (capability ``none``) acts on the outside world."""
    return ACTION_CAPABILITY.get(action_type) != "none"


# --- modes ----------------------------------------------------------------------------------


def stricter(a: Mode, b: Mode) -> Mode:
    return a if _STRICTNESS[a] >= _STRICTNESS[b] else b


# Header and identifier fields: addresses are checked by the recipient / opt-out gates, and
# Message-IDs, calendar UIDs and times carry hashes and digits that look like card numbers or
# codes to text scans.
HEADER_FIELDS = frozenset({"to", "cc", "bcc", "from", "reply_to", "in_reply_to", "references",
                           "message_id", "headers", "attendees", "uid", "compensates", "calendar",
                           "tzid", "start", "end"})


def content_text(payload: Mapping[str, Any] | None) -> str:
    """The message content of a payload: every string except the top-level header and
    identifier fields (:data:`HEADER_FIELDS`). What the placeholder and personal-data gates
    read."""
    return outgoing_text({k: v for k, v in (payload or {}).items() if k not in HEADER_FIELDS})


def outgoing_text(payload: Mapping[str, Any] | None) -> str:
    """Every string in a payload, joined (what would leave the building)."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(payload or {})
    return "\n".join(parts)


def email_recipients(payload: Mapping[str, Any] | None) -> list[str]:
    """Lower-cased ``to``, ``cc`` and ``bcc`` addresses of an e-mail payload, and the
    ``attendees`` of a calendar payload (string or list each)."""
    out: list[str] = []
    for key in ("to", "cc", "bcc", "attendees"):
        value = (payload or {}).get(key)
        items = value if isinstance(value, list | tuple) else [value] if value else []
        for item in items:
            for part in str(item).split(","):
                addr = part.strip()
                m = re.search(r"<([^>]+)>", addr)
                addr = (m.group(1) if m else addr).strip().lower()
                if addr:
                    out.append(addr)
    return out


def is_high_impact(policy: Policy, proposal: Mapping[str, Any],
                   target_emails: frozenset[str] | set[str] = frozenset()) -> str | None:
    """Why the proposal is high-impact, or None.

    High-impact: a listed action type (http_request and payments always); an e-mail to anyone
    but the canonical addresses of its target entity; any outgoing text with payment
    instructions, or (for actions with an external effect) instructions aimed at an assistant
    copied from inbound text."""
    action_type = proposal.get("action_type") or ""
    if action_type in policy.high_impact_types:
        return f"{action_type} is a high-impact action type"
    payload = proposal.get("payload") or {}
    if action_type == "send_email":
        outside = [a for a in email_recipients(payload) if a not in target_emails]
        if outside:
            return "e-mail to a recipient that is not the target entity's canonical address"
    text = outgoing_text(payload)
    if PAYMENT_INSTRUCTION_RE.search(text):
        return "outgoing text carries payment instructions"
    if has_external_effect(action_type):
        from aios_assets.agents.runtime import injection_signals

        if signals := injection_signals(text):
            return f"outgoing text carries instructions aimed at an assistant ({signals[0]})"
    return None


def effective_mode(policy: Policy, proposal: Mapping[str, Any],
                   target_emails: frozenset[str] | set[str] = frozenset(),
                   intent: IntentRules | None = None) -> tuple[Mode, str]:
    """The mode a proposal runs under, and why.

    The policy's mode for its action type, made stricter by the proposal's own mode (``shadow``
    and ``canary`` proposals never send), by its intent's autonomy (``suggest_only``: shadow,
    ``approve_first``: approval at least; internal notes to the operator are exempt, they act
    on nothing) and by the untrusted-input rule: a proposal derived from inbound text
    (``untrusted_input``) that is high-impact needs approval at least."""
    action_type = proposal.get("action_type") or ""
    mode = policy.for_action(action_type).mode
    why = f"policy: {action_type} is {mode.value}"
    if (proposal.get("mode") or "live") in ("shadow", "canary"):
        if stricter(Mode.SHADOW, mode) != mode:
            mode, why = Mode.SHADOW, f"the proposal itself is {proposal.get('mode')}"
    floor = _AUTONOMY_FLOOR.get(intent.autonomy) if intent is not None else None
    if floor is not None and has_external_effect(action_type) and stricter(floor, mode) != mode:
        mode = floor
        why = f"intent {intent.intent_id} is {intent.autonomy} ({why})"
    if proposal.get("untrusted_input"):
        reason = is_high_impact(policy, proposal, target_emails)
        if reason and mode == Mode.AUTONOMOUS:
            mode = Mode.APPROVE_FIRST
            why = f"untrusted inbound input and {reason}: needs the operator's approval"
    return mode, why


def in_quiet_hours(action: ActionPolicy | IntentRules, now: datetime, tz: ZoneInfo) -> bool:
    """Whether ``now`` falls in the quiet hours of an action type or an intent (in ``tz``)."""
    quiet = action.quiet
    return bool(quiet and quiet.contains(now.astimezone(tz).time()))
