"""Retrieval units: speaker-aware text, long bodies cut into windows, thread order."""

from datetime import UTC, datetime

from aios_assets.memory.chunks import (
    chunks_for_event,
    natural_key,
    neighbours,
    order_chunks,
    render_parts,
    speaker_name,
    split_words,
)
from aios_assets.memory.index import tokenize


def _row(source_id: str, text: str, **extra) -> dict:
    row = {
        "event_id": f"ev-{source_id}", "source": "chat", "source_id": source_id,
        "kind": "chat_message", "occurred_at": datetime(2026, 3, 1, tzinfo=UTC),
        "actor": "Maya", "thread": "conv-1", "subject": None, "text": text, "payload": None,
    }
    row.update(extra)
    return row


def test_speaker_leads_the_shown_text_but_not_the_indexed_body() -> None:
    assert speaker_name("Dana Reyes <dana@acme.io>") == "Dana Reyes"
    assert speaker_name("<dana@acme.io>") == "dana@acme.io"
    parts = render_parts(kind="chat_message", actor="Maya", subject=None,
                         text="we got a beagle", payload=None)
    assert parts == ["we got a beagle"]
    (chunk,) = chunks_for_event(_row("D1:1", "we got a beagle"))
    assert chunk.text == "Maya: we got a beagle" and chunk.body == "we got a beagle"


def test_photo_caption_from_extra_keys_is_searchable() -> None:
    payload = {"_extra": {"blip_caption": "a photo of a small dog on a couch"}}
    (chunk,) = chunks_for_event(_row("D1:1", "look at him!", payload=payload))
    assert "small dog on a couch" in chunk.text


def test_long_bodies_become_overlapping_windows() -> None:
    words = [f"w{i}" for i in range(300)]
    windows = split_words(" ".join(words), size=120, overlap=20)
    assert len(windows) == 3
    assert windows[0].split()[-20:] == windows[1].split()[:20]
    assert windows[-1].split()[-1] == "w299"
    chunks = chunks_for_event(_row("m1", " ".join(words), kind="email", subject="Re: plan"))
    assert [c.part for c in chunks] == [0, 1, 2]
    assert len({c.chunk_id for c in chunks}) == 3
    assert all(c.text.startswith("Maya: Re: plan — ") for c in chunks)


def test_thread_order_is_natural_and_neighbours_stay_in_thread() -> None:
    rows = [_row("D1:10", "ten"), _row("D1:2", "two"), _row("D1:1", "one"),
            _row("x", "other thread", thread="conv-2")]
    ordered = order_chunks([c for r in rows for c in chunks_for_event(r)])
    assert [c.source_id for c in ordered] == ["D1:1", "D1:2", "D1:10", "x"]
    prev, nxt = neighbours(ordered)
    assert prev == [-1, 0, 1, -1]
    assert nxt == [1, 2, -1, -1]
    assert natural_key("D3:12") > natural_key("D3:2")


def test_same_text_same_hash() -> None:
    a = chunks_for_event(_row("a", "same words"))[0]
    b = chunks_for_event(_row("b", "same words", actor="Leo"))[0]
    c = chunks_for_event(_row("c", "other words"))[0]
    assert a.content_hash == b.content_hash != c.content_hash


def test_tokenize_stems_and_drops_question_words() -> None:
    assert tokenize("When did Maya adopt the puppies?") == ["maya", "adopt", "puppi"]
    assert tokenize("Maya's dog") == ["maya", "dog"]


def test_a_mail_keeps_its_subject_but_a_meeting_turn_does_not() -> None:
    mail = render_parts(kind="email", actor="Dana", subject="Q3 retainer",
                        text="happy to go ahead at $5,000/month", payload=None)
    turn = render_parts(kind="transcript_turn", actor="Dana", subject="Juniper Capital check-in",
                        text="Can we get a first version?", payload=None)
    assert mail == ["Q3 retainer — happy to go ahead at $5,000/month"]
    assert turn == ["Can we get a first version?"]  # the meeting's title is not every turn's
