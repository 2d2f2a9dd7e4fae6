"""The planner's manifest (escalation notes) and shipping the manifests in a wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from aios_assets.agents.assets import PLANNER, PLANNER_VERSION, planner_version
from aios_assets.agents.intents import IntentsFileError, load_intents
from aios_assets.agents.manifests import PACKAGE_DIR, load_manifests
from aios_assets.publishing.data import allowed_capabilities

ROOT = Path(__file__).resolve().parent.parent


def test_planner_has_a_manifest_and_only_internal_notes(aios_home):
    planner = load_manifests([PACKAGE_DIR])[PLANNER]["current"]
    assert planner.action_types == ("internal_note",) and planner.capabilities == ()
    assert planner.version == PLANNER_VERSION == planner_version()
    allowed = allowed_capabilities()
    assert allowed[PLANNER] == {"none"}  # publishing refuses anything else from the planner
    assert allowed["billing"] == {"email", "none"}


def test_the_planner_is_not_an_intent_agent(aios_home, tmp_path):
    path = tmp_path / "intents.yaml"
    path.write_text("intents:\n  - id: x\n    goal: g\n    kpi: {name: stale_leads, target: 0, "
                    "direction: down}\n    agents: [planner]\n")
    with pytest.raises(IntentsFileError, match="unknown agent"):
        load_intents(path)


def test_manifests_ship_as_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["aios_assets.agents"]
    base = ROOT / "aios_assets" / "agents"
    files = sorted(PACKAGE_DIR.glob("*.yaml"))
    assert len(files) >= 6
    for f in files:
        assert any(f.relative_to(base).match(p) for p in patterns), f.name
