"""Proposals: stable ids and keys, contract validation, idempotent merge into DuckDB."""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from aios_assets.agents.proposals import (
    PROPOSALS_TABLE,
    Proposal,
    ProposalError,
    make_proposal,
    merge_proposals,
    proposal_id,
    read_proposals,
)

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


def _p(basis: str = "invoice:INV-7|level:firm", mode: str = "live", **kw) -> Proposal:
    args = dict(agent="billing", manifest_version="1.0.0", action_type="send_email",
                target_entity_id="ent_ada", basis=basis,
                payload={"to": "ada@analytical.example", "subject": "s", "body": "b"},
                rationale="overdue", evidence_event_ids=["e1", "e1", "e2"], confidence=0.8,
                mode=mode, now=NOW)
    args.update(kw)
    return make_proposal(**args)


def test_ids_are_stable_and_follow_the_contract_formula():
    import hashlib

    a, b = _p(), _p(now=NOW + timedelta(hours=5))
    assert a.proposal_id == b.proposal_id and a.idempotency_key == b.idempotency_key
    expected = hashlib.sha256(b"billing|send_email|ent_ada|invoice:INV-7|level:firm")
    assert a.proposal_id == expected.hexdigest()[:24] == proposal_id(
        "billing", "send_email", "ent_ada", "invoice:INV-7|level:firm")
    assert a.evidence_event_ids == ("e1", "e2")
    assert a.expires_at == NOW + timedelta(days=3)
    assert _p(basis="invoice:INV-7|level:final").proposal_id != a.proposal_id
    canary = _p(mode="canary")
    assert canary.proposal_id != a.proposal_id and canary.idempotency_key != a.idempotency_key


@pytest.mark.parametrize("kw, message", [
    ({"action_type": "wire_money"}, "action_type"),
    ({"payload": {"to": "x@y.example", "subject": "s"}}, "lacks"),
    ({"payload": {"to": "x", "subject": "s", "body": "b", "bcc": "evil"}}, "unknown keys"),
    ({"confidence": 1.5}, "confidence"),
    ({"mode": "yolo"}, "mode"),
])
def test_contract_breaks_are_refused(kw, message):
    with pytest.raises(ProposalError, match=message):
        _p(**kw)


def test_merge_is_idempotent_and_never_rewrites(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    first = [_p(), _p(basis="invoice:INV-9|level:friendly")]
    assert merge_proposals(con, first) == 2
    # The same inputs again, and a changed body for an existing id: nothing new, nothing changed.
    changed = _p(payload={"to": "ada@analytical.example", "subject": "s", "body": "NEW"})
    assert merge_proposals(con, [*first, changed, changed]) == 0
    rows = read_proposals(con)
    assert len(rows) == 2
    assert {r.payload["body"] for r in rows} == {"b"}
    assert con.execute(f"SELECT count(DISTINCT idempotency_key) FROM {PROPOSALS_TABLE}"
                       ).fetchone()[0] == 2
    back = next(r for r in rows if r.proposal_id == first[0].proposal_id)
    assert back.evidence_event_ids == ("e1", "e2") and back.mode == "live"
