"""Calendar-aware follow-ups over a real warehouse: slots offered with linked holds, a reply
picking one, and the outbox rows once approved (no calendar adapter: they wait).

The business is ``tests/agent_fixtures`` (operator Maya, stale lead Leo) plus two leads whose
last message asked to meet and nobody answered: Nina (contact record: America/New_York) and
Omar (no zone on record; he organized a meeting in Asia/Tokyo). Maya's calendar, in
``policy.yaml``'s Europe/Berlin: a meeting on Monday, a day off on Tuesday (all-day), a
cancelled meeting on Wednesday, and on Thursday a meeting she is not part of. The calendar
staging views are built by the real dbt (``stg_calendar__meetings``/``__attendees``).

The offer day is the Monday after today (the proposals must not have expired when the gates
run on the wall clock); the expected times are written in the recipients' zones, so the test
holds on either side of any DST change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from typer.testing import CliRunner

from aios_assets.agents.assets import run_agent
from aios_assets.agents.canary import canary_problems, compare, output_problems
from aios_assets.agents.manifests import load_manifests
from aios_assets.agents.proposals import merge_proposals
from resources.warehouse import DuckDBWarehouse
from tests.agent_fixtures import LEO, MAYA, PEOPLE, business_events, mail
from tests.agent_fixtures import build_marts as build_agent_marts
from tests.entity_fixtures import add_events, dbt
from tests.outbox_fixtures import fresh_database

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
NINA = {"entity_id": "ent_nina", "full_name": "Nina Park", "first_name": "Nina",
        "email": "nina@harbor.example", "in_crm": True, "is_customer": False}
OMAR = {"entity_id": "ent_omar", "full_name": "Omar Haddad", "first_name": "Omar",
        "email": "omar@kitsune.example", "in_crm": True, "is_customer": False}
POLICY = ("timezone: Europe/Berlin\nworking_hours:\n  days: [mon, tue, wed, thu, fri]\n"
          "  start: \"09:00\"\n  end: \"17:30\"\n")
MANIFEST = load_manifests()["followup"]["current"]


def next_monday() -> datetime:
    """08:00 in Berlin on the Monday after today (UTC)."""
    today = datetime.now(BERLIN).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time(8), tzinfo=BERLIN).astimezone(UTC)


def meeting(uid: str, start: datetime, end: datetime, *, organizer: dict | None,
            attendees: list[dict], status: str | None = None, tzid: str | None = None,
            all_day: bool = False) -> dict:
    payload = {"organizer": f"{organizer['full_name']} <{organizer['email']}>"
               if organizer else None,
               "attendees": [{"name": p["full_name"], "email": p["email"]} for p in attendees],
               "start": f"{start:%Y-%m-%d}" if all_day else start.isoformat(),
               "end": f"{end:%Y-%m-%d}" if all_day else end.isoformat(), "location": None}
    if status:
        payload["status"] = status
    if tzid:
        payload["tzid"] = tzid
    return {"source": "calendar", "source_id": uid, "kind": "meeting", "thread": uid,
            "occurred_at": datetime.combine(start, time(0), tzinfo=UTC) if all_day else start,
            "actor": payload["organizer"], "subject": uid, "text": "", "payload": payload}


def clock(monday: datetime) -> datetime:
    """The business clock of the fixture: the Friday before the offer day."""
    return monday - timedelta(days=3)


def world(monday: datetime) -> list[dict]:
    d = lambda n: clock(monday) - timedelta(days=n)  # noqa: E731
    ny = lambda days, h: datetime.combine(  # noqa: E731
        monday.astimezone(NEW_YORK).date() + timedelta(days=days), time(h), tzinfo=NEW_YORK)
    tuesday = monday.astimezone(BERLIN).date() + timedelta(days=1)
    return [
        *business_events(clock(monday)),
        {"source": "crm", "source_id": "C-9", "kind": "contact", "actor": "Nina Park",
         "occurred_at": d(200), "text": "Nina Park",
         "payload": {"email": NINA["email"], "lifecycle_stage": "lead",
                     "timezone": "America/New_York"}},
        {"source": "crm", "source_id": "C-10", "kind": "contact", "actor": "Omar Haddad",
         "occurred_at": d(200), "text": "Omar Haddad",
         "payload": {"email": OMAR["email"], "lifecycle_stage": "lead"}},
        mail("m-nina-1@x", NINA, MAYA, d(25), "Audit findings",
             "Hi Maya, could we schedule a call to go through the audit findings?",
             thread="t-nina"),
        mail("m-omar-1@x", OMAR, MAYA, d(28), "Warehouse migration",
             "Thanks for the notes. Are you available for a chat about the migration?",
             thread="t-omar"),
        meeting("omar-kickoff", d(60), d(60) + timedelta(hours=1), organizer=OMAR,
                attendees=[MAYA], tzid="Asia/Tokyo"),
        # Maya's week: Monday NY 09:00-10:00, Tuesday off, Wednesday cancelled, Thursday not hers
        meeting("mon-review", ny(0, 9), ny(0, 10), organizer=MAYA, attendees=[LEO]),
        meeting("tue-off", datetime.combine(tuesday, time(0)),
                datetime.combine(tuesday + timedelta(days=1), time(0)), organizer=None,
                attendees=[], all_day=True),
        meeting("wed-call", ny(2, 9), ny(2, 10), organizer=MAYA, attendees=[LEO],
                status="CANCELLED"),
        meeting("thu-other", ny(3, 9), ny(3, 11), organizer=LEO, attendees=[OMAR]),
    ]


@pytest.fixture
def home(aios_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIOS_OPERATOR_EMAIL", MAYA["email"])
    (aios_home / "policy.yaml").write_text(POLICY)
    wh = DuckDBWarehouse(home=str(aios_home))
    with wh.write_session():
        add_events(wh.path, world(next_monday()))
        build_agent_marts(wh.path, [*PEOPLE, NINA, OMAR])
    with wh.write_session():  # as the pipeline does: dbt writes, then the snapshot is published
        dbt("run", "--select", "stg_calendar__meetings", "stg_calendar__attendees",
            warehouse=wh.path, home=aios_home)
    return aios_home


def run_followup(home: Path, *, as_of: datetime, now: datetime, events: list[dict] = ()):
    wh = DuckDBWarehouse(home=str(home))
    with wh.connect() as con:
        if events:
            con.close()
            add_events(wh.path, list(events), batch=f"b{now:%H%M%S}")
            build_agent_marts(wh.path, [*PEOPLE, NINA, OMAR])
    with wh.connect() as con:
        out, _ = run_agent(con, MANIFEST, as_of=as_of, now=now)
        known = {r[0] for r in con.execute("SELECT event_id FROM event_log").fetchall()}
        new = merge_proposals(con, out.proposals)
    assert output_problems(out.proposals, MANIFEST, known, {
        p["entity_id"]: {p["email"]} for p in [*PEOPLE, NINA, OMAR]}) == []
    return out, new


def by_target(out, entity: dict, action_type: str) -> list:
    return [p for p in out.proposals
            if p.target_entity_id == entity["entity_id"] and p.action_type == action_type]


def ny_line(option: int, day: datetime, hh_mm: str, tz: ZoneInfo) -> str:
    local = day.astimezone(tz)
    h, m = (int(x) for x in hh_mm.split(":"))
    start = datetime.combine(local.date(), time(h, m), tzinfo=tz)
    end = start + timedelta(minutes=30)
    return (f"Option {option}: {start:%a} {start.day} {start:%b %Y}, {start:%H:%M}-"
            f"{end:%H:%M} {start.tzname()} ({tz.key})")


def test_offer_slots_then_confirm_the_picked_one(home):
    monday = next_monday()
    with DuckDBWarehouse(home=str(home)).read() as con:  # the snapshot agents read
        staged = dict((r[0], r[1:]) for r in con.execute(
            "SELECT meeting_id, is_all_day, start_date, end_date, status, tzid "
            "FROM stg_calendar__meetings").fetchall())
    tuesday = monday.astimezone(BERLIN).date() + timedelta(days=1)
    assert staged["tue-off"] == (True, tuesday, tuesday + timedelta(days=1), None, None)
    assert staged["wed-call"][0] is False and staged["wed-call"][3] == "CANCELLED"
    assert staged["omar-kickoff"][4] == "Asia/Tokyo"

    out, new = run_followup(home, as_of=clock(monday), now=monday)

    # Nina: one e-mail offering three slots in New York time, one hold per slot
    (offer,) = by_target(out, NINA, "send_email")
    holds = by_target(out, NINA, "calendar_hold")
    ny_mon = monday.astimezone(NEW_YORK)
    expected = [ny_line(1, ny_mon, "10:30", NEW_YORK),  # after Monday's 09:00-10:00 + buffer
                ny_line(2, ny_mon + timedelta(days=2), "09:00", NEW_YORK),  # cancelled: free
                ny_line(3, ny_mon + timedelta(days=3), "09:00", NEW_YORK)]  # not Maya's
    for line in expected:
        assert line in offer.payload["body"], offer.payload["body"]
    assert "Tue" not in offer.payload["body"]  # Maya's day off (all-day event)
    assert offer.payload["to"] == NINA["email"] and offer.untrusted_input
    assert "America/New_York (their contact record)" in offer.rationale
    assert [h.payload["uid"] for h in holds] == [
        f"aios-{offer.proposal_id}-{i}" for i in (1, 2, 3)]
    for h, line in zip(holds, expected, strict=True):
        start = datetime.fromisoformat(h.payload["start"])
        assert start.utcoffset() == start.astimezone(BERLIN).utcoffset()  # Berlin offset
        assert f"{start.astimezone(NEW_YORK):%H:%M}" in line
        assert h.payload["tzid"] == "Europe/Berlin" and h.payload["attendees"] == []
        assert offer.proposal_id in h.rationale and h.expires_at == offer.expires_at
        assert datetime.fromisoformat(h.payload["end"]) - start == timedelta(minutes=30)
    # Omar: his zone from the meeting he organized; Berlin 09:00 is late afternoon in Tokyo
    (omar,) = by_target(out, OMAR, "send_email")
    assert "Asia/Tokyo (the time zone of meetings they organized)" in omar.rationale
    assert ny_line(1, monday, "09:00", BERLIN).split(": ", 1)[1][:16] in " ".join(
        h.rationale for h in by_target(out, OMAR, "calendar_hold"))
    assert "JST (Asia/Tokyo)" in omar.payload["body"]
    # Leo's last message asked for nothing: a plain nudge, no holds
    assert [p.action_type for p in out.proposals if p.target_entity_id == LEO["entity_id"]] \
        == ["send_email"]
    assert new == len(out.proposals) == 9 and out.stats["meeting_offers"] == 2

    # the canary (shadow) version offers Nina the same times: nothing drifts
    with DuckDBWarehouse(home=str(home)).read() as con:
        shadow, _ = run_agent(con, load_manifests()["followup"]["canary"],
                              as_of=clock(monday), now=monday, mode="canary")
    assert canary_problems(compare(out.proposals, shadow.proposals)) == []
    assert [p.payload["body"] for p in by_target(shadow, NINA, "send_email")] == [
        offer.payload["body"]]

    # a rerun an hour later proposes the same, byte for byte, and adds nothing
    again, new = run_followup(home, as_of=clock(monday), now=monday + timedelta(hours=1))
    assert new == 0
    assert {p.proposal_id: (p.payload, p.idempotency_key) for p in again.proposals} == {
        p.proposal_id: (p.payload, p.idempotency_key) for p in out.proposals}

    # an ambiguous reply: nothing proposed, and the run says why
    subject = "Re: " + offer.payload["subject"]
    unclear = mail("m-nina-2@x", NINA, MAYA, monday + timedelta(hours=2), subject,
                   "Monday or Wednesday would both work for me.", thread="t-nina-offer")
    out2, new = run_followup(home, as_of=monday + timedelta(hours=3),
                             now=monday + timedelta(hours=3), events=[unclear])
    assert new == 0 and not [p for p in out2.proposals
                             if p.action_type in ("calendar_confirm", "calendar_cancel")]
    assert out2.stats["meeting_replies_unclear"] == 1
    assert "options 1, 2: ambiguous" in " ".join(out2.stats["meeting_notes"])

    # a clear one (the quoted offer below it does not count): confirm option 2, cancel 1 and 3
    picked = mail("m-nina-3@x", NINA, MAYA, monday + timedelta(hours=4), subject,
                  "Let's do Wednesday.\n\nOn Mon, Maya wrote:\n> " + expected[0][10:]
                  + "\n> " + expected[2][10:], thread="t-nina-offer")
    out3, new = run_followup(home, as_of=monday + timedelta(hours=5),
                             now=monday + timedelta(hours=5), events=[picked])
    (confirm,) = by_target(out3, NINA, "calendar_confirm")
    cancels = by_target(out3, NINA, "calendar_cancel")
    assert confirm.payload["uid"] == holds[1].payload["uid"]
    assert confirm.payload["start"] == holds[1].payload["start"]
    assert confirm.payload["attendees"] == [NINA["email"]]  # the invitation goes with the confirm
    assert sorted((c.payload["uid"], c.payload["compensates"]) for c in cancels) == sorted(
        (h.payload["uid"], h.idempotency_key) for h in (holds[0], holds[2]))
    assert new == 3 and out3.stats["meeting_picks"] == 1
    _, new = run_followup(home, as_of=monday + timedelta(hours=5),
                          now=monday + timedelta(hours=6))
    assert new == 0  # the same pick is proposed once


def test_approved_holds_wait_in_the_outbox_without_a_calendar_adapter(home, pg_url,
                                                                       monkeypatch):
    """Gated and approved like any proposal; with no calendar adapter the holds stay
    pending in the outbox with the reason, the e-mail waits for SMTP the same way."""
    from aios_assets.cli import app

    url = fresh_database(pg_url, "calslots")
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    for var in ("AIOS_SMTP_HOST", "AIOS_WEBHOOK_URL", "AIOS_API_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    out, _ = run_followup(home, as_of=clock(next_monday()), now=next_monday())
    (offer,) = by_target(out, NINA, "send_email")
    ids = [offer.proposal_id, *(h.proposal_id for h in by_target(out, NINA, "calendar_hold"))]
    runner = CliRunner()
    res = runner.invoke(app, ["approve", *ids])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["publish", "--json"])
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["published_actions"]["enqueued"] == 4, res.output
    with psycopg.connect(url) as con:
        rows = con.execute("SELECT action_type, capability, status, last_error, payload "
                           "FROM aios.outbox ORDER BY payload ->> 'uid' NULLS FIRST").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("send_email", "email", "pending"), *[("calendar_hold", "calendar", "pending")] * 3]
    assert all("no adapter configured for capability 'calendar'" in r[3] for r in rows[1:])
    assert [r[4]["uid"] for r in rows[1:]] == [f"aios-{offer.proposal_id}-{i}" for i in (1, 2, 3)]


def test_approved_holds_reach_a_real_calendar_exactly_once(home, pg_url, radicale, monkeypatch):
    """End to end with a calendar: the offer's holds, approved with `aios approve` and published
    with `aios publish`, are on a real CalDAV server (Radicale) as tentative events at the
    offered times, once each; publishing again adds nothing."""
    import caldav
    import icalendar

    from aios_assets.cli import app

    url = fresh_database(pg_url, "calslots_e2e")
    monkeypatch.setenv("AIOS_POSTGRES_URL", url)
    for var in ("AIOS_SMTP_HOST", "AIOS_WEBHOOK_URL", "AIOS_API_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    radicale.add_user("maya", "pw-maya")
    client = caldav.DAVClient(url=radicale.url, username="maya", password="pw-maya")
    work = client.principal().make_calendar(name="Work", cal_id="work")
    for var, value in (("AIOS_CALDAV_URL", radicale.url), ("AIOS_CALDAV_USER", "maya"),
                       ("AIOS_CALDAV_PASSWORD", "pw-maya"), ("AIOS_CALDAV_CALENDARS", "Work")):
        monkeypatch.setenv(var, value)
    out, _ = run_followup(home, as_of=clock(next_monday()), now=next_monday())
    (offer,) = by_target(out, NINA, "send_email")
    holds = by_target(out, NINA, "calendar_hold")
    runner = CliRunner()
    res = runner.invoke(app, ["approve", offer.proposal_id, *(h.proposal_id for h in holds)])
    assert res.exit_code == 0, res.output
    for _ in range(2):  # the second publish finds them delivered
        res = runner.invoke(app, ["publish", "--json"])
        assert res.exit_code == 0, res.output

    events: dict[str, list] = {}
    for obj in work.objects(load_objects=True):
        for ev in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            events.setdefault(str(ev["uid"]), []).append(ev)
    want = {h.payload["uid"]: h.payload for h in holds}
    assert {uid: len(evs) for uid, evs in events.items()} == {uid: 1 for uid in want}
    for uid, payload in want.items():
        (ev,) = events[uid]
        assert str(ev["status"]) == "TENTATIVE"
        assert ev.decoded("dtstart") == datetime.fromisoformat(payload["start"])
        assert ev.decoded("dtend") == datetime.fromisoformat(payload["end"])
    with psycopg.connect(url) as con:
        statuses = dict(con.execute("SELECT action_type || ':' || coalesce(payload ->> 'uid', ''),"
                                    " status FROM aios.outbox").fetchall())
    assert sorted(statuses.values()) == ["delivered"] * 3 + ["pending"]  # the mail: no SMTP
