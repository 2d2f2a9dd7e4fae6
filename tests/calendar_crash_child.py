"""A publisher process for the calendar crash tests (tests/test_calendar_adapter.py).

``python -m tests.calendar_crash_child DB [STEP NTH]``: publish the outbox once through the
CalDAV adapter configured by ``$AIOS_CALDAV_URL`` / ``_USER`` / ``_PASSWORD`` (the password
comes from the environment only); SIGKILL this process (no cleanup) at the NTH time publishing
reaches STEP (``claimed``, ``sent``, ``recorded``). Without STEP it publishes until killed from
outside (the in-flight test kills it while its PUT is held by the proxy). Prints ``ready`` once
imports and migrations are done.
"""

from __future__ import annotations

import sys

from aios_assets.publishing.adapters.base import CapabilityAdapter, ensure_adapter_schema
from aios_assets.publishing.adapters.caldav import CalDavAdapter
from aios_assets.publishing.outbox import Outbox
from resources.postgres import PostgresStore
from tests.outbox_crash_child import kill_at


def adapters(db: str) -> dict[str, CapabilityAdapter]:
    return {"calendar": CalDavAdapter(timeout_s=10.0, max_attempts=3, backoff_initial_s=0.01,
                                      backoff_max_s=0.05, breaker_threshold=50,
                                      postgres_url=db)}


def outbox(db: str, **kwargs: object) -> Outbox:
    return Outbox(PostgresStore(url=db), retry_base_s=0.05, retry_max_s=0.2, **kwargs)


def main(argv: list[str]) -> None:
    db = argv[0]
    step, nth = (argv[1], int(argv[2])) if len(argv) > 2 else (None, 0)
    box = outbox(db, on_step=kill_at(step, nth))
    box.rows()  # connect and migrate before saying ready
    ensure_adapter_schema(db)
    print("ready", flush=True)
    results = box.publish(adapters(db))
    print(f"done {len(results)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
