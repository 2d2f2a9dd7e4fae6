"""Incremental resolution against persisted state: ``save_state`` keeps the normalized records
of a run, ``resolve_update`` resolves only what is new against them and the previous
membership, or raises ``FullRunNeeded`` when only a full run gives the right answer."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from .normalize import KEY_COLUMNS, input_hash_sql
from .overrides import Overrides
from .records import (
    MEMBERSHIP_SCHEMA,
    STATE_COLUMNS,
    TF_COLUMNS,
    Key,
    prepare_records,
    raw_columns_sql,
)
from .resolve import Resolution, ResolverConfig, resolve_with_details
from .state import ensure_schema, table_exists


class FullRunNeeded(Exception):
    """``resolve_update`` cannot resolve incrementally; the message says why."""


def save_state(con: duckdb.DuckDBPyConnection, state_table: str, records: pa.Table, *,
               replace: bool) -> None:
    """Persist normalized records (STATE_COLUMNS) as resolver state on ``con``.

    ``replace`` (after a full run) rewrites the table; otherwise the given records replace
    their earlier versions, keyed by (source, source_id)."""
    if "." in state_table:
        ensure_schema(con)
    con.register("_er_state_arrow", records)
    try:
        if replace or not table_exists(con, state_table):
            con.execute(f"create or replace table {state_table} as "
                        "select * from _er_state_arrow")
        else:
            con.execute(f"delete from {state_table} s using _er_state_arrow n "
                        "where s.source = n.source and s.source_id = n.source_id")
            con.execute(f"insert into {state_table} by name select * from _er_state_arrow")
    finally:
        con.unregister("_er_state_arrow")


def resolve_update(
    con: duckdb.DuckDBPyConnection,
    *,
    records_table: str,
    membership_table: str,
    state_table: str,
    previous_model: dict[str, Any] | None,
    overrides: Overrides | Mapping[str, Any] | None = None,
    config: ResolverConfig | None = None,
) -> Resolution:
    """Resolve only what is new, against the membership and state already on ``con``.

    ``records_table`` holds every current person record (raw columns as for ``resolve``);
    ``membership_table`` the previous membership; ``state_table`` the normalized records of
    the previous run (``save_state``). New or changed records (by ``input_hash``) are
    normalized; their blocking keys are capped against the whole population; the records they
    can be compared with, plus every member of those records' entities (the over-merge guards
    and the size cap need whole entities), form a small neighbourhood that goes through the
    same Splink scoring and constrained clustering as a full run, with term frequencies of
    the whole population. Returns the membership rows that changed (new records, and old
    records whose entity a new record bridged into an older one) and, in ``records``, the new
    normalized records for ``save_state``. Raises ``FullRunNeeded`` when an incremental run
    would not give the full run's answer (no state or model, too many changes, deleted
    records, an override the previous result does not honour)."""
    cfg = config or ResolverConfig()
    if not isinstance(overrides, Overrides):
        overrides = Overrides.from_mapping(overrides)
    t0 = time.perf_counter()
    if previous_model is None:
        raise FullRunNeeded("no previous model")
    if not table_exists(con, state_table) or not table_exists(con, membership_table):
        raise FullRunNeeded("no resolver state")
    state_cols = {r[0] for r in con.execute(f"describe {state_table}").fetchall()}
    if not set(STATE_COLUMNS) <= state_cols:
        raise FullRunNeeded("resolver state has an older layout")
    names = [r[0] for r in con.execute(f"describe {records_table}").fetchall()]
    con.execute(
        f"create or replace temp view _er_raw as select *, {input_hash_sql()} as input_hash "
        f"from (select {raw_columns_sql(names)} from {records_table})"
    )
    n_total = con.execute("select count(*) from _er_raw").fetchone()[0]
    con.execute(
        f"create or replace temp table _er_changed as select r.* from _er_raw r "
        f"left join {state_table} s using (source, source_id) "
        "where s.input_hash is distinct from r.input_hash"
    )
    n_changed = con.execute("select count(*) from _er_changed").fetchone()[0]
    deleted = con.execute(
        f"select count(*) from {state_table} s anti join _er_raw r using (source, source_id)"
    ).fetchone()[0]
    if deleted:
        raise FullRunNeeded(f"{deleted} records no longer exist")
    unstated = con.execute(
        f"select count(*) from {state_table} s anti join {membership_table} m "
        "using (source, source_id)"
    ).fetchone()[0]
    if unstated:
        raise FullRunNeeded("resolver state and membership disagree")
    if n_changed > cfg.incremental_max_fraction * n_total:
        raise FullRunNeeded(f"{n_changed} of {n_total} records new or changed")

    # overrides must already hold in the previous result (else a full run applies them)
    refs = {k for pair in overrides.must_link + overrides.cannot_link for k in pair}
    prev_of: dict[Key, str] = {}
    changed_keys: set[Key] = set()
    known: set[Key] = set()
    if refs:
        con.register("_er_refs", pa.table({"source": [k[0] for k in refs],
                                           "source_id": [k[1] for k in refs]}))
        try:
            prev_of = {(a, b): e for a, b, e in con.execute(
                f"select m.source, m.source_id, m.entity_id from {membership_table} m "
                "semi join _er_refs using (source, source_id)").fetchall()}
            changed_keys = set(con.execute(
                "select source, source_id from _er_changed semi join _er_refs "
                "using (source, source_id)").fetchall())
            known = set(con.execute(
                "select source, source_id from _er_raw semi join _er_refs "
                "using (source, source_id)").fetchall())
        finally:
            con.unregister("_er_refs")
    unknown = [p for p in overrides.must_link + overrides.cannot_link
               if p[0] not in known or p[1] not in known]
    for a, b in overrides.must_link:
        if a not in known or b not in known:
            continue  # reported, as in a full run
        if a in changed_keys or b in changed_keys or prev_of.get(a) is None or (
                prev_of.get(a) != prev_of.get(b)):
            raise FullRunNeeded("a must_link pair is not yet merged")
    for a, b in overrides.cannot_link:
        if prev_of.get(a) is not None and prev_of.get(a) == prev_of.get(b):
            raise FullRunNeeded("a cannot_link pair shares an entity")

    if n_changed == 0:
        return Resolution(
            pl.DataFrame(schema=MEMBERSHIP_SCHEMA), previous_model,
            {"records": n_total, "new_or_changed": 0, "mode": "incremental",
             "full_run_reasons": [], "model": "previous",
             "unknown_override_records": [list(map(list, p)) for p in unknown],
             "timings": {"total_s": round(time.perf_counter() - t0, 3)}},
            pa.table({c: [] for c in STATE_COLUMNS}),
        )

    # normalize the new or changed records only ------------------------------------------
    priv = duckdb.connect()
    try:
        prepare_records(priv, con.sql("select * exclude (input_hash) from _er_changed")
                        .to_arrow_table(), block_cap=cfg.block_cap)
        new_norm = priv.sql(
            f"select {', '.join(STATE_COLUMNS)} from _er_records").to_arrow_table()
    finally:
        priv.close()
    t_norm = time.perf_counter() - t0

    # blocking keys capped against the whole population; the neighbourhood ---------------
    con.register("_er_new_arrow", new_norm)
    con.execute("create or replace temp table _er_new as select * from _er_new_arrow")
    con.unregister("_er_new_arrow")
    con.execute(
        f"create or replace temp view _er_old as select s.* from {state_table} s "
        "anti join _er_new n using (source, source_id)"
    )
    # the swapped-name rules cross keys
    partner = {"k_name": "k_swap", "k_swap": "k_name", "k_fpost": "k_spost",
               "k_spost": "k_fpost"}
    capped: dict[str, str] = {}
    for k in KEY_COLUMNS:
        vals = f"select {k} as v from _er_new where {k} is not null"
        if k in partner:
            vals += f" union select {partner[k]} from _er_new where {partner[k]} is not null"
        con.execute(
            f"create or replace temp table _er_cnt_{k} as "
            f"with vals as ({vals}) "
            f"select v from (select {k} as v from _er_old semi join vals on {k} = vals.v "
            f"union all select {k} from _er_new semi join vals on {k} = vals.v) "
            f"group by v having count(*) <= {int(cfg.block_cap)}"
        )
        capped[k] = f"_er_cnt_{k}"
    near = " union ".join(
        f"select source, source_id from _er_old semi join {t} on {k} = {t}.v"
        for k, t in capped.items()
    )
    con.execute(
        f"""
        create or replace temp table _er_hood_keys as
        with near as ({near}),
        ents as (
            select distinct m.entity_id from {membership_table} m
            semi join (select source, source_id from near
                       union select source, source_id from _er_new) x
            using (source, source_id)
        )
        select m.source, m.source_id from {membership_table} m semi join ents using (entity_id)
        union select source, source_id from near
        """
    )
    bk = ", ".join(
        f"case when {k} in (select v from {t}) then {k} end as bk_{k[2:]}"
        for k, t in capped.items()
    )
    hood = con.sql(
        f"""
        select *, {bk} from (
            select o.* from _er_old o semi join _er_hood_keys h using (source, source_id)
            union all by name select * from _er_new
        )
        """
    ).to_arrow_table()
    prev = con.sql(
        f"select m.* from {membership_table} m semi join "
        f"(select source, source_id from _er_hood_keys union select source, source_id "
        f"from _er_new) h using (source, source_id)"
    ).to_arrow_table()
    tf_tables = {}
    for col in TF_COLUMNS:
        tf_tables[col] = con.sql(
            f"""
            with pop as (select {col} from _er_old union all select {col} from _er_new)
            select {col}, cast(count(*) as double) /
                   (select count({col}) from pop) as tf_{col}
            from pop where {col} in (select {col} from _er_new union
                                     select {col} from _er_old o semi join _er_hood_keys h
                                     using (source, source_id))
            group by {col}
            """
        ).to_arrow_table()
    reserved = [r[0] for r in con.execute(
        f"select distinct entity_id from {membership_table}").fetchall()]
    t_hood = time.perf_counter() - t0 - t_norm

    hood_keys = set(zip(hood.column("source").to_pylist(),
                        hood.column("source_id").to_pylist(), strict=True))
    local = Overrides(
        must_link=[p for p in overrides.must_link if p[0] in hood_keys and p[1] in hood_keys],
        cannot_link=[p for p in overrides.cannot_link
                     if p[0] in hood_keys and p[1] in hood_keys],
    )
    res = resolve_with_details(
        hood, previous_membership=prev, overrides=local, previous_model=previous_model,
        config=cfg, prenormalized=True, mode="incremental", tf_tables=tf_tables,
        reserved_ids=reserved, population=n_total,
    )
    # only rows that changed go back (new records; old ones a bridge moved to another id)
    before = pl.from_arrow(prev).select(
        "source", "source_id", pl.col("entity_id").alias("_e"),
        pl.col("matched_by").alias("_b"), pl.col("record_hash").alias("_h"),
    )
    joined = res.membership.join(before, on=["source", "source_id"], how="left")
    changed = joined.filter(
        pl.col("_e").is_null() | (pl.col("_e") != pl.col("entity_id"))
        | (pl.col("_b") != pl.col("matched_by")) | (pl.col("_h") != pl.col("record_hash"))
    ).drop("_e", "_b", "_h")
    stats = {
        **res.stats, "records": n_total, "new_or_changed": n_changed,
        "neighbourhood": hood.num_rows, "rows_changed": changed.height,
        "entities": None, "unknown_override_records": [list(map(list, p)) for p in unknown],
    }
    stats["timings"] = {**res.stats.get("timings", {}), "normalize_new_s": round(t_norm, 3),
                        "neighbourhood_s": round(t_hood, 3),
                        "total_s": round(time.perf_counter() - t0, 3)}
    return Resolution(changed, previous_model, stats, new_norm)
