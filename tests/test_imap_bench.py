"""``benchmarks/imap_bench.py`` at a small size: a real Dovecot on loopback, the sensor's ticks,
the ingest run, then one arrival-to-recall trial on a warm home. Run as a subprocess, as ``make
bench`` runs it (it points AIOS_HOME at its own homes and starts their embedded Postgres)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from aios_assets.testing import dovecot as dovecot_kit

ROOT = Path(__file__).resolve().parent.parent


def test_small_run_reports_throughput_exactly_once_and_lag(tmp_path: Path) -> None:
    if not dovecot_kit.available():
        if os.environ.get("AIOS_REQUIRE_DOVECOT"):
            raise RuntimeError("dovecot is not installed (apt-get install -y dovecot-imapd)")
        pytest.skip("dovecot is not installed (apt-get install -y dovecot-imapd)")
    out = tmp_path / "imap.json"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AIOS_") and k != "DAGSTER_HOME"}
    # the benchmark's homes in a short private folder: under pytest's long basetemp the
    # embedded Postgres's socket path would pass the 107-byte limit of a Unix socket
    short = Path(tempfile.mkdtemp(prefix="aios-ib-", dir="/tmp"))
    env["TMPDIR"] = str(short)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.imap_bench", "--messages", "200", "--warm", "30",
             "--lag-trials", "1", "--time-limit", "400", "--out", str(out)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    finally:
        shutil.rmtree(short, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    sync = data["sync"]
    fs, ing = sync["fetch_stage"], sync["ingest"]
    assert sync["messages"] == 200
    # the default bounds (200 a tick) with a 90/10 INBOX/Sent split: more than one tick
    assert sync["ticks"] >= 2
    assert fs["messages_per_s"] > 0 and ing["messages_per_s"] > 0
    assert fs["staged_bytes"] >= sync["message_bytes"] > 0
    # every message staged exactly once, and one event each
    assert (fs["staged_messages"], fs["staged_more_than_once"], fs["missing_from_staging"]) \
        == (200, 0, 0)
    assert (ing["email_events"], ing["distinct_message_ids"], ing["files_left_staged"]) \
        == (200, 200, 0)
    assert sync["flagged_seen"] == 0
    lag = data["lag"]
    assert lag["trials"] == 1 and lag["seconds_median"] > 0
    run = lag["runs"][0]
    assert run["seconds"] >= run["tick_s"] + run["ingest_run_s"] + run["memory_run_s"]
    assert "semantic_memory" in lag["automation_assets"]
    assert data["machine"]["loadavg_at_start"]
