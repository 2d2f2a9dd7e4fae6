"""Semantic memory and hybrid recall, end to end: real DuckDB, real Postgres+pgvector, the real
offline embedding model, the real CLI."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_aios, write_jsonl
from tests.semantic_helpers import ingest_file, materialize_semantic

CONVERSATION = [
    ("D1:1", "Maya", "2026-01-05T18:00:00Z", "Hey Leo! Guess what, we brought home a little "
     "beagle puppy yesterday. His name is Biscuit."),
    ("D1:2", "Leo", "2026-01-05T18:00:00Z", "No way! That's amazing, how is he settling in?"),
    ("D1:3", "Maya", "2026-01-05T18:00:00Z", "He chewed my slippers already, but we love him."),
    ("D1:4", "Leo", "2026-01-05T18:00:00Z", "Ha. I started a pottery class last week, my "
     "first bowl came out wonky."),
    ("D2:1", "Maya", "2026-02-10T09:30:00Z", "How is the ceramics going?"),
    ("D2:2", "Leo", "2026-02-10T09:30:00Z", "Better! I glazed three mugs and gave one to my mum."),
    ("D2:3", "Maya", "2026-02-10T09:30:00Z", "I ran my first half marathon on Sunday, 2 hours "
     "and 5 minutes."),
    ("D2:4", "Leo", "2026-02-10T09:30:00Z", "Congratulations, that is a great time!"),
    ("D2:5", "Maya", "2026-02-10T09:30:00Z", "Thanks! Same here, honestly."),
    ("D3:1", "Maya", "2026-03-20T20:00:00Z", "We are flying to Lisbon in May for my sister's "
     "wedding."),
    ("D3:2", "Leo", "2026-03-20T20:00:00Z", "Lisbon is lovely, try the custard tarts."),
]


def _turns(thread: str = "conv-1") -> list[dict]:
    return [
        {"source": "chat", "source_id": sid, "kind": "chat_message", "occurred_at": at,
         "actor": actor, "thread": thread, "subject": None, "text": text, "payload": None}
        for sid, actor, at, text in CONVERSATION
    ]


@pytest.fixture
def memory_home(aios_home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIOS_POSTGRES_URL", pg_url)
    return aios_home


def test_recall_finds_paraphrased_evidence_and_cites_it(memory_home: Path, tmp_path: Path) -> None:
    import aios_assets

    ingest_file(memory_home, write_jsonl(tmp_path / "chat.jsonl", _turns()))
    meta = materialize_semantic(memory_home)
    assert meta["units"] == len(CONVERSATION) and meta["embedded_now"] == len(CONVERSATION)

    hits = aios_assets.recall("What kind of dog did Maya get?", k=3, home=memory_home)
    assert hits[0].source_id == "D1:1"
    assert {"source_id", "event_id", "score", "text", "occurred_at", "thread"} <= set(
        hits[0].to_dict())
    assert hits[0].thread == "conv-1" and hits[0].score >= hits[1].score

    # Lexically distant: no word of the question is in the evidence but the meaning is.
    hits = aios_assets.recall("What did Leo make out of clay?", k=3, home=memory_home)
    assert "D1:4" in [h.source_id for h in hits]

    # A named person's short small talk must not outrank what they actually said: the name
    # weighs as the speaker signal, not as a word of every one of their turns.
    hits = aios_assets.recall("Where is Maya travelling to?", k=3, home=memory_home)
    assert hits[0].source_id == "D3:1" and "D2:5" not in [h.source_id for h in hits[:2]]


def test_filters_thread_dates_and_bad_input(memory_home: Path, tmp_path: Path) -> None:
    from aios_assets.memory.recall import RecallError, recall

    ingest_file(memory_home, write_jsonl(tmp_path / "a.jsonl", _turns("conv-1")))
    other = [dict(t, source_id="B" + t["source_id"]) for t in _turns("conv-2")]
    ingest_file(memory_home, write_jsonl(tmp_path / "b.jsonl", other))
    materialize_semantic(memory_home)

    hits = recall("puppy", k=20, thread="conv-2", home=memory_home)
    assert hits and {h.thread for h in hits} == {"conv-2"}
    assert recall("puppy", thread="no-such-thread", home=memory_home) == []
    dated = recall("marathon wedding puppy", k=20, since="2026-02-01", until="2026-02-28",
                   home=memory_home)
    assert dated and all(h.occurred_at.startswith("2026-02-10") for h in dated)
    with pytest.raises(RecallError, match="ISO"):
        recall("x", since="last tuesday", home=memory_home)
    with pytest.raises(RecallError, match="empty"):
        recall("  ", home=memory_home)
    with pytest.raises(RecallError, match="after"):
        recall("x", since="2026-03-01", until="2026-02-01", home=memory_home)


def test_embedding_is_incremental_by_content_hash(memory_home: Path, tmp_path: Path) -> None:
    import psycopg

    ingest_file(memory_home, write_jsonl(tmp_path / "a.jsonl", _turns()))
    first = materialize_semantic(memory_home)
    again = materialize_semantic(memory_home)
    assert again["embedded_now"] == 0 and again["reused_embeddings"] == first["units"]

    extra = {**_turns()[0], "source_id": "D4:1", "occurred_at": "2026-04-01T10:00:00Z",
             "text": "Biscuit learned to sit and fetch this week."}
    ingest_file(memory_home, write_jsonl(tmp_path / "b.jsonl", [extra]))
    third = materialize_semantic(memory_home)
    assert third["embedded_now"] == 1 and third["units"] == first["units"] + 1

    import os

    with psycopg.connect(os.environ["AIOS_POSTGRES_URL"]) as con:
        dims = con.execute(
            "SELECT vector_dims(embedding) FROM aios.embeddings_384 e JOIN aios.semantic_chunks c"
            " USING (content_hash) WHERE c.source_id = 'D4:1'").fetchall()
        assert dims == [(384,)]
        (index_def,) = con.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'embeddings_384_hnsw'").fetchone()
        assert "hnsw" in index_def


def test_context_pack_fits_the_budget_and_cites(memory_home: Path, tmp_path: Path) -> None:
    from aios_assets.memory.recall import context_pack

    ingest_file(memory_home, write_jsonl(tmp_path / "a.jsonl", _turns()))
    materialize_semantic(memory_home)
    pack = context_pack("Maya's running and travel plans", budget_tokens=60, home=memory_home)
    assert 0 < pack.tokens <= 60
    assert all(f"chat:{h.source_id}" in pack.text for h in pack.hits)
    big = context_pack("Maya's running and travel plans", budget_tokens=2000, home=memory_home)
    assert len(big.hits) > len(pack.hits)


def test_cli_recall_json_and_missing_index(memory_home: Path, tmp_path: Path) -> None:
    missing = run_aios("recall", "anything", home=memory_home)
    assert missing.returncode == 1 and "aios ingest" in missing.stderr

    ingest_file(memory_home, write_jsonl(tmp_path / "a.jsonl", _turns()))
    materialize_semantic(memory_home)
    done = run_aios("recall", "half marathon time", "--k", "2", "--json", home=memory_home)
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert len(hits) == 2 and hits[0]["source_id"] == "D2:3"
    table = run_aios("recall", "Lisbon wedding", "--thread", "conv-1", home=memory_home)
    assert table.returncode == 0 and "D3:1" in table.stdout


def test_the_operator_is_not_a_speaker_cue_but_the_two_people_of_one_chat_are() -> None:
    from aios_assets.memory.index import _speaker_cues

    many = np.array(["maya"] * 50 + [f"p{i}" for i in range(50)], dtype=object)
    assert "maya" not in _speaker_cues(many) and "p3" in _speaker_cues(many)
    two = np.array(["maya", "leo"] * 10, dtype=object)
    assert _speaker_cues(two) == {"maya", "leo"}


def test_a_record_outside_any_thread_stands_for_its_own_neighbour() -> None:
    from types import SimpleNamespace

    from aios_assets.memory.recall import neighbour_evidence

    # 0-1-2 is a conversation; 3 is an invoice with no neighbour.
    index = SimpleNamespace(prev=np.array([-1, 0, 1, -1]), next=np.array([1, 2, -1, -1]))
    cand = np.array([3, 1, 0])
    base = np.array([0.9, 0.2, 0.7])
    got = neighbour_evidence(index, cand, base)
    # the invoice: itself; turn 1: the better of turn 0 (0.7) and turn 2 (not a candidate);
    # turn 0: turn 1's score.
    assert got.tolist() == pytest.approx([0.9, 0.7, 0.2])


def test_the_pgvector_path_finds_what_the_exact_path_finds(memory_home: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Above EXACT_MAX units recall asks pgvector's HNSW index (through PostgresStore) for its
    dense candidates; on a small corpus both paths must agree on the evidence."""
    from aios_assets.memory import recall as recall_mod

    ingest_file(memory_home, write_jsonl(tmp_path / "chat.jsonl", _turns()))
    materialize_semantic(memory_home)
    questions = ["What kind of dog did Maya get?", "What did Leo make out of clay?"]
    exact = [[h.source_id for h in recall_mod.recall(q, k=3, home=memory_home)]
             for q in questions]
    monkeypatch.setattr(recall_mod, "EXACT_MAX", 0)
    calls: list[int] = []
    real = recall_mod._ann_positions
    monkeypatch.setattr(recall_mod, "_ann_positions",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    ann = [[h.source_id for h in recall_mod.recall(q, k=3, home=memory_home)]
           for q in questions]
    assert len(calls) == len(questions)  # the pgvector path really ran
    assert ann == exact and ann[0][0] == "D1:1" and "D1:4" in ann[1]


def test_a_company_named_in_the_query_points_at_what_its_people_said(
        memory_home: Path, tmp_path: Path) -> None:
    """The README's example: "what did Acme say about the budget" finds the line Dana (of
    acme.io) wrote, although neither "Acme" nor "budget" is in it, over another company's line
    about a budget."""
    import dataclasses

    from aios_assets.memory.index import load_index
    from aios_assets.memory.recall import recall, score_units

    def mail(sid: str, actor: str, thread: str, text: str) -> dict:
        return {"source": "chat", "source_id": sid, "kind": "chat_message",
                "occurred_at": "2026-06-03T09:15:00Z", "actor": actor, "thread": thread,
                "subject": None, "text": text, "payload": None}

    business = [
        mail("c-42", "Dana Reyes <dana@acme.io>", "acme-retainer",
             "Q3 retainer approved at $4,500/month."),
        mail("c-43", "Tom Baker <tom@acme.io>", "acme-retainer", "Can we meet on Thursday?"),
        mail("c-44", "Sam Ortiz <sam@globex.com>", "globex-offsite",
             "The budget for the offsite is still open until next week."),
        mail("c-45", "Deals <promo@deals.example>", "promo",
             "Invoices attached: open them today and win a prize!"),
    ]
    ingest_file(memory_home, write_jsonl(tmp_path / "chat.jsonl", _turns()))
    ingest_file(memory_home, write_jsonl(tmp_path / "business.jsonl", business))
    materialize_semantic(memory_home)
    query = "what did Acme say about the budget"
    hits = recall(query, k=3, home=memory_home)
    assert "c-42" in [h.source_id for h in hits], [(h.source_id, h.score) for h in hits]

    # the cue is what lifts it: the same index without organizations ranks it lower
    index = load_index(memory_home)
    assert index.org_names == {"acme", "globex", "deals"}

    def rank(idx) -> int:
        cand, score = score_units(idx, query, mask=None)
        order = idx.meta["source_id"].to_numpy()[cand[np.argsort(-score, kind="stable")]]
        return order.tolist().index("c-42")

    assert rank(index) < rank(dataclasses.replace(index, org_names=frozenset()))


def test_org_of_names_the_organization_of_an_address() -> None:
    from aios_assets.memory.chunks import org_of

    assert [org_of(a) for a in ("Dana Reyes <dana@acme.io>", "x@mail.acme.co.uk",
                                "bob@gmail.com", "Rosa", None, "Big Bug bb@bug.com")] == [
        "acme", "acme", "", "", "", ""]
