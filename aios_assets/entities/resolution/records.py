"""The resolver's records: the membership and state layouts, and person records (any table
form) read and normalized into the temp table ``_er_records`` (``normalize.py`` holds the SQL).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from .normalize import KEY_COLUMNS, PERSON_COLUMNS, normalize_sql, setup_lookup_tables

MEMBERSHIP_SCHEMA = {
    "source": pl.Utf8,
    "source_id": pl.Utf8,
    "entity_id": pl.Utf8,
    "matched_by": pl.Utf8,
    "score": pl.Float64,
    "matched_to_source": pl.Utf8,
    "matched_to_source_id": pl.Utf8,
    "previous_entity_id": pl.Utf8,
    "record_hash": pl.Utf8,
    "first_seen_at": pl.Datetime("us", "UTC"),
}

Key = tuple[str, str]  # (source, source_id)

# What the resolver keeps per record between runs (``save_state``): the normalized record and
# its uncapped blocking keys, so an incremental run normalizes only new or changed records.
STATE_COLUMNS = (
    "source", "source_id", "first_seen_at", "input_hash", "first_name", "surname",
    "first_name_canon", "email_norm", "email_is_role", "email", "email_user", "email_domain",
    "phone", "dob", "dob_digits", "city", "postcode", "company", "street", "street_number",
    "street_name", "state", "title", "record_hash", *KEY_COLUMNS,
)
TF_COLUMNS = ("first_name", "surname", "city", "email")  # comparisons with term frequencies


# --- input ----------------------------------------------------------------------------------


def to_arrow(records: Any) -> pa.Table:
    if isinstance(records, pa.Table):
        return records
    if isinstance(records, pl.DataFrame):
        return records.to_arrow()
    if isinstance(records, duckdb.DuckDBPyRelation):
        return records.to_arrow_table()
    if isinstance(records, list):
        return pl.DataFrame(records, infer_schema_length=None).to_arrow()
    if hasattr(records, "to_arrow"):
        return records.to_arrow()
    try:  # pandas
        return pa.Table.from_pandas(records)
    except Exception as exc:  # noqa: BLE001
        raise TypeError(f"cannot read records of type {type(records).__name__}") from exc


def raw_columns_sql(names: Iterable[str]) -> str:
    """The resolver's raw input columns from a table with columns ``names`` (missing -> NULL)."""
    names = set(names)
    cols = []
    for col in PERSON_COLUMNS:
        src = col
        if col == "last_name" and col not in names and "surname" in names:
            src = "surname"
        cols.append(
            f"cast({src} as varchar) as {col}" if src in names else f"null::varchar as {col}"
        )
    first_seen = (
        "cast(first_seen_at as timestamptz) as first_seen_at"
        if "first_seen_at" in names
        else "null::timestamptz as first_seen_at"
    )
    return (f"cast(source as varchar) as source, cast(source_id as varchar) as source_id, "
            f"{first_seen}, {', '.join(cols)}")


def prepare_records(con: duckdb.DuckDBPyConnection, records: Any, *, block_cap: int) -> int:
    """Normalize ``records`` into the temp table ``_er_records`` on ``con``; returns its size."""
    table = to_arrow(records)
    names = set(table.column_names)
    if not {"source", "source_id"} <= names:
        raise ValueError("records need 'source' and 'source_id' columns")
    con.register("_er_input_arrow", table)
    con.execute(
        f"create or replace temp table _er_input as select {raw_columns_sql(names)} "
        "from _er_input_arrow"
    )
    con.unregister("_er_input_arrow")
    dupes = con.execute(
        "select source, source_id from _er_input group by all having count(*) > 1 limit 3"
    ).fetchall()
    if dupes:
        raise ValueError(f"records must be unique per (source, source_id); duplicated: {dupes}")
    setup_lookup_tables(con)
    con.execute(
        "create or replace temp table _er_records as "
        + normalize_sql("_er_input", block_cap=block_cap)
    )
    return con.execute("select count(*) from _er_records").fetchone()[0]



def load_previous(con: duckdb.DuckDBPyConnection, previous_membership: Any) -> bool:
    """The previous membership as the temp table ``_er_prev`` (empty without one); True when
    there was one with rows."""
    has_prev = previous_membership is not None
    if has_prev:
        prev_tbl = to_arrow(previous_membership)
        if prev_tbl.num_rows == 0:
            has_prev = False
    if has_prev:
        con.register("_er_prev_arrow", prev_tbl)
        prev_cols = set(prev_tbl.column_names)
        opt = {
            c: (c if c in prev_cols else "null")
            for c in ("matched_by", "score", "matched_to_source", "matched_to_source_id",
                      "record_hash", "first_seen_at")
        }
        con.execute(
            "create temp table _er_prev as select cast(source as varchar) as source, "
            "cast(source_id as varchar) as source_id, "
            "cast(entity_id as varchar) as entity_id, "
            f"cast({opt['matched_by']} as varchar) as matched_by, "
            f"cast({opt['score']} as double) as score, "
            f"cast({opt['matched_to_source']} as varchar) as matched_to_source, "
            f"cast({opt['matched_to_source_id']} as varchar) as matched_to_source_id, "
            f"cast({opt['record_hash']} as varchar) as record_hash, "
            f"cast({opt['first_seen_at']} as timestamptz) as first_seen_at "
            "from _er_prev_arrow"
        )
    else:
        con.execute(
            "create temp table _er_prev (source varchar, source_id varchar, "
            "entity_id varchar, matched_by varchar, score double, matched_to_source varchar,"
            " matched_to_source_id varchar, record_hash varchar, first_seen_at timestamptz)"
        )
    return has_prev


# A record that carries a full name and nothing that identifies a person (no email, phone or
# date of birth): a chat speaker or an email display name without an address.
NAME_ONLY_SQL = (
    "{t}.email is null and {t}.phone is null and {t}.dob is null "
    "and length({t}.first_name) > 1 and {t}.surname is not null"
)


def isna(x: Any) -> bool:
    return x is None or (isinstance(x, float) and x != x)


def tolist(x: Any) -> list:
    return x.tolist() if hasattr(x, "tolist") else list(x)
