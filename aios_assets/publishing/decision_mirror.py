"""``proposal_decisions``: the operator's decisions mirrored from Postgres into the warehouse.

Decisions are recorded in Postgres ``aios.proposal_decisions`` (``aios approve`` / ``aios
reject`` / ``approval_job``: read and written concurrently, so they live there). Analysts query
the DuckDB history, so this asset copies every decision DuckDB lacks (by ``seq``, the decision
order) into the warehouse table ``proposal_decisions``; the latest row per proposal is its
decision. It follows ``action_proposals`` (so an update run brings the two together) and
refreshes hourly on its own (``HOURLY_MIRROR``). ``policy_traces`` holds the same decisions
as the planner reads them, but only once they were flushed into the event log.
"""

from typing import Any

import dagster as dg
import duckdb

from aios_assets.shared.automation import HOURLY_MIRROR
from aios_assets.shared.postgres import connect as pg_connect
from resources.postgres import PostgresStore
from resources.warehouse import DuckDBWarehouse

ASSET = dg.AssetKey("proposal_decisions")
COLUMNS = ("seq", "decision_id", "proposal_id", "decision", "reason", "decided_by", "via",
           "decided_at", "action_type", "agent", "manifest_version", "entity_id")
MIRROR_DDL = """
CREATE TABLE IF NOT EXISTS proposal_decisions (
    seq BIGINT PRIMARY KEY,            -- decision order in Postgres (the latest counts)
    decision_id VARCHAR NOT NULL,
    proposal_id VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,         -- approved | rejected
    reason VARCHAR,
    decided_by VARCHAR NOT NULL,
    via VARCHAR NOT NULL,              -- cli | launchpad | ...
    decided_at TIMESTAMPTZ NOT NULL,
    action_type VARCHAR,
    agent VARCHAR,
    manifest_version VARCHAR,
    entity_id VARCHAR
);
"""


def fetch_decisions(pg_url: str, after_seq: int) -> list[tuple[Any, ...]]:
    """Decision rows after ``after_seq`` ([] before the first decision created the table)."""
    with pg_connect(pg_url, autocommit=True) as con:
        if con.execute("SELECT to_regclass('aios.proposal_decisions')").fetchone()[0] is None:
            return []
        return con.execute(
            f"SELECT {', '.join(COLUMNS)} FROM aios.proposal_decisions WHERE seq > %s "
            "ORDER BY seq", (after_seq,)).fetchall()


def mirror_decisions(con: duckdb.DuckDBPyConnection, pg_url: str) -> int:
    """Copy the decisions DuckDB lacks; returns how many were new."""
    con.execute(MIRROR_DDL)
    last = con.execute("SELECT coalesce(max(seq), 0) FROM proposal_decisions").fetchone()[0]
    rows = fetch_decisions(pg_url, int(last))
    if rows:
        marks = ", ".join("?" for _ in COLUMNS)
        con.executemany(f"INSERT INTO proposal_decisions ({', '.join(COLUMNS)}) "
                        f"VALUES ({marks}) ON CONFLICT DO NOTHING", [list(r) for r in rows])
    return len(rows)


@dg.asset(
    key=ASSET,
    group_name="audit",
    pool="warehouse",
    automation_condition=HOURLY_MIRROR,
    kinds={"duckdb", "postgres"},
    deps=[dg.AssetKey("action_proposals")],
    description=(
        "The operator's decisions on proposals (approved / rejected, reason, who, via, when), "
        "mirrored incrementally from Postgres aios.proposal_decisions so analysts can join "
        "them with action_proposals (docs/analysts.md: what the agents proposed and what was "
        "approved). The latest row per proposal is its decision."),
)
def proposal_decisions(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse,
                       postgres: PostgresStore) -> dg.MaterializeResult:
    url = postgres.resolved_url()
    with warehouse.connect() as con:
        new = mirror_decisions(con, url)
        last_seq = con.execute("SELECT coalesce(max(seq), 0) FROM proposal_decisions"
                               ).fetchone()[0]
        total, proposals, approved, rejected = con.execute(
            """WITH latest AS (SELECT proposal_id, arg_max(decision, seq) AS decision
                               FROM proposal_decisions GROUP BY 1)
               SELECT (SELECT count(*) FROM proposal_decisions), count(*),
                      count(*) FILTER (WHERE decision = 'approved'),
                      count(*) FILTER (WHERE decision = 'rejected') FROM latest""").fetchone()
    context.log.info(f"proposal_decisions: {new} new, {total} in all")
    # Append-only (seq grows): count and last seq name the content, so an hourly mirror that
    # found nothing new keeps the data version and flags nothing downstream as stale.
    return dg.MaterializeResult(data_version=dg.DataVersion(f"{total}-{last_seq}"), metadata={
        "dagster/row_count": int(total), "new_rows": new, "proposals_decided": int(proposals),
        "approved": int(approved), "rejected": int(rejected),
    })


DECISION_ASSETS = [proposal_decisions]
