"""Entity resolution: person records from every source -> canonical entities.

``resolve(records, previous_membership=..., overrides=...)`` is the whole pipeline, as plain
functions that the dbt Python model ``int_entity_membership``, the benchmark and the tests all
call:

1. **normalize** (DuckDB SQL, see ``normalize.py``);
2. **candidate pairs** by blocking on frequency-capped keys (email, name, name+dob, dob, email
   user, phone, surname+city, swapped name, house number+street, first name+postcode,
   surname+postcode and the two crossed, house number+postcode, initials+postcode, two
   letters of each name+town) and **Splink** match
   probabilities
   (``model.py``); deterministic **email** edges where the normalized address is equal, is not a
   shared mailbox (``info@``…) and the first names do not contradict each other;
3. **clustering**: union-find over the edges in priority order (operator ``must_link``, then
   email, then Splink by descending probability, at or above ``match_threshold``), refusing
   any merge that would put a ``cannot_link`` pair in one entity, join two records whose first
   names *and* dates of birth both clearly contradict (the pair joined, or most cross pairs of
   the two sides), let a record without a dob bridge two groups whose dobs contradict
   (namesakes), or grow an entity beyond ``max_cluster_size`` records. A Splink pair is
   never an edge, however high its score, when its first names *and* surnames both clearly
   contradict (unless the same rare dob in one postcode or one street of one town says one
   person), or when its
   first names contradict (or one is missing), or its surnames do at another street, and
   nothing that identifies a person agrees (date of birth up to a typo or a month, an
   impossible one up to a keystroke from the other's, email, phone):
   address, postcode, city, surname and company place a record - a household, an office, two
   namesakes in one postcode - they do not make two records one person;
4. **stable ids**: each cluster keeps the oldest previous entity id among its members (merges
   keep the older id, splits leave it with the larger part); a cluster with none gets
   ``ent_`` + a hash of its earliest member. New records never renumber existing entities.

Every membership row says why: ``matched_by`` (``self`` | ``email`` | ``splink`` |
``override:must_link``), ``score`` (Splink match probability; 1.0 for email and overrides, NULL
for ``self``) and ``matched_to_source`` / ``matched_to_source_id`` (the record it was joined to).

With ``previous_membership`` and a ``previous_model``, a run where few records are new or changed
is **incremental**: old entities stay as they were and only pairs involving a new record are
scored. Anything else (many changes, an override that contradicts the previous result, no
previous model) is a **full** run.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from .normalize import (
    KEY_COLUMNS,
    PERSON_COLUMNS,
    input_hash_sql,
    normalize_sql,
    setup_lookup_tables,
)

log = logging.getLogger(__name__)

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


class _LazyModel:
    """``model.py`` on first use: it imports Splink (~0.3 s), which a run with nothing new
    never needs."""

    def __getattr__(self, name: str) -> Any:
        from . import model

        return getattr(model, name)


er_model = _LazyModel()
_TRAINED_ON = "aios_trained_on_records"  # == model.TRAINED_ON (here so it needs no import)


@dataclass(frozen=True)
class ResolverConfig:
    match_threshold: float = 0.95  # Splink match probability needed for a merge (Splink's own
    # clustering default; precision is guarded by the conflict check and the size cap)
    max_cluster_size: int = 50  # no automatic merge makes an entity larger than this
    block_cap: int = 300  # blocking-key values shared by more records are not used
    incremental_max_fraction: float = 0.10  # more new/changed records than this: full run
    min_records_to_train: int = 1000  # fewer records: use the packaged default model
    retrain_growth: float = 1.5  # a full run retrains once the data grew 1.5x since training
    # refuse merges whose records contradict on first name and dob, and Splink pairs whose
    # first names and surnames both contradict
    conflict_guard: bool = True
    unique_name_rule: bool = True  # a name-only record joins the one entity with that name...
    unique_name_min_probability: float = 0.5  # ...if Splink gives the pair at least this
    seed: int = 42
    threads: int | None = None


@dataclass
class Overrides:
    must_link: list[tuple[Key, Key]] = field(default_factory=list)
    cannot_link: list[tuple[Key, Key]] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Overrides:
        data = data or {}
        return cls(
            must_link=[_parse_pair(p) for p in data.get("must_link") or []],
            cannot_link=[_parse_pair(p) for p in data.get("cannot_link") or []],
        )

    @classmethod
    def load(cls, path: str | Path | None) -> Overrides:
        """Read ``entity_overrides.yaml``; a missing file means no overrides."""
        import yaml

        if path is None or not Path(path).is_file():
            return cls()
        text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping with must_link / cannot_link lists")
        return cls.from_mapping(data)


def _parse_key(value: Any) -> Key:
    if isinstance(value, Mapping):
        return (str(value["source"]), str(value["source_id"]))
    if isinstance(value, str) and ":" in value:
        source, source_id = value.split(":", 1)
        return (source.strip(), source_id.strip())
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (str(value[0]), str(value[1]))
    raise ValueError(f"not a record reference (want 'source:source_id'): {value!r}")


def _parse_pair(value: Any) -> tuple[Key, Key]:
    if isinstance(value, Mapping) and {"a", "b"} <= set(value):
        return (_parse_key(value["a"]), _parse_key(value["b"]))
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (_parse_key(value[0]), _parse_key(value[1]))
    raise ValueError(f"an override is a pair of records, got {value!r}")


@dataclass
class Resolution:
    membership: pl.DataFrame
    model: dict[str, Any] | None
    stats: dict[str, Any]
    # normalized records to persist as resolver state (STATE_COLUMNS): all of them after a
    # full run with return_records=True, only the new or changed ones after resolve_update
    records: pa.Table | None = None


class FullRunNeeded(Exception):
    """``resolve_update`` cannot resolve incrementally; the message says why."""


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


def _to_arrow(records: Any) -> pa.Table:
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


def _raw_columns_sql(names: Iterable[str]) -> str:
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
    table = _to_arrow(records)
    names = set(table.column_names)
    if not {"source", "source_id"} <= names:
        raise ValueError("records need 'source' and 'source_id' columns")
    con.register("_er_input_arrow", table)
    con.execute(
        f"create or replace temp table _er_input as select {_raw_columns_sql(names)} "
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


# A record that carries a full name and nothing that identifies a person (no email, phone or
# date of birth): a chat speaker or an email display name without an address.
_NAME_ONLY_SQL = (
    "{t}.email is null and {t}.phone is null and {t}.dob is null "
    "and length({t}.first_name) > 1 and {t}.surname is not null"
)


# --- conflicts (the over-merge guard) ---------------------------------------------------------


def _levenshtein_le(a: str, b: str, k: int) -> bool:
    """True when the edit distance between a and b is at most k (small k, short strings)."""
    if abs(len(a) - len(b)) > k:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        best = i
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            best = min(best, cur[j])
        if best > k:
            return False
        prev = cur
    return prev[-1] <= k


def jaro_winkler(a: str, b: str, prefix_scale: float = 0.1) -> float:
    """Jaro-Winkler similarity (the same measure Splink's name levels use)."""
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(max(la, lb) // 2 - 1, 0)
    ma, mb = [False] * la, [False] * lb
    matches = 0
    for i, ch in enumerate(a):
        lo, hi = max(0, i - window), min(lb, i + window + 1)
        for j in range(lo, hi):
            if not mb[j] and b[j] == ch:
                ma[i] = mb[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    k = transpositions = 0
    for i in range(la):
        if ma[i]:
            while not mb[k]:
                k += 1
            if a[i] != b[k]:
                transpositions += 1
            k += 1
    m = float(matches)
    jaro = (m / la + m / lb + (m - transpositions / 2) / m) / 3
    prefix = 0
    for ca, cb in zip(a[:4], b[:4]):
        if ca != cb:
            break
        prefix += 1
    return jaro + prefix * prefix_scale * (1 - jaro)


def _transposed(a: str, b: str) -> bool:
    """One pair of adjacent letters swapped ("pia" / "pai"): a typo. Jaro-Winkler misses it in
    short names (its matching window is 0 for three letters, so "pai" scores 0.56)."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and (
        a[diff[1]] == b[diff[0]])


def _first_names_conflict(a: tuple | None, b: tuple | None) -> bool:
    """``a``/``b`` = (first_name, nickname-canonical first name, surname).

    Both first names present and clearly different: not equal, not nicknames of one name, not
    an initial or prefix of the other, not explained by first/last swapped, and below Splink's
    lowest name-similarity level (Jaro-Winkler 0.7)."""
    if a is None or b is None:
        return False
    (fa, ca, sa), (fb, cb, sb) = a, b
    if fa == fb or ca == cb:
        return False
    if fa.startswith(fb) or fb.startswith(fa):
        return False
    if (sb and jaro_winkler(fa, sb) >= 0.88) or (sa and jaro_winkler(fb, sa) >= 0.88):
        return False
    return jaro_winkler(fa, fb) < 0.7 and not _transposed(fa, fb)


def _surnames_conflict(a: tuple, b: tuple) -> bool:
    """Both surnames present and clearly different, not explained by first/last swapped: with
    the same first name and nothing that identifies a person, two namesakes ("Nora Walsh" and
    "Nora Osei" in one city), not one person."""
    (fa, _ca, sa), (fb, _cb, sb) = a, b
    if not sa or not sb or sa == sb or sa.startswith(sb) or sb.startswith(sa):
        return False
    if jaro_winkler(sa, fb) >= 0.88 or jaro_winkler(sb, fa) >= 0.88:
        return False
    return jaro_winkler(sa, sb) < 0.7 and not _transposed(sa, sb)


def _names_contradict(a: tuple | None, b: tuple | None) -> bool:
    """First names *and* surnames both present and clearly different (as in
    ``_first_names_conflict``). Such a pair can still agree on street, postcode, city and
    company - colleagues at one office, people in one building - which place a record but do
    not identify a person, so Splink's score alone never merges it."""
    if not _first_names_conflict(a, b):
        return False
    sa, sb = a[2], b[2]
    if not sa or not sb or sa == sb or sa.startswith(sb) or sb.startswith(sa):
        return False
    return jaro_winkler(sa, sb) < 0.7 and not _transposed(sa, sb)


# (first-name tuple as in _first_names_conflict, dob, email, phone) of one record
_Who = tuple[tuple | None, str | None, str | None, str | None]


def _only_placed(a: _Who, b: _Who, same_home: Callable[[], bool] | None = None) -> bool:
    """First names clearly differ (or one is missing), or the surnames do, and nothing that
    identifies a person agrees - date of birth up to a typo, email (shared mailboxes are
    already NULL), phone - so only place, a name or company can: a household, an office or two
    namesakes, not one person. Same first name and another surname at the same street
    address (``same_home``) is one person whose surname changed: two Noras in one postcode are
    common, in one home rare."""
    (fa, da, ea, pa), (fb, db, eb, pb) = a, b
    if fa is not None and fb is not None and not _first_names_conflict(fa, fb) and (
            not _surnames_conflict(fa, fb) or (same_home is not None and same_home())):
        return False
    if da is not None and db is not None and _dobs_agree(da, db):
        return False
    return not ((ea is not None and ea == eb) or (pa is not None and pa == pb))


def _dobs_agree(a: str, b: str) -> bool:
    """The same date of birth up to a typo: equal, one character apart, two adjacent digits
    swapped, day and month swapped, or at most a month apart (Splink's closest date level).
    Birthdays months apart do not identify a person (``_dobs_conflict`` tolerates them only
    as not contradicting one)."""
    if a == b or _levenshtein_le(a, b, 1) or _transposed(a, b):
        return True
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return True
    return abs(_day_number(a) - _day_number(b)) <= 31


def _dob_digits_agree(a: str, b: str) -> bool:
    """Two dates of birth as 8 digits (``yyyymmdd``), one of them no date ("19010271"): equal
    up to one typed digit or two adjacent digits swapped. A date nobody has, yet one keystroke
    from the other record's, is that record's date mistyped, not a relative's birthday."""
    if len(a) != 8 or len(b) != 8:
        return False
    return a == b or _levenshtein_le(a, b, 1) or _transposed(a, b)


def _day_number(d: str) -> int:
    """A day count that orders ISO dates (months of 31 days: exact enough for distances)."""
    return int(d[:4]) * 372 + int(d[5:7]) * 31 + int(d[8:10])


def _dobs_conflict(a: str | None, b: str | None) -> bool:
    """Both present and not explainable as a typo: more than one character apart, not two
    adjacent digits swapped, not a day/month swap, and more than a year apart."""
    if a is None or b is None or a == b:
        return False
    if _levenshtein_le(a, b, 1) or _transposed(a, b):  # "1909-11-11" / "1990-11-11"
        return False
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return False
    return abs(_day_number(a) - _day_number(b)) > 372


# --- the union-find with constraints -----------------------------------------------------------


class _Clusters:
    def __init__(self, n: int, fnames, dobs, cannot: dict[int, set[int]], max_size: int):
        self.parent = list(range(n))
        self.members: dict[int, list[int]] = {}
        self.fnames = fnames
        self.dobs = dobs
        self.cannot = cannot
        self.max_size = max_size
        self.refused = {"cannot_link": 0, "conflict": 0, "size": 0, "names": 0}

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def _members(self, root: int) -> list[int]:
        return self.members.get(root) or [root]

    def _conflicting(self, a: int, b: int, ma: list[int], mb: list[int]) -> bool:
        """Two clusters are two people when the pair being joined contradicts on first name
        and dob, or more than half the comparable cross pairs do. Not "any cross pair": one
        record with a wrong first name and another with a wrong dob inside a cluster of one
        person would make it refuse its own further records (FEBRL corrupts fields
        independently, and so do real imports)."""
        fnames, dobs = self.fnames, self.dobs
        if dobs[a] is None or dobs[b] is None:
            # A record without a date of birth does not bridge two groups whose dates of birth
            # contradict ("Vincent Perry" alone joining two Vincent Perrys born 30 years
            # apart): namesakes. Their own records may still join directly.
            da = [dobs[x] for x in ma if dobs[x] is not None]
            db = [dobs[y] for y in mb if dobs[y] is not None]
            if da and db and 2 * sum(1 for x in da for y in db if _dobs_conflict(x, y)) > (
                    len(da) * len(db)):
                return True

        def clash(x: int, y: int) -> bool:
            return _first_names_conflict(fnames[x], fnames[y]) and _dobs_conflict(
                dobs[x], dobs[y])

        left = [x for x in ma if fnames[x] is not None and dobs[x] is not None]
        if not left:
            return False
        right = [y for y in mb if fnames[y] is not None and dobs[y] is not None]
        if not right:
            return False
        if fnames[a] is not None and fnames[b] is not None and clash(a, b):
            return True
        clashes = sum(1 for x in left for y in right if clash(x, y))
        return 2 * clashes > len(left) * len(right)

    def try_union(self, a: int, b: int, *, forced: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        ma, mb = self._members(ra), self._members(rb)
        if len(ma) > len(mb):
            ra, rb, ma, mb = rb, ra, mb, ma
        # operator cannot_link wins over everything, must_link included
        if self.cannot:
            for x in ma:
                for y in self.cannot.get(x, ()):
                    if self.find(y) == rb:
                        self.refused["cannot_link"] += 1
                        return False
        if not forced:
            if len(ma) + len(mb) > self.max_size:
                self.refused["size"] += 1
                return False
            if self._conflicting(a, b, ma, mb):
                self.refused["conflict"] += 1
                return False
        self.parent[ra] = rb
        self.members[rb] = mb + ma if rb in self.members else [rb, *ma]
        self.members.pop(ra, None)
        return True


# --- ids -----------------------------------------------------------------------------------------


def _new_entity_id(key: Key, used: set[str]) -> str:
    base = hashlib.sha256(f"{key[0]}\x1f{key[1]}".encode()).hexdigest()
    n = 0
    while True:
        candidate = "ent_" + (base[:16] if n == 0 else hashlib.sha256(
            f"{base}\x1f{n}".encode()).hexdigest()[:16])
        if candidate not in used:
            used.add(candidate)
            return candidate
        n += 1


# --- main -------------------------------------------------------------------------------------


def resolve(
    records: Any,
    *,
    previous_membership: Any = None,
    overrides: Overrides | Mapping[str, Any] | None = None,
    previous_model: dict[str, Any] | None = None,
    config: ResolverConfig | None = None,
) -> pl.DataFrame:
    """Resolve person records to canonical entities; returns the membership frame."""
    return resolve_with_details(
        records,
        previous_membership=previous_membership,
        overrides=overrides,
        previous_model=previous_model,
        config=config,
    ).membership


def resolve_with_details(
    records: Any,
    *,
    previous_membership: Any = None,
    overrides: Overrides | Mapping[str, Any] | None = None,
    previous_model: dict[str, Any] | None = None,
    config: ResolverConfig | None = None,
    force_full: bool = False,
    retrain: bool = False,
    return_records: bool = False,
    prenormalized: bool = False,
    mode: str | None = None,
    tf_tables: Mapping[str, pa.Table] | None = None,
    reserved_ids: Iterable[str] = (),
    population: int | None = None,
) -> Resolution:
    """``resolve`` with the model and run statistics (and, with ``return_records``, the
    normalized records to keep as resolver state).

    The remaining keyword arguments serve ``resolve_update``, which calls this on a small
    neighbourhood of the new records: ``prenormalized`` records (STATE_COLUMNS plus capped
    ``bk_*`` keys), ``mode="incremental"`` decided by the caller, term-frequency tables of the
    whole population, entity ids in use elsewhere, and the ``population`` size."""
    cfg = config or ResolverConfig()
    if not isinstance(overrides, Overrides):
        overrides = Overrides.from_mapping(overrides)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    con = duckdb.connect()
    if cfg.threads:
        con.execute(f"set threads = {int(cfg.threads)}")
    try:
        if prenormalized:
            con.register("_er_prenormalized", _to_arrow(records))
            con.execute(
                "create or replace temp table _er_records as select row_number() over "
                "(order by source, source_id) - 1 as uid, * from _er_prenormalized"
            )
            n = con.execute("select count(*) from _er_records").fetchone()[0]
        else:
            n = prepare_records(con, records, block_cap=cfg.block_cap)
        timings["normalize_s"] = time.perf_counter() - t0
        if n == 0:
            # no person at all (a home with only notes, or only content metrics): an empty but
            # typed state, so that callers persist it like any other result
            kept = (con.sql(f"select {', '.join(STATE_COLUMNS)} from _er_records")
                    .to_arrow_table() if return_records else None)
            return Resolution(pl.DataFrame(schema=MEMBERSHIP_SCHEMA), previous_model,
                              {"records": 0}, kept)

        # previous state ------------------------------------------------------------------
        has_prev = previous_membership is not None
        if has_prev:
            prev_tbl = _to_arrow(previous_membership)
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
        con.execute(
            """
            create temp table _er_recs as
            select r.*, p.entity_id as prev_entity_id, p.matched_by as prev_matched_by,
                   p.score as prev_score, p.matched_to_source as prev_to_source,
                   p.matched_to_source_id as prev_to_source_id,
                   coalesce(r.first_seen_at, p.first_seen_at) as seen_at,
                   (p.entity_id is null or p.record_hash is distinct from r.record_hash) as is_new
            from _er_records r
            left join _er_prev p using (source, source_id)
            order by r.uid
            """
        )
        rec = con.execute(
            "select source, source_id, first_name, first_name_canon, surname, dob, dob_digits, "
            "email, phone, "
            "is_new, street, postcode, city, count(dob) over (partition by dob) as dob_n, "
            "prev_entity_id, prev_matched_by, prev_score, prev_to_source, prev_to_source_id, "
            "seen_at, record_hash from _er_recs order by uid"
        ).fetchnumpy()
        keys: list[Key] = list(zip(rec["source"].tolist(), rec["source_id"].tolist()))
        uid_of = {k: i for i, k in enumerate(keys)}
        is_new = rec["is_new"].tolist()
        prev_ids = [None if _isna(x) else x for x in rec["prev_entity_id"].tolist()]
        n_new = sum(1 for x in is_new if x)

        # overrides -> uids (references to unknown records are reported, not fatal) ---------
        unknown: list[tuple[Key, Key]] = []

        def _uids(pairs):
            out = []
            for a, b in pairs:
                if a in uid_of and b in uid_of:
                    out.append((uid_of[a], uid_of[b]))
                else:
                    unknown.append((a, b))
            return out

        must = _uids(overrides.must_link)
        cannot_pairs = _uids(overrides.cannot_link)
        cannot: dict[int, set[int]] = {}
        for a, b in cannot_pairs:
            cannot.setdefault(a, set()).add(b)
            cannot.setdefault(b, set()).add(a)

        # mode ---------------------------------------------------------------------------
        reasons = []
        if mode == "incremental":
            pass  # the caller (resolve_update) checked the conditions on the whole population
        elif force_full:
            reasons.append("forced")
        if mode != "incremental" and not has_prev:
            reasons.append("no previous membership")
        if mode != "incremental" and previous_model is None:
            reasons.append("no previous model")
        if mode != "incremental" and n_new > cfg.incremental_max_fraction * n:
            reasons.append(f"{n_new} of {n} records new or changed")
        if mode != "incremental" and has_prev:
            for a, b in must:
                if is_new[a] or is_new[b] or prev_ids[a] != prev_ids[b]:
                    reasons.append("a must_link pair is not yet merged")
                    break
            for a, b in cannot_pairs:
                if prev_ids[a] is not None and prev_ids[a] == prev_ids[b]:
                    reasons.append("a cannot_link pair shares an entity")
                    break
        incremental = not reasons
        mode = "incremental" if incremental else "full"

        # Splink ------------------------------------------------------------------------
        t1 = time.perf_counter()
        from splink import DuckDBAPI, Linker

        db_api = DuckDBAPI(con)
        sdf = db_api.register(
            con.sql(er_model.input_select_sql("_er_recs")),
            dataset_display_name="er_records",
        )
        trained = False
        training: dict[str, Any] | None = None
        model_source = "previous"
        # term frequencies computed from a few hundred records are noise, not evidence
        use_tf = (population or n) >= cfg.min_records_to_train
        if incremental:
            model_dict = previous_model
            linker = Linker(
                sdf,
                er_model.settings_from_model(model_dict, incremental=True,
                                             term_frequencies=use_tf),
                log_level=logging.WARNING,
            )
            if use_tf and tf_tables:
                # frequencies of the whole population, not of the neighbourhood in hand
                for col, tbl in tf_tables.items():
                    linker.table_management.register_term_frequency_lookup(
                        db_api.register(tbl, table_name=f"__aios_tf_{col}"), col
                    )
        elif previous_model is not None and not retrain and (
            previous_model.get(_TRAINED_ON, 0) >= cfg.min_records_to_train
            and previous_model.get(_TRAINED_ON, 0) * cfg.retrain_growth >= n
        ):
            # a full run re-scores every pair, but with the model already trained on this
            # data: parameters do not drift from run to run, and no time goes to training
            model_dict = previous_model
            model_source = "previous"
            linker = Linker(
                sdf,
                er_model.settings_from_model(model_dict, incremental=False,
                                             term_frequencies=use_tf),
                log_level=logging.WARNING,
            )
        elif n >= cfg.min_records_to_train:
            linker = Linker(sdf, er_model.settings_creator(), log_level=logging.WARNING)
            training = _quiet(lambda: er_model.train(linker, seed=cfg.seed, con=con,
                                                     table="_er_recs"))
            model_dict = {**linker.misc.save_model_to_json(), _TRAINED_ON: n}
            if training["untrained_comparisons"] or training.get("prior_from_default"):
                # parameters this data cannot teach come from the packaged default model
                model_dict = er_model.fallback_to_default(model_dict, training, n_records=n)
                linker = Linker(
                    sdf,
                    er_model.settings_from_model(model_dict, incremental=False,
                                                 term_frequencies=use_tf),
                    log_level=logging.WARNING,
                )
            trained = True
        else:
            model_dict = er_model.default_model_for(n)
            model_source = "default"
            linker = Linker(
                sdf,
                er_model.settings_from_model(model_dict, incremental=False,
                                             term_frequencies=use_tf),
                log_level=logging.WARNING,
            )
        timings["model_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        if n > 1:
            low = min(cfg.match_threshold, cfg.unique_name_min_probability)
            pred = _quiet(lambda: linker.inference.predict(
                threshold_match_probability=low, warning_mode="never"
            ))
            # below the match threshold only pairs with a name-only record are kept: they are
            # the candidates of the unique-name rule
            splink_edges = con.sql(
                f"""
                select e.uid_l, e.uid_r, e.match_probability from {pred.physical_name} e
                join _er_recs l on l.uid = e.uid_l join _er_recs r on r.uid = e.uid_r
                where e.match_probability >= {cfg.match_threshold}
                   or ({_NAME_ONLY_SQL.format(t='l')}) or ({_NAME_ONLY_SQL.format(t='r')})
                order by e.match_probability desc, e.uid_l, e.uid_r
                """
            ).fetchnumpy()
        else:
            splink_edges = {"uid_l": [], "uid_r": [], "match_probability": []}
        timings["predict_s"] = time.perf_counter() - t2

        weak: list[tuple[int, int, float]] = []  # Splink pairs below the match threshold
        # deterministic email edges ------------------------------------------------------
        t3 = time.perf_counter()
        new_filter = "and (l.is_new or r.is_new)" if incremental else ""
        email_edges = con.execute(
            f"""
            select l.uid, r.uid from _er_recs l join _er_recs r
              on l.email = r.email and l.uid < r.uid {new_filter}
            where l.bk_email is not null
            order by l.uid, r.uid
            """
        ).fetchall()

        fnames = [
            None if _isna(f) else (f, c, None if _isna(sn) else sn)
            for f, c, sn in zip(rec["first_name"].tolist(), rec["first_name_canon"].tolist(),
                                rec["surname"].tolist())
        ]
        dobs = [None if _isna(d) else d for d in rec["dob"].tolist()]
        emails = [None if _isna(e) else e for e in rec["email"].tolist()]
        phones = [None if _isna(p) else p for p in rec["phone"].tolist()]

        who = list(zip(fnames, dobs, emails, phones, strict=True))
        streets = [None if _isna(x) else x for x in rec["street"].tolist()]
        postcodes = [None if _isna(x) else x for x in rec["postcode"].tolist()]
        cities = [None if _isna(x) else x for x in rec["city"].tolist()]
        dob_n = rec["dob_n"].tolist()
        dob_digits = [None if _isna(x) else x for x in rec["dob_digits"].tolist()]

        def _typo_dob(a: int, b: int) -> bool:
            # an impossible dob one typo from the other's ("19931819" / "1993-10-19")
            da, db = dob_digits[a], dob_digits[b]
            if da is None and db is None:
                return False
            return _dob_digits_agree(da or (dobs[a] or "").replace("-", ""),
                                     db or (dobs[b] or "").replace("-", ""))

        def _same_street(a: int, b: int) -> bool:
            sa, sb = streets[a], streets[b]
            if sa is None or sb is None:
                return False
            # the street name missing on one side: "9" / "9 archdall street"
            if sa.isdigit() and sb.startswith(sa + " ") or (
                    sb.isdigit() and sa.startswith(sb + " ")):
                return True
            # a typo or a misplaced space in the street ("burkitts treet") still agrees
            sa, sb = sa.replace(" ", ""), sb.replace(" ", "")
            return sa == sb or jaro_winkler(sa, sb) >= 0.95

        def _same_home(a: int, b: int) -> bool:
            return postcodes[a] is not None and postcodes[a] == postcodes[b] and (
                _same_street(a, b))

        def _same_town(a: int, b: int) -> bool:
            ca, cb = cities[a], cities[b]
            return ca is not None and cb is not None and jaro_winkler(ca, cb) >= 0.9

        def _same_area(a: int, b: int) -> bool:
            # the same postcode, or the same town with the postcode one typo apart
            pa, pb = postcodes[a], postcodes[b]
            if pa is None or pb is None:
                return False
            if pa == pb:
                return True
            return _same_town(a, b) and (_levenshtein_le(pa, pb, 1) or _transposed(pa, pb))

        def _birth_and_home(a: int, b: int) -> bool:
            # Both names differ, yet the same date of birth in the same postcode, or in the
            # same street of the same town: one person whose names were mistyped or replaced
            # (two people born on one day in one postcode are rare, and twins share a
            # surname). Not for a dob many records share or a 1 January (placeholders), nor
            # without an address.
            d = dobs[a]
            if d is None or d != dobs[b] or dob_n[a] > 10 or d.endswith("-01-01"):
                return False
            return _same_area(a, b) or (_same_street(a, b) and _same_town(a, b))

        uf = _Clusters(n, fnames if cfg.conflict_guard else [None] * n, dobs, cannot,
                       cfg.max_cluster_size)
        explain: dict[int, tuple[str, float | None, int]] = {}

        if incremental:  # old entities stay as they are
            by_prev: dict[str, int] = {}
            for i in range(n):
                if not is_new[i] and prev_ids[i] is not None:
                    j = by_prev.setdefault(prev_ids[i], i)
                    if j != i:
                        uf.try_union(i, j, forced=True)

        prev_by = rec["prev_matched_by"].tolist()

        def _explainable(x: int) -> bool:
            # old records of an incremental run keep their explanation unless they were alone
            return not incremental or is_new[x] or _isna(prev_by[x]) or prev_by[x] == "self"

        def _take(a: int, b: int, how: str, score: float | None, forced: bool = False) -> bool:
            if uf.try_union(a, b, forced=forced):
                if a not in explain and _explainable(a):
                    explain[a] = (how, score, b)
                if b not in explain and _explainable(b):
                    explain[b] = (how, score, a)
                return True
            return False

        for a, b in must:
            _take(a, b, "override:must_link", 1.0, forced=True)
        for a, b in email_edges:
            if not _first_names_conflict(fnames[a], fnames[b]):
                _take(a, b, "email", 1.0)
        for a, b, p in zip(
            _tolist(splink_edges["uid_l"]), _tolist(splink_edges["uid_r"]),
            _tolist(splink_edges["match_probability"]),
        ):
            if p >= cfg.match_threshold:
                if cfg.conflict_guard and (
                        (_names_contradict(fnames[int(a)], fnames[int(b)])
                         and not _birth_and_home(int(a), int(b)))
                        or (_only_placed(who[int(a)], who[int(b)],
                                         lambda a=int(a), b=int(b): _same_home(a, b))
                            and not _typo_dob(int(a), int(b)))):
                    uf.refused["names"] += 1
                    continue
                _take(int(a), int(b), "splink", float(p))
            else:
                weak.append((int(a), int(b), float(p)))
        n_unique_name = 0
        if weak and cfg.unique_name_rule:
            # A record with nothing but a full name ("Benjamin Haddad" as a chat speaker) joins
            # the one entity whose identified records (email, phone or dob) carry that exact
            # name, when Splink finds the pair plausible. Two identified namesakes: it stays
            # alone. Name keys above the blocking cap are skipped (too common to be unique).
            nk = con.execute(
                f"select uid, bk_name, coalesce({_NAME_ONLY_SQL.format(t='_er_recs')}, false) "
                "as name_only from _er_recs order by uid"
            ).fetchnumpy()
            name_key = [None if _isna(k) else k for k in nk["bk_name"].tolist()]
            name_only = [bool(x) for x in nk["name_only"].tolist()]
            identified: dict[str, set[int]] = {}
            for i in range(n):
                if name_key[i] is not None and not name_only[i]:
                    identified.setdefault(name_key[i], set()).add(uf.find(i))
            for a, b, p in weak:
                for x, y in ((a, b), (b, a)):
                    key = name_key[x]
                    if not name_only[x] or key is None or name_key[y] != key:
                        continue
                    roots = identified.get(key, set())
                    if len(roots) == 1 and uf.find(y) in roots and _take(x, y, "unique_name", p):
                        n_unique_name += 1
                    break
        timings["cluster_s"] = time.perf_counter() - t3

        # stable ids -----------------------------------------------------------------------
        t4 = time.perf_counter()
        seen_raw = rec["seen_at"].tolist()
        order_key = [
            (0, s, k[0], k[1]) if not _isna(s) else (1, 0, k[0], k[1])
            for s, k in zip(seen_raw, keys)
        ]
        clusters: dict[int, list[int]] = {}
        for i in range(n):
            clusters.setdefault(uf.find(i), []).append(i)
        # age of each previous id = its earliest member
        id_age: dict[str, tuple] = {}
        for i in range(n):
            pid = prev_ids[i]
            if pid is not None and (pid not in id_age or order_key[i] < id_age[pid]):
                id_age[pid] = order_key[i]
        claims = []
        for root, members in clusters.items():
            counts: dict[str, int] = {}
            for i in members:
                if prev_ids[i] is not None:
                    counts[prev_ids[i]] = counts.get(prev_ids[i], 0) + 1
            for pid, c in counts.items():
                claims.append((id_age[pid], -c, pid, root))
        claims.sort(key=lambda t: (t[0], t[1], t[2], t[3]))
        entity_of: dict[int, str] = {}
        taken: set[str] = set()
        for _age, _c, pid, root in claims:
            if root in entity_of or pid in taken:
                continue
            entity_of[root] = pid
            taken.add(pid)
        used = set(id_age) | taken | set(reserved_ids)
        for root in sorted(clusters, key=lambda r: min(order_key[i] for i in clusters[r])):
            if root not in entity_of:
                first = min(clusters[root], key=lambda i: order_key[i])
                entity_of[root] = _new_entity_id(keys[first], used)

        # membership frame -------------------------------------------------------------------
        rows_entity, rows_by, rows_score, rows_to_s, rows_to_id = [], [], [], [], []
        prev_score = rec["prev_score"].tolist()
        prev_to_s = rec["prev_to_source"].tolist()
        prev_to_id = rec["prev_to_source_id"].tolist()
        for i in range(n):
            root = uf.find(i)
            rows_entity.append(entity_of[root])
            if i in explain:
                how, score, other = explain[i]
                rows_by.append(how)
                rows_score.append(score)
                rows_to_s.append(keys[other][0])
                rows_to_id.append(keys[other][1])
            elif incremental and not is_new[i] and not _isna(prev_by[i]) and prev_by[i] != "self":
                rows_by.append(prev_by[i])
                rows_score.append(None if _isna(prev_score[i]) else float(prev_score[i]))
                rows_to_s.append(None if _isna(prev_to_s[i]) else prev_to_s[i])
                rows_to_id.append(None if _isna(prev_to_id[i]) else prev_to_id[i])
            else:
                rows_by.append("self")
                rows_score.append(None)
                rows_to_s.append(None)
                rows_to_id.append(None)
        con.register(
            "_er_out",
            pa.table({
                "uid": pa.array(range(n), pa.int64()),
                "entity_id": pa.array(rows_entity, pa.string()),
                "matched_by": pa.array(rows_by, pa.string()),
                "score": pa.array(rows_score, pa.float64()),
                "matched_to_source": pa.array(rows_to_s, pa.string()),
                "matched_to_source_id": pa.array(rows_to_id, pa.string()),
            }),
        )
        membership = pl.from_arrow(
            con.sql(
                """
                select r.source, r.source_id, o.entity_id, o.matched_by, o.score,
                       o.matched_to_source, o.matched_to_source_id,
                       r.prev_entity_id as previous_entity_id, r.record_hash,
                       cast(r.seen_at as timestamptz) as first_seen_at
                from _er_recs r join _er_out o using (uid)
                order by r.source, r.source_id
                """
            ).to_arrow_table()
        )
        timings["ids_s"] = time.perf_counter() - t4
        timings["total_s"] = time.perf_counter() - t0
        by = membership.group_by("matched_by").len().to_dicts()
        stats = {
            "records": population or n,
            "new_or_changed": n_new,
            "mode": mode,
            "full_run_reasons": reasons,
            "model": "trained" if trained else model_source,
            "training": training,
            "entities": len(clusters),
            "splink_edges": len(splink_edges["uid_l"]) - len(weak),
            "unique_name_merges": n_unique_name,
            "email_edges": len(email_edges),
            "refused_merges": dict(uf.refused),
            "matched_by": {d["matched_by"]: d["len"] for d in by},
            "unknown_override_records": [list(map(list, p)) for p in unknown],
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
        kept = None
        if return_records:
            kept = con.sql(f"select {', '.join(STATE_COLUMNS)} from _er_records").to_arrow_table()
        return Resolution(membership, model_dict, stats, kept)
    finally:
        con.close()


# --- incremental runs against persisted state ------------------------------------------------


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    # a quoted literal, not a bound parameter: the first bound parameter imports pandas
    # (~0.3 s), which a dbt build with nothing new does not otherwise need
    name = name.split(".")[-1].strip('"').replace("'", "''")
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_name = "
        f"'{name}' and table_schema = current_schema()"
    ).fetchone()[0])


def save_state(con: duckdb.DuckDBPyConnection, state_table: str, records: pa.Table, *,
               replace: bool) -> None:
    """Persist normalized records (STATE_COLUMNS) as resolver state on ``con``.

    ``replace`` (after a full run) rewrites the table; otherwise the given records replace
    their earlier versions, keyed by (source, source_id)."""
    con.register("_er_state_arrow", records)
    try:
        if replace or not _table_exists(con, state_table):
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
    if not _table_exists(con, state_table) or not _table_exists(con, membership_table):
        raise FullRunNeeded("no resolver state")
    state_cols = {r[0] for r in con.execute(f"describe {state_table}").fetchall()}
    if not set(STATE_COLUMNS) <= state_cols:
        raise FullRunNeeded("resolver state has an older layout")
    names = [r[0] for r in con.execute(f"describe {records_table}").fetchall()]
    con.execute(
        f"create or replace temp view _er_raw as select *, {input_hash_sql()} as input_hash "
        f"from (select {_raw_columns_sql(names)} from {records_table})"
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


def _isna(x: Any) -> bool:
    return x is None or (isinstance(x, float) and x != x)


def _tolist(x: Any) -> list:
    return x.tolist() if hasattr(x, "tolist") else list(x)


def _quiet(fn):
    """Run fn with Splink's INFO chatter silenced (warnings still show)."""
    lg = logging.getLogger("splink")
    old = lg.level
    lg.setLevel(logging.WARNING)
    try:
        return fn()
    finally:
        lg.setLevel(old)


def pairwise_scores(membership: pl.DataFrame, truth: Mapping[Key, Any]) -> dict[str, float]:
    """Pairwise precision / recall / F1 of ``membership`` against ``truth`` {key: cluster}."""
    pred = {(r["source"], r["source_id"]): r["entity_id"] for r in membership.iter_rows(named=True)}
    return pairwise_from_labels(pred, truth)


def pairwise_from_labels(pred: Mapping[Any, Any], truth: Mapping[Any, Any]) -> dict[str, float]:
    from collections import Counter

    keys = [k for k in truth if k in pred]

    def pairs(counter: Iterable[int]) -> int:
        return sum(c * (c - 1) // 2 for c in counter)

    tp = pairs(Counter((pred[k], truth[k]) for k in keys).values())
    pred_pairs = pairs(Counter(pred[k] for k in keys).values())
    true_pairs = pairs(Counter(truth[k] for k in keys).values())
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "tp": tp, "fp": pred_pairs - tp, "fn": true_pairs - tp,
    }
