"""JSONL events: the public event schema, line by line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from aios_assets.ingest.events import Event, Rejection
from aios_assets.ingest.parsers import detect_format, iter_records, parse_file


def rec(source_id: str = "m1", **over: object) -> dict:
    record: dict = {
        "source": "slack",
        "source_id": source_id,
        "kind": "chat_message",
        "occurred_at": "2024-03-01T10:00:00Z",
        "actor": "Jane Doe",
        "thread": "general",
        "subject": None,
        "text": "hello",
        "payload": {"channel": "#ops"},
    }
    record.update(over)
    return record


def write(path: Path, *lines: dict | str) -> Path:
    path.write_text(
        "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


def test_record_maps_to_event(tmp_path: Path) -> None:
    path = write(tmp_path / "chat.jsonl", rec())
    (event,) = list(iter_records(path))
    assert event == Event(
        source="slack",
        source_id="m1",
        kind="chat_message",
        occurred_at=datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        text="hello",
        actor="Jane Doe",
        thread="general",
        subject=None,
        payload={"channel": "#ops"},
        file=str(path),
        line=1,
    )


def test_ndjson_extension_and_display_name(tmp_path: Path) -> None:
    path = write(tmp_path / "chat.NDJSON", rec())
    assert detect_format(path) == "jsonl"
    (event,) = list(iter_records(path, display_name="inbox/chat.ndjson"))
    assert event.file == "inbox/chat.ndjson"


def test_timestamps_are_utc(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.jsonl",
        rec("a", occurred_at="2024-03-01T12:00:00+02:00"),
        rec("b", occurred_at="2024-03-01T10:00:00"),
        rec("c", occurred_at="2024-03-01"),
    )
    times = [e.occurred_at for e in iter_records(path)]
    assert times == [
        datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2024, 3, 1, 0, 0, tzinfo=UTC),
    ]


def test_unknown_keys_go_to_payload_extra(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.jsonl",
        rec("a", rating=5, tags=["x"]),
        rec("b", payload=None, rating=4),
        rec("c", payload={"_extra": {"old": 1}}, rating=3),
    )
    payloads = [e.payload for e in iter_records(path)]
    assert payloads == [
        {"channel": "#ops", "_extra": {"rating": 5, "tags": ["x"]}},
        {"_extra": {"rating": 4}},
        {"_extra": {"old": 1, "rating": 3}},
    ]


def test_optional_fields_may_be_missing(tmp_path: Path) -> None:
    minimal = {k: rec()[k] for k in ("source", "source_id", "kind", "occurred_at", "text")}
    path = write(tmp_path / "m.jsonl", minimal, rec("e", text=""))
    first, second = list(iter_records(path))
    assert first.actor is None and first.thread is None and first.payload is None
    assert second.text == ""


def test_blank_lines_are_skipped_and_lines_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "b.jsonl", "", rec("a"), "   ", "", rec("b"))
    assert [e.line for e in iter_records(path)] == [2, 5]


def test_rejections_keep_line_reason_raw_and_source(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", rec("a"), '{"source": "slack", "x": ', rec("c", kind=None))
    result = parse_file(path, display_name="r.jsonl")
    assert [e.source_id for e in result.events] == ["a"]
    bad_json, missing = result.rejections
    assert bad_json == Rejection(
        file="r.jsonl",
        line=2,
        reason=bad_json.reason,
        raw='{"source": "slack", "x":',
        source=None,
        fmt="jsonl",
    )
    assert bad_json.reason.startswith("invalid JSON: ") and "(col " in bad_json.reason
    assert (missing.line, missing.reason, missing.source) == (
        3,
        "missing required field 'kind'",
        "slack",
    )


def test_long_bad_line_raw_is_cut_to_2000_chars(tmp_path: Path) -> None:
    path = write(tmp_path / "long.jsonl", '{"text": "' + "z" * 5000)
    (rejection,) = list(iter_records(path))
    assert len(rejection.raw) == 2000


def test_source_argument_does_not_override_the_records_source(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", rec())
    (event,) = list(iter_records(path, source="other"))
    assert event.source == "slack"


def test_same_file_twice_gives_identical_event_ids(tmp_path: Path) -> None:
    path = write(tmp_path / "same.jsonl", rec("a"), rec("b", text="second"))
    first = [e.event_id() for e in iter_records(path)]
    second = [e.event_id() for e in iter_records(path)]
    assert first == second and len(set(first)) == 2


def test_corrected_record_gets_a_new_event_id(tmp_path: Path) -> None:
    original = write(tmp_path / "v1.jsonl", rec("a", text="Meeting at 10"))
    corrected = write(tmp_path / "v2.jsonl", rec("a", text="Meeting at 11"))
    (old,) = list(iter_records(original))
    (new,) = list(iter_records(corrected))
    assert old.source_id == new.source_id
    assert old.event_id() != new.event_id()


def test_provenance_does_not_change_the_event_id(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", rec("a"))
    b = write(tmp_path / "b.jsonl", "", rec("a"))
    (ea,) = list(iter_records(a))
    (eb,) = list(iter_records(b))
    assert (ea.file, ea.line) != (eb.file, eb.line)
    assert ea.event_id() == eb.event_id()


def test_huge_integers_do_not_break_the_event_hash(tmp_path: Path) -> None:
    path = write(tmp_path / "int.jsonl", json.dumps(rec("a", payload={"n": 10**30})))
    (event,) = list(iter_records(path))
    assert event.payload == {"n": 1e30}
    assert len(event.event_id()) == 32


def test_unicode_text_survives(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps(rec(text="Zoë ☃ 日本"), ensure_ascii=False) + "\n", encoding="utf-8")
    (event,) = list(iter_records(path))
    assert event.text == "Zoë ☃ 日本"


def test_chat_transcript_good_corpus() -> None:
    path = Path(__file__).parent / "corpus" / "good" / "support_chat.jsonl"
    events = list(iter_records(path))
    assert all(isinstance(e, Event) for e in events)
    assert [e.kind for e in events] == ["chat_message"] * 3 + ["transcript_turn"]
    assert {e.thread for e in events} == {"conv-88", "mtg-2024-03-12"}
    assert events[2].payload == {"channel": "web", "_extra": {"agent_rating": 5}}
