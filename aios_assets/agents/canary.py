"""Canary comparison and behaviour checks on agent outputs (pure functions).

A canary manifest runs in shadow beside the current one (mode ``canary``); :func:`compare`
matches their proposals by what they act on (action type, target entity, recipient), and
:func:`canary_problems` / :func:`output_problems` / :func:`rate_drift` say what drifted.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aios_assets.agents.manifests import AgentManifest
from aios_assets.agents.proposals import Proposal
from aios_assets.shared.text import markdown_table


def match_key(p: Proposal) -> tuple[str, str, str]:
    return (p.action_type, p.target_entity_id or "", str(p.payload.get("to") or ""))


@dataclass(frozen=True)
class CanaryDiff:
    agent: str
    current_version: str
    canary_version: str
    only_current: tuple[Proposal, ...] = ()
    only_canary: tuple[Proposal, ...] = ()
    changed: tuple[tuple[Proposal, Proposal, tuple[str, ...]], ...] = ()
    same: int = 0
    new_action_types: tuple[str, ...] = field(default_factory=tuple)

    @property
    def overlap(self) -> float:
        """Jaccard overlap of the two proposal sets by :func:`match_key` (1.0 when both empty)."""
        both = self.same + len(self.changed)
        union = both + len(self.only_current) + len(self.only_canary)
        return 1.0 if union == 0 else both / union

    def markdown(self, limit: int = 15) -> str:
        rows = [("only current", p.action_type, p.target_entity_id, p.payload.get("subject")
                 or p.payload.get("title") or "") for p in self.only_current[:limit]]
        rows += [("only canary", p.action_type, p.target_entity_id, p.payload.get("subject")
                  or p.payload.get("title") or "") for p in self.only_canary[:limit]]
        rows += [("changed: " + ", ".join(what), c.action_type, c.target_entity_id,
                  f"{a.payload.get('subject', '')} → {c.payload.get('subject', '')}")
                 for a, c, what in self.changed[:limit]]
        head = (f"**{self.agent}** {self.current_version} (current) vs {self.canary_version} "
                f"(canary): {self.same} same, {len(self.changed)} changed, "
                f"{len(self.only_current)} only current, {len(self.only_canary)} only canary; "
                f"overlap {self.overlap:.0%}")
        return head + ("\n\n" + markdown_table(["diff", "action", "target", "subject"], rows)
                       if rows else "")


def compare(current: Sequence[Proposal], canary: Sequence[Proposal]) -> CanaryDiff:
    a = {match_key(p): p for p in current}
    b = {match_key(p): p for p in canary}
    changed, same = [], 0
    for key in sorted(a.keys() & b.keys()):
        x, y = a[key], b[key]
        what = tuple(k for k in ("subject", "body", "text", "json")
                     if x.payload.get(k) != y.payload.get(k))
        if abs(x.confidence - y.confidence) >= 0.1:
            what += ("confidence",)
        if what:
            changed.append((x, y, what))
        else:
            same += 1
    agent = (current or canary)[0].agent if (current or canary) else "?"
    return CanaryDiff(
        agent=agent,
        current_version=current[0].manifest_version if current else "?",
        canary_version=canary[0].manifest_version if canary else "?",
        only_current=tuple(a[k] for k in sorted(a.keys() - b.keys())),
        only_canary=tuple(b[k] for k in sorted(b.keys() - a.keys())),
        changed=tuple(changed), same=same,
        new_action_types=tuple(sorted({p.action_type for p in canary}
                                      - {p.action_type for p in current})))


def canary_problems(diff: CanaryDiff, min_overlap: float = 0.5) -> list[str]:
    problems = []
    if diff.overlap < min_overlap:
        problems.append(f"{diff.agent}: canary overlaps the current version by "
                        f"{diff.overlap:.0%} (< {min_overlap:.0%})")
    if diff.new_action_types:
        problems.append(f"{diff.agent}: canary proposes new action types "
                        f"{list(diff.new_action_types)}")
    return problems


def output_problems(proposals: Iterable[Proposal], manifest: AgentManifest,
                    known_events: set[str], canonical_emails: dict[str, set[str]],
                    ) -> list[str]:
    """What is wrong with an agent's outputs: empty rationale, no or unknown evidence,
    action types its manifest does not allow, recipients that are not the target entity's
    canonical addresses."""
    problems: list[str] = []
    for p in proposals:
        pid = p.proposal_id
        if not p.rationale.strip():
            problems.append(f"{pid}: empty rationale")
        if not p.evidence_event_ids:
            problems.append(f"{pid}: no evidence")
        elif missing := [e for e in p.evidence_event_ids if e not in known_events]:
            problems.append(f"{pid}: {len(missing)} evidence id(s) not in the event log")
        if p.action_type not in manifest.action_types:
            problems.append(f"{pid}: action type {p.action_type} not allowed by "
                            f"{manifest.label}")
        if p.manifest_version != manifest.version:
            problems.append(f"{pid}: made by {p.manifest_version}, not {manifest.version}")
        if p.action_type == "send_email":
            to = str(p.payload.get("to") or "").lower()
            if not p.target_entity_id or to not in canonical_emails.get(p.target_entity_id,
                                                                         set()):
                problems.append(f"{pid}: recipient {to or '(none)'} is not a canonical address "
                                f"of {p.target_entity_id}")
    return problems


def rate_drift(history: Sequence[int], current: int, *, factor: float = 3.0,
               min_abs: int = 3) -> str | None:
    """Why ``current`` proposals is out of line with the median of earlier runs, or None."""
    if not history:
        return None
    med = statistics.median(history)
    if abs(current - med) < min_abs:
        return None
    if current > med * factor or (med > 0 and current < med / factor) or (med >= min_abs
                                                                            and current == 0):
        return f"{current} proposals vs a median of {med:g} over the last {len(history)} runs"
    return None
