"""CSV exports: kind by headers, mapping files, values, line numbers, encodings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aios_assets.ingest.events import Event, Rejection, extract_entity_refs
from aios_assets.ingest.formats.tabular import parse_amount, parse_count, parse_date_value
from aios_assets.ingest.parsers import (
    CsvMapping,
    InvalidMapping,
    iter_records,
    load_mapping,
    parse_file,
)

GOOD = Path(__file__).parent / "corpus" / "good"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("header", "row", "kind", "source", "source_id"),
    [
        ("source_id,full_name", "c1,Ann Lee", "contact", "crm", "c1"),
        ("source_id,email", "c1,ann@example.com", "contact", "crm", "c1"),
        ("invoice_id,customer_name,amount", "I1,Ann,10", "invoice", "billing", "I1"),
        ("payment_id,invoice_id,paid_at,amount", "P1,I1,2024-01-01,10", "payment", "billing", "P1"),
        ("post_id,sent_at", "p1,2024-01-01", "content_metrics", "newsletter", "p1"),
        ("Post ID,Sent At", "p1,2024-01-01", "content_metrics", "newsletter", "p1"),
    ],
)
def test_kind_is_detected_by_headers(
    tmp_path: Path, header: str, row: str, kind: str, source: str, source_id: str
) -> None:
    path = write(tmp_path / "export.csv", f"{header}\n{row}\n")
    (event,) = list(iter_records(path))
    assert isinstance(event, Event), event
    assert (event.kind, event.source, event.source_id, event.line) == (kind, source, source_id, 2)


def test_source_argument_overrides_the_default(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "source_id,email\nc1,a@x.com\n")
    (event,) = list(iter_records(path, source="hubspot"))
    assert event.source == "hubspot"


def test_contact_payload_text_actor_and_time(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.csv",
        "source_id,first_name,last_name,email,phone,company,title,updated_at,Owner\n"
        "c1, Jane ,Doe,jane@acme.com,,Acme,CTO,2024-03-01T10:00:00+01:00,sam\n"
        "c2,Bob,,,,,,,\n",
    )
    jane, bob = list(iter_records(path))
    assert jane.payload == {
        "source_id": "c1",
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@acme.com",
        "phone": None,
        "company": "Acme",
        "title": "CTO",
        "updated_at": "2024-03-01T09:00:00+00:00",
        "Owner": "sam",
    }
    assert jane.occurred_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert jane.actor == "Jane Doe"
    assert jane.text == "Contact Jane Doe <jane@acme.com>; CTO at Acme"
    assert bob.occurred_at is None  # the loader uses load time
    assert bob.actor == "Bob"


def test_contact_entity_refs(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.csv",
        "source_id,first_name,last_name,email,phone\nc1,Jane,Doe,Jane@Acme.com,+1 415 555 0142\n",
    )
    (event,) = list(iter_records(path))
    refs = extract_entity_refs(event)
    assert "jane@acme.com" in refs["emails"]
    assert "Jane Doe" in refs["names"]
    assert "+14155550142" in refs["phones"]


def test_invoice_amount_currency_and_thread(tmp_path: Path) -> None:
    path = write(
        tmp_path / "i.csv",
        "invoice_id,customer_email,amount,currency,issued_at\n"
        'I1,a@x.com,"$1,234.50",,2024-01-15\n'
        "I2,a@x.com,€99,,2024-01-16\n"
        "I3,a@x.com,100,gbp,\n",
    )
    events = list(iter_records(path))
    assert [(e.payload["amount"], e.payload["currency"]) for e in events] == [
        (1234.5, None),
        (99.0, "EUR"),
        (100.0, "GBP"),
    ]
    assert [e.thread for e in events] == ["I1", "I2", "I3"]
    assert events[2].occurred_at is None


def test_quoted_newlines_keep_physical_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.csv",
        'source_id,full_name,street\nc1,Ann,"1 Main St\nApt 2\nBack door"\nc2,Bob,x\nc3,,\n',
    )
    records = list(iter_records(path))
    assert [(type(r).__name__, r.line) for r in records] == [
        ("Event", 2),
        ("Event", 5),
        ("Rejection", 6),
    ]
    assert records[0].payload["street"] == "1 Main St\nApt 2\nBack door"


def test_cp1252_file_is_decoded_and_noted(tmp_path: Path) -> None:
    path = write(tmp_path / "l.csv", "source_id,full_name\nc1,José Müller\n", "cp1252")
    (event,) = list(iter_records(path))
    assert event.payload["full_name"] == "José Müller"
    assert event.payload["_decoded_as"] == "cp1252"


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "b.csv", "\ufeffsource_id,email\nc1,a@x.com\n")
    (event,) = list(iter_records(path))
    assert event.source_id == "c1"


def test_unknown_headers_quarantine_the_whole_file(tmp_path: Path) -> None:
    path = write(tmp_path / "weird.csv", "a,b\n1,2\n3,4\n")
    (rejection,) = list(iter_records(path))
    assert isinstance(rejection, Rejection) and rejection.line == 1
    for expected in ("contacts (source_id", "invoices (invoice_id", "payments", "got: a, b"):
        assert expected in rejection.reason
    assert "weird.mapping.yaml" in rejection.reason


# --- mapping files --------------------------------------------------------------------------------

MAPPING = """kind: contacts
source: hubspot
columns:
  source_id: Record ID
  first_name: First Name
  email: Email Address
"""


def test_sidecar_mapping_is_found(tmp_path: Path) -> None:
    path = write(
        tmp_path / "export.csv", "Record ID,First Name,Email Address,Stage\n7,Ann,a@x,lead\n"
    )
    write(tmp_path / "export.mapping.yaml", MAPPING)
    (event,) = list(iter_records(path))
    assert (event.source, event.kind, event.source_id) == ("hubspot", "contact", "7")
    assert event.payload == {"source_id": "7", "first_name": "Ann", "email": "a@x", "Stage": "lead"}


def test_explicit_mapping_and_source_win(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "Record ID,First Name,Email Address\n7,Ann,a@x\n")
    write(tmp_path / "export.mapping.yaml", "kind: invoices\ncolumns: {invoice_id: nope}\n")
    explicit = write(tmp_path / "other.yaml", MAPPING)
    (event,) = list(iter_records(path, mapping=explicit))
    assert event.source == "hubspot"
    (event,) = list(iter_records(path, mapping=explicit, source="crm2"))
    assert event.source == "crm2"


def test_mapping_headers_match_case_insensitively_and_canonical_names_still_count(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "e.csv", "RECORD ID,email,updated_at\n7,a@x,2024-01-01\n")
    mapping = write(tmp_path / "m.yaml", "kind: contacts\ncolumns:\n  source_id: Record ID\n")
    (event,) = list(iter_records(path, mapping=mapping))
    assert event.payload == {"source_id": "7", "email": "a@x", "updated_at": "2024-01-01"}


def test_mapping_naming_a_missing_optional_header_rejects_the_file(tmp_path: Path) -> None:
    # the export renamed "Email Address" to "E-mail": the emails must not vanish into extras
    path = write(tmp_path / "export.csv", "Record ID,First Name,E-mail\n7,Ann,a@x\n8,Bo,b@x\n")
    write(tmp_path / "export.mapping.yaml", MAPPING)
    (rejection,) = list(iter_records(path))
    assert isinstance(rejection, Rejection) and rejection.line == 1
    assert rejection.reason == (
        "mapping column 'Email Address' (for email) is not in the CSV header"
    )


def test_unmapped_headers_named_like_canonical_columns_are_used(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.csv", "Record ID,EMAIL,Last Name,Phone\n7,A@x.com,Lee,+44 20 7946 0000\n"
    )
    mapping = write(tmp_path / "m.yaml", "kind: contacts\ncolumns:\n  source_id: Record ID\n")
    (event,) = list(iter_records(path, mapping=mapping))
    assert event.payload == {
        "source_id": "7", "email": "A@x.com", "last_name": "Lee", "phone": "+44 20 7946 0000"
    }


def test_load_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "m.mapping.yaml", MAPPING)
    assert load_mapping(path) == CsvMapping(
        kind="contacts",
        source="hubspot",
        columns={"source_id": "Record ID", "first_name": "First Name", "email": "Email Address"},
        path=path,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: [contacts\n", "not valid YAML"),
        ("- a\n- b\n", "expected a YAML mapping"),
        ("kind: leads\ncolumns: {source_id: ID}\n", "'kind' must be one of"),
        ("kind: contacts\n", "'columns' must map"),
        ("kind: contacts\ncolumns: {nickname: Nick}\n", "'nickname' is not a contacts column"),
        ("kind: contacts\ncolumns: {source_id: ''}\n", "must name a header"),
        ("kind: contacts\ncolums: {source_id: ID}\n", "unknown key 'colums'"),
        ("kind: contacts\nsource: 3\ncolumns: {source_id: ID}\n", "'source' must be"),
    ],
)
def test_load_mapping_rejects_invalid_files(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "bad.mapping.yaml", text)
    with pytest.raises(InvalidMapping, match=r"invalid mapping file bad\.mapping\.yaml") as info:
        load_mapping(path)
    assert message in str(info.value)


def test_load_mapping_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidMapping, match="cannot read mapping file"):
        load_mapping(tmp_path / "nope.yaml")


def test_mapping_csv_in_good_corpus() -> None:
    result = parse_file(GOOD / "hubspot_export.csv")
    assert not result.rejections
    assert [e.source for e in result.events] == ["hubspot", "hubspot"]
    assert result.events[0].payload["Lifecycle Stage"] == "customer"


# --- values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.50", (1234.5, None)),
        ("1,234.50", (1234.5, None)),
        ("$1,234.50", (1234.5, None)),
        ("-$5", (-5.0, None)),
        ("(250.00)", (-250.0, None)),
        ("1.234,50", (1234.5, None)),
        ("12,50 €", (12.5, "EUR")),
        ("£3", (3.0, "GBP")),
        ("EUR 1 234,56", (1234.56, "EUR")),
        ("99.90 usd", (99.9, "USD")),
        (".5", (0.5, None)),
    ],
)
def test_parse_amount(text: str, expected: tuple[float, str | None]) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize("text", ["abc", "12..5", "1,2,3", "", "$", "1e5", "inf", "9" * 400])
def test_parse_amount_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid amount"):
        parse_amount(text)


def test_parse_count() -> None:
    assert parse_count("1,240", "opens") == 1240
    assert parse_count("12.0", "opens") == 12
    for bad in ("-3", "many", "1.5", "99999999999999999999999"):
        with pytest.raises(ValueError, match="invalid number"):
            parse_count(bad, "opens")


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2024-03-01", "2024-03-01"),
        ("2024-03-01T10:00:00Z", "2024-03-01T10:00:00+00:00"),
        ("2024-03-01 10:00", "2024-03-01T10:00:00+00:00"),
        ("2024/03/01", "2024-03-01"),
        ("13/03/2024", "2024-03-13"),
        ("03/13/2024", "2024-03-13"),
        ("01/01/2024", "2024-01-01"),
        ("1 Mar 2024", "2024-03-01"),
        ("March 1, 2024", "2024-03-01"),
        ("20240301", "2024-03-01"),
    ],
)
def test_parse_date_value(text: str, iso: str) -> None:
    assert parse_date_value(text, "issued_at")[1] == iso


def test_parse_date_value_refuses_ambiguous_and_invalid() -> None:
    with pytest.raises(ValueError, match="ambiguous date '03/04/2024' in 'due_at'"):
        parse_date_value("03/04/2024", "due_at")
    for bad in ("yesterday", "2024-02-30", "13/13/2024", "1800-01-01", "20240230", "18000101"):
        with pytest.raises(ValueError, match="invalid date"):
            parse_date_value(bad, "due_at")


def test_an_unclosed_quote_quarantines_one_line_and_reading_resumes(tmp_path):
    """Issue 15: one bad quote silently swallowed 4,977 of 20,001 rows after it."""
    path = tmp_path / "runaway.csv"
    with path.open("w") as fh:
        fh.write("source_id,first_name,last_name,email\n")
        fh.write('r0,"Ann,Lee,ann@example.com\n')
        for i in range(1, 20_002):
            fh.write(f"r{i},N{i},S{i},n{i}@example.com\n")
    records = list(iter_records(path))
    events = [r for r in records if isinstance(r, Event)]
    rejections = [r for r in records if not isinstance(r, Event)]
    assert len(events) == 20_001
    assert [e.source_id for e in events[:2]] == ["r1", "r2"] and events[0].line == 3
    assert [(r.line, r.raw) for r in rejections] == [(2, 'r0,"Ann,Lee,ann@example.com\n')]
    assert "unclosed quote" in rejections[0].reason
