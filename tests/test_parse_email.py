"""Email: .eml messages and mbox files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aios_assets.ingest.events import Event, Rejection, extract_entity_refs
from aios_assets.ingest.formats.mail import html_to_text
from aios_assets.ingest.parsers import iter_records

GOOD = Path(__file__).parent / "corpus" / "good"


def message(
    mid: str | None = "m1@x.com",
    body: str = "Hello there",
    date: str = "Mon, 04 Mar 2024 09:12:00 -0500",
    extra: str = "",
) -> str:
    headers = "From: Jane Doe <jane@acme.com>\nTo: sam@example.com\nSubject: Hi\n"
    headers += f"Date: {date}\n"
    if mid:
        headers += f"Message-ID: <{mid}>\n"
    return headers + extra + "\n" + body + "\n"


def mbox(*messages: str) -> str:
    return "".join(
        f"From jane@acme.com Mon Mar  4 09:12:0{i} 2024\n{m}\n" for i, m in enumerate(messages)
    )


def test_mbox_thread_from_good_corpus() -> None:
    events = list(iter_records(GOOD / "thread.mbox", display_name="thread.mbox"))
    assert all(isinstance(e, Event) for e in events)
    root, reply, reply2 = events
    assert [e.line for e in events] == [1, 18, 48]
    assert {e.thread for e in events} == {"CAF1-q2-dashboard@acme-logistics.com"}
    assert root.source_id == "CAF1-q2-dashboard@acme-logistics.com"
    assert root.occurred_at == datetime(2024, 3, 4, 14, 12, tzinfo=UTC)
    assert (root.source, root.kind, root.subject) == (
        "email",
        "email",
        "Q2 shipping dashboard proposal",
    )
    assert reply.payload == {
        "from": "Sam Operator <sam@samconsulting.io>",
        "to": ["Jane Doe <jane@acme-logistics.com>"],
        "cc": ["Lee, Chris <chris.lee@acme-logistics.com>"],
        "message_id": "sam-reply-1@samconsulting.io",
        "in_reply_to": "CAF1-q2-dashboard@acme-logistics.com",
        "references": ["CAF1-q2-dashboard@acme-logistics.com"],
    }
    # quoted-printable decoded, text/plain preferred, the mbox ">From " escape undone
    assert "by Friday — scope, timeline and a fixed price." in reply.text
    assert "\nFrom the numbers you shared" in reply.text
    assert "<p>" not in reply.text
    # HTML-only message: tags and <style> stripped, entities decoded
    assert reply2.text == "Great, thanks Sam!\n\nFriday works. Chris will review."


def test_entity_refs_include_sender_email_and_name() -> None:
    root = next(iter(iter_records(GOOD / "thread.mbox")))
    refs = extract_entity_refs(root)
    assert "jane@acme-logistics.com" in refs["emails"]
    assert "Jane Doe" in refs["names"]
    assert "acme-logistics.com" in refs["domains"]


def test_eml_with_encoded_subject_charset_and_attachment() -> None:
    (event,) = list(iter_records(GOOD / "single.eml"))
    assert event.line == 1
    assert event.subject == "Rechnung für März"
    assert event.text == "Hi Sam, the März numbers are attached."
    assert event.actor == "Pat Books <pat@booksandco.com>"
    assert event.payload["attachments"] == ["march.pdf"]
    assert event.thread == event.source_id == "pat-2024-03-08@booksandco.com"


def test_source_argument(tmp_path: Path) -> None:
    path = tmp_path / "a.eml"
    path.write_text(message())
    (event,) = list(iter_records(path, source="gmail"))
    assert event.source == "gmail"


def test_message_without_id_gets_a_stable_hash_id(tmp_path: Path) -> None:
    path = tmp_path / "noid.eml"
    path.write_text(message(mid=None))
    (first,) = list(iter_records(path))
    (second,) = list(iter_records(path))
    assert len(first.source_id) == 32 and first.source_id == second.source_id
    assert first.thread == first.source_id
    assert first.payload["message_id"] is None


def test_thread_falls_back_to_in_reply_to(tmp_path: Path) -> None:
    path = tmp_path / "r.eml"
    path.write_text(message(extra="In-Reply-To: <parent@x.com> (sent from phone)\n"))
    (event,) = list(iter_records(path))
    assert event.thread == "parent@x.com"
    assert event.payload["in_reply_to"] == "parent@x.com"


def test_date_without_zone_is_utc(tmp_path: Path) -> None:
    path = tmp_path / "d.eml"
    path.write_text(message(date="Mon, 04 Mar 2024 09:12:00 -0000"))
    (event,) = list(iter_records(path))
    assert event.occurred_at == datetime(2024, 3, 4, 9, 12, tzinfo=UTC)


def test_mbox_lines_and_bad_messages_in_between(tmp_path: Path) -> None:
    path = tmp_path / "box.mbox"
    broken = "From: Bob <bob@x.com>\nSubject: no date\n\nbody\n"
    path.write_text(mbox(message("a@x"), broken, message("c@x")))
    records = list(iter_records(path))
    assert [(type(r).__name__, r.line) for r in records] == [
        ("Event", 1),
        ("Rejection", 10),
        ("Event", 16),
    ]
    assert records[1].reason == "missing Date header"
    assert records[1].source == "email"


def test_from_line_inside_a_body_does_not_split(tmp_path: Path) -> None:
    body = "Quoting:\nFrom what I heard, this is fine.\nFrom here on we agree."
    path = tmp_path / "one.mbox"
    path.write_text(mbox(message(body=body)))
    (event,) = list(iter_records(path))
    assert event.text == body


def test_truncated_last_message(tmp_path: Path) -> None:
    path = tmp_path / "cut.mbox"
    path.write_text(mbox(message("a@x")) + "From x Mon Mar  4 09:12:00 2024\nFrom: A <a@x>\nSubj")
    first, cut = list(iter_records(path))
    assert isinstance(first, Event)
    assert isinstance(cut, Rejection) and cut.line == 10
    assert cut.reason == "truncated message: no body"
    assert cut.raw.startswith("From: A <a@x>")


def test_crlf_mbox(tmp_path: Path) -> None:
    path = tmp_path / "crlf.mbox"
    path.write_bytes(mbox(message("a@x"), message("b@x")).replace("\n", "\r\n").encode())
    events = list(iter_records(path))
    assert [e.source_id for e in events] == ["a@x", "b@x"]
    assert events[0].text == "Hello there"


def test_message_with_no_text_part_keeps_attachments(tmp_path: Path) -> None:
    body = (
        "--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\n\n"
        "xx\n--b--\n"
    )
    path = tmp_path / "att.eml"
    path.write_text(message(body=body, extra='Content-Type: multipart/mixed; boundary="b"\n'))
    (event,) = list(iter_records(path))
    assert event.text == ""
    assert event.payload["attachments"] == ["a.pdf"]


def test_unknown_charset_does_not_lose_the_message(tmp_path: Path) -> None:
    path = tmp_path / "cs.eml"
    path.write_text(message(extra="Content-Type: text/plain; charset=x-unknown-42\n"))
    (event,) = list(iter_records(path))
    assert event.text == "Hello there"


def test_html_to_text() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body>"
        "<h1>Hi&nbsp;there</h1><p>One<br>Two</p><script>x()</script><ul><li>a</li><li>b</li></ul>"
        "</body></html>"
    )
    assert html_to_text(html) == "Hi there\n\nOne\nTwo\n\na\n\nb"
    assert html_to_text("<p>unclosed <b>tags") == "unclosed tags"


def test_encoded_and_raw_utf8_headers(tmp_path: Path) -> None:
    raw = (
        "From: =?utf-8?q?M=C3=BCller=2C_J=C3=BCrgen?= <j@example.de>\n"
        "To: Zoë Ñ <zoe@example.es>, plain@example.com\n"
        "Subject: Grüße aus Köln\n"
        "Date: Mon, 04 Mar 2024 09:12:00 +0100\n\nHallo\n"
    )
    path = tmp_path / "utf8.eml"
    path.write_bytes(raw.encode("utf-8"))
    (event,) = list(iter_records(path))
    assert event.actor == "Müller, Jürgen <j@example.de>"
    assert event.payload["to"] == ["Zoë Ñ <zoe@example.es>", "plain@example.com"]
    assert event.subject == "Grüße aus Köln"
    assert "Müller, Jürgen" in extract_entity_refs(event)["names"]


def test_sender_without_display_name(tmp_path: Path) -> None:
    path = tmp_path / "bare.eml"
    path.write_text(message().replace("Jane Doe <jane@acme.com>", "jane@acme.com"))
    (event,) = list(iter_records(path))
    assert event.actor == event.payload["from"] == "jane@acme.com"
