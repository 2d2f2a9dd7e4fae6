"""Email: one RFC 5322 message (``.eml``) or a Unix mbox of messages (``.mbox``).

An mbox is split on ``From `` lines (at the start of the file or after a blank line, or any line
that looks like a full ``From sender Www Mmm dd ...`` separator), so that each message knows the
line it starts on; ``>From `` escapes are undone. Each message is parsed with the standard library
(``email.policy.default``).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any, BinaryIO

from aios_assets.ingest.events import (
    MAX_TEXT_CHARS,
    Event,
    InvalidTimestamp,
    Rejection,
    parse_timestamp,
)
from aios_assets.ingest.formats.common import (
    BOM,
    MAX_MESSAGE_BYTES,
    Ctx,
    iter_lines,
    too_large,
    utf8_error,
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


def _raw_headers(msg: EmailMessage) -> dict[str, str]:
    """First value of each header, as written (RFC 2047 words not yet decoded)."""
    headers: dict[str, str] = {}
    for name, value in msg.raw_items():
        text = str(value)
        if _ESCAPED_RE.search(text):  # raw UTF-8 bytes in a header (RFC 6532)
            text = text.encode("ascii", "surrogateescape").decode("utf-8", "replace")
        headers.setdefault(name.lower(), text)
    return headers


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


def _addresses(raw: dict[str, str], name: str) -> list[str]:
    value = raw.get(name)
    if not value:
        return []
    out = [_format_address(d, a) for d, a in getaddresses([value])]
    return [a for a in out if a]


def _sender(raw: dict[str, str]) -> str | None:
    """``From`` as ``Name <addr>`` (or as written when it is not a single address)."""
    value = raw.get("from")
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


def _part_text(part: Any) -> str:
    """A text part's content as str: its charset, else UTF-8; never raises."""
    try:
        payload = part.get_payload(decode=True) or b""
    except Exception:
        return ""
    if not isinstance(payload, bytes):
        return str(payload)
    charset = (part.get_content_charset() or "").lower()
    if charset in ("", "us-ascii", "ascii", "utf-8", "utf8"):
        return payload.decode("utf-8", errors="replace")
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # unknown charset name
        return payload.decode("utf-8", errors="replace")


def _body(msg: EmailMessage) -> tuple[str, list[str]]:
    """(text, attachment file names)."""
    text = ""
    try:
        part = msg.get_body(preferencelist=("plain",))
        if part is not None:
            text = _part_text(part)
        else:
            part = msg.get_body(preferencelist=("html",))
            if part is not None:
                text = html_to_text(_part_text(part))
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
    return text, attachments


def message_to_event(raw: bytes, line: int, ctx: Ctx, source: str) -> Event | Rejection:
    """One raw message (bytes, no mbox ``From `` line) -> Event or Rejection."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return ctx.reject(line, too_large(len(raw), MAX_MESSAGE_BYTES), raw, source=source)
    if not raw.strip():
        return ctx.reject(line, "empty message", raw, source=source)
    bad = utf8_error(raw)
    if bad:
        return ctx.reject(line, bad, raw, source=source)
    if not _SEPARATOR_RE.search(raw):
        return ctx.reject(line, "truncated message: no body", raw, source=source)
    try:
        msg: EmailMessage = email.message_from_bytes(raw, policy=_POLICY)  # type: ignore[assignment]
    except Exception as exc:
        return ctx.reject(line, f"unreadable message: {exc}", raw, source=source)
    headers = _raw_headers(msg)
    sender = _sender(headers)
    if not sender:
        return ctx.reject(line, "missing From header", raw, source=source)
    date_raw = headers.get("date")
    if not date_raw or not date_raw.strip():
        return ctx.reject(line, "missing Date header", raw, source=source)
    try:
        occurred_at = parse_timestamp(parsedate_to_datetime(date_raw.strip()))
    except (ValueError, TypeError, IndexError, OverflowError, InvalidTimestamp):
        reason = f"unreadable Date header {' '.join(date_raw.split())[:80]!r}"
        return ctx.reject(line, reason, raw, source=source)
    text, attachments = _body(msg)
    if len(text) > MAX_TEXT_CHARS:
        return ctx.reject(line, too_large(len(text.encode())), raw, source=source)
    ids = _msg_ids(headers.get("message-id"))
    message_id = ids[0] if ids else None
    references = _msg_ids(headers.get("references"))
    reply_ids = _msg_ids(headers.get("in-reply-to"))
    in_reply_to = reply_ids[0] if reply_ids else None
    source_id = message_id or hashlib.sha256(raw).hexdigest()[:32]
    payload: dict[str, Any] = {
        "from": sender,
        "to": _addresses(headers, "to"),
        "cc": _addresses(headers, "cc"),
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
        subject=_header(headers, "subject"),
        payload=payload,
        file=ctx.file,
        line=line,
    )


# --- files -------------------------------------------------------------------------------------


def parse_eml(data: bytes, ctx: Ctx, source: str) -> Iterator[Event | Rejection]:
    if data.startswith(BOM):
        data = data[3:]
    if data.startswith(b"From ") and not data.startswith(b"From:"):
        # an mbox separator line saved in front of a single message
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    yield message_to_event(data, 1, ctx, source)


def parse_mbox(f: BinaryIO, ctx: Ctx, source: str) -> Iterator[Event | Rejection]:
    start: int | None = None  # line of the current message's From_ line
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
                yield _flush(buf, size, cut, start, ctx, source)
            elif preamble_line is not None:
                reason = "text before the first 'From ' line (not an mbox message)"
                yield ctx.reject(preamble_line, reason, b"".join(preamble), source=source)
            start, buf, size, cut = lineno, [], 0, False
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
        yield _flush(buf, size, cut, start, ctx, source)
    elif preamble_line is not None:
        reason = "not an mbox file: no 'From ' separator line"
        yield ctx.reject(preamble_line, reason, b"".join(preamble), source=source)


def _flush(
    buf: list[bytes], size: int, cut: bool, start: int, ctx: Ctx, source: str
) -> Event | Rejection:
    if cut:
        return ctx.reject(start, too_large(size, MAX_MESSAGE_BYTES), b"".join(buf), source=source)
    if buf and not buf[-1].strip():
        buf.pop()  # the blank line that separates messages
    raw = b"".join(buf)
    return message_to_event(raw, start, ctx, source)
