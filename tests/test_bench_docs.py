"""benchmarks/README.md lists every step of `make bench` with the command it runs."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "benchmarks" / "README.md"
# tests and benchmarks do not import each other (lint-imports): the steps come from a child
STEPS = ("import json; from benchmarks.run import STEPS; "
         "print(json.dumps([[s.name, s.argv[1:]] for s in STEPS]))")


def test_every_bench_step_is_documented_with_its_command():
    steps = json.loads(subprocess.run([sys.executable, "-c", STEPS], cwd=ROOT, check=True,
                                      capture_output=True, text=True, timeout=120).stdout)
    assert steps
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip()
            for line in README.read_text().splitlines()
            if line.startswith("| ") and line.count("|") >= 5}
    for name, argv in steps:
        assert name in rows, f"benchmarks/README.md has no row for step {name!r}"
        assert rows[name] == f"`python {shlex.join(argv)}`", (name, rows[name])
