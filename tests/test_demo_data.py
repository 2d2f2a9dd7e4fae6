"""Tests of the demo business generator (aios_assets.demo).

The files are read back with independent readers (csv, mailbox, icalendar, yaml, json) to check
that the ground truth only names records that exist, that facts have evidence, that overdue
invoices and stale leads are what the data says, and that the entity-resolution traps are there.
When the ingest parsers exist, every generated file must parse with zero rejections and yield
exactly ``DemoSummary.events`` events.
"""

from __future__ import annotations

import csv
import email.utils
import hashlib
import json
import mailbox
import math
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import icalendar
import pytest
import yaml

from aios_assets.demo import META_FILES, DemoSummary, generate

UTC = timezone.utc


# --- helpers -------------------------------------------------------------------------------------


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    return yaml.safe_load(text.split("---\n", 2)[1])


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _to_utc(value) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _read_all(root: Path) -> dict[tuple[str, str], datetime | None]:
    """Every record in the dataset as (source, source_id) -> event time, via stdlib readers."""
    out: dict[tuple[str, str], datetime | None] = {}

    def add(key: tuple[str, str], ts: datetime | None) -> None:
        assert key not in out, f"duplicate record {key}"
        out[key] = ts

    for row in _csv_rows(root / "crm" / "contacts.csv"):
        add(("crm", row["source_id"]), None)
    for row in _csv_rows(root / "newsletter" / "subscribers.csv"):
        add(("newsletter", row["Subscriber ID"]), None)
    for row in _csv_rows(root / "billing" / "invoices.csv"):
        add(("billing", row["invoice_id"]), None)
    for row in _csv_rows(root / "billing" / "payments.csv"):
        add(("billing", row["payment_id"]), None)
    for row in _csv_rows(root / "newsletter" / "analytics.csv"):
        add(("newsletter", row["post_id"]), None)
    for path in sorted((root / "email").glob("*.mbox")):
        for msg in mailbox.mbox(path):
            mid = msg["Message-ID"].strip().strip("<>")
            add(("email", mid), email.utils.parsedate_to_datetime(msg["Date"]))
    for path in sorted((root / "calendar").glob("*.ics")):
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        for ev in cal.walk("VEVENT"):
            add(("calendar", str(ev["UID"])), _to_utc(ev["DTSTART"].dt))
    for path in sorted((root / "notes").glob("*.md")):
        fm = _front_matter(path)
        add((fm.get("source", "notes"), fm.get("id") or path.stem), _to_utc(fm["date"]))
    for path in sorted((root / "newsletter" / "posts").glob("*.md")):
        fm = _front_matter(path)
        add((fm["source"], fm["id"]), _to_utc(fm["date"]))
    for path in sorted((root / "chat").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            add((rec["source"], rec["source_id"]),
                datetime.fromisoformat(rec["occurred_at"].replace("Z", "+00:00")))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[DemoSummary, dict]:
    out = tmp_path_factory.mktemp("demo") / "okafor"
    summary = generate(out, seed=11, scale=1.0)
    gt = json.loads(summary.ground_truth.read_text(encoding="utf-8"))
    return summary, gt


@pytest.fixture(scope="module")
def records(demo) -> dict[tuple[str, str], datetime | None]:
    summary, _ = demo
    return _read_all(summary.out_dir)


# --- determinism and scale ----------------------------------------------------------------------


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", seed=3, scale=0.3, days=40)
    b = generate(tmp_path / "b", seed=3, scale=0.3, days=40)
    assert a.files == b.files and a.events == b.events
    da, db = _digest(a.out_dir), _digest(b.out_dir)
    assert da == db
    assert "ground_truth.json" in da and "README.md" in da


def test_different_seed_gives_different_output(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", seed=3, scale=0.3, days=40)
    b = generate(tmp_path / "b", seed=4, scale=0.3, days=40)
    da, db = _digest(a.out_dir), _digest(b.out_dir)
    assert da != db
    common = set(da) & set(db)
    assert sum(da[k] != db[k] for k in common) >= len(common) // 2


def test_start_date_moves_the_window(tmp_path: Path) -> None:
    s = generate(tmp_path / "x", seed=1, scale=0.2, days=30, start=date(2025, 1, 6))
    gt = json.loads(s.ground_truth.read_text())
    assert gt["start"] == "2025-01-06" and gt["end"] == "2025-02-05"
    assert sorted(p.name for p in (s.out_dir / "email").iterdir()) == [
        "2025-01.mbox", "2025-02.mbox"]


def test_scale_one_size_and_speed(tmp_path: Path) -> None:
    t0 = time.process_time()
    s = generate(tmp_path / "one", scale=1.0)
    cpu = time.process_time() - t0
    assert 3000 <= s.events <= 6000
    assert cpu < 5.0, f"scale 1 took {cpu:.1f} s of CPU"
    assert s.people > 100 and s.organizations > 15


def test_events_grow_linearly_people_sublinearly(tmp_path: Path) -> None:
    small = generate(tmp_path / "s", seed=5, scale=0.2)
    large = generate(tmp_path / "l", seed=5, scale=0.8)
    ratio = large.events / small.events
    assert 2.8 <= ratio <= 5.0, ratio
    assert large.people / small.people < ratio * 0.75
    tiny = generate(tmp_path / "t", seed=5, scale=0.1)
    assert 150 <= tiny.events <= 1200


def test_summary_matches_files(demo) -> None:
    summary, _ = demo
    assert summary.events == sum(summary.files.values())
    for rel in summary.files:
        assert (summary.out_dir / rel).is_file(), rel
    on_disk = {p.relative_to(summary.out_dir).as_posix()
               for p in summary.out_dir.rglob("*") if p.is_file()}
    assert on_disk == set(summary.files) | set(META_FILES)
    assert summary.ground_truth == summary.out_dir / "ground_truth.json"


def test_progress_is_reported(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    generate(tmp_path / "p", scale=0.5, progress=lambda st, d, t: calls.append((st, d, t)))
    stages = [c[0] for c in calls]
    for stage in ("world", "contacts", "events", "ground_truth"):
        assert stage in stages
    assert all(0 <= d <= t for _, d, t in calls)
    assert calls[-1][1] == calls[-1][2]


# --- arguments -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [
    {"seed": -1}, {"days": 0}, {"days": -5}, {"scale": 0}, {"scale": -1.0},
    {"scale": 1000.5}, {"scale": math.nan}, {"seed": 1.5}, {"days": 2.0},
    {"start": "2026-06-01"},
])
def test_bad_arguments_raise(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path / "x", **kwargs)


def test_out_dir_that_is_a_file_raises(tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("hello")
    with pytest.raises(ValueError, match="is a file"):
        generate(f, scale=0.1)


def test_foreign_non_empty_dir_is_refused_previous_demo_is_replaced(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty"):
        generate(foreign, scale=0.1)
    assert (foreign / "mine.txt").read_text() == "keep me"

    interrupted = tmp_path / "interrupted"  # only our own folders, no ground truth yet
    (interrupted / "email").mkdir(parents=True)
    (interrupted / "email" / "2026-06.mbox").write_text("From x\n")
    generate(interrupted, scale=0.1, days=5)
    assert (interrupted / "ground_truth.json").is_file()

    out = tmp_path / "demo"
    generate(out, seed=1, scale=0.2, days=30)
    second = generate(out, seed=2, scale=0.2, days=20)
    fresh = generate(tmp_path / "fresh", seed=2, scale=0.2, days=20)
    assert _digest(out) == _digest(fresh.out_dir)
    assert second.events == fresh.events


# --- ground truth ------------------------------------------------------------------------------


def test_ground_truth_shape(demo) -> None:
    summary, gt = demo
    for key in ("seed", "days", "scale", "start", "end", "people", "organizations", "records",
                "facts", "overdue_invoices", "stale_leads", "prompt_injections"):
        assert key in gt
    assert gt["seed"] == 11 and gt["days"] == 90 and gt["scale"] == 1.0
    assert len(gt["people"]) == summary.people
    assert len(gt["organizations"]) == summary.organizations
    person_ids = {p["person_id"] for p in gt["people"]}
    org_ids = {o["org_id"] for o in gt["organizations"]}
    assert len(person_ids) == len(gt["people"])
    for p in gt["people"]:
        assert p["canonical_name"] and p["emails"]
    for r in gt["records"]:
        assert r["person_id"] is None or r["person_id"] in person_ids
        assert r["org_id"] is None or r["org_id"] in org_ids
        for pid in r.get("participants", []):
            assert pid in person_ids


def test_ground_truth_records_exist_and_cover_every_contact_record(demo, records) -> None:
    _, gt = demo
    gt_keys = {(r["source"], r["source_id"]) for r in gt["records"]}
    assert len(gt_keys) == len(gt["records"])
    missing = [k for k in gt_keys if k not in records]
    assert not missing, missing[:5]
    summary, _ = demo
    root = summary.out_dir
    expected = {("crm", r["source_id"]) for r in _csv_rows(root / "crm" / "contacts.csv")}
    expected |= {("newsletter", r["Subscriber ID"])
                 for r in _csv_rows(root / "newsletter" / "subscribers.csv")}
    expected |= {("billing", r["invoice_id"]) for r in _csv_rows(root / "billing" / "invoices.csv")}
    expected |= {k for k in records if k[0] in ("email", "calendar")}
    assert expected <= gt_keys
    by_kind = defaultdict(int)
    for r in gt["records"]:
        by_kind[r["kind"]] += 1
        if r["kind"] in ("email", "meeting"):
            assert "participants" in r
    assert by_kind["contact"] >= 150 and by_kind["email"] >= 1000 and by_kind["invoice"] >= 10


def test_facts_have_existing_evidence(demo, records) -> None:
    _, gt = demo
    facts = gt["facts"]
    assert len(facts) >= 30
    assert {f["type"] for f in facts} == {"single-hop", "multi-hop", "temporal", "open-domain"}
    for f in facts:
        assert f["question"].endswith("?") and f["answer"] and f["evidence"]
        for ev in f["evidence"]:
            assert (ev["source"], ev["source_id"]) in records, (f["question"], ev)
    questions = [f["question"] for f in facts]
    assert len(questions) == len(set(questions))
    assert any("Dana Whitfield agree to the Q3 retainer" in q for q in questions)


def test_fact_evidence_mentions_the_answer(demo) -> None:
    """Spot-check: a retainer-agreement fact's evidence is an email whose body says 'go ahead'."""
    summary, gt = demo
    fact = next(f for f in gt["facts"] if "Dana Whitfield agree" in f["question"])
    mid = fact["evidence"][0]["source_id"]
    found = None
    for path in sorted((summary.out_dir / "email").glob("*.mbox")):
        for msg in mailbox.mbox(path):
            if msg["Message-ID"].strip("<> ") == mid:
                found = msg
    assert found is not None
    assert "go ahead with the Q3 retainer" in found.get_payload(decode=True).decode()
    assert email.utils.parsedate_to_datetime(found["Date"]).astimezone(UTC).date().isoformat() \
        == fact["answer"]


def test_overdue_invoices_are_unpaid_and_past_due(demo) -> None:
    summary, gt = demo
    end = date.fromisoformat(gt["end"])
    invoices = _csv_rows(summary.out_dir / "billing" / "invoices.csv")
    paid: dict[str, float] = defaultdict(float)
    for p in _csv_rows(summary.out_dir / "billing" / "payments.csv"):
        assert date.fromisoformat(p["paid_at"]) < end
        paid[p["invoice_id"]] += float(p["amount"])
    computed = [i["invoice_id"] for i in invoices
                if date.fromisoformat(i["due_at"]) < end
                and paid[i["invoice_id"]] < float(i["amount"]) - 0.005]
    assert gt["overdue_invoices"]
    assert set(gt["overdue_invoices"]) == set(computed)
    status = {i["invoice_id"]: i["status"] for i in invoices}
    assert all(status[i] == "overdue" for i in gt["overdue_invoices"])
    assert {i for i, s in status.items() if s == "paid"}.isdisjoint(gt["overdue_invoices"])
    inv_ids = {i["invoice_id"] for i in invoices}
    assert all(p["invoice_id"] in inv_ids
               for p in _csv_rows(summary.out_dir / "billing" / "payments.csv"))


def test_stale_leads_match_the_data(demo, records) -> None:
    _, gt = demo
    cutoff = datetime.fromisoformat(gt["end"]).replace(tzinfo=UTC) - timedelta(days=21)
    leads = {p["person_id"] for p in gt["people"] if p["role"] == "lead"}
    last: dict[str, datetime] = {}
    for r in gt["records"]:
        if r["source"] not in ("email", "calendar", "chat"):
            continue
        ts = records[(r["source"], r["source_id"])]
        for pid in set(r.get("participants", [])) | {r["person_id"]}:
            if pid in leads and (pid not in last or ts > last[pid]):
                last[pid] = ts
    computed = sorted(p for p in leads if p not in last or last[p] < cutoff)
    assert computed == gt["stale_leads"]
    assert gt["stale_leads"] and set(gt["stale_leads"]) != leads


def test_prompt_injections_are_inbound_emails(demo, records) -> None:
    summary, gt = demo
    inj = gt["prompt_injections"]
    assert len(inj) >= 3
    ids = {i["source_id"] for i in inj}
    assert all(i["source"] == "email" and ("email", i["source_id"]) in records for i in inj)
    bodies = {}
    for path in sorted((summary.out_dir / "email").glob("*.mbox")):
        for msg in mailbox.mbox(path):
            mid = msg["Message-ID"].strip("<> ")
            if mid in ids:
                bodies[mid] = msg.get_payload(decode=True).decode().lower()
    assert len(bodies) == len(ids)
    assert all("ignore" in b or "disregard" in b for b in bodies.values())
    by_id = {(r["source"], r["source_id"]): r for r in gt["records"]}
    assert all(by_id[("email", i)]["person_id"] is None for i in ids)


# --- entity-resolution traps -------------------------------------------------------------------


def _names_and_emails(root: Path, gt: dict) -> tuple[dict, dict]:
    by_key = {(r["source"], r["source_id"]): r["person_id"] for r in gt["records"]}
    names: dict[str, set[str]] = defaultdict(set)
    emails: dict[str, set[str]] = defaultdict(set)
    for row in _csv_rows(root / "crm" / "contacts.csv"):
        pid = by_key[("crm", row["source_id"])]
        name = row["full_name"] or f"{row['first_name']} {row['last_name']}".strip()
        if name:
            names[pid].add(name)
        if row["email"]:
            emails[pid].add(row["email"])
    for row in _csv_rows(root / "newsletter" / "subscribers.csv"):
        pid = by_key[("newsletter", row["Subscriber ID"])]
        if row["Name"]:
            names[pid].add(row["Name"])
        emails[pid].add(row["E-mail"])
    for path in sorted((root / "email").glob("*.mbox")):
        for msg in mailbox.mbox(path):
            pid = by_key[("email", msg["Message-ID"].strip("<> "))]
            if pid:
                display, addr = email.utils.parseaddr(str(msg["From"]))
                emails[pid].add(addr)
                if display:
                    names[pid].add(str(email.header.make_header(
                        email.header.decode_header(display))))
    return names, emails


def test_name_and_email_variation_across_sources(demo) -> None:
    summary, gt = demo
    names, emails = _names_and_emails(summary.out_dir, gt)
    varied_names = [p for p, n in names.items() if len(n) >= 2]
    varied_emails = [p for p, e in emails.items() if len({x.lower() for x in e}) >= 2]
    case_only = [p for p, e in emails.items() if len(e) > len({x.lower() for x in e})]
    assert len(varied_names) >= 20
    assert len(varied_emails) >= 10
    assert case_only, "no email spelled with different case in different records"
    people = {p["person_id"]: p for p in gt["people"]}
    dana = next(p for p in gt["people"] if p["canonical_name"] == "Dana Whitfield")
    assert "Dana Whitfeild" in names[dana["person_id"]]  # typo in the CRM
    bob = next(p for p in gt["people"] if p["canonical_name"] == "Robert Alvarez")
    assert any(n.lower().startswith("bob") for n in names[bob["person_id"]])  # nickname
    kate = next(p for p in gt["people"] if p["canonical_name"] == "Katherine Moreno")
    assert {e.split("@")[0] for e in kate["emails"]} >= {"katherine.lee", "katherine.moreno"}
    assert people[dana["person_id"]]["org_id"] == kate["org_id"]  # shared company domain


def test_same_name_different_people(demo) -> None:
    _, gt = demo
    by_name: dict[str, list[dict]] = defaultdict(list)
    for p in gt["people"]:
        by_name[p["canonical_name"]].append(p)
    clashes = [ps for ps in by_name.values()
               if len({p["org_id"] for p in ps if p["org_id"]}) >= 2]
    assert clashes, "no two different people share a name at different companies"
    assert len(by_name["Michael Chen"]) >= 2


def test_people_share_company_domains_and_some_use_personal_addresses(demo) -> None:
    _, gt = demo
    free = tuple(gt["freemail_domains"])
    domain_people: dict[str, set[str]] = defaultdict(set)
    mixed = 0
    for p in gt["people"]:
        domains = {e.split("@")[1].lower() for e in p["emails"]}
        for d in domains:
            domain_people[d].add(p["person_id"])
        if any(d in free for d in domains) and any(d not in free for d in domains):
            mixed += 1
    company_domains = [d for d, ps in domain_people.items()
                       if d not in free and len(ps) >= 3]
    assert len(company_domains) >= 5
    assert mixed >= 5


def test_files_use_the_documented_layout(demo) -> None:
    summary, _ = demo
    root = summary.out_dir
    with open(root / "crm" / "contacts.csv", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header[:15] == ["source_id", "first_name", "last_name", "full_name", "email",
                           "phone", "dob", "street", "city", "postcode", "state", "country",
                           "company", "title", "updated_at"]
    mapping = yaml.safe_load((root / "newsletter" / "subscribers.mapping.yaml").read_text())
    assert mapping["kind"] == "contacts" and mapping["source"] == "newsletter"
    with open(root / "newsletter" / "subscribers.csv", encoding="utf-8") as f:
        sub_header = next(csv.reader(f))
    assert set(mapping["columns"].values()) <= set(sub_header)
    for path in (root / "newsletter" / "posts").glob("*.md"):
        fm = _front_matter(path)
        assert fm["source"] == "newsletter" and fm["kind"] == "post" and fm["tags"]
        assert path.name.startswith(fm["date"].isoformat())
    for path in (root / "notes").glob("*.md"):
        assert path.name[:10] == _front_matter(path)["date"].date().isoformat()
    replies = 0
    for path in sorted((root / "email").glob("*.mbox")):
        for msg in mailbox.mbox(path):
            assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith(">")
            if msg["In-Reply-To"]:
                replies += 1
                assert msg["References"]
    assert replies >= 500
    cal = icalendar.Calendar.from_ical((root / "calendar" / "calendar.ics").read_bytes())
    events = cal.walk("VEVENT")
    assert sum(1 for e in events if e.get("ATTENDEE")) >= 100
    assert all(e.get("ORGANIZER") for e in events)
    kinds = set()
    for path in (root / "chat").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            kinds.add(rec["kind"])
            assert rec["source"] == "chat" and rec["thread"] and rec["actor"]
    assert kinds == {"chat_message", "transcript_turn"}


def test_chat_sessions_reference_earlier_sessions(demo) -> None:
    summary, _ = demo
    lines = (summary.out_dir / "chat" / "harborview-logistics.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    sessions = {r["payload"]["session"] for r in recs}
    assert len(sessions) >= 3
    assert any(r["text"].startswith(("As I mentioned on", "Picking up from our chat on"))
               for r in recs)


# --- the ingest parsers ------------------------------------------------------------------------


def test_every_file_parses_with_zero_rejections(demo) -> None:
    parsers = pytest.importorskip("aios_assets.ingest.parsers")
    from aios_assets.ingest.events import Event

    summary, _ = demo
    total = 0
    per_file: dict[str, int] = {}
    rejections = []
    for rel in summary.files:
        n = 0
        for rec in parsers.iter_records(summary.out_dir / rel):
            if isinstance(rec, Event):
                n += 1
            else:
                rejections.append((rel, rec.line, rec.reason))
        per_file[rel] = n
        total += n
    assert rejections == []
    assert per_file == summary.files
    assert total == summary.events
