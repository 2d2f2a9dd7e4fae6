"""The recall dev sets (aios_assets/testing/recall_devsets.py) and the metrics of their harness
(aios_assets/testing/recall_metrics.py)."""

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from aios_assets.testing.recall_demo_questions import generate_demo
from aios_assets.testing.recall_devsets import generate_chats, generate_conversation, resolve_rel
from aios_assets.testing.recall_metrics import (
    BM25,
    bm25_search,
    chat_docs,
    score_question,
    summarize,
)
from aios_assets.testing.recall_questions import (
    CATEGORIES,
    Question,
    load_catalogue,
    read_questions,
)


def test_catalogue_is_large_and_well_formed() -> None:
    cat = load_catalogue()
    assert len(cat.templates) >= 120
    assert len(cat.topics) >= 25
    assert all(len(t.says) >= 2 for t in cat.templates)
    assert {q.category for t in cat.templates for q in t.questions} == set(CATEGORIES)
    assert {"G", "GR", "BYE", "BYER", "R", "RSAD", "AGREE", "ASK", "NEW", "PHOTO"} <= set(cat.pools)


@pytest.mark.parametrize(
    ("kind", "answer"),
    [("day1", "9 June 2023"), ("wd4", "Friday 9 June 2023"),
     ("week", "the week before 10 June 2023"), ("weekend", "the weekend before 10 June 2023"),
     ("month", "May 2023")],
)
def test_relative_times_resolve_against_the_session_date(kind: str, answer: str) -> None:
    assert resolve_rel(kind, date(2023, 6, 10))[1] == answer  # a Saturday


def test_chats_are_deterministic_valid_events_with_resolvable_evidence(tmp_path: Path) -> None:
    from aios_assets.ingest.parsers import parse_file

    ds = generate_chats(1, 2, tmp_path / "a")
    again = generate_chats(1, 2, tmp_path / "b")
    for f, g in zip(ds.files, again.files, strict=True):
        assert f.read_bytes() == g.read_bytes()
    assert (tmp_path / "a" / "questions.jsonl").read_bytes() == (
        tmp_path / "b" / "questions.jsonl").read_bytes()

    turns: dict[tuple[str, str], dict] = {}
    for path in ds.files:
        result = parse_file(path)
        assert not result.rejections
        assert all(e.kind == "chat_message" and e.source == "chat" for e in result.events)
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            assert row["occurred_at"].endswith("Z") and row["subject"] is None
            turns[(row["thread"], row["source_id"])] = row
        captions = [e for e in result.events if (e.payload or {}).get("_extra")]
        assert captions and all("blip_caption" in e.payload["_extra"] for e in captions)
    sessions = Counter((thread, sid.split(":")[0]) for thread, sid in turns)
    assert 15 * 2 <= len(sessions) <= 25 * 2
    assert all(10 <= n <= 30 for n in sessions.values())

    questions = read_questions(tmp_path / "a" / "questions.jsonl")
    assert questions == list(ds.questions)
    per_thread = Counter(q.thread for q in questions)
    assert all(100 <= n <= 250 for n in per_thread.values())
    assert set(Counter(q.category for q in questions)) == set(CATEGORIES)
    for q in questions:
        assert q.evidence and all((q.thread, e) in turns for e in q.evidence)


def test_conversations_share_topics_and_photos() -> None:
    conv = generate_conversation(3, 0)
    speakers = {r["actor"] for r in conv.rows}
    assert speakers == set(conv.speakers)
    assert any("blip_caption" in r for r in conv.rows)
    relative = ("yesterday", "last week", "ago", "last weekend", "last month", "the other day")
    assert sum(any(w in r["text"].lower() for w in relative) for r in conv.rows) > 30


def test_scoped_ids_prefix_the_thread(tmp_path: Path) -> None:
    ds = generate_chats(1, 1, tmp_path, scoped_ids=True)
    assert all(e.startswith(f"{q.thread}:D") for q in ds.questions for e in q.evidence)


def test_demo_questions_cite_existing_events(tmp_path: Path) -> None:
    ds = generate_demo(1, tmp_path)
    assert 100 <= len(ds.questions) <= 200
    assert len({q.qid for q in ds.questions}) == len(ds.questions)
    gt = json.loads((ds.events_dir / "ground_truth.json").read_text())
    fact_questions = {f["question"] for f in gt["facts"]}
    rephrased = [q for q in ds.questions if q.qid.startswith("demo-F")]
    assert len(rephrased) == len(gt["facts"])
    assert sum(q.question not in fact_questions for q in rephrased) >= 0.9 * len(rephrased)


def test_metrics_and_bm25_baseline(tmp_path: Path) -> None:
    q = Question("q1", "beagle puppy", "single-hop", ("D1:1", "D2:2"), thread="t")
    out = score_question(q, [("t", "D9:9"), ("t", "D1:1"), ("x", "D2:2")], match_thread=True)
    assert out.recall10 == 0.5 and out.rr == 0.5
    assert summarize([out])["recall@10"] == 0.5

    index = BM25(["a beagle puppy", "a pottery class", "the puppy again and again"])
    assert index.search("beagle", 3) == [0]
    assert index.search("puppy", 3, allowed={2}) == [2]

    ds = generate_chats(1, 1, tmp_path)
    search = bm25_search(chat_docs(ds.files))
    results = [score_question(q, search(q, True), True) for q in ds.questions]
    assert 0.2 < summarize(results)["recall@10"] < 0.9
