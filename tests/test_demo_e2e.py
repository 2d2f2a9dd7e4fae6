"""`aios demo` end to end on the embedded default: offline, no key, a summary, exit 0."""

from __future__ import annotations

import json

from tests.conftest import run_aios


def test_demo_runs_the_pipeline_and_prints_a_summary(aios_home):
    res = run_aios("demo", "--scale", "0.3", "--days", "30", home=aios_home,
                   env={"OPENAI_API_KEY": "", "AIOS_POSTGRES_URL": ""}, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    for label in ("events ingested", "quarantined", "entities", "proposals waiting", "LLM cost"):
        assert label in res.stdout
    truth = json.loads((aios_home / "demo" / "ground_truth.json").read_text())
    q = run_aios("sql", "select count(*) n, count(distinct source) s from event_log", "-f",
                 "json", home=aios_home)
    counts = json.loads(q.stdout)[0]
    assert counts["n"] > 100 and counts["s"] >= 6
    # Every record the ground truth names is in the event log, under the same source_id.
    wanted = {(r["source"], r["source_id"]) for r in truth["records"]}
    q = run_aios("sql", "select distinct source, source_id from event_log", "-f", "json",
                 home=aios_home)
    logged = {(r["source"], r["source_id"]) for r in json.loads(q.stdout)}
    assert wanted <= logged, sorted(wanted - logged)[:5]
    assert json.loads(run_aios("sql", "select count(*) n from quarantine", "-f", "json",
                               home=aios_home).stdout)[0]["n"] == 0
