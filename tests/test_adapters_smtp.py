"""SmtpAdapter against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import logging

import psycopg
import pytest

from aios_assets.publishing.adapters.base import (
    AdapterPermanent,
    AdapterRetryable,
    AdapterUnknown,
    OutboxAction,
)
from aios_assets.publishing.adapters.registry import default_adapters
from aios_assets.publishing.adapters.smtp import SmtpAdapter, message_id
from tests.smtp_sink import SmtpSink, free_port

# Plain AUTH without TLS is fine on loopback; aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def email_action(key: str, to: str = "dana@acme.io", **payload) -> OutboxAction:
    body = {"to": to, "subject": f"Follow-up {key}", "body": "Hello Dana,\nfollowing up.\n"}
    body.update(payload)
    return OutboxAction(idempotency_key=key, proposal_id=f"p-{key}", action_type="send_email",
                        capability="email", payload=body, agent="follow_up", run_id="run-1")


def adapter(port: int, pg_url: str, **kw) -> SmtpAdapter:
    return SmtpAdapter(host="127.0.0.1", port=port, timeout_s=2, backoff_initial_s=0.01,
                       backoff_max_s=0.05, postgres_url=pg_url, **kw)


def calls_for(pg_url: str, key: str) -> list[tuple]:
    with psycopg.connect(pg_url) as con:
        return con.execute(
            """SELECT adapter, capability, outcome, error_class, attempt, external_id
               FROM aios.adapter_calls WHERE idempotency_key = %s ORDER BY called_at""",
            (key,)).fetchall()


def test_delivers_with_deterministic_message_id(pg_url):
    with SmtpSink() as sink:
        receipt = adapter(sink.port, pg_url).send(
            email_action("smtp-1", cc=["ops@acme.io"], in_reply_to="<orig@acme.io>"))
    assert len(sink.received) == 1
    got = sink.received[0]
    assert got.message_id == message_id("smtp-1") == receipt.external_id
    assert message_id("smtp-1") != message_id("smtp-2")
    assert set(got.rcpt_tos) == {"dana@acme.io", "ops@acme.io"}
    assert got.message["Subject"] == "Follow-up smtp-1"
    assert got.message["In-Reply-To"] == "<orig@acme.io>"
    assert "following up" in got.message.get_payload()
    assert receipt.attempts == 1
    assert calls_for(pg_url, "smtp-1") == [
        ("SmtpAdapter", "email", "ok", None, 1, message_id("smtp-1"))]


def test_auth_optional_and_password_never_recorded(pg_url, caplog):
    secret = "s3cret-Passw0rd-xyz"
    caplog.set_level(logging.DEBUG)
    with SmtpSink(user="aios", password=secret) as sink:
        adapter(sink.port, pg_url, user="aios", password=secret).send(email_action("smtp-auth"))
        with pytest.raises(AdapterPermanent, match="login refused"):
            adapter(sink.port, pg_url, user="aios", password="wrong").send(
                email_action("smtp-auth-bad"))
        # Without credentials the server (auth_required) refuses the envelope for good.
        with pytest.raises(AdapterPermanent):
            adapter(sink.port, pg_url).send(email_action("smtp-noauth"))
    assert [r.key for r in sink.received] == ["smtp-auth"]
    assert calls_for(pg_url, "smtp-auth-bad")[0][2:4] == (
        "permanent", "SMTPAuthenticationError 535")
    with psycopg.connect(pg_url) as con:
        dump = str(con.execute("SELECT * FROM aios.adapter_calls").fetchall())
    assert secret not in dump and "wrong" not in dump
    assert secret not in caplog.text
    assert secret not in repr(adapter(1, pg_url, password=secret))


def test_connection_refused_is_retryable_and_retried(pg_url):
    port = free_port()  # nothing listens here
    with pytest.raises(AdapterRetryable):
        adapter(port, pg_url, max_attempts=3).send(email_action("smtp-refused"))
    assert [c[2] for c in calls_for(pg_url, "smtp-refused")] == ["retryable"] * 3


def test_lost_reply_after_data_is_unknown_and_not_resent(pg_url):
    with SmtpSink() as sink:
        sink.drop_after_data.add("smtp-lost")
        with pytest.raises(AdapterUnknown):
            adapter(sink.port, pg_url, max_attempts=4).send(email_action("smtp-lost"))
    # SMTP has no dedupe: an unknown outcome is never retried blindly inside send().
    assert len(sink.received) == 1
    assert [c[2] for c in calls_for(pg_url, "smtp-lost")] == ["unknown"]


def test_bad_payload_is_permanent_and_sends_nothing(pg_url):
    with SmtpSink() as sink:
        a = adapter(sink.port, pg_url)
        for bad in ({"to": None}, {"to": "not-an-address"}, {"subject": 3},
                    {"to": "x@y.z\r\nBcc: evil@x.io"}):
            with pytest.raises(AdapterPermanent, match="payload"):
                a.send(email_action("smtp-bad", **bad))
    assert sink.received == []


def test_default_adapters_from_environment(monkeypatch):
    for var in ("AIOS_SMTP_HOST", "AIOS_WEBHOOK_URL", "AIOS_API_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    assert default_adapters() == {}
    monkeypatch.setenv("AIOS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AIOS_API_BASE_URL", "http://127.0.0.1:9")
    got = default_adapters()
    assert sorted(got) == ["email", "http"]
    assert isinstance(got["email"], SmtpAdapter)


def test_env_configuration_is_read_at_call_time(pg_url, monkeypatch):
    with SmtpSink() as sink:
        monkeypatch.setenv("AIOS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("AIOS_SMTP_PORT", str(sink.port))
        monkeypatch.setenv("AIOS_SMTP_FROM", "owner@example.com")
        SmtpAdapter(postgres_url=pg_url).send(email_action("smtp-env"))
    assert sink.received[0].mail_from == "owner@example.com"


def test_configured_as_a_dagster_resource_with_env_vars(pg_url, monkeypatch):
    import dagster as dg

    secret = "env-only-secret"
    monkeypatch.setenv("TEST_SMTP_PASSWORD", secret)

    @dg.asset
    def sent_note(email: SmtpAdapter) -> str:
        return email.send(email_action("smtp-dagster")).external_id

    with SmtpSink(user="aios", password=secret) as sink:
        result = dg.materialize([sent_note], resources={"email": SmtpAdapter(
            host="127.0.0.1", port=sink.port, user="aios",
            password=dg.EnvVar("TEST_SMTP_PASSWORD"), postgres_url=pg_url)})
    assert result.success
    assert result.output_for_node("sent_note") == message_id("smtp-dagster")
    assert [r.key for r in sink.received] == ["smtp-dagster"]
