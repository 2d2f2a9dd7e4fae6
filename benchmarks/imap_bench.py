"""IMAP sync throughput and the lag from a message's arrival to its recall (issue 18).

Everything runs on loopback, offline, against a throwaway Dovecot
(:mod:`aios_assets.testing.dovecot`) on fresh AIOS_HOMEs under a temporary folder:

* **sync** (``--messages``, 10,000 by default): the messages (mostly short text, some HTML
  alternatives, a few with attachments; ≈ 90% INBOX, 10% Sent) are written straight into the
  user's maildir, as a local delivery agent does. Then the sensor's own tick function
  (:func:`sensors.imap.run_imap_tick`, with the resource's default per-tick bounds: 200
  messages / 50 MB) runs until a tick has nothing new: messages/s for fetch + stage. Then the
  ``ingest_job`` run the ticks asked for (the sensor's RunRequest, executed in this process
  on the home's Dagster instance): events/s into the event log. Every message must be staged
  exactly once (one copy of each Message-ID across the staged files) and end as one event.
* **lag** (``--lag-trials``, 3): on a warm home (``--warm`` messages synced, then the
  ``ingest_and_update_job`` run ``aios ingest`` makes: entities, memory with its embeddings,
  summaries, agents), one new message with a unique phrase arrives; timed: a sensor
  tick, the ``ingest_job`` run it requests, the run the automation condition sensor then
  requests (evaluated with ``dg.evaluate_automation_conditions``, as the daemon does; the
  assets it picks are recorded) and ``aios_assets.recall(phrase)`` returning the message. The
  sensors' own intervals (60 s each in a deployment) are not in the figure: it is the work.

Bounded: ``--max-ticks`` and ``--time-limit`` stop the run with an error instead of hanging.

Usage: ``python -m benchmarks.imap_bench [--messages 10000] [--warm 200] [--lag-trials 3]
[--out benchmarks/results/imap.json]``. Prints a summary and writes the JSON.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "imap.json"
USER, PASSWORD = "operator", "bench-pw"
WORDS = ("invoice payment proposal meeting schedule contract draft review budget quarter "
         "client project deadline update thanks follow call agenda notes shipping order "
         "renewal pricing discount feedback launch campaign report numbers").split()
_MID_RE = re.compile(rb"^Message-ID: (<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


class BenchTimeout(RuntimeError):
    pass


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def check(self, what: str) -> None:
        if time.monotonic() > self.end:
            raise BenchTimeout(f"time limit of {self.seconds:.0f}s reached during {what}")


# --- messages ------------------------------------------------------------------------------------


def _text(rng: random.Random, size: int) -> str:
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."
        out.append(line)
        n += len(line) + 2
    return "\r\n".join(out)


def make_message(n: int, rng: random.Random, *, tag: str = "bench", phrase: str = "",
                 when: datetime | None = None) -> bytes:
    """One message of a realistic size: 80% plain text (0.5–6 KB), 15% text + HTML
    alternatives (5–30 KB), 5% with a base64 attachment (50–400 KB)."""
    when = when or datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=37 * n)
    head = (f"From: Client {n % 53} <c{n % 53}@client{n % 11}.example>\r\n"
            f"To: Operator <op@example.com>\r\n"
            f"Subject: {phrase or rng.choice(WORDS).capitalize()} {n}\r\n"
            f"Message-ID: <{tag}{n}@bench.example>\r\n"
            f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
            f"MIME-Version: 1.0\r\n")
    kind = rng.random()
    body = (phrase + ". " if phrase else "") + _text(rng, rng.randint(500, 6000))
    if phrase or kind < 0.80:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()
    if kind < 0.95:
        html = _text(rng, rng.randint(4000, 24000)).replace("\r\n", "</p>\r\n<p>")
        return (head + 'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
                "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
                "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" + html
                + "</p></body></html>\r\n--b1--\r\n").encode()
    blob = base64.encodebytes(rng.randbytes(rng.randint(37_000, 300_000))).decode()
    blob = blob.replace("\n", "\r\n")
    return (head + 'Content-Type: multipart/mixed; boundary="b2"\r\n\r\n'
            "--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
            "--b2\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\n"
            "Content-Disposition: attachment; filename=\"doc.pdf\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + blob + "--b2--\r\n").encode()


def deliver_many(server: Any, n: int, seed: int, tag: str = "bench") -> tuple[set[str], int]:
    """``n`` messages straight into the maildirs (10% in Sent); (Message-IDs, bytes)."""
    rng = random.Random(seed)
    ids: set[str] = set()
    total = 0
    for i in range(n):
        raw = make_message(i, rng, tag=tag)
        server.deliver(USER, raw, "Sent" if i % 10 == 9 else "INBOX")
        ids.add(f"<{tag}{i}@bench.example>")
        total += len(raw)
    return ids, total


# --- the AIOS side -------------------------------------------------------------------------------


def use_home(root: Path) -> Any:
    """Point this process at a fresh AIOS_HOME (runs resolve it when they start)."""
    from aios_assets.shared.home import AiosHome

    home = AiosHome.from_env(root).ensure()
    os.environ["AIOS_HOME"] = str(home.root)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    return home


def mailbox(server: Any) -> Any:
    from aios_assets.ingest.imap import ImapMailbox

    # the resource's default per-tick bounds: what the sensor does with an unset config
    return ImapMailbox(host="127.0.0.1", port=server.port, ssl=False, user=USER,
                       password=PASSWORD)


def no_postgres() -> Any:
    from resources.postgres import PostgresStore

    # used by a tick only for a refused login's incident: a failure here fails loudly
    return PostgresStore(url="postgresql://127.0.0.1:1/unused")


def tick_until_idle(box: Any, home: Any, cursor: str | None, *, max_ticks: int,
                    deadline: Deadline) -> tuple[str, list[Any], int]:
    """The sensor's tick until one stages nothing; (cursor, run requests, ticks)."""
    from sensors.imap import run_imap_tick

    pg = no_postgres()
    requests: list[Any] = []
    for n in range(1, max_ticks + 1):
        deadline.check(f"tick {n}")
        cursor, request, summary = run_imap_tick(cursor, box, pg, home)
        if "stopped:" in summary:
            raise RuntimeError(f"tick {n} failed: {summary}")
        if request is None:
            return cursor, requests, n
        requests.append(request)
    raise BenchTimeout(f"still fetching after {max_ticks} ticks")


def run_job(name: str, run_config: dict[str, Any] | None = None,
            selection: list[Any] | None = None) -> dict[str, float]:
    """A run on the home's Dagster instance, in this process; seconds per step."""
    import dagster as dg

    from aios_assets.definitions import defs

    job = (defs.resolve_job_def(name) if selection is None
           else defs.resolve_implicit_global_asset_job_def())
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config=run_config or {}, instance=instance, asset_selection=selection,
            raise_on_error=True)
        assert result.success
        return {s.step_key: round(s.end_time - s.start_time, 3)
                for s in instance.get_run_step_stats(result.run_id)
                if s.start_time is not None and s.end_time is not None}


def staged_ids(stage_dir: Path) -> dict[str, int]:
    """Message-ID -> copies across the staged mbox files."""
    counts: dict[str, int] = {}
    for path in sorted(stage_dir.glob("*.mbox")):
        for mid in _MID_RE.findall(path.read_bytes()):
            key = mid.decode()
            counts[key] = counts.get(key, 0) + 1
    return counts


def email_events(home: Any) -> tuple[int, int]:
    """(email events, distinct Message-IDs) in the event log."""
    import duckdb

    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute("SELECT count(*), count(DISTINCT source_id) FROM event_log "
                           "WHERE source = 'email'").fetchone()
    finally:
        con.close()


# --- sync throughput -----------------------------------------------------------------------------


def bench_sync(work: Path, messages: int, *, seed: int, max_ticks: int,
               deadline: Deadline) -> dict[str, Any]:
    from aios_assets.ingest.imap import ImapMailbox
    from aios_assets.testing.dovecot import Dovecot

    server = Dovecot(work / "dovecot-sync").start()
    try:
        server.add_user(USER, PASSWORD)
        t = time.perf_counter()
        ids, raw_bytes = deliver_many(server, messages, seed)
        deliver_s = time.perf_counter() - t
        home = use_home(work / "home-sync")
        box = mailbox(server)
        deadline.check("delivery")
        t = time.perf_counter()
        cursor, requests, ticks = tick_until_idle(box, home, None, max_ticks=max_ticks,
                                                  deadline=deadline)
        fetch_s = time.perf_counter() - t
        copies = staged_ids(home.imap_staging)
        files = sorted(home.imap_staging.glob("*.mbox"))
        staged_bytes = sum(p.stat().st_size for p in files)
        deadline.check("fetch")
        from aios_assets.definitions import defs  # noqa: F401 - loaded once, not timed

        t = time.perf_counter()
        steps = run_job("ingest_job", requests[-1].run_config)
        ingest_s = time.perf_counter() - t
        events, distinct = email_events(home)
        left = len(list(home.imap_staging.glob("*.mbox")))
        seen = [uid for folder in ("INBOX", "Sent")
                for uid, flags in server.flags(USER, folder).items() if "\\Seen" in flags]
    finally:
        server.stop()
    defaults = ImapMailbox()
    return {
        "messages": messages, "message_bytes": raw_bytes,
        "mean_message_kb": round(raw_bytes / messages / 1024, 1),
        "deliver_s": round(deliver_s, 2),
        "ticks": ticks, "tick_bounds": {"max_messages_per_tick": defaults.max_messages_per_tick,
                                        "max_bytes_per_tick": defaults.max_bytes_per_tick,
                                        "messages_per_fetch": defaults.messages_per_fetch},
        "fetch_stage": {"seconds": round(fetch_s, 2),
                        "messages_per_s": round(messages / fetch_s, 1),
                        "mb_per_s": round(raw_bytes / 1e6 / fetch_s, 2),
                        "staged_files": len(files), "staged_bytes": staged_bytes,
                        "staged_messages": len(copies),
                        "staged_more_than_once": sum(1 for c in copies.values() if c > 1),
                        "missing_from_staging": len(ids - set(copies))},
        "ingest": {"job": "ingest_job", "seconds": round(ingest_s, 2),
                   "messages_per_s": round(messages / ingest_s, 1),
                   "ingest_files_step_s": steps.get("ingest_files"),
                   "ingest_files_step_messages_per_s": round(
                       messages / steps["ingest_files"], 1) if steps.get("ingest_files") else None,
                   "email_events": events, "distinct_message_ids": distinct,
                   "files_left_staged": left},
        "end_to_end_messages_per_s": round(messages / (fetch_s + ingest_s), 1),
        "flagged_seen": len(seen),
    }


# --- lag from arrival to recall ------------------------------------------------------------------


def automation_selection(instance: Any, cursor: Any) -> tuple[list[Any], Any]:
    """The assets the automation condition sensor would request now, and its next cursor."""
    import dagster as dg

    from aios_assets.definitions import defs

    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    keys = sorted((k for k in defs.resolve_all_asset_keys() if result.get_num_requested(k)),
                  key=lambda k: k.to_user_string())
    return keys, result.cursor


def run_automation(cursor: Any) -> tuple[list[str], dict[str, float], Any]:
    """Evaluate the automation conditions and run what they request; (assets, step seconds,
    next cursor)."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        keys, cursor = automation_selection(instance, cursor)
    steps = run_job("", selection=keys) if keys else {}
    return [k.to_user_string() for k in keys], steps, cursor


def settle_automation(cursor: Any) -> Any:
    """The daemon's next tick after the run: it takes in the run's own updates (the eager
    conditions' reset) before the next arrival, which would otherwise land in the same
    evaluation and cancel the trigger. Not timed: it is not on the message's path."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        keys, cursor = automation_selection(instance, cursor)
    if keys:
        raise AssertionError(f"the automation asked again right after its run: {keys}")
    return cursor


def find(phrase: str, mid: str) -> tuple[bool, list[str]]:
    """Whether recall's top 10 for ``phrase`` cite the message; the top hits' ids."""
    import aios_assets

    hits = aios_assets.recall(phrase, k=10)
    found = any(mid.strip("<>") in h.source_id or phrase in h.text for h in hits)
    return found, [f"{h.source}:{h.source_id}:{h.kind}" for h in hits[:5]]


def bench_lag(work: Path, warm: int, trials: int, *, seed: int, max_ticks: int,
              deadline: Deadline) -> dict[str, Any]:
    from aios_assets.testing.dovecot import Dovecot
    from resources.postgres import stop_embedded

    server = Dovecot(work / "dovecot-lag").start()
    home = use_home(work / "home-lag")
    try:
        server.add_user(USER, PASSWORD)
        deliver_many(server, warm, seed + 1, tag="warm")
        box = mailbox(server)
        t = time.perf_counter()
        cursor, requests, _ = tick_until_idle(box, home, None, max_ticks=max_ticks,
                                              deadline=deadline)
        # the warm home: what `aios ingest` builds (entities, memory with its embeddings,
        # summaries, agents); the first evaluation then only starts the automation's cursor
        run_job("ingest_and_update_job", requests[-1].run_config)
        keys, _, auto_cursor = run_automation(None)
        if keys:
            auto_cursor = settle_automation(auto_cursor)
        warm_s = time.perf_counter() - t
        rng = random.Random(seed + 2)
        rows = []
        for trial in range(trials):
            deadline.check(f"lag trial {trial + 1}")
            phrase = f"quokka-{uuid.uuid4().hex[:10]}"
            raw = make_message(trial, rng, tag="lag", phrase=phrase,
                               when=datetime.now(UTC).replace(microsecond=0))
            mid = f"<lag{trial}@bench.example>"
            if find(phrase, mid)[0]:
                raise AssertionError("recall found the phrase before it arrived")
            server.deliver(USER, raw)
            t0 = time.perf_counter()
            cursor, requests, _ = tick_until_idle(box, home, cursor, max_ticks=max_ticks,
                                                  deadline=deadline)
            t1 = time.perf_counter()
            if len(requests) != 1:
                raise AssertionError(f"expected one run request, got {len(requests)}")
            run_job("ingest_job", requests[0].run_config)
            t2 = time.perf_counter()
            assets, steps, auto_cursor = run_automation(auto_cursor)
            t3 = time.perf_counter()
            found, top = find(phrase, mid)
            t4 = time.perf_counter()
            if not found:
                raise AssertionError(f"recall did not return the new message {mid} for "
                                     f"{phrase!r}; top hits: {top}")
            auto_cursor = settle_automation(auto_cursor)
            rows.append({"seconds": round(t4 - t0, 2), "tick_s": round(t1 - t0, 2),
                         "ingest_run_s": round(t2 - t1, 2), "memory_run_s": round(t3 - t2, 2),
                         "recall_s": round(t4 - t3, 3), "automation_assets": len(assets),
                         "slowest_steps": dict(sorted(steps.items(), key=lambda kv: -kv[1])[:4])})
    finally:
        server.stop()
        if (home.pg / "PG_VERSION").exists():
            stop_embedded(home)
    secs = [r["seconds"] for r in rows]
    return {"warm_messages": warm, "warm_build_s": round(warm_s, 1), "trials": len(rows),
            "seconds_median": round(statistics.median(secs), 2), "seconds_all": secs,
            "runs": rows, "automation_assets": assets,
            "not_included": "the sensors' intervals (imap_inbox_sensor and "
                            "automation_condition_sensor, 60 s each) and the daemon's "
                            "launch of the runs"}


# --- main ----------------------------------------------------------------------------------------


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10_000, help="messages in the mailbox")
    ap.add_argument("--warm", type=int, default=200, help="messages on the lag's warm home")
    ap.add_argument("--lag-trials", type=int, default=3)
    ap.add_argument("--max-ticks", type=int, default=500)
    ap.add_argument("--time-limit", type=float, default=1200.0, help="seconds for everything")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    from aios_assets.entities.dbt_manifest import ensure_dbt_manifest
    from aios_assets.testing import dovecot

    if not dovecot.available():
        raise SystemExit("dovecot is not installed (apt-get install -y dovecot-imapd)")
    ensure_dbt_manifest()  # the definitions read it; a stale one would add a dbt parse
    # Offline and self-contained, like the pipeline benchmark: no AIOS_* / OPENAI_* setting of
    # this shell (an LLM endpoint, a real mailbox, another home) reaches the runs.
    saved = {k: v for k, v in os.environ.items()
             if k.startswith(("AIOS_", "OPENAI_")) or k == "DAGSTER_HOME"}
    for k in saved:
        del os.environ[k]
    deadline = Deadline(args.time_limit)
    load_start = loadavg()
    work = Path(tempfile.mkdtemp(prefix="aios-imap-bench-"))
    try:
        sync = bench_sync(work, args.messages, seed=args.seed, max_ticks=args.max_ticks,
                          deadline=deadline)
        lag = (bench_lag(work, args.warm, args.lag_trials, seed=args.seed,
                         max_ticks=args.max_ticks, deadline=deadline)
               if args.lag_trials > 0 else None)
    finally:
        for k in ("AIOS_HOME", "DAGSTER_HOME"):
            os.environ.pop(k, None)
        os.environ.update(saved)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.imap_bench " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "loadavg_at_start": load_start, "loadavg_at_end": loadavg()},
        "sync": sync, "lag": lag,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    fs, ing = sync["fetch_stage"], sync["ingest"]
    print(f"imap sync: {sync['messages']:,} messages ({sync['message_bytes'] / 1e6:.1f} MB) in "
          f"{sync['ticks']} ticks: fetch+stage {fs['seconds']}s = {fs['messages_per_s']}/s "
          f"({fs['mb_per_s']} MB/s); ingest_job {ing['seconds']}s = {ing['messages_per_s']}/s; "
          f"{ing['distinct_message_ids']:,} events, {fs['staged_more_than_once']} staged twice, "
          f"{sync['flagged_seen']} flagged \\Seen")
    if lag:
        print(f"arrival -> recall: median {lag['seconds_median']}s over {lag['trials']} "
              f"(all {lag['seconds_all']}); last: {lag['runs'][-1]}")
    return result


if __name__ == "__main__":
    main()
