"""`aios sql` is read-only for real: it cannot write the operator's policy or data, read other
files, download extensions, reopen its settings, or run more than one statement (issue 15).

Each attack runs through the real CLI against a real warehouse; afterwards policy.yaml, the
warehouse and its snapshot are byte for byte what they were."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import event, run_aios, write_jsonl

POLICY = "send_email:\n  mode: approve\n"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sqlbox")
    home = root / "home"
    data = write_jsonl(root / "a.jsonl", [event("m1", "hello"), event("m2", "world")])
    res = run_aios("ingest", str(data), "--no-materialize", home=home)
    assert res.returncode == 0, res.stderr[-2000:]
    (home / "policy.yaml").write_text(POLICY)
    return home


def fingerprint(home: Path) -> dict[str, str]:
    """Every file of the home outside Dagster's own folders, by content hash."""
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.rglob("*")) if p.is_file()
            and p.relative_to(home).parts[0] not in ("dagster", "logs", "pg")}


def attacks(home: Path, tmp: Path) -> dict[str, tuple[str, str]]:
    """name -> (SQL, what the one-line error says)."""
    policy, wh = home / "policy.yaml", home / "warehouse.duckdb"
    return {
        "copy_over_policy": (
            (f"COPY (SELECT 'send_email: {{mode: autonomous}}') TO '{policy}' "
             "(FORMAT csv, HEADER false, QUOTE '')"), "--format csv > file"),
        "copy_over_warehouse": (f"COPY (SELECT 1) TO '{wh}' (FORMAT csv)", "COPY is refused"),
        "attach_and_delete": (f"ATTACH '{wh}' AS w (READ_WRITE); DELETE FROM w.event_log",
                              "2 statements given"),
        "attach": (f"ATTACH '{wh}' AS w (READ_WRITE)", "ATTACH is refused"),
        "read_text": ("SELECT * FROM read_text('/etc/passwd')", "file and network access is off"),
        "read_csv": ("FROM read_csv('/etc/passwd')", "file and network access is off"),
        "install": ("INSTALL httpfs", "INSTALL/LOAD is refused"),
        "load": ("LOAD httpfs", "INSTALL/LOAD is refused"),
        "export": (f"EXPORT DATABASE '{tmp / 'dump'}'", "EXPORT DATABASE is refused"),
        "set_access": ("SET enable_external_access = true", "settings are locked"),
        "reset_lock": ("RESET lock_configuration", "settings are locked"),
        "two_selects": ("SELECT 1; SELECT 2", "2 statements given"),
        "select_then_copy": (f"SELECT 1; COPY (SELECT 1) TO '{policy}'", "2 statements given"),
        "explain_analyze_copy": (f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{policy}'",
                                 "EXPLAIN of a refused statement"),
        "delete": ("DELETE FROM event_log", "read-only"),
        "create": ("CREATE TABLE x AS SELECT 1", "read-only"),
        "checkpoint": ("CHECKPOINT", "CALL is refused"),
        "empty": ("  -- nothing\n", "no SQL statement given"),
    }


ATTACKS = list(attacks(Path("/h"), Path("/t")))


@pytest.mark.parametrize("name", ATTACKS)
def test_refused_with_one_line_and_nothing_changes(home: Path, tmp_path: Path, name: str):
    query, says = attacks(home, tmp_path)[name]
    before = fingerprint(home)
    res = run_aios("sql", query, home=home)
    assert res.returncode == 1, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert says in lines[0], res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert fingerprint(home) == before
    assert (home / "policy.yaml").read_text() == POLICY
    assert not (tmp_path / "dump").exists()


def test_the_sandbox_holds_without_the_statement_check(home: Path):
    """Defense in depth: even SQL that got past the allow-list cannot touch files."""
    from resources.warehouse import open_sandboxed

    before = fingerprint(home)
    con = open_sandboxed(home / "warehouse.read.duckdb")
    try:
        for sql in (f"COPY (SELECT 1) TO '{home / 'policy.yaml'}'",
                    f"ATTACH '{home / 'warehouse.duckdb'}' AS w",
                    "SELECT * FROM read_text('/etc/passwd')",
                    "INSTALL httpfs", "LOAD httpfs"):
            with pytest.raises(duckdb.PermissionException):
                con.execute(sql)
        for sql in ("SET enable_external_access = true", "RESET enable_external_access",
                    "SET lock_configuration = false"):
            with pytest.raises(duckdb.InvalidInputException, match="locked"):
                con.execute(sql)
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("DELETE FROM event_log")
    finally:
        con.close()
    assert fingerprint(home) == before
    # The lock belongs to the sandbox's own instance: another connection to the same snapshot
    # in this process keeps its settings.
    other = duckdb.connect(str(home / "warehouse.read.duckdb"), read_only=True)
    try:
        assert other.execute("SELECT current_setting('enable_external_access')").fetchone() == (
            True,)
    finally:
        other.close()


@pytest.mark.parametrize("query, want", [
    ("select source_id from event_log order by 1", [{"source_id": "m1"}, {"source_id": "m2"}]),
    ("from event_log select count(*) as n", [{"n": 2}]),
    ("with t as (select text from event_log) select max(text) as m from t", [{"m": "world"}]),
    ("pivot (select source_id, 1 as one from event_log) on source_id using sum(one)",
     [{"m1": 1, "m2": 1}]),
    ("select column_name from (describe event_log) where column_name = 'event_id'",
     [{"column_name": "event_id"}]),
    ("select name from (show tables) where name = 'event_log'", [{"name": "event_log"}]),
    ("select name from pragma_table_info('quarantine') where name = 'reason'",
     [{"name": "reason"}]),
    # fts is loaded (from its PyPI package, before the lock) when a query needs it
    ("select stem('running', 'english') as s", [{"s": "run"}]),
    ("select array_cosine_similarity([1, 0]::float[2], [1, 0]::float[2]) as c", [{"c": 1.0}]),
    ("select 1 as x; -- a trailing comment", [{"x": 1}]),
])
def test_analyst_queries_still_run(home: Path, query: str, want: list[dict]):
    res = run_aios("sql", query, "-f", "json", home=home)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == want


def test_explain_and_summarize_run(home: Path):
    for query in ("explain select * from event_log", "summarize event_log"):
        res = run_aios("sql", query, home=home)
        assert res.returncode == 0, res.stderr


def test_exporting_a_result_is_a_redirect(home: Path, tmp_path: Path):
    res = run_aios("sql", "select source_id, text from event_log order by 1", "--format", "csv",
                   home=home)
    assert res.returncode == 0, res.stderr
    (tmp_path / "out.csv").write_text(res.stdout)
    assert list(csv.reader(io.StringIO((tmp_path / "out.csv").read_text()))) == [
        ["source_id", "text"], ["m1", "hello"], ["m2", "world"]]


def test_a_full_text_index_in_the_warehouse_is_queryable(tmp_path: Path):
    """A BM25 index built by a writer works in the sandbox: fts loads before the lock."""
    from resources.warehouse import DuckDBWarehouse, load_extensions

    w = DuckDBWarehouse(home=str(tmp_path / "home"))
    with w.connect() as con:
        load_extensions(con, "fts")
        con.execute("CREATE TABLE docs AS SELECT * FROM (VALUES (1, 'overdue invoice for acme'), "
                    "(2, 'lunch plans')) t(id, body)")
        con.execute("PRAGMA create_fts_index('docs', 'id', 'body')")
    assert w.query("SELECT id FROM (SELECT id, fts_main_docs.match_bm25(id, 'invoice') AS s "
                   "FROM docs) WHERE s IS NOT NULL") == (["id"], [(1,)])
