"""Every `aios` command, found by walking the typer app, run with minimal valid arguments on a
brand-new AIOS_HOME: exit 0, or 1 with one clear `error:` line; never a traceback, never a
screen of noise. A command added later fails here until it is given arguments below."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from tests.conftest import event, run_aios, write_jsonl

# Minimal valid arguments ({home}, {file}: filled in below), in the order they run: the ones
# that would create a warehouse (publish, ingest) last, so the others meet a fresh home.
ARGS: dict[str, list[str]] = {
    "proposals": [],
    "approve": ["abcdef"],
    "reject": ["abcdef", "--reason", "not now"],
    "cost": [],
    "summary": [],
    "replay": ["--agent", "triage", "--since", "2026-01-01"],
    "sql": ["select 1"],
    "recall": ["invoice"],
    "intent list": [],
    "audit show": ["abcdef"],
    "audit export": ["--out", "{home}/trail.jsonl"],
    "pg status": [],
    "pg stop": [],
    "pg start": [],
    "intent add": ["fewer_overdue", "--goal", "Fewer overdue invoices", "--kpi",
                   "overdue_balance", "--agent", "billing"],
    "demo-data": ["--out", "{home}/demo-data", "--days", "2", "--scale", "0.01"],
    "summaries-fill": [],
    "publish": [],
    "ingest": ["{file}", "--no-materialize"],
}
# Run elsewhere (long-running, or a whole pipeline): here only their --help.
ELSEWHERE = {
    "demo": "the whole pipeline: tests/test_cli_first_hour.py builds a demo home with it",
    "ui": "execs the Dagster UI server: tests/test_ui.py",
    "console": "serves the web console: its own tests",
}
EXIT_CODES = {0, 1}  # README "Ingesting data": 1 an error (2 usage, 3 a rejected file)


def commands() -> list[str]:
    from aios_assets.cli import app

    def walk(cmd, path: tuple[str, ...] = ()):  # noqa: ANN001, ANN202 - click objects
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield " ".join(path)

    return list(walk(typer.main.get_command(app)))


def test_every_command_is_covered():
    found = set(commands())
    assert found, "no commands found"
    missing = found - ARGS.keys() - ELSEWHERE.keys()
    assert not missing, f"give these commands minimal arguments in ARGS: {sorted(missing)}"


def test_every_command_on_a_fresh_home_gives_one_clear_line(tmp_path: Path, aios_home: Path):
    f = write_jsonl(tmp_path / "one.jsonl", [event("fresh-1", "Invoice INV-1 is due")])
    found = set(commands())
    report = []
    for name, args in ARGS.items():
        if name not in found:
            continue
        argv = [*name.split(), *(a.format(home=aios_home, file=f) for a in args)]
        res = run_aios(*argv, home=aios_home, env={"AIOS_POSTGRES_URL": "", "COLUMNS": "80"},
                       timeout=300)
        out = res.stdout + res.stderr
        report.append(f"{name}: {res.returncode}")
        assert res.returncode in EXIT_CODES, (argv, res.returncode, out[-2000:])
        assert "Traceback" not in out and "Warning" not in out, (argv, out[-2000:])
        messages = [line for line in res.stderr.splitlines() if line.strip()]
        if res.returncode:
            # one line that says what is wrong and, where it can, what to do
            assert len(messages) == 1 and messages[0].startswith("error: "), (argv, messages)
            assert not res.stdout.strip(), (argv, res.stdout)
        else:
            assert len(messages) <= 8, (argv, messages)
    assert len(report) == len(ARGS.keys() & found)


@pytest.mark.parametrize("name", sorted(ELSEWHERE))
def test_commands_run_elsewhere_have_help(name: str, aios_home: Path):
    if name not in set(commands()):
        pytest.skip(f"no `aios {name}` in this version")
    res = run_aios(*name.split(), "--help", home=aios_home)
    assert res.returncode == 0 and "Usage:" in res.stdout, res.stderr
