"""Entity resolution as a dbt Python model: every person record -> its canonical entity.

The logic lives in ``aios_assets.resolution.resolve`` (plain functions shared with the benchmark
and the tests); this model only feeds it and persists its state:

- the previous membership is this model's own table (incremental, ``full_refresh: false`` so
  that not even ``dbt build --full-refresh`` can renumber entities);
- the Splink model of the last full run is kept in ``er_model_state`` so that incremental runs
  score new records with the same parameters;
- the normalized records are kept in ``er_record_state``: an incremental run normalizes and
  scores only new or changed records, against their neighbourhood (``resolve_update``);
- operator overrides are read from ``entity_overrides.yaml`` in AIOS_HOME on every run.

Splink runs on a private in-memory DuckDB connection (its scratch tables never touch the
warehouse); only the membership rows that changed are written back.
"""

import json


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key=["source", "source_id"],
        incremental_strategy="delete+insert",
        full_refresh=False,
        on_schema_change="append_new_columns",
    )
    import polars as pl

    from aios_assets.resolution.resolve import (
        FullRunNeeded,
        Overrides,
        resolve_update,
        resolve_with_details,
        save_state,
    )

    overrides = Overrides.load(dbt.config.get("overrides_path"))
    records_rel = dbt.ref("int_person_records")

    previous_model = None
    if dbt.is_incremental and _table_exists(session, "er_model_state"):
        row = session.execute(
            "select model from er_model_state order by trained_at desc limit 1"
        ).fetchone()
        previous_model = json.loads(row[0]) if row and row[0] else None

    result = None
    full_reason = None
    if dbt.is_incremental:
        # new records only: normalized and scored against the persisted state, in SQL on the
        # warehouse; nothing of the other 99% is read into Python
        records_rel.create_view("_er_person_records", replace=True)
        try:
            result = resolve_update(
                session, records_table="_er_person_records", membership_table=str(dbt.this),
                state_table=STATE_TABLE, previous_model=previous_model, overrides=overrides,
            )
        except FullRunNeeded as exc:
            full_reason = str(exc)
    if result is not None:
        if result.records.num_rows:
            save_state(session, STATE_TABLE, result.records, replace=False)
        return _with_stats(result.membership, result.stats, pl).to_arrow()

    previous = session.sql(f"select * from {dbt.this}").to_arrow_table() if (
        dbt.is_incremental) else None
    result = resolve_with_details(
        records_rel.to_arrow_table(),
        previous_membership=previous,
        overrides=overrides,
        previous_model=previous_model,
        return_records=True,
    )
    stats = result.stats
    if full_reason:
        stats["incremental_refused"] = full_reason
    save_state(session, STATE_TABLE, result.records, replace=True)

    if stats.get("mode") == "full" and result.model is not None:
        session.execute(
            "create table if not exists er_model_state "
            "(trained_at timestamptz, records bigint, source varchar, model json)"
        )
        session.execute(
            "insert into er_model_state values (now(), ?, ?, ?)",
            [stats["records"], stats.get("model"), json.dumps(result.model)],
        )
        session.execute(
            "delete from er_model_state where trained_at < "
            "(select max(trained_at) from er_model_state)"
        )

    membership = _with_stats(result.membership, stats, pl)
    if dbt.is_incremental and previous is not None:
        # write back only what changed (new records, new ids, new explanations)
        prev = pl.from_arrow(previous).select(
            "source", "source_id",
            pl.col("entity_id").alias("_prev_entity"),
            pl.col("matched_by").alias("_prev_by"),
            pl.col("score").alias("_prev_score"),
            pl.col("record_hash").alias("_prev_hash"),
        )
        joined = membership.join(prev, on=["source", "source_id"], how="left")
        changed = joined.filter(
            pl.col("_prev_entity").is_null()
            | (pl.col("_prev_entity") != pl.col("entity_id"))
            | (pl.col("_prev_by") != pl.col("matched_by"))
            | (pl.col("_prev_score").fill_null(-1.0) != pl.col("score").fill_null(-1.0))
            | (pl.col("_prev_hash") != pl.col("record_hash"))
        )
        membership = changed.drop("_prev_entity", "_prev_by", "_prev_score", "_prev_hash")
    return membership.to_arrow()


STATE_TABLE = "er_record_state"


def _table_exists(session, name):
    return session.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = current_schema() and table_name = ?", [name]
    ).fetchone()[0] > 0


def _with_stats(membership, stats, pl):
    return membership.with_columns(
        pl.lit(stats.get("mode", "full")).alias("resolution_mode"),
        pl.lit(json.dumps({k: v for k, v in stats.items() if k != "timings"}, default=str))
        .alias("resolution_stats"),
    )
