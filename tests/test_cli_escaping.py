"""File names and content reach the terminal as literal text (issue 15): no Rich markup, no
emoji codes, no forged lines, no MarkupError crash after the data is committed."""

from __future__ import annotations

import json
from pathlib import Path

from aios_assets.termtext import safe, visible
from tests.conftest import event, run_aios, write_jsonl

MARKUP = "[bold red]loud[/] :x:"
NAME_MARKUP = "[bold red]loud :x:"  # a file name cannot hold "/": an unclosed tag


def test_markup_and_control_characters_in_file_names(tmp_path: Path, aios_home: Path):
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "ok.jsonl", [event("m1")])
    # unknown formats are rejected, so each path is printed on a "rejected" line; "[/x]" is a
    # folder "a[" holding "x].xlsx" (a file name cannot hold "/")
    (data / "a[").mkdir()
    names = ["a[/x].xlsx", f"{NAME_MARKUP}.xlsx", "two\nrejected forged.xlsx: fake.xlsx",
             "esc\x1b[31mred.xlsx"]
    for i, name in enumerate(names):  # distinct bytes: identical files count once
        (data / name).write_bytes(b"PK\x03\x04 not a spreadsheet %d" % i)
    res = run_aios("ingest", str(data), "--no-materialize", home=aios_home)
    assert res.returncode == 3, res.stderr  # files wholly rejected (unknown format): exit 3
    assert "MarkupError" not in res.stderr and "Traceback" not in res.stderr
    assert "1 new events" in res.stderr  # the summary line is there
    rejected = [ln for ln in res.stderr.splitlines() if ln.startswith("rejected")]
    assert len(rejected) == len(names), res.stderr  # the newline forged no extra line
    assert any("a[/x].xlsx" in ln for ln in rejected)
    assert any(f"{NAME_MARKUP}.xlsx" in ln for ln in rejected)  # literal: no style, no emoji
    assert "❌" not in res.stderr
    assert any("two\\nrejected forged.xlsx" in ln for ln in rejected)
    assert "\x1b" not in res.stderr and any("esc\\x1b[31mred.xlsx" in ln for ln in rejected)
    # the data was committed and the names kept exactly in the quarantine
    q = run_aios("sql", "select file from quarantine", "-f", "json", home=aios_home)
    files = {str(Path(r["file"]).relative_to(data)) for r in json.loads(q.stdout)}
    assert set(names) <= files


def test_sql_results_and_column_names_are_literal(tmp_path: Path, aios_home: Path):
    hostile = f"{MARKUP} [/x] line1\nline2 \x1b[2J"
    f = write_jsonl(tmp_path / "a.jsonl", [event("m1", hostile)])
    assert run_aios("ingest", str(f), "--no-materialize", home=aios_home).returncode == 0
    res = run_aios("sql", 'select text as "[/c]", source_id from event_log', home=aios_home)
    assert res.returncode == 0, res.stderr
    assert "[/c]" in res.stdout
    assert f"{MARKUP} [/x] line1\\nline2 \\x1b[2J" in res.stdout
    assert "❌" not in res.stdout and "\x1b" not in res.stdout
    # JSON and CSV stay the exact data (they are the export formats)
    res = run_aios("sql", "select text from event_log", "-f", "json", home=aios_home)
    assert json.loads(res.stdout) == [{"text": hostile}]


def test_errors_carrying_user_text_are_literal(aios_home: Path, tmp_path: Path):
    res = run_aios("ingest", str(tmp_path / "[/x] :x:.jsonl"), home=aios_home)
    assert res.returncode == 1
    assert "no such file or folder" in res.stderr and "[/x] :x:.jsonl" in res.stderr
    assert "Traceback" not in res.stderr


def test_audit_entity_screen_escapes_its_data():
    from rich.console import Console

    from aios_assets.observability.audit_cli import render_entity

    report = {
        "entity_id": "ent_[/x]", "contact": {"full_name": MARKUP, "primary_email": "a@b\nc"},
        "interactions": {"count": 1, "first": "2026-01-01", "last": "2026-01-02", "recent": [
            {"occurred_at": "2026-01-02", "interaction_type": "email", "role": "from",
             "subject": "[red]hi[/] :x:"}]},
        "records": [{"source": "crm", "source_id": "[/y]", "record_kind": "contact",
                     "matched_by": "email"}],
        "fates": {}, "cost": {"total_usd": 0, "why": "[bold]none[/]"}, "proposals": [],
    }
    console = Console(record=True, width=200, emoji=False)
    console.print(render_entity(report))
    text = console.export_text()
    for literal in ("ent_[/x]", MARKUP, "a@b\\nc", "[red]hi[/] :x:", "[/y]", "[bold]none[/]"):
        assert literal in text, literal


def test_the_helper():
    assert visible("a\nb\r\tc\x00\x7f\u202e") == "a\\nb\\r\\tc\\x00\\x7f\\u202e"
    assert visible("a\nb", keep_newlines=True) == "a\nb"
    assert safe(None) == "" and safe("[/x]") == "\\[/x]"
