"""The Great Expectations suite on the proposals, run in an ephemeral context on a frame.

It states the proposals' data contract (ids and idempotency keys present and unique, known
action types / capabilities / modes, confidence in [0, 1], costs not negative) and repeats the
text gates (placeholders, secrets) as regular expressions, so a bug in one implementation does
not let a bad message through. Failures map back to proposals through a row index column.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
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
MEMO_KEEP = 64  # outcomes kept in the memo folder (the newest)


@dataclass
class GeOutcome:
    """The suite's overall result and the per-proposal verdicts."""

    success: bool
    evaluated: int
    successful: int
    failed_expectations: list[str] = field(default_factory=list)
    verdicts: dict[str, Verdict] = field(default_factory=dict)


def proposal_rows(proposals: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per proposal with the columns the suite reads (everything it sees)."""
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
    return rows


def proposals_frame(rows: Sequence[Mapping[str, Any]]):
    """A pandas frame of :func:`proposal_rows`, typed as the suite reads it."""
    import pandas as pd

    columns = [_ROW, "proposal_id", "idempotency_key", "agent", "action_type", "capability",
               "mode", "confidence", "estimated_cost_usd", "text", "all_text"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"confidence": "float64", "estimated_cost_usd": "float64"})


def expectation_specs(policy: Policy) -> list[tuple[str, str, dict[str, Any]]]:
    """The suite as data: (label, GE expectation class name, its arguments)."""
    action_types = sorted(set(ACTION_CAPABILITY) | set(policy.actions))
    return [
        ("proposal_id present", "ExpectColumnValuesToNotBeNull", {"column": "proposal_id"}),
        ("proposal_id unique", "ExpectColumnValuesToBeUnique", {"column": "proposal_id"}),
        ("idempotency_key present", "ExpectColumnValuesToNotBeNull",
         {"column": "idempotency_key"}),
        ("idempotency_key unique", "ExpectColumnValuesToBeUnique",
         {"column": "idempotency_key"}),
        ("agent present", "ExpectColumnValuesToNotBeNull", {"column": "agent"}),
        ("known action_type", "ExpectColumnValuesToBeInSet",
         {"column": "action_type", "value_set": action_types}),
        ("known capability", "ExpectColumnValuesToBeInSet",
         {"column": "capability", "value_set": list(CAPABILITIES)}),
        ("known mode", "ExpectColumnValuesToBeInSet",
         {"column": "mode", "value_set": list(PROPOSAL_MODES)}),
        ("confidence in [0, 1]", "ExpectColumnValuesToBeBetween",
         {"column": "confidence", "min_value": 0, "max_value": 1}),
        ("cost not negative", "ExpectColumnValuesToBeBetween",
         {"column": "estimated_cost_usd", "min_value": 0}),
        ("no placeholders", "ExpectColumnValuesToNotMatchRegex",
         {"column": "text", "regex": PLACEHOLDER_RE.pattern}),
        ("no secrets", "ExpectColumnValuesToNotMatchRegex",
         {"column": "all_text", "regex": SECRET_RE.pattern}),
    ]


def _expectations(policy: Policy) -> list[Any]:
    import great_expectations as gx

    return [getattr(gx.expectations, cls)(**kwargs, meta={"label": label})
            for label, cls, kwargs in expectation_specs(policy)]


def _raised(info: Any) -> bool:
    """GE reports expectation errors flat or keyed by metric; either way fail closed."""
    if not isinstance(info, Mapping):
        return False
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(_raised(v) for v in info.values())


def suite_fingerprint(rows: Sequence[Mapping[str, Any]], policy: Policy) -> str:
    """What the suite's outcome depends on: the rows it reads (:func:`proposal_rows`), the
    expectations and GE's version."""
    basis = {"rows": rows, "suite": expectation_specs(policy),
             "great_expectations": version("great_expectations")}
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


def _recall(path: Path) -> GeOutcome | None:
    try:
        data = json.loads(path.read_text())
        verdicts = {str(k): Verdict(**v) for k, v in data.pop("verdicts").items()}
        return GeOutcome(**data, verdicts=verdicts)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # absent, torn or foreign: validate again


def _remember(memo: Path, path: Path, outcome: GeOutcome) -> None:
    with suppress(OSError):  # a memo that cannot be written only costs the next run time
        memo.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(outcome)))
        os.replace(tmp, path)
        for old in sorted(memo.glob("*.json"), key=lambda p: p.stat().st_mtime)[:-MEMO_KEEP]:
            old.unlink(missing_ok=True)


def run_ge_suite(proposals: Sequence[Mapping[str, Any]], policy: Policy, *,
                 memo: Path | None = None) -> GeOutcome:
    """Validate the proposals with the suite; every proposal gets a ``ge_suite`` verdict.

    ``memo``: a folder of earlier outcomes by :func:`suite_fingerprint`. The suite is a pure
    function of what it reads, so the same open proposals under the same policy are not
    validated (nor Great Expectations imported, about 2.5 s) again on every run."""
    if not proposals:
        return GeOutcome(success=True, evaluated=0, successful=0)
    rows = proposal_rows(proposals)
    if memo is None:
        return _validate(rows, policy)
    path = memo / f"{suite_fingerprint(rows, policy)}.json"
    outcome = _recall(path)
    if outcome is None:
        outcome = _validate(rows, policy)
        _remember(memo, path, outcome)
    return outcome


def _validate(rows: Sequence[Mapping[str, Any]], policy: Policy) -> GeOutcome:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    frame = proposals_frame(rows)
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
