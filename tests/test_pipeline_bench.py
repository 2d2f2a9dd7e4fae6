"""The pure parts of the pipeline scale benchmark, ``aios_assets/testing/scaling.py`` (the
pipeline runs of ``benchmarks/pipeline_bench.py`` are not run here: they take minutes)."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from aios_assets.testing.scaling import (
    EVENTS_PER_SCALE,
    OTHER_STAGE,
    STAGES,
    affine_estimate,
    classify_step,
    exponent,
    extrapolate,
    generate_split,
    growth_exponent,
    parse_size,
    source_paths,
    stage_seconds,
)


def test_parse_size_scales_and_events() -> None:
    assert parse_size("2").scale == 2.0
    assert parse_size("0.5").scale == 0.5
    assert parse_size("10k").scale == pytest.approx(10_000 / EVENTS_PER_SCALE, rel=1e-3)
    assert parse_size("100000").scale == pytest.approx(100_000 / EVENTS_PER_SCALE, rel=1e-3)
    assert parse_size("1m").scale == pytest.approx(1_000_000 / EVENTS_PER_SCALE, rel=1e-3)
    assert parse_size("1M").label == "1M"
    for bad in ("", "abc", "0", "-1", "1g"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_steps_fall_into_stages() -> None:
    assert classify_step("ingest_files") == "ingest"
    assert classify_step("event_log_event_ids_unique") == "ingest"
    assert classify_step("aios_dbt") == "entities_dbt"
    assert classify_step("semantic_memory") == "semantic_memory"
    assert classify_step("entity_facts_entity_facts_one_current") == "memory_other"
    assert classify_step("summaries_summaries_fidelity") == "summaries"
    assert classify_step("agent_triage_triage_outputs_valid") == "agents_proposals"
    assert classify_step("proposal_gate_results") == "agents_proposals"
    assert classify_step("freshness_check_1b6c10da") == OTHER_STAGE
    stages = stage_seconds({"aios_dbt": 2.0, "agent_brief": 1.0, "agent_canary": 0.5,
                            "freshness_check_x": 0.25})
    assert list(stages) == [s for s, _ in STAGES] + [OTHER_STAGE]
    assert stages["entities_dbt"] == 2.0 and stages["agents_proposals"] == 1.5
    assert stages[OTHER_STAGE] == 0.25 and sum(stages.values()) == pytest.approx(3.75)


def test_growth_exponent() -> None:
    assert growth_exponent([(1_000, 10.0), (2_000, 20.0), (4_000, 40.0)]) == pytest.approx(1.0)
    assert growth_exponent([(1_000, 10.0), (10_000, 1000.0)]) == pytest.approx(2.0)
    assert growth_exponent([(1_000, 10.0)]) is None
    assert growth_exponent([(1_000, 10.0), (1_000, 12.0)]) is None
    assert exponent(1_000, 10.0, 2_000, 40.0) == pytest.approx(2.0)
    assert exponent(1_000, 10.0, 1_000, 40.0) is None
    assert extrapolate(10_000, 100.0, 100_000, 1.0) == pytest.approx(1000.0)
    assert extrapolate(10_000, 100.0, 100_000, 0.5) == pytest.approx(100 * math.sqrt(10), 0.1)
    assert extrapolate(10_000, 100.0, 100_000, None) is None
    est, fixed, per_event = affine_estimate([(1_000, 60.0), (2_000, 70.0), (3_000, 80.0)],
                                            100_000)
    assert (est, fixed) == (pytest.approx(1050.0), pytest.approx(50.0))
    assert per_event == pytest.approx(0.01)
    assert affine_estimate([(1_000, 60.0)], 100_000) is None


def test_generate_split_holds_back_the_latest_records(tmp_path: Path) -> None:
    from aios_assets.demo import generate

    whole = generate(tmp_path / "whole", scale=0.3)
    split = generate_split(tmp_path / "s" / "base", tmp_path / "s" / "day", scale=0.3)
    # the same business, every record in exactly one of the two folders
    assert split["base_events"] + split["day_events"] == whole.events
    assert 0.005 * whole.events <= split["day_events"] <= 0.02 * whole.events
    assert not list((tmp_path / "s").glob("stamps-*"))  # the counting pass left nothing
    day = source_paths(tmp_path / "s" / "day")
    assert day and all(p.parent == tmp_path / "s" / "day" for p in day)
    assert {p.name for p in source_paths(tmp_path / "s" / "base")} >= {"crm", "email", "chat"}
    day_files = [f for p in day for f in p.rglob("*") if f.is_file()]
    assert len(day_files) == split["day_files"]
    for f in day_files:  # the held-back records are newer than every base record of the file
        base = tmp_path / "s" / "base" / f.relative_to(tmp_path / "s" / "day")
        assert f.stat().st_size > 0
        if f.suffix == ".jsonl" and base.exists():
            assert min(_stamps(f)) >= max(_stamps(base))


def _stamps(path: Path) -> list[datetime]:
    return [datetime.fromisoformat(orjson.loads(line)["occurred_at"])
            for line in path.read_bytes().splitlines() if line.strip()]
