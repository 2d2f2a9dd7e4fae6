"""The slot finder and the reply reader (aios_assets/agents/slots.py): pure, no warehouse.

Dates: the US moves to summer time on 2026-03-08, the EU on 2026-03-29, so New York is 5 hours
behind Berlin from 03-08 to 03-28 and 6 hours otherwise; Los Angeles is 9 hours behind Berlin
in April.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from aios_assets.agents.slots import (
    DEFAULT_HOURS,
    Interval,
    WorkingHours,
    all_day,
    asks_to_meet,
    find_slots,
    pick_slot,
    render_slot,
)
from aios_assets.publishing.policy import DEFAULT_POLICY_YAML, PolicyError, parse_policy

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
MIN30 = timedelta(minutes=30)


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


def local(slot: Interval, tz: ZoneInfo) -> tuple[str, str]:
    return f"{slot.start.astimezone(tz):%a %d %H:%M}", f"{slot.end.astimezone(tz):%H:%M}"


def test_slots_are_free_future_and_on_different_days():
    now = at(BERLIN, 2026, 4, 13, 10, 5)  # Monday
    busy = [Interval(at(BERLIN, 2026, 4, 13, 11), at(BERLIN, 2026, 4, 13, 12)),
            Interval(at(BERLIN, 2026, 4, 14, 9), at(BERLIN, 2026, 4, 14, 10, 45))]
    slots = find_slots(busy, DEFAULT_HOURS, BERLIN, MIN30, 5, now)
    # 10:30 would end inside the 15-minute buffer before 11:00; 12:00 starts inside it after
    # 12:00; Tuesday's 09:00-10:45 pushes its first slot to 11:00 (10:45 + buffer, on the grid)
    assert [local(s, BERLIN) for s in slots] == [
        ("Mon 13 12:30", "13:00"), ("Tue 14 11:00", "11:30"), ("Wed 15 09:00", "09:30")]
    assert all(s.start > now for s in slots)
    assert not any(s.overlaps(b, timedelta(minutes=15)) for s in slots for b in busy)
    assert len({s.start.astimezone(BERLIN).date() for s in slots}) == 3


def test_no_slot_in_the_past_after_hours_or_on_weekends():
    friday_evening = at(BERLIN, 2026, 4, 17, 17, 10)  # 20 min before the working day ends
    slots = find_slots([], DEFAULT_HOURS, BERLIN, MIN30, 2, friday_evening, count=3)
    assert [local(s, BERLIN) for s in slots] == [("Mon 20 09:00", "09:30"),
                                                  ("Tue 21 09:00", "09:30")]


def test_all_day_event_is_busy_the_whole_local_day():
    day_off = all_day(date(2026, 4, 14), date(2026, 4, 15), BERLIN)
    assert day_off.start == datetime(2026, 4, 13, 22, tzinfo=UTC)  # midnight CEST
    assert day_off.end == datetime(2026, 4, 14, 22, tzinfo=UTC)
    slots = find_slots([day_off], DEFAULT_HOURS, BERLIN, MIN30, 3, at(BERLIN, 2026, 4, 13, 18))
    assert [s.start.astimezone(BERLIN).day for s in slots] == [15, 16]  # never Tuesday 14
    # no end: one day; an all-day event on a DST day is 23 hours long
    assert all_day(date(2026, 3, 29), None, BERLIN).end - all_day(
        date(2026, 3, 29), None, BERLIN).start == timedelta(hours=23)


@pytest.mark.parametrize("monday, berlin_start, label", [
    (date(2026, 3, 2), "15:00", "EST"),   # both on standard time: 6 hours apart
    (date(2026, 3, 9), "14:00", "EDT"),   # US on summer time, EU not yet: 5 hours
    (date(2026, 3, 30), "15:00", "EDT"),  # both on summer time: 6 hours again
])
def test_recipient_in_new_york_across_the_two_march_dst_dates(monday, berlin_start, label):
    now = datetime.combine(monday, time(7), tzinfo=BERLIN)
    slots = find_slots([], DEFAULT_HOURS, BERLIN, MIN30, 5, now, recipient_tz=NEW_YORK)
    assert len(slots) == 3
    assert {f"{s.start.astimezone(BERLIN):%H:%M}" for s in slots} == {berlin_start}
    assert {f"{s.start.astimezone(NEW_YORK):%H:%M}" for s in slots} == {"09:00"}
    assert render_slot(slots[0], NEW_YORK) == (
        f"{slots[0].start.astimezone(NEW_YORK):%a} {slots[0].start.astimezone(NEW_YORK).day} "
        f"{slots[0].start.astimezone(NEW_YORK):%b %Y}, 09:00-09:30 {label} (America/New_York)")


def test_recipient_nine_hours_away_gets_the_least_bad_time():
    """Berlin 09:00-17:30 and Los Angeles 09:00-17:30 never overlap: the slots go to the end of
    the operator's day (08:00 in LA), not to its start (midnight in LA)."""
    now = at(BERLIN, 2026, 4, 13, 7)
    slots = find_slots([], DEFAULT_HOURS, BERLIN, MIN30, 5, now, recipient_tz=LOS_ANGELES)
    assert [local(s, BERLIN)[0][-5:] for s in slots] == ["17:00"] * 3
    assert "08:00-08:30 PDT (America/Los_Angeles)" in render_slot(slots[0], LOS_ANGELES)


@pytest.mark.parametrize("tz, sunday, utc_start", [
    (BERLIN, date(2026, 3, 29), datetime(2026, 3, 29, 0, tzinfo=UTC)),     # 02:00 -> 03:00
    (NEW_YORK, date(2026, 3, 8), datetime(2026, 3, 8, 6, tzinfo=UTC)),     # 02:00 -> 03:00
])
def test_a_slot_spanning_the_dst_change_has_its_true_length(tz, sunday, utc_start):
    """Working hours 01:00-04:00 local on the night clocks spring forward are 2 real hours: a
    90-minute slot from 01:00 ends at 03:30 local, and a 150-minute one does not fit."""
    night = WorkingHours(frozenset({6}), time(1), time(4))
    now = datetime.combine(sunday - timedelta(days=1), time(12), tzinfo=tz)
    (slot,) = find_slots([], night, tz, timedelta(minutes=90), 1, now, buffer=timedelta(0))
    assert slot.start == utc_start and slot.end - slot.start == timedelta(minutes=90)
    start, end = slot.start.astimezone(tz), slot.end.astimezone(tz)
    assert (f"{start:%H:%M}", f"{end:%H:%M}") == ("01:00", "03:30")
    assert end.utcoffset() - start.utcoffset() == timedelta(hours=1)
    assert find_slots([], night, tz, timedelta(minutes=150), 1, now) == []


def test_working_hours_in_the_policy_file():
    policy = parse_policy(DEFAULT_POLICY_YAML)
    assert policy.working_hours is not None and policy.working_hours.hours() == DEFAULT_HOURS
    assert policy.for_action("calendar_hold").mode.value == "approve_first"
    custom = parse_policy("timezone: Europe/Berlin\nworking_hours: {days: [Monday, wed], "
                          "start: '08:15', end: '12:00'}\n").working_hours
    assert custom is not None and custom.hours() == WorkingHours(frozenset({0, 2}), time(8, 15),
                                                                  time(12))
    assert parse_policy("version: 1\n").working_hours is None  # older homes: the default
    unquoted = parse_policy("working_hours: {start: 8:30, end: 17:00}\n").working_hours
    assert unquoted is not None and (unquoted.start, unquoted.end) == ("08:30", "17:00")
    for bad, field in [("{start: '9am'}", "working_hours.start"),
                       ("{end: '25:00'}", "working_hours.end"),
                       ("{days: [mon, funday]}", "working_hours.days"),
                       ("{start: '18:00', end: '09:00'}", "working_hours:"),
                       ("{lunch: '12:00'}", "working_hours.lunch")]:
        with pytest.raises(PolicyError) as err:
            parse_policy(f"working_hours: {bad}\n", source="policy.yaml")
        message = str(err.value)
        assert "\n" not in message and f"policy.yaml: {field}" in message, message


@pytest.mark.parametrize("text, expected", [
    ("Could we schedule a call next week to go through it?", True),
    ("Are you available for a chat on Thursday?", True),
    ("Let's meet when you are in town.", True),
    ("Can we hop on a quick call?", True),
    ("What is your availability in March?", True),
    ("Happy to set up a 30-minute call.", True),
    ("Would you have time for a short call in the next couple of weeks?", True),
    ("Do you have time to talk on Friday?", True),
    ("I will have time for the report next week.", False),
    ("Thanks, the report is great. No need for a call.", False),
    ("I called the bank yesterday about the invoice.", False),
    ("Please send the proposal by email.", False),
    ("", False),
])
def test_asks_to_meet(text, expected):
    assert asks_to_meet(text) is expected


OFFERED = [Interval(at(NEW_YORK, 2026, 3, 10, 9), at(NEW_YORK, 2026, 3, 10, 9, 30)),
           Interval(at(NEW_YORK, 2026, 3, 11, 9), at(NEW_YORK, 2026, 3, 11, 9, 30)),
           Interval(at(NEW_YORK, 2026, 3, 12, 14), at(NEW_YORK, 2026, 3, 12, 14, 30))]


@pytest.mark.parametrize("reply, index", [
    ("Option 2 works for me.", 1),
    ("The first one is perfect", 0),
    ("Wednesday works!", 1),
    ("Thursday at 2pm is good", 2),
    ("March 10th at 9:00 please", 0),
    ("2pm suits me", 2),  # a start time only one option has
    ("Wednesday works.\n\nOn Mon, Maya wrote:\n> Option 1: Tue 10 Mar\n> Option 3: Thu 12 Mar",
     1),
    ("Tuesday or Wednesday, either is fine", None),  # two named: ambiguous
    ("9:00 works", None),  # two options start at 9:00
    ("Thursday at 9:00", None),  # Thursday's option is at 14:00
    ("None of these work, sorry. How about next month?", None),
])
def test_pick_slot_is_conservative(reply, index):
    pick = pick_slot(reply, OFFERED, NEW_YORK)
    assert pick.index == index, pick.reason
    assert pick.reason  # always says why
    if index is None and "either" in reply:
        assert "ambiguous" in pick.reason and "1, 2" in pick.reason


def test_pick_reads_the_reply_in_the_offered_zone():
    """09:00 in New York on Wednesday is 14:00 in Berlin the same day, but 23:30 in Berlin on
    Tuesday becomes Wednesday in Tokyo: a weekday is read in the zone the offer showed."""
    late = [Interval(at(BERLIN, 2026, 4, 14, 17), at(BERLIN, 2026, 4, 14, 17, 30)),
            Interval(at(BERLIN, 2026, 4, 15, 17), at(BERLIN, 2026, 4, 15, 17, 30))]
    tokyo = ZoneInfo("Asia/Tokyo")  # 00:00 the next day there
    assert pick_slot("Wednesday is best", late, tokyo).index == 0
    assert pick_slot("Wednesday is best", late, BERLIN).index == 1


# --- calendar proposals: the contract and the gates ----------------------------------------

def calendar_proposal(action_type: str, payload: dict, basis: str = "b") -> dict:
    from dataclasses import asdict

    from aios_assets.agents.proposals import make_proposal

    return asdict(make_proposal(
        agent="followup", manifest_version="1.0.0", action_type=action_type,
        target_entity_id="ent_ada", basis=basis, payload=payload, rationale="test",
        evidence_event_ids=["e1"], confidence=0.8, untrusted_input=True,
        now=datetime(2026, 6, 1, tzinfo=UTC)))


HOLD = {"uid": "aios-4418c7b008ce2a66d5888d85-1", "summary": "Hold: Ada / Maya (audit)",
        "start": "2026-06-02T15:00:00+02:00", "end": "2026-06-02T15:30:00+02:00",
        "tzid": "Europe/Berlin", "attendees": [],
        "description": "Option 1 of 3 offered to Ada by follow-up proposal 4418c7b008ce"}


@pytest.mark.parametrize("change, error", [
    ({"uid": "meeting-1"}, "uid must start with 'aios-'"),
    ({"start": "2026-06-02T15:00:00"}, "has no UTC offset"),
    ({"end": "2026-06-02T14:00:00+02:00"}, "end is not after start"),
    ({"attendees": "ada@acme.io"}, "attendees must be a list"),
    ({"location": "Zoom"}, "unknown keys ['location']"),
])
def test_calendar_payloads_keep_the_adapter_contract(change, error):
    from aios_assets.agents.proposals import ProposalError

    with pytest.raises(ProposalError, match=re.escape(error)):
        calendar_proposal("calendar_hold", {**HOLD, **change})
    with pytest.raises(ProposalError, match=re.escape("payload lacks ['compensates']")):
        calendar_proposal("calendar_cancel", {"uid": HOLD["uid"]})


def test_gates_read_calendar_attendees_as_recipients():
    from aios_assets.publishing.gates import (
        Directory,
        GateContext,
        gate_disclosure,
        gate_opt_out,
        gate_personal_data,
        gate_placeholders,
        gate_policy,
        gate_recipients,
    )

    directory = Directory(email_to_entity={"ada@acme.io": "ent_ada", "bob@globex.com": "ent_bob"},
                          entities=frozenset({"ent_ada", "ent_bob"}), available=True)
    ctx = GateContext(policy=parse_policy(DEFAULT_POLICY_YAML), directory=directory,
                      now=datetime(2026, 6, 1, 1, tzinfo=UTC))
    hold = calendar_proposal("calendar_hold", HOLD)
    for gate in (gate_policy, gate_recipients, gate_opt_out, gate_personal_data,
                 gate_placeholders, gate_disclosure):
        assert gate(hold, ctx).passed, gate.__name__  # the uid's digits are no card number
    confirm = calendar_proposal("calendar_confirm", {**HOLD, "attendees": ["ada@acme.io"]})
    assert gate_recipients(confirm, ctx).passed
    stranger = calendar_proposal("calendar_confirm", {**HOLD, "attendees": ["bob@globex.com"]})
    assert "belongs to ent_bob, not the target ent_ada" in gate_recipients(stranger, ctx).reason
    outsider = calendar_proposal("calendar_confirm", {**HOLD, "attendees": ["x@evil.example"]})
    assert "not a canonical contact" in gate_recipients(outsider, ctx).reason
    opted = GateContext(policy=ctx.policy, directory=directory, now=ctx.now,
                        opted_out=frozenset({"ada@acme.io"}))
    assert not gate_opt_out(confirm, opted).passed


def test_the_agent_reads_working_hours_as_the_gates_do(tmp_path):
    from aios_assets.agents.meetings import calendar_settings
    from aios_assets.agents.runtime import AgentContractError
    from aios_assets.shared.home import AiosHome

    home = AiosHome.from_env(tmp_path)
    assert calendar_settings(home).hours == DEFAULT_HOURS  # no policy file yet: the default
    (tmp_path / "policy.yaml").write_text(DEFAULT_POLICY_YAML.replace("timezone: UTC",
                                                                      "timezone: Europe/Berlin"))
    settings = calendar_settings(home)
    assert settings.tz == BERLIN and settings.hours == DEFAULT_HOURS
    (tmp_path / "policy.yaml").write_text("working_hours: {days: [mon], start: '9am'}\n")
    with pytest.raises(AgentContractError) as err:
        calendar_settings(home)
    assert "policy.yaml: working_hours.start: " in str(err.value)
    assert "'9am'" in str(err.value) and "\n" not in str(err.value)
