"""Every source works alone: each supported format, ingested by itself into a NEW home through
the real ``aios ingest`` CLI with the whole pipeline, ends with exit 0 and a successful run,
is found by ``aios recall`` with its source_id and by ``aios sql``, and leaves the entity marts
present (empty but valid when the file names nobody).

Every case has a home of its own (warehouse, Dagster instance, logs). Its Postgres is a fresh
database on the session's embedded server (the cost of a second initdb per case buys nothing
the chat case, which starts its home's own embedded server, does not already show).

Cost: one whole pipeline per case (dbt build, memory, agents, gates), so the matrix is slow:
12 cases took 2,274 s on 2 cores shared with other jobs (load ~9); one case alone on a quiet
machine takes ~80 s. It prints its per-case times at the end (run with -s).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_aios
from tests.outbox_fixtures import fresh_database

# the dbt models that stand for people and organizations: they must exist in every home
ENTITY_MODELS = ("dim_contacts", "dim_organizations", "entity_membership", "int_person_records")


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    content: str
    phrase: str  # words of the file that recall must find
    source: str
    source_id: str
    people: bool  # the file names at least one person


EML = """\
From: Dana Reyes <dana@acme.io>
To: Sam Solo <sam@solo.dev>
Subject: Marmalade shipment
Date: Mon, 02 Mar 2026 10:00:00 +0000
Message-ID: <m1@acme.io>
Content-Type: text/plain; charset=utf-8

The marmalade shipment arrives on Tuesday morning.
"""

CASES = [
    Case("jsonl_chat", "chat.jsonl",
         json.dumps({"source": "chat", "source_id": "1", "kind": "chat_message",
                     "occurred_at": "2026-03-01T10:00:00Z", "actor": "Caroline", "thread": "t1",
                     "text": "The pottery workshop starts on Friday"}) + "\n"
         + json.dumps({"source": "chat", "source_id": "2", "kind": "chat_message",
                       "occurred_at": "2026-03-01T10:01:00Z", "actor": "me", "thread": "t1",
                       "text": "Great, see you there"}) + "\n",
         "pottery workshop", "chat", "1", True),
    Case("jsonl_transcript", "call.jsonl",
         json.dumps({"source": "zoom", "source_id": "D1:1", "kind": "transcript_turn",
                     "occurred_at": "2026-03-03T15:00:00Z", "actor": "Melanie",
                     "thread": "call-7", "subject": "Weekly call",
                     "text": "We should repaint the greenhouse before spring"}) + "\n",
         "repaint greenhouse", "zoom", "D1:1", True),
    Case("jsonl_note", "journal.jsonl",
         json.dumps({"source": "journal", "source_id": "j-1", "kind": "note",
                     "occurred_at": "2026-03-04", "text": "Idea: a newsletter about tidepools",
                     "payload": {"mood": "curious"}}) + "\n",
         "newsletter tidepools", "journal", "j-1", False),
    Case("csv_contacts", "contacts.csv",
         "source_id,first_name,last_name,email,company\n"
         "c-1,Dana,Reyes,dana@acme.io,Quillfeather Studio\n",
         "Quillfeather Studio", "crm", "c-1", True),
    Case("csv_invoices", "invoices.csv",
         "invoice_id,customer_name,customer_email,issued_at,due_at,amount,currency,status,"
         "description\n"
         "INV-1,Dana Reyes,dana@acme.io,2026-03-01,2026-03-31,4500,USD,open,"
         "Harpsichord tuning retainer\n",
         "harpsichord tuning", "billing", "INV-1", True),
    Case("csv_payments", "payments.csv",
         "payment_id,invoice_id,paid_at,amount,currency,method\n"
         "PAY-77,INV-9,2026-03-05,4500,USD,wire\n",
         "PAY-77", "billing", "PAY-77", False),
    Case("csv_content_metrics", "metrics.csv",
         "post_id,title,sent_at,recipients,opens,clicks,unsubscribes,paid_signups\n"
         "post-1,Why lighthouses still matter,2026-03-02,1000,400,50,2,3\n",
         "lighthouses", "newsletter", "post-1", False),
    Case("eml", "message.eml", EML, "marmalade shipment", "email", "m1@acme.io", True),
    Case("mbox", "mail.mbox",
         "From dana@acme.io Mon Mar  2 10:00:00 2026\n"
         + EML.replace("m1@acme.io", "m2@acme.io").replace("marmalade", "quince") + "\n",
         "quince shipment", "email", "m2@acme.io", True),
    Case("ics", "cal.ics",
         "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//solo//test//EN\r\nBEGIN:VEVENT\r\n"
         "UID:ev-1@solo.dev\r\nDTSTART:20260310T140000Z\r\nDTEND:20260310T150000Z\r\n"
         "SUMMARY:Kiln planning\r\nDESCRIPTION:Plan the kiln firing schedule\r\n"
         "ORGANIZER;CN=Dana Reyes:mailto:dana@acme.io\r\n"
         "ATTENDEE;CN=Sam Solo:mailto:sam@solo.dev\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
         "kiln firing schedule", "calendar", "ev-1@solo.dev", True),
    Case("markdown", "2026-03-06-ideas.md",
         "---\ntitle: Ideas\ntags: [writing]\n---\n# Ideas\n\nWrite about saffron farming.\n",
         "saffron farming", "notes", "2026-03-06-ideas", False),
]

# wall time of each case (seconds), reported at the end of the module
_TIMES: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_times() -> Iterator[None]:
    started = time.monotonic()
    yield
    total = time.monotonic() - started
    print(f"\nsingle-source matrix: {len(_TIMES)} case(s), {total:.0f}s in all; "
          + ", ".join(f"{k} {v:.0f}s" for k, v in _TIMES.items()))


@pytest.fixture
def home(aios_home: Path, pg_url: str, request: pytest.FixtureRequest,
         monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new home; its Postgres is a fresh database, or (own_pg) its own embedded server."""
    own = getattr(request, "param", False)
    monkeypatch.setenv("AIOS_POSTGRES_URL", "" if own else fresh_database(pg_url, "single"))
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    return aios_home


def ingest(home: Path, path: Path, *args: str) -> tuple[int, dict, str]:
    proc = run_aios("ingest", str(path), "--json", *args, home=home, timeout=900)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"aios ingest --json printed more than JSON (rc {proc.returncode}):\n"
                    f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.returncode, report, proc.stdout + proc.stderr


def sql(home: Path, query: str) -> list[dict]:
    proc = run_aios("sql", "--format", "json", query, home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def check_entity_models(home: Path, people: bool) -> None:
    """Every entity model exists (one query, one process); empty when nobody is named."""
    counts = sql(home, "select " + ", ".join(
        f"(select count(*) from {m}) as {m}" for m in ENTITY_MODELS))[0]
    if people:
        assert counts["entity_membership"] > 0, counts
    else:
        assert set(counts.values()) == {0}, counts


@pytest.mark.parametrize(
    ("case", "home"),
    [pytest.param(c, c.name == "jsonl_chat", id=c.name) for c in CASES],
    indirect=["home"],
)
def test_source_alone_in_a_new_home(case: Case, home: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    path = tmp_path / case.filename
    path.write_bytes(case.content.encode())

    rc, report, output = ingest(home, path)
    assert rc == 0, output
    assert report["success"] is True
    assert report["rejected"] == 0, report
    assert report["events_new"] >= 1

    rows = sql(home, "select source, source_id, text from events_current "
                     f"where source = '{case.source}' and source_id = '{case.source_id}'")
    assert len(rows) == 1, rows

    proc = run_aios("recall", case.phrase, "--json", home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hits = json.loads(proc.stdout)
    assert any(h["source"] == case.source and h["source_id"] == case.source_id
               for h in hits), hits

    check_entity_models(home, case.people)
    _TIMES[case.name] = time.monotonic() - started


def test_empty_file_alone_in_a_new_home(home: Path, tmp_path: Path) -> None:
    """An empty file is wholly rejected (exit 3); the run itself still succeeds and builds
    every downstream asset on an empty event log."""
    started = time.monotonic()
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")

    rc, report, output = ingest(home, path)
    assert rc == 3, output
    assert report["success"] is True
    assert report["events_read"] == 0 and report["rejected"] == 1
    assert report["files"][0]["fully_rejected"] is True

    assert sql(home, "select count(*) as n from events_current")[0]["n"] == 0
    rows = sql(home, "select reason from quarantine")
    assert [r["reason"] for r in rows] == ["empty file"]
    check_entity_models(home, people=False)
    proc = run_aios("recall", "anything at all", "--json", home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == []
    _TIMES["empty"] = time.monotonic() - started


def test_an_index_over_nothing_is_built_and_finds_nothing(tmp_path: Path) -> None:
    """The semantic index of an empty event log (only rejected files so far): bm25s cannot
    index an empty corpus, which failed semantic_memory and so the whole run."""
    import numpy as np

    from aios_assets.memory.index import build_index, load_index
    from aios_assets.memory.recall import recall

    build_index(tmp_path, [], np.zeros((0, 8), dtype=np.float32), [], "test-model")
    assert load_index(tmp_path).size == 0
    assert recall("anything at all", home=tmp_path) == []
