"""Parsed records -> staging chunks: each event as a row of the staging schema (ids, content
hash, entity refs, storable payload), rejections as quarantine rows. Used by the loader and by
the parallel parse workers alike."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pyarrow as pa

from aios_assets.ingest.events import (
    Event,
    Rejection,
    extract_entity_refs,
    make_event_id,
    make_storable,
    storable,
)

RAW_CHARS = 2_000

_REFS_TYPE = pa.struct(
    [(name, pa.list_(pa.string())) for name in ("emails", "names", "domains", "phones")]
)
_ISSUES_TYPE = pa.list_(
    pa.struct([("field", pa.string()), ("raw", pa.string()), ("reason", pa.string())])
)
STAGE_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("source", pa.string()),
        ("source_id", pa.string()),
        ("kind", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("actor", pa.string()),
        ("thread", pa.string()),
        ("subject", pa.string()),
        ("text", pa.string()),
        ("payload", pa.string()),
        ("entity_refs", _REFS_TYPE),
        ("content_hash", pa.string()),
        ("file", pa.string()),
        ("line", pa.int32()),
        ("seq", pa.int64()),
        ("issues", _ISSUES_TYPE),
    ]
)


def _event_row(event: Event, seq: int) -> dict:
    try:
        payload = (
            orjson.dumps(event.payload, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
            if event.payload is not None
            else None
        )
    except orjson.JSONEncodeError:  # a lone surrogate: repaired below
        payload = None
    payload = make_storable(event, payload)
    content_hash = event.content_hash()
    return {
        "event_id": make_event_id(event.source, event.source_id, content_hash),
        "source": event.source,
        "source_id": event.source_id,
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "actor": event.actor,
        "thread": event.thread,
        "subject": event.subject,
        "text": event.text,
        "payload": payload,
        "entity_refs": extract_entity_refs(event),
        "content_hash": content_hash,
        "file": event.file,
        "line": event.line,
        "seq": seq,
        "issues": [
            {"field": i.field, "raw": i.raw,
             "reason": i.reason}
            for i in event.issues
        ] or None,
    }


def event_chunks(records: Iterator[Event | Rejection], size: int):
    """(event rows as an Arrow table or None, rejection rows) per ``size`` records."""
    events: list[dict] = []
    rejections: list[dict] = []
    seq = 0

    def flush():
        table = pa.Table.from_pylist(events, schema=STAGE_SCHEMA) if events else None
        return table, rejections, len(events)

    for record in records:
        if isinstance(record, Event):
            events.append(_event_row(record, seq))
            seq += 1
        else:
            rejections.append(
                {
                    "file": record.file,
                    "line": record.line,
                    "reason": storable(record.reason),
                    "raw": storable((record.raw or "")[:RAW_CHARS]),
                    "source": record.source,
                    "format": record.fmt,
                }
            )
        if len(events) + len(rejections) >= size:
            yield flush()
            events, rejections = [], []
    if events or rejections:
        yield flush()
