"""SIGKILL a publishing process at each step of publishing; restart + reconcile; exactly once.

Real parts only: a child Python process publishes through the real adapters to the
fault-injecting API server (20% faults) and to aiosmtpd on loopback, with state in the embedded
Postgres; the child is killed with SIGKILL (no cleanup, no finally blocks) at an exact step or
at a random moment. Afterwards a fresh Outbox (the restart) reconciles and publishes until
nothing is left. Exactly once means: every HTTP action took effect once on the server (effect
count by Idempotency-Key) and every email reached the SMTP server under exactly one Message-ID
(transmissions of a message carry the same Message-ID; see docs/adapters.md).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pytest

from resources.adapters.smtp import message_id
from resources.outbox import Outbox
from resources.postgres import PostgresStore
from tests.conftest import ROOT
from tests.fault_api_server import FaultApiServer
from tests.outbox_crash_child import adapters
from tests.outbox_fixtures import email_action, fresh_database, http_action
from tests.smtp_sink import SmtpSink

CHILD_TIMEOUT_S = 60


@pytest.fixture
def world(pg_url):
    db = fresh_database(pg_url, "crash")
    with FaultApiServer(fault_rate=0.2, seed=11, slow_s=0.5, retry_after="0.02") as api, \
            SmtpSink() as sink:
        yield db, api, sink


def batch(tag: str, n: int) -> list:
    """n emails and n HTTP actions, interleaved (publishing order: e0, h0, e1, h1, ...)."""
    out = []
    for i in range(n):
        out += [email_action(f"{tag}-e{i}"), http_action(f"{tag}-h{i}")]
    return out


def child(db: str, api: FaultApiServer, sink: SmtpSink, *kill: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.outbox_crash_child", db, api.url, str(sink.port), *kill],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def settle(db: str, api: FaultApiServer, sink: SmtpSink) -> Outbox:
    """The restart: a new Outbox reconciles what the dead process left, then publishes."""
    box = Outbox(PostgresStore(url=db), retry_base_s=0.05, retry_max_s=0.2)
    ads = adapters(db, api.url, sink.port)
    for _ in range(40):
        box.reconcile(ads, older_than_s=0)
        box.publish(ads)
        if all(r.status == "delivered" for r in box.rows()):
            break
        time.sleep(0.1)
    return box


def assert_exactly_once(box: Outbox, actions: list, api: FaultApiServer,
                        sink: SmtpSink) -> None:
    rows = {r.idempotency_key: r for r in box.rows()}
    assert {k: r.status for k, r in rows.items()} == {a.idempotency_key: "delivered"
                                                       for a in actions}
    http_keys = {a.idempotency_key for a in actions if a.capability == "http"}
    email_keys = {a.idempotency_key for a in actions if a.capability == "email"}
    # HTTP: one effect per key, nothing else took effect.
    assert api.effects() == {k: 1 for k in http_keys}
    assert sorted(body["ref"] for _, body in api.effect_log) == sorted(http_keys)
    # SMTP: every email arrived, each under exactly one Message-ID, no other message.
    assert sink.message_ids_by_key() == {k: {message_id(k)} for k in email_keys}
    assert set(sink.by_message_id()) == {message_id(k) for k in email_keys}
    for key in http_keys:
        assert rows[key].external_id == api._results[key]["id"]
    for key in email_keys:
        assert rows[key].external_id == message_id(key)


@pytest.mark.parametrize(("step", "nth"), [
    ("claimed", 4),   # an HTTP action claimed, adapter never called
    ("sent", 3),      # an email handed to the SMTP server, outcome not recorded
    ("sent", 4),      # an HTTP effect done, outcome not recorded
    ("recorded", 3),  # an email recorded, the rest of the batch not started
])
def test_sigkill_at_each_step_then_reconcile(world, step, nth):
    db, api, sink = world
    actions = batch(f"{step}{nth}", 3)
    box = Outbox(PostgresStore(url=db))
    box.enqueue(actions)
    proc = child(db, api, sink, step, str(nth))
    out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    assert proc.returncode == -signal.SIGKILL, (out, err)
    victim = actions[nth - 1].idempotency_key
    assert f"killing at {step} {victim}" in out
    # What the dead process left behind, before any recovery.
    left = box.status(victim)
    if step == "recorded":
        assert left.status == "delivered"
    else:
        assert left.status == "claimed"
    if step == "sent" and victim.split("-")[-1].startswith("h"):
        assert api.effects()[victim] == 1
    if step == "claimed":
        assert api.requests_for(victim) == []
    assert {r.status for r in box.rows()[nth:]} == {"pending"}
    assert_exactly_once(settle(db, api, sink), actions, api, sink)


def test_sigkill_at_random_moments_then_reconcile(world):
    db, api, sink = world
    actions = batch("rand", 6)
    box = Outbox(PostgresStore(url=db))
    box.enqueue(actions)
    rng = random.Random(5)
    killed = 0
    interrupted = 0  # kills that left work behind (claimed or pending), before any recovery
    for _ in range(3):
        proc = child(db, api, sink)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=CHILD_TIMEOUT_S)
        killed += proc.returncode == -signal.SIGKILL
        interrupted += {r.status for r in box.rows()} != {"delivered"}
        # Each restart first reconciles what its predecessor left in flight.
        Outbox(PostgresStore(url=db)).reconcile(adapters(db, api.url, sink.port),
                                                older_than_s=0)
    assert killed >= 2  # most kills landed mid-publish...
    assert interrupted >= 1  # ...and at least one left work for the restart
    assert_exactly_once(settle(db, api, sink), actions, api, sink)
