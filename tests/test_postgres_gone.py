"""Killing the embedded Postgres: a run that needed it says so in one line, and the next command
just works (issue 15, "nothing wedges").

A home with its own embedded server (no ``AIOS_POSTGRES_URL``). Mid-run, the whole server is
SIGKILLed (the postmaster named in the home's ``postmaster.pid``, then its children) while the
run streams rows into it (``semantic_memory``'s ``COPY``): ``aios ingest`` exits 1 within a bound
with one short ``error:`` line naming Postgres and what to run, even though a later step of the
same run may have restarted the server on demand. Between commands, a SIGKILLed postmaster is
simply restarted by the next command.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import duckdb
import psutil
import psycopg
import pytest

from tests.conftest import AIOS, ROOT, run_aios

EVENTS = 3_000  # enough chunk rows that the COPY into Postgres lasts long enough to be caught
RUN_BOUND_S = 900.0  # a whole materializing ingest on a loaded 2-core machine
EXIT_AFTER_KILL_S = 180.0  # the rest of the run (later steps, the CLI's report) after the kill


@pytest.fixture
def home(aios_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new home with its own embedded Postgres, already running (as after earlier commands)."""
    from aios_assets.shared.home import AiosHome
    from resources.postgres import embedded_url

    monkeypatch.setenv("AIOS_POSTGRES_URL", "")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.delenv("AIOS_LLM_BASE_URL", raising=False)
    embedded_url(AiosHome.from_env(aios_home))
    return aios_home


def write_chat(path: Path, n: int = EVENTS) -> Path:
    # Few distinct texts: the offline embedder embeds each content hash once, so the run
    # reaches its Postgres writes quickly while every event still has its own chunk row.
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({
                "source": "chat", "source_id": f"m{i}", "kind": "chat_message",
                "occurred_at": "2026-03-01T10:00:00Z", "actor": "Dana", "thread": f"t{i % 40}",
                "text": f"note {i % 30} about the March invoice"}) + "\n")
    return path


def postmaster(home: Path) -> psutil.Process:
    pid = int((home / "pg" / "postmaster.pid").read_text().split()[0])
    return psutil.Process(pid)


def kill_server(pm: psutil.Process) -> None:
    """SIGKILL the postmaster, then the children it leaves (backends, writers)."""
    children = pm.children(recursive=True)
    for proc in [pm, *children]:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs([pm, *children], timeout=30)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_intact(home: Path, n: int = EVENTS) -> None:
    """Every event once in the event log; Postgres holds the chunks the DuckDB mirror holds."""
    from aios_assets.shared.home import AiosHome
    from resources.postgres import embedded_url

    con = duckdb.connect(str(home / "warehouse.read.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT source_id) FROM event_log"
                           ).fetchone() == (n, n)
        chunks = con.execute("SELECT count(*) FROM semantic_chunks").fetchone()[0]
    finally:
        con.close()
    assert chunks >= n
    with psycopg.connect(embedded_url(AiosHome.from_env(home))) as pg:
        assert pg.execute("SELECT count(*) FROM aios.semantic_chunks").fetchone()[0] == chunks


def busy(title: str) -> bool:
    """A backend of the run's database inside a statement or a transaction: its client will
    certainly use the connection again (an idle connection may just be closing)."""
    return " aios " in title and not title.rstrip().endswith(" idle")


@pytest.mark.parametrize("moment", ["copy", "later"])
def test_postgres_killed_mid_run_one_line_then_next_ingest_works(home: Path, tmp_path: Path,
                                                                 moment: str):
    """``copy``: during semantic_memory's COPY (nothing later in the run needs Postgres once it
    failed). ``later``: at the next busy backend after it, a step whose failure leaves later
    steps to start the server again on demand, so it is running when the run ends."""
    path = write_chat(tmp_path / "chat.jsonl")
    pm = postmaster(home)
    # AIOS_PROGRESS=0: no stage lines, so stderr holds what the user sees of the failure
    env = {**os.environ, "AIOS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           "AIOS_PROGRESS": "0"}
    proc = subprocess.Popen([*AIOS, "ingest", str(path), "--materialize"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    caught = ""
    copied = closed = False
    try:
        while not caught and proc.poll() is None:
            assert time.monotonic() - started < RUN_BOUND_S, "no Postgres write seen"
            titles = []
            for child in pm.children():
                try:
                    titles.append(" ".join(child.cmdline()))
                except psutil.Error:
                    continue
            copying = [t for t in titles if " aios " in t and "COPY" in t]
            copied = copied or bool(copying)
            # "later": semantic_memory has closed its connection since its COPY
            closed = closed or (copied and not any(" aios " in t for t in titles))
            hit = copying if moment == "copy" else [t for t in titles if closed and busy(t)]
            if hit:
                kill_server(pm)
                caught = hit[0].strip()
            else:
                time.sleep(0.005)
        assert caught, f"the run ended before writing Postgres: {proc.returncode}"
        killed_at = time.monotonic()
        _, err = proc.communicate(timeout=EXIT_AFTER_KILL_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    took = time.monotonic() - killed_at
    stderr = err.splitlines()
    print(f"killed at {caught!r}; exited {proc.returncode} {took:.1f}s later:\n{err}")
    assert proc.returncode == 1, (proc.returncode, err)
    assert took < EXIT_AFTER_KILL_S
    # One error line, the last one: it names Postgres and says what to run; no traceback.
    errors = error_lines(err)
    assert len(errors) == 1 and stderr[-1] == errors[0], err
    assert "Postgres" in errors[0] and "stopped during the run" in errors[0], errors[0]
    assert "`aios pg status`" in errors[0] and "re-run `aios ingest`" in errors[0], errors[0]
    assert "Traceback" not in err and len(stderr) <= 6, err
    # The next ingest restarts the server (if the run did not already) and finishes the job.
    again = run_aios("ingest", str(path), "--materialize", home=home, timeout=RUN_BOUND_S)
    assert again.returncode == 0, again.stderr
    assert error_lines(again.stderr) == []
    assert_intact(home)


def test_postgres_killed_between_commands_next_command_just_works(home: Path, tmp_path: Path):
    path = write_chat(tmp_path / "chat.jsonl", 200)
    pm = postmaster(home)
    pm.kill()  # the postmaster only: its children go on their own, the pid file stays
    pm.wait(timeout=30)
    status = run_aios("pg", "status", home=home, timeout=120)
    assert status.returncode == 0 and "embedded server stopped" in status.stdout, status
    done = run_aios("ingest", str(path), "--materialize", home=home, timeout=RUN_BOUND_S)
    assert done.returncode == 0, done.stderr
    assert error_lines(done.stderr) == []
    assert postmaster(home).pid != pm.pid
    status = run_aios("pg", "status", home=home, timeout=120)
    assert "embedded server running" in status.stdout, status
    # This process had the killed server's URL cached: it notices, and finds the new server.
    from aios_assets.shared.home import AiosHome
    from resources.postgres import went_away

    assert not went_away(AiosHome.from_env(home))
    assert_intact(home, 200)
    assert went_away(AiosHome.from_env(home))
