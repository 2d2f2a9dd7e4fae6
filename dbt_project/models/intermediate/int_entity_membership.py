"""Entity resolution as a dbt Python model: every person record -> its canonical entity.

The schema ``resolver`` is internal to this model (``aios_assets/entities/resolution/state.py``).
The logic lives in ``aios_assets.entities.resolution`` (plain functions shared with the
benchmark and the tests); this model only feeds it and persists its state:

- the previous membership is this model's own table (incremental, ``full_refresh: false`` so
  that not even ``dbt build --full-refresh`` can renumber entities);
- the Splink model of the last full run is kept in ``resolver.model_state`` so that
  incremental runs score new records with the same parameters;
- the normalized records are kept in ``resolver.record_state``: an incremental run normalizes
  and scores only new or changed records, against their neighbourhood (``resolve_update``);
- operator overrides are read from ``entity_overrides.yaml`` in AIOS_HOME on every run.

Splink runs on a private in-memory DuckDB connection (its scratch tables never touch the
warehouse); only the membership rows that changed are written back.

Nothing new: after an incremental run, a fingerprint of everything ``resolve_update`` reads
(the records' resolver columns, the model, the overrides, the resolver's code) is kept in
``resolver.run_fingerprint``. A run that finds the same fingerprint, and membership and state still
in step, returns no rows without importing the resolver (polars, Splink, pandas) or computing
every record's md5 input hash: ``resolve_update`` would have returned none either.
"""

import json

import duckdb

from aios_assets.entities.resolution.state import (
    MODEL_STATE,
    RECORD_STATE,
    RUN_FINGERPRINT,
    ensure_schema,
    table_exists,
)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key=["source", "source_id"],
        incremental_strategy="delete+insert",
        full_refresh=False,
        on_schema_change="append_new_columns",
    )
    # relative to the home (``aios-dbt`` runs in it and sets AIOS_HOME): see overrides_file
    from aios_assets.entities.resolution.overrides import overrides_file
    from aios_assets.shared.home import AiosHome

    overrides_path = str(overrides_file(AiosHome.from_env().root, dbt.config.get("overrides_path")))
    records_rel = dbt.ref("int_person_records")

    ensure_schema(session)
    fingerprint = None
    if dbt.is_incremental:
        records_rel.create_view("_er_person_records", replace=True)
        fingerprint = _fingerprint(session, "_er_person_records", overrides_path)
        if fingerprint is not None and _unchanged(
            session, fingerprint, str(dbt.this), "_er_person_records"
        ):
            return session.sql(f"select * from {dbt.this} limit 0")
        # whatever this run does, the stored fingerprint no longer vouches for the tables
        if table_exists(session, RUN_FINGERPRINT):
            session.execute(f"delete from {RUN_FINGERPRINT}")

    import polars as pl

    from aios_assets.entities.resolution.incremental import (
        FullRunNeeded,
        resolve_update,
        save_state,
    )
    from aios_assets.entities.resolution.overrides import Overrides
    from aios_assets.entities.resolution.resolve import resolve_with_details

    overrides = Overrides.load(overrides_path)

    previous_model = None
    if dbt.is_incremental and table_exists(session, MODEL_STATE):
        row = session.execute(
            f"select model from {MODEL_STATE} order by trained_at desc limit 1"
        ).fetchone()
        previous_model = json.loads(row[0]) if row and row[0] else None

    result = None
    full_reason = None
    if dbt.is_incremental:
        # new records only: normalized and scored against the persisted state, in SQL on the
        # warehouse; nothing of the other 99% is read into Python
        try:
            result = resolve_update(
                session, records_table="_er_person_records", membership_table=str(dbt.this),
                state_table=RECORD_STATE, previous_model=previous_model, overrides=overrides,
            )
        except FullRunNeeded as exc:
            full_reason = str(exc)
    if result is not None:
        if result.records.num_rows:
            save_state(session, RECORD_STATE, result.records, replace=False)
        if fingerprint is not None:
            # an incremental run leaves state and membership resolved for these inputs: the
            # same inputs again would make resolve_update return nothing
            session.execute(
                f"create or replace table {RUN_FINGERPRINT} as "
                f"select '{fingerprint}' as fingerprint, now() as written_at"
            )
        if result.membership.height == 0:
            # the same empty result without pyarrow.dataset, which imports pandas (~0.3 s)
            return session.sql(f"select * from {dbt.this} limit 0")
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
    save_state(session, RECORD_STATE, result.records, replace=True)

    if stats.get("mode") == "full" and result.model is not None:
        session.execute(
            f"create table if not exists {MODEL_STATE} "
            "(trained_at timestamptz, records bigint, source varchar, model json)"
        )
        session.execute(
            f"insert into {MODEL_STATE} values (now(), ?, ?, ?)",
            [stats["records"], stats.get("model"), json.dumps(result.model)],
        )
        session.execute(
            f"delete from {MODEL_STATE} where trained_at < "
            f"(select max(trained_at) from {MODEL_STATE})"
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


def _fingerprint(
    session: duckdb.DuckDBPyConnection, records_table: str, overrides_path: str | None
) -> str | None:
    """A digest of everything a ``resolve_update`` that finds nothing new depends on, or None
    when there is no previous model (then nothing can be skipped)."""
    import hashlib
    import inspect
    from pathlib import Path

    from aios_assets.entities.resolution import normalize  # light: no polars, pyarrow or Splink

    if not table_exists(session, MODEL_STATE):
        return None
    digest = hashlib.sha256()
    # the model in use (a full run writes a new row)
    digest.update(repr(session.execute(
        f"select trained_at, hash(model) from {MODEL_STATE} order by trained_at desc limit 1"
    ).fetchone()).encode())
    # the records: every column the resolver reads (a superset is only more cautious)
    names = {r[0] for r in session.execute(f"describe {records_table}").fetchall()}
    cols = ["source", "source_id", "first_seen_at"] + [
        c for c in (*normalize.PERSON_COLUMNS, "surname") if c in names
    ]
    digest.update(repr(session.execute(
        f"select count(*), sum(hash({', '.join(cols)})) from {records_table}"
    ).fetchone()).encode())
    # the overrides
    digest.update(repr(overrides_path).encode())
    if overrides_path and Path(overrides_path).is_file():
        digest.update(Path(overrides_path).read_bytes())
    # the code: the resolver package and this model
    package = Path(normalize.__file__).parent
    for path in sorted(package.glob("*.py")) + sorted(package.glob("*.json")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    try:
        digest.update(inspect.getsource(model).encode())
    except (OSError, TypeError):
        return None
    return digest.hexdigest()


def _unchanged(
    session: duckdb.DuckDBPyConnection, fingerprint: str, membership_table: str,
    records_table: str,
) -> bool:
    """The stored fingerprint is this run's, and membership and state agree record for record
    (a failed membership write after the fingerprint was stored shows here)."""
    if not table_exists(session, RUN_FINGERPRINT) or not table_exists(session, RECORD_STATE):
        return False
    stored = session.execute(f"select fingerprint from {RUN_FINGERPRINT}").fetchall()
    if stored != [(fingerprint,)]:
        return False
    sums = [
        session.execute(
            f"select count(*), sum(hash(source, source_id, record_hash)) from {table}"
        ).fetchone()
        for table in (membership_table, RECORD_STATE)
    ]
    n_records = session.execute(f"select count(*) from {records_table}").fetchone()[0]
    return sums[0] == sums[1] and sums[0][0] == n_records


def _with_stats(membership, stats, pl):
    return membership.with_columns(
        pl.lit(stats.get("mode", "full")).alias("resolution_mode"),
        pl.lit(json.dumps({k: v for k, v in stats.items() if k != "timings"}, default=str))
        .alias("resolution_stats"),
    )
