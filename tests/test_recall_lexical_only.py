"""Contact records get no dense vector (issue 19): they are found by name, address, company and
entity, they leave every other unit's dense score as it was, and the index stays aligned.

Real DuckDB, real embedded Postgres + pgvector, the real offline embedding model."""

import csv
import dataclasses
import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_jsonl
from tests.semantic_helpers import ingest_file, materialize_semantic

TURNS = [
    ("L1:1", "Maya", "2026-01-05T18:00:00Z", "We brought home a little beagle puppy yesterday, "
     "his name is Biscuit."),
    ("L1:2", "Leo", "2026-01-05T18:01:00Z", "That's amazing, how is he settling in?"),
    ("L1:3", "Maya", "2026-01-05T18:02:00Z", "He chewed my slippers already, but we love him."),
    ("L1:4", "Leo", "2026-01-05T18:03:00Z", "I started a pottery class, my first bowl came out "
     "wonky."),
    ("L2:1", "Maya", "2026-03-20T20:00:00Z", "We are flying to Lisbon in May for my sister's "
     "wedding."),
    ("L2:2", "Leo", "2026-03-20T20:01:00Z", "Lisbon is lovely, try the custard tarts."),
]
# Inside the chats' time span, so that recency weighs the chat units as before.
CONTACTS = [
    {"source_id": "c-1", "full_name": "Priya Natarajan", "email": "priya@lumenwave.example",
     "company": "Lumenwave", "title": "CFO", "city": "Pune", "updated_at": "2026-02-01"},
    {"source_id": "c-2", "full_name": "Oskar Lindqvist", "email": "oskar@fjordline.example",
     "company": "Fjordline Logistics", "title": "Buyer", "city": "Bergen",
     "updated_at": "2026-02-02"},
    {"source_id": "c-3", "full_name": "Amara Okafor", "email": "amara@kestrelbio.example",
     "company": "Kestrel Bio", "title": "Founder", "city": "Lagos", "updated_at": "2026-02-03"},
    {"source_id": "c-4", "full_name": "Tomas Herrera", "email": "tomas@gmail.com",
     "company": "", "title": "", "city": "Sevilla", "updated_at": "2026-02-04"},
]
CHAT_QUESTIONS = ["What kind of dog joined the family?", "Where is the wedding?",
                  "Who made something out of clay?"]
# Dense similarity alone: the part of the score a lexical-only unit must leave untouched.
DENSE_ONLY = dict(unit=0.0, context=0.0, dense=1.0, neighbour=0.0, speaker=0.0,
                  speaker_thread=0.0, recency=0.0, recency_cue=0.0)


def _turns() -> list[dict]:
    return [
        {"source": "chat", "source_id": sid, "kind": "chat_message", "occurred_at": at,
         "actor": actor, "thread": sid.split(":")[0], "subject": None, "text": text,
         "payload": None}
        for sid, actor, at, text in TURNS
    ]


def _write_contacts(path: Path) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(CONTACTS[0]))
        writer.writeheader()
        writer.writerows(CONTACTS)
    return path


@pytest.fixture
def memory_home(aios_home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIOS_POSTGRES_URL", pg_url)
    return aios_home


def _ranked(index, query: str, **weights: float) -> list[tuple[str, float]]:
    """(source_id, score) of every candidate, best first."""
    from aios_assets.memory.recall import DEFAULT_WEIGHTS, score_units

    cand, score = score_units(index, query, mask=None,
                              weights=dataclasses.replace(DEFAULT_WEIGHTS, **weights))
    order = np.argsort(-score, kind="stable")
    ids = index.meta["source_id"].to_numpy()[cand[order]]
    return list(zip(ids.tolist(), score[order].tolist(), strict=True))


def test_only_contact_records_are_lexical_only() -> None:
    from aios_assets.memory.chunks import chunks_for_event, needs_dense

    def unit(kind: str, text: str):
        (chunk,) = chunks_for_event({
            "event_id": f"e-{kind}", "source": "s", "source_id": kind, "kind": kind,
            "occurred_at": "2026-01-01T00:00:00Z", "actor": "Dana Reyes <dana@acme.io>",
            "thread": None, "subject": None, "text": text, "payload": None})
        return chunk

    assert not needs_dense(unit("contact", "Contact Dana Reyes <dana@acme.io>; CFO at Acme"))
    for kind in ("chat_message", "transcript_turn", "email", "note", "invoice", "payment",
                 "calendar_event", "content_metric"):
        assert needs_dense(unit(kind, "Q3 retainer approved at $4,500/month.")), kind


def test_the_dense_pool_and_its_reference_leave_out_units_without_a_vector() -> None:
    from aios_assets.memory.recall import dense_pool

    values = np.array([0.9, 0.0, 0.5, 0.0, 0.1], dtype=np.float32)
    has = np.array([True, False, True, False, True])
    top, reference = dense_pool(values, has, 2)
    assert sorted(top.tolist()) == [0, 2] and reference.tolist() == pytest.approx([0.9, 0.5, 0.1])
    top, reference = dense_pool(values, has, 10)  # fewer units with a vector than asked for
    assert sorted(top.tolist()) == [0, 2, 4]
    top, reference = dense_pool(values, np.ones(5, bool), 10)
    assert sorted(top.tolist()) == [0, 1, 2, 3, 4] and reference is values


def test_contacts_are_found_by_their_words_and_move_no_chat_score(
        memory_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    from aios_assets.memory import recall as recall_mod
    from aios_assets.memory.index import load_index
    from aios_assets.memory.recall import recall
    from resources.warehouse import DuckDBWarehouse

    ingest_file(memory_home, write_jsonl(tmp_path / "chat.jsonl", _turns()))
    first = materialize_semantic(memory_home)
    assert first["dense_units"] == len(TURNS) and first["lexical_only_units"] == 0
    chats_only = load_index(memory_home)
    before = {q: _ranked(chats_only, q) for q in CHAT_QUESTIONS}
    dense_before = {q: dict(_ranked(chats_only, q, **DENSE_ONLY)) for q in CHAT_QUESTIONS}

    ingest_file(memory_home, _write_contacts(tmp_path / "contacts.csv"))
    meta = materialize_semantic(memory_home)
    assert meta["units"] == len(TURNS) + len(CONTACTS)
    assert meta["lexical_only_units"] == len(CONTACTS) and meta["dense_units"] == len(TURNS)
    assert meta["embedded_now"] == 0  # the chats were embedded already, the contacts never

    # no vector anywhere for a contact: not in the DuckDB mirror, not in Postgres
    with DuckDBWarehouse(home=str(memory_home)).connect() as con:
        counts = dict(con.execute(
            "SELECT c.kind, count(e.content_hash) FROM semantic_chunks c LEFT JOIN "
            "chunk_embeddings e USING (content_hash) GROUP BY c.kind").fetchall())
        hashes = dict(con.execute(
            "SELECT kind, list(content_hash) FROM semantic_chunks GROUP BY kind").fetchall())
    assert counts == {"contact": 0, "chat_message": len(TURNS)}
    with psycopg.connect(os.environ["AIOS_POSTGRES_URL"]) as pg:
        stored = {kind: pg.execute("SELECT count(*) FROM aios.embeddings_384 "
                                   "WHERE content_hash = ANY(%s)", (h,)).fetchone()[0]
                  for kind, h in hashes.items()}
        # the chunk rows of both follow the event log
        in_pg = pg.execute("SELECT count(*) FROM aios.semantic_chunks WHERE source_id = "
                           "ANY(%s)", ([c["source_id"] for c in CONTACTS],)).fetchone()[0]
    assert stored == {"contact": 0, "chat_message": len(TURNS)} and in_pg == len(CONTACTS)

    # the index is aligned: a contact's position says "no vector" and holds zeros
    index = load_index(memory_home)
    kinds = np.array(index.meta["kind"].to_list())
    assert index.dense.tolist() == (kinds != "contact").tolist()
    norms = np.linalg.norm(np.asarray(index.vectors), axis=1)
    assert (norms[kinds == "contact"] == 0).all() and (norms[kinds != "contact"] > 0.5).all()
    same = {sid: np.asarray(chats_only.vectors)[i]
            for i, sid in enumerate(chats_only.meta["source_id"].to_list())}
    for i, sid in enumerate(index.meta["source_id"].to_list()):
        if sid in same:  # each chat unit's row is its own vector
            np.testing.assert_array_equal(np.asarray(index.vectors)[i], same[sid])

    # found by name, by address, by company, cited
    for query, sid in (("Priya Natarajan", "c-1"), ("oskar@fjordline.example", "c-2"),
                       ("Who do we know at Kestrel Bio?", "c-3"), ("Tomas Herrera", "c-4")):
        hits = recall(query, k=3, home=memory_home)
        assert hits and hits[0].source_id == sid, (query, [h.source_id for h in hits])
        assert hits[0].source == "crm" and hits[0].kind == "contact"

    # a chat question: the same hits in the same order, and the dense part of every chat unit's
    # score exactly as on the home without contacts (no contact is a dense candidate)
    for q in CHAT_QUESTIONS:
        after = _ranked(index, q)
        chats_after = [sid for sid, _ in after if not sid.startswith("c-")]
        assert chats_after == [sid for sid, _ in before[q]], q
        assert [sid for sid, _ in after[:3]] == [sid for sid, _ in before[q][:3]], q
        dense_after = dict(_ranked(index, q, **DENSE_ONLY))
        assert dense_after == pytest.approx(dense_before[q], rel=1e-5, abs=1e-6), q
    # ... which the contacts' zero rows would have changed, had they counted as vectors
    everything = dataclasses.replace(index, dense=np.ones(index.size, dtype=bool))
    moved = dict(_ranked(everything, CHAT_QUESTIONS[0], **DENSE_ONLY))
    assert {k: v for k, v in moved.items() if not k.startswith("c-")} != pytest.approx(
        dense_before[CHAT_QUESTIONS[0]], rel=1e-5, abs=1e-6)

    # the pgvector path (above EXACT_MAX units) agrees: no contact is a dense candidate there
    monkeypatch.setattr(recall_mod, "EXACT_MAX", 0)
    for q in CHAT_QUESTIONS:
        assert dict(_ranked(index, q, **DENSE_ONLY)) == pytest.approx(
            dense_before[q], rel=1e-5, abs=1e-6), q
    assert recall("Priya Natarajan", k=3, home=memory_home)[0].source_id == "c-1"


def test_a_generation_without_the_dense_file_loads_and_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An index written before ``dense.npy`` existed: every unit has a vector."""
    from aios_assets.memory import index as index_mod
    from aios_assets.memory.chunks import chunks_for_event, order_chunks
    from aios_assets.memory.recall import score_units
    from resources.embeddings import EmbeddingsResource

    rows = [{**r, "event_id": f"e-{r['source_id']}",
             "occurred_at": datetime.fromisoformat(r["occurred_at"])} for r in _turns()]
    chunks = order_chunks([c for row in rows for c in chunks_for_event(row)])
    embedder = EmbeddingsResource().get_embedder()
    vectors = np.asarray(embedder.embed([c.body for c in chunks]), dtype=np.float32)
    path = index_mod.build_index(tmp_path, chunks, vectors, [[] for _ in chunks],
                                 embedder.model_id)
    (path / "dense.npy").unlink()
    monkeypatch.setattr(index_mod, "_cache", {})
    old = index_mod.load_index(tmp_path)
    assert old.dense.dtype == bool and old.dense.all() and old.dense.size == len(chunks)
    cand, score = score_units(old, "What kind of dog joined the family?", mask=None)
    assert old.meta["source_id"][int(cand[np.argmax(score)])] == "L1:1"
