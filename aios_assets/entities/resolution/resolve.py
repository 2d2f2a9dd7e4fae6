"""Entity resolution: person records from every source -> canonical entities.

``resolve(records, previous_membership=..., overrides=...)`` is the whole pipeline, as plain
functions that the dbt Python model ``int_entity_membership``, the benchmark and the tests all
call:

1. **normalize** (DuckDB SQL, see ``normalize.py``; records read in ``records.py``);
2. **candidate pairs** by blocking on frequency-capped keys (email, name, name+dob, dob, email
   user, phone, surname+city, swapped name, house number+street, first name+postcode,
   surname+postcode and the two crossed, house number+postcode, initials+postcode, two
   letters of each name+town) and **Splink** match
   probabilities
   (``model.py``); deterministic **email** edges where the normalized address is equal, is not a
   shared mailbox (``info@``…) and the first names do not contradict each other;
3. **clustering** (``clusters.py``; the rules in ``rules.py``): union-find over the edges in
   priority order (operator ``must_link``, then email, then Splink by descending probability,
   at or above ``match_threshold``), refusing any merge that would put a ``cannot_link`` pair
   in one entity, join two records whose first names *and* dates of birth both clearly
   contradict (the pair joined, or most cross pairs of the two sides), let a record without a
   dob bridge two groups whose dobs contradict (namesakes), or grow an entity beyond
   ``max_cluster_size`` records. A Splink pair is never an edge, however high its score, when
   its first names *and* surnames both clearly contradict (unless the same rare dob in one
   postcode or one street of one town says one person), or when its first names contradict (or
   one is missing), or its surnames do at another street, and nothing that identifies a person
   agrees (date of birth up to a typo or a month, an impossible one up to a keystroke from the
   other's, email, phone): address, postcode, city, surname and company place a record - a
   household, an office, two namesakes in one postcode - they do not make two records one
   person;
4. **stable ids** (``clusters.assign_entity_ids``): each cluster keeps the oldest previous
   entity id among its members (merges keep the older id, splits leave it with the larger
   part); a cluster with none gets ``ent_`` + a hash of its earliest member. New records
   never renumber existing entities.

Every membership row says why: ``matched_by`` (``self`` | ``email`` | ``splink`` |
``override:must_link``), ``score`` (Splink match probability; 1.0 for email and overrides, NULL
for ``self``) and ``matched_to_source`` / ``matched_to_source_id`` (the record it was joined to).

With ``previous_membership`` and a ``previous_model``, a run where few records are new or changed
is **incremental**: old entities stay as they were and only pairs involving a new record are
scored (``incremental.resolve_update`` does the same against persisted state). Anything else
(many changes, an override that contradicts the previous result, no previous model) is a
**full** run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from .clusters import _Clusters, assign_entity_ids
from .overrides import Overrides
from .records import (
    MEMBERSHIP_SCHEMA,
    NAME_ONLY_SQL,
    STATE_COLUMNS,
    Key,
    isna,
    load_previous,
    prepare_records,
    to_arrow,
    tolist,
)
from .rules import Places, _first_names_conflict, _names_contradict, _only_placed

log = logging.getLogger(__name__)


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
class Resolution:
    membership: pl.DataFrame
    model: dict[str, Any] | None
    stats: dict[str, Any]
    # normalized records to persist as resolver state (STATE_COLUMNS): all of them after a
    # full run with return_records=True, only the new or changed ones after resolve_update
    records: pa.Table | None = None



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
            con.register("_er_prenormalized", to_arrow(records))
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

        has_prev = load_previous(con, previous_membership)
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
        prev_ids = [None if isna(x) else x for x in rec["prev_entity_id"].tolist()]
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
                   or ({NAME_ONLY_SQL.format(t='l')}) or ({NAME_ONLY_SQL.format(t='r')})
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
            None if isna(f) else (f, c, None if isna(sn) else sn)
            for f, c, sn in zip(rec["first_name"].tolist(), rec["first_name_canon"].tolist(),
                                rec["surname"].tolist())
        ]
        dobs = [None if isna(d) else d for d in rec["dob"].tolist()]
        emails = [None if isna(e) else e for e in rec["email"].tolist()]
        phones = [None if isna(p) else p for p in rec["phone"].tolist()]

        who = list(zip(fnames, dobs, emails, phones, strict=True))
        places = Places(
            dobs=dobs,
            dob_digits=[None if isna(x) else x for x in rec["dob_digits"].tolist()],
            dob_n=rec["dob_n"].tolist(),
            streets=[None if isna(x) else x for x in rec["street"].tolist()],
            postcodes=[None if isna(x) else x for x in rec["postcode"].tolist()],
            cities=[None if isna(x) else x for x in rec["city"].tolist()],
        )

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
            return not incremental or is_new[x] or isna(prev_by[x]) or prev_by[x] == "self"

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
            tolist(splink_edges["uid_l"]), tolist(splink_edges["uid_r"]),
            tolist(splink_edges["match_probability"]),
        ):
            if p >= cfg.match_threshold:
                if cfg.conflict_guard and (
                        (_names_contradict(fnames[int(a)], fnames[int(b)])
                         and not places.birth_and_home(int(a), int(b)))
                        or (_only_placed(who[int(a)], who[int(b)],
                                         lambda a=int(a), b=int(b): places.same_home(a, b))
                            and not places.typo_dob(int(a), int(b)))):
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
                f"select uid, bk_name, coalesce({NAME_ONLY_SQL.format(t='_er_recs')}, false) "
                "as name_only from _er_recs order by uid"
            ).fetchnumpy()
            name_key = [None if isna(k) else k for k in nk["bk_name"].tolist()]
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
        clusters, entity_of = assign_entity_ids(uf, keys, prev_ids, rec["seen_at"].tolist(),
                                                reserved_ids)

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
            elif incremental and not is_new[i] and not isna(prev_by[i]) and prev_by[i] != "self":
                rows_by.append(prev_by[i])
                rows_score.append(None if isna(prev_score[i]) else float(prev_score[i]))
                rows_to_s.append(None if isna(prev_to_s[i]) else prev_to_s[i])
                rows_to_id.append(None if isna(prev_to_id[i]) else prev_to_id[i])
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


def _quiet(fn):
    """Run fn with Splink's INFO chatter silenced (warnings still show)."""
    lg = logging.getLogger("splink")
    old = lg.level
    lg.setLevel(logging.WARNING)
    try:
        return fn()
    finally:
        lg.setLevel(old)

