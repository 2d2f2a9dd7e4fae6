"""Property tests: whatever the input, iter_records never raises and never drops a line silently.

Random bytes, random JSON objects and random CSV rows are thrown at the parsers. For JSONL and CSV
the stronger property holds: every non-blank input line (CSV: every non-blank row) comes out as
exactly one event or one rejection carrying that line number, unless the whole file is
quarantined by one line-less rejection.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aios_assets.ingest.events import Event, Rejection
from aios_assets.ingest.parsers import FORMATS, iter_records

# AIOS_FUZZ_EXAMPLES=5000 for a deeper run
SETTINGS = settings(
    max_examples=int(os.environ.get("AIOS_FUZZ_EXAMPLES", "200")),
    deadline=None,
    database=None,  # no .hypothesis/ folder in the tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def parse(name: str, data: bytes) -> list[Event | Rejection]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        records = list(iter_records(path, display_name=name))
    for r in records:
        assert isinstance(r, Event | Rejection)
        assert r.file == name
        if isinstance(r, Rejection):
            assert r.reason.strip(), r
            assert not r.reason.startswith("internal parser error"), r.reason
            assert r.line is None or r.line >= 1
        else:
            assert r.line is not None and r.line >= 1
            assert r.source and r.source_id
            r.event_id()  # hashable content
            orjson.dumps(r.payload)
    return records


def whole_file_rejection(records: list[Event | Rejection]) -> bool:
    if len(records) == 1 and isinstance(records[0], Rejection) and records[0].line is None:
        return True
    assert all(r.line is not None for r in records), records
    return False


# --- random bytes for every format ----------------------------------------------------------------

EXTENSIONS = [*sorted(FORMATS), ".txt", ""]


@SETTINGS
@given(ext=st.sampled_from(EXTENSIONS), data=st.binary(max_size=3000))
def test_random_bytes_never_raise_and_never_vanish(ext: str, data: bytes) -> None:
    records = parse(f"random{ext}", data)
    assert records, "a file must yield at least one event or rejection"


@SETTINGS
@given(ext=st.sampled_from(sorted(FORMATS)), text=st.text(max_size=2000))
def test_random_text_never_raises(ext: str, text: str) -> None:
    assert parse(f"random{ext}", text.encode("utf-8"))


# --- JSONL ----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
timestamps = st.sampled_from(
    ["2024-03-01T10:00:00Z", "2024-03-01", "2024-02-30", "", "0001-01-01T00:00:00+01:00", "x"]
) | st.text(max_size=25)
records = st.fixed_dictionaries(
    {},
    optional={
        "source": st.sampled_from(["slack", "", " "]) | json_values,
        "source_id": st.text(max_size=10) | json_values,
        "kind": st.just("chat_message") | json_values,
        "occurred_at": timestamps | json_values,
        "text": st.text(max_size=30) | json_values,
        "actor": st.text(max_size=10) | json_values,
        "thread": st.none() | json_values,
        "subject": st.none() | json_values,
        "payload": st.dictionaries(st.text(max_size=5), json_values, max_size=3) | json_values,
        "extra": json_values,
    },
)
jsonl_lines = st.lists(
    records.map(lambda r: json.dumps(r, ensure_ascii=False))
    | json_values.map(json.dumps)
    | st.text(max_size=60).filter(lambda s: "\n" not in s and "\r" not in s),
    max_size=25,
)


@SETTINGS
@given(lines=jsonl_lines, crlf=st.booleans())
def test_every_jsonl_line_is_an_event_or_a_rejection(lines: list[str], crlf: bool) -> None:
    data = (("\r\n" if crlf else "\n").join(lines)).encode("utf-8")
    records = parse("fuzz.jsonl", data)
    if whole_file_rejection(records):
        return
    expected = [i for i, line in enumerate(data.split(b"\n"), 1) if line.strip()]
    assert [r.line for r in records] == expected


@SETTINGS
@given(record=records)
def test_valid_looking_records_round_trip(record: dict) -> None:
    (out,) = parse("one.jsonl", json.dumps(record).encode() + b"\n")
    if isinstance(out, Event):
        assert out.source == record["source"] and out.source_id == record["source_id"]
        assert out.text == record["text"]
        assert out.occurred_at is not None and out.occurred_at.utcoffset().total_seconds() == 0


# --- CSV ------------------------------------------------------------------------------------------

HEADERS = {
    "contacts": ["source_id", "first_name", "email", "updated_at", "dob", "Notes"],
    "invoices": ["invoice_id", "customer_email", "amount", "currency", "issued_at"],
    "payments": ["payment_id", "invoice_id", "paid_at", "amount"],
    "content_metrics": ["post_id", "sent_at", "opens", "clicks"],
}
cells = st.text(max_size=12).filter(lambda s: "\x00" not in s) | st.sampled_from(
    ["", "2024-03-01", "03/04/2024", "1,234.50", "$5", "12", "-3", "a@b.co"]
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """A CSV (bytes) and the line each non-blank data row starts on."""
    header = draw(st.sampled_from(list(HEADERS.values())))
    rows = draw(
        st.lists(
            st.lists(cells, min_size=max(1, len(header) - 1), max_size=len(header) + 1),
            max_size=15,
        )
    )
    buf = io.StringIO()
    # "\r\n" as Excel writes it: the writer then quotes any field holding a "\r" or "\n"
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    starts = []
    for row in rows:
        line = buf.getvalue().count("\n") + 1
        writer.writerow(row)
        if any(c.strip() for c in row):
            starts.append(line)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig"]))
    return buf.getvalue().encode(encoding), starts


@SETTINGS
@given(csv_file=csv_files())
def test_every_csv_row_is_an_event_or_a_rejection(csv_file: tuple[bytes, list[int]]) -> None:
    data, starts = csv_file
    records = parse("fuzz.csv", data)
    if not starts:
        assert len(records) == 1 and records[0].reason.startswith("empty file")
        return
    assert [r.line for r in records] == starts


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_random_bytes_as_csv_rows(data: bytes) -> None:
    parse("rows.csv", b"source_id,full_name,email\n" + data.replace(b"\x00", b""))
