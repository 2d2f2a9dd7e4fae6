"""Hostile and unlucky input (issue 15): nothing wedges, nothing valid is lost, nothing is read
from outside the folder the user named, and every skipped file is reported by name and reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from aios_assets.ingest.loader import expand_paths, ingest_paths
from tests.conftest import ROOT, event, run_aios, write_jsonl

HOSTILE = Path(__file__).parent / "corpus" / "hostile"
# file -> (events kept, records quarantined, field issues, a phrase of the first reason: of the
# quarantine, else of the field issues)
EXPECTED = {
    "nul_thread.jsonl": (2, 0, 1, None),
    "nul_byte_head.jsonl": (2, 1, 0, "invalid JSON"),
    "stray_fffe.jsonl": (1, 1, 0, "not valid UTF-8"),
    "billion_laughs.md": (1, 0, 1, "YAML aliases (*name) are not allowed"),
    "deep_front_matter.md": (1, 0, 1, "nested too deeply"),
    "unclosed_quote.csv": (200, 1, 0, "unclosed quote"),
    "markup_content.jsonl": (1, 0, 0, None),
}
MAX_SECONDS, MAX_RSS_MB = 60, 500

_PROBE = """
import json, re, sys, time
import duckdb
from aios_assets.ingest.loader import ingest_paths
def peak_mb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a child of a big pytest
    # would report pytest's peak instead of its own
    status = open("/proc/self/status").read()
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024
t = time.monotonic()
con = duckdb.connect(sys.argv[2])
r = ingest_paths(con, [sys.argv[1]])
reason = con.execute("select reason from quarantine order by line nulls first limit 1").fetchone()
reason = reason or con.execute("select reason from field_issues order by line limit 1").fetchone()
print(json.dumps({"events": r.events_read, "rejected": r.rejected, "issues": r.field_issues,
                  "reason": reason[0] if reason else None, "seconds": time.monotonic() - t,
                  "rss_mb": peak_mb()}))
"""


def test_the_hostile_corpus_is_complete():
    # Subfolders (disclosure/) hold inputs of other tests, not ingest files.
    assert sorted(p.name for p in HOSTILE.iterdir()
                  if p.is_file() and p.name != "README.md") == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_hostile_file_is_read_in_bounded_time_and_memory(name, tmp_path):
    # its own process, so that its peak RSS is its own
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(HOSTILE / name), str(tmp_path / "w.duckdb")],
        cwd=ROOT, capture_output=True, text=True, timeout=MAX_SECONDS * 2)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout)
    events, rejected, issues, reason = EXPECTED[name]
    assert (got["events"], got["rejected"], got["issues"]) == (events, rejected, issues), got
    if reason:
        assert reason in got["reason"], got
    assert got["seconds"] <= MAX_SECONDS and got["rss_mb"] <= MAX_RSS_MB, got


def _fifo_tree(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "good.jsonl", [event("g1", "a good line")])
    write_jsonl(folder / "...jsonl", [event("d1", "dots")])
    write_jsonl(folder / "..\\..\\win.jsonl", [event("w1", "windows path")])
    os.mkfifo(folder / "pipe.jsonl")
    (folder / "zero.md").symlink_to("/dev/zero")
    (folder / "passwd.md").symlink_to("/etc/passwd")
    (folder / "hosts").mkdir()
    (folder / "etc.d").symlink_to("/etc", target_is_directory=True)
    write_jsonl(folder / "hosts" / "inside.jsonl", [event("i1", "inside")])
    (folder / "alias.jsonl").symlink_to(folder / "hosts" / "inside.jsonl")
    return folder


def test_fifos_devices_symlinks_out_and_hidden_files_are_skipped_by_name(tmp_path):
    folder = _fifo_tree(tmp_path)
    skipped: list[tuple[Path, str]] = []
    files = expand_paths([folder], skipped)
    assert sorted(p.name for p in files) == ["alias.jsonl", "good.jsonl", "inside.jsonl"]
    why = {p.name: reason for p, reason in skipped}
    assert set(why) == {"...jsonl", "..\\..\\win.jsonl", "pipe.jsonl", "zero.md", "passwd.md",
                        "etc.d"}
    assert "hidden file" in why["...jsonl"] and "hidden file" in why["..\\..\\win.jsonl"]
    assert why["pipe.jsonl"] == "not a regular file (FIFO)"
    assert "outside" in why["zero.md"] and "outside" in why["passwd.md"]
    assert "symlinked folder" in why["etc.d"]

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    started = time.monotonic()
    report = ingest_paths(con, [folder])  # a FIFO used to hang this forever
    assert time.monotonic() - started < 30
    assert {Path(f.file).name: f.skipped for f in report.files if f.skipped} == why
    texts = {r[0] for r in con.execute("select text from event_log").fetchall()}
    assert texts == {"a good line", "inside"}
    assert not con.execute("select count(*) from event_log where text like '%root:%'").fetchone()[0]


def test_a_fifo_named_on_the_command_line_is_skipped_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "named.jsonl")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    report = ingest_paths(con, [tmp_path / "named.jsonl"])
    assert [f.skipped for f in report.files] == ["not a regular file (FIFO)"]


def test_identical_bytes_under_two_names_are_both_read(tmp_path):
    data = '{"source":"s","source_id":"1","kind":"note","occurred_at":"2026-01-01","text":"x"}\n'
    (tmp_path / "a.jsonl").write_text(data)
    (tmp_path / "b.ndjson").write_text(data)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    first = ingest_paths(con, [tmp_path / "a.jsonl"])
    second = ingest_paths(con, [tmp_path / "b.ndjson"])
    assert first.events_new == 1
    assert not second.files[0].unchanged and second.events_read == 1 and second.events_new == 0
    assert ingest_paths(con, [tmp_path / "b.ndjson"]).files[0].unchanged  # same name: unchanged


def test_the_cli_reports_every_skipped_file(tmp_path, aios_home):
    folder = _fifo_tree(tmp_path)
    res = run_aios("ingest", str(folder), "--no-materialize", home=aios_home, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    shown = res.stdout + res.stderr
    for name in ("...jsonl", "pipe.jsonl", "zero.md", "passwd.md", "etc.d"):
        assert f"{name}: " in shown, (name, shown)
    assert shown.count("skipped") >= 6


def test_a_nul_poison_pill_does_not_stop_later_runs(tmp_path, aios_home):
    """One `"thread": "a\\u0000b"` used to fail every later materializing ingest at
    semantic_memory (PostgreSQL refuses NUL in text)."""
    first = tmp_path / "first.jsonl"
    first.write_bytes((HOSTILE / "nul_thread.jsonl").read_bytes())
    res = run_aios("ingest", str(first), "--json", home=aios_home, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout)["field_issues"] == 1
    # the run after: NUL in every text field an event has, each on its way to Postgres
    nul = event("n\x00id", "nul in the text\x00 too", actor="Ev\x00e <eve@example.com>",
                thread="th\x00read", subject="sub\x00ject", payload={"k\x00": ["v\x00"]})
    markup = event("mk", "quokka [bold red]pwned[/] :x: [/x] \x1b[31mred\x1b[0m",
                   thread="[/t]")
    write_jsonl(tmp_path / "second.jsonl",
                [event("after", "the run after the poison pill"), nul, markup])
    res = run_aios("ingest", str(tmp_path / "second.jsonl"), "--json", home=aios_home,
                   timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout)
    assert report["success"] is True and report["field_issues"] == 6, report
    from resources.postgres import connect, resolve_url

    with connect(resolve_url()) as con:
        chunks = con.execute("SELECT thread FROM aios.semantic_chunks WHERE source_id = %s",
                             ("n\ufffdid",)).fetchall()
    assert chunks and {t for (t,) in chunks} == {"th\ufffdread"}
    res = run_aios("sql", "select thread from event_log where source_id = 'h1'", "-f", "json",
                   home=aios_home)
    assert json.loads(res.stdout) == [{"thread": "a\ufffdb"}]
    res = run_aios("recall", "run after the poison pill", home=aios_home, timeout=300)
    assert res.returncode == 0 and "after" in res.stdout, res.stdout + res.stderr
    # recall shows hostile content literally: no markup, no emoji, no escape sequence
    # wide enough that the table does not wrap the hit's text inside the markup it shows
    res = run_aios("recall", "quokka pwned", home=aios_home, timeout=300,
                   env={"COLUMNS": "200"})
    assert res.returncode == 0, res.stderr[-2000:]
    assert "[bold red]pwned[/]" in res.stdout and ":x:" in res.stdout, res.stdout
    assert "\x1b" not in res.stdout and "\\x1b[31m" in res.stdout and "❌" not in res.stdout
