"""A crash in native code under ``aios`` prints every thread's Python stack (faulthandler on a
copy of stderr), and ``aios`` still starts when it has no stderr at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_segfault_prints_the_python_stack() -> None:
    code = ("import ctypes, sys\n"
            "from aios_assets import cli\n"
            "@cli.app.command('boom')\n"
            "def boom() -> None:\n"
            "    ctypes.string_at(0)  # a NULL read: SIGSEGV in native code\n"
            "sys.argv = ['aios', 'boom']\n"
            "cli.main()\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == -11, proc.stderr[-2000:]
    assert "Fatal Python error: Segmentation fault" in proc.stderr
    assert 'line 5 in boom' in proc.stderr  # the Python frame that crashed


def test_aios_starts_without_a_stderr() -> None:
    proc = subprocess.run(["sh", "-c", f'"{sys.executable}" -m aios_assets.cli --help 2>&-'],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "ingest" in proc.stdout
