"""Markdown notes: one event per file, optional YAML front matter."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aios_assets.ingest.events import Event, Rejection
from aios_assets.ingest.parsers import iter_records

GOOD = Path(__file__).parent / "corpus" / "good"


def note(tmp_path: Path, name: str, text: str, **kwargs: str) -> Event | Rejection:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    (record,) = list(iter_records(path, **kwargs))
    return record


def test_good_note() -> None:
    (event,) = list(iter_records(GOOD / "2024-03-06-weekly-review.md", display_name="n.md"))
    assert isinstance(event, Event)
    assert (event.source, event.kind, event.line, event.file) == ("notes", "note", 1, "n.md")
    assert event.source_id == "2024-03-06-weekly-review"
    assert event.occurred_at == datetime(2024, 3, 8, tzinfo=UTC)  # front matter date wins
    assert event.subject == "Weekly review, week 10"
    assert event.actor == "Sam Operator"
    assert event.text.startswith("# Weekly review\n\n- Acme Logistics")
    assert event.payload == {
        "title": "Weekly review, week 10",
        "date": "2024-03-08",
        "tags": ["review", "acme"],
        "author": "Sam Operator",
    }


def test_front_matter_fields(tmp_path: Path) -> None:
    text = (
        "---\nid: 42\ntitle: Pricing idea\ndate: 2024-03-01T09:30:00+01:00\nkind: idea\n"
        "source: obsidian\nthread: pricing\nauthor: Sam\ntags: [a, b]\nrating: 4\n---\n\nBody.\n"
    )
    event = note(tmp_path, "whatever.md", text)
    assert isinstance(event, Event)
    assert (event.source, event.source_id, event.kind, event.thread, event.actor) == (
        "obsidian",
        "42",
        "idea",
        "pricing",
        "Sam",
    )
    assert event.occurred_at == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    assert event.text == "Body."
    assert event.payload["rating"] == 4 and event.payload["id"] == "42"


def test_without_front_matter(tmp_path: Path) -> None:
    event = note(tmp_path, "2024-02-10 call notes.md", "Intro\n\n# Call with Jane\n\ntext\n")
    assert isinstance(event, Event)
    assert event.source_id == "2024-02-10 call notes"
    assert event.occurred_at == datetime(2024, 2, 10, tzinfo=UTC)
    assert event.subject == "Call with Jane"
    assert event.payload == {}


def test_no_date_anywhere_means_load_time(tmp_path: Path) -> None:
    event = note(tmp_path, "ideas.markdown", "just text")
    assert isinstance(event, Event) and event.occurred_at is None and event.subject is None


@pytest.mark.parametrize(
    ("front", "source_arg", "expected"),
    [("source: obsidian\n", "cli", "obsidian"), ("", "cli", "cli"), ("", None, "notes")],
)
def test_source_precedence(
    tmp_path: Path, front: str, source_arg: str | None, expected: str
) -> None:
    text = f"---\n{front}title: x\n---\nbody\n"
    path = tmp_path / "s.md"
    path.write_text(text)
    (event,) = list(iter_records(path, source=source_arg))
    assert event.source == expected


def test_horizontal_rule_later_is_not_front_matter(tmp_path: Path) -> None:
    event = note(tmp_path, "hr.md", "# Title\n\n---\n\nafter the rule\n")
    assert isinstance(event, Event)
    assert event.text == "# Title\n\n---\n\nafter the rule"


def test_empty_front_matter_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "e.md"
    path.write_bytes(b"---\r\n---\r\n# Head\r\nbody\r\n")
    (event,) = list(iter_records(path))
    assert event.payload == {} and event.subject == "Head" and event.text == "# Head\nbody"


@pytest.mark.parametrize(
    ("text", "field", "reason", "body", "kept"),
    [
        ("---\ntitle: [oops\n---\nbody\n", "front_matter", "invalid YAML front matter", "body",
         {"_front_matter": "title: [oops"}),
        ("---\ntitle: x\nbody without end\n", "front_matter", "front matter not closed",
         "---\ntitle: x\nbody without end", {}),
        ("---\njust a string\n---\nbody\n", "front_matter",
         "front matter must be a YAML mapping, got str", "body",
         {"_front_matter": "just a string"}),
        ("---\ndate: next week\n---\nbody\n", "date", "invalid front matter date", "body",
         {"date": "next week"}),
        ("---\nkind: {a: 1}\n---\nbody\n", "kind", "front matter 'kind' must be a string",
         "body", {"_kind": {"a": 1}}),
    ],
)
def test_broken_front_matter_costs_only_itself(tmp_path: Path, text: str, field: str,
                                               reason: str, body: str, kept: dict) -> None:
    """The note is kept; what was unreadable is a field issue and stays in the payload."""
    event = note(tmp_path, "bad.md", text)
    assert isinstance(event, Event)
    assert (event.text, event.kind, event.occurred_at) == (body, "note", None)
    assert event.payload == kept
    (issue,) = event.issues
    assert issue.field == field and reason in issue.reason


def test_yaml_types_become_json(tmp_path: Path) -> None:
    text = "---\ndate: 2024-01-02\nwhen: 2024-01-02 10:00:00\nset: !!set {a, b}\n2024: year\n---\n"
    event = note(tmp_path, "t.md", text)
    assert isinstance(event, Event)
    assert event.payload == {
        "date": "2024-01-02",
        "when": "2024-01-02T10:00:00",
        "set": ["a", "b"],
        "2024": "year",
    }
    assert len(event.event_id()) == 32
