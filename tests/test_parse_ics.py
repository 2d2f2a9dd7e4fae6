"""iCalendar: one meeting event per VEVENT."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aios_assets.ingest.events import Event, Rejection, extract_entity_refs
from aios_assets.ingest.parsers import iter_records

GOOD = Path(__file__).parent / "corpus" / "good"

HEAD = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n"


def vevent(uid: str, start: str = "DTSTART:20240312T100000Z", *extra: str) -> str:
    return "\n".join(["BEGIN:VEVENT", f"UID:{uid}", start, *extra, "END:VEVENT"]) + "\n"


def write(path: Path, *events: str, tail: str = "END:VCALENDAR\n") -> Path:
    path.write_text(HEAD + "".join(events) + tail)
    return path


def test_good_calendar() -> None:
    kickoff, review = list(iter_records(GOOD / "meetings.ics", display_name="meetings.ics"))
    assert isinstance(kickoff, Event) and isinstance(review, Event)
    assert (kickoff.source, kickoff.kind, kickoff.line) == ("calendar", "meeting", 19)
    assert kickoff.source_id == kickoff.thread == "q2-dashboard-kickoff@samconsulting.io"
    assert kickoff.occurred_at == datetime(2024, 3, 12, 14, 0, tzinfo=UTC)  # 10:00 EDT
    assert kickoff.actor == "Sam Operator <sam@samconsulting.io>"
    assert kickoff.subject == "Q2 dashboard kickoff"
    assert kickoff.text == "Agenda:\n1. Scope\n2. Data sources\n3. Timeline"
    assert kickoff.payload == {
        "organizer": "Sam Operator <sam@samconsulting.io>",
        "attendees": [
            {"name": "Jane Doe", "email": "jane@acme-logistics.com"},
            {"name": "Lee, Chris", "email": "chris.lee@acme-logistics.com"},
        ],
        "start": "2024-03-12T10:00:00-04:00",
        "end": "2024-03-12T11:00:00-04:00",
        "location": "Zoom",
        "status": "CONFIRMED",
    }
    assert review.payload["end"] == "2024-03-15T14:30:00+00:00"  # from DURATION
    assert review.line == 32


def test_entity_refs_of_a_meeting() -> None:
    kickoff = next(iter(iter_records(GOOD / "meetings.ics")))
    refs = extract_entity_refs(kickoff)
    assert {"sam@samconsulting.io", "jane@acme-logistics.com"} <= set(refs["emails"])
    assert "Jane Doe" in refs["names"]


def test_all_day_event_and_source_argument(tmp_path: Path) -> None:
    path = write(tmp_path / "a.ics", vevent("day@x", "DTSTART;VALUE=DATE:20240401"))
    (event,) = list(iter_records(path, source="google-calendar"))
    assert event.source == "google-calendar"
    assert event.occurred_at == datetime(2024, 4, 1, tzinfo=UTC)
    assert event.payload["start"] == "2024-04-01"
    assert event.text == "" and event.actor is None and event.payload["attendees"] == []


def test_recurrence_id_makes_the_occurrence_its_own_record(tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.ics",
        vevent("weekly@x", "DTSTART:20240312T100000Z", "RRULE:FREQ=WEEKLY"),
        vevent("weekly@x", "DTSTART:20240319T120000Z", "RECURRENCE-ID:20240319T100000Z"),
    )
    series, moved = list(iter_records(path))
    assert series.source_id == "weekly@x"
    assert moved.source_id == "weekly@x#2024-03-19T10:00:00+00:00"
    assert series.thread == moved.thread == "weekly@x"


def test_one_broken_block_does_not_change_the_others(tmp_path: Path) -> None:
    good = [vevent("a@x"), vevent("b@x", "DTSTART:20240313T100000Z", "SUMMARY:B")]
    whole = list(iter_records(write(tmp_path / "ok.ics", *good)))
    # An unclosed VEVENT at the end makes the whole-calendar parse unreliable: blocks are then
    # parsed one by one, and the good events must come out the same.
    broken = write(tmp_path / "broken.ics", *good, "BEGIN:VEVENT\nUID:c@x\n")
    records = list(iter_records(broken))
    assert [e.event_id() for e in records[:2]] == [e.event_id() for e in whole]
    assert isinstance(records[2], Rejection) and records[2].line == 13
    assert records[2].reason == "VEVENT not closed (no END:VEVENT)"


def test_timezone_from_vtimezone_in_block_by_block_mode(tmp_path: Path) -> None:
    tz = (
        "BEGIN:VTIMEZONE\nTZID:Custom Zone\nBEGIN:STANDARD\nDTSTART:19701101T020000\n"
        "TZOFFSETFROM:-0700\nTZOFFSETTO:-0800\nEND:STANDARD\nEND:VTIMEZONE\n"
    )
    event = vevent("tz@x", "DTSTART;TZID=Custom Zone:20240105T100000")
    path = write(tmp_path / "tz.ics", tz, event, "BEGIN:VEVENT\nUID:cut@x\n")
    first, cut = list(iter_records(path))
    assert first.occurred_at == datetime(2024, 1, 5, 18, 0, tzinfo=UTC)
    assert isinstance(cut, Rejection)


def test_windows_timezone_names(tmp_path: Path) -> None:
    path = write(
        tmp_path / "w.ics", vevent("w@x", "DTSTART;TZID=W. Europe Standard Time:20240105T100000")
    )
    (event,) = list(iter_records(path))
    assert event.occurred_at == datetime(2024, 1, 5, 9, 0, tzinfo=UTC)


def test_unreadable_minor_property_is_noted_not_fatal(tmp_path: Path) -> None:
    path = write(tmp_path / "m.ics", vevent("m@x", "DTSTART:20240105T100000Z", "DTEND:garbage"))
    (event,) = list(iter_records(path))
    assert isinstance(event, Event)
    assert event.payload["end"] is None
    assert "DTEND" in event.payload["_errors"]


def test_rejections(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.ics",
        vevent("ok@x"),
        "BEGIN:VEVENT\nSUMMARY:no start, no uid\nEND:VEVENT\n",
        "BEGIN:VEVENT\nUID:nostart@x\nEND:VEVENT\n",
        vevent("bad@x", "DTSTART:tomorrow"),
    )
    records = list(iter_records(path))
    assert [(type(r).__name__, r.line) for r in records] == [
        ("Event", 4),
        ("Rejection", 8),
        ("Rejection", 11),
        ("Rejection", 14),
    ]
    reasons = [r.reason for r in records[1:]]
    assert reasons[:2] == ["VEVENT without DTSTART", "VEVENT without DTSTART"]
    assert reasons[2].startswith("invalid DTSTART")
    assert all(r.source == "calendar" and r.fmt == "ics" for r in records[1:])


NO_UID = (
    "BEGIN:VEVENT\nDTSTART:20240313T100000Z\nSUMMARY:Weekly sync\n"
    "ORGANIZER;CN=Jane Doe:mailto:jane@acme.com\nLOCATION:Room 4\nEND:VEVENT\n"
)


def test_vevent_without_uid_gets_a_stable_derived_id(tmp_path: Path) -> None:
    first = write(tmp_path / "a.ics", vevent("ok@x"), NO_UID)
    _, event = list(iter_records(first))
    assert isinstance(event, Event) and event.line == 8
    assert event.source_id.startswith("derived-") and len(event.source_id) == 40
    assert event.thread == event.source_id
    assert (event.subject, event.actor) == ("Weekly sync", "Jane Doe <jane@acme.com>")
    assert event.occurred_at == datetime(2024, 3, 13, 10, 0, tzinfo=UTC)
    (issue,) = event.issues
    assert (issue.field, issue.raw) == ("source_id", None)
    assert issue.reason.startswith("VEVENT without UID; id derived from DTSTART, SUMMARY")
    # the same meeting exported again, at another place in another file: the same id
    again = write(tmp_path / "b.ics", NO_UID, vevent("more@x"))
    event2, _ = list(iter_records(again))
    assert event2.line == 4 and event2.source_id == event.source_id
    # another meeting: another id
    other = write(tmp_path / "c.ics", NO_UID.replace("Weekly sync", "Retro"))
    (event3,) = list(iter_records(other))
    assert event3.source_id != event.source_id


def test_not_a_calendar(tmp_path: Path) -> None:
    path = tmp_path / "x.ics"
    path.write_text("hello\n")
    (rejection,) = list(iter_records(path))
    assert rejection.reason == "not an iCalendar file (no BEGIN:VCALENDAR)"
