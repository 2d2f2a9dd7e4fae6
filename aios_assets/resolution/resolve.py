"""Entity resolution: person records from every source -> canonical entities.

``resolve(records, previous_membership=..., overrides=...)`` is the whole pipeline, as plain
functions that the dbt Python model ``int_entity_membership``, the benchmark and the tests all
call:

1. **normalize** (DuckDB SQL, see ``normalize.py``);
2. **candidate pairs** by blocking on frequency-capped keys (email, name, name+dob, dob, email
   user, phone, surname+city, swapped name) and **Splink** match probabilities
   (``model.py``); deterministic **email** edges where the normalized address is equal, is not a
   shared mailbox (``info@``…) and the first names do not contradict each other;
3. **clustering**: union-find over the edges in priority order (operator ``must_link``, then
   email, then Splink by descending probability, at or above ``match_threshold``), refusing
   any merge that would put a ``cannot_link`` pair in one entity, join two records whose first
   names *and* dates of birth both clearly contradict, or grow an entity beyond
   ``max_cluster_size`` records;
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from . import model as er_model
from .normalize import PERSON_COLUMNS, normalize_sql, setup_lookup_tables

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
_TRAINED_ON = "aios_trained_on_records"  # kept in the model dict next to Splink's settings


@dataclass(frozen=True)
class ResolverConfig:
    match_threshold: float = 0.95  # Splink match probability needed for a merge (Splink's own
    # clustering default; precision is guarded by the conflict check and the size cap)
    max_cluster_size: int = 50  # no automatic merge makes an entity larger than this
    block_cap: int = 300  # blocking-key values shared by more records are not used
    incremental_max_fraction: float = 0.10  # more new/changed records than this: full run
    min_records_to_train: int = 1000  # fewer records: use the packaged default model
    retrain_growth: float = 1.5  # a full run retrains once the data grew 1.5x since training
    conflict_guard: bool = True  # refuse merges whose records contradict on first name and dob
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


def prepare_records(con: duckdb.DuckDBPyConnection, records: Any, *, block_cap: int) -> int:
    """Normalize ``records`` into the temp table ``_er_records`` on ``con``; returns its size."""
    table = _to_arrow(records)
    names = set(table.column_names)
    if not {"source", "source_id"} <= names:
        raise ValueError("records need 'source' and 'source_id' columns")
    con.register("_er_input_arrow", table)
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
    con.execute(
        "create or replace temp table _er_input as select cast(source as varchar) as source, "
        f"cast(source_id as varchar) as source_id, {first_seen}, {', '.join(cols)} "
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
    return jaro_winkler(fa, fb) < 0.7


def _dobs_conflict(a: str | None, b: str | None) -> bool:
    """Both present and not explainable as a typo: more than one character apart, not a
    day/month swap, and more than a year apart."""
    if a is None or b is None or a == b:
        return False
    if _levenshtein_le(a, b, 1):
        return False
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return False
    ya, yb = int(a[:4]), int(b[:4])
    da = ya * 372 + int(a[5:7]) * 31 + int(a[8:10])
    db = yb * 372 + int(b[5:7]) * 31 + int(b[8:10])
    return abs(da - db) > 372


# --- the union-find with constraints -----------------------------------------------------------


class _Clusters:
    def __init__(self, n: int, fnames, dobs, cannot: dict[int, set[int]], max_size: int):
        self.parent = list(range(n))
        self.members: dict[int, list[int]] = {}
        self.fnames = fnames
        self.dobs = dobs
        self.cannot = cannot
        self.max_size = max_size
        self.refused = {"cannot_link": 0, "conflict": 0, "size": 0}

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
            fnames, dobs = self.fnames, self.dobs
            left = [x for x in ma if fnames[x] is not None and dobs[x] is not None]
            if left:
                right = [y for y in mb if fnames[y] is not None and dobs[y] is not None]
                for x in left:
                    for y in right:
                        if _first_names_conflict(fnames[x], fnames[y]) and _dobs_conflict(
                            dobs[x], dobs[y]
                        ):
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
) -> Resolution:
    cfg = config or ResolverConfig()
    if not isinstance(overrides, Overrides):
        overrides = Overrides.from_mapping(overrides)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    con = duckdb.connect()
    if cfg.threads:
        con.execute(f"set threads = {int(cfg.threads)}")
    try:
        n = prepare_records(con, records, block_cap=cfg.block_cap)
        timings["normalize_s"] = time.perf_counter() - t0
        if n == 0:
            return Resolution(pl.DataFrame(schema=MEMBERSHIP_SCHEMA), previous_model, {"records": 0})

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
            "select source, source_id, first_name, first_name_canon, surname, dob, is_new, "
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
        if force_full:
            reasons.append("forced")
        if not has_prev:
            reasons.append("no previous membership")
        if previous_model is None:
            reasons.append("no previous model")
        if n_new > cfg.incremental_max_fraction * n:
            reasons.append(f"{n_new} of {n} records new or changed")
        if has_prev:
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
        model_source = "previous"
        # term frequencies computed from a few hundred records are noise, not evidence
        use_tf = n >= cfg.min_records_to_train
        if incremental:
            model_dict = previous_model
            linker = Linker(
                sdf,
                er_model.settings_from_model(model_dict, incremental=True,
                                             term_frequencies=use_tf),
                log_level=logging.WARNING,
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
            _quiet(lambda: er_model.train(linker, seed=cfg.seed))
            model_dict = {**linker.misc.save_model_to_json(), _TRAINED_ON: n}
            trained = True
        else:
            model_dict = er_model.default_model()
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
            pred = _quiet(lambda: linker.inference.predict(
                threshold_match_probability=cfg.match_threshold, warning_mode="never"
            ))
            splink_edges = con.sql(
                f"select uid_l, uid_r, match_probability from {pred.physical_name} "
                "order by match_probability desc, uid_l, uid_r"
            ).fetchnumpy()
        else:
            splink_edges = {"uid_l": [], "uid_r": [], "match_probability": []}
        timings["predict_s"] = time.perf_counter() - t2

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

        def _take(a: int, b: int, how: str, score: float | None, forced: bool = False) -> None:
            if uf.try_union(a, b, forced=forced):
                if a not in explain and _explainable(a):
                    explain[a] = (how, score, b)
                if b not in explain and _explainable(b):
                    explain[b] = (how, score, a)

        for a, b in must:
            _take(a, b, "override:must_link", 1.0, forced=True)
        for a, b in email_edges:
            if not _first_names_conflict(fnames[a], fnames[b]):
                _take(a, b, "email", 1.0)
        for a, b, p in zip(
            _tolist(splink_edges["uid_l"]), _tolist(splink_edges["uid_r"]),
            _tolist(splink_edges["match_probability"]),
        ):
            _take(int(a), int(b), "splink", float(p))
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
        used = set(id_age) | taken
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
            "records": n,
            "new_or_changed": n_new,
            "mode": mode,
            "full_run_reasons": reasons,
            "model": "trained" if trained else model_source,
            "entities": len(clusters),
            "splink_edges": len(splink_edges["uid_l"]),
            "email_edges": len(email_edges),
            "refused_merges": dict(uf.refused),
            "matched_by": {d["matched_by"]: d["len"] for d in by},
            "unknown_override_records": [list(map(list, p)) for p in unknown],
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
        return Resolution(membership, model_dict, stats)
    finally:
        con.close()


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
