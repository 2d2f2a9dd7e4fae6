"""Email: one RFC 5322 message (``.eml``), a Unix mbox of messages (``.mbox``) or an Outlook
``.msg`` file.

An mbox is split on ``From `` lines (at the start of the file or after a blank line, or any line
that looks like a full ``From sender Www Mmm dd ...`` separator), so that each message knows the
line it starts on; ``>From `` escapes are undone. Each message is parsed with the standard library
(``email.policy.default``) and read as a mail client would: declared charsets are decoded (a
missing or wrong one is detected with charset-normalizer), and a missing or unreadable ``Date``
falls back to the newest ``Received`` header, the mbox ``From `` line, then the file's mtime.
Every such guess is kept on the event as a :class:`~aios_assets.ingest.events.FieldIssue`.
"""

from __future__ import annotations

import codecs
import email
import email.charset
import email.policy
import hashlib
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO

import charset_normalizer

from aios_assets.ingest.events import (
    MAX_TEXT_CHARS,
    Event,
    FieldIssue,
    InvalidTimestamp,
    Rejection,
    parse_timestamp,
)
from aios_assets.ingest.formats.common import (
    BOM,
    MAX_MESSAGE_BYTES,
    Ctx,
    decode_cp1252,
    iter_lines,
    too_large,
)

_POLICY = email.policy.default
_SEPARATOR_RE = re.compile(rb"\r?\n\r?\n")
_FROM_LINE_RE = re.compile(rb"From \S+\s+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")
_ESCAPED_FROM_RE = re.compile(rb"^>+From ")
_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_ESCAPED_RE = re.compile("[\udc80-\udcff]")


# --- HTML to text ------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    _BLOCK = frozenset(
        [
            "p",
            "div",
            "br",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "table",
            "ul",
            "ol",
            "section",
            "article",
        ]
    )
    _SKIP = frozenset(("script", "style", "head", "title"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body, one line per block element."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        pass
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- one message -------------------------------------------------------------------------------


_UTF8_NAMES = frozenset({"", "us-ascii", "ascii", "utf-8", "utf8"})
_RAW_ISSUE_CHARS = 300


def _codec(charset: str) -> str:
    """A charset label as a Python codec name (email aliases such as ks_c_5601-1987 too)."""
    name = email.charset.ALIASES.get(charset, charset)
    return codecs.lookup(name).name  # raises LookupError for an unknown label


def detect_text(data: bytes) -> tuple[str, str]:
    """(text, encoding) of bytes in an unknown charset: charset-normalizer, else Windows-1252."""
    try:
        best = charset_normalizer.from_bytes(data).best()
    except Exception:  # the detector must never cost the message
        best = None
    if best is not None and best.encoding:
        return str(best), best.encoding
    return decode_cp1252(data), "cp1252"


def decode_bytes(data: bytes, declared: str | None, field: str) -> tuple[str, FieldIssue | None]:
    """Text of ``data`` in its declared charset, as a mail client reads it.

    No charset (or ASCII / UTF-8) means UTF-8, which covers ASCII and RFC 6532 mail. When the
    declared charset is unknown or the bytes are not valid in it, the charset is detected and a
    FieldIssue says what was guessed (``field`` for a header, ``charset`` / ``text`` for a body).
    """
    label = (declared or "").strip().strip('"').lower()
    try:
        if label in _UTF8_NAMES:
            return data.decode("utf-8"), None
        return data.decode(_codec(label)), None
    except LookupError:
        problem = f"unknown charset {declared!r}"
    except UnicodeDecodeError:
        problem = f"bytes not valid {declared}" if label else "8-bit bytes and no charset declared"
    text, guess = detect_text(data)
    issue_field = field if field not in ("text", "charset") else ("charset" if label else "text")
    return text, FieldIssue(
        field=issue_field,
        raw=declared or None,
        reason=f"{problem}; decoded as {guess} (detected)",
    )


def _raw_headers(msg: EmailMessage, issues: list[FieldIssue]) -> dict[str, str]:
    """First value of each header, as written (RFC 2047 words not yet decoded).

    Raw 8-bit bytes in a header are UTF-8 (RFC 6532), else detected (with a FieldIssue)."""
    headers: dict[str, str] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key in headers:
            continue
        text = str(value)
        if _ESCAPED_RE.search(text):
            data = text.encode("ascii", "surrogateescape")
            text, issue = decode_bytes(data, None, key)
            if issue is not None:
                issues.append(FieldIssue(key, _cut(text), f"header {name}: {issue.reason}"))
        headers[key] = text
    return headers


def _cut(text: str | None) -> str | None:
    return None if text is None else " ".join(text.split())[:_RAW_ISSUE_CHARS]


def _decode(value: str) -> str:
    """Decode RFC 2047 encoded words and unfold; never raises."""
    text = value
    if "=?" in value:
        try:
            text = str(make_header(decode_header(value)))
        except Exception:  # unknown charset, broken encoded word: keep it as written
            text = value
    return " ".join(text.split())


def _header(raw: dict[str, str], name: str) -> str | None:
    value = raw.get(name)
    return (_decode(value) or None) if value is not None else None


def _format_address(display: str, addr: str) -> str:
    display, addr = _decode(display or ""), (addr or "").strip()
    if display and addr and display != addr:
        return f"{display} <{addr}>"
    return addr or display


def _address_list(value: str | None) -> list[str]:
    if not value:
        return []
    out = [_format_address(d, a) for d, a in getaddresses([value])]
    return [a for a in out if a]


def _addresses(raw: dict[str, str], name: str) -> list[str]:
    return _address_list(raw.get(name))


def _sender(raw: dict[str, str]) -> str | None:
    """``From`` as ``Name <addr>`` (or as written when it is not a single address)."""
    return _sender_of(raw.get("from"))


def _sender_of(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    pairs = [(d, a) for d, a in getaddresses([value]) if a]
    if len(pairs) == 1 and "@" in pairs[0][1]:
        return _format_address(*pairs[0])
    return _decode(value) or None


def _msg_ids(value: str | None) -> list[str]:
    if not value:
        return []
    ids = _MSGID_RE.findall(value)
    return ids or value.split()


def _part_text(part: Any) -> tuple[str, FieldIssue | None]:
    """A text part's content as str in its declared charset (detected when wrong or missing);
    base64 and quoted-printable are undone by the email package. Never raises."""
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception:
        return "", None
    if not isinstance(payload, bytes):
        return str(payload), None
    return decode_bytes(payload, part.get_param("charset"), "text")


def _body(msg: EmailMessage) -> tuple[str, list[str], list[FieldIssue]]:
    """(text, attachment file names, charset guesses)."""
    text = ""
    issues: list[FieldIssue] = []
    try:
        part = msg.get_body(preferencelist=("plain",))
        html = part is None
        if html:
            part = msg.get_body(preferencelist=("html",))
        if part is not None:
            text, issue = _part_text(part)
            if html:
                text = html_to_text(text)
            if issue is not None:
                issues.append(issue)
    except Exception:
        text = ""
    attachments: list[str] = []
    try:
        if msg.is_multipart():
            for att in msg.iter_attachments():
                attachments.append(att.get_filename() or att.get_content_type())
    except Exception:
        pass
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text, attachments, issues


# --- the event time ------------------------------------------------------------------------------


def _mail_date(value: str | None) -> datetime | None:
    """An RFC 5322 date (or asctime, as on mbox ``From `` lines) as aware UTC, else None."""
    if not value or not value.strip():
        return None
    try:
        return parse_timestamp(parsedate_to_datetime(" ".join(value.split())))
    except (ValueError, TypeError, IndexError, OverflowError, InvalidTimestamp):
        return None


def _received_time(msg: EmailMessage) -> datetime | None:
    """The newest ``Received`` header's time (each relay adds its header on top)."""
    for name, value in msg.raw_items():
        if name.lower() == "received" and ";" in str(value):
            dt = _mail_date(str(value).rsplit(";", 1)[1])
            if dt is not None:
                return dt
    return None


def envelope_time(from_line: bytes) -> datetime | None:
    """The date of an mbox ``From sender Www Mmm dd hh:mm:ss yyyy`` line (taken as UTC)."""
    parts = from_line.decode("ascii", "replace").split(None, 2)
    if len(parts) < 3:
        return None
    words = parts[2].split()
    for n in (len(words), 5, 6):  # trailing "remote from host" or a zone after the year
        dt = _mail_date(" ".join(words[:n]))
        if dt is not None:
            return dt
    return None


def file_mtime(path: Path) -> datetime | None:
    try:
        return parse_timestamp(datetime.fromtimestamp(path.stat().st_mtime, UTC))
    except (OSError, ValueError, OverflowError, InvalidTimestamp):
        return None


def fallback_time(
    problem: str,
    raw: str | None,
    ctx: Ctx,
    *,
    received: datetime | None = None,
    envelope: datetime | None = None,
) -> tuple[datetime, FieldIssue] | None:
    """The next best event time after a missing or unreadable Date, with the issue saying so."""
    for dt, what in (
        (received, "the newest Received header's time"),
        (envelope, "the mbox 'From ' line's time"),
        (file_mtime(ctx.path), "the file's modification time"),
    ):
        if dt is not None:
            return dt, FieldIssue("occurred_at", _cut(raw), f"{problem}; used {what}")
    return None


# --- one message -------------------------------------------------------------------------------


def message_to_event(
    raw: bytes, line: int, ctx: Ctx, source: str, envelope: datetime | None = None
) -> Event | Rejection:
    """One raw message (bytes, no mbox ``From `` line) -> Event or Rejection.

    ``envelope`` is the time on the message's mbox ``From `` line, a fallback for its Date."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return ctx.reject(line, too_large(len(raw), MAX_MESSAGE_BYTES), raw, source=source)
    if not raw.strip():
        return ctx.reject(line, "empty message", raw, source=source)
    if not _SEPARATOR_RE.search(raw):
        return ctx.reject(line, "truncated message: no body", raw, source=source)
    try:
        msg: EmailMessage = email.message_from_bytes(raw, policy=_POLICY)  # type: ignore[assignment]
    except Exception as exc:
        return ctx.reject(line, f"unreadable message: {exc}", raw, source=source)
    issues: list[FieldIssue] = []
    headers = _raw_headers(msg, issues)
    sender = _sender(headers)
    if not sender:
        return ctx.reject(line, "missing From header", raw, source=source)
    date_raw = headers.get("date")
    occurred_at = _mail_date(date_raw)
    if occurred_at is None:
        problem = (
            f"unreadable Date header {' '.join(date_raw.split())[:80]!r}"
            if date_raw and date_raw.strip()
            else "missing Date header"
        )
        fallback = fallback_time(
            problem, date_raw, ctx, received=_received_time(msg), envelope=envelope
        )
        if fallback is None:
            return ctx.reject(line, problem, raw, source=source)
        occurred_at, issue = fallback
        issues.append(issue)
    text, attachments, body_issues = _body(msg)
    issues.extend(body_issues)
    if len(text) > MAX_TEXT_CHARS:
        return ctx.reject(line, too_large(len(text.encode())), raw, source=source)
    ids = _msg_ids(headers.get("message-id"))
    message_id = ids[0] if ids else None
    return _email_event(
        source=source,
        source_id=message_id or hashlib.sha256(raw).hexdigest()[:32],
        message_id=message_id,
        occurred_at=occurred_at,
        sender=sender,
        to=_addresses(headers, "to"),
        cc=_addresses(headers, "cc"),
        subject=_header(headers, "subject"),
        text=text,
        references=_msg_ids(headers.get("references")),
        reply_ids=_msg_ids(headers.get("in-reply-to")),
        attachments=attachments,
        issues=issues,
        ctx=ctx,
        line=line,
    )


def _email_event(
    *,
    source: str,
    source_id: str,
    message_id: str | None,
    occurred_at: datetime,
    sender: str,
    to: list[str],
    cc: list[str],
    subject: str | None,
    text: str,
    references: list[str],
    reply_ids: list[str],
    attachments: list[str],
    issues: list[FieldIssue],
    ctx: Ctx,
    line: int,
) -> Event:
    """The one email event shape, for .eml / .mbox messages and Outlook .msg files alike."""
    in_reply_to = reply_ids[0] if reply_ids else None
    payload: dict[str, Any] = {
        "from": sender,
        "to": to,
        "cc": cc,
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "references": references,
    }
    if attachments:
        payload["attachments"] = attachments
    return Event(
        source=source,
        source_id=source_id,
        kind="email",
        occurred_at=occurred_at,
        text=text,
        actor=sender,
        thread=(references[0] if references else in_reply_to) or source_id,
        subject=subject,
        payload=payload,
        file=ctx.file,
        line=line,
        issues=issues,
    )


# --- files -------------------------------------------------------------------------------------


def parse_eml(data: bytes, ctx: Ctx, source: str) -> Iterator[Event | Rejection]:
    if data.startswith(BOM):
        data = data[3:]
    envelope = None
    if data.startswith(b"From ") and not data.startswith(b"From:"):
        # an mbox separator line saved in front of a single message
        first, _, data = data.partition(b"\n")
        envelope = envelope_time(first)
    yield message_to_event(data, 1, ctx, source, envelope)


def parse_mbox(f: BinaryIO, ctx: Ctx, source: str) -> Iterator[Event | Rejection]:
    start: int | None = None  # line of the current message's From_ line
    envelope: datetime | None = None  # the time on that line
    buf: list[bytes] = []
    size = 0
    cut = False  # the current message grew over MAX_MESSAGE_BYTES: stop keeping its lines
    preamble_line: int | None = None
    preamble: list[bytes] = []
    prev_blank = True
    for lineno, data, lsize in iter_lines(f, MAX_MESSAGE_BYTES):
        if lineno == 1 and data.startswith(BOM):
            data = data[3:]
        is_sep = data.startswith(b"From ") and (prev_blank or _FROM_LINE_RE.match(data))
        prev_blank = not data.strip()
        if is_sep:
            if start is not None:
                yield _flush(buf, size, cut, start, ctx, source, envelope)
            elif preamble_line is not None:
                reason = "text before the first 'From ' line (not an mbox message)"
                yield ctx.reject(preamble_line, reason, b"".join(preamble), source=source)
            start, buf, size, cut = lineno, [], 0, False
            envelope = envelope_time(data)
            continue
        if start is None:
            if data.strip() and preamble_line is None:
                preamble_line = lineno
            if preamble_line is not None and len(preamble) < 50:
                preamble.append(data)
            continue
        size += lsize
        if size > MAX_MESSAGE_BYTES or lsize > len(data):
            cut = True
        if not cut:
            if data.startswith(b">") and _ESCAPED_FROM_RE.match(data):
                data = data[1:]
            buf.append(data)
        elif len(buf) < 20:
            buf.append(data)
    if start is not None:
        yield _flush(buf, size, cut, start, ctx, source, envelope)
    elif preamble_line is not None:
        reason = "not an mbox file: no 'From ' separator line"
        yield ctx.reject(preamble_line, reason, b"".join(preamble), source=source)


def _flush(
    buf: list[bytes],
    size: int,
    cut: bool,
    start: int,
    ctx: Ctx,
    source: str,
    envelope: datetime | None,
) -> Event | Rejection:
    if cut:
        return ctx.reject(start, too_large(size, MAX_MESSAGE_BYTES), b"".join(buf), source=source)
    if buf and not buf[-1].strip():
        buf.pop()  # the blank line that separates messages
    raw = b"".join(buf)
    return message_to_event(raw, start, ctx, source, envelope)


# --- Outlook .msg --------------------------------------------------------------------------------

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a .msg file is an OLE compound file


def _clean(value: Any) -> str | None:
    """A .msg string property without the NULs some writers leave in it."""
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    return text or None


def parse_msg(path: Path, ctx: Ctx, source: str) -> Iterator[Event | Rejection]:
    """An Outlook ``.msg`` file (read with extract-msg) -> one email event."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head != OLE_MAGIC:
        reason = "not an Outlook .msg file (no OLE compound file header)"
        yield ctx.reject(None, reason, source=source)
        return
    import extract_msg  # imported here: it is slow to import and only .msg files need it

    logging.getLogger("extract_msg").setLevel(logging.ERROR)  # it warns about every oddity
    try:
        msg = extract_msg.openMsg(str(path), strict=False, delayAttachments=True)
    except Exception as exc:
        reason = f"unreadable .msg file: {type(exc).__name__}: {exc}"
        yield ctx.reject(None, reason, source=source)
        return
    try:
        yield _msg_event(msg, path, ctx, source)
    finally:
        msg.close()


def _msg_event(msg: Any, path: Path, ctx: Ctx, source: str) -> Event | Rejection:
    from extract_msg.msg_classes import MessageBase

    if not isinstance(msg, MessageBase):
        kind = _clean(getattr(msg, "classType", None)) or type(msg).__name__
        return ctx.reject(None, f"Outlook item of class {kind!r} is not a message", source=source)
    issues: list[FieldIssue] = []
    header = msg.header if msg.header is not None else {}
    # The transport headers (when the message came over SMTP) carry the full From address;
    # the MAPI sender is often only a display name.
    sender = _sender_of(_clean(header.get("From"))) or _sender_of(_clean(msg.sender))
    if not sender:
        return ctx.reject(None, "missing From header (no sender in the .msg)", source=source)
    occurred_at = None
    try:
        if isinstance(msg.date, datetime):
            occurred_at = parse_timestamp(msg.date)
    except (InvalidTimestamp, ValueError, OverflowError):
        occurred_at = None
    if occurred_at is None:
        occurred_at = _mail_date(_clean(header.get("Date")))
    if occurred_at is None:
        fallback = fallback_time("no sent or received time in the .msg", None, ctx)
        if fallback is None:
            return ctx.reject(None, "no sent or received time in the .msg", source=source)
        occurred_at, issue = fallback
        issues.append(issue)
    text = _clean(msg.body) or ""
    if not text:
        html = msg.htmlBody
        if html:
            if isinstance(html, bytes):
                html = html.decode("utf-8", "replace")
            text = html_to_text(html)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_TEXT_CHARS:
        return ctx.reject(None, too_large(len(text.encode())), source=source)
    ids = _msg_ids(_clean(msg.messageId) or _clean(header.get("Message-ID")))
    message_id = ids[0] if ids else None
    attachments = []
    for att in msg.attachments:
        name = _clean(getattr(att, "longFilename", None) or getattr(att, "shortFilename", None))
        attachments.append(name or "attachment")
    return _email_event(
        source=source,
        source_id=message_id or hashlib.sha256(path.read_bytes()).hexdigest()[:32],
        message_id=message_id,
        occurred_at=occurred_at,
        sender=sender,
        to=_address_list(_recipients(msg.to, header.get("To"))),
        cc=_address_list(_recipients(msg.cc, header.get("Cc"))),
        subject=_clean(msg.subject),
        text=text,
        references=_msg_ids(_clean(header.get("References"))),
        reply_ids=_msg_ids(_clean(msg.inReplyTo) or _clean(header.get("In-Reply-To"))),
        attachments=attachments,
        issues=issues,
        ctx=ctx,
        line=1,
    )


def _recipients(mapi: Any, transport: Any) -> str | None:
    """extract-msg joins recipients with '; '; the address parser wants commas."""
    value = _clean(transport) or _clean(mapi)
    return value.replace(";", ",") if value else None
