"""A newcomer's first hour, on one small demo home built once for the module (`aios demo` at a
tiny scale, run with pipes as a CI job or `make demo | tee` would): stage lines without a
terminal, the summary by status, tables that fit 80 columns with short ids the commands
accept, one status vocabulary, and `aios replay` windows."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from aios_assets.publishing.status import MEANING, STATUSES, status_word
from tests.conftest import ROOT, event, run_aios, write_jsonl

STAGE = re.compile(r"^\[\s*(\d+\.\d)s\] (.+)$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, object]]:
    from aios_assets.shared.home import AiosHome
    from resources.postgres import stop_embedded

    home = AiosHome.from_env(tmp_path_factory.mktemp("first-hour") / "home").ensure()
    # seed 7, 7 days at scale 0.03: 136 events, and proposals of every kind (awaiting
    # approval, held back by gates, autonomous)
    res = run_aios("demo", "--days", "7", "--scale", "0.03", home=home.root,
                   env={"AIOS_POSTGRES_URL": "", "AIOS_LLM_BASE_URL": ""}, timeout=900)
    yield home.root, res
    if (home.pg / "PG_VERSION").exists():
        stop_embedded(home)


def aios(home: Path, *args: str, **env: str):
    return run_aios(*args, home=home, env={"AIOS_POSTGRES_URL": "", "COLUMNS": "80", **env})


def stages(stderr: str) -> list[tuple[float, str]]:
    return [(float(m[1]), m[2]) for line in stderr.splitlines() if (m := STAGE.match(line))]


def assert_in_order(lines: list[str], wanted: list[str]) -> None:
    at = 0
    for w in wanted:
        found = [i for i, line in enumerate(lines) if i >= at and line.startswith(w)]
        assert found, f"no stage line {w!r} after line {at}: {lines}"
        at = found[0] + 1


def proposals(home: Path) -> list[dict]:
    res = aios(home, "proposals", "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


# --- 1. progress without a terminal ----------------------------------------------------------


def test_demo_prints_stage_lines_in_order_without_a_terminal(demo):
    home, res = demo
    assert res.returncode == 0, res.stderr[-3000:]
    got = stages(res.stderr)
    times = [t for t, _ in got]
    assert times == sorted(times) and times[-1] > 10  # elapsed since the command started
    assert_in_order([text for _, text in got], [
        "generated events: ", "loading the definitions", "running ingest_and_update_job",
        "ingest_files: 136 new events, 0 rejected", "dbt build: 27 models", "semantic_memory: ",
        "summaries: ", "agent_triage: ", "action_proposals: ", "proposal_gate_results: ",
        "run "])
    assert got[-1][1].endswith("succeeded (25 checks run)")
    # never quiet for long: between two lines at most the "still running" interval and a step
    assert max(b - a for a, b in zip(times, times[1:], strict=False)) < 60
    assert "Traceback" not in res.stderr and "XDG_RUNTIME_DIR" not in res.stderr
    assert "INFO:" not in res.stderr  # no library log lines leak onto the user's terminal


def test_ingest_prints_stage_lines_without_a_terminal(demo, tmp_path):
    home, _ = demo
    f = write_jsonl(tmp_path / "late.jsonl", [event(f"late-{uuid.uuid4().hex[:8]}",
                                                    "One more note about Acme")])
    res = aios(home, "ingest", str(f), "--no-materialize")
    assert res.returncode == 0, res.stderr
    assert_in_order([text for _, text in stages(res.stderr)], [
        "loading the definitions", "running ingest_job (1 path(s))",
        "ingest_files: 1 new events, 0 rejected", "run "])


# --- 5. the summary ----------------------------------------------------------------------------


def test_summary_says_awaiting_held_back_and_autonomous(demo):
    home, res = demo
    rows = proposals(home)
    by_status = Counter(r["status"] for r in rows)
    per_gate = Counter(g for r in rows if r["status"] == "failed_gate"
                       for g in {x["gate"] for x in r["failed_gates"]})
    # the demo home holds each kind
    assert by_status["pending"] and by_status["failed_gate"] and by_status["autonomous"]
    gates = ", ".join(f"{g} {n}" for g, n in sorted(per_gate.items(),
                                                     key=lambda kv: (-kv[1], kv[0])))
    for out in (res.stdout, aios(home, "summary").stdout):
        cells = {m[1].strip(): m[2].strip() for m in re.finditer(r"│ (.+?)│ (.+?)│", out)}
        assert cells["proposals waiting for approval"].startswith(f"{by_status['pending']} (")
        assert cells["held back by gates"] == (
            f"{by_status['failed_gate']} (failed_gate: {gates})")
        assert cells["autonomous"].startswith(f"{by_status['autonomous']} (")
        # not one number for every live proposal, as "proposals waiting 6" was
        assert by_status["pending"] < len(rows)


# --- 3. tables fit 80 columns, short ids the commands accept ---------------------------------


def test_tables_fit_80_columns(demo):
    home, _ = demo
    pid = proposals(home)[0]["proposal_id"]
    for args in (["proposals"], ["intent", "list"], ["recall", "invoice"],
                 ["sql", "select * from action_proposals limit 3"], ["cost"], ["summary"],
                 ["audit", pid], ["proposals", "--help"], ["replay", "--help"]):
        res = aios(home, *args)
        assert res.returncode == 0, (args, res.stderr)
        # the tables and help (stdout); messages on stderr stay one line each, for the
        # terminal to wrap (an error is one line: tests/test_cli_fresh_home.py)
        long = [line for line in res.stdout.splitlines() if len(line) > 80]
        assert not long, (args, long)
        if args[0] != "audit":  # (audit quotes long texts shortened, never ids)
            assert "…" not in res.stdout, args  # nothing cut: wrapped instead


def test_short_ids_are_unique_prefixes_that_the_commands_accept(demo):
    home, _ = demo
    full = [r["proposal_id"] for r in proposals(home)]
    table = aios(home, "proposals").stdout
    shown = [m[1] for m in re.finditer(r"^ ([0-9a-f]{6,24}) ", table, re.M)]
    assert len(shown) == len(full)
    for short in shown:
        matches = [f for f in full if f.startswith(short)]
        assert len(short) >= 6 and len(matches) == 1, short
    for short in shown[:2]:  # `aios audit` takes them (`aios approve`: the last test)
        audit = aios(home, "audit", short, "--json")
        assert audit.returncode == 0, audit.stderr
        assert json.loads(audit.stdout)["proposal"]["proposal_id"].startswith(short)
    intents = aios(home, "intent", "list", "--json")
    for intent in json.loads(intents.stdout):  # intent ids are shown whole
        assert re.search(rf"^ {intent['id']} ", aios(home, "intent", "list").stdout, re.M)


# --- 4. one status vocabulary ----------------------------------------------------------------


def test_every_command_says_statuses_from_one_vocabulary(demo, monkeypatch):
    from aios_assets.observability.audit import audit_proposal
    from resources.postgres import PostgresStore
    from resources.warehouse import DuckDBWarehouse

    home, _ = demo
    rows = proposals(home)
    assert {r["status"] for r in rows} <= set(STATUSES)
    # audit says the same word as proposals for the same proposal: the CLI for one, the
    # function behind it for all (a CLI start-up costs seconds)
    first = json.loads(aios(home, "audit", rows[0]["proposal_id"], "--json").stdout)["fate"]
    assert status_word(first) == rows[0]["status"], first
    monkeypatch.setenv("AIOS_HOME", str(home))
    monkeypatch.setenv("AIOS_POSTGRES_URL", "")
    with DuckDBWarehouse().read() as con:
        pg_url = PostgresStore().resolved_url()
        for r in rows:
            fate = audit_proposal(con, r["proposal_id"], pg_url=pg_url)["fate"]
            assert status_word(fate) == r["status"], (fate, r)
    entity = next(r["target_entity_id"] for r in rows if r["target_entity_id"])
    report = json.loads(aios(home, "audit", entity, "--kind", "entity", "--json").stdout)
    assert {status_word(f) for f in report["fates"]} <= set(STATUSES)
    # the table's footer and the summary count with the same words
    footer = aios(home, "proposals").stderr
    for status, n in Counter(r["status"] for r in rows).items():
        assert f"{n} {status}" in footer
    # the docs define each word, and the CLI's help lists them
    docs = (ROOT / "docs" / "approvals.md").read_text()
    help_text = " ".join(aios(home, "proposals", "--help").stdout.split())
    for status, meaning in MEANING.items():
        assert f"| `{status}` | {meaning} |" in docs, status
        assert status in help_text, status


# --- 6. replay windows -----------------------------------------------------------------------


def test_replay_compares_with_what_was_proposed_in_the_same_window(demo):
    home, _ = demo
    from datetime import datetime

    def q(sql: str) -> list[dict]:
        return json.loads(aios(home, "sql", sql, "-f", "json").stdout)

    triage = [r["proposal_id"] for r in q("select proposal_id from action_proposals "
                                          "where agent = 'triage' and mode = 'live'")]
    assert triage
    # the demo's data was ingested, then the agents ran (later ingests do not count here)
    (t,) = q("select (select max(ingested_at) from event_log where ingested_at < (select "
             "min(created_at) from action_proposals)) as ingested, (select min(created_at) "
             "from action_proposals where agent = 'triage') as ran")
    ingested, ran = (datetime.fromisoformat(t[k]) for k in ("ingested", "ran"))
    since = (ingested - timedelta(hours=1)).isoformat()

    def replay(*window: str) -> dict:
        res = aios(home, "replay", "--agent", "triage", *window, "--json")
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    # the whole window: the run in it is replayed, and it proposes what was proposed then
    whole = replay("--since", since)
    assert (whole["then"], whole["same"], whole["added"]) == (len(triage), len(triage), [])
    # a window that ends after the data was ingested but before the agent ran: nothing was
    # proposed in it, and the replay's proposals were made after it: "later", not "added"
    assert ingested < ran
    before_run = (ingested + (ran - ingested) / 2).isoformat()
    early = replay("--since", since, "--until", before_run)
    assert early["runs"] and not early["runs"][0]["run_id"]  # no run then: one at the end
    assert (early["then"], early["added"], early["removed"]) == (0, [], [])
    assert early["later"] == early["now"] == len(triage)
    out = aios(home, "replay", "--agent", "triage", "--since", since, "--until", before_run)
    assert f"0 added, 0 removed, 0 proposed before the window, {len(triage)} after it" \
        in " ".join(out.stdout.split())


def test_approve_accepts_the_short_id_the_table_shows(demo):
    """Last: it changes the home (one proposal approved)."""
    home, _ = demo
    pending = next(r["proposal_id"] for r in proposals(home) if r["status"] == "pending")
    table = aios(home, "proposals", "--status", "pending").stdout
    short = next(m[1] for m in re.finditer(r"^ ([0-9a-f]{6,24}) ", table, re.M)
                 if pending.startswith(m[1]))
    res = aios(home, "approve", short)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["approved", pending]
    assert {r["proposal_id"]: r["status"] for r in proposals(home)}[pending] == "approved"
