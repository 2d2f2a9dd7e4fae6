"""Approved actions through the real outbox while the services misbehave.

Real parts only, on loopback: the embedded Postgres (outbox and ``aios.adapter_calls``), the
fault-injecting API server as the HTTP API (dedupes by Idempotency-Key, answers lookups) and as
a webhook receiver that dedupes by the key the webhook adapter sends, and aiosmtpd.

* 30% faults: every HTTP and webhook request has a 30% chance of a 429 with Retry-After, a 500,
  a slow answer past the client's timeout (the effect happens), a reset before or a reset
  after the effect; 30% of the emails lose their connection after DATA (the server has the
  message, the client never hears back). Publish/reconcile rounds run until everything is
  settled: every action took effect exactly once (server effect count by key; one Message-ID
  per email), none is lost, every outbox row is delivered, and ``aios.adapter_calls`` shows each
  request the services saw, faults and retries included.
* Sustained failure: the API answers 503 to everything. The breaker opens; while it is open
  calls fail fast with ``CircuitOpen`` and the server sees no request; after the cool-down one
  trial call goes through (and re-opens it while the API is still down). When the API recovers
  and the cool-down passes, the outbox delivers everything, once.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import dict_row

from aios_assets.publishing.adapters.base import CapabilityAdapter, OutboxAction
from aios_assets.publishing.adapters.http_api import HttpApiAdapter
from aios_assets.publishing.adapters.smtp import SmtpAdapter, message_id
from aios_assets.publishing.adapters.webhook import WebhookAdapter
from aios_assets.publishing.outbox import Outbox, OutboxResult
from resources.postgres import PostgresStore
from tests.fault_api_server import FAULT_KINDS, FaultApiServer
from tests.outbox_fixtures import email_action, fresh_database, http_action
from tests.smtp_sink import SmtpSink

FAULT_RATE = 0.3
HTTP_ACTIONS, WEBHOOK_ACTIONS, EMAIL_ACTIONS = 30, 30, 10
MAX_ROUNDS = 80
TIME_LIMIT_S = 60
TIMEOUT_S = 0.25  # per attempt; the servers' slow answers come after 0.5 s
HOOK_PATH = "/hooks/T000/B000"
# Outcomes of calls that reached the service (circuit_open calls never do).
REACHED = ("ok", "retryable", "permanent", "unknown")


def webhook_action(key: str, agent: str = "brief") -> OutboxAction:
    return OutboxAction(key, f"p-{key}", "notify_webhook", "webhook",
                        {"text": f"Daily brief {key}"}, agent, "run-1")


def quick(**kw: object) -> dict[str, object]:
    """Adapter settings for loopback: short timeouts and backoff, the call log in ``db``."""
    return {"timeout_s": TIMEOUT_S, "max_attempts": 2, "backoff_initial_s": 0.01,
            "backoff_max_s": 0.05, "retry_after_cap_s": 0.2, **kw}


def outbox(db: str) -> Outbox:
    return Outbox(PostgresStore(url=db), retry_base_s=0.05, retry_max_s=0.25)


def calls(db: str) -> list[dict]:
    with psycopg.connect(db) as con, con.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM aios.adapter_calls ORDER BY called_at").fetchall()


def settle(box: Outbox, ads: dict[str, CapabilityAdapter], seen: Counter) -> int:
    """Reconcile (in-doubt rows) + publish rounds until every row is delivered; the rounds."""
    started = time.monotonic()
    for n in range(1, MAX_ROUNDS + 1):
        results: list[OutboxResult] = box.reconcile(ads, older_than_s=0) + box.publish(ads)
        seen.update(r.status for r in results)
        if all(r.status == "delivered" for r in box.rows()):
            return n
        assert time.monotonic() - started < TIME_LIMIT_S, Counter(r.status for r in box.rows())
        time.sleep(0.05)
    raise AssertionError(f"not settled after {MAX_ROUNDS} rounds: "
                         f"{Counter(r.status for r in box.rows())}")


@pytest.fixture
def db(pg_url: str) -> str:
    return fresh_database(pg_url, "faults")


@pytest.fixture
def services() -> Iterator[tuple[FaultApiServer, FaultApiServer, SmtpSink]]:
    with FaultApiServer(fault_rate=FAULT_RATE, seed=7, retry_after="0.05", slow_s=0.5) as api, \
            FaultApiServer(fault_rate=FAULT_RATE, seed=8, retry_after="0.05", slow_s=0.5,
                           lookup=False) as hook, SmtpSink() as sink:
        yield api, hook, sink


def assert_call_log_matches_server(log: list[dict], server: FaultApiServer,
                                   keys: set[str]) -> None:
    """Every request the server saw is one adapter_calls row with the matching outcome."""
    for key in keys:
        mine = [c for c in log if c["idempotency_key"] == key]
        wire = server.requests_for(key)
        sends = [c for c in mine if c["operation"] == "send" and c["outcome"] in REACHED]
        posts = [r for r in wire if r.method == "POST"]
        assert len(sends) == len(posts), (key, [c["outcome"] for c in sends], posts)
        assert sum(c["outcome"] == "ok" for c in sends) == sum(r.fault is None for r in posts)
        lookups = [c for c in mine if c["operation"] == "lookup"]
        assert len(lookups) == sum(r.method == "GET" for r in wire), key
        # 429s carry the server's Retry-After into the log.
        for c in sends:
            if c["status_code"] == 429:
                assert c["retry_after_s"] == pytest.approx(0.05), c


def test_thirty_percent_faults_every_action_delivered_once(db, services):
    api, hook, sink = services
    box = outbox(db)
    actions = ([http_action(f"h{i}") for i in range(HTTP_ACTIONS)]
               + [webhook_action(f"w{i}") for i in range(WEBHOOK_ACTIONS)]
               + [email_action(f"e{i}") for i in range(EMAIL_ACTIONS)])
    random.Random(3).shuffle(actions)
    keys = {cap: {a.idempotency_key for a in actions if a.capability == cap}
            for cap in ("http", "webhook", "email")}
    dropped = set(random.Random(4).sample(sorted(keys["email"]),
                                          round(FAULT_RATE * EMAIL_ACTIONS)))
    sink.drop_after_data.update(dropped)  # stored, then the connection dies before the 250
    assert box.enqueue(actions) == len(actions)
    ads: dict[str, CapabilityAdapter] = {
        "http": HttpApiAdapter(base_url=api.url, lookup_path="/idempotency/{key}",
                               **quick(postgres_url=db)),
        "webhook": WebhookAdapter(url=hook.url + HOOK_PATH, **quick(postgres_url=db)),
        "email": SmtpAdapter(host="127.0.0.1", port=sink.port, **quick(postgres_url=db)),
    }
    seen: Counter = Counter()
    started = time.monotonic()
    rounds = settle(box, ads, seen)
    elapsed = time.monotonic() - started

    # None lost, all delivered.
    rows = {r.idempotency_key: r for r in box.rows()}
    assert set(rows) == {a.idempotency_key for a in actions}
    assert {r.status for r in rows.values()} == {"delivered"}
    # Exactly once: one effect per key on the API and on the webhook receiver...
    assert api.effects() == {k: 1 for k in keys["http"]}
    assert hook.effects() == {k: 1 for k in keys["webhook"]}
    assert sorted(body["ref"] for _, body in api.effect_log) == sorted(keys["http"])
    assert sorted(body["text"] for _, body in hook.effect_log) == sorted(
        f"Daily brief {k}" for k in keys["webhook"])
    for key in keys["http"]:
        assert rows[key].external_id == api._results[key]["id"]
    # ... and one Message-ID per email; the lost answers to DATA cost a second transmission
    # of the same message, nothing else.
    assert sink.message_ids_by_key() == {k: {message_id(k)} for k in keys["email"]}
    assert sink.by_message_id() == {message_id(k): 1 + (k in dropped) for k in keys["email"]}

    # The faults really happened, of every kind, on both HTTP services.
    for server in (api, hook):
        kinds = Counter(r.fault for r in server.requests if r.fault is not None)
        assert set(kinds) == set(FAULT_KINDS), kinds
        faulted = sum(kinds.values()) / sum(r.method == "POST" for r in server.requests)
        assert 0.15 < faulted < 0.45, (kinds, faulted)
    # Unknown outcomes on the webhook (no dedupe on the adapter's side) went in doubt and were
    # settled by reconciliation; the receiver's dedupe by key made the resend harmless.
    assert seen["in_doubt"] >= 1 and seen["delivered"] >= len(actions), seen
    # Retryable failures that outlasted an adapter's own retries went back to pending and
    # were published again once due (the outbox's retry, next_attempt_at).
    assert seen["pending"] >= 1, seen
    resent = [k for k in keys["webhook"] if len(hook.requests_for(k)) > 1
              and any(r.fault in ("slow", "drop_after") for r in hook.requests_for(k))]
    assert resent, "no webhook was resent after an unknown outcome"

    # The call log: every request either server saw, with its outcome; the retries are there.
    log = calls(db)
    assert_call_log_matches_server(log, api, keys["http"])
    assert_call_log_matches_server(log, hook, keys["webhook"])
    outcomes = Counter((c["capability"], c["outcome"]) for c in log)
    for cap in ("http", "webhook"):
        assert outcomes[(cap, "retryable")] >= 1 and outcomes[(cap, "unknown")] >= 1, outcomes
    assert outcomes[("email", "unknown")] == len(dropped), outcomes
    assert {c["status_code"] for c in log if c["outcome"] == "retryable"} >= {429, 500}
    retried = {c["idempotency_key"] for c in log if c["attempt"] > 1}  # tenacity, inside send
    assert len(retried & keys["http"]) >= 3, retried
    assert all(rows[k].attempts >= 2 for k in dropped)  # sent, in doubt, reconciled
    # HTTP actions whose outcome stayed unknown were settled by asking the API about the key.
    lookups = {c["idempotency_key"] for c in log if c["operation"] == "lookup"}
    assert lookups and lookups <= keys["http"], lookups
    print(f"settled in {rounds} rounds, {elapsed:.1f}s: {len(log)} adapter calls "
          f"{dict(outcomes)}; statuses seen {dict(seen)}")


def test_breaker_opens_under_sustained_failure_and_recovers(db):
    reset_s = 2.5  # the cool-down; the "while open" phase below keeps well inside it
    with FaultApiServer(retry_after="0.05") as api:
        adapter = HttpApiAdapter(base_url=api.url, lookup_path="/idempotency/{key}",
                                 **quick(postgres_url=db, max_attempts=2, breaker_threshold=3,
                                         breaker_reset_s=reset_s))
        ads: dict[str, CapabilityAdapter] = {"http": adapter}
        box = outbox(db)
        actions = [http_action(f"b{i}") for i in range(6)]
        box.enqueue(actions)
        api.down = True  # every request: 503

        # Sustained failure: the breaker opens after 3 consecutive failures.
        for _ in range(20):
            results = box.publish(ads)
            if adapter.breaker.state == "open":
                break
            time.sleep(0.05)
        assert adapter.breaker.state == "open"
        opened = time.monotonic()
        reached = api.count()
        assert reached == 3, [r.path for r in api.requests]
        assert any(r.error_class == "CircuitOpen" for r in results), results
        attempts = {r.idempotency_key: r.attempts for r in box.rows()}

        # While open: publishing goes on, every call fails fast, the server sees nothing.
        short_circuited = 0
        while time.monotonic() < opened + reset_s / 3:
            for r in box.publish(ads):
                assert (r.status, r.error_class) == ("pending", "CircuitOpen"), r
                assert r.error is not None and r.error.startswith("circuit open for")
                short_circuited += 1
            time.sleep(0.05)
        assert api.count() == reached
        assert short_circuited >= len(actions), short_circuited
        # Short-circuited calls are not attempts: nothing moved towards failed_permanent.
        assert {r.idempotency_key: r.attempts for r in box.rows()} == attempts
        assert {r.status for r in box.rows()} == {"pending"}

        # After the cool-down one trial call goes through; the API is still down: open again.
        deadline = time.monotonic() + reset_s + 5
        while api.count() == reached and time.monotonic() < deadline:
            box.publish(ads)
            time.sleep(0.05)
        assert api.count() == reached + 1
        assert adapter.breaker.state == "open"

        # The API recovers; after the cool-down everything is delivered, once.
        api.down = False
        deadline = time.monotonic() + reset_s + 5
        while adapter.breaker.state == "open" and time.monotonic() < deadline:
            time.sleep(0.05)
        seen: Counter = Counter()
        settle(box, ads, seen)
        assert adapter.breaker.state == "closed"
        assert {r.status for r in box.rows()} == {"delivered"}
        assert api.effects() == {a.idempotency_key: 1 for a in actions}
        assert sorted(body["ref"] for _, body in api.effect_log) == sorted(
            a.idempotency_key for a in actions)

    log = calls(db)
    outcomes = Counter(c["outcome"] for c in log)
    # Every call that reached the server is logged; the short-circuited ones are logged as
    # circuit_open, cost nothing and carry no status.
    assert sum(outcomes[o] for o in REACHED) == api.count()
    assert outcomes["retryable"] == reached + 1
    assert outcomes["ok"] == len(actions)
    assert outcomes["circuit_open"] >= short_circuited
    assert all(c["status_code"] is None and c["cost_usd"] == 0
               for c in log if c["outcome"] == "circuit_open")
    assert {c["status_code"] for c in log if c["outcome"] == "retryable"} == {503}
