"""The whole bad-input corpus through the loader: every rejection lands in quarantine."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import yaml

from aios_assets.ingest.events import Event
from aios_assets.ingest.loader import ingest_paths
from aios_assets.ingest.parsers import iter_records

CORPUS = Path(__file__).parent / "corpus" / "bad"


def _expected() -> dict:
    return yaml.safe_load((CORPUS / "EXPECTED.yaml").read_text())


def test_bad_corpus_is_quarantined_with_reasons_and_valid_records_kept(tmp_path):
    corpus = tmp_path / "bad"
    shutil.copytree(CORPUS, corpus, ignore=shutil.ignore_patterns("EXPECTED.yaml", "README.md"))
    expected = {k: v for k, v in _expected().items() if not (v or {}).get("sidecar")}
    assert len(expected) >= 30

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    report = ingest_paths(con, [corpus])
    want_events = sum(v.get("events", 0) for v in expected.values())
    want_rejections = sum(len(v.get("rejections") or []) for v in expected.values())
    want_issues = sum(len(v.get("field_issues") or []) for v in expected.values())
    assert report.events_read == want_events
    assert report.rejected == want_rejections
    # Fields nulled in kept records are recorded, each with its event, file, line and raw value.
    assert report.field_issues == want_issues > 0
    issues = con.execute(
        "select f.file, f.line, f.field, f.raw, e.line from field_issues f "
        "join event_log e using (event_id)").fetchall()
    assert len(issues) == want_issues
    assert all(line == event_line for _, line, _, _, event_line in issues)
    assert (str(corpus / "csv_contacts_mixed.csv"), 7, "dob", "not a date", 7) in issues

    per_file = dict(con.execute(
        "select file, count(*) from quarantine group by 1").fetchall())
    for name, spec in expected.items():
        rejections = spec.get("rejections") or []
        assert per_file.get(str(corpus / name), 0) == len(rejections), name
    assert con.execute(
        "select count(*) from quarantine where reason is null or reason = '' or file is null"
    ).fetchone()[0] == 0
    # Every valid record around the bad ones reached the event log: the ids the parsers made
    # are exactly the ids logged (identical records in two files are one event).
    parsed_ids = {
        ev.event_id()
        for path in sorted(corpus.iterdir()) if path.name in expected
        for ev in iter_records(path) if isinstance(ev, Event)
    }
    logged_ids = {r[0] for r in con.execute("select event_id from event_log").fetchall()}
    assert parsed_ids == logged_ids and len(logged_ids) > 30
    # A second pass adds nothing anywhere.
    again = ingest_paths(con, [corpus])
    assert again.events_new == 0
    assert con.execute("select count(*) from quarantine").fetchone()[0] == want_rejections
    assert con.execute("select count(*) from field_issues").fetchone()[0] == want_issues
    con.close()


def test_huge_line_is_quarantined_and_the_file_goes_on(tmp_path):
    big = tmp_path / "big.jsonl"
    ok = '{"source":"s","source_id":"%s","kind":"k","occurred_at":"2026-01-01","text":"x"}\n'
    with big.open("w") as fh:
        fh.write(ok % "a")
        fh.write('{"source":"s","source_id":"b","kind":"k","occurred_at":"2026-01-01","text":"'
                 + "y" * 1_200_000 + '"}\n')
        fh.write(ok % "c")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    report = ingest_paths(con, [big])
    assert report.events_new == 2 and report.rejected == 1
    reason, raw_len = con.execute("select reason, length(raw) from quarantine").fetchone()
    assert "too large" in reason and raw_len <= 2000
