"""Helpers shared by the format parsers: limits, line streaming, decoding, rejections."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from aios_assets.ingest.events import MAX_TEXT_CHARS, Rejection
from aios_assets.shared.text import storable

BOM = b"\xef\xbb\xbf"
MAX_RECORD_BYTES = MAX_TEXT_CHARS  # one line / row / message text; larger is quarantined
MAX_WHOLE_FILE_BYTES = 50_000_000  # .eml / .ics / .md are read whole; larger files are refused
MAX_MESSAGE_BYTES = MAX_WHOLE_FILE_BYTES  # one raw mbox message (attachments included)
RAW_CHARS = 2000  # how much of the offending input a rejection keeps


def mb(size: int) -> str:
    """``1234567`` -> ``'1.2 MB'``."""
    return f"{size / 1_000_000:.1f} MB"


def too_large(size: int, limit: int = MAX_RECORD_BYTES) -> str:
    return f"record too large ({mb(size)} > {limit // 1_000_000} MB)"


def raw_text(data: bytes | str) -> str:
    """The first RAW_CHARS characters of some input, for a rejection (never raises), as the
    quarantine stores them (:func:`storable`: a NUL byte becomes U+FFFD), so the report and
    the table agree."""
    if isinstance(data, bytes):
        data = data[: RAW_CHARS * 4].decode("utf-8", errors="replace")
    return storable(data[:RAW_CHARS])


MAX_REASON_CHARS = 600


def one_line(reason: str) -> str:
    """A rejection reason as one short line (values quoted in it can be huge or multi-line)."""
    text = " ".join(reason.split())
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 3] + "..."
    return text


def short(value: str, limit: int = 60) -> str:
    """``repr`` of a value for a reason, cut to ``limit`` characters."""
    if len(value) > limit:
        return repr(value[:limit]) + "..."
    return repr(value)


@dataclass(slots=True)
class Ctx:
    """What a parser knows about the file it reads."""

    path: Path
    file: str  # the name written into Event.file / Rejection.file
    fmt: str
    source: str | None  # the caller's --source, if any

    def reject(
        self, line: int | None, reason: str, raw: bytes | str = "", source: str | None = None
    ) -> Rejection:
        return Rejection(
            file=self.file,
            line=line,
            reason=one_line(reason),
            raw=raw_text(raw),
            source=source if source is not None else self.source,
            fmt=self.fmt,
        )


def iter_lines(f: BinaryIO, limit: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, bytes, int]]:
    """Yield ``(line_number, data, size)`` for each ``\\n``-terminated line of a binary stream.

    ``data`` keeps its line terminator. A line longer than ``limit`` (+ a CRLF) is not held in
    memory: the rest of it is skipped, ``data`` is only its head and ``size`` its full length, so
    ``size > len(data)`` tells the caller that the line was cut.
    """
    readline = f.readline
    cap = limit + 2
    lineno = 0
    while True:
        line = readline(cap)
        if not line:
            return
        lineno += 1
        if len(line) < cap or line[-1:] == b"\n":
            yield lineno, line, len(line)
            continue
        size = len(line)
        while True:
            chunk = readline(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if chunk[-1:] == b"\n":
                break
        yield lineno, line, size


def line_too_large(data: bytes, size: int, limit: int = MAX_RECORD_BYTES) -> bool:
    """True when a line from :func:`iter_lines` holds more than ``limit`` bytes of content."""
    if size <= limit:
        return False
    if size > len(data):
        return True
    return len(data.rstrip(b"\r\n")) > limit


# Signatures of binary formats that are sometimes saved under a text extension.
_SIGNATURES = (
    (b"%PDF-", "PDF document"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"PK\x03\x04", "ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE compound file (Outlook .msg, old Office)"),
    (b"\x7fELF", "ELF executable"),
    (b"SQLite format 3\x00", "SQLite database"),
)
# A text file with a stray NUL still reads line by line (only its bad lines are quarantined);
# a head this full of NULs is binary or UTF-16/32.
_NUL_SHARE = 0.1


def sniff_binary(head: bytes) -> str | None:
    """A reason when the first bytes of a file show it is binary or UTF-16/32, else None.

    Binary formats are told by their signatures; a few NUL bytes do not make a file binary."""
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return f"binary file ({what}), not text"
    nuls = head.count(0)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) and nuls * 4 >= len(head):
        return "UTF-16/UTF-32 encoded file; save it as UTF-8"
    if nuls > _NUL_SHARE * len(head):
        return "binary file (mostly NUL bytes in the first 8 KB)"
    return None


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Decode a whole file: UTF-8 (BOM accepted), else Windows-1252.

    Returns ``(text, decoded_as)`` where ``decoded_as`` is ``"cp1252"`` for the fallback.
    """
    if data.startswith(BOM):
        data = data[3:]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return decode_cp1252(data), "cp1252"


def decode_cp1252(data: bytes) -> str:
    # The five bytes Windows-1252 leaves undefined are read as Latin-1 (as browsers do).
    return data.decode("cp1252", errors="_aios_latin1")


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


def _register() -> None:
    import codecs

    try:
        codecs.lookup_error("_aios_latin1")
    except LookupError:
        codecs.register_error("_aios_latin1", _latin1_fallback)


_register()


def utf8_error(data: bytes) -> str | None:
    """``'not valid UTF-8 (byte 0xff at offset 12)'`` or None when ``data`` is valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
    return None


def empty_or_blank(data: bytes) -> bool:
    if data.startswith(BOM):
        data = data[3:]
    return not data.strip()


# --- YAML (front matter, mapping files) ----------------------------------------------------------

MAX_YAML_CHARS = 256_000  # front matter and mapping files are small; larger is refused


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases: 1 KB of nested aliases ("billion laughs") expands to
    gigabytes once the value is serialized, and front matter never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed", mark)
        return super().compose_node(parent, index)


def safe_yaml(text: str) -> Any:
    """``yaml.safe_load`` with no aliases, bounded size and depth; raises ``yaml.YAMLError``."""
    if len(text) > MAX_YAML_CHARS:
        raise yaml.YAMLError(f"YAML larger than {MAX_YAML_CHARS // 1000} KB")
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise yaml.YAMLError("YAML nested too deeply") from None
