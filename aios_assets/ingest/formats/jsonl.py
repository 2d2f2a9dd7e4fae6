"""JSONL events (the public event schema), one JSON object per line. The hot path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from aios_assets.ingest.events import (
    JSONL_FIELDS,
    Event,
    FieldIssue,
    InvalidTimestamp,
    Rejection,
    parse_timestamp,
)
from aios_assets.ingest.formats.common import (
    BOM,
    MAX_RECORD_BYTES,
    Ctx,
    iter_lines,
    line_too_large,
    too_large,
    utf8_error,
)

_KNOWN = frozenset(JSONL_FIELDS)
_IDENTITY = ("source", "source_id", "kind")
_OPTIONAL_STR = ("actor", "thread", "subject")
# orjson serializes at most 254 nested levels; a line with fewer brackets cannot be deeper.
_NESTING_CHECK = 200


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _decode_error(exc: orjson.JSONDecodeError, data: bytes) -> str:
    if "UTF-8" in exc.msg:
        reason = utf8_error(data)
        if reason:
            return reason
    return f"invalid JSON: {exc.msg} (col {exc.colno})"


def _shown(value: Any) -> str:
    """A bad value as JSON, cut for a field issue."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()[:200]
    except (TypeError, RecursionError):
        return repr(value)[:200]


def _identity_problem(obj: dict[str, Any]) -> str | None:
    """Why the fields that identify a record (source, source_id, kind) are unusable, if so."""
    for name in _IDENTITY:
        value = obj.get(name)
        if value is None:
            return f"missing required field '{name}'"
        if type(value) is not str:
            return f"field '{name}' must be a string, got {json_type(value)}"
        if not value or value.isspace():
            return f"field '{name}' must not be empty"
    return None


def _checked_fields(obj: dict[str, Any], issues: list[FieldIssue]) -> dict[str, Any] | str:
    """The slow path: each bad field beyond the identity is nulled (or kept aside) with a
    field issue; the record is refused only when what identifies it is unusable."""
    if problem := _identity_problem(obj):
        return problem
    out: dict[str, Any] = {}
    value = obj.get("occurred_at")
    out["occurred_at"] = None
    if value is None:
        issues.append(FieldIssue("occurred_at", None, "missing: the load time is used"))
    elif type(value) is not str:
        issues.append(FieldIssue("occurred_at", _shown(value),
                                 f"must be a string, got {json_type(value)}: the load time "
                                 "is used"))
    else:
        try:
            out["occurred_at"] = parse_timestamp(value)
        except InvalidTimestamp as exc:
            issues.append(FieldIssue("occurred_at", value[:200],
                                     f"{exc}: the load time is used"))
    text = obj.get("text")
    if type(text) is str:
        out["text"] = text
    elif text is None:
        out["text"] = ""
        issues.append(FieldIssue("text", None, "missing: kept as empty text"))
    elif type(text) in (int, float):
        out["text"] = _shown(text)
        issues.append(FieldIssue("text", _shown(text),
                                 f"must be a string, got {json_type(text)}: kept as text"))
    else:
        out["text"] = ""
        issues.append(FieldIssue("text", _shown(text),
                                 f"must be a string, got {json_type(text)}: kept in "
                                 "payload._text"))
        out["_text"] = text
    for name in _OPTIONAL_STR:
        value = obj.get(name)
        if value is None or type(value) is str:
            out[name] = value
        else:
            out[name] = None
            issues.append(FieldIssue(name, _shown(value),
                                     f"must be a string or null, got {json_type(value)}: "
                                     "nulled"))
    payload = obj.get("payload")
    if payload is not None and type(payload) is not dict:
        issues.append(FieldIssue("payload", _shown(payload),
                                 f"must be an object or null, got {json_type(payload)}: kept "
                                 "as payload._payload"))
        payload = {"_payload": payload}
    if "_text" in out:
        payload = {**(payload or {}), "_text": out.pop("_text")}
    out["payload"] = payload
    return out


def record_to_event(obj: dict[str, Any], file: str, line: int) -> Event | str:
    """Validate one decoded JSONL object; return the Event (bad fields beyond its identity
    nulled, each with a field issue) or the reason it is refused."""
    get = obj.get
    source = get("source")
    source_id = get("source_id")
    kind = get("kind")
    occurred_at = get("occurred_at")
    text = get("text")
    actor = get("actor")
    thread = get("thread")
    subject = get("subject")
    payload = get("payload")
    issues: list[FieldIssue] = []
    ts = None
    if (  # the fast path: every field as the schema says
        type(source) is str
        and type(source_id) is str
        and type(kind) is str
        and type(occurred_at) is str
        and type(text) is str
        and source
        and source_id
        and kind
        and not source.isspace()
        and not source_id.isspace()
        and not kind.isspace()
        and (actor is None or type(actor) is str)
        and (thread is None or type(thread) is str)
        and (subject is None or type(subject) is str)
        and (payload is None or type(payload) is dict)
    ):
        try:
            ts = parse_timestamp(occurred_at)
        except InvalidTimestamp:
            ts = None
    if ts is None:
        checked = _checked_fields(obj, issues)
        if isinstance(checked, str):
            return checked
        ts, text, actor, thread, subject, payload = (
            checked["occurred_at"], checked["text"], checked["actor"], checked["thread"],
            checked["subject"], checked["payload"])
    if not _KNOWN.issuperset(obj):
        extra = {k: v for k, v in obj.items() if k not in _KNOWN}
        payload = dict(payload) if payload else {}
        old = payload.get("_extra")
        if isinstance(old, dict):
            extra = {**old, **extra}
        elif old is not None:
            extra = {"_extra": old, **extra}
        payload["_extra"] = extra
    return Event(
        source=source,
        source_id=source_id,
        kind=kind,
        occurred_at=ts,
        text=text,
        actor=actor,
        thread=thread,
        subject=subject,
        payload=payload,
        file=file,
        line=line,
        issues=issues,
    )


def parse_jsonl(f: BinaryIO, ctx: Ctx, *, file_start: bool = True) -> Iterator[Event | Rejection]:
    """Events and rejections of a JSONL stream; ``file_start=False`` for a slice of a file that
    does not begin at its first byte (no byte-order mark allowed there)."""
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    file = ctx.file
    for lineno, line, size in iter_lines(f):
        if size > MAX_RECORD_BYTES and line_too_large(line, size):
            yield ctx.reject(lineno, too_large(size), line)
            continue
        if lineno == 1 and file_start and line.startswith(BOM):
            line = line[3:]
        data = line.strip()
        if not data:
            continue
        try:
            obj = loads(data)
        except decode_error as exc:
            yield ctx.reject(lineno, _decode_error(exc, data), data)
            continue
        except RecursionError:
            yield ctx.reject(lineno, "invalid JSON: nested too deeply", data)
            continue
        if type(obj) is not dict:
            yield ctx.reject(lineno, f"record must be a JSON object, got {json_type(obj)}", data)
            continue
        result = record_to_event(obj, file, lineno)
        if isinstance(result, str):
            src = obj.get("source")
            if type(src) is not str or not src.strip():
                src = None
            yield ctx.reject(lineno, result, data, source=src)
            continue
        if (
            len(data) > 2 * _NESTING_CHECK
            and result.payload
            and data.count(b"{") + data.count(b"[") > _NESTING_CHECK
        ):
            try:
                orjson.dumps(result.payload, option=orjson.OPT_NON_STR_KEYS)
            except (TypeError, RecursionError):
                yield ctx.reject(lineno, "field 'payload' is nested too deeply", data)
                continue
        yield result
