"""The bad-input corpus: every file in tests/corpus/bad parses exactly as EXPECTED.yaml says.

Plus the cases too big to commit (records over 1 MB, files over 50 MB, unreadable paths), made
here in tmp_path.
"""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC
from pathlib import Path

import orjson
import pytest
import yaml

from aios_assets.ingest.events import MAX_TEXT_CHARS, Event, Rejection
from aios_assets.ingest.parsers import FORMATS, detect_format, is_mapping_file, iter_records

CORPUS = Path(__file__).parent / "corpus" / "bad"
GOOD = Path(__file__).parent / "corpus" / "good"
EXPECTED: dict = yaml.safe_load((CORPUS / "EXPECTED.yaml").read_text(encoding="utf-8"))


def _files(folder: Path) -> list[Path]:
    # the corpus's own records (what each file is for, where it comes from) are not input
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.name not in ("EXPECTED.yaml", "README.md"))


def _split(records: list[Event | Rejection]) -> tuple[list[Event], list[Rejection]]:
    events = [r for r in records if isinstance(r, Event)]
    rejections = [r for r in records if isinstance(r, Rejection)]
    assert len(events) + len(rejections) == len(records)
    return events, rejections


def _check_invariants(name: str, records: list[Event | Rejection]) -> None:
    """What holds for every record of every file, good or bad."""
    for r in records:
        assert r.file == name
        if isinstance(r, Rejection):
            assert r.reason and r.reason.strip() and "\n" not in r.reason
            assert not r.reason.startswith("internal parser error"), r.reason
            assert len(r.raw) <= 2000
            assert r.fmt == detect_format(Path(name))
        else:
            assert isinstance(r.line, int) and r.line >= 1
            assert r.source and r.source_id and r.kind
            assert r.occurred_at is None or r.occurred_at.tzinfo == UTC
            assert len(r.text) <= MAX_TEXT_CHARS
            assert len(r.event_id()) == 32
            orjson.dumps(r.payload)  # the payload is plain JSON


def test_every_corpus_file_is_listed() -> None:
    names = {p.name for p in _files(CORPUS)}
    assert names == set(EXPECTED), (
        f"not in EXPECTED.yaml: {sorted(names - set(EXPECTED))}; "
        f"listed but missing: {sorted(set(EXPECTED) - names)}"
    )


def test_corpus_is_small_and_covers_every_format() -> None:
    files = _files(CORPUS)
    parsed = [p for p in files if not is_mapping_file(p)]
    assert len(parsed) >= 36
    assert all(p.stat().st_size < 20_000 for p in files)
    formats = {detect_format(p) for p in parsed}
    assert set(FORMATS.values()) <= formats
    assert None in formats  # unknown extensions too
    assert any(is_mapping_file(p) for p in files)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name: str) -> None:
    spec = EXPECTED[name]
    path = CORPUS / name
    if spec.get("sidecar"):
        assert is_mapping_file(path)
        assert (CORPUS / (name.split(".mapping.")[0] + ".csv")).is_file()
        return
    records = list(iter_records(path, display_name=name))
    _check_invariants(name, records)
    events, rejections = _split(records)
    got = [(r.line, r.reason) for r in rejections]
    assert len(events) == spec["events"], got
    if "event_lines" in spec:
        assert [e.line for e in events] == spec["event_lines"]
    expected = spec.get("rejections") or []
    assert len(rejections) == len(expected), got
    for (line, reason), want in zip(got, expected, strict=True):
        assert line == want["line"], (reason, want)
        assert want["reason"] in reason, (line, reason, want)
    issues = [(e.line, i.field, i.reason) for e in events for i in e.issues]
    want_issues = spec.get("field_issues") or []
    assert len(issues) == len(want_issues), issues
    for (line, fld, reason), want in zip(issues, want_issues, strict=True):
        assert (line, fld) == (want["line"], want["field"]), (line, fld, reason, want)
        assert want["reason"] in reason, (line, reason, want)
    if "decoded_as" in spec:
        assert events and all(e.payload["_decoded_as"] == spec["decoded_as"] for e in events)
    else:
        assert not any(e.payload and "_decoded_as" in e.payload for e in events)


@pytest.mark.parametrize("path", _files(GOOD), ids=lambda p: p.name)
def test_good_corpus_has_no_rejections(path: Path) -> None:
    if is_mapping_file(path):
        return
    records = list(iter_records(path, display_name=path.name))
    _check_invariants(path.name, records)
    events, rejections = _split(records)
    assert events and not rejections, rejections


# --- made at test time -------------------------------------------------------------------------


def _record(i: int, text: str = "hi") -> str:
    return json.dumps(
        {
            "source": "chat",
            "source_id": f"m{i}",
            "kind": "chat_message",
            "occurred_at": "2024-03-01T10:00:00Z",
            "text": text,
        }
    )


@pytest.mark.parametrize("size", [1_200_000, 3_000_000])
def test_jsonl_line_over_1mb_is_rejected_and_the_file_goes_on(tmp_path: Path, size: int) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join([_record(1), _record(2, "x" * size), _record(3)]) + "\n")
    events, rejections = _split(list(iter_records(path)))
    assert [e.line for e in events] == [1, 3]
    assert [(r.line, r.reason) for r in rejections] == [
        (2, f"record too large ({size / 1e6:.1f} MB > 1 MB)")
    ]
    assert len(rejections[0].raw) == 2000


def test_jsonl_line_of_exactly_1mb_is_accepted(tmp_path: Path) -> None:
    line = _record(1, "")
    line = line.replace('"text": ""', '"text": "' + "y" * (MAX_TEXT_CHARS - len(line)) + '"')
    assert len(line) == MAX_TEXT_CHARS
    path = tmp_path / "edge.jsonl"
    path.write_text(line + "\r\n")
    events, rejections = _split(list(iter_records(path)))
    assert len(events) == 1 and not rejections


def test_csv_row_over_1mb_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "source_id,first_name,email\n"
        "c1,Ann,ann@example.com\n"
        f"c2,{'B' * 1_100_000},b@example.com\n"
        "c3,Cy,cy@example.com\n"
    )
    events, rejections = _split(list(iter_records(path)))
    assert [e.source_id for e in events] == ["c1", "c3"]
    assert [(r.line, r.reason[:17]) for r in rejections] == [(3, "record too large ")]


def test_mbox_message_with_text_over_1mb_is_rejected(tmp_path: Path) -> None:
    def message(n: int, body: str) -> str:
        return (
            f"From a@x Mon Mar  4 09:00:0{n} 2024\nFrom: A <a@x.com>\n"
            f"Date: Mon, 04 Mar 2024 09:00:0{n} +0000\nMessage-ID: <m{n}@x>\n\n{body}\n\n"
        )

    big = "\n".join(["word " * 20] * 12_000)  # 1.2 MB of text in ordinary lines
    path = tmp_path / "big.mbox"
    path.write_text(message(1, "small") + message(2, big) + message(3, "small too"))
    events, rejections = _split(list(iter_records(path)))
    assert [e.source_id for e in events] == ["m1@x", "m3@x"]
    assert [r.line for r in rejections] == [8]
    assert rejections[0].reason.startswith("record too large")


@pytest.mark.parametrize("suffix", [".md", ".ics", ".eml"])
def test_whole_file_formats_over_50mb_are_refused_unread(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"huge{suffix}"
    with path.open("wb") as f:  # a sparse 60 MB file: nothing much written to disk
        f.write(b"# Title\n" + b"text line\n" * 1000)
        f.truncate(60_000_000)
    records = list(iter_records(path))
    assert [(r.line, r.reason) for r in records] == [(None, "file too large (60.0 MB > 50 MB)")]


def test_missing_file_and_directory_are_one_rejection_each(tmp_path: Path) -> None:
    (tmp_path / "dir.jsonl").mkdir()
    for name in ("missing.csv", "dir.jsonl"):
        records = list(iter_records(tmp_path / name, display_name=name))
        assert len(records) == 1
        r = records[0]
        assert isinstance(r, Rejection) and r.file == name and r.line is None
        assert r.reason.startswith("cannot read file: ")


def test_jsonl_is_streamed_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    with path.open("w") as f:
        for i in range(30_000):
            f.write(_record(i, "some ordinary chat text " * 8) + "\n")
    assert path.stat().st_size > 6_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_records(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 30_000
    assert peak < 3_000_000, f"peak {peak} bytes: the file is being held in memory"


def test_reasons_stay_short_when_the_bad_value_is_huge(tmp_path: Path) -> None:
    jsonl = tmp_path / "ts.jsonl"
    jsonl.write_text(_record(1).replace("2024-03-01T10:00:00Z", "9" * 500_000) + "\n")
    csv_file = tmp_path / "inv.csv"
    csv_file.write_text(f"invoice_id,customer_name,amount\nI1,Ann,{'x' * 500_000}\n")
    (event,) = list(iter_records(jsonl))  # a bad event time is a field issue
    (issue,) = event.issues
    assert len(issue.reason) <= 600 and len(issue.raw or "") <= 500
    (rejection,) = list(iter_records(csv_file))
    assert isinstance(rejection, Rejection)
    assert len(rejection.reason) <= 600 and "\n" not in rejection.reason


def test_csv_header_over_1mb_quarantines_the_file(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("source_id," + ",".join(f"col{i}" for i in range(150_000)) + "\nc1,x\n")
    (rejection,) = list(iter_records(path))
    assert isinstance(rejection, Rejection) and rejection.line == 1
    assert rejection.reason.startswith("CSV header record too large")
