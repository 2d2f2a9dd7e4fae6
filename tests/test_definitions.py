"""Definitions load, validate, and describe every asset for the UI."""

from __future__ import annotations

import subprocess
import sys

from aios_assets.definitions import defs
from tests.conftest import ROOT


def test_every_asset_has_group_description_and_kind():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name and node.group_name != "default", key
        assert node.description, key
        assert node.kinds, key


def test_expected_jobs_and_sensors_exist():
    assert defs.resolve_job_def("ingest_job")
    assert defs.resolve_job_def("ingest_and_update_job")
    assert defs.resolve_sensor_def("inbox_sensor")


def test_dagster_validates_the_workspace(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path),
             "AIOS_HOME": str(tmp_path / "home")},
    )
    assert res.returncode == 0, res.stdout + res.stderr
    # Loading definitions must not create state or touch the network.
    assert not (tmp_path / "home").exists()


def test_every_asset_has_the_operator_as_owner_and_its_domain_tag() -> None:
    """Set where each domain's Definitions are built (shared.automation.in_domain); the domain
    is the package under aios_assets/ that defines the asset."""
    from aios_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    nodes = [graph.get(k) for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    assert len(nodes) == 48
    assert {tuple(n.owners) for n in nodes} == {("team:operator",)}
    domains = {n.key.to_user_string(): n.tags.get("domain") for n in nodes}
    assert set(domains.values()) == {"ingest", "entities", "memory", "agents", "publishing",
                                     "observability"}
    assert (domains["event_log"], domains["dim_contacts"], domains["summaries"],
            domains["agent_brief"], domains["published_actions"],
            domains["cost_ledger"]) == ("ingest", "entities", "memory", "agents",
                                        "publishing", "observability")
