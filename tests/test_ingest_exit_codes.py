"""`aios ingest` exit codes, through the real CLI: 0 every file read (quarantined records
inside a file included), 3 a file wholly rejected, 1 the Dagster run failed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import event, run_aios, write_jsonl


def test_quarantined_records_inside_a_read_file_exit_0(tmp_path: Path, aios_home: Path) -> None:
    f = write_jsonl(tmp_path / "a.jsonl", [event("m1", "kept")])
    with f.open("a") as fh:
        fh.write("{not json\n")
    res = run_aios("ingest", str(f), "--no-materialize", home=aios_home)
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if "a.jsonl" in ln]
    assert len(lines) == 1 and lines[0].startswith("partly rejected"), res.stderr
    assert "1 new events (1 read), 1 rejected, 0 field issue(s), 1 file(s)" in res.stderr


def test_a_wholly_rejected_file_exits_3_and_the_rest_is_kept(
    tmp_path: Path, aios_home: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "empty.jsonl").write_bytes(b"")
    (data / "sheet.xlsx").write_bytes(b"PK\x03\x04 not really")
    write_jsonl(data / "ok.jsonl", [event("m1")])
    res = run_aios("ingest", str(data), "--no-materialize", "--json", home=aios_home)
    assert res.returncode == 3, res.stderr
    report = json.loads(res.stdout)
    assert report["success"] is True and report["events_new"] == 1
    assert {Path(f["file"]).name: f["fully_rejected"] for f in report["files"]} == {
        "empty.jsonl": True, "sheet.xlsx": True, "ok.jsonl": False,
    }
    # one line per rejected file, each with its reason
    rejected = sorted(ln for ln in res.stderr.splitlines() if ln.startswith("rejected"))
    assert rejected == [f"rejected {data / 'empty.jsonl'}: empty file",
                        f"rejected {data / 'sheet.xlsx'}: unknown format '.xlsx'"], res.stderr
    q = run_aios("sql", "select count(*) as n from events_current", "-f", "json", home=aios_home)
    assert json.loads(q.stdout) == [{"n": 1}]


def test_a_failed_run_exits_1(tmp_path: Path, aios_home: Path) -> None:
    # a warehouse the run cannot open: the ingest step itself fails
    (aios_home / "warehouse.duckdb").mkdir()
    f = write_jsonl(tmp_path / "a.jsonl", [event("m1")])
    res = run_aios("ingest", str(f), "--no-materialize", "--json", home=aios_home)
    assert res.returncode == 1, res.stderr
    assert json.loads(res.stdout)["success"] is False
    assert "error: ingest_job failed" in res.stderr


def test_a_failed_run_wins_over_a_rejected_file(tmp_path: Path, aios_home: Path) -> None:
    (aios_home / "warehouse.duckdb").mkdir()
    (tmp_path / "empty.jsonl").write_bytes(b"")
    res = run_aios("ingest", str(tmp_path / "empty.jsonl"), "--no-materialize", home=aios_home)
    assert res.returncode == 1, res.stderr
