"""Every `aios` command in README.md runs against the demo home and answers something relevant.

One demo home for the module, a copy of the session's `make demo DEMO_ARGS="--scale 0.1 --days
30"` (what a new user runs, smaller; conftest.demo_checkout) in a folder laid out like the
checkout: `.aios` is the home (the
default AIOS_HOME), `.venv` a link to the virtualenv running the tests (PYTHONPATH puts this
checkout first, should that venv's editable install point at another one). Each README command
then runs there as written, in a shell that sourced `. .venv/bin/activate` as the README's
first lines say, in README order (the ingest examples feed the queries after them). The answers
are checked against what the demo business holds (Harborview Logistics, its chat thread, its
open invoice).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from aios_assets.testing.ports import free_port
from tests.conftest import DEMO_ARGS, ROOT, copy_demo

README = ROOT / "README.md"
ACTIVATE = ". .venv/bin/activate"
VENV = Path(sys.prefix)  # the virtualenv running the tests (`make test`: the checkout's .venv)


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def _logical_lines(block: str) -> list[str]:
    """Shell lines of a block: continuations joined, comment-only lines dropped."""
    lines, current = [], ""
    for raw in block.splitlines():
        current += raw.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip() and not current.strip().startswith("#"):
            lines.append(" ".join(current.split()))
        current = ""
    return lines


def _is_aios(line: str) -> bool:
    return re.search(r"(^|\|\s*)aios\b", line) is not None


def readme_commands() -> list[str]:
    """Every line of a bash block that runs `aios`, with the shell lines between them that
    they need (e.g. the `printf` that writes the file an example ingests)."""
    out = []
    for block in _blocks("bash"):
        lines = _logical_lines(block)
        if not any(_is_aios(line) for line in lines):
            continue
        out += [line for line in lines if not line.startswith(("make ", ACTIVATE))]
    return out


def _strip_comment(line: str) -> str:
    return re.sub(r"\s+#.*$", "", line)


# --- the demo home ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkout(demo_checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder like the checkout after `make demo`: `.venv` and the demo home `.aios` (a copy of
    the session's `make demo DEMO_ARGS="--scale 0.1 --days 30"`, conftest.demo_checkout)."""
    from aios_assets.shared.home import AiosHome
    from resources.postgres import stop_embedded

    where = copy_demo(demo_checkout, tmp_path_factory.mktemp("readme") / "checkout")
    print(f"make demo {DEMO_ARGS}: {(where / 'built').read_text().strip()}")
    # The JSONL line of the README's event schema, which the first ingest example reads.
    (json_line,) = [b for b in _blocks("json") if '"source_id": "c-42"' in b]
    (where / "chat-line.jsonl").write_text(json_line)
    yield where
    stop_embedded(AiosHome.from_env(where / ".aios"))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AIOS_HOME", "DAGSTER_HOME")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["COLUMNS"] = "200"  # tables wide enough that no checked word is wrapped
    return env


def _sh(script: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


def _events(checkout: Path, where: str = "true") -> int:
    with duckdb.connect(str(checkout / ".aios" / "warehouse.read.duckdb"), read_only=True) as c:
        return c.execute(f"SELECT count(*) FROM event_log WHERE {where}").fetchone()[0]


def test_make_demo_says_how_to_reach_aios_and_the_readme_opens_with_it(
        checkout: Path, demo_checkout: Path):
    tail = (checkout / "make-demo.out").read_text().splitlines()[-4:]
    venv = demo_checkout / ".venv"  # the folder `make demo` ran in (checkout is its copy)
    assert f"    . {venv}/bin/activate" in tail, tail
    assert any("aios --help" in line for line in tail), tail
    # The README's first code block: make demo, then the activation, then aios.
    first = _logical_lines(_blocks("bash")[0])
    assert [_strip_comment(x) for x in first[:3]] == ["make demo", ACTIVATE, "aios --help"]
    # It works: in a shell without the venv on PATH, sourcing it puts `aios` there.
    env = _env()
    env["PATH"] = "/usr/bin:/bin"
    res = subprocess.run(["bash", "-c", f"command -v aios; {ACTIVATE} && command -v aios && "
                          "aios --help"], cwd=checkout, env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == f"{VENV}/bin/aios", res.stdout
    for command in ("ingest", "sql", "recall", "ui", "console", "proposals"):
        assert f" {command} " in res.stdout, res.stdout


# --- what each README command must answer ----------------------------------------------------

Check = Callable[[subprocess.CompletedProcess, Path], None]


def _has(*words: str) -> Check:
    def check(res: subprocess.CompletedProcess, checkout: Path) -> None:
        missing = [w for w in words if w not in res.stdout]
        assert not missing, f"{missing} not in:\n{res.stdout[-3000:]}"
    return check


def _ingested_chat_line(res, checkout):
    assert _events(checkout, "source_id = 'c-42' AND thread = 'chat-harborview-logistics'") == 1


def _added_nothing(res, checkout):
    assert re.search(r"\b0 new events?\b", res.stdout + res.stderr), res.stderr[-2000:]


def _mapped_contacts(res, checkout):
    # The export's own headers ("Subscriber ID", "E-mail") mapped to contacts; the demo had
    # ingested the file already, so nothing is new.
    _added_nothing(res, checkout)
    assert _events(checkout, "source = 'newsletter' AND kind = 'contact' AND source_id LIKE "
                   "'sub\\_%' ESCAPE '\\' AND file LIKE '%/subscribers.csv'") > 10


def _ingested_ada(res, checkout):
    assert _events(checkout, "source = 'crm' AND source_id = 'C-90001'") == 1


def _open_invoices_csv(res, checkout):
    rows = (checkout / "open-invoices.csv").read_text().splitlines()
    assert rows[0] == "invoice_id,customer_name,balance,due_at", rows
    assert any(r.startswith("INV-003-001,Robert Alvarez,3500.0,") for r in rows[1:]), rows


def _thread_json(res, checkout):
    rows = json.loads(res.stdout)
    actors = {r["actor"] for r in rows}
    assert {"Dana Whitfield", "Robert Alvarez <robert.alvarez@harborview.example>"} <= actors
    assert any("churn dashboard" in r["text"] for r in rows)
    assert any("Q3 retainer is approved" in r["text"] for r in rows)  # the ingested line


def _event_count(res, checkout):
    assert str(_events(checkout)) in res.stdout, res.stdout


def _budget_recall(res, checkout):
    hits = json.loads(res.stdout)
    top = [h["source_id"] for h in hits[:5]]
    # Robert's line about the budget (ingested above) is among the first hits: he writes from
    # harborview.example, and the company is a recall cue.
    assert "c-42" in top, [(h["source_id"], h["text"][:60]) for h in hits[:10]]


EXPECTED: dict[str, Check] = {
    "aios ingest chat-line.jsonl": _ingested_chat_line,
    "aios ingest .aios/demo/email/ .aios/demo/calendar/calendar.ics --no-materialize":
        _added_nothing,
    "aios ingest .aios/demo/newsletter/subscribers.csv --source newsletter --mapping "
    ".aios/demo/newsletter/subscribers.mapping.yaml --no-materialize": _mapped_contacts,
    "printf 'source_id,full_name,email,dob\\nC-90001,Ada Quill,ada@quill.example,1937-12-33\\n'"
    " > new.csv": lambda res, checkout: None,
    "aios ingest new.csv --source crm --no-materialize": _ingested_ada,
    'aios sql "select file, line, field, raw, reason from field_issues"':
        _has("new.csv", "dob", "1937-12-33"),
    'aios sql "select kind, count(*) from event_log group by 1 order by 2 desc"':
        _has("email", "chat_message", "transcript_turn", "invoice", "meeting"),
    'aios sql "select invoice_id, customer_name, balance, due_at from fct_invoices where not '
    'is_paid" --format csv > open-invoices.csv': _open_invoices_csv,
    'aios sql "select occurred_at, actor, text from events_current where thread = '
    '\'chat-harborview-logistics\' order by occurred_at" --format json': _thread_json,
    'echo "select count(*) from event_log" | aios sql -': _event_count,
    'aios recall "when will the churn dashboard be ready" --thread chat-harborview-logistics '
    '--k 5': _has("churn dashboard ready by", "chat-harborview-logistics"),
    'aios recall "what did Harborview say about the budget" --since 2026-06-01 --json':
        _budget_recall,
    'aios recall "open invoices for Harborview Logistics" --budget 800':
        _has("INV-003-001", "Harborview Logistics", "status open"),
}
SERVERS = {"aios console"}  # run until stopped: started, asked for a page, stopped


def test_every_readme_command_has_a_check():
    commands = {_strip_comment(c) for c in readme_commands()}
    assert commands - SERVERS - {"aios --help"} == set(EXPECTED), (
        "README commands without a check here, or checks of commands no longer in the README")


@pytest.fixture(scope="module")
def ran(checkout: Path) -> dict[str, subprocess.CompletedProcess]:
    """Each README command, run in README order in the demo checkout (after activation)."""
    results = {}
    for line in readme_commands():
        command = _strip_comment(line)
        if command in SERVERS or command == "aios --help":
            continue
        started = time.monotonic()
        results[command] = _sh(f"{ACTIVATE} && {line}", checkout)
        print(f"{time.monotonic() - started:6.1f} s  {command[:90]}")
    return results


@pytest.mark.parametrize("command", list(EXPECTED), ids=lambda c: c[:60])
def test_readme_command_answers(ran: dict, checkout: Path, command: str):
    res = ran[command]
    assert res.returncode == 0, f"exit {res.returncode}\n{res.stderr[-3000:]}"
    EXPECTED[command](res, checkout)


def test_readme_python_example(ran: dict, checkout: Path):
    (code,) = [b for b in _blocks("python") if "aios_assets.recall" in b]
    res = _sh(f"{ACTIVATE} && python -c {shlex.quote(code)}", checkout, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    first = res.stdout.splitlines()[:3]
    # Dana asked for the churn dashboard (for the board meeting), in the Harborview thread.
    assert any("Dana Whitfield" in line and "churn dashboard" in line for line in first), first


def test_readme_console_serves_the_demo(ran: dict, checkout: Path):
    port = free_port()
    # As in the README, on a free port rather than 8765 (other tests may hold it).
    proc = subprocess.Popen(["bash", "-c", f"{ACTIVATE} && exec aios console --port {port}"],
                            cwd=checkout, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, page = time.monotonic() + 120, None
        while time.monotonic() < deadline and page is None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/proposals", timeout=10)
                page = r if r.status_code == 200 else None
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            time.sleep(1)
        assert page is not None, "the console did not serve within 120 s"
        assert "triage" in page.text  # the demo's proposals, by agent
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
