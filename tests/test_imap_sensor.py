"""imap_inbox_sensor against a real Dovecot (Debian ``dovecot-imapd``) started on loopback.

Every scenario ends with the same three counts: no message lost (every message in the mailbox
is one event), none duplicated (one event per Message-ID), none flagged ``\\Seen`` by AIOS.
The runs are real ``ingest_job`` runs over the staging folder, as the sensor requests them.
The tests that start Dovecot or fork ticks are ``integration`` (tests/suite_plan.py).
"""

from __future__ import annotations

import base64
import os
import random
import time

import dagster as dg
import duckdb
import pytest

from aios_assets.ingest.imap import (
    ImapMailbox,
    SyncCursor,
    imap_tick,
    mailbox_from_env,
    staged_files,
    uid_set,
)
from aios_assets.shared.home import AiosHome
from aios_assets.testing import dovecot as dovecot_kit
from resources.postgres import PostgresStore
from sensors.imap import imap_inbox_sensor, ingest_request
from tests.fork_server import ForkServerClient

NO_PG = PostgresStore(url="postgresql://127.0.0.1:1/unused")  # fails loudly if ever used


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory):
    """One Dovecot per module and xdist worker (it starts in ~0.1 s, so the module is not
    grouped on one worker); each test has its own user. Without Dovecot only the tests that
    need it are skipped."""
    if not dovecot_kit.available():
        if os.environ.get("AIOS_REQUIRE_DOVECOT"):
            raise RuntimeError("dovecot is not installed (apt-get install -y dovecot-imapd)")
        pytest.skip("dovecot is not installed (apt-get install -y dovecot-imapd)")
    server = dovecot_kit.Dovecot(tmp_path_factory.mktemp("dovecot")).start()
    yield server
    server.stop()


@pytest.fixture
def user(dovecot, request) -> str:
    name = f"u{abs(hash(request.node.name)) % 10**8}"
    dovecot.add_user(name, "pw-" + name)
    return name


def mailbox(dovecot, user: str, password: str | None = None, **settings) -> ImapMailbox:
    return ImapMailbox(host="127.0.0.1", port=dovecot.port, ssl=False, user=user,
                       password=dovecot.users[user] if password is None else password,
                       **settings)


def message(n: int, body: str = "", extra_headers: str = "", tag: str = "m") -> bytes:
    return (f"From: Dana Reyes <dana{n % 7}@acme.io>\r\nTo: op@example.com\r\n"
            f"Subject: message {n}\r\nMessage-ID: <{tag}{n}@acme.io>\r\n"
            f"Date: Mon, 1 Jun 2026 {n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d} +0000"
            f"\r\n{extra_headers}\r\nHello {n}.\r\n{body}\r\n").encode()


def tick(home: AiosHome, box: ImapMailbox, cursor: str | None,
         postgres: PostgresStore = NO_PG) -> tuple[str, list[dg.RunRequest]]:
    ctx = dg.build_sensor_context(cursor=cursor, resources={"imap": box, "postgres": postgres})
    out = imap_inbox_sensor(ctx)
    return ctx.cursor, ([] if isinstance(out, dg.SkipReason) else list(out))


def run_ingest(request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    from aios_assets.definitions import defs

    result = defs.resolve_job_def("ingest_job").execute_in_process(
        run_config=request.run_config, instance=dg.DagsterInstance.get(), raise_on_error=True)
    assert result.success
    return result


def sync_until_idle(home: AiosHome, box: ImapMailbox, cursor: str | None,
                    postgres: PostgresStore = NO_PG, max_ticks: int = 50) -> tuple[str, int]:
    """Tick until a tick fetches nothing, then run what the ticks asked for; (cursor, ticks).

    Every request is a run over the whole staging folder, so one run after the ticks does
    what one run per tick would (each run costs Dagster ~2.5 s here)."""
    asked: list[dg.RunRequest] = []
    for n in range(1, max_ticks + 1):
        cursor, requests = tick(home, box, cursor, postgres)
        asked += requests
        if not requests:
            break
    else:
        raise AssertionError(f"still fetching after {max_ticks} ticks")
    left = staged_files(home.imap_staging)
    if left:
        run_ingest(asked[-1] if asked else
                   ingest_request(home.imap_staging, left, time.time(), fresh=True))
    assert staged_files(home.imap_staging) == []
    return cursor, n


def email_counts(home: AiosHome) -> dict[str, int]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = con.execute("SELECT source_id, count(*) FROM event_log WHERE source = 'email' "
                           "GROUP BY 1").fetchall()
    finally:
        con.close()
    return dict(rows)


def assert_exactly_once(home: AiosHome, expected_ids: set[str]) -> None:
    counts = email_counts(home)
    lost = expected_ids - set(counts)
    duplicated = {k: v for k, v in counts.items() if v > 1}
    assert (len(lost), len(duplicated)) == (0, 0), (sorted(lost)[:5], duplicated)
    assert set(counts) == expected_ids


def assert_none_seen(dovecot, user: str, folders=("INBOX", "Sent")) -> None:
    for folder in folders:
        flags = dovecot.flags(user, folder)
        assert not [uid for uid, f in flags.items() if "\\Seen" in f], folder


def test_uid_set_is_compact():
    assert uid_set([7, 1, 2, 3, 9, 10]) == "1:3,7,9:10"


def test_fresh_home_connects_nowhere(aios_home, monkeypatch):
    for name in ("AIOS_IMAP_HOST", "AIOS_IMAP_USER", "AIOS_IMAP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    from aios_assets.definitions import defs

    sensor = defs.resolve_sensor_def("imap_inbox_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING  # live once configured
    home = AiosHome.from_env()
    ctx = dg.build_sensor_context(cursor=None, resources={"imap": mailbox_from_env(),
                                                          "postgres": NO_PG})
    skip = imap_inbox_sensor(ctx)
    assert isinstance(skip, dg.SkipReason) and "not configured" in skip.skip_message
    assert SyncCursor.load(ctx.cursor).folders == {}
    assert not home.imap_staging.exists()


def test_password_is_an_env_var_masked_in_the_ui(monkeypatch):
    monkeypatch.setenv("AIOS_IMAP_HOST", "imap.example.com")
    monkeypatch.setenv("AIOS_IMAP_USER", "op@example.com")
    monkeypatch.setenv("AIOS_IMAP_PASSWORD", "app-password-123")
    box = mailbox_from_env()
    # What the UI shows is the resource's configured values: the variable's name, not its value.
    shown = box.get_resource_definition().config_schema.as_field().default_value
    assert shown["password"] == {"env": "AIOS_IMAP_PASSWORD"}
    assert "app-password-123" not in repr(shown) and "app-password-123" not in repr(box)
    assert shown["folders"] == ["INBOX", "Sent"] and shown["port"] == 993 and shown["ssl"]


def test_unreachable_server_backs_off_without_raising(aios_home):
    home = AiosHome.from_env()
    box = ImapMailbox(host="127.0.0.1", port=dovecot_kit.free_port(), ssl=False, user="x",
                      password="y", connect_attempts=2, breaker_threshold=2,
                      breaker_reset_s=60)
    slept: list[float] = []
    result = imap_tick(box, SyncCursor(), home.imap_staging, sleep=slept.append)
    assert result.error and "cannot connect" in result.error and slept == [1.0]
    again = imap_tick(box, SyncCursor(), home.imap_staging, sleep=slept.append)
    assert again.error and "breaker open" in again.error  # fails fast: no connection tried
    assert slept == [1.0]


def test_thousand_messages_across_ticks(aios_home, dovecot, user):
    home = AiosHome.from_env()
    box = mailbox(dovecot, user, max_messages_per_tick=150)
    cursor, expected = None, set()
    started = time.monotonic()
    for batch in range(4):  # mail keeps arriving between ticks
        for n in range(batch * 250, (batch + 1) * 250):
            dovecot.deliver(user, message(n))
            expected.add(f"m{n}@acme.io")
        for n in range(batch * 250, batch * 250 + 25):  # sent to self: also filed in Sent
            dovecot.append(user, message(n), "Sent")
        cursor, requests = tick(home, box, cursor)
        assert len(requests) == 1
        run_ingest(requests[0])
    cursor, ticks = sync_until_idle(home, box, cursor)
    assert ticks >= 2  # 1,100 messages at 150 a tick: the bound held
    assert_exactly_once(home, expected)
    assert_none_seen(dovecot, user)
    state = SyncCursor.load(cursor).folders
    assert state["INBOX"].last_uid == 1000 and state["Sent"].last_uid == 100
    assert staged_files(home.imap_staging) == []
    archived = list((home.archive / "imap").rglob("imap-*.mbox"))
    assert 8 <= len(archived) < 30  # one file per fetch, not per message
    assert time.monotonic() - started < 120


def child_cpu(server: ForkServerClient) -> float:
    """CPU seconds the last trial's child used (tests/imap_crash_child.py answers it)."""
    return float(next(w for w in server.last_answer if w.startswith("cpu=")).split("=")[1])


def test_sigkill_mid_fetch_loses_and_doubles_nothing(aios_home, dovecot, user):
    home = AiosHome.from_env()
    filler = "x" * 60_000
    expected: set[str] = set()
    cursor_file = aios_home / "imap-cursor.json"

    def arrive(count: int) -> None:
        for n in range(len(expected), len(expected) + count):
            dovecot.deliver(user, message(n, filler))
            expected.add(f"m{n}@acme.io")

    def last_uid() -> int:
        raw = cursor_file.read_text() if cursor_file.exists() else None
        state = SyncCursor.load(raw).folders.get("INBOX")
        return state.last_uid if state else 0

    arrive(300)
    server = ForkServerClient("tests.imap_crash_child", str(aios_home), str(cursor_file),
                              str(dovecot.port), user, dovecot.users[user], "60", "50000000")
    rng = random.Random(18)
    outcomes: list[str] = []
    try:
        # A whole tick (60 messages in 6 fetches of 10) sets the scale: each kill then lands
        # after a random share of the CPU time a whole tick takes (re-measured on each tick
        # that runs to its end), so at a point of its work whatever the machine's load. The
        # first two thirds are Dagster's sensor evaluation and the login; the fetches and
        # their staged files take the rest, up to the logout.
        outcome, _ = server.trial("-1")
        assert outcome == "exited 0"
        full_cpu = child_cpu(server)
        # Mid-fetch, as the server saw it: the client vanished, without logging out, after it
        # had been sent message bodies (a tick killed after its logout is not counted).
        while len(dovecot.aborted_fetches(user)) < 20 and len(outcomes) < 60:
            if last_uid() > len(expected) - 120:  # mail keeps arriving: a tick has work
                arrive(120)
            outcome, _ = server.trial(f"-1 {rng.uniform(0.68, 0.95) * full_cpu:.4f}")
            if outcome != "killed":
                full_cpu = child_cpu(server)
            outcomes.append(outcome)
            if len(outcomes) % 5 == 0:  # the runs the sensor asked for happen between ticks
                request = ingest_request(home.imap_staging, staged_files(home.imap_staging),
                                         time.time(), fresh=True)
                if request is not None:
                    run_ingest(request)
            time.sleep(0.02)  # the server logs the vanished client
        aborted = dovecot.aborted_fetches(user)
        print(f"{len(outcomes)} trials, {outcomes.count('killed')} killed, {len(aborted)} "
              f"mid-fetch with {aborted} bodies sent, {len(expected)} messages")
        assert len(aborted) >= 20 and outcomes.count("killed") >= 20, (outcomes, aborted)
        for _ in range(len(expected) // 60 + 2):  # then ticks run to their end
            outcome, _ = server.trial("-1")
            assert outcome == "exited 0", (outcome, last_uid(), len(expected))
            if last_uid() == len(expected):
                break
        run_ingest(ingest_request(home.imap_staging, staged_files(home.imap_staging),
                                  time.time(), fresh=True))
    finally:
        server.close()
    assert not list(home.imap_staging.glob(".*.tmp"))
    assert_exactly_once(home, expected)
    assert_none_seen(dovecot, user, ("INBOX",))
    assert last_uid() == len(expected)


def test_uidvalidity_change_resyncs_without_duplicates(aios_home, dovecot, user):
    home = AiosHome.from_env()
    box = mailbox(dovecot, user, max_messages_per_tick=20)
    expected = set()
    for n in range(30):
        dovecot.deliver(user, message(n))
        expected.add(f"m{n}@acme.io")
    cursor, _ = sync_until_idle(home, box, None)
    before = SyncCursor.load(cursor).folders["INBOX"]
    assert before.last_uid == 30

    dovecot.rebuild_uids(user)
    for n in range(30, 35):
        dovecot.deliver(user, message(n))
        expected.add(f"m{n}@acme.io")
    assert dovecot.status(user)["UIDVALIDITY"] != before.uidvalidity
    cursor, _ = sync_until_idle(home, box, cursor)
    after = SyncCursor.load(cursor).folders["INBOX"]
    assert after.uidvalidity != before.uidvalidity and after.last_uid == 35
    assert_exactly_once(home, expected)
    assert_none_seen(dovecot, user)


def test_message_deleted_between_listing_and_fetch(aios_home, dovecot, user):
    home = AiosHome.from_env()
    box = mailbox(dovecot, user)
    for n in range(10):
        dovecot.deliver(user, message(n))
    deleted: list[int] = []

    def delete_one(folder: str, uids: list[int]) -> None:
        if folder == "INBOX" and not deleted:
            deleted.append(uids[4])
            dovecot.expunge(user, [uids[4]])  # another client deletes it for good

    result = imap_tick(box, SyncCursor(), home.imap_staging, after_list=delete_one)
    inbox = result.folders[0]
    assert (inbox.listed, inbox.fetched, inbox.vanished) == (10, 9, 1)
    assert result.cursor.folders["INBOX"].last_uid == 10  # gone for good: not asked again
    cursor, _ = sync_until_idle(home, box, result.cursor.dump())
    assert_exactly_once(home, {f"m{n}@acme.io" for n in range(10) if n != 4})
    assert_none_seen(dovecot, user)


def test_large_attachment(aios_home, dovecot, user):
    home = AiosHome.from_env()
    box = mailbox(dovecot, user, max_bytes_per_tick=5_000_000)
    payload = base64.encodebytes(os.urandom(25_000_000)).replace(b"\n", b"\r\n")
    big = (b"From: Dana Reyes <dana@acme.io>\r\nTo: op@example.com\r\nSubject: contract\r\n"
           b"Message-ID: <big@acme.io>\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BOUND\r\n\r\n"
           b"--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSigned contract attached."
           b"\r\n--BOUND\r\nContent-Type: application/pdf; name=contract.pdf\r\n"
           b"Content-Disposition: attachment; filename=contract.pdf\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + payload + b"--BOUND--\r\n")
    dovecot.deliver(user, message(1))
    dovecot.deliver(user, big)
    dovecot.deliver(user, message(2))
    first = imap_tick(box, SyncCursor(), home.imap_staging)
    assert first.folders[0].fetched == 1 and first.folders[0].more  # the bound held
    second = imap_tick(box, first.cursor, home.imap_staging)
    assert second.folders[0].fetched == 1 and second.folders[0].bytes > 25_000_000
    cursor, _ = sync_until_idle(home, box, second.cursor.dump())
    assert_exactly_once(home, {"m1@acme.io", "big@acme.io", "m2@acme.io"})
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        text, attachments = con.execute(
            "SELECT text, payload->>'$.attachments' FROM event_log "
            "WHERE source_id = 'big@acme.io'").fetchone()
    finally:
        con.close()
    assert text == "Signed contract attached." and "contract.pdf" in attachments
    assert_none_seen(dovecot, user)


def test_bad_credentials_open_one_incident(aios_home, dovecot, user, pg_url):
    import psycopg

    home = AiosHome.from_env()
    pg = PostgresStore(url=pg_url)
    dovecot.deliver(user, message(1))
    wrong = mailbox(dovecot, user, "not-the-password", auth_retry_s=0)
    cursor = None
    for _ in range(3):  # repeated ticks: one incident, no exception, nothing fetched
        cursor, requests = tick(home, wrong, cursor, pg)
        assert requests == []
    incident_id = SyncCursor.load(cursor).incident_id
    assert incident_id and user in incident_id and "not-the-password" not in cursor
    with psycopg.connect(pg_url) as con:
        rows = con.execute(
            "SELECT cause, status, error_message FROM aios.incidents WHERE job_name = %s "
            "AND incident_id LIKE %s", ("imap_inbox_sensor", f"%{user}@%")).fetchall()
    assert len(rows) == 1 and rows[0][:2] == ("imap_auth", "open")
    assert "not-the-password" not in rows[0][2] and "login refused" in rows[0][2]

    cursor, _ = sync_until_idle(home, mailbox(dovecot, user), cursor, pg)  # password fixed
    assert SyncCursor.load(cursor).incident_id is None
    with psycopg.connect(pg_url) as con:
        status = con.execute("SELECT status FROM aios.incidents WHERE incident_id = %s",
                             (incident_id,)).fetchone()[0]
    assert status == "resolved"
    assert_exactly_once(home, {"m1@acme.io"})
    assert_none_seen(dovecot, user)


def test_login_backs_off_after_refusal(aios_home, dovecot, user):
    home = AiosHome.from_env()
    wrong = mailbox(dovecot, user, "nope", auth_retry_s=900)
    first = imap_tick(wrong, SyncCursor(), home.imap_staging, now=1000.0)
    assert first.auth_failed
    later = imap_tick(wrong, first.cursor, home.imap_staging, now=1500.0)
    assert later.skipped and "next try in 400s" in later.skipped and not later.auth_failed
    retried = imap_tick(wrong, first.cursor, home.imap_staging, now=1901.0)
    assert retried.auth_failed
    assert retried.cursor.auth_failed_since == first.cursor.auth_failed_since  # one episode


def test_staged_file_waits_for_a_retry_run(tmp_path):
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "imap-a.mbox").write_bytes(b"From x Mon Jun  1 10:00:00 2026\n" + message(1))
    now = time.time()
    assert ingest_request(stage, staged_files(stage), now, fresh=True).run_key.startswith("imap:")
    assert ingest_request(stage, staged_files(stage), now, fresh=False) is None
    later = ingest_request(stage, staged_files(stage), now + 601, fresh=False)
    assert later is not None
    assert later.run_config["ops"]["ingest_files"]["config"]["paths"] == [str(stage)]


def test_sensor_is_defined_with_its_resource():
    from aios_assets.definitions import defs

    sensor = defs.resolve_sensor_def("imap_inbox_sensor")
    assert sensor.job_name == "ingest_job"
    assert {"imap", "postgres"} <= set(sensor.required_resource_keys)
    assert isinstance(defs.resources["imap"], ImapMailbox)
