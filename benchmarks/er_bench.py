"""Entity-resolution benchmark: the AIOS resolver against a standard Splink model.

    .venv/bin/python -m benchmarks.er_bench            # everything (a few minutes)
    .venv/bin/python -m benchmarks.er_bench --quick    # skip the 100k runs

Quality (pairwise precision / recall / F1 against ground truth), same records, same run:

- ``fake_1000``: the public sample ``/work/shared/data/er/fake_1000.csv``;
- ``synthetic``: held-out noisy person records from ``aios_assets.resolution.synthetic``
  (typos, nicknames, missing values, swapped names, other emails, namesakes and relatives) with
  seeds that neither the packaged default model (seed 1) nor the tests (2024, 99) use.

"Standard Splink" is the deduplication quickstart shipped with Splink 5.0.0 (README /
package metadata) for this data set: JaroWinkler first name, Jaro surname,
DateOfBirthComparison, exact city with term frequencies, EmailComparison; blocking on first
name and on surname; trained with the prior from first+surname, u by random sampling, EM on
first+surname and on dob; clustered at match probability 0.95.

Speed: 100,000 synthetic contact records resolved by ``resolve()`` (cold, full run with
training), then again with 1% new records (incremental), and end to end through ``dbt build``
on a DuckDB event log holding 100,000 contact events (then +1%).

Prints a table and writes ``benchmarks/results/er.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from aios_assets.ingest.loader import ensure_tables
from aios_assets.resolution.resolve import (
    ResolverConfig,
    pairwise_from_labels,
    resolve_with_details,
)
from aios_assets.resolution.synthetic import generate

ROOT = Path(__file__).resolve().parent.parent
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
RESULTS = ROOT / "benchmarks" / "results" / "er.json"
SYNTHETIC_SEEDS = (101, 202)


# --- data ---------------------------------------------------------------------------------


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


def synthetic(n_people: int, seed: int) -> tuple[pl.DataFrame, dict]:
    df = pl.DataFrame(generate(n_people, seed=seed)).with_columns(
        pl.lit("syn").alias("source"), pl.col("unique_id").cast(pl.Utf8).alias("source_id")
    )
    truth = dict(zip(df["source_id"].to_list(), df["cluster"].to_list()))
    return df.drop("cluster", "unique_id"), truth


# --- the two resolvers ------------------------------------------------------------------------


def run_aios(records: pl.DataFrame, truth: dict, **kw: Any) -> dict:
    t = time.perf_counter()
    res = resolve_with_details(records, **kw)
    elapsed = time.perf_counter() - t
    pred = dict(zip(res.membership["source_id"].to_list(), res.membership["entity_id"].to_list()))
    return {**pairwise_from_labels(pred, truth), "seconds": round(elapsed, 2),
            "stats": {k: res.stats[k] for k in ("mode", "model", "entities", "refused_merges",
                                                "matched_by", "timings")},
            "_result": res}


def run_standard_splink(records: pl.DataFrame, truth: dict) -> dict:
    """Splink 5.0.0's documented quickstart for fake_1000, unchanged."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t = time.perf_counter()
    con = duckdb.connect()
    df = records.select(
        pl.col("source_id").alias("unique_id"),
        "first_name",
        pl.col("last_name").alias("surname"),
        pl.col("dob").str.to_date(strict=False).alias("dob"),
        "city",
        "email",
    )
    con.register("input_arrow", df.to_arrow())
    con.execute("create table input as select * from input_arrow")
    db_api = DuckDBAPI(con)
    sdf = db_api.register(con.table("input"), dataset_display_name="records")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("first_name", [0.9, 0.7]),
            cl.JaroAtThresholds("surname", [0.9, 0.7]),
            cl.DateOfBirthComparison(
                "dob",
                input_is_string=False,
                datetime_metrics=["year", "month"],
                datetime_thresholds=[1, 1],
            ),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name"),
            block_on("surname"),
        ],
    )
    linker = Linker(sdf, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "surname")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    pairwise = linker.inference.predict(threshold_match_weight=-10)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairwise, 0.95)
    out = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()
    elapsed = time.perf_counter() - t
    pred = {str(u): c for u, c in out}
    return {**pairwise_from_labels(pred, truth), "seconds": round(elapsed, 2)}


# --- end to end through dbt -------------------------------------------------------------------


def _load_contacts(warehouse: Path, records: pl.DataFrame, batch: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        ensure_tables(con)
        rows = records.select(
            "source_id",
            pl.struct(
                "source_id", "first_name", "last_name", "email", "phone", "dob", "city",
                "postcode", "company",
            ).struct.json_encode().alias("payload"),
        )
        con.register("new_contacts", rows.to_arrow())
        con.execute(
            f"""
            insert into event_log
            select md5('crm' || source_id || payload), 'crm', source_id, 1, 'contact',
                   now(), now(), null, null, null, '', payload::json,
                   {{'emails': [], 'names': [], 'domains': [], 'phones': []}},
                   md5(payload), 'bench.csv', 0, '{batch}', source_id
            from new_contacts
            """
        )
    finally:
        con.close()


def dbt_end_to_end(records: pl.DataFrame, new_fraction: float = 0.01) -> dict:
    dbt_exe = str(Path(sys.executable).with_name("dbt"))
    with tempfile.TemporaryDirectory(prefix="aios-er-bench-") as tmp:
        home = Path(tmp)
        wh = home / "warehouse.duckdb"
        n_new = int(len(records) * new_fraction)
        old, new = records.head(len(records) - n_new), records.tail(n_new)
        env = {**os.environ, "AIOS_HOME": str(home), "AIOS_WAREHOUSE": str(wh),
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_LOG_PATH": str(home / "logs")}
        cmd = [dbt_exe, "build", "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir",
               str(ROOT / "dbt_project"), "--target-path", str(home / "target")]

        def build() -> float:
            t = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(proc.stdout[-4000:])
            return time.perf_counter() - t

        t = time.perf_counter()
        _load_contacts(wh, old, "b1")
        load_s = time.perf_counter() - t
        first = build()
        _load_contacts(wh, new, "b2")
        second = build()
        con = duckdb.connect(str(wh), read_only=True)
        try:
            mode = con.execute(
                "select resolution_mode, count(*) from int_entity_membership group by 1"
            ).fetchall()
            n = con.execute("select count(*) from entity_membership").fetchone()[0]
        finally:
            con.close()
    return {"records": n, "load_s": round(load_s, 2), "dbt_build_s": round(first, 2),
            "dbt_build_plus_1pct_s": round(second, 2), "modes": dict(mode)}


# --- main -------------------------------------------------------------------------------------


def _fmt(r: dict) -> str:
    return f"{r['precision']:.4f}  {r['recall']:.4f}  {r['f1']:.4f}  {r['seconds']:7.2f}s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 100k runs")
    ap.add_argument("--no-dbt", action="store_true", help="skip the dbt end-to-end run")
    ap.add_argument("--n-people", type=int, default=48_000,
                    help="people for the speed run (~2.1 records each)")
    args = ap.parse_args(argv)
    logging.getLogger("splink").setLevel(logging.ERROR)

    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "config": ResolverConfig().__dict__,
        "quality": {},
    }
    datasets: list[tuple[str, pl.DataFrame, dict]] = []
    if FAKE_1000.exists():
        datasets.append(("fake_1000", *fake_1000()))
    for seed in SYNTHETIC_SEEDS:
        datasets.append((f"synthetic_seed{seed}", *synthetic(1000, seed)))

    print(f"{'data set':22s} {'records':>7s}  {'resolver':16s} {'P':>6s}  {'R':>6s}  "
          f"{'F1':>6s}  {'time':>8s}")
    for name, records, truth in datasets:
        ours = run_aios(records, truth)
        ours.pop("_result")
        std = run_standard_splink(records, truth)
        results["quality"][name] = {"records": len(records), "aios": ours,
                                    "standard_splink": std}
        print(f"{name:22s} {len(records):7d}  {'aios':16s} {_fmt(ours)}")
        print(f"{'':22s} {'':7s}  {'standard splink':16s} {_fmt(std)}")

    if not args.quick:
        records, truth = synthetic(args.n_people, 777)
        n_new = len(records) // 100
        old = records.head(len(records) - n_new)
        old_truth = {k: truth[k] for k in old["source_id"].to_list()}
        full = run_aios(old, old_truth)
        res = full.pop("_result")
        inc = run_aios(records, truth, previous_membership=res.membership,
                       previous_model=res.model)
        inc.pop("_result")
        cold = run_aios(records, truth)
        cold.pop("_result")
        results["speed"] = {
            "records": len(records),
            "full_run": cold,
            "incremental_plus_1pct": {**inc, "base_records": len(old)},
        }
        print(f"\n{len(records):,} records, resolve() full run: {cold['seconds']:.1f}s "
              f"(P={cold['precision']:.4f} R={cold['recall']:.4f} F1={cold['f1']:.4f}); "
              f"+1% new records, incremental: {inc['seconds']:.1f}s "
              f"(mode={inc['stats']['mode']})")
        if not args.no_dbt:
            e2e = dbt_end_to_end(records)
            results["speed"]["dbt_end_to_end"] = e2e
            print(f"end to end, dbt build over {e2e['records']:,} contact events: "
                  f"{e2e['dbt_build_s']:.1f}s; after +1% new events: "
                  f"{e2e['dbt_build_plus_1pct_s']:.1f}s (event load {e2e['load_s']:.1f}s)")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
