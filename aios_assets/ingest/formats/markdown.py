"""Markdown notes: one event per file, with optional YAML front matter between ``---`` lines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import yaml

from aios_assets.ingest.events import (
    MAX_TEXT_CHARS,
    Event,
    FieldIssue,
    InvalidTimestamp,
    Rejection,
    parse_timestamp,
)
from aios_assets.ingest.formats.common import Ctx, decode_text, safe_yaml, too_large
from aios_assets.shared.jsonable import jsonable

FRONT_MATTER_KEYS = ("id", "title", "date", "tags", "source", "kind", "thread", "author")
_STRING_KEYS = ("id", "title", "source", "kind", "thread", "author")
_DATE_PREFIX_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


def _front_matter(lines: list[str]) -> tuple[dict[str, Any] | str, int]:
    """(front matter, index of the first body line); the front matter is the reason it is
    unreadable when it is."""
    if not lines or lines[0].rstrip() != "---":
        return {}, 0
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            break
    else:  # a leading '---' may be a thematic break: the whole file is the note
        return "front matter not closed (no second '---' line): the whole file is the note", 0
    try:
        data = safe_yaml("\n".join(lines[1:i]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" (line {mark.line + 2})" if mark is not None else ""
        return f"invalid YAML front matter: {problem}{where}", i + 1
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return f"front matter must be a YAML mapping, got {type(data).__name__}", i + 1
    return {str(k): v for k, v in data.items()}, i + 1


def _usable_front(front: dict[str, Any], issues: list[FieldIssue]) -> dict[str, Any]:
    """The front matter's keys as JSON values; a key that cannot be one is left out."""
    out: dict[str, Any] = {}
    for key, value in front.items():
        try:
            # as the source wrote it (offsets kept), within what orjson and the event hash take
            out[key] = jsonable(value, utc=False, binary="base64", max_depth=100, int64=True)
        except ValueError as exc:
            issues.append(FieldIssue(f"front matter {key}", repr(value)[:200],
                                     f"{exc}: left out"))
    return out


def parse_markdown(data: bytes, ctx: Ctx, default_source: str) -> Iterator[Event | Rejection]:
    """One note per file. Unreadable front matter, or one bad key of it, costs only itself
    (a field issue): the note is kept."""
    text, decoded_as = decode_text(data)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    issues: list[FieldIssue] = []
    front, body_start = _front_matter(lines)
    payload: dict[str, Any] = {}
    if isinstance(front, str):
        raw = "\n".join(lines[1:max(body_start - 1, 1)]) if body_start else ""
        issues.append(FieldIssue("front_matter", raw[:200] or None,
                                 front if not body_start else f"{front}: kept as "
                                 "payload._front_matter"))
        if raw:
            payload["_front_matter"] = raw
        front = {}
    front = _usable_front(front, issues)
    for key in _STRING_KEYS:
        value = front.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            issues.append(FieldIssue(key, repr(value)[:200],
                                     f"front matter '{key}' must be a string: not used"))
            front.pop(key)
            payload[f"_{key}"] = value
            continue
        front[key] = str(value).strip()
    source = front.get("source") or default_source
    occurred_at: datetime | None = None
    if front.get("date") is not None:
        try:
            occurred_at = parse_timestamp(front["date"])
        except InvalidTimestamp as exc:
            issues.append(FieldIssue("date", str(front["date"])[:200],
                                     f"invalid front matter date: {exc}: not used"))
    if occurred_at is None:
        m = _DATE_PREFIX_RE.match(ctx.path.stem)
        if m:
            try:
                occurred_at = parse_timestamp(m.group(1))
            except InvalidTimestamp:
                occurred_at = None
    body = "\n".join(lines[body_start:]).strip()
    if len(body) > MAX_TEXT_CHARS:
        yield ctx.reject(1, too_large(len(body.encode())), text, source=source)
        return
    subject = front.get("title") or None
    if subject is None:
        for line in lines[body_start:]:
            if line.startswith("# "):
                subject = line[2:].strip().rstrip("#").strip() or None
                break
    payload = {**front, **payload}
    if decoded_as:
        payload["_decoded_as"] = decoded_as
    yield Event(
        source=source,
        source_id=front.get("id") or ctx.path.stem,
        kind=front.get("kind") or "note",
        occurred_at=occurred_at,
        text=body,
        actor=front.get("author") or None,
        thread=front.get("thread") or None,
        subject=subject,
        payload=payload,
        file=ctx.file,
        line=1,
        issues=issues,
    )
