"""Intents: defaults written when missing, typed loading, clear errors, aios intent add/list."""

import json

import pytest
from typer.testing import CliRunner

from aios_assets.agents.intents import (
    IntentsFileError,
    ensure_default_intents,
    intents_for_agent,
    load_intents,
)
from aios_assets.cli import app
from resources.home import AiosHome


def test_defaults_cover_the_demo(aios_home):
    path = ensure_default_intents(AiosHome.from_env())
    intents = load_intents(path)
    assert {i.id for i in intents} == {"inbox_triage", "follow_up_stale_leads",
                                       "chase_overdue_invoices", "weekly_newsletter",
                                       "daily_brief"}
    assert {a for i in intents for a in i.agents} == {"triage", "followup", "billing",
                                                      "content", "brief"}
    assert intents_for_agent(intents, "billing")[0].constraints.min_confidence == 0.5
    path.write_text("# mine\nversion: 1\nintents: []\n")
    ensure_default_intents(AiosHome.from_env())  # never overwrites the operator's file
    assert load_intents(path) == []


@pytest.mark.parametrize("text, message", [
    ("intents: [ {id: x", "not valid YAML at line"),
    ("- just\n- a list\n", "top level must be a mapping"),
    ("intents:\n  - id: BadId\n    goal: do it\n    kpi: {name: k}\n    agents: [brief]\n",
     r"intents\[0\] \(BadId\)\.id"),
    ("intents:\n  - id: ok_one\n    goal: do it\n    kpi: {name: k}\n    agents: [hacker]\n",
     "unknown agent"),
    ("intents:\n  - id: ok_one\n    goal: do it\n    kpi: {name: k}\n    agents: [brief]\n"
     "    autonomy: yolo\n", "autonomy"),
    ("intents:\n  - id: ok_one\n    goal: do it\n    kpi: {name: k}\n    agents: [brief]\n"
     "    constraints: {quiet_hours: '25:00-08:00'}\n", "quiet_hours"),
    ("intents:\n  - {id: a_b, goal: do it, kpi: {name: k}, agents: [brief]}\n"
     "  - {id: a_b, goal: do it, kpi: {name: k}, agents: [brief]}\n", "appears twice"),
    ("intents:\n  - id: ok_one\n    goal: do it\n    kpi: {name: k}\n    agents: [brief]\n"
     "    colour: blue\n", "colour"),
])
def test_bad_files_say_where(tmp_path, text, message):
    path = tmp_path / "intents.yaml"
    path.write_text(text)
    with pytest.raises(IntentsFileError, match=message) as err:
        load_intents(path)
    assert str(path) in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(IntentsFileError, match="no intents file"):
        load_intents(tmp_path / "nope.yaml")


def test_cli_add_and_list(aios_home):
    runner = CliRunner()
    res = runner.invoke(app, ["intent", "add", "pay_me", "--goal", "Get paid on time",
                              "--kpi", "overdue_balance", "--agent", "billing",
                              "--cadence", "weekly"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["intent", "list", "--json"])
    assert res.exit_code == 0, res.output
    listed = {i["id"]: i for i in json.loads(res.stdout)}
    assert listed["pay_me"]["cadence"] == "weekly" and len(listed) == 6
    dup = runner.invoke(app, ["intent", "add", "pay_me", "--goal", "again", "--kpi", "k",
                              "--agent", "billing"])
    assert dup.exit_code == 1 and "exists" in dup.output
    bad = runner.invoke(app, ["intent", "add", "x_y", "--goal", "bad agent", "--kpi", "k",
                              "--agent", "wire_bot"])
    assert bad.exit_code == 1 and "unknown agent" in bad.output
