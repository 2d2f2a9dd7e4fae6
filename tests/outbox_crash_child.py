"""A publisher process for the outbox crash tests: one run, or a fork server for many.

* ``python -m tests.outbox_crash_child DB API_URL SMTP_PORT [STEP NTH]``: publish the outbox
  once; SIGKILL this process (no cleanup) at the NTH time publishing reaches STEP
  (``claimed``, ``sent``, ``recorded``). Prints ``ready`` once imports are done.
* ``python -m tests.outbox_crash_child serve DB API_URL SMTP_PORT``: a fork server. It imports
  and migrates once, prints ``ready``, then for each stdin line ``DELAY_S`` forks one
  publisher - the restart of the previous one: ``reconcile(older_than_s=0)`` settles what its
  killed predecessor left claimed or in doubt, then ``publish`` - SIGKILLs it after ``DELAY_S``
  seconds (negative: never), reaps it and answers ``killed SECONDS`` or ``exited CODE
  SECONDS``. Forking after the imports makes a kill trial cost the publishing itself, not
  Python's start-up. The server opens no connection it keeps and builds no adapter (no
  pooled socket is inherited): each child connects and builds its adapters itself.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

from aios_assets.publishing.adapters.base import CapabilityAdapter, ensure_adapter_schema
from aios_assets.publishing.adapters.http_api import HttpApiAdapter
from aios_assets.publishing.adapters.smtp import SmtpAdapter
from aios_assets.publishing.outbox import STEPS, Outbox
from resources.postgres import PostgresStore
from tests.fork_server import fork_trial

CHILD_LIMIT_S = 60.0  # a child that neither finishes nor is killed by then is killed anyway


def adapters(db: str, api_url: str, smtp_port: int) -> dict[str, CapabilityAdapter]:
    common = {"timeout_s": 0.3, "max_attempts": 6, "backoff_initial_s": 0.01,
              "backoff_max_s": 0.05, "retry_after_cap_s": 0.1, "breaker_threshold": 50,
              "postgres_url": db}
    return {"http": HttpApiAdapter(base_url=api_url, lookup_path="/idempotency/{key}",
                                   **common),
            "email": SmtpAdapter(host="127.0.0.1", port=smtp_port, **common)}


def outbox(db: str, **kwargs: object) -> Outbox:
    return Outbox(PostgresStore(url=db), retry_base_s=0.05, retry_max_s=0.2, **kwargs)


def restart(db: str, api_url: str, smtp_port: int) -> None:
    """What a restarted publisher does: settle its predecessor's leftovers, then publish."""
    box = outbox(db)
    ads = adapters(db, api_url, smtp_port)
    box.reconcile(ads, older_than_s=0)
    box.publish(ads)


def trial(db: str, api_url: str, smtp_port: int, delay_s: float) -> str:
    return fork_trial(lambda: restart(db, api_url, smtp_port), delay_s, CHILD_LIMIT_S)


def serve(db: str, api_url: str, smtp_port: int) -> None:
    outbox(db).rows()  # migrate the outbox (the connection is closed again)
    ensure_adapter_schema(db)  # and the call log, so children skip both
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip():
            print(trial(db, api_url, smtp_port, float(line)), flush=True)


def kill_at(step: str | None, nth: int) -> Callable[[str, str], None]:
    """The outbox's ``on_step`` hook that SIGKILLs this process (no cleanup) the NTH time
    publishing reaches STEP; with STEP None it never fires."""
    if step is not None and step not in STEPS:
        raise SystemExit(f"unknown step {step!r}")
    seen = {"n": 0}

    def on_step(name: str, key: str) -> None:
        if name == step:
            seen["n"] += 1
            if seen["n"] == nth:
                print(f"killing at {name} {key}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

    return on_step


def main(argv: list[str]) -> None:
    if argv and argv[0] == "serve":
        serve(argv[1], argv[2], int(argv[3]))
        return
    db, api_url, smtp_port = argv[0], argv[1], int(argv[2])
    step, nth = (argv[3], int(argv[4])) if len(argv) > 4 else (None, 0)
    box = outbox(db, on_step=kill_at(step, nth))
    ads = adapters(db, api_url, smtp_port)
    box.rows()  # connect and migrate before saying ready
    print("ready", flush=True)
    results = box.publish(ads)
    print(f"done {len(results)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
