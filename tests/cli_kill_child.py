"""A fork server for the kill-anywhere test: import the ``aios`` CLI once, fork one per trial.

Usage: ``python -m tests.cli_kill_child``. Each stdin line is ``DELAY_S ARG...``: the server
forks a child that runs the real CLI (``aios ARG...``: the Dagster run in this home's instance,
its ``warehouse`` pool slot, the warehouse writes), SIGKILLs it after ``DELAY_S`` seconds
(negative: never, at most 120 s) and answers ``killed SECONDS`` or ``exited CODE SECONDS``.
Forking after the imports makes a trial cost the CLI's work, not Python's start-up (~8 s here)
nor the first-use imports of a run (~1 s).
"""

from __future__ import annotations

import sys

import dagster as dg
import typer

from aios_assets.cli import app
from aios_assets.entities.dbt_manifest import ensure_dbt_manifest
from tests.fork_server import fork_trial

LIMIT_S = 120.0


def _cli(args: list[str]) -> None:
    # Without standalone mode, click returns the exit code of a typer.Exit: keep it (a failed
    # run must not pass for a finished one).
    try:
        code = app(args, standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    if code:
        raise SystemExit(code)


def main() -> None:
    ensure_dbt_manifest()
    # The children inherit the loaded definitions, and what every run imports on first use
    # (the instance's storage, pandas for the ingest): with small files a trial then costs the
    # CLI's own work, not the imports (they were half of a plain trial).
    import pandas  # noqa: F401

    import aios_assets.definitions  # noqa: F401
    import aios_assets.runs  # noqa: F401

    dg.DagsterInstance.get().dispose()  # imports the storage modules; the children open anew

    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if parts:
            print(fork_trial(lambda args=parts[1:]: _cli(args), float(parts[0]), LIMIT_S),
                  flush=True)


if __name__ == "__main__":
    main()
