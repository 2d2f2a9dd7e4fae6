"""Retrieval units: events become chunks with speaker-aware text and their place in a thread.

Pure functions, no Dagster: the semantic-memory asset, the index builder and tests share them.

Not every unit gets a dense vector (:func:`needs_dense`): a contact record's one-line rendering
("Contact Dana Reyes <dana@acme.io>; CFO at Acme; Berlin") is found by its words and entities
(BM25, the entity filter), so it stays lexical-only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aios_assets.shared.sql_rules import freemail_domains
from aios_assets.shared.text import email_of

THREAD_TURNS = frozenset({"chat_message", "transcript_turn"})  # one event per turn of a thread
# Event kinds whose units get no dense vector. A contact (aios_assets/ingest/formats/tabular.py)
# is a name, an address, a company and a place: nothing a paraphrase finds that its words do
# not, and on a 50k-contact CSV embedding them took 12 of a 14-minute ingest (issue 19).
LEXICAL_ONLY_KINDS = frozenset({"contact"})
CHUNK_WORDS = 120  # long bodies (mail, notes) are cut into windows of this many words
CHUNK_OVERLAP = 20

_ADDR = re.compile(r"\s*<[^>]*>\s*")
_WS = re.compile(r"\s+")
# Extra top-level JSONL keys that carry words worth searching (a shared photo's caption, ...).
_TEXTUAL_EXTRA = ("blip_caption", "caption", "image_caption", "query", "title", "summary")


@dataclass(frozen=True)
class Chunk:
    """One retrieval unit; ``seq`` orders the units of a thread (or of a lone event)."""

    chunk_id: str
    event_id: str
    source: str
    source_id: str
    kind: str
    thread: str | None
    actor: str | None
    occurred_at: datetime
    part: int
    text: str  # what a hit shows: the speaker leads
    body: str  # what is indexed and embedded: the words alone, no speaker name
    content_hash: str  # of ``body``: a unit is embedded once per distinct body
    # where the speaker writes from (:func:`org_of`): "what did Acme say" points at Dana's units
    org: str = ""


def needs_dense(chunk: Chunk) -> bool:
    """Whether ``chunk`` is embedded: everything but the kinds in :data:`LEXICAL_ONLY_KINDS`.

    A lexical-only unit keeps everything else (BM25, entities, citations); recall gives it no
    dense score."""
    return chunk.kind not in LEXICAL_ONLY_KINDS


def speaker_name(actor: str | None) -> str | None:
    """``"Dana Reyes <dana@acme.io>"`` -> ``"Dana Reyes"``; a bare address stays as it is."""
    if not actor:
        return None
    name = _ADDR.sub(" ", actor).strip().strip('"').strip()
    return name or actor.strip("<> ")


def _extras(payload: Mapping[str, Any] | None) -> list[str]:
    if not isinstance(payload, Mapping):
        return []
    extra = payload.get("_extra")
    found: list[str] = []
    for bag in (extra, payload):
        if not isinstance(bag, Mapping):
            continue
        for key in _TEXTUAL_EXTRA:
            value = bag.get(key)
            if isinstance(value, str) and value.strip() and value not in found:
                found.append(value.strip())
    return found


def split_words(text: str, size: int = CHUNK_WORDS, overlap: int = CHUNK_OVERLAP) -> list[str]:
    """Cut ``text`` into windows of ``size`` words overlapping by ``overlap`` (one if short)."""
    words = text.split()
    if len(words) <= size:
        return [" ".join(words)]
    step = max(1, size - overlap)
    return [" ".join(words[i:i + size]) for i in range(0, len(words) - overlap, step)]


def render_parts(
    *, kind: str, actor: str | None, subject: str | None, text: str | None,
    payload: Mapping[str, Any] | None,
) -> list[str]:
    """The searchable words of one event, cut into units: subject and photo captions join in.

    The speaker's name is left out on purpose: in a short turn ("Same here!") the name would
    be most of the words, and every question naming that person would match it. Recall weighs
    the speaker separately.
    """
    body = _WS.sub(" ", text or "").strip()
    extras = _extras(payload)
    if extras:
        body = f"{body} [shares a photo: {'; '.join(extras)}]".strip()
    pieces = split_words(body) if body else [""]
    # A chat or transcript turn carries its thread's title (the meeting's name): repeated on every
    # turn it would make each of them match the title's words more than the turns that matter.
    lead = (f"{subject.strip()} — " if subject and subject.strip() and kind not in THREAD_TURNS
            else "")
    parts = [f"{lead}{piece}".strip() for piece in pieces]
    return [p for p in parts if p] or [kind]


def chunk_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def chunks_for_event(row: Mapping[str, Any]) -> list[Chunk]:
    parts = render_parts(
        kind=row["kind"], actor=row.get("actor"), subject=row.get("subject"),
        text=row.get("text"), payload=row.get("payload"),
    )
    head = speaker_name(row.get("actor"))
    org = event_org(row.get("actor"), row.get("payload"))
    return [
        Chunk(
            chunk_id=f"{row['event_id']}:{i}",
            event_id=row["event_id"],
            source=row["source"],
            source_id=row["source_id"],
            kind=row["kind"],
            thread=row.get("thread"),
            actor=head,
            occurred_at=row["occurred_at"],
            part=i,
            text=f"{head}: {body}" if head else body,
            body=body,
            content_hash=chunk_hash(body),
            org=org,
        )
        for i, body in enumerate(parts)
    ]


_NUM = re.compile(r"(\d+)")


def natural_key(value: str) -> tuple:
    """Sort ``"D3:12"`` after ``"D3:2"``: numbers compare as numbers."""
    return tuple(int(p) if p.isdigit() else p for p in _NUM.split(value))


def order_chunks(chunks: Iterable[Chunk], lines: Mapping[str, tuple] | None = None) -> list[Chunk]:
    """Chunks of a thread in conversation order: event time, then file line, then id."""
    lines = lines or {}
    return sorted(
        chunks,
        key=lambda c: (
            c.thread or "", c.occurred_at, lines.get(c.event_id, ("", 0)),
            natural_key(c.source_id), c.part,
        ),
    )


def neighbours(chunks: list[Chunk]) -> tuple[list[int], list[int]]:
    """For ordered chunks: index of the previous and next unit in the same thread (-1 if none)."""
    prev = [-1] * len(chunks)
    nxt = [-1] * len(chunks)
    for i in range(1, len(chunks)):
        a, b = chunks[i - 1], chunks[i]
        same = (a.thread is not None and a.thread == b.thread) or a.event_id == b.event_id
        if same:
            prev[i] = i - 1
            nxt[i - 1] = i
    return prev, nxt


# payload fields that carry the address of the event's person when the actor is a bare name
# (a chat or transcript speaker, an invoice's customer)
_PERSON_ADDRESS_FIELDS = ("speaker_email", "customer_email")


def event_org(actor: str | None, payload: Mapping[str, Any] | None) -> str:
    """:func:`org_of` the actor, else of the payload's speaker or customer address."""
    found = org_of(actor)
    if not found and isinstance(payload, Mapping):
        for name in _PERSON_ADDRESS_FIELDS:
            value = payload.get(name)
            if isinstance(value, str) and (found := org_of(value)):
                break
    return found


def org_of(actor: str | None) -> str:
    """The name in the actor's address domain, lower case: ``acme`` for ``dana@acme.io``,
    ``mail.acme.co.uk`` or ``acme.com`` ("" for no address or a freemail one)."""
    address = email_of(actor)
    if not address:
        return ""
    domain = address.rpartition("@")[2]
    if domain in freemail_domains():
        return ""
    labels = domain.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL:  # acme.co.uk
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ltd", "plc"})
