"""Curation: old verbose events covered by passing summaries move to verified Parquet files;
everything else stays hot; archived evidence stays reachable; re-ingest and crashes are safe."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from aios_assets.ingest.loader import ingest_paths
from aios_assets.memory import curation
from aios_assets.memory.curation import CurationError, archive_cold, cold_archive
from aios_assets.memory.summaries import summaries, summaries_fidelity
from aios_assets.memory.summary_refresh import refresh_summaries
from resources.warehouse import DuckDBWarehouse
from tests.conftest import event, write_jsonl

DANA = "Dana Reyes <dana@acme.io>"
MAYA = "Maya Okafor <maya@okafor.example>"
OLD1, OLD2 = "2025-03-03", "2025-03-04"
IDENTITY = ("event_id", "source", "source_id", "version", "kind", "occurred_at", "thread",
            "actor", "subject")


def records() -> list[dict]:
    return [
        event("c1", "Q3 retainer approved at $4,500/month.", actor=DANA, thread="acme",
              occurred_at=f"{OLD1}T09:00:00Z", payload={"channel": "#acme"}),
        event("c2", "Great — I'll send the signed SOW by Friday.", actor=MAYA, thread="acme",
              occurred_at=f"{OLD1}T09:05:00Z"),
        event("c3", "Invoice INV-100 for $9,000 is due on 31 March 2025.", actor=DANA,
              thread="acme", occurred_at=f"{OLD2}T08:00:00Z"),
        event("e1", "Can we move the kickoff to 10 March 2025?", source="email", kind="email",
              actor="Ana Lopez <ana@beta.example>", thread="beta", subject="Kickoff",
              occurred_at=f"{OLD1}T11:00:00Z", payload={"to": [MAYA]}),
        event("n1", "Decided to raise the day rate to €1,200 from April.", source="notes",
              kind="note", actor="Maya Okafor", thread=None, occurred_at=f"{OLD2}T18:00:00Z"),
        # stays hot: too recent / not a verbose kind
        event("c9", "Fresh news: we won the tender.", actor=DANA, thread="acme",
              occurred_at="2099-01-01T10:00:00Z"),
        event("inv1", "Invoice INV-100 for 9,000.00 USD", source="billing", kind="invoice",
              actor="Dana Reyes", thread="INV-100", occurred_at=f"{OLD1}T07:00:00Z"),
    ]


ARCHIVABLE = {"c1", "c2", "c3", "e1", "n1"}


def ingest(tmp_path: Path, recs: list[dict]):
    path = write_jsonl(tmp_path / f"in-{uuid.uuid4().hex[:8]}.jsonl", recs)
    with DuckDBWarehouse().connect() as con:
        return ingest_paths(con, [path])


def summarise() -> None:
    wh = DuckDBWarehouse()
    with wh.connect() as con:
        refresh_summaries(con, wh.layout.root)


def archive(**kw) -> curation.CurationReport:
    wh = DuckDBWarehouse()
    with wh.connect() as con:
        return archive_cold(con, wh.layout.root, **kw)


def q(sql: str, params: list | None = None) -> list[tuple]:
    """Read the warehouse itself (a crashed run publishes no snapshot)."""
    with duckdb.connect(str(DuckDBWarehouse().path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def q_snapshot(sql: str) -> list[tuple]:
    """Read what analysts read: the published snapshot."""
    with DuckDBWarehouse().read() as con:
        return con.execute(sql).fetchall()


def hot_ids() -> set[str]:
    return {s for (s,) in q("SELECT source_id FROM event_log WHERE text IS NOT NULL")}


def cold_rows(home: Path) -> list[str]:
    """source_id of every row of every Parquet file on disk (duplicates kept)."""
    files = sorted((home / "cold" / "events").rglob("*.parquet"))
    if not files:
        return []
    return [r[0] for r in duckdb.sql(
        f"SELECT source_id FROM read_parquet({[str(f) for f in files]}, "
        "hive_partitioning = false)").fetchall()]


def materialize(**cfg) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [summaries, summaries_fidelity, cold_archive],
        resources={"warehouse": DuckDBWarehouse(), "llm": dg.ResourceDefinition.none_resource()},
        run_config={"ops": {"cold_archive": {"config": cfg}}} if cfg else None,
        raise_on_error=False,
    )


def test_old_covered_events_move_to_a_verified_parquet_file(aios_home: Path,
                                                            tmp_path: Path) -> None:
    recs = records()
    ingest(tmp_path, recs)
    before = dict(q("SELECT source_id, text FROM event_log"))
    identity = q(f"SELECT {', '.join(IDENTITY)} FROM event_log ORDER BY event_id")

    result = materialize()
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.passed
    (mat,) = result.asset_materializations_for_node("cold_archive")
    m = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    assert (m["events_archived"], m["files"], m["kept_hot_uncovered"]) == (5, 1, 0)
    assert m["bytes"] > 0 and m["chars_freed"] > 0

    assert hot_ids() == {"c9", "inv1"}
    assert q("SELECT count(*) FROM event_log WHERE payload IS NOT NULL AND source_id = 'c1'") \
        == [(0,)]
    # the identity of every event stays in the hot log, untouched
    assert q(f"SELECT {', '.join(IDENTITY)} FROM event_log ORDER BY event_id") == identity
    ((rel, n, size),) = q("SELECT cold_file, rows, bytes FROM cold_files")
    assert rel.startswith("cold/events/year=2025/month=03/part-") and n == 5
    path = aios_home / rel
    assert path.stat().st_size == size
    cols = [c for (c, *_) in duckdb.sql(
        f"DESCRIBE SELECT * FROM read_parquet('{path}', hive_partitioning = false)").fetchall()]
    assert cols == [c for (c,) in q("SELECT column_name FROM information_schema.columns "
                                    "WHERE table_name = 'event_log' ORDER BY ordinal_position")]
    assert sorted(cold_rows(aios_home)) == sorted(ARCHIVABLE)

    # archived evidence is still reachable, from the analysts' snapshot too
    full = dict(q_snapshot("SELECT source_id, text FROM event_log_full"))
    assert full == before
    assert q("SELECT payload ->> 'channel', archived_at IS NOT NULL, cold_file FROM "
             "events_current_full WHERE source_id = 'c1'") == [("#acme", True, rel)]
    # a second run finds nothing new to archive
    again = materialize()
    (mat,) = again.asset_materializations_for_node("cold_archive")
    assert mat.metadata["events_archived"].value == 0
    assert sorted(cold_rows(aios_home)) == sorted(ARCHIVABLE)


def test_events_without_a_passing_covering_summary_stay_hot(aios_home: Path,
                                                            tmp_path: Path) -> None:
    ingest(tmp_path, records())
    report = archive()  # no summaries at all: nothing may go
    assert (report.archived, report.uncovered) == (0, 5) and hot_ids() >= ARCHIVABLE

    summarise()
    with DuckDBWarehouse().connect() as con:
        con.execute("UPDATE summaries SET fidelity_passed = false WHERE level = 'thread' "
                    "AND scope_id = 'acme' AND period_start = ?", [f"{OLD1} 00:00:00+00"])
    report = archive()
    assert (report.archived, report.uncovered) == (3, 2)
    assert hot_ids() == {"c1", "c2", "c9", "inv1"}  # acme on day 1 lost its summary's trust


def test_a_failing_fidelity_check_blocks_curation(aios_home: Path, tmp_path: Path) -> None:
    ingest(tmp_path, records())
    summarise()
    with DuckDBWarehouse().connect() as con:
        con.execute("UPDATE summaries SET fidelity_passed = false, "
                    "fidelity_missing = ['amount: USD 4500 ($4,500)'] "
                    "WHERE level = 'daily' AND scope_id = ?", [OLD2])
    result = materialize()
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed
    assert check.metadata["failing"].value == 1
    assert "USD 4500" in check.metadata["failures"].value
    assert result.asset_materializations_for_node("cold_archive") == []  # blocked
    assert hot_ids() >= ARCHIVABLE


def test_reingesting_archived_events_is_recognised(aios_home: Path, tmp_path: Path) -> None:
    recs = records()
    ingest(tmp_path, recs)
    summarise()
    assert archive().archived == 5
    c2 = next(r for r in recs if r["source_id"] == "c2")
    corrected = {**c2, "text": "Great — I'll send the signed SOW by Thursday."}
    report = ingest(tmp_path, [*recs, corrected])  # new file: event-level dedupe decides
    assert report.events_new == 1
    assert q("SELECT source_id, version, text IS NULL FROM event_log "
             "WHERE source_id IN ('c1', 'c2') ORDER BY 1, 2") == [
        ("c1", 1, True), ("c2", 1, True), ("c2", 2, False)]
    assert q("SELECT count(*), count(DISTINCT event_id) FROM event_log") == [(8, 8)]

    # the thread-day is re-summarised from hot and cold evidence alike
    summarise()
    ((text, ok),) = q("SELECT text, fidelity_passed FROM summaries WHERE level = 'thread' "
                      "AND scope_id = 'acme' AND period_start = ?", [f"{OLD1} 00:00:00+00"])
    assert ok and "$4,500" in text and "by Thursday" in text and "by Friday" not in text


def test_a_crash_between_parquet_and_hot_update_loses_and_duplicates_nothing(
    aios_home: Path, tmp_path: Path
) -> None:
    ingest(tmp_path, records())
    summarise()
    before = dict(q("SELECT source_id, text FROM event_log"))

    def crash(_rel: str) -> None:
        raise KeyboardInterrupt("killed after the Parquet file was verified")

    with pytest.raises(KeyboardInterrupt):
        archive(kinds=["chat_message"], before_commit=crash)
    assert hot_ids() >= ARCHIVABLE  # nothing emptied
    assert sorted(cold_rows(aios_home)) == ["c1", "c2", "c3"]  # an orphan file on disk
    assert q("SELECT count(*) FROM cold_files") == [(0,)]
    assert dict(q("SELECT source_id, text FROM event_log_full")) == before

    report = archive()  # another batch: the orphan is removed, every event archived once
    assert report.orphans_removed == 1 and report.archived == 5
    assert sorted(cold_rows(aios_home)) == sorted(ARCHIVABLE)
    assert dict(q("SELECT source_id, text FROM event_log_full")) == before
    assert q("SELECT count(*), count(DISTINCT event_id) FROM event_log_full") == [(7, 7)]


def test_a_file_that_does_not_verify_keeps_its_events_hot(
    aios_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(tmp_path, records())
    summarise()
    real_replace = os.replace

    def lossy_replace(src, dst) -> None:  # the rename "works" but a row went missing
        real_replace(src, dst)
        duckdb.sql(f"COPY (SELECT * FROM read_parquet('{dst}') LIMIT 2) TO '{dst}.x' "
                   "(FORMAT parquet)")
        real_replace(f"{dst}.x", dst)

    monkeypatch.setattr(curation.os, "replace", lossy_replace)
    with pytest.raises(CurationError, match="did not verify"):
        archive()
    assert hot_ids() >= ARCHIVABLE
    assert cold_rows(aios_home) == []


def test_a_missing_cold_file_is_an_error_not_silence(aios_home: Path, tmp_path: Path) -> None:
    ingest(tmp_path, records())
    summarise()
    archive()
    ((rel,),) = q("SELECT cold_file FROM cold_files")
    (aios_home / rel).unlink()
    with duckdb.connect(str(DuckDBWarehouse().path)) as con:
        with pytest.raises(CurationError, match="missing"):
            curation.ensure_cold_views(con)  # home = the database's folder
        curation.ensure_cold_views(con, strict=False)  # what a loader may call: no crash
        assert con.execute("SELECT count(*) FROM event_log_full WHERE text IS NULL").fetchone() \
            == (5,)
