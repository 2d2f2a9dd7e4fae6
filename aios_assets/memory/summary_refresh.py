"""The warehouse side of the summaries (:mod:`aios_assets.memory.summaries` describes the
levels): the ``summaries`` table, the units of each level, which of them changed, and
``refresh_summaries``, which rewrites exactly those; ``failing_covering_summaries`` for the
blocking check."""

import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from aios_assets.memory.base import detect_operator
from aios_assets.memory.curation import DEFAULT_VERBOSE_KINDS, ensure_cold_views
from aios_assets.memory.summary_writing import (
    Draft,
    SourceItem,
    SupportsComplete,
    clean_subject,
    display_actor,
    event_participants,
    plural,
    short_text,
    summary_label,
    write_summary,
)
from aios_assets.shared.db import has_relation, transaction

SUMMARY_VERSION = "1"  # bump when the summary text format or the algorithm changes
LEVELS = ("thread", "entity", "daily", "weekly")
COVERING_LEVELS = ("thread", "daily")  # the summaries that stand in for archived events
DEFAULT_EXCLUDE_KINDS = ("contact", "content_metrics")  # records, not happenings
DEFAULT_BUDGETS = {"thread": 600, "entity": 1000, "daily": 1500, "weekly": 3000}
# LLM calls in flight at once when an endpoint is configured (one model call takes seconds)
DEFAULT_LLM_CONCURRENCY = 4
LLM_CONCURRENCY_ENV = "AIOS_LLM_CONCURRENCY"
# units written per transaction: an interrupted run keeps every batch it committed
COMMIT_BATCH_UNITS = 20
# "priority": with an LLM endpoint, only the units of the newest event's week are written and
# the rest is left as a backlog; "all": every unit (the extractive writer always does this)
SCOPES = ("priority", "all")

U = TypeVar("U")

SUMMARIES_DDL = """
CREATE TABLE IF NOT EXISTS summaries (
    summary_id VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    scope_id VARCHAR NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    period_end TIMESTAMPTZ NOT NULL,
    text VARCHAR NOT NULL,
    source_event_ids VARCHAR[] NOT NULL,
    source_summary_ids VARCHAR[] NOT NULL,
    input_hash VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    model VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    fidelity_passed BOOLEAN NOT NULL,
    fidelity_missing VARCHAR[] NOT NULL
);
"""

_SUMMARY_SCHEMA = pa.schema(
    [
        ("summary_id", pa.string()),
        ("level", pa.string()),
        ("scope_id", pa.string()),
        ("period_start", pa.timestamp("us", tz="UTC")),
        ("period_end", pa.timestamp("us", tz="UTC")),
        ("text", pa.string()),
        ("source_event_ids", pa.list_(pa.string())),
        ("source_summary_ids", pa.list_(pa.string())),
        ("input_hash", pa.string()),
        ("method", pa.string()),
        ("model", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("fidelity_passed", pa.bool_()),
        ("fidelity_missing", pa.list_(pa.string())),
    ]
)

# ---------------------------------------------------------------------------------------------
# the warehouse side
# ---------------------------------------------------------------------------------------------


@dataclass
class SummarySettings:
    levels: tuple[str, ...] = LEVELS
    budgets: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    exclude_kinds: tuple[str, ...] = DEFAULT_EXCLUDE_KINDS
    max_entity_share: float = 0.5
    # None: $AIOS_LLM_CONCURRENCY, else DEFAULT_LLM_CONCURRENCY (see llm_concurrency)
    llm_concurrency: int | None = None
    commit_batch: int = COMMIT_BATCH_UNITS
    scope: str = "all"  # one of SCOPES; the asset's default is "priority"


class UnknownScope(ValueError):
    """A summaries scope that is not one of :data:`SCOPES`."""


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise UnknownScope(f"unknown summaries scope {scope!r}; known: {SCOPES}")
    return scope


# ---------------------------------------------------------------------------------------------
# priority: the units of the current week first
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityWindow:
    """The week whose summaries are written first: [start, end), start a Monday 00:00 UTC."""

    start: datetime
    end: datetime

    def covers(self, period_start: datetime, period_end: datetime) -> bool:
        """Whether a unit's period [period_start, period_end) overlaps the window."""
        return period_start < self.end and period_end > self.start

    @property
    def label(self) -> str:
        return week_label(self.start)


def week_start(t: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week holding ``t`` (a naive ``t`` is taken as UTC)."""
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def week_label(t: datetime) -> str:
    """The ISO week of ``t`` as the weekly summaries' ``scope_id`` spells it: ``2025-W10``."""
    return week_start(t).strftime("%G-W%V")


def priority_window(newest_event: datetime | None) -> PriorityWindow | None:
    """The current week: the ISO week of the newest event, not of the clock, so a replayed or
    demo log is treated as a live one. None for an empty log (nothing to prioritise)."""
    if newest_event is None:
        return None
    start = week_start(newest_event)
    return PriorityWindow(start, start + timedelta(days=7))


def split_priority(
    units: Iterable[U], window: PriorityWindow | None,
    period: Callable[[U], tuple[datetime, datetime]],
) -> tuple[list[U], list[U]]:
    """(priority units, backlog units): a unit is priority when its period overlaps the
    window; without a window every unit is priority (scope ``all``)."""
    first: list[U] = []
    later: list[U] = []
    for u in units:
        (first if window is None or window.covers(*period(u)) else later).append(u)
    return first, later


def llm_concurrency(value: int | None = None, environ: Mapping[str, str] | None = None) -> int:
    """How many summaries the LLM writes at once: ``value``, else ``$AIOS_LLM_CONCURRENCY``,
    else :data:`DEFAULT_LLM_CONCURRENCY`; at least 1."""
    if value is None:
        raw = (os.environ if environ is None else environ).get(LLM_CONCURRENCY_ENV, "").strip()
        if raw:
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(
                    f"${LLM_CONCURRENCY_ENV} must be a whole number, not {raw!r}") from None
        else:
            value = DEFAULT_LLM_CONCURRENCY
    if value < 1:
        raise ValueError(f"llm_concurrency must be at least 1, not {value}")
    return value


@dataclass
class LevelReport:
    level: str
    units: int = 0
    recomputed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed_fidelity: int = 0
    methods: Counter = field(default_factory=Counter)
    skipped: str | None = None
    # units outside the priority window left to write or to remove (scope "priority" only)
    backlog: int = 0


@dataclass
class SummariesReport:
    levels: dict[str, LevelReport] = field(default_factory=dict)
    total_rows: int = 0
    skipped: str | None = None
    window: PriorityWindow | None = None  # set when only the priority units were written

    @property
    def recomputed(self) -> int:
        return sum(r.recomputed for r in self.levels.values())

    @property
    def backlog(self) -> int:
        return sum(r.backlog for r in self.levels.values())


def ensure_summaries_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SUMMARIES_DDL)


def summary_id(level: str, scope_id: str, period_start: datetime, input_hash: str) -> str:
    raw = f"{level}\x1f{scope_id}\x1f{period_start.isoformat()}\x1f{input_hash}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _sql_list(values: Iterable[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _prepare_sources(con: duckdb.DuckDBPyConnection, exclude_kinds: Sequence[str]) -> None:
    """``_sum_ids``: the current version of every summarisable event, without bodies."""
    excluded = _sql_list(exclude_kinds) if exclude_kinds else "[]::VARCHAR[]"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _sum_ids AS
        SELECT event_id, source, source_id, kind, occurred_at, actor, thread, entity_refs,
               date_trunc('day', occurred_at) AS day, date_trunc('week', occurred_at) AS week
        FROM events_current
        WHERE NOT list_contains({excluded}, kind)"""
    )


def _hash_prefix(level: str, budget: int) -> str:
    return f"v{SUMMARY_VERSION}|{level}|{budget}|"


def _units_thread(con: duckdb.DuckDBPyConnection, budget: int) -> None:
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _units AS
        SELECT thread AS scope_id, day AS period_start, day + INTERVAL 1 DAY AS period_end,
               list(event_id ORDER BY occurred_at, event_id) AS event_ids,
               []::VARCHAR[] AS summary_ids, count(*) AS n_events,
               sha256(? || string_agg(event_id, ',' ORDER BY event_id)) AS input_hash
        FROM _sum_ids WHERE thread IS NOT NULL
        GROUP BY thread, day""",
        [_hash_prefix("thread", budget)],
    )


def _entity_links(con: duckdb.DuckDBPyConnection, max_share: float) -> str | None:
    """``_entity_links(event_id, entity_id)`` from ``entity_membership``; None if absent."""
    if not has_relation(con, "entity_membership"):
        return "no entity_membership table (run the dbt entities first)"
    try:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _entity_links AS
            WITH m AS (SELECT source, source_id, entity_id FROM entity_membership),
            addrs AS (SELECT event_id, source, unnest(entity_refs.emails) AS addr FROM _sum_ids)
            SELECT DISTINCT event_id, entity_id FROM (
                SELECT e.event_id, m.entity_id FROM _sum_ids e
                JOIN m ON m.source = e.source AND m.source_id = e.source_id
                UNION ALL
                SELECT a.event_id, m.entity_id FROM addrs a
                JOIN m ON m.source = a.source AND m.source_id = a.addr
                UNION ALL
                SELECT e.event_id, m.entity_id FROM _sum_ids e
                JOIN m ON m.source = e.source
                      AND m.source_id = 'name:' || lower(trim(replace(e.actor, '"', '')))
                WHERE e.actor NOT LIKE '%@%'
            )"""
        )
    except duckdb.Error as exc:
        return f"entity_membership unusable: {exc}".splitlines()[0]
    total = con.execute("SELECT count(DISTINCT event_id) FROM _entity_links").fetchone()[0]
    con.execute(
        """DELETE FROM _entity_links WHERE entity_id IN (
             SELECT entity_id FROM _entity_links GROUP BY 1 HAVING count(*) > ?)""",
        [max(1, int(max_share * total))],
    )
    operator = detect_operator(con)
    if operator.entity_ids:
        con.execute("DELETE FROM _entity_links WHERE list_contains(?, entity_id)",
                    [sorted(operator.entity_ids)])
    return None


def _units_entity(con: duckdb.DuckDBPyConnection, budget: int) -> None:
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _units AS
        SELECT l.entity_id AS scope_id, e.week AS period_start,
               e.week + INTERVAL 7 DAY AS period_end,
               list(e.event_id ORDER BY e.occurred_at, e.event_id) AS event_ids,
               []::VARCHAR[] AS summary_ids, count(*) AS n_events,
               sha256(? || string_agg(e.event_id, ',' ORDER BY e.event_id)) AS input_hash
        FROM _entity_links l JOIN _sum_ids e USING (event_id)
        GROUP BY l.entity_id, e.week""",
        [_hash_prefix("entity", budget)],
    )


def _units_daily(con: duckdb.DuckDBPyConnection, budget: int) -> None:
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _units AS
        WITH th AS (
            SELECT date_trunc('day', period_start) AS day,
                   list(summary_id ORDER BY period_start, scope_id) AS summary_ids,
                   string_agg(summary_id || ':' || md5(text), ',' ORDER BY summary_id) AS h,
                   sum(len(source_event_ids)) AS n
            FROM summaries WHERE level = 'thread' GROUP BY 1
        ),
        ev AS (
            SELECT day, list(event_id ORDER BY occurred_at, event_id) AS event_ids,
                   string_agg(event_id, ',' ORDER BY event_id) AS h, count(*) AS n
            FROM _sum_ids WHERE thread IS NULL GROUP BY 1
        )
        SELECT strftime(day, '%Y-%m-%d') AS scope_id, day AS period_start,
               day + INTERVAL 1 DAY AS period_end,
               coalesce(ev.event_ids, []::VARCHAR[]) AS event_ids,
               coalesce(th.summary_ids, []::VARCHAR[]) AS summary_ids,
               coalesce(ev.n, 0) + coalesce(th.n, 0) AS n_events,
               sha256(? || coalesce(th.h, '') || '|' || coalesce(ev.h, '')) AS input_hash
        FROM th FULL OUTER JOIN ev USING (day)""",
        [_hash_prefix("daily", budget)],
    )


def _units_weekly(con: duckdb.DuckDBPyConnection, budget: int) -> None:
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _units AS
        SELECT strftime(date_trunc('week', period_start), '%G-W%V') AS scope_id,
               date_trunc('week', period_start) AS period_start,
               date_trunc('week', period_start) + INTERVAL 7 DAY AS period_end,
               []::VARCHAR[] AS event_ids,
               list(summary_id ORDER BY period_start) AS summary_ids,
               0 AS n_events,
               sha256(? || string_agg(summary_id || ':' || md5(text), ',' ORDER BY summary_id))
                 AS input_hash
        FROM summaries WHERE level = 'daily'
        GROUP BY date_trunc('week', period_start)""",
        [_hash_prefix("weekly", budget)],
    )


@dataclass
class _Unit:
    scope_id: str
    period_start: datetime
    period_end: datetime
    event_ids: list[str]
    summary_ids: list[str]
    n_events: int
    input_hash: str


_Key = tuple[str, datetime]  # (scope_id, period_start): one unit of a level
_Gone = tuple[str, datetime, datetime]  # a stored row whose unit no longer exists


def _changed_units(
    con: duckdb.DuckDBPyConnection, level: str
) -> tuple[list[_Unit], int, list[_Gone]]:
    """(units to recompute, units total, stored rows whose unit no longer exists)."""
    total = con.execute("SELECT count(*) FROM _units").fetchone()[0]
    rows = con.execute(
        """SELECT u.scope_id, u.period_start, u.period_end, u.event_ids, u.summary_ids,
                  u.n_events, u.input_hash
           FROM _units u
           LEFT JOIN summaries s ON s.level = ? AND s.scope_id = u.scope_id
                                AND s.period_start = u.period_start
           WHERE s.input_hash IS DISTINCT FROM u.input_hash
           ORDER BY u.period_start, u.scope_id""",
        [level],
    ).fetchall()
    gone = con.execute(
        """SELECT s.scope_id, s.period_start, s.period_end FROM summaries s
           WHERE s.level = ? AND NOT EXISTS (
             SELECT 1 FROM _units u WHERE u.scope_id = s.scope_id
                                      AND u.period_start = s.period_start)""",
        [level],
    ).fetchall()
    units = [_Unit(r[0], r[1], r[2], list(r[3]), list(r[4]), int(r[5]), r[6]) for r in rows]
    return units, total, [(r[0], r[1], r[2]) for r in gone]


def _delete_units(con: duckdb.DuckDBPyConnection, level: str, keys: Sequence[_Key]) -> None:
    if not keys:
        return
    con.register("_gone", pa.table({
        "scope_id": pa.array([k[0] for k in keys], pa.string()),
        "period_start": pa.array([k[1] for k in keys], pa.timestamp("us", tz="UTC")),
    }))
    try:
        con.execute(
            """DELETE FROM summaries s WHERE s.level = ? AND EXISTS (
                 SELECT 1 FROM _gone g WHERE g.scope_id = s.scope_id
                   AND g.period_start = s.period_start)""",
            [level],
        )
    finally:
        con.unregister("_gone")


@dataclass
class _Event:
    event_id: str
    kind: str
    occurred_at: datetime
    actor: str | None
    thread: str | None
    subject: str | None
    text: str
    payload: Any
    names: list[str]


def _fetch_events(con: duckdb.DuckDBPyConnection, ids: Iterable[str]) -> dict[str, _Event]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    con.register("_want", pa.table({"event_id": pa.array(wanted, pa.string())}))
    try:
        rows = con.execute(
            """SELECT event_id, kind, occurred_at, actor, thread, subject, coalesce(text, ''),
                      payload, entity_refs.names
               FROM event_log_full WHERE event_id IN (SELECT event_id FROM _want)"""
        ).fetchall()
    finally:
        con.unregister("_want")
    return {r[0]: _Event(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], list(r[8] or []))
            for r in rows}


def _fetch_summaries(
    con: duckdb.DuckDBPyConnection, ids: Iterable[str]
) -> dict[str, tuple[str, datetime]]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    con.register("_want", pa.table({"summary_id": pa.array(wanted, pa.string())}))
    try:
        rows = con.execute(
            "SELECT summary_id, text, period_start FROM summaries "
            "WHERE summary_id IN (SELECT summary_id FROM _want)"
        ).fetchall()
    finally:
        con.unregister("_want")
    return {r[0]: (r[1], r[2]) for r in rows}


def _event_item(e: _Event, label: str | None = None) -> SourceItem:
    return SourceItem(text=e.text, actor=display_actor(e.actor), label=label, kind=e.kind,
                      ref=e.event_id)


def _entity_names(con: duckdb.DuckDBPyConnection, entity_ids: Sequence[str]) -> dict[str, str]:
    if not entity_ids:
        return {}
    try:
        rows = con.execute(
            """SELECT entity_id, mode(record_name) FROM entity_membership
               WHERE list_contains(?, entity_id) AND record_name IS NOT NULL GROUP BY 1""",
            [list(entity_ids)],
        ).fetchall()
    except duckdb.Error:
        return {}
    return {r[0]: r[1] for r in rows}


def _compose(
    con: duckdb.DuckDBPyConnection, level: str, units: list[_Unit]
) -> list[tuple[_Unit, str, list[SourceItem], list[str], list[str]]]:
    """(unit, title, items, participants, known names) for each unit to (re)write."""
    out = []
    if level in ("thread", "entity"):
        events = _fetch_events(con, (i for u in units for i in u.event_ids))
        names = _entity_names(con, [u.scope_id for u in units]) if level == "entity" else {}
        for u in units:
            evs = [events[i] for i in u.event_ids if i in events]
            participants = [p for e in evs for p in event_participants(e.actor, e.kind, e.payload)]
            known = [n for e in evs for n in e.names if " " in n]
            day = u.period_start.strftime("%Y-%m-%d")
            if level == "thread":
                subject = next((clean_subject(e.subject) for e in evs if e.subject), None)
                label = short_text(subject or u.scope_id)
                title = f"Thread: {label} · {day} · {plural(len(evs), 'event')}"
                items = [_event_item(e) for e in evs]
            else:
                name = names.get(u.scope_id) or u.scope_id
                end = (u.period_end - timedelta(days=1)).strftime("%Y-%m-%d")
                week = u.period_start.strftime("%G-W%V")
                title = (f"Entity: {name} · week {week} ({day} – {end}) · "
                         f"{plural(len(evs), 'event')}")
                items = [
                    _event_item(e, short_text(clean_subject(e.subject) or e.thread or e.kind, 40))
                    for e in evs
                ]
            out.append((u, title, items, participants, known))
        return out

    children = _fetch_summaries(con, (i for u in units for i in u.summary_ids))
    events = _fetch_events(con, (i for u in units for i in u.event_ids))
    for u in units:
        items: list[SourceItem] = []
        participants: list[str] = []
        known: list[str] = []
        kids = [(children[i], i) for i in u.summary_ids if i in children]
        if level == "daily":
            for (text, _start), sid in kids:
                items.append(SourceItem(text=text, label=summary_label(text), kind="summary",
                                        ref=sid))
            for i in u.event_ids:
                if i in events:
                    e = events[i]
                    items.append(_event_item(e, short_text(clean_subject(e.subject) or e.kind, 40)))
                    participants += event_participants(e.actor, e.kind, e.payload)
                    known += [n for n in e.names if " " in n]
            day = u.period_start
            title = (f"Day: {day:%Y-%m-%d} ({day:%A}) · {plural(len(kids), 'thread')}, "
                     f"{plural(u.n_events, 'event')}")
        else:  # weekly
            for (text, start), sid in kids:
                items.append(SourceItem(text=text, label=f"{start:%a %Y-%m-%d}", kind="summary",
                                        ref=sid))
            n_events = sum(_title_events(text) for (text, _s), _ in kids)
            start, end = u.period_start, u.period_end - timedelta(days=1)
            title = (f"Week: {u.scope_id} ({start:%Y-%m-%d} – {end:%Y-%m-%d}) · "
                     f"{plural(len(kids), 'day')}, {plural(n_events, 'event')}")
        out.append((u, title, items, participants, known))
    return out


_EVENTS_IN_TITLE = re.compile(r"(\d+) events?\b")


def _title_events(text: str) -> int:
    m = _EVENTS_IN_TITLE.search(text.split("\n", 1)[0])
    return int(m.group(1)) if m else 0


_Composed = tuple[_Unit, str, list[SourceItem], list[str], list[str]]
_Written = tuple[Draft, str, str | None]  # write_summary's (draft, method, model)


def _write_all(
    level: str,
    budget: int,
    composed: list[_Composed],
    *,
    llm: SupportsComplete | None,
    context: Any,
    concurrency: int,
) -> Iterator[tuple[_Composed, _Written]]:
    """(unit, its summary) in the order of ``composed``. With an LLM endpoint, up to
    ``concurrency`` summaries are written at once (each is one or two model calls of seconds);
    without one the extractive writer runs in this thread (pure CPU: threads would not help)."""

    def write(c: _Composed) -> _Written:
        _unit, title, items, participants, known = c
        return write_summary(
            level, items, budget, title=title, participants=participants, known_names=known,
            llm=llm, context=context,
        )

    if llm is None or not llm.endpoint() or concurrency <= 1 or len(composed) <= 1:
        for c in composed:
            yield c, write(c)
        return
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"summaries-{level}")
    try:
        # map() hands results back in submission order: rows and counts as a serial run's
        yield from zip(composed, pool.map(write, composed), strict=True)
    finally:
        # on an error or an interruption, queued summaries are not started
        pool.shutdown(wait=True, cancel_futures=True)


def _row(level: str, unit: _Unit, draft: Draft, method: str, model: str | None,
         now: datetime) -> dict:
    return {
        "summary_id": summary_id(level, unit.scope_id, unit.period_start, unit.input_hash),
        "level": level,
        "scope_id": unit.scope_id,
        "period_start": unit.period_start,
        "period_end": unit.period_end,
        "text": draft.text,
        "source_event_ids": unit.event_ids,
        "source_summary_ids": unit.summary_ids,
        "input_hash": unit.input_hash,
        "method": method,
        "model": model,
        "created_at": now,
        "fidelity_passed": draft.fidelity.passed,
        "fidelity_missing": list(draft.fidelity.missing),
    }


def _commit_batch(con: duckdb.DuckDBPyConnection, level: str, rows: list[dict]) -> int:
    """Replace the rows of these units (their earlier versions go) in one transaction."""
    con.register("_new_summaries", pa.Table.from_pylist(rows, schema=_SUMMARY_SCHEMA))
    try:
        with transaction(con):
            con.execute(
                """DELETE FROM summaries s WHERE s.level = ? AND EXISTS (
                     SELECT 1 FROM _new_summaries n WHERE n.scope_id = s.scope_id
                       AND n.period_start = s.period_start)""",
                [level],
            )
            con.execute("INSERT INTO summaries SELECT * FROM _new_summaries")
    finally:
        con.unregister("_new_summaries")
    return len(rows)


def _refresh_level(
    con: duckdb.DuckDBPyConnection,
    level: str,
    budget: int,
    *,
    now: datetime,
    llm: SupportsComplete | None,
    context: Any,
    log: Callable[[str], None],
    concurrency: int = DEFAULT_LLM_CONCURRENCY,
    commit_batch: int = COMMIT_BATCH_UNITS,
    window: PriorityWindow | None = None,
    stale_below: Iterable[_Key] = (),
) -> tuple[LevelReport, set[_Key]]:
    """Rewrite the changed units of ``level`` (those in ``window`` only, when given) and
    delete the rows of units that no longer exist (in ``window`` only). Returns the report and
    the backlog: the units outside the window a scope ``all`` run would write or remove —
    those that changed, plus ``stale_below`` (units whose children are in the level below's
    backlog: rewriting a child changes its summary_id, so the parent changes too)."""
    report = LevelReport(level)
    if level == "thread":
        _units_thread(con, budget)
    elif level == "entity":
        _units_entity(con, budget)
    elif level == "daily":
        _units_daily(con, budget)
    else:
        _units_weekly(con, budget)
    changed, report.units, gone = _changed_units(con, level)
    units, later = split_priority(changed, window, lambda u: (u.period_start, u.period_end))
    removals, later_gone = split_priority(gone, window, lambda g: (g[1], g[2]))
    backlog = {(u.scope_id, u.period_start) for u in later}
    backlog |= {(g[0], g[1]) for g in later_gone} | set(stale_below)
    report.recomputed = len(units)
    report.unchanged = report.units - len(changed)
    report.removed = len(removals)
    report.backlog = len(backlog)
    batch: list[dict] = []
    written = 0
    # closing(): on an error the generator stops at once and its queued LLM calls are cancelled
    with closing(_write_all(level, budget, _compose(con, level, units), llm=llm,
                            context=context, concurrency=concurrency)) as written_units:
        for (unit, *_), (draft, method, model) in written_units:
            report.methods[method] += 1
            report.failed_fidelity += not draft.fidelity.passed
            batch.append(_row(level, unit, draft, method, model, now))
            if len(batch) >= max(1, commit_batch):
                written += _commit_batch(con, level, batch)
                batch = []
                log(f"{level}: {written}/{len(units)} written")
    if batch:
        written += _commit_batch(con, level, batch)
    # units that no longer exist go; everything else (and the backlog) stays as it was
    _delete_units(con, level, [(g[0], g[1]) for g in removals])
    log(f"{level}: {report.units} units, {report.recomputed} recomputed, "
        f"{report.unchanged} unchanged, {report.removed} removed, {report.backlog} left")
    return report, backlog


def _parents(level: str, below: dict[str, set[_Key]]) -> set[_Key]:
    """The backlog units of ``level`` implied by the backlog of the level it is built from:
    a day with a thread-day in the backlog, a week with a day in it."""
    if level == "daily":
        return {(day.strftime("%Y-%m-%d"), day) for _scope, day in below.get("thread", ())}
    if level == "weekly":
        return {(week_label(day), week_start(day)) for _scope, day in below.get("daily", ())}
    return set()


def _newest_event(con: duckdb.DuckDBPyConnection, now: datetime) -> datetime | None:
    """The newest summarisable event at or before ``now``: a meeting booked for next year (its
    time is its start) must not make next year the current week. Only future events: the
    newest of them."""
    return con.execute(
        "SELECT coalesce(max(occurred_at) FILTER (WHERE occurred_at <= ?), max(occurred_at)) "
        "FROM _sum_ids", [now],
    ).fetchone()[0]


def refresh_summaries(
    con: duckdb.DuckDBPyConnection,
    home_root: Any,
    settings: SummarySettings | None = None,
    *,
    llm: SupportsComplete | None = None,
    context: Any = None,
    now: datetime | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> SummariesReport:
    """Bring ``summaries`` up to date with the event log (incrementally; see the module doc).
    Scope ``priority`` with an LLM endpoint writes the current week only and reports the rest
    as the backlog; without an endpoint (fast, no calls) every unit is written."""
    settings = settings or SummarySettings()
    now = now or datetime.now(UTC)
    concurrency = llm_concurrency(settings.llm_concurrency)
    check_scope(settings.scope)
    report = SummariesReport()
    if not has_relation(con, "event_log"):
        report.skipped = "no event log yet"
        return report
    con.execute("SET TimeZone = 'UTC'")
    ensure_summaries_table(con)
    ensure_cold_views(con, home_root)
    _prepare_sources(con, settings.exclude_kinds)
    slow = llm is not None and bool(llm.endpoint())
    if settings.scope == "priority" and slow:
        report.window = priority_window(_newest_event(con, now))
        if report.window is not None:
            log(f"priority: week {report.window.label} first, the rest left as a backlog")
    backlog: dict[str, set[_Key]] = {}
    for level in LEVELS:
        if level not in settings.levels:
            continue
        if level == "entity":
            why = _entity_links(con, settings.max_entity_share)
            if why:
                report.levels[level] = LevelReport(level, skipped=why)
                log(f"entity: skipped ({why})")
                continue
        budget = settings.budgets.get(level, DEFAULT_BUDGETS[level])
        report.levels[level], backlog[level] = _refresh_level(
            con, level, budget, now=now, llm=llm, context=context, log=log,
            concurrency=concurrency, commit_batch=settings.commit_batch,
            window=report.window, stale_below=_parents(level, backlog),
        )
    report.total_rows = con.execute("SELECT count(*) FROM summaries").fetchone()[0]
    return report


# ---------------------------------------------------------------------------------------------
# fidelity of stored summaries (the blocking check)
# ---------------------------------------------------------------------------------------------


def failing_covering_summaries(
    con: duckdb.DuckDBPyConnection, verbose_kinds: Sequence[str] = DEFAULT_VERBOSE_KINDS
) -> list[tuple[str, str, str, datetime, list[str]]]:
    """Thread and daily summaries that failed fidelity and cover an event of a verbose
    (archivable) kind: (summary_id, level, scope_id, period_start, missing)."""
    if not has_relation(con, "summaries") or not has_relation(con, "event_log"):
        return []
    return con.execute(
        f"""WITH f AS (
                SELECT summary_id, level, scope_id, period_start, fidelity_missing,
                       unnest(source_event_ids) AS eid
                FROM summaries
                WHERE NOT fidelity_passed AND level IN {tuple(COVERING_LEVELS)}
            )
            SELECT DISTINCT f.summary_id, f.level, f.scope_id, f.period_start, f.fidelity_missing
            FROM f JOIN event_log e ON e.event_id = f.eid
            WHERE list_contains(?, e.kind)
            ORDER BY f.period_start, f.level, f.scope_id""",
        [list(verbose_kinds)],
    ).fetchall()
