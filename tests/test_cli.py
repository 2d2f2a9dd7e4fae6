"""The aios CLI, run as a user would: ingest, sql, errors that say what to do."""

from __future__ import annotations

import csv
import io
import json

from tests.conftest import event, run_aios, write_jsonl


def test_ingest_then_sql_in_every_format(tmp_path, aios_home):
    f = write_jsonl(tmp_path / "a.jsonl", [event("m1", "hello"), event("m2", "world")])
    res = run_aios("ingest", str(f), "--no-materialize", home=aios_home)
    assert res.returncode == 0, res.stderr
    assert "2 new events" in res.stderr

    res = run_aios("sql", "select source_id, text from event_log order by 1", "--format",
                   "json", home=aios_home)
    assert json.loads(res.stdout) == [
        {"source_id": "m1", "text": "hello"}, {"source_id": "m2", "text": "world"}
    ]
    res = run_aios("sql", "select count(*) as n from event_log", "-f", "csv", home=aios_home)
    assert list(csv.reader(io.StringIO(res.stdout))) == [["n"], ["2"]]
    res = run_aios("sql", "select source_id from event_log", home=aios_home)
    assert "m1" in res.stdout and "m2" in res.stdout

    # Same file again: nothing new.
    res = run_aios("ingest", str(f), "--no-materialize", "--json", home=aios_home)
    assert json.loads(res.stdout)["events_new"] == 0


def test_ingest_records_a_dagster_run(tmp_path, aios_home):
    import dagster as dg

    f = write_jsonl(tmp_path / "a.jsonl", [event("m1")])
    res = run_aios("ingest", str(f), "--json", home=aios_home)
    assert res.returncode == 0, res.stderr[-2000:]
    # The whole pipeline ran (dbt included), yet stdout is only the JSON report: dbt's log
    # lines went to the tool log.
    assert json.loads(res.stdout)["events_new"] == 1
    assert "Running with dbt" in (aios_home / "logs" / "ingest.log").read_text()
    instance = dg.DagsterInstance.get()
    records = instance.get_run_records()
    assert records and records[0].dagster_run.job_name == "ingest_and_update_job"
    assert instance.get_latest_materialization_event(dg.AssetKey("event_log")) is not None


def test_rejected_file_gets_one_clear_line(tmp_path, aios_home):
    data = tmp_path / "data"
    data.mkdir()
    (data / "data.xlsx").write_bytes(b"PK\x03\x04 not really")
    good = write_jsonl(data / "ok.jsonl", [event("m1")])
    res = run_aios("ingest", str(data), "--no-materialize", home=aios_home)
    assert res.returncode == 3  # a file wholly rejected (the other one is kept)
    lines = [ln for ln in res.stderr.splitlines() if "data.xlsx" in ln]
    assert len(lines) == 1 and "unknown format" in lines[0]
    assert good.exists()
    q = run_aios("sql", "select file, reason from quarantine", "-f", "json", home=aios_home)
    assert "data.xlsx" in json.loads(q.stdout)[0]["file"]


def test_errors_are_one_line_and_exit_non_zero(tmp_path, aios_home):
    res = run_aios("ingest", str(tmp_path / "nope.jsonl"), home=aios_home)
    assert res.returncode == 1 and "no such file or folder" in res.stderr
    res = run_aios("sql", "select 1", home=aios_home)
    assert res.returncode == 1 and "aios ingest" in res.stderr
    write_jsonl(tmp_path / "a.jsonl", [event("m1")])
    run_aios("ingest", str(tmp_path / "a.jsonl"), "--no-materialize", home=aios_home)
    res = run_aios("sql", "delete from event_log", home=aios_home)
    assert res.returncode == 1 and "read-only" in res.stderr
    res = run_aios("sql", "select nope from event_log", home=aios_home)
    assert res.returncode == 1 and "nope" in res.stderr
    assert "Traceback" not in res.stderr


def test_sql_reads_stdin(tmp_path, aios_home):
    run_aios("ingest", str(write_jsonl(tmp_path / "a.jsonl", [event("m1")])),
             "--no-materialize", home=aios_home)
    res = run_aios("sql", "-", "-f", "json", home=aios_home, input="select 41 + 1 as x")
    assert json.loads(res.stdout) == [{"x": 42}]
