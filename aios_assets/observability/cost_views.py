"""The cost ledger's data without Dagster: mirroring ``aios.llm_calls`` and ``aios.adapter_calls``
(Postgres) into ``cost_ledger`` (DuckDB), the attribution views, budgets and the spend queries
that ``aios cost``, ``aios summary`` and the ``cost_ledger`` asset (:mod:`.costs`, which says
how the ledger works) share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from aios_assets.agents.proposals import ensure_tables
from aios_assets.llm.ledger import LEDGER_COLUMNS
from aios_assets.shared.db import columns as table_columns
from aios_assets.shared.db import dict_rows, has_relation
from aios_assets.shared.postgres import connect as pg_connect
from resources.budgets import budget_settings

LOOKBACK = timedelta(hours=1)
SPEND_DAYS = 30
COST_LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS cost_ledger (
    call_id VARCHAR PRIMARY KEY,
    called_at TIMESTAMP NOT NULL,   -- UTC
    run_id VARCHAR,
    asset VARCHAR,
    agent VARCHAR NOT NULL,
    task VARCHAR NOT NULL,
    tier VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    prompt_hash VARCHAR NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd DOUBLE NOT NULL,
    cache_hit BOOLEAN NOT NULL,
    degraded BOOLEAN NOT NULL,
    outcome VARCHAR NOT NULL,
    error_class VARCHAR,
    reason VARCHAR,
    attempts INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    kind VARCHAR NOT NULL DEFAULT 'llm'   -- llm | adapter
);
-- Ledgers made before adapter calls were mirrored: every row there is an LLM call.
ALTER TABLE cost_ledger ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'llm';
CREATE OR REPLACE VIEW cost_by_day_agent_model AS
SELECT CAST(called_at AS DATE) AS day, agent, model, tier, kind,
       count(*) AS calls,
       count(*) FILTER (WHERE cache_hit) AS cache_hits,
       count(*) FILTER (WHERE degraded) AS degraded,
       count(*) FILTER (WHERE outcome <> 'ok') AS errors,
       sum(prompt_tokens) AS prompt_tokens,
       sum(completion_tokens) AS completion_tokens,
       sum(cost_usd) AS cost_usd
FROM cost_ledger
GROUP BY ALL;
"""

_SCHEMA = pa.schema([
    ("call_id", pa.string()), ("called_at", pa.timestamp("us")), ("run_id", pa.string()),
    ("asset", pa.string()), ("agent", pa.string()), ("task", pa.string()),
    ("tier", pa.string()), ("model", pa.string()), ("prompt_hash", pa.string()),
    ("prompt_tokens", pa.int32()), ("completion_tokens", pa.int32()),
    ("cost_usd", pa.float64()), ("cache_hit", pa.bool_()), ("degraded", pa.bool_()),
    ("outcome", pa.string()), ("error_class", pa.string()), ("reason", pa.string()),
    ("attempts", pa.int32()), ("latency_ms", pa.int32()),
])


def fetch_calls(pg_url: str, since: datetime | None) -> pa.Table:
    """LLM ledger rows at or after ``since`` (all when None), ``called_at`` as naive UTC; none
    before the first LLM call created the table (a new home)."""
    cols = ", ".join("call_id::text" if c == "call_id" else c for c in LEDGER_COLUMNS)
    sql = f"SELECT {cols} FROM aios.llm_calls"
    params: tuple[Any, ...] = ()
    if since is not None:
        sql += " WHERE called_at >= %s"
        params = (since.replace(tzinfo=UTC),)
    with pg_connect(pg_url, autocommit=True) as con:
        if con.execute("SELECT to_regclass('aios.llm_calls')").fetchone()[0] is None:
            return _SCHEMA.empty_table()
        rows = con.execute(sql + " ORDER BY called_at", params).fetchall()
    return _as_table(rows)


# aios.adapter_calls columns as cost_ledger columns (same order as LEDGER_COLUMNS).
_ADAPTER_AS_LEDGER = {
    "call_id": "call_id::text", "called_at": "called_at", "run_id": "run_id",
    "asset": "NULL::text", "agent": "coalesce(agent, 'unknown')", "task": "operation",
    "tier": "capability", "model": "adapter", "prompt_hash": "''", "prompt_tokens": "0",
    "completion_tokens": "0", "cost_usd": "cost_usd", "cache_hit": "false",
    "degraded": "false", "outcome": "outcome", "error_class": "error_class",
    "reason": "NULL::text", "attempts": "attempt", "latency_ms": "latency_ms",
}


def fetch_adapter_calls(pg_url: str, since: datetime | None) -> pa.Table:
    """``aios.adapter_calls`` rows at or after ``since`` as ledger rows (none before the first
    adapter call created the table)."""
    cols = ", ".join(f"{_ADAPTER_AS_LEDGER[c]} AS {c}" for c in LEDGER_COLUMNS)
    sql = f"SELECT {cols} FROM aios.adapter_calls"
    params: tuple[Any, ...] = ()
    if since is not None:
        sql += " WHERE called_at >= %s"
        params = (since.replace(tzinfo=UTC),)
    with pg_connect(pg_url, autocommit=True) as con:
        if con.execute("SELECT to_regclass('aios.adapter_calls')").fetchone()[0] is None:
            return _SCHEMA.empty_table()
        rows = con.execute(sql + " ORDER BY called_at", params).fetchall()
    return _as_table(rows)


def _as_table(rows: list[tuple[Any, ...]]) -> pa.Table:
    data: dict[str, list[Any]] = {c: [] for c in LEDGER_COLUMNS}
    for row in rows:
        for col, value in zip(LEDGER_COLUMNS, row, strict=True):
            if col == "called_at":
                value = value.astimezone(UTC).replace(tzinfo=None)
            data[col].append(value)
    return pa.table(data, schema=_SCHEMA)


def _insert_new(con: duckdb.DuckDBPyConnection, batch: pa.Table, kind: str) -> int:
    if batch.num_rows == 0:
        return 0
    con.register("calls_batch", batch)
    try:
        before = con.execute("SELECT count(*) FROM cost_ledger").fetchone()[0]
        cols = ", ".join(LEDGER_COLUMNS)
        con.execute(
            f"""INSERT INTO cost_ledger ({cols}, kind)
                SELECT {cols}, ? FROM calls_batch b
                WHERE NOT EXISTS (SELECT 1 FROM cost_ledger c WHERE c.call_id = b.call_id)""",
            [kind])
        after = con.execute("SELECT count(*) FROM cost_ledger").fetchone()[0]
    finally:
        con.unregister("calls_batch")
    return int(after - before)


def _since(con: duckdb.DuckDBPyConnection, kind: str) -> datetime | None:
    newest = con.execute("SELECT max(called_at) FROM cost_ledger WHERE kind = ?",
                         [kind]).fetchone()[0]
    return newest - LOOKBACK if newest is not None else None


def mirror_adapter_calls(con: duckdb.DuckDBPyConnection, pg_url: str) -> int:
    """Copy the adapter calls DuckDB lacks into ``cost_ledger`` (kind ``adapter``)."""
    con.execute(COST_LEDGER_DDL)
    return _insert_new(con, fetch_adapter_calls(pg_url, _since(con, "adapter")), "adapter")


def mirror_calls(con: duckdb.DuckDBPyConnection, pg_url: str) -> int:
    """Copy the LLM calls DuckDB lacks into ``cost_ledger`` (kind ``llm``); returns how many
    were new."""
    con.execute(COST_LEDGER_DDL)
    return _insert_new(con, fetch_calls(pg_url, _since(con, "llm")), "llm")


# --- attribution views and budgets ----------------------------------------------------------

class CostViewsMissing(LookupError):
    """The cost views are not in this warehouse yet."""


LINKS_DDL = """
CREATE TABLE IF NOT EXISTS adapter_call_links (
    call_id VARCHAR PRIMARY KEY,
    proposal_id VARCHAR,
    idempotency_key VARCHAR
);
CREATE TABLE IF NOT EXISTS cost_budgets (
    scope VARCHAR NOT NULL,      -- all | agent | intent
    name VARCHAR NOT NULL,       -- '*' for all, else the agent / intent id
    period VARCHAR NOT NULL,     -- day | run
    budget_usd DOUBLE,
    budget_tokens BIGINT,
    source VARCHAR NOT NULL
);
"""

COST_VIEWS_DDL = """
CREATE OR REPLACE VIEW cost_attribution AS
WITH props AS (
    SELECT proposal_id, run_id, agent, intent_id, target_entity_id FROM action_proposals
    WHERE run_id IS NOT NULL),
n AS (SELECT run_id, agent, count(*) AS n FROM props GROUP BY ALL),
llm AS (
    SELECT l.call_id, l.called_at, l.kind, l.run_id, l.agent, l.task, l.tier, l.model,
           l.cache_hit, l.outcome, p.proposal_id, p.intent_id, p.target_entity_id AS entity_id,
           coalesce(1.0 / n.n, 1.0) AS share, l.cost_usd,
           l.prompt_tokens + l.completion_tokens AS tokens
    FROM cost_ledger l
    LEFT JOIN props p ON p.run_id = l.run_id AND p.agent = l.agent
    LEFT JOIN n ON n.run_id = l.run_id AND n.agent = l.agent
    WHERE l.kind = 'llm'),
adapter AS (
    SELECT l.call_id, l.called_at, l.kind, l.run_id, l.agent, l.task, l.tier, l.model,
           l.cache_hit, l.outcome, k.proposal_id, p.intent_id, p.target_entity_id AS entity_id,
           1.0 AS share, l.cost_usd, 0 AS tokens
    FROM cost_ledger l
    LEFT JOIN adapter_call_links k ON k.call_id = l.call_id
    LEFT JOIN action_proposals p ON p.proposal_id = k.proposal_id
    WHERE l.kind = 'adapter')
SELECT *, cost_usd * share AS attributed_usd, tokens * share AS attributed_tokens
FROM (SELECT * FROM llm UNION ALL BY NAME SELECT * FROM adapter);

-- calls / cache_hits are allocated like the cost: a call shared by n proposals counts 1/n for
-- each, so they add up to the ledger's rows at every grain (a distinct count per group would
-- count a shared call once per entity, and a sum over entities would inflate it).
CREATE OR REPLACE VIEW cost_by_day_agent_intent_entity_model AS
SELECT CAST(called_at AS DATE) AS day, agent, coalesce(intent_id, '(none)') AS intent_id,
       coalesce(entity_id, '(none)') AS entity_id, model, kind,
       sum(share) AS calls,
       coalesce(sum(share) FILTER (WHERE cache_hit), 0) AS cache_hits,
       round(sum(attributed_tokens), 2) AS tokens,
       sum(attributed_usd) AS cost_usd
FROM cost_attribution
GROUP BY ALL;

CREATE OR REPLACE VIEW cost_budget_status AS
WITH today AS (SELECT CAST(max(called_at) AS DATE) AS day FROM cost_ledger),
spend AS (
    SELECT agent, sum(cost_usd) AS usd, sum(prompt_tokens + completion_tokens) AS tokens
    FROM cost_ledger
    WHERE kind = 'llm' AND NOT cache_hit AND tier <> 'offline'
      AND CAST(called_at AS DATE) = CAST(now() AT TIME ZONE 'UTC' AS DATE)
    GROUP BY agent)
SELECT b.scope, b.name, b.period, b.budget_usd, b.budget_tokens, b.source,
       CASE WHEN b.scope = 'all' THEN (SELECT coalesce(sum(usd), 0) FROM spend)
            WHEN b.scope = 'agent' THEN coalesce((SELECT usd FROM spend s
                                                  WHERE s.agent = b.name), 0) END
           AS spent_today_usd,
       CASE WHEN b.scope = 'all' THEN (SELECT coalesce(sum(tokens), 0) FROM spend)
            WHEN b.scope = 'agent' THEN coalesce((SELECT tokens FROM spend s
                                                  WHERE s.agent = b.name), 0) END
           AS tokens_today
FROM cost_budgets b;
"""

@dataclass(frozen=True)
class Budget:
    """One row of ``cost_budgets``."""

    scope: str  # all | agent | intent
    name: str  # '*' for all, else the agent / intent id
    period: str  # day | run
    budget_usd: float | None
    budget_tokens: int | None
    source: str


def budgets(llm: Any = None, intents: Sequence[Any] = (),
            environ: Mapping[str, str] | None = None) -> list[Budget]:
    """The budgets in force: the LLM resource's daily ones as it enforces them
    (:func:`resources.budgets.budget_settings`: its settings, else the environment's
    ``$AIOS_LLM_DAILY_BUDGET_USD``, ``$AIOS_LLM_AGENT_DAILY_BUDGET_USD`` = "agent=usd,...",
    ``$AIOS_LLM_DAILY_BUDGET_TOKENS``), and each intent's ``budget_usd_per_run``."""
    settings = budget_settings(llm, environ)
    out: list[Budget] = []
    if settings.daily_usd is not None or settings.daily_tokens is not None:
        out.append(Budget("all", "*", "day", settings.daily_usd, settings.daily_tokens,
                          settings.daily_source))
    for name in sorted(set(settings.agent_usd) | set(settings.agent_tokens)):
        out.append(Budget("agent", name, "day", settings.agent_usd.get(name),
                          settings.agent_tokens.get(name), settings.agent_source))
    for intent in intents:
        per_run = getattr(getattr(intent, "constraints", None), "budget_usd_per_run", None)
        if per_run is not None:
            out.append(Budget("intent", intent.id, "run", float(per_run), None, "intents.yaml"))
    return out


def mirror_adapter_links(con: duckdb.DuckDBPyConnection, pg_url: str) -> int:
    """Copy (call id, proposal id, key) of adapter calls DuckDB lacks (no payloads exist)."""
    con.execute(LINKS_DDL)
    with pg_connect(pg_url, autocommit=True) as pg:
        if pg.execute("SELECT to_regclass('aios.adapter_calls')").fetchone()[0] is None:
            return 0
        rows = pg.execute("SELECT call_id::text, proposal_id, idempotency_key "
                          "FROM aios.adapter_calls").fetchall()
    if not rows:
        return 0
    before = con.execute("SELECT count(*) FROM adapter_call_links").fetchone()[0]
    con.executemany("INSERT INTO adapter_call_links VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    [list(r) for r in rows])
    return con.execute("SELECT count(*) FROM adapter_call_links").fetchone()[0] - before


def ensure_cost_views(con: duckdb.DuckDBPyConnection,
                      budget_rows: Sequence[Budget] | None = None) -> None:
    """Create the cost views (and their small tables); replace the budgets when given."""
    con.execute(COST_LEDGER_DDL)
    ensure_tables(con)
    con.execute(LINKS_DDL)
    if budget_rows is not None:
        con.execute("DELETE FROM cost_budgets")
        if budget_rows:
            con.executemany("INSERT INTO cost_budgets VALUES (?, ?, ?, ?, ?, ?)",
                            [[b.scope, b.name, b.period, b.budget_usd, b.budget_tokens,
                              b.source] for b in budget_rows])
    con.execute(COST_VIEWS_DDL)


def refresh_cost_views(con: duckdb.DuckDBPyConnection, pg_url: str | None,
                       budget_rows: Sequence[Budget] | None = None) -> dict[str, int]:
    """Mirror new LLM and adapter calls (and adapter → proposal links), then (re)create the
    views ``cost_attribution``, ``cost_by_day_agent_intent_entity_model`` and
    ``cost_budget_status``."""
    con.execute(COST_LEDGER_DDL)
    counts = {"llm": 0, "adapter": 0, "links": 0}
    if pg_url:
        counts = {"llm": mirror_calls(con, pg_url), "adapter": mirror_adapter_calls(con, pg_url),
                  "links": mirror_adapter_links(con, pg_url)}
    ensure_cost_views(con, budget_rows)
    return counts


COST_DIMENSIONS = {"day": "day", "agent": "agent", "intent": "intent_id",
                   "entity": "entity_id", "model": "model"}
CALL_GRAINS = frozenset({"day", "agent", "model"})  # each call has exactly one value


def cost_rows(con: duckdb.DuckDBPyConnection, by: str = "day", *,
              since: datetime | None = None, until: datetime | None = None,
              ) -> list[dict[str, Any]]:
    """Spend grouped by one dimension (day, agent, intent, entity, model), biggest first
    (days: newest first)."""
    if by not in COST_DIMENSIONS:
        raise ValueError(f"--by must be one of {', '.join(COST_DIMENSIONS)}, not {by!r}")
    if not has_relation(con, "cost_by_day_agent_intent_entity_model"):
        raise CostViewsMissing("no cost views yet: run `aios cost` once with the warehouse idle")
    col = COST_DIMENSIONS[by]
    label = "entity" if by == "entity" else by
    lo = (since or datetime(1970, 1, 1, tzinfo=UTC)).date()
    hi = (until or datetime(9999, 12, 31, tzinfo=UTC)).date()
    extra = (", max(c.full_name) AS name" if by == "entity"
             and "full_name" in table_columns(con, "dim_contacts") else "")
    join = ("LEFT JOIN dim_contacts c ON c.entity_id = v.entity_id" if extra else "")
    order = "1 DESC" if by == "day" else "cost_usd DESC, 1"
    # Calls are allocated shares (see the view): whole numbers where the grain is a property of
    # the call itself (day, agent, model), fractions per intent or entity when calls are shared.
    digits = 0 if by in CALL_GRAINS else 2
    rows = dict_rows(con.execute(
        f"""SELECT v.{col} AS {label}{extra}, round(sum(v.calls), {digits}) AS calls,
                   round(sum(v.cache_hits), {digits}) AS cache_hits,
                   round(sum(v.tokens)) AS tokens,
                   round(sum(v.cost_usd), 6) AS cost_usd,
                   round(sum(v.cost_usd) FILTER (WHERE v.kind = 'llm'), 6) AS llm_usd,
                   round(sum(v.cost_usd) FILTER (WHERE v.kind = 'adapter'), 6) AS adapter_usd
            FROM cost_by_day_agent_intent_entity_model v {join}
            WHERE v.day BETWEEN ? AND ? GROUP BY v.{col} ORDER BY {order}""", [lo, hi]))
    if digits == 0:
        for r in rows:
            r["calls"], r["cache_hits"] = int(r["calls"]), int(r["cache_hits"])
    return rows


def budget_status(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Each budget with today's spend against it ([] before the views exist)."""
    if not has_relation(con, "cost_budget_status"):
        return []
    return dict_rows(con.execute("SELECT * FROM cost_budget_status ORDER BY scope, name"))


def intent_spend_per_run(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The largest attributed spend of one run per intent (to hold against its per-run budget)."""
    if not has_relation(con, "cost_attribution"):
        return {}
    return {r[0]: float(r[1]) for r in con.execute(
        """SELECT intent_id, max(usd) FROM (SELECT intent_id, run_id, sum(attributed_usd) AS usd
           FROM cost_attribution WHERE intent_id IS NOT NULL GROUP BY ALL) GROUP BY 1"""
    ).fetchall()}


def spend_per_day(con: duckdb.DuckDBPyConnection, today: date,
                  days: int = SPEND_DAYS) -> list[dict[str, Any]]:
    """One row per UTC day of the last ``days`` (zero when nothing was spent): LLM and adapter
    spend, calls."""
    first = today - timedelta(days=days - 1)
    got = {r[0]: r[1:] for r in con.execute(
        """SELECT CAST(called_at AS DATE) AS day,
                  coalesce(sum(cost_usd) FILTER (WHERE kind = 'llm'), 0),
                  coalesce(sum(cost_usd) FILTER (WHERE kind = 'adapter'), 0),
                  count(*) FILTER (WHERE kind = 'llm'), count(*) FILTER (WHERE kind = 'adapter')
           FROM cost_ledger WHERE called_at >= ? GROUP BY 1""", [first]).fetchall()}
    rows = []
    for i in range(days):
        day = first + timedelta(days=i)
        llm_usd, adapter_usd, llm_calls, adapter_calls = got.get(day, (0.0, 0.0, 0, 0))
        rows.append({"day": day, "total_usd": round(float(llm_usd + adapter_usd), 6),
                     "llm_usd": round(float(llm_usd), 6),
                     "adapter_usd": round(float(adapter_usd), 6),
                     "llm_calls": int(llm_calls), "adapter_calls": int(adapter_calls)})
    return rows


def llm_spend_usd(con: duckdb.DuckDBPyConnection) -> float:
    """Total LLM spend in the warehouse's ledger (0 before the ledger exists); adapter calls
    are not LLM cost."""
    cols = table_columns(con, "cost_ledger")
    if not cols:
        return 0.0
    where = " WHERE kind = 'llm'" if "kind" in cols else ""
    return float(con.execute(f"SELECT coalesce(sum(cost_usd), 0) FROM cost_ledger{where}")
                 .fetchone()[0])
