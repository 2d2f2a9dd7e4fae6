"""A fork server for the IMAP SIGKILL test: import once, then fork one sensor tick per trial.

Usage: ``python -m tests.imap_crash_child AIOS_HOME CURSOR_FILE PORT USER PASSWORD MAX_MESSAGES
MAX_BYTES`` (10 messages per fetch, so one tick stages several files). Each stdin line is
``DELAY_S``: the server forks a child that evaluates ``imap_inbox_sensor`` (the real sensor, its
real resource, against the real Dovecot) with the cursor in CURSOR_FILE and, when the tick
returns, stores the new cursor there atomically, as the Dagster daemon stores a tick's cursor
when the tick ends. The child is SIGKILLed after DELAY_S seconds (negative: never), or, with
``DELAY_S CPU_S``, as soon as it has run CPU_S seconds on a CPU (``/proc/PID/schedstat``): a
point in the tick's work whatever the machine's load, where a wall-clock delay would drift
with it. The answer is ``killed cpu=C SECONDS`` or ``exited CODE cpu=C SECONDS``, C being the
CPU seconds the child used.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

import dagster as dg

from aios_assets.ingest.imap import ImapMailbox
from resources.postgres import PostgresStore
from sensors.imap import imap_inbox_sensor
from tests.fork_server import fork_trial

NO_PG = PostgresStore(url="postgresql://127.0.0.1:1/unused")


def tick(home: str, cursor_file: Path, mailbox: ImapMailbox) -> None:
    os.environ["AIOS_HOME"] = home
    cursor = cursor_file.read_text() if cursor_file.exists() else None
    ctx = dg.build_sensor_context(cursor=cursor, resources={"imap": mailbox, "postgres": NO_PG})
    imap_inbox_sensor(ctx)
    tmp = cursor_file.with_suffix(".tmp")
    tmp.write_text(ctx.cursor or "")
    os.replace(tmp, cursor_file)


def cpu_s(pid: int) -> float:
    """Seconds ``pid`` has run on a CPU so far (0 once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> None:
    home, cursor_file, port, user, password, max_messages, max_bytes = argv
    mailbox = ImapMailbox(host="127.0.0.1", port=int(port), ssl=False, user=user,
                          password=password, max_messages_per_tick=int(max_messages),
                          max_bytes_per_tick=int(max_bytes), messages_per_fetch=10)
    os.environ["AIOS_HOME"] = home
    warm = dg.build_sensor_context(cursor=None, resources={"imap": ImapMailbox(),
                                                           "postgres": NO_PG})
    assert isinstance(imap_inbox_sensor(warm), dg.SkipReason)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words:
            limit = float(words[1]) if len(words) > 1 else None
            before = children_cpu_s()
            answer = fork_trial(lambda: tick(home, Path(cursor_file), mailbox), float(words[0]),
                                limit_s=120,
                                kill_when=None if limit is None else lambda p: cpu_s(p) >= limit)
            *outcome, seconds = answer.split()
            print(*outcome, f"cpu={children_cpu_s() - before:.4f}", seconds, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
