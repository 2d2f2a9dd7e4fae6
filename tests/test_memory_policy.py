"""Policy traces: operator decisions and preferences from the log, and the planner's summary."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import duckdb
from entity_fixtures import add_events
from memory_tier_fixtures import connect, ts

from aios_assets.memory.policy_traces import (
    POLICY_ASSETS,
    POLICY_CHECKS,
    build_policy_traces,
    normalize_decision,
    policy_summary,
    trace_from_event,
)


def decision(sid: str, when: datetime, action: str, verdict: str, reason: str | None = None,
             proposal: str | None = None, **extra) -> dict:
    payload = {"proposal_id": proposal or f"p-{sid}", "action_type": action,
               "decision": verdict, "reason": reason, "entity_id": "ent_ada",
               "agent": "follow_up", "manifest_version": "1", **extra}
    return {"source": "operator", "source_id": sid, "kind": "approval_decision",
            "occurred_at": when, "actor": "Maya Okafor", "text": "", "payload": payload}


def preference(sid: str, when: datetime, text: str, **payload) -> dict:
    return {"source": "operator", "source_id": sid, "kind": "preference", "occurred_at": when,
            "actor": "Maya Okafor", "text": text, "payload": payload or None}


def test_contract_parsing():
    assert [normalize_decision(v) for v in ("Approved", "approve", "declined", "EDIT", "maybe",
                                            None)] == [
        "approved", "approved", "rejected", "edited", None, None]
    ok = trace_from_event("e1", "d1", "approval_decision", ts(1), "",
                          {"proposal_id": "p1", "action_type": "send_email",
                           "decision": "rejected", "reason": "tone"})
    assert ok["decision"] == "rejected" and ok["problem"] is None
    assert ok["trace_id"] == trace_from_event("e2", "d1", "approval_decision", ts(2), "",
                                              {})["trace_id"]  # one trace per record
    bad = trace_from_event("e3", "d3", "approval_decision", ts(1), "", {"decision": "maybe"})
    assert bad["decision"] is None
    assert bad["problem"] == "unknown decision 'maybe'; missing action_type; missing proposal_id"
    pref = trace_from_event("e4", "s1", "preference", ts(1), "No emails before 9am", None)
    assert pref["preference"] == "No emails before 9am" and pref["problem"] is None
    keyed = trace_from_event("e5", "s2", "preference", ts(1), "",
                             {"key": "max_emails_per_day", "value": 5})
    assert keyed["preference"] == "max_emails_per_day = 5"


def events() -> list[dict]:
    return [
        decision("d1", ts(1), "send_email", "approved"),
        decision("d2", ts(2), "send_email", "rejected", "too pushy"),
        decision("d3", ts(3), "send_email", "edited", "shortened"),
        decision("d4", ts(4), "send_email", "rejected", "wrong recipient"),
        decision("d5", ts(5), "send_invoice_reminder", "approved"),
        # the same proposal decided twice: only the latest decision counts
        decision("d6", ts(6), "send_invoice_reminder", "rejected", "client paid", proposal="px"),
        decision("d7", ts(7), "send_invoice_reminder", "approved", proposal="px"),
        decision("d8", ts(8), "publish_post", "perhaps"),  # breaks the contract
        preference("s1", ts(2), "", preference="No emails before 9am",
                   action_type="send_email"),
        preference("s2", ts(9), "Never contact ent_bob", entity_id="ent_bob"),
    ]


def test_summary_for_the_planner(tmp_path):
    path = tmp_path / "w.duckdb"
    add_events(path, events())
    con = connect(path)
    stats = build_policy_traces(con)
    assert (stats.rows, stats.decisions, stats.preferences, stats.problems) == (10, 8, 2, 1)
    con.close()
    ro = duckdb.connect(str(path), read_only=True)
    s = policy_summary(ro)
    email = s["action_types"]["send_email"]
    assert (email["decisions"], email["approved"], email["edited"], email["rejected"]) == (
        4, 1, 1, 2)
    assert email["approval_rate"] == 0.5 and email["clean_approval_rate"] == 0.25
    assert email["recent_rejection_reasons"] == ["wrong recipient", "too pushy"]
    reminders = s["action_types"]["send_invoice_reminder"]
    assert reminders["decisions"] == 2 and reminders["approval_rate"] == 1.0
    assert "publish_post" not in s["action_types"] and s["problems"] == 1
    assert s["overall"]["decisions"] == 6
    assert [r["reason"] for r in s["recent_rejections"]] == ["wrong recipient", "too pushy"]
    assert [p["preference"] for p in s["preferences"]] == ["Never contact ent_bob",
                                                           "No emails before 9am"]
    only = policy_summary(ro, "send_email")
    assert list(only["action_types"]) == ["send_email"]
    assert [p["preference"] for p in only["preferences"]] == ["Never contact ent_bob",
                                                              "No emails before 9am"]
    recent = policy_summary(ro, window_days=3, now=ts(8, 12))
    assert set(recent["action_types"]) == {"send_invoice_reminder"}
    assert policy_summary(duckdb.connect())["overall"]["decisions"] == 0  # no table yet


def test_corrections_and_the_asset(aios_home):
    from resources.warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse()
    add_events(warehouse.path, events())
    result = dg.materialize([*POLICY_ASSETS, *POLICY_CHECKS],
                            resources={"warehouse": warehouse})
    assert result.success  # a broken record warns, it does not block
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    meta = result.asset_materializations_for_node("policy_traces")[0].metadata
    assert meta["new_rows"].value == 10 and meta["contract_problems"].value == 1
    assert meta["approval_rate_by_action_type"].value["send_email"] == 0.5
    # the operator corrects d8 (a new version of the same record): the trace follows it
    add_events(warehouse.path, [decision("d8", ts(8), "publish_post", "approved")], batch="b2")
    result = dg.materialize([*POLICY_ASSETS, *POLICY_CHECKS],
                            resources={"warehouse": warehouse})
    assert result.get_asset_check_evaluations()[0].passed
    meta = result.asset_materializations_for_node("policy_traces")[0].metadata
    assert meta["dagster/row_count"].value == 10 and meta["new_rows"].value == 0
    with warehouse.read() as con:
        assert con.execute("select decision from policy_traces where source_id = 'd8'"
                           ).fetchone()[0] == "approved"
        assert con.execute("select count(*) from event_log where source_id = 'd8'"
                           ).fetchone()[0] == 2  # the log keeps both versions
