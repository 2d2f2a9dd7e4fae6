"""A publisher process for the crash tests: publishes the outbox, optionally SIGKILLs itself.

Usage: ``python -m tests.outbox_crash_child DB API_URL SMTP_PORT [STEP NTH]`` - kill this
process (SIGKILL, no cleanup) at the NTH time publishing reaches STEP (``claimed``, ``sent``,
``recorded``). Prints ``ready`` once imports are done, so a parent can time random kills.
"""

from __future__ import annotations

import os
import signal
import sys

from resources.adapters import HttpApiAdapter, SmtpAdapter
from resources.outbox import STEPS, Outbox
from resources.postgres import PostgresStore


def adapters(db: str, api_url: str, smtp_port: int) -> dict:
    common = {"timeout_s": 0.3, "max_attempts": 6, "backoff_initial_s": 0.01,
              "backoff_max_s": 0.05, "retry_after_cap_s": 0.1, "breaker_threshold": 50,
              "postgres_url": db}
    return {"http": HttpApiAdapter(base_url=api_url, lookup_path="/idempotency/{key}",
                                   **common),
            "email": SmtpAdapter(host="127.0.0.1", port=smtp_port, **common)}


def main(argv: list[str]) -> None:
    db, api_url, smtp_port = argv[0], argv[1], int(argv[2])
    step, nth = (argv[3], int(argv[4])) if len(argv) > 4 else (None, 0)
    if step is not None and step not in STEPS:
        raise SystemExit(f"unknown step {step!r}")
    seen = {"n": 0}

    def on_step(name: str, key: str) -> None:
        if name == step:
            seen["n"] += 1
            if seen["n"] == nth:
                print(f"killing at {name} {key}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

    box = Outbox(PostgresStore(url=db), retry_base_s=0.05, retry_max_s=0.2, on_step=on_step)
    ads = adapters(db, api_url, smtp_port)
    box.rows()  # connect and migrate before saying ready
    print("ready", flush=True)
    results = box.publish(ads)
    print(f"done {len(results)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
