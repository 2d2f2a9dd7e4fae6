"""Fork servers for the SIGKILL crash tests: import once, then fork one child per kill trial.

Forking after the imports makes a trial cost the work itself, not Python's start-up. The server
side (:func:`fork_trial`) runs in ``tests/*_crash_child.py``; the test side drives it through
:class:`ForkServerClient` (one stdin line per trial, one answer line back).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from tests.conftest import ROOT


def fork_trial(work: Callable[[], None], delay_s: float, limit_s: float | None = None,
               kill_when: Callable[[int], bool] | None = None) -> str:
    """Run ``work`` in a forked child, SIGKILL it after ``delay_s`` (negative: never, or after
    ``limit_s`` when given) or as soon as ``kill_when(pid)`` holds (polled every 2 ms), reap
    it; ``killed SECONDS`` or ``exited CODE SECONDS``."""
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: work, then leave without running the server's cleanup
        code = 0
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported through the exit code
            print(f"child error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            code = 1
        os._exit(code)
    limit = delay_s if delay_s >= 0 else limit_s
    if limit is None and kill_when is None:
        _, status = os.waitpid(pid, 0)
    else:
        deadline = started + (limit if limit is not None else float("inf"))
        done = 0
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done or (kill_when is not None and kill_when(pid)):
                break
            time.sleep(0.002)
        if not done:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
    elapsed = time.monotonic() - started
    if os.WIFSIGNALED(status):
        return f"killed {elapsed:.4f}"
    return f"exited {os.WEXITSTATUS(status)} {elapsed:.4f}"


class ForkServerClient:
    """Starts ``python -m MODULE ARGS...`` (a fork server) and waits for its ``ready``."""

    def __init__(self, module: str, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        self.last_answer: list[str] = []  # the last trial's answer, word by word

    def trial(self, line: str) -> tuple[str, float]:
        """Send one trial; ``("killed", s)`` or ``("exited CODE", s)``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().split()
        assert answer, "the fork server died"
        self.last_answer = answer
        outcome = answer[0] if answer[0] == "killed" else f"exited {answer[1]}"
        return outcome, float(answer[-1])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
