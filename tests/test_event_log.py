"""The event log: idempotent ingest, versions for corrections, both timestamps, entity refs."""

from __future__ import annotations

import duckdb

from aios_assets.ingest.loader import ingest_paths
from tests.conftest import event, write_jsonl


def _load(db, *paths, **kw):
    con = duckdb.connect(str(db))
    try:
        return ingest_paths(con, list(paths), **kw)
    finally:
        con.close()


def _rows(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_same_file_twice_adds_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    f = write_jsonl(tmp_path / "a.jsonl", [event("m1"), event("m2", "second")])
    first = _load(db, f)
    second = _load(db, f)
    assert first.events_new == 2
    assert second.events_new == 0 and second.files[0].unchanged
    assert _rows(db, "select count(*) from event_log") == [(2,)]


def test_same_records_in_another_file_add_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    _load(db, write_jsonl(tmp_path / "a.jsonl", [event("m1")]))
    again = _load(db, write_jsonl(tmp_path / "b.jsonl", [event("m1"), event("m3")]))
    assert again.events_read == 2 and again.events_new == 1


def test_correction_adds_a_version_and_keeps_the_old(tmp_path):
    db = tmp_path / "w.duckdb"
    _load(db, write_jsonl(tmp_path / "a.jsonl", [event("m1", "invoice is $400")]))
    _load(db, write_jsonl(tmp_path / "b.jsonl", [event("m1", "invoice is $450")]))
    rows = _rows(db, "select version, text from event_log where source_id='m1' order by version")
    assert rows == [(1, "invoice is $400"), (2, "invoice is $450")]
    assert _rows(db, "select text from events_current where source_id='m1'") == [
        ("invoice is $450",)
    ]


def test_event_time_and_load_time_are_both_kept(tmp_path):
    db = tmp_path / "w.duckdb"
    _load(db, write_jsonl(tmp_path / "a.jsonl", [event("m1", occurred_at="2020-01-02T03:04:05Z")]))
    (occurred, ingested) = _rows(db, "select occurred_at, ingested_at from event_log")[0]
    assert occurred.year == 2020 and occurred.hour == 3
    assert ingested.year >= 2026 and ingested > occurred


def test_event_id_is_stable_across_databases(tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", [event("m1")])
    _load(tmp_path / "one.duckdb", f)
    _load(tmp_path / "two.duckdb", f)
    q = "select event_id from event_log"
    assert _rows(tmp_path / "one.duckdb", q) == _rows(tmp_path / "two.duckdb", q)


def test_entity_refs_are_extracted(tmp_path):
    db = tmp_path / "w.duckdb"
    text = "Call me on +1 415 555 0134 or write to bob@globex.com, see https://www.globex.com/x"
    _load(db, write_jsonl(tmp_path / "a.jsonl", [event("m1", text)]))
    refs = _rows(db, "select entity_refs from event_log")[0][0]
    assert "dana@acme.io" in refs["emails"] and "bob@globex.com" in refs["emails"]
    assert {"acme.io", "globex.com"} <= set(refs["domains"])
    assert "Dana Reyes" in refs["names"]
    assert "+14155550134" in refs["phones"]


def test_bad_lines_are_quarantined_and_the_rest_kept(tmp_path):
    db = tmp_path / "w.duckdb"
    f = tmp_path / "mixed.jsonl"
    f.write_text(
        '{"source": "chat", "source_id": "ok1", "kind": "k", "occurred_at": "2026-01-01", '
        '"text": "fine"}\n'
        "{not json\n"
        '{"source": "chat", "kind": "k", "occurred_at": "2026-01-01", "text": "no id"}\n'
        '{"source": "chat", "source_id": "ok2", "kind": "k", "occurred_at": "2026-01-01", '
        '"text": "fine too"}\n'
    )
    report = _load(db, f)
    assert report.events_new == 2 and report.rejected == 2
    quarantined = _rows(db, "select line, reason from quarantine order by line")
    assert [line for line, _ in quarantined] == [2, 3]
    assert "JSON" in quarantined[0][1] and "source_id" in quarantined[1][1]
    # Re-ingesting the bad file quarantines nothing twice.
    f.write_text(f.read_text() + "\n")  # new bytes, same records
    _load(db, f)
    assert _rows(db, "select count(*) from quarantine") == [(2,)]
    assert _rows(db, "select count(*) from event_log") == [(2,)]


def test_versions_inside_one_file_follow_file_order(tmp_path):
    db = tmp_path / "w.duckdb"
    f = write_jsonl(tmp_path / "a.jsonl", [event("m1", "v1"), event("m1", "v2"), event("m1", "v3")])
    _load(db, f)
    assert _rows(db, "select version, text from event_log order by version") == [
        (1, "v1"), (2, "v2"), (3, "v3")
    ]


def test_failed_file_leaves_nothing_behind(tmp_path, monkeypatch):
    from aios_assets.ingest import staging

    db = tmp_path / "w.duckdb"
    f = write_jsonl(tmp_path / "a.jsonl", [event(f"m{i}") for i in range(10)])
    calls = {"n": 0}
    real = staging._event_row

    def boom(ev, seq):
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("disk on fire")
        return real(ev, seq)

    monkeypatch.setattr(staging, "_event_row", boom)
    try:
        _load(db, f)
    except RuntimeError:
        pass
    monkeypatch.setattr(staging, "_event_row", real)
    assert _rows(db, "select count(*) from event_log") == [(0,)]
    assert _rows(db, "select count(*) from ingested_files") == [(0,)]
    assert _load(db, f).events_new == 10


def test_identifier_fields_are_not_entity_refs():
    from aios_assets.ingest.events import Event, extract_entity_refs

    refs = extract_entity_refs(Event(
        source="email", source_id="x", kind="email", occurred_at=None, text="hi",
        actor="Maya Okafor <maya@okafor.co>",
        payload={"message_id": "20260601081500.abc@okafor.co", "references": ["2026060108@y.io"],
                 "to": ["Bob Li <bob@x.io>"]},
    ))
    assert refs["emails"] == ["bob@x.io", "maya@okafor.co"]
    assert refs["phones"] == []


def test_changing_a_sidecar_mapping_reparses_the_csv(tmp_path):
    db = tmp_path / "w.duckdb"
    csv_file = tmp_path / "export.csv"
    csv_file.write_text("ID,Name,Mail\n1,Ada Lovelace,ada@x.io\n")
    sidecar = tmp_path / "export.mapping.yaml"
    sidecar.write_text("kind: contacts\ncolumns: {source_id: ID, full_name: Name}\n")
    assert _load(db, csv_file).events_new == 1
    assert _load(db, csv_file).files[0].unchanged
    sidecar.write_text("kind: contacts\ncolumns: {source_id: ID, full_name: Name, email: Mail}\n")
    again = _load(db, csv_file)
    assert not again.files[0].unchanged and again.events_new == 1  # a corrected version
    assert _rows(db, "select max(version) from event_log") == [(2,)]


def test_turn_ids_that_restart_per_conversation_stay_distinct(tmp_path):
    # Transcript and chat turn ids ("D1:1") restart in every conversation: the thread scopes them.
    a = write_jsonl(tmp_path / "a.jsonl", [event("D1:1", "hi from a", thread="conv-a")])
    b = write_jsonl(tmp_path / "b.jsonl", [event("D1:1", "hi from b", thread="conv-b")])
    db = tmp_path / "w.duckdb"
    _load(db, a, b)
    rows = _rows(db, "SELECT thread, version, text FROM events_current ORDER BY thread")
    assert rows == [("conv-a", 1, "hi from a"), ("conv-b", 1, "hi from b")]
    # ...while a correction inside one conversation is still a new version of that turn.
    fix = write_jsonl(tmp_path / "c.jsonl", [event("D1:1", "hi from a (edited)", thread="conv-a")])
    _load(db, fix)
    rows = _rows(db, "SELECT thread, version, text FROM events_current ORDER BY thread")
    assert rows[0] == ("conv-a", 2, "hi from a (edited)")
