"""The example queries of docs/analysts.md, run on a small demo warehouse and checked against the
demo's own files (invoices, payments, newsletter analytics) and the Postgres LLM ledger."""

from __future__ import annotations

import csv
import re
import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import dagster as dg
import duckdb
import psycopg
import pytest

from aios_assets.testing.openai_server import OpenAIServer
from tests.conftest import ROOT

DOC = ROOT / "docs" / "analysts.md"
OPERATOR = "maya@okaforstrategy.example"
KEY = "sk-test-ANALYST-7f3a"
QUERIED = ("fct_invoices", "dim_organizations", "fct_content_performance",
           "stg_email__messages", "stg_newsletter__posts")
PRICES = {"cheap-m": [1000.0, 2000.0], "strong-m": [10000.0, 20000.0]}


def doc_queries() -> dict[str, str]:
    return dict(re.findall(r"<!-- query: (\w+) -->\n```sql\n(.*?)```", DOC.read_text(), re.S))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, pg_url: str):
    """A small demo business ingested, built by dbt, plus a few real LLM calls in the ledger."""
    from aios_assets.entities.dbt_manifest import ensure_dbt_manifest

    ensure_dbt_manifest()
    from aios_assets.demo import generate
    from aios_assets.entities.assets import dbt_resource
    from aios_assets.entities.dbt_manifest import MANIFEST_PATH
    from aios_assets.ingest.assets import ingest_files
    from aios_assets.llm.offline import summarize_prompt
    from aios_assets.observability.costs import cost_ledger
    from aios_assets.shared.home import AiosHome
    from resources.llm import LLMResource
    from resources.warehouse import DuckDBWarehouse

    root = tmp_path_factory.mktemp("analyst")
    home = AiosHome.from_env(root / "home").ensure()
    dbname = f"analyst_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{dbname}"')
    ledger_url = urlsplit(pg_url)._replace(path=f"/{dbname}").geturl()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIOS_HOME", str(home.root))
        mp.setenv("DAGSTER_HOME", str(home.dagster_home))
        mp.setenv("AIOS_POSTGRES_URL", ledger_url)
        demo_dir = root / "demo"
        generate(demo_dir, seed=7, days=40, scale=0.25)
        warehouse = DuckDBWarehouse()
        with dg.instance_for_test() as instance:
            ingested = dg.materialize(
                [ingest_files], instance=instance,
                resources={"warehouse": warehouse,
                           "ingest_observer": dg.ResourceDefinition.none_resource()},
                run_config={"ops": {"ingest_files": {"config": {"paths": [str(demo_dir)]}}}},
            )
            assert ingested.success
            # Only the models the queries read, and their parents; their data tests run in the
            # entity tests, so `dbt run` (not build) keeps this fixture small.
            with warehouse.write_session():
                dbt_resource().cli(["run", "--select", " ".join(f"+{m}" for m in QUERIED)],
                                   manifest=MANIFEST_PATH).wait()
            with OpenAIServer(require_key=KEY) as srv:
                llm = LLMResource(base_url=srv.url, api_key=KEY, cheap_model="cheap-m",
                                  strong_model="strong-m", prices=PRICES, max_retries=1)
                for agent, value, n in (("triage", 0.0, 3), ("billing", 10_000.0, 2)):
                    for i in range(n):
                        llm.complete(agent=agent, task="summarize", value=value,
                                     prompt=summarize_prompt([f"{agent} note {i}: pay $4{i}0."]))
                ledger = dg.materialize([cost_ledger], instance=instance,
                                        resources={"warehouse": warehouse, "llm": llm})
                assert ledger.success
            planted = plant_proposals_and_decisions(warehouse)
            from aios_assets.publishing.decision_mirror import proposal_decisions
            from resources.postgres import PostgresStore

            mirrored = dg.materialize([proposal_decisions], instance=instance,
                                      resources={"warehouse": warehouse,
                                                 "postgres": PostgresStore()})
            assert mirrored.success
        yield {"demo": demo_dir, "snapshot": home.warehouse_snapshot, "ledger_url": ledger_url,
               "planted": planted}
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def plant_proposals_and_decisions(warehouse) -> dict:
    """Proposals as the agents make them and the operator's decisions through the real
    decision store (Postgres); returns the ids by role."""
    from datetime import UTC, datetime, timedelta

    from aios_assets.agents.proposals import make_proposal, merge_proposals
    from aios_assets.publishing.decisions import record_decisions
    from resources.postgres import PostgresStore

    now = datetime.now(UTC)

    def proposal(agent: str, basis: str, *, action: str = "send_email", mode: str = "live",
                 made: datetime = now - timedelta(hours=5)):
        payload = ({"to": "ada@x.example", "subject": basis, "body": "Hello"}
                   if action == "send_email" else {"title": basis, "text": "note"})
        return make_proposal(agent=agent, manifest_version="1.0.0", action_type=action,
                             target_entity_id=f"ent_{basis}", basis=basis, payload=payload,
                             rationale=f"because {basis}", evidence_event_ids=["e"],
                             confidence=0.8, mode=mode, now=made)

    b1, b2, b3 = (proposal("billing", f"b{i}") for i in (1, 2, 3))
    f1 = proposal("followup", "f1")
    f2 = proposal("followup", "f2", made=now - timedelta(days=4))  # lapsed (3-day expiry)
    n1 = proposal("brief", "n1", action="internal_note")
    canary = proposal("followup", "c1", mode="canary")
    with warehouse.connect() as con:
        merge_proposals(con, [b1, b2, b3, f1, f2, n1, canary])
    store = PostgresStore()
    record_decisions(store, [b1.__dict__], "approved", None, via="cli",
                     now=now - timedelta(hours=3))
    record_decisions(store, [b2.__dict__], "rejected", "too pushy", via="cli",
                     now=now - timedelta(hours=4))
    record_decisions(store, [b3.__dict__], "rejected", "wrong amount", via="cli",
                     now=now - timedelta(hours=4))
    record_decisions(store, [b3.__dict__], "approved", None, via="launchpad",
                     now=now - timedelta(hours=1))  # changed its mind: approved counts
    record_decisions(store, [n1.__dict__], "approved", None, via="cli",
                     now=now - timedelta(hours=5))
    return {"rejected": b2.proposal_id, "canary": canary.proposal_id}


def test_proposals_and_approvals(demo):
    rows = {(r["agent"], r["action_type"]): r for r in run(demo, "proposals_and_approvals")}
    assert set(rows) == {("billing", "send_email"), ("followup", "send_email"),
                         ("brief", "internal_note")}  # the canary proposal is not live
    billing = rows[("billing", "send_email")]
    assert (billing["proposed"], billing["approved"], billing["rejected"], billing["waiting"],
            billing["lapsed"]) == (3, 2, 1, 0, 0)
    assert billing["approval_rate"] == pytest.approx(0.667)
    assert billing["median_hours_to_decide"] == pytest.approx(2.0, abs=0.1)  # 2 h, 1 h, 4 h
    followup = rows[("followup", "send_email")]
    assert (followup["proposed"], followup["approved"], followup["waiting"],
            followup["lapsed"], followup["approval_rate"]) == (2, 0, 1, 1, None)
    assert list(rows)[0] == ("billing", "send_email")  # most proposed first


def test_rejections_with_reasons(demo):
    rows = run(demo, "rejections_with_reasons")
    # b3 was rejected, then approved: only b2 is still a rejection
    assert [(r["target_entity_id"], r["reason"], r["rationale"]) for r in rows] == [
        ("ent_b2", "too pushy", "because b2")]


def run(demo, name: str) -> list[dict]:
    # The snapshot analysts read, in the same sandbox and statement check as `aios sql`.
    from resources.warehouse import check_analyst_query, open_sandboxed

    check_analyst_query(doc_queries()[name])
    con = open_sandboxed(demo["snapshot"])
    try:
        cur = con.execute(doc_queries()[name])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def schema_doc_tables() -> dict[str, list[str]]:
    """table -> documented columns, from the `| `table` | grain | `col`, ... |` rows of
    docs/schema.md."""
    text = (ROOT / "docs" / "schema.md").read_text()
    return {m[1]: re.findall(r"`(\w+)`", m[2]) for m in re.finditer(
        r"^\| `(\w+)` \| [^\n]*? \| ((?:`\w+`(?:, )?)+) \|$", text, re.M)}


def test_schema_doc_matches_the_built_tables(demo):
    documented = schema_doc_tables()
    con = duckdb.connect(str(demo["snapshot"]), read_only=True)
    try:
        built = {t: [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()]
                 for (t,) in con.execute("SELECT table_name FROM information_schema.tables"
                                         ).fetchall() if t in documented}
    finally:
        con.close()
    # What this build makes: marts, proposals, decisions and the cost tables and views.
    assert {"dim_contacts", "dim_organizations", "fct_invoices", "entity_membership",
            "int_organization_keys", "fct_content_performance", "action_proposals",
            "proposal_decisions", "cost_ledger", "cost_attribution",
            "cost_by_day_agent_intent_entity_model", "cost_budget_status"} <= set(built)
    for table, cols in built.items():
        assert documented[table] == cols, table


def test_every_documented_query_is_tested():
    tested = {n[len("test_"):] for n in globals() if n.startswith("test_")}
    assert set(doc_queries()) <= tested


def test_revenue_by_customer_month(demo):
    rows = run(demo, "revenue_by_customer_month")
    invoices = list(csv.DictReader((demo["demo"] / "billing" / "invoices.csv").open()))
    payments = list(csv.DictReader((demo["demo"] / "billing" / "payments.csv").open()))
    assert rows and len(invoices) == sum(r["invoices"] for r in rows)
    # Per currency and month, invoiced and collected match the billing exports.
    want_inv: dict[tuple, Decimal] = defaultdict(Decimal)
    for inv in invoices:
        want_inv[(inv["currency"], date.fromisoformat(inv["issued_at"]).replace(day=1))] += \
            Decimal(inv["amount"])
    got_inv: dict[tuple, Decimal] = defaultdict(Decimal)
    for r in rows:
        got_inv[(r["currency"], r["month"])] += r["invoiced"]
    assert got_inv == want_inv
    paid = sum(Decimal(p["amount"]) for p in payments)
    assert sum(r["collected"] for r in rows) == paid
    assert all(r["invoiced"] == r["collected"] + r["outstanding"] for r in rows)
    assert sum(r["overdue"] for r in rows) >= 1


def test_response_times_by_month(demo):
    rows = run(demo, "response_times_by_month")
    assert rows
    # The same measure computed independently in Python from the staged messages.
    con = duckdb.connect(str(demo["snapshot"]), read_only=True)
    msgs = con.execute("SELECT thread_id, sent_at, from_email FROM stg_email__messages "
                       "WHERE thread_id IS NOT NULL ORDER BY sent_at").fetchall()
    con.close()
    by_thread: dict[str, list] = defaultdict(list)
    for thread, sent, sender in msgs:
        by_thread[thread].append((sent, sender))
    answered: dict[date, list[float]] = defaultdict(list)
    for items in by_thread.values():
        for i, (sent, sender) in enumerate(items):
            if sender == OPERATOR:
                continue
            reply = next((s for s, who in items[i + 1:] if who == OPERATOR and s > sent), None)
            if reply is not None:
                minutes = int((reply - sent).total_seconds() // 60)
                answered[sent.date().replace(day=1)].append(minutes / 60)
    assert {r["month"]: r["answered"] for r in rows} == {m: len(v) for m, v in answered.items()}
    for r in rows:
        hours = sorted(answered[r["month"]])
        assert r["over_a_day"] == sum(h > 24 for h in hours)
        assert 0 <= r["median_hours"] <= r["p90_hours"]


def test_topics_by_conversion(demo):
    rows = run(demo, "topics_by_conversion")
    analytics = {r["post_id"]: r for r in
                 csv.DictReader((demo["demo"] / "newsletter" / "analytics.csv").open())}
    tags: dict[str, list[str]] = {}
    for post in (demo["demo"] / "newsletter" / "posts").glob("*.md"):
        head = post.read_text().split("---")[1]
        campaign = re.search(r"^campaign_id: (.+)$", head, re.M).group(1).strip()
        tags[campaign] = [t.strip() for t in
                          re.search(r"^tags: \[(.*)\]$", head, re.M).group(1).split(",")]
    want: dict[str, int] = defaultdict(int)
    for campaign, topics in tags.items():
        if campaign in analytics:
            for topic in topics:
                want[topic] += int(analytics[campaign]["paid_signups"])
    assert {r["topic"]: r["paid_signups"] for r in rows} == dict(want)
    rates = [r["signups_per_recipient"] for r in rows]
    assert rates == sorted(rates, reverse=True)


def _ledger_by_agent_model(url: str) -> dict[tuple[str, str], tuple[int, float]]:
    with psycopg.connect(url) as con:
        return {(a, m): (n, float(c)) for a, m, n, c in con.execute(
            "SELECT agent, model, count(*), sum(cost_usd) FROM aios.llm_calls GROUP BY 1, 2")}


def test_cost_by_day_agent_model(demo):
    rows = run(demo, "cost_by_day_agent_model")
    got = {(r["agent"], r["model"]): (r["calls"], pytest.approx(r["cost_usd"])) for r in rows}
    want = _ledger_by_agent_model(demo["ledger_url"])
    assert got == want
    assert {("triage", "cheap-m"), ("billing", "strong-m")} <= set(got)
    assert all(r["cost_usd"] > 0 for r in rows)


def test_cost_by_agent_this_month(demo):
    rows = run(demo, "cost_by_agent_this_month")
    want = _ledger_by_agent_model(demo["ledger_url"])
    assert {r["agent"]: r["calls"] for r in rows} == {"triage": 3, "billing": 2}
    billing = next(r for r in rows if r["agent"] == "billing")
    assert billing["cost_usd"] == pytest.approx(round(want[("billing", "strong-m")][1], 4))
    assert rows[0]["agent"] == "billing"  # the strong model costs more
