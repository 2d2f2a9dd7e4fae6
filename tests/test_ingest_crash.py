"""SIGKILL ingest at random moments, restart, re-ingest: zero lost and zero duplicated events.

Real parts only: a fork server (tests/ingest_crash_child.py) imports the loader once and forks
one child per attempt; the child ingests a batch of files (JSONL with new records and bad lines,
JSONL updates of earlier records, a contacts CSV) through ``DuckDBWarehouse.connect()`` into a
real DuckDB file and is SIGKILLed at a random moment: while parsing, inside a file's
transaction, during the commit or checkpoint, or while publishing the read snapshot. The restart
is the next child ingesting the same batch to the end. After every trial the whole warehouse is
compared against the source records the test wrote.
"""

from __future__ import annotations

import csv
import json
import random
import time
from collections import Counter
from pathlib import Path

import duckdb

from tests.fork_server import ForkServerClient

TRIALS = 50
NEW_PER_TRIAL = 80
UPDATES_PER_TRIAL = 20
CONTACTS_PER_TRIAL = 30
BAD_PER_TRIAL = 3
TIME_LIMIT_S = 100  # the whole test; an attempt takes ~0.3-1 s on the shared 2-core machine


class Expected:
    """The source of truth: what the event log must hold after all files were ingested."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, str], list[str]] = {}  # (source, record_key) -> texts
        self.bad_lines = 0
        self.files: dict[str, tuple[int, int]] = {}  # file -> (events, quarantined) it adds

    def add(self, source: str, key: str, text: str) -> None:
        self.versions.setdefault((source, key), []).append(text)

    def add_file(self, path: Path, events: int, bad: int) -> None:
        self.files[str(path)] = (events, bad)
        self.bad_lines += bad

    @property
    def events(self) -> int:
        return sum(len(v) for v in self.versions.values())


def chat_key(thread: str, source_id: str) -> str:
    return f"{thread}\x1f{source_id}"  # RECORD_KEY_SQL for chat turns


def write_batch(folder: Path, trial: int, rng: random.Random, expected: Expected) -> None:
    """Three files of one batch, in the order the loader ingests them (sorted by name)."""
    folder.mkdir(parents=True)
    lines: list[str] = []
    bad_at = set(rng.sample(range(NEW_PER_TRIAL), BAD_PER_TRIAL))
    for i in range(NEW_PER_TRIAL):
        if i in bad_at:
            lines.append('{"source": "chat", "text": "no id"}' if i % 2 else f"{{broken {trial}")
        sid, thread = f"m{trial}-{i}", f"t{i % 7}"
        text = f"message {i} of trial {trial}"
        lines.append(json.dumps({"source": "chat", "source_id": sid, "kind": "chat_message",
                                 "occurred_at": "2026-03-01T10:00:00Z", "actor": "Dana",
                                 "thread": thread, "text": text}))
        expected.add("chat", chat_key(thread, sid), text)
    (folder / "a_new.jsonl").write_text("\n".join(lines) + "\n")
    expected.add_file(folder / "a_new.jsonl", NEW_PER_TRIAL, BAD_PER_TRIAL)

    # Updates: new versions of records from earlier batches; one record twice in the same file.
    earlier = [k for k in expected.versions if k[0] == "chat" and f"\x1fm{trial}-" not in k[1]]
    picks = rng.sample(earlier, min(UPDATES_PER_TRIAL, len(earlier)))
    lines = []
    for n, (source, key) in enumerate(picks + picks[:1]):
        thread, sid = key.split("\x1f")
        text = f"edited in trial {trial} (#{n})"
        lines.append(json.dumps({"source": source, "source_id": sid, "kind": "chat_message",
                                 "occurred_at": "2026-03-02T10:00:00Z", "actor": "Dana",
                                 "thread": thread, "text": text}))
        expected.add(source, key, text)
    (folder / "b_updates.jsonl").write_text("\n".join(lines) + "\n")
    # The first batch's updates file is blank: quarantined as a whole ("empty file"), once.
    expected.add_file(folder / "b_updates.jsonl", len(lines), int(not lines))

    with (folder / "c_contacts.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source_id", "full_name", "email", "updated_at"])
        for i in range(CONTACTS_PER_TRIAL):
            # Half the rows revise contacts of the previous batch (a new version each).
            cid = f"c{trial - 1}-{i}" if trial and i % 2 else f"c{trial}-{i}"
            name = f"Person {i} T{trial}"
            writer.writerow([cid, name, f"p{i}@t{trial}.example", "2026-03-01"])
            expected.add("crm", cid, f"Contact {name} <p{i}@t{trial}.example>")
    expected.add_file(folder / "c_contacts.csv", CONTACTS_PER_TRIAL, 0)


class ForkServer(ForkServerClient):
    """``tests/ingest_crash_child.py``: one forked ingesting child per trial."""

    def __init__(self, home: Path) -> None:
        super().__init__("tests.ingest_crash_child", str(home))

    def run(self, delay_s: float, paths: list[Path]) -> tuple[str, float]:
        """One child ingesting ``paths``, SIGKILLed after ``delay_s`` (negative: never)."""
        return self.trial(f"{delay_s:.4f} {' '.join(map(str, paths))}")


def assert_files_atomic(warehouse: Path, expected: Expected) -> int:
    """Right after a kill: every file is in the log entirely or not at all; returns how many
    files are in. Opening the file read-write is the restart's recovery (it replays the WAL)."""
    if not warehouse.exists():
        return 0
    con = duckdb.connect(str(warehouse))
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "ingested_files" not in tables:
            return 0
        done = {f for (f,) in con.execute("SELECT file FROM ingested_files").fetchall()}
        events = dict(con.execute("SELECT file, count(*) FROM event_log GROUP BY 1").fetchall())
        quarantined = dict(con.execute(
            "SELECT file, count(*) FROM quarantine GROUP BY 1").fetchall())
        assert con.execute("SELECT count(*) - count(DISTINCT event_id) FROM event_log"
                           ).fetchone()[0] == 0
    finally:
        con.close()
    assert done <= set(expected.files)
    order = list(expected.files)  # the order the loader takes them in
    assert done == set(order[:len(done)]), "a later file committed before an earlier one"
    for file, (n_events, n_bad) in expected.files.items():
        want = (n_events, n_bad) if file in done else (0, 0)
        assert (events.get(file, 0), quarantined.get(file, 0)) == want, (file, want)
    return len(done)


def assert_log_matches(db: Path, expected: Expected) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        q = con.execute
        assert q("SELECT count(*) - count(DISTINCT event_id) FROM event_log").fetchone()[0] == 0
        gaps = q("""SELECT source, record_key, list(version ORDER BY version) FROM event_log
                    GROUP BY ALL HAVING min(version) <> 1 OR max(version) <> count(*)
                       OR count(DISTINCT version) <> count(*)""").fetchall()
        assert gaps == []
        versions = {(s, k): texts for s, k, texts in q(
            "SELECT source, record_key, list(text ORDER BY version) FROM event_log GROUP BY ALL"
        ).fetchall()}
        lost = set(expected.versions) - set(versions)
        extra = set(versions) - set(expected.versions)
        assert not lost and not extra, (sorted(lost)[:3], sorted(extra)[:3])
        wrong = [k for k, texts in expected.versions.items() if versions[k] != texts]
        assert not wrong, [(k, versions[k], expected.versions[k]) for k in wrong[:3]]
        current = dict(((s, k), t) for s, k, t in q(
            "SELECT source, record_key, text FROM events_current").fetchall())
        assert current == {k: texts[-1] for k, texts in expected.versions.items()}
        assert q("SELECT count(*) FROM event_log").fetchone()[0] == expected.events
        assert q("SELECT count(*) FROM quarantine").fetchone()[0] == expected.bad_lines
        assert q("SELECT count(*) - count(DISTINCT quarantine_id) FROM quarantine"
                 ).fetchone()[0] == 0
        per_file = Counter(f for (f,) in q("SELECT file FROM ingested_files").fetchall())
        assert set(per_file) == set(expected.files) and set(per_file.values()) == {1}
    finally:
        con.close()


def test_sigkill_during_ingest_loses_and_duplicates_nothing(aios_home: Path, tmp_path: Path):
    rng = random.Random(20260301)
    expected = Expected()
    batches = tmp_path / "batches"
    warehouse = aios_home / "warehouse.duckdb"
    snapshot = aios_home / "warehouse.read.duckdb"
    server = ForkServer(aios_home)
    started = time.monotonic()
    outcomes: Counter[str] = Counter()
    mid_batch = 0  # kills that left a batch partly committed (some files in, some not)
    try:
        # Warm-up batch, not killed: how long a whole batch takes sets the kill window.
        write_batch(batches / "b000", 0, rng, expected)
        outcome, window = server.run(-1, [batches])
        assert outcome == "exited 0"
        assert assert_files_atomic(warehouse, expected) == 3
        trial = 0
        # Every attempt is the restart of the one killed before it: it ingests the whole
        # folder (committed files are skipped as unchanged), including one new batch.
        while outcomes["killed"] < TRIALS:
            trial += 1
            assert trial <= 2 * TRIALS and time.monotonic() - started < TIME_LIMIT_S, outcomes
            write_batch(batches / f"b{trial:03d}", trial, rng, expected)
            outcome, _ = server.run(rng.uniform(0.0, 1.2 * window), [batches])
            outcomes[outcome] += 1
            done = assert_files_atomic(warehouse, expected)
            mid_batch += outcome == "killed" and done % 3 != 0
        # The last restart, not killed, then the whole log against the source records.
        assert server.run(-1, [batches])[0] == "exited 0"
    finally:
        server.close()
    assert assert_files_atomic(warehouse, expected) == len(expected.files)
    assert_log_matches(warehouse, expected)
    assert_log_matches(snapshot, expected)  # the restart published a complete snapshot
    assert set(outcomes) <= {"killed", "exited 0"}, outcomes
    print(f"{trial} attempts, {dict(outcomes)}, {mid_batch} mid-batch kills, "
          f"{time.monotonic() - started:.1f}s")
    assert mid_batch >= 5, (mid_batch, outcomes)  # kills landed between files, not only before
