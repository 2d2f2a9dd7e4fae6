"""Approve or reject proposals by id: the one code path for ``aios approve/reject`` and the
``approval_job`` launched from the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aios_assets.publishing.data import load_gate_results, load_proposals
from aios_assets.publishing.decisions import (
    Decision,
    DecisionError,
    record_decisions,
    try_flush_decision_events,
    validate_decision,
)
from aios_assets.publishing.gates import APPROVAL_CLEARS
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse, WarehouseMissing


class UnknownProposal(DecisionError):
    """An id that matches no proposal in ``action_proposals``."""


@dataclass
class DecideReport:
    decisions: list[Decision]
    logged: int
    note: str | None = None
    warnings: list[str] = field(default_factory=list)


def resolve_ids(ids: Sequence[str], known: Sequence[str]) -> list[str]:
    """Full proposal ids for what the operator typed (a full id or a unique prefix >= 6)."""
    out: list[str] = []
    problems: list[str] = []
    for raw in ids:
        i = raw.strip()
        if i in known:
            out.append(i)
            continue
        matches = [k for k in known if len(i) >= 6 and k.startswith(i)]
        if len(matches) == 1:
            out.append(matches[0])
        elif matches:
            problems.append(f"{i!r} is ambiguous ({len(matches)} proposals)")
        else:
            problems.append(f"no proposal {i!r}")
    if problems:
        raise UnknownProposal("; ".join(problems) + " (see `aios proposals`)")
    return list(dict.fromkeys(out))


def decide(ids: Sequence[str], decision: str, reason: str | None, *, via: str,
           warehouse: DuckDBWarehouse, store: PostgresStore,
           decided_by: str = "operator") -> DecideReport:
    """Record the decision for each proposal (Postgres) and append it to the event log."""
    decision, reason = validate_decision(decision, reason)
    if not ids:
        raise DecisionError("give at least one proposal id")
    try:
        con = warehouse.read()
    except WarehouseMissing as exc:
        raise UnknownProposal(f"no proposals yet: {exc}") from exc
    try:
        known = load_proposals(con)
        gates = load_gate_results(con)
    finally:
        con.close()
    full = resolve_ids(ids, [p["proposal_id"] for p in known])
    by_id = {p["proposal_id"]: p for p in known}
    warnings = []
    if decision == "approved":
        for pid in full:
            # An approval clears the disclosure gate (its finding holds for approval only).
            failing = [g for g, ok, _ in gates.get(pid, []) if not ok
                       and g not in APPROVAL_CLEARS]
            if failing:
                warnings.append(f"{pid} fails gate(s) {', '.join(failing)}: approved, but it "
                                "will not be published until they pass")
    written = record_decisions(store, [by_id[i] for i in full], decision, reason, via=via,
                               decided_by=decided_by)
    logged, note = try_flush_decision_events(store, warehouse)
    return DecideReport(decisions=written, logged=logged, note=note, warnings=warnings)
