"""HttpApiAdapter and WebhookAdapter against the fault-injecting API server on loopback."""

from __future__ import annotations

import time

import psycopg
import pytest

from aios_assets.publishing.adapters.base import (
    AdapterPermanent,
    AdapterRetryable,
    AdapterUnknown,
    CircuitBreaker,
    CircuitOpen,
    OutboxAction,
)
from aios_assets.publishing.adapters.http_api import HttpApiAdapter
from aios_assets.publishing.adapters.webhook import WebhookAdapter
from aios_assets.shared.http import parse_retry_after
from aios_assets.shared.limits import TokenBucket
from tests.fault_api_server import Fault, FaultApiServer


def http_action(key: str, ref: str | None = None) -> OutboxAction:
    return OutboxAction(idempotency_key=key, proposal_id=f"p-{key}", action_type="http_request",
                        capability="http", agent="content",
                        payload={"method": "POST", "path": "/v1/subscribers",
                                 "json": {"email": "dana@acme.io", "ref": ref or key}})


def api(server: FaultApiServer, pg_url: str, **kw) -> HttpApiAdapter:
    settings = {"timeout_s": 0.3, "max_attempts": 10, "backoff_initial_s": 0.01,
                "backoff_max_s": 0.05, "breaker_threshold": 50, "postgres_url": pg_url}
    settings.update(kw)
    return HttpApiAdapter(base_url=server.url, **settings)


def test_thirty_percent_faults_every_action_takes_effect_exactly_once(pg_url):
    n = 40
    with FaultApiServer(fault_rate=0.3, seed=7, slow_s=0.6, retry_after="0.02") as server:
        adapter = api(server, pg_url, token="tok-abc123-secret")
        receipts = {f"fx-{i}": adapter.send(http_action(f"fx-{i}")) for i in range(n)}
        effects = server.effects()
        faults = {k: server.count(fault=k) for k in ("429", "500", "slow", "drop", "drop_after")}
    # Every kind of fault was exercised, and every action took effect exactly once.
    assert all(faults.values()), faults
    assert sum(faults.values()) >= 0.15 * len(server.requests)
    assert effects == {f"fx-{i}": 1 for i in range(n)}
    assert sorted(body["ref"] for _, body in server.effect_log) == sorted(receipts)
    # The receipt's external id is the service's id of that single effect (also on replays).
    first = {k: r for k, r in server._results.items()}
    assert all(receipts[k].external_id == first[k]["id"] for k in receipts)
    assert sum(r.attempts for r in receipts.values()) == len(server.requests)
    with psycopg.connect(pg_url) as con:
        rows = con.execute(
            """SELECT outcome, count(*) FROM aios.adapter_calls
               WHERE idempotency_key LIKE 'fx-%%' GROUP BY outcome""").fetchall()
        dump = str(con.execute("SELECT * FROM aios.adapter_calls").fetchall())
    outcomes = dict(rows)
    assert outcomes["ok"] == n
    assert outcomes.get("unknown", 0) >= 1 and outcomes.get("retryable", 0) >= 1
    assert sum(outcomes.values()) == len(server.requests)
    assert "tok-abc123-secret" not in dump


def test_retry_after_is_honoured(pg_url):
    with FaultApiServer() as server:
        server.fail_key("ra-1", Fault("429", retry_after="0.6"))
        adapter = api(server, pg_url)
        adapter.send(http_action("ra-1"))
        seen = server.requests_for("ra-1")
    assert [s.fault for s in seen] == ["429", None]
    # The backoff alone would wait ~0.01-0.05 s; the server asked for 0.6 s.
    assert seen[1].at - seen[0].at >= 0.55


def test_retry_after_http_date_is_parsed():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7)), now) == 7.0
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_breaker_opens_under_sustained_failure_and_recovers(pg_url):
    with FaultApiServer() as server:
        adapter = api(server, pg_url, max_attempts=2, breaker_threshold=4, breaker_reset_s=0.4)
        server.down = True
        errors = []
        for i in range(6):
            with pytest.raises(AdapterRetryable) as info:
                adapter.send(http_action(f"br-{i}"))
            errors.append(info.value)
        # 4 consecutive failures (2 sends x 2 attempts) open it; later calls never reach it.
        assert len(server.requests) == 4
        assert all(isinstance(e, CircuitOpen) for e in errors[2:])
        assert adapter.breaker.state == "open"
        # Half-open after the cool-down: one trial; failing re-opens it at once.
        time.sleep(0.45)
        assert adapter.breaker.state == "half_open"
        with pytest.raises(AdapterRetryable):
            adapter.send(http_action("br-trial-1"))
        assert len(server.requests) == 5 and adapter.breaker.state == "open"
        # The service comes back: the next trial succeeds and closes the breaker.
        server.down = False
        time.sleep(0.45)
        adapter.send(http_action("br-ok"))
        assert adapter.breaker.state == "closed"
        adapter.send(http_action("br-ok-2"))
        assert server.effects() == {"br-ok": 1, "br-ok-2": 1}
    with psycopg.connect(pg_url) as con:
        opened = con.execute("""SELECT count(*) FROM aios.adapter_calls
                                WHERE idempotency_key LIKE 'br-%%'
                                  AND outcome = 'circuit_open'""").fetchone()[0]
    assert opened == 5  # br-2..br-5, and the trial's retry after it re-opened


def test_breaker_unit_half_open_admits_one_trial():
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, reset_s=10, clock=lambda: now[0])
    breaker.failure()
    breaker.before_call()
    breaker.failure()
    with pytest.raises(CircuitOpen) as info:
        breaker.before_call()
    assert info.value.retry_after_s == 10
    now[0] = 10.0
    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # only one trial at a time
    breaker.success()
    assert breaker.state == "closed"


def test_rate_limit_spaces_calls(pg_url):
    bucket = TokenBucket(rate=10, burst=2, clock=lambda: 0.0)
    assert [round(bucket.reserve(), 3) for _ in range(4)] == [0.0, 0.0, 0.1, 0.2]
    with FaultApiServer() as server:
        adapter = api(server, pg_url, rate_per_s=20, rate_burst=1)
        started = time.monotonic()
        for i in range(6):
            adapter.send(http_action(f"rl-{i}"))
        elapsed = time.monotonic() - started
    assert elapsed >= 5 / 20 * 0.9  # 1 token at once, then 20 per second


def test_permanent_errors_are_not_retried(pg_url):
    with FaultApiServer(require_token="right-token") as server:
        adapter = api(server, pg_url, token="wrong-token")
        with pytest.raises(AdapterPermanent, match="HTTP 401") as info:
            adapter.send(http_action("perm-1"))
        assert "wrong-token" not in str(info.value)
        assert len(server.requests) == 1
        with pytest.raises(AdapterPermanent, match="path"):
            adapter.send(OutboxAction("perm-2", "p", "http_request", "http",
                                      {"method": "POST", "path": "http://evil/x"}, "content"))
        assert len(server.requests) == 1
        # The token travels as a bearer header, the key as Idempotency-Key.
        api(server, pg_url, token="right-token").send(http_action("perm-3"))
        assert server.requests_for("perm-3")[0].authorization == "Bearer right-token"


def test_lookup_finds_an_effect_whose_answer_was_lost(pg_url):
    with FaultApiServer() as server:
        adapter = api(server, pg_url, max_attempts=1, lookup_path="/idempotency/{key}")
        server.fail_key("lk-1", Fault("drop_after"))
        with pytest.raises(AdapterUnknown):
            adapter.send(http_action("lk-1"))
        receipt = adapter.reconcile(http_action("lk-1"))
        assert receipt is not None and receipt.external_id == server._results["lk-1"]["id"]
        # Lookup said "done": nothing was sent again.
        assert [r.method for r in server.requests_for("lk-1")] == ["POST", "GET"]
        # A key that never took effect: lookup says 404, reconcile sends it.
        assert adapter.reconcile(http_action("lk-2")).external_id
        assert server.effects() == {"lk-1": 1, "lk-2": 1}


def test_webhook_posts_slack_json_and_does_not_resend_unknown(pg_url):
    with FaultApiServer(dedupe=False) as server:
        hook = WebhookAdapter(url=server.url + "/services/T000/B000/XXXX", timeout_s=0.3,
                              backoff_initial_s=0.01, postgres_url=pg_url)
        hook.send(OutboxAction("wh-1", "p1", "notify_webhook", "webhook",
                               {"text": "Invoice 42 is overdue", "blocks": []}, "billing"))
        assert server.effect_log[-1] == ("wh-1", {"text": "Invoice 42 is overdue",
                                                  "blocks": []})
        server.fail_key("wh-2", Fault("500"))
        hook.send(OutboxAction("wh-2", "p2", "notify_webhook", "webhook", {"text": "hi"},
                               "brief"))
        server.fail_key("wh-3", Fault("drop_after"))
        with pytest.raises(AdapterUnknown):
            hook.send(OutboxAction("wh-3", "p3", "notify_webhook", "webhook", {"text": "x"},
                                   "brief"))
        assert server.effects() == {"wh-1": 1, "wh-2": 1, "wh-3": 1}
        with pytest.raises(AdapterPermanent, match="text"):
            hook.send(OutboxAction("wh-4", "p4", "notify_webhook", "webhook", {}, "brief"))
    assert "XXXX" not in hook.describe()
