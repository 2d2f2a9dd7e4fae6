"""The one vocabulary of proposal statuses, shared by every command and document.

``aios proposals``, ``aios audit``, the summary after ``aios demo`` / ``aios summary`` and
the docs (docs/approvals.md, "Statuses") all say where a proposal stands with these words.
``aios audit`` may add a qualifier in parentheses ("pending (held for approval)"); the word
before it is always one of these (:func:`status_word`).
"""

from __future__ import annotations

from enum import StrEnum


class ProposalStatus(StrEnum):
    """Where a proposal stands. The first five are the operator's everyday ones."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    FAILED_GATE = "failed_gate"
    AUTONOMOUS = "autonomous"
    SHADOW = "shadow"
    CANARY = "canary"
    PUBLISHING = "publishing"
    WAITING_FOR_ADAPTER = "waiting_for_adapter"
    REFUSED = "refused"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"
    EXPIRED = "expired"


MEANING: dict[ProposalStatus, str] = {
    ProposalStatus.PENDING: "awaits the operator's approval",
    ProposalStatus.APPROVED: "approved, not sent yet (the next publish sends it)",
    ProposalStatus.REJECTED: "rejected by the operator",
    ProposalStatus.PUBLISHED: "delivered by its adapter",
    ProposalStatus.FAILED_GATE: "held back by a gate (the gate says why)",
    ProposalStatus.AUTONOMOUS: "passes its gates and is sent without approval",
    ProposalStatus.SHADOW: "recorded, never sent (shadow mode)",
    ProposalStatus.CANARY: "made by a canary agent version, never sent",
    ProposalStatus.PUBLISHING: "in the outbox, being delivered",
    ProposalStatus.WAITING_FOR_ADAPTER: "in the outbox, waiting for its adapter to be set up",
    ProposalStatus.REFUSED: "the adapter refused it (it is not retried)",
    ProposalStatus.FAILED: "delivery failed for good",
    ProposalStatus.IN_DOUBT: "delivery outcome unknown (reconciled later)",
    ProposalStatus.EXPIRED: "expired before anyone approved it",
}

STATUSES: tuple[str, ...] = tuple(s.value for s in ProposalStatus)

# Outbox row status -> proposal status (a pending row without its adapter is
# waiting_for_adapter, decided by the caller that knows the row's error class).
OUTBOX_STATUS: dict[str, ProposalStatus] = {
    "delivered": ProposalStatus.PUBLISHED, "pending": ProposalStatus.PUBLISHING,
    "claimed": ProposalStatus.PUBLISHING, "refused": ProposalStatus.REFUSED,
    "failed_permanent": ProposalStatus.FAILED, "in_doubt": ProposalStatus.IN_DOUBT}
# Outbox error classes of a pending row that waits for setup (no adapter / a missing setting).
WAITING_FOR_SETUP = frozenset({"NoAdapter", "AdapterNotConfigured"})


def from_outbox(status: str, error_class: str | None = None) -> str:
    """The proposal status of a proposal whose outbox row has ``status``."""
    if status == "pending" and error_class in WAITING_FOR_SETUP:
        return ProposalStatus.WAITING_FOR_ADAPTER.value
    mapped = OUTBOX_STATUS.get(status)
    return mapped.value if mapped is not None else status


def status_word(text: str) -> str:
    """The status of a (possibly qualified) status text: "pending (held ...)" -> "pending"."""
    return text.split(" (", 1)[0].strip()
