"""Pure parts of the pipeline scale benchmark (``benchmarks.pipeline_bench``), shared with its
tests: sizes (scales or event counts), the stage of a Dagster step, growth exponents and
extrapolation, and the demo business generated with its latest records held back.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aios_assets.demo import SOURCE_FOLDERS

EVENTS_PER_SCALE = 5445  # the generator's events at scale 1 over 90 days (seed 7)
DEFAULT_DAYS = 90
HOLDBACK_FRACTION = 0.01  # the "day of new events" of the incremental run

# Stage of a Dagster step key: the first stage one of whose prefixes starts the key (asset
# checks are named "<asset>_<check>", so they fall in their asset's stage).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ingest", ("ingest_files", "event_log_")),
    ("entities_dbt", ("aios_dbt",)),
    ("semantic_memory", ("semantic_memory",)),
    ("memory_other", ("episodes", "working_memory", "entity_facts", "policy_traces")),
    ("summaries", ("summaries",)),
    ("agents_proposals", ("agent_", "action_proposals", "proposal_")),
    ("cost_ledger", ("cost_ledger",)),
)
OTHER_STAGE = "other"  # freshness checks and anything not listed above


@dataclass(frozen=True)
class Size:
    label: str
    scale: float


def parse_size(text: str) -> Size:
    """``"2"``/``"0.5"`` are scales; ``"10k"``, ``"1m"`` or a number >= 1000 are event counts."""
    s = text.strip().lower().replace("_", "").replace(",", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", s)
    if not m:
        raise ValueError(f"bad size {text!r}: a scale (2, 0.5) or events (10k, 100000, 1m)")
    value = float(m.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2)]
    if value <= 0:
        raise ValueError(f"bad size {text!r}: must be > 0")
    if m.group(2) or value >= 1000:
        return Size(text, round(value / EVENTS_PER_SCALE, 4))
    return Size(text, value)


def classify_step(step_key: str) -> str:
    for stage, prefixes in STAGES:
        if step_key.startswith(prefixes):
            return stage
    return OTHER_STAGE


def stage_seconds(steps: dict[str, float]) -> dict[str, float]:
    """Seconds per stage (in ``STAGES`` order, then ``other``) from seconds per step key."""
    out = {stage: 0.0 for stage, _ in STAGES}
    out[OTHER_STAGE] = 0.0
    for key, seconds in steps.items():
        out[classify_step(key)] += seconds
    return {k: round(v, 3) for k, v in out.items()}


def exponent(n1: float, t1: float, n2: float, t2: float) -> float | None:
    """Growth exponent between two points: log(t2 / t1) / log(n2 / n1)."""
    if min(n1, t1, n2, t2) <= 0 or n1 == n2:
        return None
    return round(math.log(t2 / t1) / math.log(n2 / n1), 3)


def growth_exponent(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(time) over log(size) (1.0 = linear); None below 2 sizes."""
    pts = [(math.log(n), math.log(t)) for n, t in points if n > 0 and t > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = statistics.fmean(x for x, _ in pts)
    my = statistics.fmean(y for _, y in pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return round(sum((x - mx) * (y - my) for x, y in pts) / sxx, 3)


def extrapolate(events: float, seconds: float, target_events: float,
                exp: float | None) -> float | None:
    """Seconds at ``target_events`` from one measured point and a growth exponent."""
    if exp is None or events <= 0 or seconds <= 0:
        return None
    return round(seconds * (target_events / events) ** exp, 1)


def affine_estimate(points: Sequence[tuple[float, float]], target_events: float
                    ) -> tuple[float, float, float] | None:
    """Least-squares ``seconds = fixed + per_event * events`` over the sizes, and its value at
    ``target_events``: (estimate, fixed, per_event); None below 2 sizes. A sub-linear exponent
    measured at small sizes mostly reflects fixed costs, so extrapolating with it would
    underestimate the large sizes; the affine fit does not."""
    if len({n for n, _ in points}) < 2:
        return None
    mx = statistics.fmean(n for n, _ in points)
    my = statistics.fmean(t for _, t in points)
    per_event = (sum((n - mx) * (t - my) for n, t in points)
                 / sum((n - mx) ** 2 for n, _ in points))
    fixed = my - per_event * mx
    return round(fixed + per_event * target_events, 1), round(fixed, 2), per_event


# --- generating the demo business with its last day held back ---------------------------------


def _generate_with(writer_cls: Any, out: Path, *, scale: float, seed: int, days: int) -> Any:
    """``demo.generate`` with its writer class replaced (the generator looks ``Writer`` up by
    name in :mod:`aios_assets.demo.writer` at each call)."""
    from aios_assets.demo import writer as dw

    original = dw.Writer
    dw.Writer = writer_cls
    try:
        return dw.generate(out, seed=seed, days=days, scale=scale)
    finally:
        dw.Writer = original


def generate_split(base_dir: Path, day_dir: Path, *, scale: float, seed: int = 7,
                   days: int = DEFAULT_DAYS,
                   holdback_fraction: float = HOLDBACK_FRACTION) -> dict[str, Any]:
    """The demo business with its latest records held back: the generator's time-ordered
    records before the cutoff go to ``base_dir`` (with the contacts exports and the ground
    truth), the rest to ``day_dir``, both in the input formats (same writer class).

    The cutoff is the timestamp of the record at ``1 - holdback_fraction`` of the stream, found
    by a first run of the generator that only notes the timestamps (its files are deleted):
    "a day of new events" is ~1% of the history whatever the weekday (the demo's last day is a
    Saturday, with about half a weekday's records).
    """
    from aios_assets.demo import writer as dw

    base_writer = dw.Writer
    stamps: list[int] = []

    class StampWriter(base_writer):  # type: ignore[misc, valid-type]
        def write(self, item: Any) -> None:
            stamps.append(item[0])
            super().write(item)

    base_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="stamps-", dir=base_dir.parent))
    try:
        _generate_with(StampWriter, scratch / "out", scale=scale, seed=seed, days=days)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    cutoff = stamps[min(len(stamps) - 1, int(len(stamps) * (1 - holdback_fraction)))]
    day_dir.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {}

    class SplitWriter(base_writer):  # type: ignore[misc, valid-type]
        def __init__(self, out: Path, w: Any, spill: Any) -> None:
            super().__init__(out, w, spill)
            self.day_spill = open(os.devnull, "wb")  # noqa: SIM115 - closed in close()
            self.day = base_writer(day_dir, w, self.day_spill)
            state["writer"] = self

        def write(self, item: Any) -> None:
            if item[0] >= cutoff:
                self.day.write(item)
            else:
                super().write(item)

        def close(self) -> None:
            super().close()
            self.day.close()
            self.day_spill.close()

    summary = _generate_with(SplitWriter, base_dir, scale=scale, seed=seed, days=days)
    day_counts = dict(state["writer"].day.counts)
    return {"base_events": summary.events, "base_files": len(summary.files),
            "day_events": sum(day_counts.values()), "day_files": len(day_counts),
            "day_hours": round((stamps[-1] - cutoff) / 3600, 1),
            "cutoff": datetime.fromtimestamp(cutoff, UTC).isoformat()}


def source_paths(folder: Path) -> list[Path]:
    return [folder / s for s in SOURCE_FOLDERS if (folder / s).exists()]
