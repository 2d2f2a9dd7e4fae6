"""The cost ledger: every LLM call of ``aios.llm_calls`` and every capability-adapter call of
``aios.adapter_calls`` (Postgres) mirrored into DuckDB, told apart by ``kind`` (``llm`` |
``adapter``).

Incremental: each materialization copies only the calls whose ``call_id`` the warehouse does
not have yet (re-reading a one-hour window before the newest copied call of that kind, so rows
committed late by concurrent runs are not missed). ``cost_by_day_agent_model`` is the spend view
analysts query: ``aios sql "select * from cost_by_day_agent_model"``. Each materialization also
mirrors the adapter-call -> proposal links and (re)creates the attribution views and budgets of
``aios_assets/observability/audit.py`` (``cost_attribution``,
``cost_by_day_agent_intent_entity_model``, ``cost_budget_status``), so ``aios cost --no-refresh``
and analysts find them after any build,
and its metadata carries the spend of the last 30 days per day and the spend per agent as tables
(``spend_per_day``, ``spend_by_agent``) and the totals as numbers, which the UI's Plots tab draws
across materializations.

Lineage: the ledger depends on the assets that make LLM calls before the brief (summaries and
the triage / follow-up / billing / content agents), so an update run mirrors what its agents
just spent and the brief (which reads the ledger) reports it. It still refreshes hourly on its
own (``HOURLY_MIRROR`` in ``aios_assets/shared/automation.py``), whatever those assets did.

Adapter rows map onto the LLM columns: ``task`` = operation (send / lookup), ``tier`` =
capability (email / webhook / http), ``model`` = adapter class (``SmtpAdapter``,
``WebhookAdapter``, ``HttpApiAdapter``), ``attempts`` = the attempt number, tokens 0,
``prompt_hash`` empty; cost, latency, outcome and error class as recorded. No payloads,
addresses or idempotency keys.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa

from aios_assets.shared.automation import HOURLY_MIRROR
from resources.llm import LEDGER_COLUMNS, LLMResource
from resources.postgres import connect as pg_connect
from resources.warehouse import DuckDBWarehouse

GROUP = "llm"
LOOKBACK = timedelta(hours=1)
SPEND_DAYS = 30
# Assets whose LLM calls this ledger mirrors in the same run (agent_brief reads the ledger, and
# agent_canary follows the brief, so their calls land on the next mirror).
LEDGER_DEPS = [dg.AssetKey(k) for k in ("summaries", "agent_triage", "agent_followup",
                                        "agent_billing", "agent_content")]

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


SPEND_BY_AGENT_SCHEMA = dg.TableSchema(columns=[
    dg.TableColumn("agent", "string"),
    dg.TableColumn("today_usd", "float", description="spend since 00:00 UTC"),
    dg.TableColumn("total_usd", "float", description="spend in the whole ledger"),
    dg.TableColumn("calls", "int", description="LLM and adapter calls in the whole ledger"),
])
SPEND_PER_DAY_SCHEMA = dg.TableSchema(columns=[
    dg.TableColumn("day", "date", description="UTC day, ISO 8601"),
    dg.TableColumn("total_usd", "float", description="LLM + adapter spend"),
    dg.TableColumn("llm_usd", "float"),
    dg.TableColumn("adapter_usd", "float"),
    dg.TableColumn("llm_calls", "int"),
    dg.TableColumn("adapter_calls", "int"),
])


def spend_by_agent_table(rows: list[tuple[str, float, float, int]]) -> dg.TableMetadataValue:
    """(agent, today $, total $, calls) rows, biggest spender first, as a table for the UI."""
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"agent": agent, "today_usd": round(float(today), 6),
                                 "total_usd": round(float(total), 6), "calls": int(calls)})
                 for agent, today, total, calls in rows],
        schema=SPEND_BY_AGENT_SCHEMA)


def spend_per_day_table(rows: list[dict[str, Any]]) -> dg.TableMetadataValue:
    """The rows of :func:`spend_per_day`, oldest day first, as a table for the UI."""
    return dg.MetadataValue.table(
        records=[dg.TableRecord({**r, "day": r["day"].isoformat()}) for r in rows],
        schema=SPEND_PER_DAY_SCHEMA)


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


def _budgets(context: dg.AssetExecutionContext, llm: LLMResource, home: Any) -> list[Any] | None:
    """The budgets in force for ``cost_budget_status``; None (keep the last ones) when the
    intents or the budget settings cannot be read."""
    from aios_assets.agents.intents import (
        IntentsFileError,
        default_intents,
        intents_path,
        load_intents,
    )
    from aios_assets.observability.audit import budgets

    path = intents_path(home)  # read, never written here (the planner writes the defaults)
    try:
        return budgets(llm, load_intents(path) if path.exists() else default_intents())
    except (IntentsFileError, ValueError) as exc:
        context.log.warning(f"budgets not refreshed: {exc}")
        return None


@dg.asset(
    group_name=GROUP,
    pool="warehouse",
    automation_condition=HOURLY_MIRROR,
    kinds={"duckdb", "postgres"},
    deps=LEDGER_DEPS,
    description=(
        "Every LLM call (offline tier, cache hits and failures included) with its run, asset, "
        "agent, task, tier, model, tokens, cost and latency, and every capability-adapter call "
        "(SMTP, webhook, HTTP API: kind 'adapter', cost and latency per attempt); mirrored "
        "incrementally from Postgres aios.llm_calls and aios.adapter_calls. View "
        "cost_by_day_agent_model sums spend per day/agent/model/kind; the attribution views "
        "(cost_attribution, cost_by_day_agent_intent_entity_model, cost_budget_status) are "
        "refreshed too. Metadata: spend per day for the last 30 days and per agent (tables); "
        "spend today, in the last 30 days and in all by kind (numbers, plotted over time)."
    ),
)
def cost_ledger(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse,
                llm: LLMResource) -> dg.MaterializeResult:
    from aios_assets.observability.audit import ensure_cost_views, mirror_adapter_links

    pg_url = llm.ledger_url()
    now = datetime.now(UTC)
    today = now.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    budget_rows = _budgets(context, llm, warehouse.layout)
    with warehouse.connect() as con:
        new_llm = mirror_calls(con, pg_url)
        new_adapter = mirror_adapter_calls(con, pg_url)
        new_rows = new_llm + new_adapter
        mirror_adapter_links(con, pg_url)
        ensure_cost_views(con, budget_rows)
        per_day = spend_per_day(con, now.date())
        by_kind = dict(con.execute(
            "SELECT kind, round(sum(cost_usd), 6) FROM cost_ledger GROUP BY kind").fetchall())
        total, spend_today = con.execute(
            "SELECT count(*), coalesce(sum(cost_usd) FILTER (WHERE called_at >= ?), 0) "
            "FROM cost_ledger", [today]).fetchone()
        by_agent = con.execute(
            """SELECT agent, coalesce(sum(cost_usd) FILTER (WHERE called_at >= ?), 0),
                      sum(cost_usd), count(*)
               FROM cost_ledger GROUP BY agent ORDER BY 3 DESC, 1 LIMIT 50""",
            [today]).fetchall()
    context.log.info(f"cost_ledger: {new_llm} new LLM and {new_adapter} new adapter call(s), "
                     f"{total} in all")
    # Numbers as explicit int/float values: the UI's Plots tab draws each across
    # materializations (spend over time); the tables are this run's breakdowns.
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(int(total)),
        "rows": dg.MetadataValue.int(int(total)),
        "new_rows": dg.MetadataValue.int(new_rows),
        "new_adapter_rows": dg.MetadataValue.int(new_adapter),
        "spend_by_kind_usd": dg.MetadataValue.json(by_kind),
        "llm_spend_usd": dg.MetadataValue.float(float(by_kind.get("llm") or 0)),
        "adapter_spend_usd": dg.MetadataValue.float(float(by_kind.get("adapter") or 0)),
        "spend_today_usd": dg.MetadataValue.float(round(float(spend_today), 6)),
        "spend_last_30d_usd": dg.MetadataValue.float(
            round(sum(r["total_usd"] for r in per_day), 6)),
        "spend_by_agent": spend_by_agent_table(by_agent),
        "spend_per_day": spend_per_day_table(per_day),
    })


def llm_spend_usd(con: duckdb.DuckDBPyConnection) -> float:
    """Total LLM spend in the warehouse's ledger (0 before the ledger exists); adapter calls
    are not LLM cost."""
    cols = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'cost_ledger'"
    ).fetchall()}
    if not cols:
        return 0.0
    where = " WHERE kind = 'llm'" if "kind" in cols else ""
    return float(con.execute(f"SELECT coalesce(sum(cost_usd), 0) FROM cost_ledger{where}")
                 .fetchone()[0])
