"""Ingest the real-world corpus (tests/corpus/real) through the whole pipeline, file by file.

``python -m tests.real_corpus --update`` runs it in a fresh home and rewrites EXPECTED.csv (the
per-file outcomes test_real_corpus.py compares against); without ``--update`` it prints the diff.
``AIOS_UPDATE_EXPECTED=1 pytest tests/test_real_corpus.py`` does the same from pytest.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "real"
EXPECTED = CORPUS / "EXPECTED.csv"
# The corpus's own records, not data: the top README, each origin's README, the table, the script.
META = {"README.md", "EXPECTED.csv", "collect.py", ".gitattributes"}
REASON_CHARS = 160  # enough to tell causes apart, short enough to read in a diff
TIMEOUT_S = 3600.0
# `aios ingest` exits 3 when some file was wholly rejected (a corpus has such files): no crash
OK_CODES = (0, 3)


@dataclass(frozen=True)
class Outcome:
    """What the pipeline made of one file."""

    file: str  # path inside tests/corpus/real
    ingested: bool  # has a row in ingested_files (False: the file was lost)
    events: int  # events kept by the parse (ingested_files.events_read)
    field_issues: int  # rows in field_issues (0 where the table does not exist yet)
    quarantined: int  # rows in quarantine
    first_reason: str  # reason of the first quarantined record (by line), '' if none

    def row(self) -> dict[str, str]:
        return {k: str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in asdict(self).items()}


FIELDS = list(Outcome.__dataclass_fields__)


@dataclass
class CorpusRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict | None  # the CLI's --json report
    outcomes: dict[str, Outcome]
    seconds: float
    step_failures: list[str]  # "step: root cause" of each failed Dagster step


def step_failures(dagster_home: Path, run_id: str) -> list[str]:
    """The root cause of each failed step of the run (the CLI prints only the wrapper)."""
    import dagster as dg

    out = []
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for record in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        ).records:
            event = record.event_log_entry.dagster_event
            error = event.step_failure_data.error if event else None
            while error is not None and error.cause is not None:
                error = error.cause
            where = error.stack[-1].strip().splitlines()[0] if error and error.stack else ""
            message = error.message.strip().splitlines()[0] if error else "?"
            out.append(f"{event.step_key if event else '?'}: {message} ({where})")
    return out


def corpus_files() -> list[str]:
    """Data files of the corpus (relative posix paths), without the corpus's own records."""
    out = []
    for path in sorted(CORPUS.rglob("*")):
        rel = path.relative_to(CORPUS)
        if not path.is_file() or (path.name in META and len(rel.parts) <= 2):
            continue
        out.append(rel.as_posix())
    return out


def _stage(dest: Path) -> list[str]:
    """Copy the data files to ``dest`` (the CLI ingests the folder without the READMEs)."""
    files = corpus_files()
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / rel, target)
    return files


def _rel(name: str, data: Path) -> str:
    prefix = str(data) + os.sep
    return name[len(prefix):].replace(os.sep, "/") if name.startswith(prefix) else name


def _one_line(reason: str, data: Path) -> str:
    reason = " ".join(reason.replace(str(data) + os.sep, "").split())
    return reason[:REASON_CHARS]


def read_outcomes(warehouse: Path, data: Path, files: list[str]) -> dict[str, Outcome]:
    """Per-file outcomes from ingested_files, event_log, quarantine (and field_issues)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                  .fetchall()}

        def counts(sql: str, table: str) -> dict[str, int]:
            if table not in tables:
                return {}
            return {_rel(f, data): n for f, n in con.execute(sql).fetchall()}

        # events the parse kept (events_read): one that repeats another file's event is not
        # new in event_log, yet it was not lost
        events = counts("SELECT file, sum(events_read) FROM ingested_files GROUP BY file",
                        "ingested_files")
        issues = counts("SELECT file, count(*) FROM field_issues GROUP BY file", "field_issues")
        quarantined = counts("SELECT file, count(*) FROM quarantine GROUP BY file", "quarantine")
        first = {
            _rel(f, data): _one_line(reason, data)
            for f, reason in con.execute(
                "SELECT file, arg_min(reason, (coalesce(line, 0), reason)) "
                "FROM quarantine GROUP BY file"
            ).fetchall()
        }
    finally:
        con.close()
    return {
        f: Outcome(file=f, ingested=f in events, events=events.get(f, 0),
                   field_issues=issues.get(f, 0), quarantined=quarantined.get(f, 0),
                   first_reason=first.get(f, ""))
        for f in files
    }


def run_corpus(home: Path | None = None) -> CorpusRun:
    """Run the real ``aios ingest`` (materializing everything downstream) on the corpus.

    The default home is a private temporary folder, not pytest's: a concurrent pytest prunes
    old ``pytest-of-*`` folders, which took the embedded Postgres's data folder away mid-run."""
    with tempfile.TemporaryDirectory(prefix="aios-real-corpus-") as tmp:
        data = Path(tmp) / "real"
        files = _stage(data)
        home = home or Path(tmp) / "home"
        env = {**os.environ, "AIOS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "aios_assets.cli", "ingest", str(data), "--json"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
            )
        finally:
            _stop_pg(home)
        seconds = time.perf_counter() - started
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            report = None
        warehouse = home / "warehouse.duckdb"
        outcomes = read_outcomes(warehouse, data, files) if warehouse.exists() else {}
        failures = (step_failures(home / "dagster", report["run_id"])
                    if report and not report.get("success") else [])
        return CorpusRun(proc.returncode, proc.stdout, proc.stderr, report, outcomes, seconds,
                         failures)


def _stop_pg(home: Path) -> None:
    # the CLI leaves the home's embedded Postgres running for the next run; nothing follows here
    if (home / "pg" / "PG_VERSION").exists():
        from aios_assets.shared.home import AiosHome
        from resources.postgres import stop_embedded

        stop_embedded(AiosHome.from_env(home))


def load_expected(path: Path = EXPECTED) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh)}


def write_expected(outcomes: dict[str, Outcome], path: Path = EXPECTED) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for name in sorted(outcomes):
        writer.writerow(outcomes[name].row())
    path.write_text(buf.getvalue(), encoding="utf-8")


def diff(expected: dict[str, dict[str, str]], outcomes: dict[str, Outcome]) -> list[str]:
    """One line per file whose outcome differs from the table (empty: all equal)."""
    lines = []
    for name in sorted(set(expected) | set(outcomes)):
        want = expected.get(name)
        got = outcomes[name].row() if name in outcomes else None
        if want == got:
            continue
        if want is None:
            lines.append(f"+ {name}: not in EXPECTED.csv, got {_show(got)}")
        elif got is None:
            lines.append(f"- {name}: in EXPECTED.csv but not in the corpus")
        else:
            changed = ", ".join(f"{k} {want.get(k)!r} -> {got[k]!r}" for k in FIELDS
                                if want.get(k) != got[k])
            lines.append(f"~ {name}: {changed}")
    return lines


def _show(row: dict[str, str] | None) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in (row or {}).items() if k != "file")


def summary(outcomes: dict[str, Outcome]) -> str:
    rows = outcomes.values()
    return (f"{len(outcomes)} files: {sum(o.events for o in rows)} events, "
            f"{sum(o.field_issues for o in rows)} field issues, "
            f"{sum(o.quarantined for o in rows)} quarantined, "
            f"{sum(not o.ingested for o in rows)} not ingested, "
            f"{sum(o.events == 0 for o in rows)} with no event")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite EXPECTED.csv")
    args = parser.parse_args(argv)
    run = run_corpus()
    print(f"aios ingest: exit {run.returncode} in {run.seconds:.0f}s; "
          f"run success={run.report and run.report.get('success')}")
    if run.returncode not in OK_CODES:
        print(run.stderr[-3000:], file=sys.stderr)
    for failure in run.step_failures:
        print(f"failed step {failure}", file=sys.stderr)
    if not run.outcomes:
        return 1
    print(summary(run.outcomes))
    if args.update:
        write_expected(run.outcomes)
        print(f"wrote {EXPECTED.relative_to(ROOT)}")
        return 0 if run.returncode in OK_CODES else 1
    changes = diff(load_expected(), run.outcomes)
    print("\n".join(changes) or "every file's outcome equals EXPECTED.csv")
    return 1 if changes or run.returncode not in OK_CODES else 0


if __name__ == "__main__":
    sys.exit(main())
