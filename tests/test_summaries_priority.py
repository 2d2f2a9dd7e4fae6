"""Summaries where they matter first: with an LLM endpoint the pipeline writes the current
week's summaries (the week of the newest event) and leaves the rest as a backlog, which
``summaries_backfill_job`` (started by ``summaries_backfill_sensor``) writes afterwards.

Real DuckDB, the real loopback OpenAI-compatible server with a latency, a real ``LLMResource``
with its Postgres ledger, a real Dagster instance for the sensor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest

from aios_assets.ingest.loader import ingest_paths
from aios_assets.memory.summaries import (
    ALL_SCOPE_CONFIG,
    BACKLOG_KEY,
    SummariesConfig,
    plan_backfill,
    summaries,
    summaries_backfill_job,
)
from aios_assets.memory.summary_refresh import (
    PriorityWindow,
    SummarySettings,
    UnknownScope,
    check_scope,
    priority_window,
    refresh_summaries,
    split_priority,
    week_label,
)
from aios_assets.testing.openai_server import OpenAIServer
from resources.llm import LLMResource
from resources.warehouse import DuckDBWarehouse
from sensors.summaries import summaries_backfill_sensor
from tests.conftest import event, write_jsonl

NOW = datetime(2025, 3, 17, tzinfo=UTC)
CURRENT = datetime(2025, 3, 10, tzinfo=UTC)  # Monday of the newest event's week (2025-W11)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the picker (pure) ---------------------------------------------------------------------


def test_the_current_week_is_the_iso_week_of_the_newest_event() -> None:
    monday = utc("2025-03-10T00:00:00")
    assert priority_window(None) is None  # an empty log: nothing to put first
    for newest in ("2025-03-10T00:00:00", "2025-03-12T13:00:00", "2025-03-16T23:59:59"):
        window = priority_window(utc(newest))
        assert window == PriorityWindow(monday, monday + timedelta(days=7)), newest
        assert window.label == "2025-W11"
    # one second before Monday is still the week before; naive times are UTC
    assert priority_window(utc("2025-03-09T23:59:59")).start == monday - timedelta(days=7)
    assert priority_window(datetime(2025, 3, 10, 0, 0)).start == monday
    # Monday 01:00 at UTC+2 is Sunday 23:00 UTC: the week before
    plus2 = datetime(2025, 3, 10, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert priority_window(plus2).start == monday - timedelta(days=7)
    # ISO weeks across a year end: 2024-12-30 (Monday) starts 2025-W01
    assert week_label(utc("2025-01-01T12:00:00")) == "2025-W01"
    assert priority_window(utc("2025-01-01T12:00:00")).start == utc("2024-12-30T00:00:00")


def test_units_overlapping_the_window_are_priority_at_every_level() -> None:
    window = priority_window(utc("2025-03-16T23:30:00"))  # newest event on a Sunday
    day = timedelta(days=1)
    units = {
        "thread Sunday before": (utc("2025-03-09T00:00:00"), utc("2025-03-10T00:00:00")),
        "thread Monday": (utc("2025-03-10T00:00:00"), utc("2025-03-11T00:00:00")),
        "daily Sunday": (utc("2025-03-16T00:00:00"), utc("2025-03-17T00:00:00")),
        "daily next Monday": (utc("2025-03-17T00:00:00"), utc("2025-03-18T00:00:00")),
        "weekly W11": (CURRENT, CURRENT + 7 * day),
        "weekly W10": (CURRENT - 7 * day, CURRENT),
        "entity W11": (CURRENT, CURRENT + 7 * day),
    }
    first, later = split_priority(units.items(), window, lambda kv: kv[1])
    assert [k for k, _ in first] == ["thread Monday", "daily Sunday", "weekly W11",
                                     "entity W11"]
    assert [k for k, _ in later] == ["thread Sunday before", "daily next Monday", "weekly W10"]
    # newest event on the Monday after: that Monday's week is the current one
    monday_window = priority_window(utc("2025-03-17T08:00:00"))
    first, _ = split_priority(units.items(), monday_window, lambda kv: kv[1])
    assert [k for k, _ in first] == ["daily next Monday"]
    # no window (scope all, or an empty log): everything is written
    assert split_priority(units.items(), None, lambda kv: kv[1]) == (list(units.items()), [])


def test_scope_is_checked_before_any_work() -> None:
    assert check_scope("priority") == "priority"
    with pytest.raises(UnknownScope, match="known"):
        check_scope("recent")
    with pytest.raises(dg.Failure, match="unknown summaries scope"):
        SummariesConfig(scope="recent").settings()


def test_the_backfill_decision() -> None:
    request, cursor = plan_backfill(12, "run-a", True, False, None)
    assert isinstance(request, dg.RunRequest) and cursor == "run-a"
    assert request.run_key == "summaries-backfill-after-run-a"
    # once per materialization; not before its run ends (its proposals would queue behind the
    # backfill), not while a backfill is running, not without a backlog
    assert plan_backfill(12, "run-a", True, False, "run-a")[1] == "run-a"
    assert isinstance(plan_backfill(12, "run-a", True, False, "run-a")[0], dg.SkipReason)
    assert plan_backfill(12, "run-b", False, False, "run-a") == (
        dg.SkipReason("waiting for run run-b to finish"), "run-a")
    assert plan_backfill(12, "run-b", True, True, "run-a") == (
        dg.SkipReason("a summaries backfill is queued or running"), "run-a")
    assert isinstance(plan_backfill(0, "run-b", True, False, "run-a")[0], dg.SkipReason)
    assert isinstance(plan_backfill(None, None, True, False, None)[0], dg.SkipReason)


# --- the asset with a slow endpoint ----------------------------------------------------------

# three ISO weeks; the newest event is on the Sunday of 2025-W11
OLD_WEEK = [  # 2025-W09: thread a on Tue 02-25, an event without a thread on Wed 02-26
    event("a1", "Quote Q-1 for $300 sent.", thread="a", occurred_at="2025-02-25T09:00:00Z"),
    event("n1", "Call notes: renewal due on 31 March 2025.", thread=None,
          occurred_at="2025-02-26T10:00:00Z"),
]
LATER = [
    # 2025-W09 again: thread a's day changes (its thread-day, day and week become stale)
    event("a2", "Quote Q-1 accepted for $300.", thread="a", occurred_at="2025-02-25T15:00:00Z"),
    # 2025-W10: thread b on 03-04, thread c on 03-06 and 03-07, no thread on 03-05
    event("b1", "Invoice INV-7 for $700 is due on 20 March 2025.", thread="b",
          occurred_at="2025-03-04T09:00:00Z"),
    event("n2", "Supplier called about $120.", thread=None, occurred_at="2025-03-05T09:00:00Z"),
    event("c1", "Kickoff planned for 12 March 2025.", thread="c",
          occurred_at="2025-03-06T09:00:00Z"),
    event("c2", "Budget set at $5,000.", thread="c", occurred_at="2025-03-07T09:00:00Z"),
    # 2025-W11 (current): thread c goes on (03-10), no thread on 03-12, thread d on Sunday
    event("c3", "Kickoff moved to 14 March 2025.", thread="c", occurred_at="2025-03-10T09:00:00Z"),
    event("n3", "Paid $80 for hosting.", thread=None, occurred_at="2025-03-12T09:00:00Z"),
    event("d1", "Can we meet on 18 March 2025?", thread="d", occurred_at="2025-03-16T23:30:00Z"),
]
# 2025-W11's units: thread-days c@03-10 and d@03-16, days 03-10, 03-12, 03-16, the week
CURRENT_UNITS = 6
# left for later: thread-days a@02-25 (stale), b@03-04, c@03-06, c@03-07; days 02-25 (stale),
# 03-04, 03-05, 03-06, 03-07 (02-26 is unchanged); weeks W09 (stale) and W10
BACKLOG = 4 + 5 + 2


def must_keep(prompt: str) -> str:
    """A faithful answer: the MUST KEEP lines of the prompt (one call per summary)."""
    return prompt.split("MUST KEEP:\n", 1)[1].split("\n\nSOURCES:", 1)[0]


def ingest(tmp_path: Path, records: list[dict]) -> None:
    path = write_jsonl(tmp_path / f"in-{uuid.uuid4().hex[:8]}.jsonl", records)
    with DuckDBWarehouse().connect() as con:
        ingest_paths(con, [path])


def table() -> list[tuple]:
    with DuckDBWarehouse().connect() as con:
        return con.execute(
            "SELECT level, scope_id, period_start, summary_id, created_at, text, method "
            "FROM summaries ORDER BY level, period_start, scope_id").fetchall()


@pytest.fixture
def server() -> OpenAIServer:
    server = OpenAIServer(latency_s=0.05).start()
    server.script("cheap-m", must_keep)
    yield server
    server.stop()


def llm_for(server: OpenAIServer, pg_url: str) -> LLMResource:
    # no cache: every summary reaches the server, in every run
    return LLMResource(base_url=server.url, api_key="sk-test", cheap_model="cheap-m",
                       strong_model="strong-m", postgres_url=pg_url, cache_ttl_s=0)


def materialize(llm: LLMResource, instance: dg.DagsterInstance | None = None,
                **config: object) -> dict:
    result = dg.materialize(
        [summaries], instance=instance,
        resources={"warehouse": DuckDBWarehouse(), "llm": llm},
        run_config={"ops": {"summaries": {"config": config}}},
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node("summaries")
    return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}


@pytest.mark.usefixtures("aios_home")
def test_priority_first_then_the_backlog_equals_one_full_run(
        pg_url: str, tmp_path: Path, server: OpenAIServer) -> None:
    llm = llm_for(server, pg_url)
    ingest(tmp_path, OLD_WEEK)
    assert materialize(llm, scope="all")[BACKLOG_KEY] == 0
    old_rows = table()
    assert {r[0] for r in old_rows} == {"thread", "daily", "weekly"}

    ingest(tmp_path, LATER)
    before = server.count("/chat/completions")
    meta = materialize(llm)  # the pipeline's default: scope priority
    assert server.count("/chat/completions") - before == CURRENT_UNITS  # one call each
    assert meta["recomputed"] == CURRENT_UNITS
    assert meta[BACKLOG_KEY] == BACKLOG
    assert meta["scope"] == "priority: week 2025-W11"
    assert meta["removed"] == 0
    rows = table()
    written = [r for r in rows if r[2] >= CURRENT]
    assert len(written) == CURRENT_UNITS and {r[6] for r in written} == {"llm"}
    # the older rows, stale ones included, are exactly as they were; 2025-W10 is not written
    assert [r for r in rows if r[2] < CURRENT] == old_rows

    before = server.count("/chat/completions")
    meta = materialize(llm, scope="all")  # summaries_backfill_job's config
    assert server.count("/chat/completions") - before == BACKLOG  # exactly the rest
    assert meta["recomputed"] == BACKLOG and meta[BACKLOG_KEY] == 0
    both = table()
    assert [r for r in both if r[2] >= CURRENT] == written  # the current week untouched

    with DuckDBWarehouse().connect() as con:
        con.execute("DELETE FROM summaries")
    materialize(llm, scope="all")  # one full run over the same log

    def ids(rs: list[tuple]) -> list[tuple]:
        return [(lv, scope, start, sid, text) for lv, scope, start, sid, _c, text, _m in rs]
    assert ids(table()) == ids(both)


@pytest.mark.usefixtures("aios_home")
def test_a_unit_gone_outside_the_week_is_left_for_the_backfill(
        pg_url: str, tmp_path: Path, server: OpenAIServer) -> None:
    llm = llm_for(server, pg_url)
    ingest(tmp_path, OLD_WEEK + LATER)
    materialize(llm, scope="all")
    # thread a's two events are corrected to Thursday 02-27 (new versions): the thread-day
    # a@02-25 and the day 02-25 no longer exist, a@02-27 and 02-27 do, the week W09 changes
    ingest(tmp_path, [{**r, "occurred_at": r["occurred_at"].replace("02-25", "02-27")}
                      for r in OLD_WEEK + LATER if r["thread"] == "a"])
    before = table()
    meta = materialize(llm)
    assert (meta["recomputed"], meta["removed"], meta[BACKLOG_KEY]) == (0, 0, 2 + 2 + 1)
    assert table() == before  # the gone units' rows stay until the backfill
    meta = materialize(llm, scope="all")
    assert (meta["recomputed"], meta["removed"], meta[BACKLOG_KEY]) == (3, 2, 0)
    days = {start.date().isoformat() for lv, _s, start, *_ in table() if lv != "weekly"}
    assert "2025-02-27" in days and "2025-02-25" not in days


@pytest.mark.usefixtures("aios_home")
def test_without_an_endpoint_everything_is_written(tmp_path: Path) -> None:
    ingest(tmp_path, OLD_WEEK + LATER)
    with DuckDBWarehouse().connect() as con:
        report = refresh_summaries(con, DuckDBWarehouse().layout.root,
                                   SummarySettings(scope="priority"), llm=None, now=NOW)
    assert report.window is None and report.backlog == 0
    for level in ("thread", "daily", "weekly"):
        r = report.levels[level]
        assert r.recomputed == r.units > 0 and r.backlog == 0, level
    assert len(table()) == CURRENT_UNITS + BACKLOG + 1  # + the unchanged day 02-26
    assert {r[6] for r in table()} == {"extractive"}


@pytest.mark.usefixtures("aios_home")
def test_a_future_meeting_does_not_move_the_current_week(
        pg_url: str, tmp_path: Path, server: OpenAIServer) -> None:
    meeting = event("m1", "Annual review on 2 March 2027.", kind="meeting", thread=None,
                    occurred_at="2027-03-02T10:00:00Z")  # a calendar event: its start
    ingest(tmp_path, OLD_WEEK + LATER + [meeting])
    with DuckDBWarehouse().connect() as con:
        report = refresh_summaries(con, DuckDBWarehouse().layout.root,
                                   SummarySettings(scope="priority"),
                                   llm=llm_for(server, pg_url), now=NOW)
    assert report.window.label == "2025-W11"
    assert report.recomputed == CURRENT_UNITS
    assert max(r[2] for r in table()) < CURRENT + timedelta(days=7)  # 2027 is in the backlog
    # a log of future events only: the newest of them
    with DuckDBWarehouse().connect() as con:
        report = refresh_summaries(con, DuckDBWarehouse().layout.root,
                                   SummarySettings(scope="priority"),
                                   llm=llm_for(server, pg_url), now=CURRENT - timedelta(days=60))
    assert report.window.label == "2027-W09"


# --- the sensor --------------------------------------------------------------------------


def tick(instance: dg.DagsterInstance, cursor: str | None) -> tuple[object, str | None]:
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = summaries_backfill_sensor(context)
    return result, context.cursor


@pytest.mark.usefixtures("aios_home")
def test_the_sensor_requests_one_backfill_while_there_is_a_backlog(
        pg_url: str, tmp_path: Path, server: OpenAIServer) -> None:
    llm = llm_for(server, pg_url)
    ingest(tmp_path, OLD_WEEK + LATER)
    with dg.DagsterInstance.ephemeral() as instance:
        assert isinstance(tick(instance, None)[0], dg.SkipReason)  # never materialized
        backlog = materialize(llm, instance)[BACKLOG_KEY]  # priority on a new table
        assert backlog == BACKLOG + 1  # + the day 02-26, never written here
        request, cursor = tick(instance, None)
        assert isinstance(request, dg.RunRequest)
        assert request.tags["aios/backlog"] == str(backlog)
        assert isinstance(tick(instance, cursor)[0], dg.SkipReason)  # requested already

        # a backfill run in progress: a new refresh with a backlog does not start another
        running = dg.DagsterRun(job_name=summaries_backfill_job.name,
                                run_id=str(uuid.uuid4()), run_config=ALL_SCOPE_CONFIG,
                                status=dg.DagsterRunStatus.STARTED)
        instance.add_run(running)
        materialize(llm, instance)
        skip, cursor = tick(instance, cursor)
        assert skip == dg.SkipReason("a summaries backfill is queued or running")

        instance.report_run_failed(running)
        request, cursor = tick(instance, cursor)  # it ended: the newer backlog gets its run
        assert isinstance(request, dg.RunRequest)

        materialize(llm, instance, scope="all")  # the backfill: no backlog left
        assert isinstance(tick(instance, cursor)[0], dg.SkipReason)


def test_the_cli_names_the_backlog_and_summaries_fill_writes_it(
        aios_home: Path, pg_url: str, tmp_path: Path, server: OpenAIServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Without `aios ui` (no daemon, no sensor) the operator is told what is left and how to
    write it; `aios summaries-fill` (the real CLI, the default Definitions' LLM resource from
    the environment) writes exactly the backlog."""
    from aios_assets.cli import _print_summaries_backlog
    from tests.conftest import run_aios

    server.script("gpt-4o-mini", must_keep)  # the default Definitions' cheap model
    ingest(tmp_path, OLD_WEEK + LATER)
    instance = dg.DagsterInstance.get()  # the home's instance, as the CLI opens it
    assert materialize(llm_for(server, pg_url), instance)[BACKLOG_KEY] > 0
    backlog = materialize(llm_for(server, pg_url), instance, scope="priority")[BACKLOG_KEY]
    capsys.readouterr()
    _print_summaries_backlog()
    said = capsys.readouterr().err
    assert f"summaries: {backlog:,} older summaries left" in said and "summaries-fill" in said

    before = server.count("/chat/completions")
    done = run_aios("summaries-fill", home=aios_home, env={
        "AIOS_LLM_BASE_URL": server.url, "AIOS_LLM_API_KEY": "sk-test",
        "AIOS_POSTGRES_URL": pg_url, "AIOS_PROGRESS": "0"})
    assert done.returncode == 0, done.stderr
    assert f"summaries: {backlog:,} written, 0 removed, 0 left" in done.stderr, done.stderr
    assert server.count("/chat/completions") - before == backlog
    capsys.readouterr()
    _print_summaries_backlog()  # nothing left: nothing said
    assert "older summaries" not in capsys.readouterr().err
