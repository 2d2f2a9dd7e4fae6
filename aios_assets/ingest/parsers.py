"""File parsers of the ingestion layer: a file in, a stream of Events and Rejections out.

The formats and their rules are specified in ``docs/formats.md``; one module per format lives in
:mod:`aios_assets.ingest.formats`. :func:`iter_records` never raises for bad input: every problem
becomes a :class:`~aios_assets.ingest.events.Rejection` (file, line, reason, raw) and the rest of
the file goes on. JSONL, CSV and mbox are streamed line by line (any size); ``.eml``, ``.msg``,
``.ics`` and ``.md`` are read whole and refused above 50 MB.

Where the source comes from: JSONL records carry their own ``source``; CSV uses ``source=`` (the
CLI's ``--source``), else the mapping file's ``source``, else the kind's default; email and
calendar (``.eml``, ``.mbox``, Outlook ``.msg``, ``.ics``) use ``source=`` else ``email`` /
``calendar``; Markdown uses the front matter's ``source``, else ``source=``, else ``notes``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from aios_assets.ingest.events import Event, ParseResult, Rejection
from aios_assets.ingest.formats.calendar import parse_ics
from aios_assets.ingest.formats.common import (
    MAX_WHOLE_FILE_BYTES,
    Ctx,
    empty_or_blank,
    mb,
    sniff_binary,
)
from aios_assets.ingest.formats.jsonl import parse_jsonl
from aios_assets.ingest.formats.mail import parse_eml, parse_mbox, parse_msg
from aios_assets.ingest.formats.markdown import parse_markdown
from aios_assets.ingest.formats.tabular import (
    CSV_KINDS,
    CsvMapping,
    InvalidMapping,
    find_mapping,
    load_mapping,
)
from aios_assets.ingest.formats.tabular import parse_csv as _parse_csv

__all__ = [
    "CSV_KINDS",
    "DEFAULT_SOURCES",
    "FORMATS",
    "CsvMapping",
    "InvalidMapping",
    "UnknownFormat",
    "detect_format",
    "is_mapping_file",
    "iter_records",
    "load_mapping",
    "parse_file",
]

FORMATS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".eml": "eml",
    ".mbox": "mbox",
    ".msg": "msg",
    ".ics": "ics",
    ".md": "markdown",
    ".markdown": "markdown",
}
# Source of the events a format yields when neither the record nor the caller names one.
DEFAULT_SOURCES: dict[str, str] = {
    "eml": "email",
    "mbox": "email",
    "msg": "email",
    "ics": "calendar",
    "markdown": "notes",
}
_WHOLE_FILE_FORMATS = ("eml", "ics", "markdown")


class UnknownFormat(ValueError):
    """A file whose extension names no supported format."""


def detect_format(path: Path) -> str | None:
    """The format name for a file's extension (case-insensitive), None when unknown."""
    return FORMATS.get(Path(path).suffix.lower())


def is_mapping_file(path: Path) -> bool:
    """True for a ``<name>.mapping.yaml`` CSV mapping file (a folder walk should skip those)."""
    return Path(path).name.lower().endswith((".mapping.yaml", ".mapping.yml"))


def iter_records(
    path: Path,
    *,
    source: str | None = None,
    mapping: Path | None = None,
    display_name: str | None = None,
) -> Iterator[Event | Rejection]:
    """Parse one file into Events and Rejections, streaming; never raises for bad input.

    ``source`` overrides the format's default source (see the module docstring), ``mapping`` is
    a CSV mapping file (else ``<stem>.mapping.yaml`` beside the CSV is used when present) and
    ``display_name`` is what goes into ``Event.file`` / ``Rejection.file`` (default ``str(path)``).
    """
    path = Path(path)
    file = display_name or str(path)
    fmt = detect_format(path)
    if fmt is None:
        suffix = path.suffix.lower()
        reason = f"unknown format {suffix!r}" if suffix else "unknown format (no file extension)"
        yield Rejection(file=file, line=None, reason=reason, source=source, fmt=None)
        return
    ctx = Ctx(path=path, file=file, fmt=fmt, source=source)
    whole_source = source or DEFAULT_SOURCES.get(fmt)
    count = 0
    try:
        for record in _parse(path, ctx, fmt, mapping):
            count += 1
            yield record
    except OSError as exc:
        count += 1
        yield ctx.reject(None, f"cannot read file: {exc.strerror or exc}", source=whole_source)
    except Exception as exc:
        count += 1
        yield ctx.reject(
            None, f"internal parser error: {type(exc).__name__}: {exc}", source=whole_source
        )
    if count == 0:
        yield ctx.reject(None, "empty file", source=whole_source)


def _parse(path: Path, ctx: Ctx, fmt: str, mapping: Path | None) -> Iterator[Event | Rejection]:
    source = ctx.source or DEFAULT_SOURCES.get(fmt)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the with block below
    except OSError as exc:
        yield ctx.reject(None, f"cannot read file: {exc.strerror or exc}", source=source)
        return
    with f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8192)
        f.seek(0)
        if not head or (size <= len(head) and empty_or_blank(head)):
            yield ctx.reject(None, "empty file", source=source)
            return
        if fmt == "msg":  # a binary OLE file: extract-msg reads it from the path
            if size > MAX_WHOLE_FILE_BYTES:
                limit = MAX_WHOLE_FILE_BYTES // 1_000_000
                yield ctx.reject(None, f"file too large ({mb(size)} > {limit} MB)", source=source)
                return
            yield from parse_msg(path, ctx, source or "email")
            return
        binary = sniff_binary(head)
        if binary:
            yield ctx.reject(None, binary, head[:200], source=source)
            return
        if fmt == "jsonl":
            yield from parse_jsonl(f, ctx)
        elif fmt == "csv":
            yield from _csv(f, ctx, path, mapping)
        elif fmt == "mbox":
            yield from parse_mbox(f, ctx, source or "email")
        else:
            if size > MAX_WHOLE_FILE_BYTES:
                limit = MAX_WHOLE_FILE_BYTES // 1_000_000
                yield ctx.reject(
                    None, f"file too large ({mb(size)} > {limit} MB)", head, source=source
                )
                return
            data = f.read(MAX_WHOLE_FILE_BYTES + 1)
            if fmt == "eml":
                yield from parse_eml(data, ctx, source or "email")
            elif fmt == "ics":
                yield from parse_ics(data, ctx, source or "calendar")
            else:
                yield from parse_markdown(data, ctx, source or "notes")


def _csv(f: BinaryIO, ctx: Ctx, path: Path, mapping: Path | None) -> Iterator[Event | Rejection]:
    mapping_path = Path(mapping) if mapping is not None else find_mapping(path)
    loaded: CsvMapping | None = None
    error: str | None = None
    if mapping_path is not None:
        try:
            loaded = load_mapping(mapping_path)
        except InvalidMapping as exc:
            error = str(exc)
    yield from _parse_csv(f, ctx, loaded, error)


def parse_file(
    path: Path,
    *,
    source: str | None = None,
    mapping: Path | None = None,
    display_name: str | None = None,
) -> ParseResult:
    """:func:`iter_records` collected into a :class:`ParseResult` (for small files and tests)."""
    result = ParseResult(fmt=detect_format(Path(path)) or "unknown")
    for record in iter_records(path, source=source, mapping=mapping, display_name=display_name):
        if isinstance(record, Event):
            result.events.append(record)
        else:
            result.rejections.append(record)
    return result
