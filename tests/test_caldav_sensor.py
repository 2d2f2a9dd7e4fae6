"""caldav_calendar_sensor against a real Radicale CalDAV server started on loopback.

Events are created, changed, cancelled and deleted on the server with the ``caldav`` library
between sensor ticks; the ticks' runs are real ``ingest_job`` runs over the staging folder, as
the sensor requests them. Every scenario checks the event log: one current version per UID,
a version per change, a cancelled version per cancel or delete, and no duplicate version
(two rows with the same content) after any resync. The tests that start Radicale are
``integration`` (tests/suite_plan.py).
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import caldav
import dagster as dg
import duckdb
import pytest

from aios_assets.ingest.caldav import (
    CalDavCalendar,
    SyncCursor,
    caldav_tick,
    calendar_from_env,
    cancelled,
    staged_files,
)
from aios_assets.shared.home import AiosHome
from aios_assets.testing import radicale as radicale_kit
from resources.postgres import PostgresStore
from sensors.caldav import caldav_calendar_sensor, ingest_request

NO_PG = PostgresStore(url="postgresql://127.0.0.1:1/unused")  # fails loudly if ever used


@pytest.fixture
def user(radicale, request) -> str:
    name = f"u{abs(hash(request.node.name)) % 10**8}"
    radicale.add_user(name, "pw-" + name)
    return name


def account(radicale, user: str, password: str | None = None, **settings) -> CalDavCalendar:
    settings.setdefault("url", radicale.url)
    return CalDavCalendar(user=user,
                          password=radicale.users[user] if password is None else password,
                          **settings)


def make_calendar(radicale, user: str, name: str = "Work") -> caldav.Calendar:
    client = caldav.DAVClient(url=radicale.url, username=user, password=radicale.users[user])
    return client.principal().make_calendar(name=name, cal_id=name.lower())


def vevent(uid: str, summary: str, hour: int = 10, status: str | None = None,
           extra: str = "") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//aios test//EN", "BEGIN:VEVENT",
             f"UID:{uid}", "DTSTAMP:20260601T000000Z", f"DTSTART:20260610T{hour:02d}0000Z",
             f"DTEND:20260610T{hour + 1:02d}0000Z", f"SUMMARY:{summary}",
             "ORGANIZER;CN=Dana Reyes:mailto:dana@acme.io",
             "ATTENDEE;CN=Op:mailto:op@example.com"]
    if status:
        lines.append(f"STATUS:{status}")
    if extra:
        lines.append(extra)
    return "\r\n".join([*lines, "END:VEVENT", "END:VCALENDAR", ""])


def tick(box: CalDavCalendar, cursor: str | None,
         postgres: PostgresStore = NO_PG) -> tuple[str, list[dg.RunRequest]]:
    ctx = dg.build_sensor_context(cursor=cursor, resources={"caldav": box, "postgres": postgres})
    out = caldav_calendar_sensor(ctx)
    return ctx.cursor, ([] if isinstance(out, dg.SkipReason) else list(out))


def run_ingest(request: dg.RunRequest) -> None:
    from aios_assets.definitions import defs

    result = defs.resolve_job_def("ingest_job").execute_in_process(
        run_config=request.run_config, instance=dg.DagsterInstance.get(), raise_on_error=True)
    assert result.success


def sync(home: AiosHome, box: CalDavCalendar, cursor: str | None,
         postgres: PostgresStore = NO_PG, max_ticks: int = 20) -> tuple[str, int]:
    """Tick until a tick stages nothing, then one ingest run; (cursor, ticks)."""
    asked: list[dg.RunRequest] = []
    for n in range(1, max_ticks + 1):
        cursor, requests = tick(box, cursor, postgres)
        asked += requests
        if not requests:
            break
    else:
        raise AssertionError(f"still syncing after {max_ticks} ticks")
    left = staged_files(home.caldav_staging)
    if left:
        run_ingest(asked[-1] if asked else
                   ingest_request(home.caldav_staging, left, time.time(), fresh=True))
    assert staged_files(home.caldav_staging) == []
    return cursor, n


def versions(home: AiosHome) -> dict[str, list[tuple[str | None, str | None]]]:
    """Per source_id, its versions in order as (subject, payload status)."""
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = con.execute("SELECT source_id, subject, payload->>'status' FROM event_log "
                           "WHERE source = 'calendar' AND kind = 'meeting' "
                           "ORDER BY source_id, version").fetchall()
    finally:
        con.close()
    out: dict[str, list[tuple[str | None, str | None]]] = {}
    for source_id, subject, status in rows:
        out.setdefault(source_id, []).append((subject, status))
    return out


def current(home: AiosHome) -> dict[str, tuple[str | None, str | None, int]]:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        rows = con.execute("SELECT source_id, subject, payload->>'status', count(*) OVER "
                           "(PARTITION BY source_id) FROM events_current "
                           "WHERE source = 'calendar'").fetchall()
    finally:
        con.close()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def event_count(home: AiosHome) -> int:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM event_log").fetchone()[0]
    finally:
        con.close()


def assert_no_duplicate_content(home: AiosHome) -> None:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        dup = con.execute("SELECT source_id, content_hash, count(*) FROM event_log "
                          "GROUP BY ALL HAVING count(*) > 1").fetchall()
    finally:
        con.close()
    assert dup == []


# --- without a server ----------------------------------------------------------------------------


def test_cancelled_sets_status_on_every_vevent_and_keeps_the_rest():
    text = vevent("a@x", "Plan", status="TENTATIVE",
                  extra="DESCRIPTION:line one\r\n  continued")
    out = cancelled(text)
    assert out.count("STATUS:") == 1 and "STATUS:CANCELLED\r\nEND:VEVENT" in out
    assert "TENTATIVE" not in out and "DESCRIPTION:line one\r\n  continued" in out
    assert cancelled(out) == out  # cancelling twice gives the same text: the same version


def test_fresh_home_connects_nowhere(aios_home, monkeypatch):
    for name in ("AIOS_CALDAV_URL", "AIOS_CALDAV_USER", "AIOS_CALDAV_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    from aios_assets.definitions import defs

    sensor = defs.resolve_sensor_def("caldav_calendar_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    home = AiosHome.from_env()
    ctx = dg.build_sensor_context(cursor=None, resources={"caldav": calendar_from_env(),
                                                          "postgres": NO_PG})
    skip = caldav_calendar_sensor(ctx)
    assert isinstance(skip, dg.SkipReason) and "not configured" in skip.skip_message
    assert SyncCursor.load(ctx.cursor).calendars == {}
    assert not home.caldav_staging.exists()


def test_password_is_an_env_var_masked_in_the_ui(monkeypatch):
    monkeypatch.setenv("AIOS_CALDAV_URL", "https://caldav.example.com/dav/")
    monkeypatch.setenv("AIOS_CALDAV_USER", "op@example.com")
    monkeypatch.setenv("AIOS_CALDAV_PASSWORD", "app-password-123")
    box = calendar_from_env()
    shown = box.get_resource_definition().config_schema.as_field().default_value
    assert shown["password"] == {"env": "AIOS_CALDAV_PASSWORD"}
    assert "app-password-123" not in repr(shown) and "app-password-123" not in repr(box)
    assert shown["url"] == "https://caldav.example.com/dav/" and shown["calendars"] == []


def test_unreachable_server_backs_off_without_raising(aios_home):
    home = AiosHome.from_env()
    box = CalDavCalendar(url=f"http://127.0.0.1:{radicale_kit.free_port()}/", user="x",
                         password="y", connect_attempts=2, breaker_threshold=2,
                         breaker_reset_s=60, timeout_s=5)
    slept: list[float] = []
    result = caldav_tick(box, SyncCursor(), home.caldav_staging, home.caldav_state,
                         sleep=slept.append)
    assert result.error and "cannot reach" in result.error and slept == [1.0]
    again = caldav_tick(box, SyncCursor(), home.caldav_staging, home.caldav_state,
                        sleep=slept.append)
    assert again.error and "breaker open" in again.error  # fails fast: no connection tried
    assert slept == [1.0]


# --- against Radicale ----------------------------------------------------------------------------


def test_create_update_cancel_delete_across_ticks(aios_home, radicale, user):
    home = AiosHome.from_env()
    cal = make_calendar(radicale, user)
    box = account(radicale, user)
    kickoff = cal.save_event(vevent("kickoff@acme.io", "Kickoff"))
    cal.save_event(vevent("review@acme.io", "Review", hour=14))
    cal.save_event(vevent("standup@acme.io", "Standup", hour=9))
    cal.save_todo("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\n"
                  "UID:todo@acme.io\r\nSUMMARY:not a meeting\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
    cursor, _ = sync(home, box, None)
    assert versions(home) == {"kickoff@acme.io": [("Kickoff", None)],
                              "review@acme.io": [("Review", None)],
                              "standup@acme.io": [("Standup", None)]}
    state = SyncCursor.load(cursor).calendars
    assert len(state) == 1 and next(iter(state.values())).sync_token  # Radicale syncs by token

    # Tick 2: one event moved and renamed, one cancelled (STATUS), one deleted.
    kickoff.data = vevent("kickoff@acme.io", "Kickoff (moved)", hour=11)
    kickoff.save()
    cal.save_event(vevent("review@acme.io", "Review", hour=14, status="CANCELLED"))
    cal.event_by_uid("standup@acme.io").delete()
    cursor, _ = sync(home, box, cursor)
    assert versions(home) == {
        "kickoff@acme.io": [("Kickoff", None), ("Kickoff (moved)", None)],
        "review@acme.io": [("Review", None), ("Review", "CANCELLED")],
        "standup@acme.io": [("Standup", None), ("Standup", "CANCELLED")],
    }
    now = current(home)
    assert {k: v[:2] for k, v in now.items()} == {
        "kickoff@acme.io": ("Kickoff (moved)", None),
        "review@acme.io": ("Review", "CANCELLED"),
        "standup@acme.io": ("Standup", "CANCELLED"),
    }
    assert all(v[2] == 1 for v in now.values())  # exactly one current version per UID

    # Tick 3: nothing changed on the server: nothing staged, nothing added.
    before = event_count(home)
    cursor, requests = tick(box, cursor)
    assert requests == [] and event_count(home) == before
    assert_no_duplicate_content(home)
    archived = list((home.archive / "caldav").rglob("caldav-*.ics"))
    assert len(archived) == 2  # one file per tick with changes, kept in the archive


def test_lost_cursor_and_refused_token_resync_adds_nothing(aios_home, radicale, user):
    home = AiosHome.from_env()
    cal = make_calendar(radicale, user)
    box = account(radicale, user, objects_per_fetch=7, max_objects_per_tick=10)
    for n in range(25):
        cal.save_event(vevent(f"e{n}@acme.io", f"Meeting {n}", hour=8 + n % 8))
    cursor, ticks = sync(home, box, None)
    assert ticks >= 3  # 25 objects at 10 a tick: the bound held
    assert set(versions(home)) == {f"e{n}@acme.io" for n in range(25)}
    before = event_count(home)

    # The server forgets the token (RFC 6578 403 valid-sync-token): a full resync.
    state = SyncCursor.load(cursor)
    for cal_state in state.calendars.values():
        cal_state.sync_token = "http://radicale.org/ns/sync/" + "0" * 64
    cursor, _ = sync(home, box, state.dump())
    assert event_count(home) == before

    # The cursor is lost altogether (a new Dagster instance): every object fetched again,
    # staged again, and the ingest adds nothing.
    cal.event_by_uid("e3@acme.io").delete()  # ... and one event went away meanwhile
    cursor, _ = sync(home, box, None)
    assert event_count(home) == before + 1
    assert versions(home)["e3@acme.io"] == [("Meeting 3", None), ("Meeting 3", "CANCELLED")]
    assert_no_duplicate_content(home)
    assert all(len(v) == 1 for k, v in versions(home).items() if k != "e3@acme.io")
    # and again, from the same lost cursor: the deletion is not recorded twice
    sync(home, box, None)
    assert event_count(home) == before + 1


def test_recurring_event_with_an_override(aios_home, radicale, user):
    home = AiosHome.from_env()
    cal = make_calendar(radicale, user)
    box = account(radicale, user)
    series = vevent("weekly@acme.io", "Weekly", extra="RRULE:FREQ=WEEKLY;COUNT=4")
    override = ("BEGIN:VEVENT\r\nUID:weekly@acme.io\r\nDTSTAMP:20260601T000000Z\r\n"
                "RECURRENCE-ID:20260617T100000Z\r\nDTSTART:20260617T120000Z\r\n"
                "DTEND:20260617T130000Z\r\nSUMMARY:Weekly (moved)\r\nEND:VEVENT\r\n")
    cal.save_event(series.replace("END:VCALENDAR", override + "END:VCALENDAR"))
    cursor, _ = sync(home, box, None)
    ids = set(versions(home))
    assert ids == {"weekly@acme.io", "weekly@acme.io#2026-06-17T10:00:00+00:00"}
    cal.event_by_uid("weekly@acme.io").delete()
    sync(home, box, cursor)
    assert {k: v[1] for k, v in current(home).items()} == dict.fromkeys(ids, "CANCELLED")


def test_bad_credentials_open_one_incident(aios_home, radicale, user, pg_url):
    import psycopg

    home = AiosHome.from_env()
    pg = PostgresStore(url=pg_url)
    cal = make_calendar(radicale, user)
    cal.save_event(vevent("one@acme.io", "One"))
    wrong = account(radicale, user, "not-the-password", auth_retry_s=0)
    cursor = None
    for _ in range(3):  # repeated ticks: one incident, no exception, nothing fetched
        cursor, requests = tick(wrong, cursor, pg)
        assert requests == []
    assert "not-the-password" not in cursor
    incident_id = SyncCursor.load(cursor).incident_id
    assert incident_id and user in incident_id
    with psycopg.connect(pg_url) as con:
        rows = con.execute(
            "SELECT cause, status, error_message FROM aios.incidents WHERE job_name = %s "
            "AND incident_id LIKE %s", ("caldav_calendar_sensor", f"%{user}@%")).fetchall()
    assert len(rows) == 1 and rows[0][:2] == ("caldav_auth", "open")
    assert "not-the-password" not in rows[0][2] and "login refused" in rows[0][2]

    cursor, _ = sync(home, account(radicale, user), cursor, pg)  # password fixed
    assert SyncCursor.load(cursor).incident_id is None
    with psycopg.connect(pg_url) as con:
        status = con.execute("SELECT status FROM aios.incidents WHERE incident_id = %s",
                             (incident_id,)).fetchone()[0]
    assert status == "resolved"
    assert versions(home) == {"one@acme.io": [("One", None)]}
    password = radicale.users[user]
    assert password not in cursor and password not in json.dumps(json.loads(cursor))
    for path in home.caldav_state.rglob("*"):
        if path.is_file():
            assert password not in path.read_text()


def test_login_backs_off_after_refusal(aios_home, radicale, user):
    home = AiosHome.from_env()
    wrong = account(radicale, user, "nope", auth_retry_s=900)
    args = (home.caldav_staging, home.caldav_state)
    first = caldav_tick(wrong, SyncCursor(), *args, now=1000.0)
    assert first.auth_failed
    later = caldav_tick(wrong, first.cursor, *args, now=1500.0)
    assert later.skipped and "next try in 400s" in later.skipped and not later.auth_failed
    retried = caldav_tick(wrong, first.cursor, *args, now=1901.0)
    assert retried.auth_failed
    assert retried.cursor.auth_failed_since == first.cursor.auth_failed_since  # one episode


def test_tick_killed_before_its_cursor_is_stored_adds_nothing(aios_home, radicale, user):
    """A tick that staged but whose cursor Dagster never stored (killed at the end): the next
    tick, from the old cursor, lists the same changes again and the ingest adds nothing."""
    home = AiosHome.from_env()
    cal = make_calendar(radicale, user)
    box = account(radicale, user)
    cal.save_event(vevent("a@acme.io", "A"))
    doomed = cal.save_event(vevent("b@acme.io", "B"))
    cursor, _ = sync(home, box, None)
    cal.save_event(vevent("a@acme.io", "A (moved)", hour=15))
    doomed.delete()
    _lost, requests = tick(box, cursor)  # staged; its cursor is thrown away
    assert len(requests) == 1 and len(staged_files(home.caldav_staging)) == 1
    cursor, _ = sync(home, box, cursor)  # the same changes again, from the old cursor
    assert versions(home) == {"a@acme.io": [("A", None), ("A (moved)", None)],
                              "b@acme.io": [("B", None), ("B", "CANCELLED")]}
    assert_no_duplicate_content(home)


def test_server_without_sync_collection_uses_ctag_and_etags(aios_home, radicale, user):
    """Through a proxy that refuses the sync-collection REPORT: PROPFIND listings, skipped
    while the ctag is unchanged; and AIOS only ever sent PROPFIND and REPORT (read-only)."""
    home = AiosHome.from_env()
    cal = make_calendar(radicale, user)
    proxy = radicale_kit.RecordingProxy(radicale.port, sync_collection=False).start()
    try:
        box = account(radicale, user, url=proxy.url)
        cal.save_event(vevent("a@acme.io", "A"))
        gone = cal.save_event(vevent("b@acme.io", "B"))
        cursor, _ = sync(home, box, None)
        state = next(iter(SyncCursor.load(cursor).calendars.values()))
        assert state.sync_token is None and state.ctag and len(state.etags) == 2
        sent = len(proxy.requests)
        cursor, requests = tick(box, cursor)  # ctag unchanged: no listing, nothing fetched
        cal_path = urlsplit(str(cal.url)).path
        assert requests == [] and proxy.requests[sent:]
        assert [r for r in proxy.requests[sent:] if r[0] == "REPORT" or r[1:] == ("1", cal_path)
                ] == []
        cal.save_event(vevent("a@acme.io", "A2"))
        gone.delete()
        cursor, _ = sync(home, box, cursor)
        assert versions(home) == {"a@acme.io": [("A", None), ("A2", None)],
                                  "b@acme.io": [("B", None), ("B", "CANCELLED")]}
        assert {method for method, _, _ in proxy.requests} == {"PROPFIND", "REPORT"}
    finally:
        proxy.stop()
