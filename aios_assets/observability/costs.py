"""The cost ledger: every LLM call of ``aios.llm_calls`` and every capability-adapter call of
``aios.adapter_calls`` (Postgres) mirrored into DuckDB, told apart by ``kind`` (``llm`` |
``adapter``).

Incremental: each materialization copies only the calls whose ``call_id`` the warehouse does
not have yet (re-reading a one-hour window before the newest copied call of that kind, so rows
committed late by concurrent runs are not missed). ``cost_by_day_agent_model`` is the spend view
analysts query: ``aios sql "select * from cost_by_day_agent_model"``. Each materialization also
mirrors the adapter-call -> proposal links and (re)creates the attribution views and budgets
(:func:`refresh_cost_views`: ``cost_attribution``, ``cost_by_day_agent_intent_entity_model``,
``cost_budget_status``), so ``aios cost --no-refresh`` and analysts find them after any build,
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

Attribution: LLM calls are linked to proposals by (run id, agent): the ledger records the run and
agent of each call, not the proposal, so a run's calls are shared by the proposals that run made
(an even share each); adapter calls by their proposal. Budgets (:func:`budgets`) are the LLM
resource's as it enforces them (``resources/budgets.py``) and each intent's per-run budget.
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb

from aios_assets.observability.cost_views import (
    Budget,
    budgets,
    ensure_cost_views,
    mirror_adapter_calls,
    mirror_adapter_links,
    mirror_calls,
    spend_per_day,
)
from aios_assets.shared.automation import HOURLY_MIRROR
from resources.llm import LLMResource
from resources.warehouse import DuckDBWarehouse

GROUP = "llm"
# Assets whose LLM calls this ledger mirrors in the same run (agent_brief reads the ledger, and
# agent_canary follows the brief, so their calls land on the next mirror).
LEDGER_DEPS = [dg.AssetKey(k) for k in ("summaries", "agent_triage", "agent_followup",
                                        "agent_billing", "agent_content")]

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


def _budgets(context: dg.AssetExecutionContext, llm: LLMResource,
             home: Any) -> list[Budget] | None:
    """The budgets in force for ``cost_budget_status``; None (keep the last ones) when the
    intents or the budget settings cannot be read."""
    from aios_assets.agents.intents import (
        IntentsFileError,
        default_intents,
        intents_path,
        load_intents,
    )

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
        version = ledger_data_version(con)
    context.log.info(f"cost_ledger: {new_llm} new LLM and {new_adapter} new adapter call(s), "
                     f"{total} in all")
    # Numbers as explicit int/float values: the UI's Plots tab draws each across
    # materializations (spend over time); the tables are this run's breakdowns.
    return dg.MaterializeResult(data_version=version, metadata={
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


def ledger_data_version(con: duckdb.DuckDBPyConnection) -> dg.DataVersion:
    """The ledger's data version as its downstream (the brief) sees it: the calls made by the
    assets the ledger lists upstream (``LEDGER_DEPS``). Calls by assets downstream of it (the
    brief, the canary, publishing's adapters) land in the ledger after the run that read it, so
    counting them would flag the brief "Upstream data" after every hourly mirror, forever; an
    unchanged ledger keeps its version, so a mirror that found nothing new flags nothing."""
    names = [k.to_user_string() for k in LEDGER_DEPS]
    marks = ", ".join("?" for _ in names)
    count, digest, spend = con.execute(
        f"""SELECT count(*), coalesce(sum(hash(call_id)), 0), coalesce(sum(cost_usd), 0)
            FROM cost_ledger WHERE asset IN ({marks})""", names).fetchone()
    return dg.DataVersion(f"{count}-{digest}-{round(float(spend), 6)}")
