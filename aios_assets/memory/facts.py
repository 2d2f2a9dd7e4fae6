"""Entity facts: long-term facts per canonical entity, with validity intervals.

``entity_facts(fact_id, entity_id, attribute, value, valid_from, valid_to, source_event_id,
source_id, extracted_by, confidence, superseded_by, source, entity_kind, subject_key, evidence,
recorded_at, seq)``; the view ``entity_facts_current`` holds the facts still valid.

Where facts come from:

- **contact records** (``extracted_by = 'contact_record'``): every contact event (CRM, newsletter
  export, …) resolved to its entity through ``entity_membership`` gives ``full_name``, ``email``,
  ``phone``, ``title``, ``company``, ``city``, ``country``;
- **e-mail signatures** (``'signature'``): ``Title | Company`` and phone lines under ``-- ``;
- **rules over message and note text** (``'rule:<name>'``): role statements ("I'm Head of Data at
  Acme"), new e-mail / phone / surname, moves, e-mail domain changes, preferences ("I prefer
  calls"), money (agreed retainers, budgets, day rates, limits), the data warehouse a company
  runs on, what a lead needs, priorities, board dates, the operator's commitments ("I'll have the
  deck ready by Monday 13 July", "Promised Dana the plan by Friday") and who provides which
  service. Only what the author wrote counts: quoted replies and signatures are stripped first.

Time: a fact is valid from its source event's **event time** (``occurred_at``), never its load
time. Per (entity, attribute) the facts form one chain ordered by ``valid_from``: each fact's
``valid_to`` is the next fact's ``valid_from`` and ``superseded_by`` its id; the last one is
current. A late-arriving older fact is slotted into the chain as history (closed interval); a
restatement of the value already valid is not a new fact. Rows are never deleted.
Company-level attributes (retainer, budget, data warehouse, e-mail domain, priority, board
meeting) attach to the speaker's organization when the marts know it.

Code: the extraction in :mod:`aios_assets.memory.fact_extraction`, which entity a fact is about
in :mod:`aios_assets.memory.fact_candidates`; here the chains and the asset.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa

from aios_assets.memory.base import (
    DIM_CONTACTS,
    DIM_ORGANIZATIONS,
    ENTITY_MEMBERSHIP,
    EVENT_LOG,
    FCT_INTERACTIONS,
    GROUP,
    build_event_people,
    detect_operator,
    get_state,
    set_state,
)
from aios_assets.memory.fact_candidates import (
    Candidate,
    Resolver,
    contact_candidates,
    text_candidates,
)
from aios_assets.memory.fact_extraction import normalize_value
from aios_assets.shared.automation import FOLLOW_INPUTS
from aios_assets.shared.db import has_relation, transaction
from aios_assets.shared.text import (
    markdown_table,
)
from resources.warehouse import DuckDBWarehouse

ASSET = "entity_facts"

DDL = """
CREATE TABLE IF NOT EXISTS entity_facts (
    fact_id VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    attribute VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to TIMESTAMPTZ,
    source_event_id VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    extracted_by VARCHAR NOT NULL,
    confidence DOUBLE NOT NULL,
    superseded_by VARCHAR,
    source VARCHAR NOT NULL,
    entity_kind VARCHAR NOT NULL,
    subject_key VARCHAR,
    evidence VARCHAR,
    recorded_at TIMESTAMPTZ NOT NULL,
    seq BIGINT NOT NULL
);
CREATE OR REPLACE VIEW entity_facts_current AS
SELECT * FROM entity_facts WHERE valid_to IS NULL;
"""


# --- merging into the chains --------------------------------------------------------------


@dataclass
class FactStats:
    full: bool
    candidates: int = 0
    inserted: int = 0
    corroborated: int = 0
    duplicates: int = 0
    historical: int = 0  # inserted before a newer fact (late-arriving older fact)
    rekeyed: int = 0
    total: int = 0
    current: int = 0
    by_extractor: dict[str, int] = field(default_factory=dict)
    watermark: str | None = None


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def merge_candidates(existing: dict[tuple[str, str], list[dict[str, Any]]],
                     candidates: Iterable[Candidate]) -> tuple[list[Candidate], dict[str, int]]:
    """Which candidates become new facts. ``existing``: the facts already stored per
    (entity, attribute) (``fact_id``, ``value``, ``valid_from``, ``source_event_id``).

    A candidate is skipped when the same fact (id) is already there, or when the fact valid at
    its time (the latest with ``valid_from`` <= its own) already says the same value; otherwise
    it is new — ``historical`` when a newer fact already exists after it."""
    counts = {"duplicates": 0, "corroborated": 0, "historical": 0}
    by_group: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_group[(c.entity_id, c.attribute)].append(c)
    accepted: list[Candidate] = []
    for group, cands in by_group.items():
        chain = [dict(f) for f in existing.get(group, [])]
        ids = {f["fact_id"] for f in chain} | {f["source_event_id"] + "|" + f["norm"]
                                               for f in chain}
        for c in sorted(cands, key=lambda c: (c.valid_from, c.source_id, c.fact_id)):
            norm = normalize_value(c.attribute, c.value)
            if c.fact_id in ids or f"{c.source_event_id}|{norm}" in ids:
                counts["duplicates"] += 1
                continue
            before = [f for f in chain if f["valid_from"] <= c.valid_from]
            prev = max(before, key=lambda f: (f["valid_from"], f["seq"])) if before else None
            if prev is not None and prev["norm"] == norm:
                counts["corroborated"] += 1
                continue
            if any(f["valid_from"] > c.valid_from for f in chain):
                counts["historical"] += 1
            accepted.append(c)
            ids |= {c.fact_id, f"{c.source_event_id}|{norm}"}
            chain.append({"fact_id": c.fact_id, "norm": norm, "valid_from": c.valid_from,
                          "source_event_id": c.source_event_id, "seq": float("inf")})
    return accepted, counts


_FACT_SCHEMA = pa.schema([
    ("fact_id", pa.string()), ("entity_id", pa.string()), ("attribute", pa.string()),
    ("value", pa.string()), ("valid_from", pa.timestamp("us", tz="UTC")),
    ("source_event_id", pa.string()), ("source_id", pa.string()), ("extracted_by", pa.string()),
    ("confidence", pa.float64()), ("source", pa.string()), ("entity_kind", pa.string()),
    ("subject_key", pa.string()), ("evidence", pa.string()), ("seq", pa.int64()),
])


def _relink(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute ``valid_to`` / ``superseded_by`` of the groups in ``_ef_touched``."""
    con.execute(
        """UPDATE entity_facts SET valid_to = n.next_from, superseded_by = n.next_id
        FROM (
            SELECT f.fact_id,
                   lead(f.valid_from) OVER w AS next_from, lead(f.fact_id) OVER w AS next_id
            FROM entity_facts f JOIN _ef_touched t USING (entity_id, attribute)
            WINDOW w AS (PARTITION BY f.entity_id, f.attribute ORDER BY f.valid_from, f.seq)
        ) n
        WHERE entity_facts.fact_id = n.fact_id
          AND (entity_facts.valid_to IS DISTINCT FROM n.next_from
               OR entity_facts.superseded_by IS DISTINCT FROM n.next_id)"""
    )


def build_entity_facts(con: duckdb.DuckDBPyConnection, *, full_refresh: bool = False,
                       operator_email: str | None = None) -> FactStats:
    """Extract facts from event versions ingested since the last run and slot them into the
    per-(entity, attribute) chains. ``full_refresh`` re-reads every event (nothing already
    stored is duplicated or removed)."""
    ensure_tables(con)
    watermark = None if full_refresh else get_state(con, ASSET, "watermark")
    stats = FactStats(full=watermark is None)
    new_watermark = con.execute("SELECT max(ingested_at)::VARCHAR FROM event_log").fetchone()[0]
    build_event_people(con)
    resolver = Resolver.load(con, detect_operator(con, operator_email))

    con.execute("CREATE OR REPLACE TEMP TABLE _ef_touched (entity_id VARCHAR, attribute VARCHAR)")
    with transaction(con):
        stats.rekeyed = _rekey(con, resolver)
        candidates = contact_candidates(con, watermark) + text_candidates(con, resolver,
                                                                          watermark)
        stats.candidates = len(candidates)
        groups = sorted({(c.entity_id, c.attribute) for c in candidates})
        con.register("_ef_groups_arrow", pa.table({
            "entity_id": pa.array([g[0] for g in groups], pa.string()),
            "attribute": pa.array([g[1] for g in groups], pa.string())}))
        existing: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for fact_id, entity_id, attribute, value, valid_from, source_event_id, seq in con.execute(
                """SELECT f.fact_id, f.entity_id, f.attribute, f.value, f.valid_from,
                          f.source_event_id, f.seq
                FROM entity_facts f JOIN _ef_groups_arrow g USING (entity_id, attribute)"""
        ).fetchall():
            existing[(entity_id, attribute)].append({
                "fact_id": fact_id, "norm": normalize_value(attribute, value),
                "valid_from": valid_from, "source_event_id": source_event_id, "seq": seq})
        con.unregister("_ef_groups_arrow")
        accepted, counts = merge_candidates(existing, candidates)
        stats.duplicates, stats.corroborated = counts["duplicates"], counts["corroborated"]
        stats.historical = counts["historical"]
        stats.inserted = len(accepted)
        if accepted:
            base = con.execute("SELECT coalesce(max(seq), 0) FROM entity_facts").fetchone()[0]
            accepted.sort(key=lambda c: (c.valid_from, c.source_id, c.fact_id))
            table = pa.Table.from_pylist([{
                "fact_id": c.fact_id, "entity_id": c.entity_id, "attribute": c.attribute,
                "value": c.value, "valid_from": c.valid_from,
                "source_event_id": c.source_event_id, "source_id": c.source_id,
                "extracted_by": c.extracted_by, "confidence": c.confidence, "source": c.source,
                "entity_kind": c.entity_kind, "subject_key": c.subject_key,
                "evidence": c.evidence, "seq": base + i + 1} for i, c in enumerate(accepted)],
                schema=_FACT_SCHEMA)
            con.register("_ef_new", table)
            con.execute(
                """INSERT INTO entity_facts
                SELECT fact_id, entity_id, attribute, value, valid_from, NULL, source_event_id,
                       source_id, extracted_by, confidence, NULL, source, entity_kind,
                       subject_key, evidence, now(), seq
                FROM _ef_new""")
            con.execute("INSERT INTO _ef_touched SELECT DISTINCT entity_id, attribute FROM _ef_new")
            con.unregister("_ef_new")
        _relink(con)
        set_state(con, ASSET, "watermark", new_watermark)
    stats.watermark = new_watermark
    stats.total, stats.current = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE valid_to IS NULL) FROM entity_facts"
    ).fetchone()
    stats.by_extractor = dict(con.execute(
        "SELECT extracted_by, count(*) FROM entity_facts GROUP BY 1 ORDER BY 2 DESC").fetchall())
    return stats


def _rekey(con: duckdb.DuckDBPyConnection, resolver: Resolver) -> int:
    """Facts of an entity id that entity resolution merged away move to the surviving id
    (``entity_membership.previous_entity_id``); their chains are relinked."""
    if not resolver.previous:
        return 0
    live = set(resolver.by_email.values()) | set(resolver.org_of) | set(
        resolver.org_of.values())
    if has_relation(con, "entity_membership"):
        live |= {r[0] for r in con.execute(
            "SELECT DISTINCT entity_id FROM entity_membership").fetchall()}
    stale = con.execute(
        "SELECT DISTINCT entity_id FROM entity_facts WHERE entity_kind = 'person'").fetchall()
    moves = {old: resolver.previous[old] for (old,) in stale
             if old not in live and old in resolver.previous}
    if not moves:
        return 0
    con.register("_ef_moves", pa.table({"old": list(moves), "new": list(moves.values())}))
    con.execute("INSERT INTO _ef_touched SELECT DISTINCT f.entity_id, f.attribute FROM "
                "entity_facts f JOIN _ef_moves m ON f.entity_id = m.old")
    n = con.execute("SELECT count(*) FROM entity_facts WHERE entity_id IN "
                    "(SELECT old FROM _ef_moves)").fetchone()[0]
    con.execute("UPDATE entity_facts SET entity_id = m.new FROM _ef_moves m "
                "WHERE entity_facts.entity_id = m.old")
    con.execute("INSERT INTO _ef_touched SELECT DISTINCT new, attribute FROM entity_facts f "
                "JOIN _ef_moves m ON f.entity_id = m.new")
    con.unregister("_ef_moves")
    return n


def facts_as_of(con: duckdb.DuckDBPyConnection, entity_id: str,
                at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """The facts valid for an entity at a time (default: now): attribute -> fact."""
    at = at or datetime.now(UTC)
    rows = con.execute(
        """SELECT attribute, value, valid_from, valid_to, source_id, extracted_by, confidence,
                  fact_id
        FROM entity_facts WHERE entity_id = ? AND valid_from <= ?
          AND (valid_to IS NULL OR valid_to > ?)
        ORDER BY attribute""",
        [entity_id, at, at],
    ).fetchall()
    keys = ("value", "valid_from", "valid_to", "source_id", "extracted_by", "confidence",
            "fact_id")
    return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


# --- Dagster ------------------------------------------------------------------------------


class EntityFactsConfig(dg.Config):
    """How entity facts are extracted."""

    full_refresh: bool = False  # re-read every event (stored facts are kept, never duplicated)
    operator_email: str | None = None  # default: $AIOS_OPERATOR_EMAIL, else detected


@dg.asset(
    key=ASSET,
    group_name=GROUP,
    pool="warehouse",
    automation_condition=FOLLOW_INPUTS,
    kinds={"duckdb", "python"},
    deps=[EVENT_LOG, ENTITY_MEMBERSHIP, DIM_CONTACTS, DIM_ORGANIZATIONS, FCT_INTERACTIONS],
    description=(
        "Entity facts: long-term facts per canonical entity (title, company, e-mail, phone, "
        "city, preferences, agreed amounts, commitments, …) from contact records, signatures "
        "and rules over message text, with validity intervals by event time. A newer fact "
        "supersedes the older one (valid_to, superseded_by); nothing is deleted. View "
        "`entity_facts_current`."
    ),
)
def entity_facts(context: dg.AssetExecutionContext, config: EntityFactsConfig,
                 warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        stats = build_entity_facts(con, full_refresh=config.full_refresh,
                                   operator_email=config.operator_email)
        preview = con.execute(
            """SELECT f.attribute, f.value, coalesce(c.full_name, o.name, f.entity_id),
                      f.valid_from::DATE, f.source_id, f.extracted_by
            FROM entity_facts_current f
            LEFT JOIN (SELECT entity_id, full_name FROM dim_contacts) c USING (entity_id)
            LEFT JOIN (SELECT organization_id AS entity_id, name FROM dim_organizations) o
              USING (entity_id)
            WHERE f.extracted_by <> 'contact_record'
            ORDER BY f.valid_from DESC, f.fact_id LIMIT 10"""
        ).fetchall() if has_relation(con, "dim_contacts") and has_relation(
            con, "dim_organizations") else []
        by_attr = dict(con.execute(
            "SELECT attribute, count(*) FROM entity_facts_current GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall())
    context.log.info(f"entity facts: {stats.inserted} new ({stats.historical} historical), "
                     f"{stats.corroborated} restated, {stats.duplicates} already known")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": stats.total,
        "current_facts": stats.current,
        "new_rows": stats.inserted,
        "historical_rows": stats.historical,
        "restated": stats.corroborated,
        "already_known": stats.duplicates,
        "rekeyed_rows": stats.rekeyed,
        "full_scan": stats.full,
        "by_extractor": dg.MetadataValue.json(stats.by_extractor),
        "current_by_attribute": dg.MetadataValue.json(by_attr),
        "preview": dg.MetadataValue.md(markdown_table(
            ["attribute", "value", "entity", "valid_from", "source_id", "extracted_by"],
            preview)),
    })


@dg.asset_check(asset=ASSET, blocking=True,
                description="at most one current fact per (entity, attribute)")
def entity_facts_one_current(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        bad = con.execute(
            """SELECT count(*) FROM (SELECT entity_id, attribute FROM entity_facts
            WHERE valid_to IS NULL GROUP BY 1, 2 HAVING count(*) > 1)""").fetchone()[0]
    return dg.AssetCheckResult(passed=bad == 0, metadata={"groups_with_several_current": bad})


@dg.asset_check(asset=ASSET, blocking=True,
                description="validity intervals of an (entity, attribute) chain never overlap "
                            "and each superseded fact points to the fact that follows it")
def entity_facts_intervals_valid(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        bad_chain, negative, unique = con.execute(
            """WITH n AS (
                SELECT *, lead(valid_from) OVER w AS next_from, lead(fact_id) OVER w AS next_id
                FROM entity_facts
                WINDOW w AS (PARTITION BY entity_id, attribute ORDER BY valid_from, seq))
            SELECT count(*) FILTER (WHERE valid_to IS DISTINCT FROM next_from
                                       OR superseded_by IS DISTINCT FROM next_id),
                   count(*) FILTER (WHERE valid_to < valid_from),
                   count(*) - count(DISTINCT fact_id)
            FROM n""").fetchone()
    return dg.AssetCheckResult(
        passed=bad_chain == 0 and negative == 0 and unique == 0,
        metadata={"broken_links": bad_chain, "negative_intervals": negative,
                  "duplicate_fact_ids": unique})


FACTS_ASSETS = [entity_facts]
FACTS_CHECKS = [entity_facts_one_current, entity_facts_intervals_valid]
