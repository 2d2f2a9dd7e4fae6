"""The Postgres outbox: idempotent enqueue, publishing, refusal, retries, reconciliation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from aios_assets.publishing.adapters.base import OutboxAction
from aios_assets.publishing.adapters.http_api import HttpApiAdapter
from aios_assets.publishing.adapters.smtp import SmtpAdapter, message_id
from aios_assets.publishing.outbox import BadAction, Outbox, OutboxConflict
from resources.postgres import PostgresStore
from tests.fault_api_server import Fault, FaultApiServer
from tests.outbox_fixtures import email_action, fresh_database, http_action, note_action
from tests.smtp_sink import SmtpSink


@pytest.fixture
def db(pg_url) -> str:
    return fresh_database(pg_url)


@pytest.fixture
def api():
    with FaultApiServer() as server:
        yield server


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


def adapters(db: str, api: FaultApiServer | None = None, sink: SmtpSink | None = None,
             **kw) -> dict:
    common = {"timeout_s": 0.5, "backoff_initial_s": 0.01, "backoff_max_s": 0.05,
              "postgres_url": db, **kw}
    out = {}
    if api is not None:
        out["http"] = HttpApiAdapter(base_url=api.url, lookup_path="/idempotency/{key}",
                                     **common)
    if sink is not None:
        out["email"] = SmtpAdapter(host="127.0.0.1", port=sink.port, **common)
    return out


def outbox(db: str, **kw) -> Outbox:
    return Outbox(PostgresStore(url=db), retry_base_s=0.05, retry_max_s=0.2, **kw)


def test_enqueue_is_idempotent_by_key(db):
    box = outbox(db)
    batch = [email_action("e1"), http_action("h1"), note_action("n1")]
    assert box.enqueue(batch) == 3
    assert box.enqueue(batch) == 0
    assert box.enqueue([email_action("e1"), email_action("e2")]) == 1
    assert [r.idempotency_key for r in box.rows()] == ["e1", "h1", "n1", "e2"]
    assert {r.status for r in box.rows()} == {"pending"}
    assert box.status("e1").payload["to"] == "dana@acme.io"
    assert box.status("missing") is None
    # The same key for a different action is an error, and the whole batch is rolled back.
    other = OutboxAction("e1", "p-other", "send_email", "email", {"to": "x@y.io"}, "follow_up")
    with pytest.raises(OutboxConflict, match="'e1'"):
        box.enqueue([email_action("e3"), other])
    assert box.status("e3") is None
    for bad in (OutboxAction("", "p", "send_email", "email", {}, "a"),
                OutboxAction("k", "p", "send_email", "email", ["x"], "a"),  # type: ignore[arg-type]
                OutboxAction("k", "p", "send_email", "email", {"at": datetime.now(UTC)}, "a")):
        with pytest.raises(BadAction):
            box.enqueue([bad])
    with pytest.raises(ValueError, match="unknown outbox status"):
        box.rows(status="sent")


def test_publish_delivers_each_action_once(db, api, sink):
    box = outbox(db)
    box.enqueue([email_action("e1"), http_action("h1"), note_action("n1")])
    results = {r.idempotency_key: r for r in box.publish(adapters(db, api, sink))}
    assert {k: r.status for k, r in results.items()} == {
        "e1": "delivered", "h1": "delivered", "n1": "delivered"}
    assert box.status("e1").external_id == message_id("e1")
    assert box.status("h1").external_id == api._results["h1"]["id"]
    assert box.status("h1").delivered_at is not None and box.status("h1").attempts == 1
    assert box.publish(adapters(db, api, sink)) == []  # nothing left to do
    assert api.effects() == {"h1": 1}
    assert [r.message_id for r in sink.received] == [message_id("e1")]
    assert [r.key for r in sink.received] == ["e1"]


def test_refused_capability_is_never_attempted(db, api, sink):
    box = outbox(db)
    box.enqueue([email_action("ok", agent="follow_up"), http_action("no", agent="follow_up"),
                 email_action("rogue", agent="unknown_agent"), note_action("n", agent="x")])
    results = box.publish(adapters(db, api, sink), allowed={"follow_up": {"email"}})
    assert {r.idempotency_key: r.status for r in results} == {
        "ok": "delivered", "no": "refused", "rogue": "refused", "n": "delivered"}
    assert "may not use capability 'http'" in box.status("no").last_error
    assert api.requests == [] and [r.key for r in sink.received] == ["ok"]
    assert box.publish(adapters(db, api, sink)) == []  # refused stays refused


def test_limit_and_missing_adapter(db, api, monkeypatch):
    monkeypatch.delenv("AIOS_SMTP_HOST", raising=False)
    box = outbox(db)
    box.enqueue([http_action(f"h{i}") for i in range(3)] + [email_action("e1")])
    assert len(box.publish(adapters(db, api), limit=2)) == 2
    results = box.publish(adapters(db, api))
    assert {r.idempotency_key: r.status for r in results} == {"h2": "delivered",
                                                               "e1": "pending"}
    assert box.status("e1").error_class == "NoAdapter" and box.status("e1").attempts == 0
    # An adapter without its settings keeps the action pending and says what to set.
    [result] = box.publish({"email": SmtpAdapter(host="", postgres_url=db)})
    assert result.status == "pending" and "AIOS_SMTP_HOST" in result.error
    assert box.status("e1").attempts == 0


def test_failures_are_classified(db, api):
    box = outbox(db, max_attempts=2)
    box.enqueue([http_action("retry"), http_action("flaky"), http_action("doubt"),
                 OutboxAction("bad", "p", "http_request", "http",
                              {"method": "GET", "path": "/x"}, "content")])
    api.fail_key("retry", *[Fault("500")] * 2)
    api.fail_key("flaky", Fault("429", retry_after="0.01"))
    api.fail_key("doubt", Fault("drop_after"))
    ads = adapters(db, api, max_attempts=1)  # one try per publish: the outbox retries
    results = {r.idempotency_key: r for r in box.publish(ads)}
    assert {k: r.status for k, r in results.items()} == {
        "retry": "pending", "flaky": "pending", "doubt": "in_doubt", "bad": "failed_permanent"}
    assert results["retry"].error_class == "HTTP 500"
    assert "method must be one of" in results["bad"].error
    row = box.status("retry")
    assert row.attempts == 1 and row.next_attempt_at > row.updated_at
    # Due again after the backoff: "flaky" succeeds, "retry" fails again and, at
    # max_attempts=2, is given up; nothing stays pending.
    for _ in range(50):
        if not box.rows(status="pending"):
            break
        box.publish(ads)
        threading.Event().wait(0.05)
    assert box.status("flaky").status == "delivered"
    assert box.status("retry").status == "failed_permanent"
    assert box.status("retry").last_error.startswith("gave up after 2 attempts")
    assert api.effects() == {"flaky": 1, "doubt": 1}
    assert len(api.requests_for("retry")) == 2


def test_reconcile_http_in_doubt_by_lookup_and_stale_claims(db, api):
    box = outbox(db)
    box.enqueue([http_action("lost-answer"), http_action("crashed")])
    api.fail_key("lost-answer", Fault("drop_after"))
    ads = adapters(db, api, max_attempts=1)

    class Crash(Exception):
        pass

    def crash_after_claim(step: str, key: str) -> None:
        if step == "claimed" and key == "crashed":
            raise Crash  # the publisher dies between the claim and the adapter call

    with pytest.raises(Crash):
        outbox(db, on_step=crash_after_claim).publish(ads)
    assert box.status("lost-answer").status == "in_doubt"
    assert box.status("crashed").status == "claimed"
    assert box.reconcile(ads, older_than_s=60) == []  # too fresh to be declared stuck
    results = {r.idempotency_key: r.status for r in box.reconcile(ads, older_than_s=0)}
    assert results == {"lost-answer": "delivered", "crashed": "delivered"}
    # The lookup found the lost answer's effect: it was not sent again.
    assert [r.method for r in api.requests_for("lost-answer")] == ["POST", "GET"]
    assert api.effects() == {"lost-answer": 1, "crashed": 1}
    assert box.status("lost-answer").external_id == api._results["lost-answer"]["id"]


def test_reconcile_smtp_resends_with_the_same_message_id(db, sink):
    box = outbox(db)
    box.enqueue([email_action("e-lost"), email_action("e-keep")])
    sink.drop_after_data.update({"e-lost", "e-keep"})
    box.publish(adapters(db, sink=sink))
    assert {r.status for r in box.rows()} == {"in_doubt"}
    # An operator who prefers at-most-once for email leaves it in doubt...
    careful = {"email": adapters(db, sink=sink)["email"].model_copy(
        update={"reconcile_resend": False})}
    box.reconcile(careful, older_than_s=0)
    assert box.status("e-keep").error_class == "NotResent"
    assert box.status("e-keep").status == "in_doubt"
    # ...the default resends it, with the same Message-ID.
    results = box.reconcile(adapters(db, sink=sink), older_than_s=0)
    assert {r.status for r in results} == {"delivered"}
    counts = sink.by_message_id()
    assert counts == {message_id("e-lost"): 2, message_id("e-keep"): 2}
    assert sink.message_ids_by_key() == {"e-lost": {message_id("e-lost")},
                                         "e-keep": {message_id("e-keep")}}


def test_a_slow_publisher_loses_its_claim_to_the_reconciler(db, api):
    box = outbox(db)
    box.enqueue([http_action("slow")])
    ads = adapters(db, api)
    took_over = []

    def reconcile_meanwhile(step: str, key: str) -> None:
        if step == "sent":
            took_over.extend(outbox(db).reconcile(ads, older_than_s=0))

    results = outbox(db, on_step=reconcile_meanwhile).publish(ads)
    assert [r.status for r in took_over] == ["delivered"]
    assert results[0].extra == {"lost_claim": True} and results[0].status == "delivered"
    assert api.effects() == {"slow": 1}  # the reconciler's resend carried the same key
    assert box.status("slow").attempts == 2


def test_concurrent_publishers_claim_each_action_once(db, api):
    keys = [f"c{i}" for i in range(16)]
    outbox(db).enqueue([http_action(k) for k in keys])
    results: list = []
    errors: list = []

    def run() -> None:
        try:
            results.extend(outbox(db).publish(adapters(db, api)))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sorted(r.idempotency_key for r in results) == sorted(keys)
    assert api.effects() == {k: 1 for k in keys}
    assert len(api.requests) == len(keys)
