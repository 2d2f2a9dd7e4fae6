"""The one vocabulary of proposal statuses, shared by every command and document.

``aios proposals``, ``aios audit``, the summary after ``aios demo`` / ``aios summary`` and
the docs (docs/approvals.md, "Statuses") all say where a proposal stands with these words.
``aios audit`` may add a qualifier in parentheses ("pending (held for approval)"); the word
before it is always one of these (:func:`status_word`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any


class ProposalStatus(StrEnum):
    """Where a proposal stands. The first five are the operator's everyday ones."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    FAILED_GATE = "failed_gate"
    AUTONOMOUS = "autonomous"
    SHADOW = "shadow"
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
    ProposalStatus.SHADOW: "recorded, never sent (shadow mode, or a canary agent version)",
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


def status_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What the summary after ``aios demo`` / ``aios ingest`` and ``aios summary`` says, from
    ``aios proposals``' rows: how many proposals await approval, how many a gate holds back
    (per gate: a proposal failing two gates counts under both), how many run autonomously,
    and the count of every status."""
    by_status: Counter[str] = Counter()
    per_gate: Counter[str] = Counter()
    for r in rows:
        by_status[r["status"]] += 1
        if r["status"] == ProposalStatus.FAILED_GATE:
            per_gate.update({g["gate"] for g in r.get("failed_gates") or []})
    return {"total": sum(by_status.values()),
            "awaiting_approval": by_status[ProposalStatus.PENDING],
            "held_back_by_gates": by_status[ProposalStatus.FAILED_GATE],
            "held_back_per_gate": dict(sorted(per_gate.items(), key=lambda kv: (-kv[1], kv[0]))),
            "autonomous": by_status[ProposalStatus.AUTONOMOUS],
            "by_status": {s: by_status[s] for s in STATUSES if by_status[s]}}


def summary_line(counts: Mapping[str, Any]) -> str:
    """One line for :func:`status_counts`: "6 await approval (pending), 22 held back by gates
    (recipients 12, content 10), 2 autonomous; also 3 shadow"."""
    if not counts["total"]:
        return "no proposals yet"
    gates = ", ".join(f"{g} {n}" for g, n in counts["held_back_per_gate"].items())
    main = (f"{counts['awaiting_approval']} await approval (pending), "
            f"{counts['held_back_by_gates']} held back by gates (failed_gate"
            + (f": {gates}" if gates else "") + f"), {counts['autonomous']} autonomous")
    shown = {ProposalStatus.PENDING, ProposalStatus.FAILED_GATE, ProposalStatus.AUTONOMOUS}
    rest = ", ".join(f"{n} {s}" for s, n in counts["by_status"].items() if s not in shown)
    return main + (f"; also {rest}" if rest else "")
