"""SmtpAdapter's IMAP lookup: exactly-once email when the SMTP outcome is unknown.

Real parts on loopback: aiosmtpd (``SmtpSink``) files every accepted message into the "Sent"
folder of an ``ImapMailbox``, which a small IMAP4rev1 server (``tests/imap_server.py``) serves to
the adapter's stdlib ``imaplib`` client; the outbox runs on the session's embedded Postgres.
"""

from __future__ import annotations

import logging

import psycopg
import pytest

from aios_assets.publishing.adapters.base import AdapterNotConfigured
from aios_assets.publishing.adapters.smtp import SmtpAdapter, message_id
from tests.imap_server import ImapMailbox, ImapServer
from tests.outbox_fixtures import email_action, fresh_database
from tests.smtp_sink import SmtpSink, free_port
from tests.test_outbox import adapters, outbox

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def db(pg_url) -> str:
    return fresh_database(pg_url, "smtp_lookup")

IMAP_PASSWORD = "imap-Secr3t-pw"


class Crash(Exception):
    """Stands in for SIGKILL at an outbox step: the row is left ``claimed``."""


@pytest.fixture
def mail():
    """SMTP sink + IMAP server sharing one mailbox: what SMTP accepts appears in "Sent"."""
    mailbox = ImapMailbox()
    with SmtpSink(copy_to=mailbox) as sink, \
            ImapServer(mailbox, user="aios", password=IMAP_PASSWORD) as imap:
        yield sink, imap


def imap_settings(port: int, password: str = IMAP_PASSWORD, **kw) -> dict:
    return {"imap_host": "127.0.0.1", "imap_port": port, "imap_ssl": False,
            "imap_user": "aios", "imap_password": password, **kw}


def email_adapter(db_url: str, sink: SmtpSink, **kw) -> SmtpAdapter:
    return adapters(db_url, sink=sink, **kw)["email"]


def lookups(db_url: str) -> list[tuple]:
    with psycopg.connect(db_url) as con:
        return con.execute(
            """SELECT idempotency_key, outcome, error_class, external_id
               FROM aios.adapter_calls WHERE operation = 'lookup' ORDER BY called_at""").fetchall()


def test_lookup_finds_what_was_sent_and_not_what_was_not(db, mail):
    sink, imap = mail
    ad = email_adapter(db, sink, **imap_settings(imap.port))
    assert ad.supports_lookup()
    ad.send(email_action("sent-1"))
    found = ad.lookup(email_action("sent-1"))
    assert found is not None and found.external_id == message_id("sent-1")
    assert ad.lookup(email_action("never-sent")) is None
    # Read-only: the folder is EXAMINEd, searched by UID and nothing else is asked.
    assert set(imap.names()) == {"CAPABILITY", "LOGIN", "EXAMINE", "UID", "LOGOUT"}
    assert ("UID", ("SEARCH", "HEADER", "Message-ID", message_id("never-sent"))) \
        in imap.commands
    assert ("LOGIN", ("aios",)) in imap.commands
    assert len(sink.received) == 1  # looking up sends nothing


def test_imap_defaults_to_smtp_credentials_and_reads_the_environment(db, monkeypatch):
    mailbox = ImapMailbox(sent="Sent Items")
    with SmtpSink(user="owner", password="shared-pw", copy_to=mailbox) as sink, \
            ImapServer(mailbox, user="owner", password="shared-pw") as imap:
        monkeypatch.setenv("AIOS_IMAP_HOST", "127.0.0.1")
        monkeypatch.setenv("AIOS_IMAP_PORT", str(imap.port))
        monkeypatch.setenv("AIOS_IMAP_SSL", "0")
        monkeypatch.setenv("AIOS_IMAP_FOLDER", "Sent Items")  # quoted on the wire
        ad = email_adapter(db, sink, user="owner", password="shared-pw")
        ad.send(email_action("env-1"))
        assert ad.lookup(email_action("env-1")).external_id == message_id("env-1")
    assert ("EXAMINE", ("Sent Items",)) in imap.commands
    for var in ("AIOS_IMAP_PORT", "AIOS_IMAP_SSL"):
        monkeypatch.delenv(var)
    assert SmtpAdapter()._imap_port() == 993
    assert SmtpAdapter(imap_ssl=False)._imap_port() == 143
    monkeypatch.delenv("AIOS_IMAP_HOST")
    assert not SmtpAdapter().supports_lookup()
    with pytest.raises(AdapterNotConfigured, match="AIOS_IMAP_HOST"):
        SmtpAdapter().lookup(email_action("x"))


def test_unknown_outcomes_settled_without_a_second_transmission(db, mail):
    sink, imap = mail

    def crash(step: str, key: str) -> None:
        if (step, key) in {("sent", "crashed"), ("claimed", "never")}:
            raise Crash(f"{step} {key}")

    box = outbox(db, on_step=crash)
    box.enqueue([email_action("lost"), email_action("crashed"), email_action("never")])
    sink.drop_after_data.add("lost")  # accepted, then the connection drops before the 250
    plain = adapters(db, sink=sink)  # the publisher that "crashed" had no IMAP (not needed)
    for _ in range(5):  # bounded: each publish stops at the next simulated crash
        try:
            box.publish(plain)
            break
        except Crash:
            continue
    assert {r.idempotency_key: r.status for r in box.rows()} == {
        "lost": "in_doubt", "crashed": "claimed", "never": "claimed"}
    assert sink.by_message_id() == {message_id("lost"): 1, message_id("crashed"): 1}

    results = outbox(db).reconcile(adapters(db, sink=sink, **imap_settings(imap.port)),
                                   older_than_s=0)
    assert {r.idempotency_key: (r.status, r.external_id) for r in results} == {
        k: ("delivered", message_id(k)) for k in ("lost", "crashed", "never")}
    # Exactly once on the wire: the two that reached the server were found, not resent; the
    # one that never left was sent now, once.
    assert sink.by_message_id() == {message_id(k): 1 for k in ("lost", "crashed", "never")}
    assert sorted((k, o, x) for k, o, _, x in lookups(db)) == [
        ("crashed", "ok", message_id("crashed")), ("lost", "ok", message_id("lost")),
        ("never", "ok", None)]
    assert outbox(db).reconcile(adapters(db, sink=sink, **imap_settings(imap.port)),
                                older_than_s=0) == []
    assert box.publish(plain) == []
    assert len(sink.received) == 3

    # Control: without IMAP the same situation is resent under the same Message-ID.
    sink.drop_after_data.add("control")
    box.enqueue([email_action("control")])
    box.publish(plain)
    [res] = outbox(db).reconcile(plain, older_than_s=0)
    assert res.status == "delivered" and sink.by_message_id()[message_id("control")] == 2


def test_imap_down_keeps_it_in_doubt_and_never_resends(db, mail):
    sink, imap = mail
    box = outbox(db)
    box.enqueue([email_action("doubt")])
    sink.drop_after_data.add("doubt")
    ad = email_adapter(db, sink, breaker_threshold=2, **imap_settings(free_port()))
    [first] = box.publish({"email": ad})
    assert first.status == "in_doubt"
    for _ in range(2):  # IMAP unreachable (and then its breaker open): still in doubt
        [res] = box.reconcile({"email": ad}, older_than_s=0)
        assert res.status == "in_doubt" and "IMAP" in res.error, res
        assert "not resent" in res.error
    assert ad._imap_breaker is not None and ad._imap_breaker.state == "open"
    assert box.publish({"email": ad}) == []  # in_doubt is not pending: nothing resends it
    assert sink.by_message_id() == {message_id("doubt"): 1}
    # The IMAP breaker is not the SMTP one: sending goes on while IMAP is down.
    box.enqueue([email_action("meanwhile")])
    assert [r.status for r in box.publish({"email": ad})] == ["delivered"]
    # A folder that does not exist: also in doubt (a setup error, not a reason to resend).
    [res] = box.reconcile({"email": email_adapter(
        db, sink, **imap_settings(imap.port, imap_folder="Nope"))}, older_than_s=0)
    assert res.status == "in_doubt" and "AIOS_IMAP_FOLDER" in res.error
    # IMAP back: the next reconciliation finds it, still without a second transmission.
    [res] = box.reconcile({"email": email_adapter(db, sink, **imap_settings(imap.port))},
                          older_than_s=0)
    assert (res.status, res.external_id) == ("delivered", message_id("doubt"))
    assert sink.by_message_id() == {message_id("doubt"): 1, message_id("meanwhile"): 1}


def test_wrong_imap_password_is_clear_and_not_leaked(db, mail, caplog):
    sink, imap = mail
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-imap-pw-123"
    box = outbox(db)
    box.enqueue([email_action("pw")])
    sink.drop_after_data.add("pw")
    box.publish(adapters(db, sink=sink))
    ad = email_adapter(db, sink, max_attempts=3, **imap_settings(imap.port, password=wrong))
    [res] = box.reconcile({"email": ad}, older_than_s=0)
    assert res.status == "in_doubt"
    assert "AIOS_IMAP_PASSWORD" in res.error and "login refused" in res.error
    assert res.error_class == "ImapLoginRefused"
    assert imap.names().count("LOGIN") == 1  # a refused login is not retried
    assert sink.by_message_id() == {message_id("pw"): 1}
    with psycopg.connect(db) as con:
        dump = str(con.execute("SELECT * FROM aios.adapter_calls").fetchall())
        dump += str(con.execute("SELECT * FROM aios.outbox").fetchall())
    for secret in (wrong, IMAP_PASSWORD):
        assert secret not in dump and secret not in caplog.text
        assert secret not in str(imap.commands)
    assert wrong not in repr(ad)
