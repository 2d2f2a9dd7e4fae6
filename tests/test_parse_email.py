"""Email: .eml messages and mbox files."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aios_assets.ingest.events import Event, FieldIssue, Rejection, extract_entity_refs
from aios_assets.ingest.formats.mail import html_to_text
from aios_assets.ingest.parsers import iter_records, parse_file
from tests.conftest import run_aios

GOOD = Path(__file__).parent / "corpus" / "good"
REAL = Path(__file__).parent / "corpus" / "real"
MTIME = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def real_copy(tmp_path: Path, name: str) -> Path:
    """A real test message copied with a known mtime (the last fallback for its time)."""
    path = tmp_path / Path(name).name
    shutil.copyfile(REAL / name, path)
    os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))
    return path


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
    broken = "From: Bob <bob@x.com>\nSubject: no body\n"
    path.write_text(mbox(message("a@x"), broken, message("c@x")))
    records = list(iter_records(path))
    assert [(type(r).__name__, r.line) for r in records] == [
        ("Event", 1),
        ("Rejection", 10),
        ("Event", 14),
    ]
    assert records[1].reason == "truncated message: no body"
    assert records[1].source == "email"


def test_mbox_message_without_date_takes_its_from_line_time(tmp_path: Path) -> None:
    path = tmp_path / "box.mbox"
    no_date = "From: Bob <bob@x.com>\nSubject: no date\n\nbody\n"
    path.write_text(mbox(message("a@x"), no_date))
    first, second = list(iter_records(path))
    assert isinstance(second, Event) and second.line == 10
    # "From jane@acme.com Mon Mar  4 09:12:01 2024", read as UTC
    assert second.occurred_at == datetime(2024, 3, 4, 9, 12, 1, tzinfo=UTC)
    assert second.issues == [
        FieldIssue("occurred_at", None, "missing Date header; used the mbox 'From ' line's time")
    ]
    assert first.issues == []


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
    (issue,) = event.issues
    assert (issue.field, issue.raw) == ("charset", "x-unknown-42")


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


# --- charsets, as mail clients read them ---------------------------------------------------------


def raw_message(
    body: bytes, content_type: str, *, subject: str = "Hi", cte: str = "8bit"
) -> bytes:
    head = (
        "From: Jane Doe <jane@acme.com>\r\nTo: sam@example.com\r\n"
        f"Subject: {subject}\r\nDate: Mon, 04 Mar 2024 09:12:00 -0500\r\n"
        f"Message-ID: <cs@x.com>\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode("ascii") + body + b"\r\n"


LATIN1 = "Grüße aus Köln, Jürgen. Schöne Woche, ½ Preis!"
CP1252 = "“Smart quotes” – 3 € … café"  # 0x80-0x9f: not Latin-1
KOI8 = "Привет, встреча в пятницу."
JAPANESE = "会議は金曜日です。"


@pytest.mark.parametrize(
    ("text", "charset", "cte", "subject"),
    [
        (LATIN1, "ISO-8859-1", "8bit", "Grüße"),
        (CP1252, "windows-1252", "8bit", "“Hi” – €"),
        (KOI8, "KOI8-R", "8bit", "Привет"),
        (JAPANESE, "ISO-2022-JP", "7bit", "会議の件"),
        (LATIN1, "iso-8859-1", "quoted-printable", "Köln"),
        (CP1252, "windows-1252", "base64", "€ 5"),
    ],
)
def test_declared_charsets_are_decoded(
    tmp_path: Path, text: str, charset: str, cte: str, subject: str
) -> None:
    import base64
    import quopri
    from email.header import Header

    body = text.encode(charset)
    if cte == "quoted-printable":
        body = quopri.encodestring(body)
    elif cte == "base64":
        body = base64.encodebytes(body)
    encoded_subject = Header(subject, charset).encode()  # an RFC 2047 encoded word
    assert encoded_subject.startswith("=?")
    path = tmp_path / "cs.eml"
    ctype = f"text/plain; charset={charset}"
    path.write_bytes(raw_message(body, ctype, subject=encoded_subject, cte=cte))
    (event,) = list(iter_records(path))
    assert isinstance(event, Event), event
    assert event.text == text
    assert event.subject == subject
    assert event.issues == []  # declared and right: nothing was guessed


def test_undeclared_8bit_body_is_detected_and_noted(tmp_path: Path) -> None:
    text = "Bonjour, le café crème coûte 3 €. À bientôt, René"
    path = tmp_path / "nocs.eml"
    path.write_bytes(raw_message(text.encode("cp1252"), "text/plain"))
    (event,) = list(iter_records(path))
    assert event.text == text
    (issue,) = event.issues
    assert issue.field == "text" and issue.raw is None
    assert issue.reason.startswith("8-bit bytes and no charset declared; decoded as ")


def test_wrong_declared_charset_is_detected_and_noted(tmp_path: Path) -> None:
    text = "Bonjour, le café crème coûte 3 €. À bientôt, René"
    path = tmp_path / "wrong.eml"
    path.write_bytes(raw_message(text.encode("cp1252"), "text/plain; charset=utf-8"))
    (event,) = list(iter_records(path))
    assert event.text == text
    (issue,) = event.issues
    assert (issue.field, issue.raw) == ("charset", "utf-8")
    assert issue.reason.startswith("bytes not valid utf-8; decoded as ")


def test_raw_latin1_header_is_decoded_and_noted(tmp_path: Path) -> None:
    raw = raw_message(b"Hallo", "text/plain; charset=utf-8").replace(
        b"Subject: Hi", "Subject: Grüße aus Köln, schöne Woche".encode("latin-1")
    )
    path = tmp_path / "hdr.eml"
    path.write_bytes(raw)
    (event,) = list(iter_records(path))
    assert event.subject == "Grüße aus Köln, schöne Woche"
    (issue,) = event.issues
    assert issue.field == "subject" and "header Subject" in issue.reason


def test_real_unknown_charset_message(tmp_path: Path) -> None:
    path = real_copy(tmp_path, "mail/mail_raw_email10_unknown_charset.eml")
    (event,) = list(iter_records(path))
    assert "Envoyé par le service de messagerie texte de Bell Mobilité." in event.text
    (issue,) = event.issues
    assert (issue.field, issue.raw) == ("charset", "X-UNKNOWN")
    assert issue.reason.startswith("unknown charset 'X-UNKNOWN'; decoded as ")


def test_real_iso_2022_jp_messages(tmp_path: Path) -> None:
    (event,) = list(iter_records(real_copy(tmp_path, "mail/mail_japanese_iso_2022.eml")))
    assert event.text == "すみません。"
    assert event.subject == "まみむめも"
    assert event.payload["to"] == ["みける <raasdnil@gmail.com>"]
    # no Date and no Received header: the file's mtime, said so
    assert event.occurred_at == MTIME
    assert event.issues == [
        FieldIssue("occurred_at", None, "missing Date header; used the file's modification time")
    ]
    path = real_copy(tmp_path, "mail/mail_example14_iso_2022_jp_subject.eml")
    (event,) = list(iter_records(path))
    assert event.subject == "Re: TEST テストテスト"
    assert event.occurred_at == datetime(2011, 8, 19, 1, 47, 17, tzinfo=UTC)
    assert event.issues == []


# --- the event time without a Date ---------------------------------------------------------------


def test_real_message_without_date_takes_the_newest_received_time(tmp_path: Path) -> None:
    (event,) = list(iter_records(real_copy(tmp_path, "mail/cpython_msg_15_no_date.eml")))
    assert event.source_id == "xxxx" and event.actor == "xx@xx.dk"
    assert event.occurred_at == datetime(2001, 4, 30, 10, 17, 50, tzinfo=UTC)
    assert event.issues == [
        FieldIssue(
            "occurred_at", None, "missing Date header; used the newest Received header's time"
        )
    ]


def test_unreadable_date_falls_back_to_received_then_mtime(tmp_path: Path) -> None:
    received = (
        "Received: from b by c; Tue, 05 Mar 2024 10:00:00 +0000\n"
        "Received: from a by b; Tue, 05 Mar 2024 09:00:00 +0000\n"
    )
    path = tmp_path / "bad.eml"
    path.write_text(received + message(date="the day after tomorrow"))
    (event,) = list(iter_records(path))
    assert event.occurred_at == datetime(2024, 3, 5, 10, 0, tzinfo=UTC)  # the newest hop
    (issue,) = event.issues
    assert issue.raw == "the day after tomorrow"
    assert issue.reason == (
        "unreadable Date header 'the day after tomorrow'; used the newest Received header's time"
    )
    path.write_text(message(date="the day after tomorrow"))
    os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))
    (event,) = list(iter_records(path))
    assert event.occurred_at == MTIME
    assert event.issues[0].reason.endswith("used the file's modification time")


# --- Outlook .msg --------------------------------------------------------------------------------


def test_real_outlook_msg_files() -> None:
    quick = parse_file(REAL / "msg" / "quick.msg")
    (event,) = quick.events
    assert quick.fmt == "msg" and not quick.rejections
    assert (event.source, event.kind, event.line) == ("email", "email", 1)
    assert event.source_id == event.payload["message_id"] == (
        "B17B1CFF4282214AB8BAADDDC20711220E0C025E@THHS2EXBE1X.hostedservice2.net"
    )
    assert event.actor == "Kevin Roast"
    assert event.payload["to"] == ["Kevin Roast <kevin.roast@alfresco.org>"]
    assert event.subject == "Test the content transformer"
    assert event.text == "The quick brown fox jumps over the lazy dog"
    assert event.occurred_at == datetime(2007, 6, 14, 9, 42, 53, 500000, tzinfo=UTC)
    assert event.issues == []

    (event,) = parse_file(REAL / "msg" / "simple_test_msg.msg").events
    assert event.actor == "Travis Ferguson <travis@overwrittenstack.com>"
    assert event.subject == "test message"  # the NUL Outlook left at the end is gone
    assert event.text == "This is a test message."
    assert event.payload["to"] == ["travis@overwrittenstack.com"]

    (event,) = parse_file(REAL / "msg" / "cyrillic_message.msg").events
    assert event.subject.startswith("Автоматический ответ подсистемы обмена данными")
    assert event.text.startswith("Ваше сообщение с темой")
    assert event.actor == "no-reply@niips.ru"
    assert event.payload["cc"] == ["sviridov@niips.ru"]
    assert event.occurred_at == datetime(2010, 5, 18, 7, 38, 39, tzinfo=UTC)
    assert "sviridov@niips.ru" in extract_entity_refs(event)["emails"]


def test_msg_that_is_not_an_ole_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.msg"
    path.write_text("From: a@b.c\n\nthis is a text file named .msg\n")
    (rejection,) = parse_file(path).rejections
    assert rejection.reason == "not an Outlook .msg file (no OLE compound file header)"
    assert rejection.fmt == "msg" and rejection.source == "email"


# --- through the CLI -----------------------------------------------------------------------------


def test_guessed_messages_land_in_event_log(tmp_path: Path, aios_home: Path) -> None:
    import json

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in (
        "mail/mail_japanese_iso_2022.eml",
        "mail/cpython_msg_15_no_date.eml",
        "mail/mail_raw_email10_unknown_charset.eml",
        "msg/quick.msg",
    ):
        real_copy(inbox, name)
    latin1 = raw_message(LATIN1.encode("latin-1"), "text/plain; charset=iso-8859-1")
    (inbox / "latin1.eml").write_bytes(latin1)
    res = run_aios("ingest", str(inbox), "--no-materialize", home=aios_home)
    assert res.returncode == 0, res.stderr
    res = run_aios(
        "sql",
        "select source_id, text, occurred_at from event_log order by source_id",
        "-f",
        "json",
        home=aios_home,
    )
    rows = {r["source_id"]: r for r in json.loads(res.stdout)}
    assert len(rows) == 5, res.stdout
    assert rows["cs@x.com"]["text"] == LATIN1
    assert rows["xxxx"]["occurred_at"].startswith("2001-04-30")
    assert "Bell Mobilité" in rows["xxx@xxxx.xxx"]["text"]
    assert any(r["text"] == "すみません。" for r in rows.values())
    assert rows[
        "B17B1CFF4282214AB8BAADDDC20711220E0C025E@THHS2EXBE1X.hostedservice2.net"
    ]["text"] == "The quick brown fox jumps over the lazy dog"
    res = run_aios("sql", "select count(*) as n from quarantine", "-f", "csv", home=aios_home)
    assert res.stdout.split() == ["n", "0"]
