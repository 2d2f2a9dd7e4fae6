"""The cost ledger: every LLM call of ``aios.llm_calls`` (Postgres) mirrored into DuckDB.

Incremental: each materialization copies only the calls whose ``call_id`` the warehouse does
not have yet (re-reading a one-hour window before the newest copied call, so rows committed
late by concurrent runs are not missed). ``cost_by_day_agent_model`` is the spend view
analysts query: ``aios sql "select * from cost_by_day_agent_model"``.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb
import psycopg
import pyarrow as pa

from resources.llm import LEDGER_COLUMNS, LLMResource
from resources.warehouse import DuckDBWarehouse

GROUP = "llm"
LOOKBACK = timedelta(hours=1)

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
    latency_ms INTEGER NOT NULL
);
CREATE OR REPLACE VIEW cost_by_day_agent_model AS
SELECT CAST(called_at AS DATE) AS day, agent, model, tier,
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
    """Ledger rows from Postgres at or after ``since`` (all when None), ``called_at`` as naive UTC."""
    cols = ", ".join("call_id::text" if c == "call_id" else c for c in LEDGER_COLUMNS)
    sql = f"SELECT {cols} FROM aios.llm_calls"
    params: tuple[Any, ...] = ()
    if since is not None:
        sql += " WHERE called_at >= %s"
        params = (since.replace(tzinfo=UTC),)
    with psycopg.connect(pg_url, autocommit=True, connect_timeout=10) as con:
        rows = con.execute(sql + " ORDER BY called_at", params).fetchall()
    data: dict[str, list[Any]] = {c: [] for c in LEDGER_COLUMNS}
    for row in rows:
        for col, value in zip(LEDGER_COLUMNS, row, strict=True):
            if col == "called_at":
                value = value.astimezone(UTC).replace(tzinfo=None)
            data[col].append(value)
    return pa.table(data, schema=_SCHEMA)


def mirror_calls(con: duckdb.DuckDBPyConnection, pg_url: str) -> int:
    """Copy the calls DuckDB lacks into ``cost_ledger``; returns how many were new."""
    con.execute(COST_LEDGER_DDL)
    newest = con.execute("SELECT max(called_at) FROM cost_ledger").fetchone()[0]
    batch = fetch_calls(pg_url, newest - LOOKBACK if newest is not None else None)
    if batch.num_rows == 0:
        return 0
    con.register("llm_calls_batch", batch)
    try:
        before = con.execute("SELECT count(*) FROM cost_ledger").fetchone()[0]
        cols = ", ".join(LEDGER_COLUMNS)
        con.execute(
            f"""INSERT INTO cost_ledger ({cols})
                SELECT {cols} FROM llm_calls_batch b
                WHERE NOT EXISTS (SELECT 1 FROM cost_ledger c WHERE c.call_id = b.call_id)""")
        after = con.execute("SELECT count(*) FROM cost_ledger").fetchone()[0]
    finally:
        con.unregister("llm_calls_batch")
    return int(after - before)


def spend_by_agent_markdown(rows: list[tuple[str, float, float, int]]) -> str:
    """| agent | today $ | total $ | calls | as a Markdown table."""
    if not rows:
        return "no LLM calls yet"
    lines = [f"| {agent} | ${today:.4f} | ${total:.4f} | {calls} |"
             for agent, today, total, calls in rows]
    return "| agent | today (UTC) | total | calls |\n|---|---|---|---|\n" + "\n".join(lines)


@dg.asset(
    group_name=GROUP,
    pool="warehouse",
    kinds={"duckdb", "postgres"},
    description=(
        "Every LLM call (offline tier, cache hits and failures included) with its run, asset, "
        "agent, task, tier, model, tokens, cost and latency; mirrored incrementally from "
        "Postgres aios.llm_calls. View cost_by_day_agent_model sums spend per day/agent/model."
    ),
)
def cost_ledger(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse,
                llm: LLMResource) -> dg.MaterializeResult:
    pg_url = llm.ledger_url()
    today = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    with warehouse.connect() as con:
        new_rows = mirror_calls(con, pg_url)
        total, spend_today = con.execute(
            "SELECT count(*), coalesce(sum(cost_usd) FILTER (WHERE called_at >= ?), 0) "
            "FROM cost_ledger", [today]).fetchone()
        by_agent = con.execute(
            """SELECT agent, coalesce(sum(cost_usd) FILTER (WHERE called_at >= ?), 0),
                      sum(cost_usd), count(*)
               FROM cost_ledger GROUP BY agent ORDER BY 3 DESC, 1 LIMIT 50""",
            [today]).fetchall()
    context.log.info(f"cost_ledger: {new_rows} new call(s), {total} in all")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": int(total),
        "rows": int(total),
        "new_rows": new_rows,
        "spend_today_usd": round(float(spend_today), 6),
        "spend_by_agent": dg.MetadataValue.md(spend_by_agent_markdown(by_agent)),
    })
