"""Expired proposals fail the expiry gate once, then drop out of gating (no noise per run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from publishing_fixtures import build_warehouse, proposal

from aios_assets.publishing.assets import gate_check_results
from aios_assets.publishing.data import GATE_RESULTS_TABLE
from aios_assets.publishing.gates import GATES
from aios_assets.publishing.policy import Policy
from aios_assets.publishing.publish import evaluate_open_proposals, proposals_overview
from resources.warehouse import DuckDBWarehouse


def _check(ev, gate: str):
    return next(r for r in gate_check_results(ev) if r.check_name == f"gate_{gate}")


def test_expired_proposal_is_recorded_once_then_left_out(aios_home):
    now = datetime.now(UTC)
    fresh = proposal("fresh", now=now)
    old = proposal("old", now=now - timedelta(days=4), ttl=timedelta(days=3),
                   payload={"to": "ada@acme.io", "subject": "Old news", "body": "Hi Ada"})
    build_warehouse([fresh, old])
    policy = Policy()

    with DuckDBWarehouse().connect() as con:
        first = evaluate_open_proposals(con, policy, outbox=None, decisions={}, now=now)
    assert [p["proposal_id"] for p in first.proposals] == [fresh["proposal_id"]]
    assert first.expired == 1
    old_rows = [r for r in first.results if r.proposal_id == old["proposal_id"]]
    assert [(r.gate, r.passed) for r in old_rows] == [("expiry", False)]
    assert "expired at" in old_rows[0].reason
    assert {r.gate for r in first.results if r.proposal_id == fresh["proposal_id"]} == set(GATES)
    expiry = _check(first, "expiry")
    assert not expiry.passed and expiry.metadata["failed"].value == 1
    assert next(r for r in gate_check_results(first) if r.check_name == "gates_complete").passed

    later = now + timedelta(minutes=15)
    with DuckDBWarehouse().connect() as con:
        second = evaluate_open_proposals(con, policy, outbox=None, decisions={}, now=later)
        kept = con.execute(f"SELECT gate, passed, evaluated_at FROM {GATE_RESULTS_TABLE} "
                           "WHERE proposal_id = ?", [old["proposal_id"]]).fetchall()
        overview = {r["proposal_id"]: r["status"] for r in proposals_overview(
            con, policy, decisions={}, outbox=None, now=later)}
    assert second.expired == 0
    assert not [r for r in second.results if r.proposal_id == old["proposal_id"]]
    assert _check(second, "expiry").passed  # no noise: the old proposal is not re-gated
    assert kept == [("expiry", False, now)]  # the one record stays as it was
    assert overview == {fresh["proposal_id"]: "pending", old["proposal_id"]: "expired"}
