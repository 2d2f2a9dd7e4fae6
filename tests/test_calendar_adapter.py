"""The CalDAV calendar adapter (capability ``calendar``) through the real outbox, against a real
Radicale on loopback.

Real parts only: Radicale (``aios_assets/testing/radicale.py``) behind the recording proxy,
which injects the faults (a concurrent edit before a conditional PUT; a PUT forwarded to
Radicale - so it takes effect - whose answer never comes back), the embedded Postgres (outbox,
``aios.adapter_calls``), child publisher processes killed with SIGKILL
(``tests/calendar_crash_child.py``), and the ``aios audit`` CLI over a DuckDB warehouse. Every
scenario ends by listing the calendar on the server (straight to Radicale, with the ``caldav``
library): each expected UID exactly once, no other object - nothing lost, nothing doubled.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import caldav
import httpx
import icalendar
import psycopg
import pytest
from psycopg.rows import dict_row
from typer.testing import CliRunner

from aios_assets.publishing.adapters.base import AdapterPermanent, OutboxAction
from aios_assets.publishing.adapters.caldav import CalDavAdapter
from aios_assets.publishing.adapters.registry import default_adapters
from aios_assets.publishing.outbox import Outbox
from aios_assets.testing.radicale import RecordingProxy
from resources.postgres import PostgresStore
from tests.calendar_crash_child import adapters as child_adapters
from tests.conftest import ROOT
from tests.outbox_fixtures import fresh_database

CHILD_TIMEOUT_S = 60
TIMEOUT_S = 0.5  # per attempt; the proxy holds lost answers for 2 s


@pytest.fixture
def user(radicale, request) -> str:
    name = f"c{abs(hash(request.node.name)) % 10**8}"
    radicale.add_user(name, "pw-" + name)
    return name


@pytest.fixture
def world(radicale, user, pg_url, monkeypatch):
    """A user with calendars Personal and Work (the default, by $AIOS_CALDAV_CALENDARS), a
    proxy in front of Radicale, a fresh outbox database; the adapter's settings in the
    environment, as default_adapters() reads them."""
    client = caldav.DAVClient(url=radicale.url, username=user, password=radicale.users[user])
    principal = client.principal()
    principal.make_calendar(name="Personal", cal_id="personal")
    principal.make_calendar(name="Work", cal_id="work")
    proxy = RecordingProxy(radicale.port).start()
    monkeypatch.setenv("AIOS_CALDAV_URL", proxy.url)
    monkeypatch.setenv("AIOS_CALDAV_USER", user)
    monkeypatch.setenv("AIOS_CALDAV_PASSWORD", radicale.users[user])
    monkeypatch.setenv("AIOS_CALDAV_CALENDARS", "Work")
    db = fresh_database(pg_url, "calendar")
    yield {"radicale": radicale, "user": user, "proxy": proxy, "db": db}
    proxy.stop()


def adapter(db: str, **kw: object) -> CalDavAdapter:
    settings = {"timeout_s": TIMEOUT_S, "max_attempts": 3, "backoff_initial_s": 0.01,
                "backoff_max_s": 0.05, "breaker_threshold": 50, "postgres_url": db, **kw}
    return CalDavAdapter(**settings)


def outbox(db: str) -> Outbox:
    return Outbox(PostgresStore(url=db), retry_base_s=0.05, retry_max_s=0.2)


def action(key: str, action_type: str, uid: str, **payload: object) -> OutboxAction:
    return OutboxAction(key, f"p-{key}", action_type, "calendar", {"uid": uid, **payload},
                        "scheduler", "run-1")


def hold(key: str, uid: str, day: int = 10, hour: int = 10, **payload: object) -> OutboxAction:
    payload.setdefault("summary", f"Hold {uid}")
    payload.setdefault("start", f"2026-06-{day:02d}T{hour:02d}:00:00+00:00")
    payload.setdefault("end", f"2026-06-{day:02d}T{hour + 1:02d}:00:00+00:00")
    return action(key, "calendar_hold", uid, **payload)


def on_server(w: dict, calendar: str = "work") -> dict[str, list[icalendar.Event]]:
    """UID -> its VEVENTs, over every object of the calendar (straight from Radicale)."""
    url = f"{w['radicale'].url}{w['user']}/{calendar}/"
    client = caldav.DAVClient(url=w["radicale"].url, username=w["user"],
                              password=w["radicale"].users[w["user"]])
    out: dict[str, list[icalendar.Event]] = {}
    for obj in client.calendar(url=url).objects(load_objects=True):
        for ev in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            out.setdefault(str(ev.get("uid")), []).append(ev)
    return out


def assert_exactly(w: dict, uids: set[str], calendar: str = "work") -> dict[str, icalendar.Event]:
    """0 lost / 0 duplicated: each UID once on the server, nothing else."""
    found = on_server(w, calendar)
    assert {u: len(evs) for u, evs in found.items()} == {u: 1 for u in uids}
    return {u: evs[0] for u, evs in found.items()}


def raw(w: dict, uid: str, calendar: str = "work") -> tuple[str, str]:
    r = httpx.get(f"{w['radicale'].url}{w['user']}/{calendar}/{uid}.ics",
                  auth=(w["user"], w["radicale"].users[w["user"]]))
    assert r.status_code == 200, r.status_code
    return r.text, r.headers["etag"]


def puts(w: dict, uid: str) -> int:
    return sum(1 for m, _, p in w["proxy"].requests if m == "PUT" and p.endswith(f"/{uid}.ics"))


def calls(db: str) -> list[dict]:
    with psycopg.connect(db) as con, con.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM aios.adapter_calls ORDER BY called_at").fetchall()


def settle(box: Outbox, ads: dict, rounds: int = 20) -> None:
    for _ in range(rounds):
        box.reconcile(ads, older_than_s=0)
        box.publish(ads)
        if all(r.status in ("delivered", "failed_permanent") for r in box.rows()):
            return
        time.sleep(0.1)
    raise AssertionError({r.idempotency_key: r.status for r in box.rows()})


def utc(ev: icalendar.Event, prop: str) -> datetime:
    return ev.decoded(prop).astimezone(UTC)


# --- the happy path, the contract's checks -------------------------------------------------


def test_hold_then_confirm_through_the_outbox(world, caplog):
    w = world
    db = w["db"]
    ads = default_adapters(rate_per_s=0)
    assert isinstance(ads["calendar"], CalDavAdapter)
    assert w["radicale"].users[w["user"]] not in repr(ads["calendar"])
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AIOS_CALDAV_URL")
        assert "calendar" not in default_adapters(rate_per_s=0)
    ads = {"calendar": adapter(db)}
    box = outbox(db)
    evil = "Agenda: pricing, Q3;\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:aios-injected\r\nX:1"
    h = hold("k-hold", "aios-h1", attendees=["dana@acme.io", "op@example.com"],
             description=evil)
    other = hold("k-other", "aios-h2", calendar="Personal")
    box.enqueue([h, other])
    caplog.set_level(logging.DEBUG, logger="aios")
    results = {r.idempotency_key: r for r in box.publish(ads)}
    assert {k: r.status for k, r in results.items()} == {"k-hold": "delivered",
                                                         "k-other": "delivered"}
    path = f"/{w['user']}/work/aios-h1.ics"
    assert results["k-hold"].external_id.startswith(path + " ")
    _, etag = raw(w, "aios-h1")
    assert results["k-hold"].external_id == f"{path} {etag}"
    ev = assert_exactly(w, {"aios-h1"})["aios-h1"]  # the injected UID is not an event
    assert_exactly(w, {"aios-h2"}, "personal")
    assert str(ev["status"]) == "TENTATIVE"
    # Escaped on the way in, intact on the way out (iCalendar text has \n line breaks only).
    assert str(ev["description"]) == evil.replace("\r\n", "\n")
    assert sorted(str(a) for a in ev.get("attendee")) == ["mailto:dana@acme.io",
                                                          "mailto:op@example.com"]
    assert utc(ev, "dtstart") == datetime(2026, 6, 10, 10, tzinfo=UTC)

    # Confirm: same UID, CONFIRMED, new time; publishing again changes nothing.
    box.enqueue([action("k-confirm", "calendar_confirm", "aios-h1",
                        start="2026-06-11T14:00:00+02:00", end="2026-06-11T15:30:00+02:00")])
    (r,) = box.publish(ads)
    assert r.status == "delivered" and r.external_id.startswith(path + " ")
    assert box.publish(ads) == []
    ev = assert_exactly(w, {"aios-h1"})["aios-h1"]
    assert str(ev["status"]) == "CONFIRMED" and int(ev["sequence"]) == 1
    assert (utc(ev, "dtstart"), utc(ev, "dtend")) == (datetime(2026, 6, 11, 12, tzinfo=UTC),
                                                      datetime(2026, 6, 11, 13, 30, tzinfo=UTC))
    assert str(ev["description"]) == evil.replace("\r\n", "\n")  # kept
    assert len(ev.get("attendee")) == 2
    assert puts(w, "aios-h1") == 2
    rows = calls(db)
    assert [(c["operation"], c["outcome"], c["idempotency_key"]) for c in rows] == [
        ("send", "ok", "k-hold"), ("send", "ok", "k-other"), ("send", "ok", "k-confirm")]
    assert all(c["external_id"] and c["capability"] == "calendar" for c in rows)
    password = w["radicale"].users[w["user"]]
    assert password not in caplog.text and password not in json.dumps(rows, default=str)


def test_never_touches_what_aios_did_not_create(world):
    w = world
    box, ads = outbox(w["db"]), {"calendar": adapter(w["db"])}
    # An operator's own event that happens to use an aios- UID, and one without the prefix.
    cal = icalendar.Calendar()
    cal.add("prodid", "-//someone else//EN")
    cal.add("version", "2.0")
    ev = icalendar.Event()
    ev.add("uid", "aios-theirs")
    ev.add("dtstamp", datetime(2026, 6, 1, tzinfo=UTC))
    ev.add("dtstart", datetime(2026, 6, 10, 9, tzinfo=UTC))
    ev.add("dtend", datetime(2026, 6, 10, 10, tzinfo=UTC))
    ev.add("summary", "Mine")
    cal.add_component(ev)
    url = f"{w['radicale'].url}{w['user']}/work/aios-theirs.ics"
    auth = (w["user"], w["radicale"].users[w["user"]])
    assert httpx.put(url, content=cal.to_ical(), auth=auth).status_code == 201
    before = httpx.get(url, auth=auth).text
    box.enqueue([hold("k-take", "aios-theirs"),
                 action("k-cancel", "calendar_cancel", "aios-theirs", compensates="x"),
                 hold("k-foreign", "meeting-123"),
                 hold("k-bad", "aios-../../x")])
    out = {r.idempotency_key: (r.status, r.error_class) for r in box.publish(ads)}
    assert out == {"k-take": ("failed_permanent", "NotAiosEvent"),
                   "k-cancel": ("failed_permanent", "NotAiosEvent"),
                   "k-foreign": ("failed_permanent", "NotAiosUid"),
                   "k-bad": ("failed_permanent", "BadPayload")}
    assert httpx.get(url, auth=auth).text == before
    assert_exactly(w, {"aios-theirs"})
    with pytest.raises(AdapterPermanent):
        adapter(w["db"], record_calls=False).send(hold("k-x", "outlook-1"))


# --- (a) conflicts -------------------------------------------------------------------------


def test_create_conflict_412_reads_back_and_is_one_event(world):
    w = world
    box, cal = outbox(w["db"]), adapter(w["db"])
    h = hold("k-a", "aios-a1")
    cal.send(h)  # an earlier transmission whose outcome the outbox never recorded
    box.enqueue([h, hold("k-a2", "aios-a1", hour=15)])  # another action, same UID
    out = {r.idempotency_key: (r.status, r.error_class) for r in box.publish({"calendar": cal})}
    assert out == {"k-a": ("delivered", None), "k-a2": ("failed_permanent", "UidTaken")}
    ev = assert_exactly(w, {"aios-a1"})["aios-a1"]
    assert utc(ev, "dtstart") == datetime(2026, 6, 10, 10, tzinfo=UTC)  # not overwritten
    assert puts(w, "aios-a1") == 3  # each PUT was If-None-Match: *; two answered 412
    assert box.status("k-a").external_id.startswith(f"/{w['user']}/work/aios-a1.ics ")


def test_if_match_conflict_rereads_and_keeps_the_concurrent_edit(world):
    w = world
    box, ads = outbox(w["db"]), {"calendar": adapter(w["db"])}
    box.enqueue([hold("k-h", "aios-m1")])
    assert [r.status for r in box.publish(ads)] == ["delivered"]
    url = f"{w['radicale'].url}{w['user']}/work/aios-m1.ics"
    auth = (w["user"], w["radicale"].users[w["user"]])

    def someone_edits() -> None:  # the operator renames it on their phone, mid-confirm
        cal = icalendar.Calendar.from_ical(httpx.get(url, auth=auth).content)
        ev = cal.walk("VEVENT")[0]
        ev.pop("summary")
        ev.add("summary", "Renamed by the operator")
        assert httpx.put(url, content=cal.to_ical(), auth=auth).status_code in (201, 204)

    w["proxy"].fault("PUT", "/aios-m1.ics", before=someone_edits)
    box.enqueue([action("k-c", "calendar_confirm", "aios-m1")])
    assert [r.status for r in box.publish(ads)] == ["delivered"]
    ev = assert_exactly(w, {"aios-m1"})["aios-m1"]
    assert str(ev["status"]) == "CONFIRMED" and str(ev["summary"]) == "Renamed by the operator"
    assert puts(w, "aios-m1") == 3  # the hold, the confirm answered 412, its retry


# --- (b) the write took effect, the answer was lost ------------------------------------------


@pytest.mark.parametrize("lost", ["hang", "drop"])
def test_committed_write_without_answer_is_in_doubt_then_reconciled(world, lost):
    w = world
    db = w["db"]
    box, ads = outbox(db), {"calendar": adapter(db)}
    w["proxy"].fault("PUT", "/aios-b1.ics", after=lost, hang_s=2.0)
    box.enqueue([hold("k-b", "aios-b1")])
    (r,) = box.publish(ads)
    assert r.status == "in_doubt", r
    assert r.error_class == ("ReadTimeout" if lost == "hang" else "RemoteProtocolError")
    assert_exactly(w, {"aios-b1"})  # Radicale has it although AIOS never heard back
    (r,) = box.reconcile(ads, older_than_s=0)
    assert r.status == "delivered" and r.external_id.startswith(f"/{w['user']}/work/aios-b1")
    assert puts(w, "aios-b1") == 1  # settled by reading the UID back, not by a resend
    # The same for a cancel whose answer is lost: reconciled without a second change.
    w["proxy"].fault("PUT", "/aios-b1.ics", after=lost, hang_s=2.0)
    box.enqueue([action("k-bc", "calendar_cancel", "aios-b1", compensates="k-b")])
    assert [r.status for r in box.publish(ads)] == ["in_doubt"]
    assert [r.status for r in box.reconcile(ads, older_than_s=0)] == ["delivered"]
    ev = assert_exactly(w, {"aios-b1"})["aios-b1"]
    assert str(ev["status"]) == "CANCELLED" and int(ev["sequence"]) == 1
    assert puts(w, "aios-b1") == 2
    ops = Counter((c["operation"], c["outcome"]) for c in calls(db))
    assert ops == {("send", "unknown"): 2, ("lookup", "ok"): 2}


# --- (c) SIGKILL of the publisher ----------------------------------------------------------


def child(db: str, *kill: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.calendar_crash_child", db, *kill],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("kill", [("claimed", "2"), ("sent", "2"), ("in_flight",)],
                         ids=["claimed", "sent", "in_flight"])
def test_sigkill_mid_delivery_then_exactly_once(world, kill):
    w = world
    db = w["db"]
    box = outbox(db)
    holds = [hold(f"k-c{i}", f"aios-c{i}", hour=9 + i) for i in range(3)]
    box.enqueue(holds)
    if kill[0] == "in_flight":
        # The second hold's PUT reaches Radicale, which commits it; its answer is held back
        # while the publisher is killed.
        fault = w["proxy"].fault("PUT", "/aios-c1.ics", after="hang", hang_s=3.0)
        proc = child(db)
        assert fault.forwarded.wait(CHILD_TIMEOUT_S), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    else:
        proc = child(db, *kill)
        out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
        assert f"killing at {kill[0]} k-c1" in out, (out, err)
    assert proc.returncode == -signal.SIGKILL, (out, err)
    left = {r.idempotency_key: r.status for r in box.rows()}
    assert left == {"k-c0": "delivered", "k-c1": "claimed", "k-c2": "pending"}
    assert_exactly(w, {"aios-c0"} if kill[0] == "claimed" else {"aios-c0", "aios-c1"})
    settle(box, child_adapters(db))  # the restart: reconcile what the dead one left, publish
    assert {r.idempotency_key: r.status for r in box.rows()} == {
        h.idempotency_key: "delivered" for h in holds}
    assert_exactly(w, {"aios-c0", "aios-c1", "aios-c2"})
    assert [puts(w, f"aios-c{i}") for i in range(3)] == [1, 1, 1]


# --- (d) compensation and the audit --------------------------------------------------------


def plant_proposals(actions: list[OutboxAction]) -> dict[str, str]:
    """Proposal rows for the actions (as the agents write them), key -> proposal id."""
    from aios_assets.agents.proposals import Proposal, ensure_tables, to_row
    from resources.warehouse import DuckDBWarehouse

    now = datetime.now(UTC)
    rows = [Proposal(proposal_id=f"prop-{a.idempotency_key}", created_at=now,
                     agent=a.agent, manifest_version="1.0.0", intent_id=None, plan_id=None,
                     action_type=a.action_type, capability=a.capability,
                     target_entity_id=None, payload=a.payload,
                     rationale=f"test {a.action_type}", evidence_event_ids=(),
                     confidence=0.9, idempotency_key=a.idempotency_key,
                     expires_at=now + timedelta(days=3), run_id=a.run_id) for a in actions]
    with DuckDBWarehouse().connect() as con:
        ensure_tables(con)
        marks = ", ".join("?" for _ in to_row(rows[0]))
        con.executemany(f"INSERT INTO action_proposals VALUES ({marks})",
                        [to_row(p) for p in rows])
    return {p.idempotency_key: p.proposal_id for p in rows}


def test_cancel_compensates_a_hold_and_audit_links_both(world, aios_home, monkeypatch):
    from aios_assets.publishing.policy import Mode, load_policy

    w = world
    db = w["db"]
    monkeypatch.setenv("AIOS_POSTGRES_URL", db)
    policy = load_policy()  # the default file a new home gets
    assert {t: policy.actions[t].mode for t in ("calendar_hold", "calendar_confirm",
                                                "calendar_cancel")} == {
        t: Mode.APPROVE_FIRST for t in ("calendar_hold", "calendar_confirm", "calendar_cancel")}
    box, ads = outbox(db), {"calendar": adapter(db)}
    h = hold("aios-k-hold", "aios-d1")
    c = action("aios-k-cancel", "calendar_cancel", "aios-d1", compensates=h.idempotency_key)
    pids = plant_proposals([h, c])
    box.enqueue([h])
    assert [r.status for r in box.publish(ads)] == ["delivered"]
    # A cancel that claims to undo an action this event never saw is refused.
    box.enqueue([action("aios-k-wrong", "calendar_cancel", "aios-d1", compensates="aios-k-x")])
    assert [(r.status, r.error_class) for r in box.publish(ads)] == [
        ("failed_permanent", "CompensationMismatch")]
    assert str(assert_exactly(w, {"aios-d1"})["aios-d1"]["status"]) == "TENTATIVE"
    box.enqueue([c])
    assert [r.status for r in box.publish(ads)] == ["delivered"]
    ev = assert_exactly(w, {"aios-d1"})["aios-d1"]
    assert str(ev["status"]) == "CANCELLED"
    assert str(ev["x-aios-compensates"]) == h.idempotency_key
    # Cancelling again (another cancel of the same hold) is harmless: still one event.
    box.enqueue([action("aios-k-cancel2", "calendar_cancel", "aios-d1",
                        compensates=h.idempotency_key)])
    assert [r.status for r in box.publish(ads)] == ["delivered"]
    assert_exactly(w, {"aios-d1"})

    from aios_assets.cli import app

    def audit(pid: str, *extra: str):
        res = CliRunner().invoke(app, ["audit", pid, *extra])
        assert res.exit_code == 0, res.output
        return res

    held = json.loads(audit(pids[h.idempotency_key], "--json").stdout)
    assert held["compensation"]["compensates"] is None
    assert held["compensation"]["compensated_by"] == [
        {"idempotency_key": c.idempotency_key, "proposal_id": pids[c.idempotency_key],
         "action_type": "calendar_cancel", "status": "delivered"},
        {"idempotency_key": "aios-k-cancel2", "proposal_id": "p-aios-k-cancel2",
         "action_type": "calendar_cancel", "status": "delivered"}]
    cancel = json.loads(audit(pids[c.idempotency_key], "--json").stdout)
    assert cancel["compensation"] == {
        "compensates": {"idempotency_key": h.idempotency_key,
                        "proposal_id": pids[h.idempotency_key],
                        "action_type": "calendar_hold", "status": "delivered"},
        "compensated_by": []}
    text = " ".join(audit(pids[h.idempotency_key]).stdout.split())
    assert f"compensated by: {pids[c.idempotency_key]} calendar_cancel" in text
    text = " ".join(audit(pids[c.idempotency_key]).stdout.split())
    assert f"compensates: {pids[h.idempotency_key]} calendar_hold" in text


# --- (e) daylight saving time --------------------------------------------------------------


def test_holds_across_the_march_dst_change_read_back_in_utc(world):
    """09:00 Europe/Berlin on Saturday 28 March 2026 (CET, +01:00), on Sunday 29 March (the
    change, CEST +02:00) and on Monday 30 March."""
    w = world
    box, ads = outbox(w["db"]), {"calendar": adapter(w["db"])}
    days = {28: "+01:00", 29: "+02:00", 30: "+02:00"}
    box.enqueue([action(f"k-dst{d}", "calendar_hold", f"aios-dst{d}", summary="Standup",
                        start=f"2026-03-{d}T09:00:00{off}", end=f"2026-03-{d}T09:30:00{off}",
                        tzid="Europe/Berlin") for d, off in days.items()])
    assert [r.status for r in box.publish(ads)] == ["delivered"] * 3
    found = assert_exactly(w, {f"aios-dst{d}" for d in days})
    expect = {28: 8, 29: 7, 30: 7}  # 09:00 local in UTC
    for d, hour in expect.items():
        ev = found[f"aios-dst{d}"]
        assert utc(ev, "dtstart") == datetime(2026, 3, d, hour, tzinfo=UTC)
        assert utc(ev, "dtend") == datetime(2026, 3, d, hour, 30, tzinfo=UTC)
        text, _ = raw(w, f"aios-dst{d}")
        assert f"DTSTART;TZID=Europe/Berlin:202603{d}T090000" in text
        assert "BEGIN:VTIMEZONE" in text and "TZID:Europe/Berlin" in text
    # A payload whose offset does not match the zone is still the instant it names.
    box.enqueue([action("k-dst-x", "calendar_hold", "aios-dstx", start="2026-03-29T07:00:00Z",
                        end="2026-03-29T08:00:00Z", tzid="Europe/Berlin")])
    assert [r.status for r in box.publish(ads)] == ["delivered"]
    text, _ = raw(w, "aios-dstx")
    assert "DTSTART;TZID=Europe/Berlin:20260329T090000" in text
    box.enqueue([action("k-dst-bad", "calendar_hold", "aios-dstbad",
                        start="2026-03-29T09:00:00", end="2026-03-29T10:00:00",
                        tzid="Europe/Berlin")])
    assert [(r.status, r.error_class) for r in box.publish(ads)] == [
        ("failed_permanent", "BadPayload")]  # no offset: refused, not guessed
    assert_exactly(w, {f"aios-dst{d}" for d in days} | {"aios-dstx"})
