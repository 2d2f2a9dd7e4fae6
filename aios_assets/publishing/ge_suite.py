"""The Great Expectations suite on the proposals, run in an ephemeral context on a frame.

It states the proposals' data contract (ids and idempotency keys present and unique, known
action types / capabilities / modes, confidence in [0, 1], costs not negative) and repeats the
text gates (placeholders, secrets) as regular expressions, so a bug in one implementation does
not let a bad message through. Failures map back to proposals through a row index column.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aios_assets.publishing.gates import (
    CAPABILITIES,
    PLACEHOLDER_RE,
    PROPOSAL_MODES,
    SECRET_RE,
    Verdict,
)
from aios_assets.publishing.policy import ACTION_CAPABILITY, Policy, content_text, outgoing_text

SUITE_NAME = "action_proposals_gate"
_ROW = "_row"


@dataclass
class GeOutcome:
    """The suite's overall result and the per-proposal verdicts."""

    success: bool
    evaluated: int
    successful: int
    failed_expectations: list[str] = field(default_factory=list)
    verdicts: dict[str, Verdict] = field(default_factory=dict)


def proposals_frame(proposals: Sequence[Mapping[str, Any]]):
    """A pandas frame with one row per proposal and the columns the suite reads."""
    import pandas as pd

    rows = []
    for i, p in enumerate(proposals):
        rows.append({
            _ROW: i,
            "proposal_id": p.get("proposal_id"),
            "idempotency_key": p.get("idempotency_key"),
            "agent": p.get("agent"),
            "action_type": p.get("action_type"),
            "capability": p.get("capability"),
            "mode": p.get("mode") or "live",
            "confidence": None if p.get("confidence") is None else float(p["confidence"]),
            "estimated_cost_usd": (None if p.get("estimated_cost_usd") is None
                                   else float(p["estimated_cost_usd"])),
            # as the gates read it: content for placeholders, every field for secrets
            "text": content_text(p.get("payload")),
            "all_text": outgoing_text(p.get("payload")),
        })
    columns = [_ROW, "proposal_id", "idempotency_key", "agent", "action_type", "capability",
               "mode", "confidence", "estimated_cost_usd", "text", "all_text"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"confidence": "float64", "estimated_cost_usd": "float64"})


def _expectations(policy: Policy) -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    action_types = sorted(set(ACTION_CAPABILITY) | set(policy.actions))
    specs = [
        ("proposal_id present", e.ExpectColumnValuesToNotBeNull, {"column": "proposal_id"}),
        ("proposal_id unique", e.ExpectColumnValuesToBeUnique, {"column": "proposal_id"}),
        ("idempotency_key present", e.ExpectColumnValuesToNotBeNull,
         {"column": "idempotency_key"}),
        ("idempotency_key unique", e.ExpectColumnValuesToBeUnique,
         {"column": "idempotency_key"}),
        ("agent present", e.ExpectColumnValuesToNotBeNull, {"column": "agent"}),
        ("known action_type", e.ExpectColumnValuesToBeInSet,
         {"column": "action_type", "value_set": action_types}),
        ("known capability", e.ExpectColumnValuesToBeInSet,
         {"column": "capability", "value_set": list(CAPABILITIES)}),
        ("known mode", e.ExpectColumnValuesToBeInSet,
         {"column": "mode", "value_set": list(PROPOSAL_MODES)}),
        ("confidence in [0, 1]", e.ExpectColumnValuesToBeBetween,
         {"column": "confidence", "min_value": 0, "max_value": 1}),
        ("cost not negative", e.ExpectColumnValuesToBeBetween,
         {"column": "estimated_cost_usd", "min_value": 0}),
        ("no placeholders", e.ExpectColumnValuesToNotMatchRegex,
         {"column": "text", "regex": PLACEHOLDER_RE.pattern}),
        ("no secrets", e.ExpectColumnValuesToNotMatchRegex,
         {"column": "all_text", "regex": SECRET_RE.pattern}),
    ]
    return [cls(**kwargs, meta={"label": label}) for label, cls, kwargs in specs]


def _raised(info: Any) -> bool:
    """GE reports expectation errors flat or keyed by metric; either way fail closed."""
    if not isinstance(info, Mapping):
        return False
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(_raised(v) for v in info.values())


def run_ge_suite(proposals: Sequence[Mapping[str, Any]], policy: Policy) -> GeOutcome:
    """Validate the proposals with the suite; every proposal gets a ``ge_suite`` verdict."""
    if not proposals:
        return GeOutcome(success=True, evaluated=0, successful=0)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    frame = proposals_frame(proposals)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False,
                                                         metric_calculations=False)
    batch = (context.data_sources.add_pandas("proposals")
             .add_dataframe_asset("action_proposals")
             .add_batch_definition_whole_dataframe("all"))
    suite = gx.ExpectationSuite(name=SUITE_NAME)
    for expectation in _expectations(policy):
        suite.add_expectation(expectation)
    suite = context.suites.add(suite)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=SUITE_NAME, data=batch, suite=suite))
    result = validation.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [_ROW]},
    )
    ids = frame["proposal_id"].tolist()
    failures: dict[int, list[str]] = {}
    failed: list[str] = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        label = (cfg.meta or {}).get("label") or f"{cfg.type}({cfg.kwargs.get('column')})"
        failed.append(label)
        rows = [item[_ROW] for item in (r.result or {}).get("unexpected_index_list") or []
                if isinstance(item, Mapping) and _ROW in item]
        if _raised(r.exception_info) or not rows:
            rows = list(range(len(ids)))  # cannot tell which rows: fail all (closed)
        for row in rows:
            failures.setdefault(int(row), []).append(label)
    verdicts: dict[str, Verdict] = {}
    for row, pid in enumerate(ids):
        if pid is None:
            continue
        labels = failures.get(row)
        verdicts[pid] = (Verdict(False, "GE suite failed: " + ", ".join(labels)) if labels
                         else Verdict(True))
    stats = result.statistics or {}
    return GeOutcome(
        success=bool(result.success),
        evaluated=int(stats.get("evaluated_expectations", len(result.results))),
        successful=int(stats.get("successful_expectations", 0)),
        failed_expectations=failed,
        verdicts=verdicts,
    )
