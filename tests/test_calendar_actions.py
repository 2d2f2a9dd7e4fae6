"""The calendar actions without a server: what the adapter writes (icalendar text) and refuses
before any request, and how the publishing gates treat calendar proposals under the default
policy (approve_first). The server-side behaviour is in tests/test_calendar_adapter.py."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from aios_assets.agents.proposals import Proposal
from aios_assets.publishing.adapters.base import AdapterPermanent, OutboxAction
from aios_assets.publishing.adapters.caldav import build_hold, change, event_uid
from aios_assets.publishing.gates import (
    GATES,
    Directory,
    GateContext,
    evaluate_gates,
    proposal_mode,
    will_publish,
)
from aios_assets.publishing.ge_suite import run_ge_suite
from aios_assets.publishing.outbox import ADAPTER_ENV
from aios_assets.publishing.policy import DEFAULT_POLICY_YAML, Mode, parse_policy

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
POLICY = parse_policy(DEFAULT_POLICY_YAML)


def act(action_type: str, **payload: object) -> OutboxAction:
    return OutboxAction("aios-key1", "p1", action_type, "calendar",
                        {"uid": "aios-0123456789abcdef", **payload}, "scheduler")


def event_of(text: bytes) -> icalendar.Event:
    (ev,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    return ev


def test_hold_text_is_built_by_icalendar_and_escapes_the_description():
    hostile = "Notes; a, b\nEND:VEVENT\nBEGIN:VEVENT\nUID:aios-evil\nSUMMARY:x"
    hold = act("calendar_hold", summary="Call, Dana", description=hostile,
               start="2026-03-29T09:00:00+02:00", end="2026-03-29T09:30:00+02:00",
               tzid="Europe/Berlin", attendees=["dana@acme.io"])
    text = build_hold(hold, "aios-0123456789abcdef", now=NOW)
    lines = text.replace(b"\r\n ", b"").split(b"\r\n")  # unfolded content lines
    assert lines.count(b"BEGIN:VEVENT") == 1
    assert [x for x in lines if x.startswith(b"UID:")] == [b"UID:aios-0123456789abcdef"]
    ev = event_of(text)
    assert str(ev["description"]) == hostile and str(ev["summary"]) == "Call, Dana"
    assert str(ev["status"]) == "TENTATIVE"
    assert b"DTSTART;TZID=Europe/Berlin:20260329T090000" in text
    assert ev.decoded("dtstart").astimezone(UTC) == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert str(ev["x-aios-created-by"]) == "aios-key1"


def test_confirm_and_cancel_keep_the_event_and_mark_each_action():
    held = build_hold(act("calendar_hold", start="2026-06-10T10:00:00Z",
                          end="2026-06-10T11:00:00Z"), "aios-0123456789abcdef", now=NOW)
    confirm = OutboxAction("aios-key2", "p2", "calendar_confirm", "calendar",
                           {"uid": "aios-0123456789abcdef", "start": "2026-06-10T12:00:00Z",
                            "end": "2026-06-10T13:00:00Z"}, "scheduler")
    confirmed = change(held, confirm, "aios-0123456789abcdef", now=NOW)
    ev = event_of(confirmed)
    assert (str(ev["status"]), int(ev["sequence"])) == ("CONFIRMED", 1)
    assert ev.decoded("dtstart") == datetime(2026, 6, 10, 12, tzinfo=UTC)
    cancel = OutboxAction("aios-key3", "p3", "calendar_cancel", "calendar",
                          {"uid": "aios-0123456789abcdef", "compensates": "aios-key1"},
                          "scheduler")
    cancelled = change(confirmed, cancel, "aios-0123456789abcdef", now=NOW)
    ev = event_of(cancelled)
    assert (str(ev["status"]), int(ev["sequence"])) == ("CANCELLED", 2)
    assert [str(v) for v in ev["x-aios-action"]] == ["aios-key1", "aios-key2", "aios-key3"]
    assert str(ev["x-aios-compensates"]) == "aios-key1"
    with pytest.raises(AdapterPermanent, match="cancelled"):
        change(cancelled, confirm, "aios-0123456789abcdef")  # a cancelled hold stays cancelled


@pytest.mark.parametrize(("payload", "error_class"), [
    ({"uid": "meeting-1"}, "NotAiosUid"),
    ({"uid": "aios-a/b"}, "BadPayload"),
    ({"uid": ""}, "BadPayload"),
    ({"uid": "aios-x", "start": "2026-03-29T09:00:00", "end": "2026-03-29T10:00:00"},
     "BadPayload"),  # no offset: refused, not guessed
    ({"uid": "aios-x", "start": "2026-03-29T10:00:00Z", "end": "2026-03-29T09:00:00Z"},
     "BadPayload"),
    ({"uid": "aios-x", "start": "2026-03-29T09:00:00Z", "end": "2026-03-29T10:00:00Z",
      "tzid": "Mars/Olympus"}, "BadPayload"),
    ({"uid": "aios-x", "start": "2026-03-29T09:00:00Z", "end": "2026-03-29T10:00:00Z",
      "attendees": ["dana@acme.io\r\nATTENDEE:mailto:x@y.z"]}, "BadPayload"),
])
def test_bad_payloads_are_refused_before_any_request(payload, error_class):
    a = OutboxAction("k", "p", "calendar_hold", "calendar", payload, "scheduler")
    with pytest.raises(AdapterPermanent) as err:
        build_hold(a, event_uid(a))
    assert err.value.error_class == error_class


def proposal(action_type: str, payload: dict) -> dict:
    key = f"aios-{action_type}"
    return asdict(Proposal(
        proposal_id=f"p-{action_type}", created_at=NOW, agent="scheduler",
        manifest_version="1.0.0", intent_id=None, plan_id=None, action_type=action_type,
        capability="calendar", target_entity_id="ent_ada", payload=payload,
        rationale="Dana asked for a call next week", evidence_event_ids=("e1",),
        confidence=0.8, idempotency_key=key, expires_at=NOW + timedelta(days=3)))


def test_calendar_proposals_pass_the_gates_and_wait_for_approval():
    assert ADAPTER_ENV["calendar"] == "AIOS_CALDAV_URL"
    uid = "aios-4111111111111111"  # digits that pass Luhn: an identifier, not a card
    props = [
        proposal("calendar_hold", {"uid": uid, "summary": "Call with Dana",
                                   "start": "2026-03-29T09:00:00+02:00",
                                   "end": "2026-03-29T09:30:00+02:00", "tzid": "Europe/Berlin",
                                   "attendees": ["ada@acme.io"]}),
        proposal("calendar_confirm", {"uid": uid}),
        proposal("calendar_cancel", {"uid": uid, "compensates": "aios-calendar_hold"}),
    ]
    directory = Directory(email_to_entity={"ada@acme.io": "ent_ada"},
                          entities=frozenset({"ent_ada"}))
    ctx = GateContext(policy=POLICY, directory=directory, now=NOW)
    ge = run_ge_suite(props, POLICY)
    assert ge.success, ge.failed_expectations
    results = evaluate_gates(props, ctx, ge=ge.verdicts)
    assert len(results) == 3 * len(GATES)
    assert [(r.proposal_id, r.gate, r.reason) for r in results if not r.passed] == []
    for p in props:
        assert proposal_mode(p, ctx)[0] == Mode.APPROVE_FIRST
        assert not will_publish(p, ctx)
        approved = GateContext(policy=POLICY, directory=directory, now=NOW,
                               decisions={p["proposal_id"]: "approved"})
        assert will_publish(p, approved)
