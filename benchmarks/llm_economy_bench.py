"""LLM economy: a simulated operator-week, tiered + cached versus every call to the strong model.

    .venv/bin/python -m benchmarks.llm_economy_bench              # 7 days (2-3 minutes)
    .venv/bin/python -m benchmarks.llm_economy_bench --days 2 --scale 0.3

What runs is the real code: the demo business (``aios_assets.demo.generate``) is ingested
and the dbt project built once; then the week is replayed hour by hour over a *time-travel*
copy of the warehouse (views over the built one that only show events that occurred before the
last simulated ingest), and the real LLM-calling functions run on it:

* the hourly triage schedule (``run_agent`` of the triage manifest at HH:05: classify each
  unanswered inbound mail of its 3-day window and draft the replies; a mail that stays
  unanswered is classified and drafted again the next hour: the cache's main customer);
* ingests at ``--ingest-hours`` (default 08, 12, 16, 20 UTC), each followed by the eager
  ``summaries`` refresh (``refresh_summaries``: incremental thread, entity, daily and weekly
  summaries; only units whose inputs changed call the LLM);
* the nightly precompute at 02:30 (summaries again, follow-up and its v2 canary, billing, the
  daily brief, and the content agent once per ISO week, as the plan windows of the default
  intents allow).

Every LLM call goes through two real :class:`resources.llm.LLMResource` instances, each with
its own loopback OpenAI-compatible server (``aios_assets/testing/openai_server.py``, the real
``openai`` client) and its own Postgres database (cache and ``aios.llm_calls`` ledger) on the
embedded server of the benchmark's own home:

* ``tiered``: the default policy: cheap model first, strong on escalation (``accept`` rejects
  the cheap answer: a draft with an unfilled ``{placeholder}``, a summary failing the fidelity
  check), responses cached by prompt hash for 7 days;
* ``all_strong``: the baseline: ``strong_value_threshold=0`` (every call to the strong model)
  and ``cache_ttl_s=0`` (no cache).

Both see the same calls in the same order (the agents continue with the tiered answer; the
two answers are compared and mismatches counted). Prices are USD per 1M input/output tokens
(``gpt-4o-mini`` 0.15/0.60, ``gpt-4o`` 2.50/10.00: ``LLMResource.prices``).

The loopback server plays both models (``SimulatedModels``): an answer a competent model would
give (the label, the filled template, a summary keeping every MUST KEEP item within the
character budget), identical for both models, except that the cheap model misses on a fixed,
prompt-hash-determined share of prompts (``--cheap-miss-draft``: leaves the template unfilled;
``--cheap-miss-summary``: drops one MUST KEEP item): those are the escalations. These rates are
assumptions, written into the result. Tokens are the server's count (ceil(characters / 4)).

Figures come from the ledgers (``aios.llm_calls``: paid tokens and dollars, cache hits, strong
calls) and are cross-checked against each server's own count of requests and tokens. Writes
``benchmarks/results/llm_economy.json`` and prints a summary. Target: usd_ratio <= 0.25.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aios_assets.testing.llm_ledger import CHEAP, PRICES, STRONG, ledger_figures

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "llm_economy.json"
TARGET_USD_RATIO = 0.25
NIGHTLY = (2, 30)  # nightly_precompute_schedule: 02:30 UTC
TRIAGE_MINUTE = 5  # triage_hourly_schedule: HH:05 UTC
DAILY_AGENTS = ("followup", "billing", "brief")
_SUMMARY_PROMPT = re.compile(r"^Summarise these sources as a \w+ summary .*? in at most "
                             r"(\d+) characters", re.DOTALL)


# --- the simulated models ---------------------------------------------------------------------


def _share(prompt: str, salt: str) -> float:
    """A stable number in [0, 1) per prompt: which prompts the cheap model gets wrong."""
    digest = hashlib.sha256(f"{salt}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


_CURRENCY_CODES = frozenset({"usd", "eur", "gbp"})


def mentions(line: str, item: str) -> bool:
    """Whether ``line`` states the key item ``item`` (a MUST KEEP line without its "- "):
    the item verbatim, or all its words and numbers ("USD 2500" in "$2,500.00 is due")."""
    text, want = line.lower().replace(",", ""), item.lower().replace(",", "")
    if want in text:
        return True
    words = [w for w in re.findall(r"[a-z]+|\d+(?:\.\d+)?", want) if w not in _CURRENCY_CODES]
    return bool(words) and all(re.search(rf"(?<![\w.]){re.escape(w)}(?!\w)", text)
                               for w in words)


def summary_answer(prompt: str, budget: int, lose_one: bool) -> str:
    """A summary body: every MUST KEEP line, then source lines while the character budget
    lasts. ``lose_one``: the first MUST KEEP item is lost (its line and every source line
    stating it are left out), the omission a fidelity check is there to catch."""
    must_part, _, src_part = prompt.split("MUST KEEP:\n", 1)[1].partition("\n\nSOURCES:\n")
    must = [ln for ln in must_part.splitlines() if ln.startswith("- ") and ln != "- (nothing)"]
    sources = [ln.strip() for ln in src_part.splitlines() if ln.strip()]
    if lose_one and must:
        lost = must.pop(0)[2:]
        must = [ln for ln in must if not mentions(ln, lost)]
        sources = [ln for ln in sources if not mentions(ln, lost)]
    lines = list(must)
    used = sum(len(ln) + 1 for ln in lines)
    for src in sources:
        line = src if src.startswith("- ") else "- " + src
        if used + len(line) + 1 > budget:
            continue
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines) or "- Nothing of note."


@dataclass
class SimulatedModels:
    """What the loopback server answers for the cheap and the strong model (see module doc)."""

    miss_draft: float = 0.05
    miss_summary: float = 0.15
    usage: list[tuple[str, int]] = field(default_factory=list)  # (model, completion tokens)
    misses: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, model: str, prompt: str) -> str:
        from aios_assets.llm.offline import offline_classify, offline_draft, offline_summarize

        cheap = model == CHEAP
        summary = _SUMMARY_PROMPT.match(prompt)
        if summary:
            # only a summary with MUST KEEP items has something to lose
            miss = (cheap and "MUST KEEP:\n- (nothing)" not in prompt
                    and _share(prompt, "summary") < self.miss_summary)
            text = summary_answer(prompt, int(summary.group(1)), lose_one=miss)
            kind = "summary"
        elif "\n### TEMPLATE\n" in prompt:
            miss = cheap and _share(prompt, "draft") < self.miss_draft
            # a miss: the template comes back with its {placeholders} unfilled
            text = (prompt.split("\n### TEMPLATE\n", 1)[1].split("\n### FIELDS\n", 1)[0]
                    if miss else offline_draft(prompt))
            kind = "draft"
        elif "\n### LABELS\n" in prompt:
            miss, text, kind = False, offline_classify(prompt), "classify"
        else:
            miss, text, kind = False, offline_summarize(prompt), "summarize"
        with self._lock:
            self.usage.append((model, -(-len(text) // 4)))
            if miss:
                self.misses[kind] += 1
        return text

    def script(self, server: Any) -> None:
        for model in (CHEAP, STRONG):
            server.script(model, lambda prompt, m=model: self.answer(m, prompt))


# --- both policies on every call --------------------------------------------------------------


@dataclass
class Tee:
    """Sends every ``complete`` to the tiered resource and (concurrently, in one worker thread)
    to the all-strong baseline; the caller continues with the tiered answer. Answers that
    differ are counted."""

    tiered: Any
    baseline: Any
    calls: int = 0
    mismatches: int = 0
    by_task: Counter[str] = field(default_factory=Counter)
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="llm-baseline"))

    def endpoint(self) -> str | None:
        return self.tiered.endpoint()

    def spend_today(self, *args: Any, **kwargs: Any) -> Any:
        return self.tiered.spend_today(*args, **kwargs)

    def complete(self, **kwargs: Any) -> Any:
        other = self._pool.submit(lambda: self.baseline.complete(**kwargs))
        try:
            first = self.tiered.complete(**kwargs)
        finally:
            second = other.result()
        self.calls += 1
        self.by_task[f"{kwargs['agent']}/{kwargs['task']}"] += 1
        if first.text.strip() != second.text.strip():
            self.mismatches += 1
        return first

    def close(self) -> None:
        self._pool.shutdown(wait=True)


# --- the warehouse, and travelling back in it -------------------------------------------------


def build_warehouse(home: Path, seed: int, scale: float, days: int) -> Path:
    """Generate the demo business, ingest it and ``dbt build`` (benchmarks.facts_bench)."""
    from benchmarks.facts_bench import build_warehouse as build

    wh, _truth = build(home, seed, scale, days)
    return wh


class TimeTravel:
    """A scratch DuckDB holding a copy of the built warehouse's marts, whose ``event_log`` and
    ``events_current`` are views showing only the events that occurred by the last simulated
    ingest (``cutoff``)."""

    EVENT_RELATIONS = ("event_log", "events_current")

    def __init__(self, warehouse: Path, scratch: Path) -> None:
        import duckdb

        self.con = duckdb.connect(str(scratch))
        self.con.execute("SET TimeZone = 'UTC'")
        # the warehouse's own views name their catalog "warehouse"
        self.con.execute(f"ATTACH '{warehouse}' AS warehouse (READ_ONLY)")
        self.relations = [r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'warehouse' "
            "AND table_schema = 'main' AND table_name NOT LIKE 'stg\\_%' ESCAPE '\\' "
            "ORDER BY 1").fetchall()]
        for name in self.relations:
            local = f"_all_{name}" if name in self.EVENT_RELATIONS else name
            self.con.execute(f'CREATE TABLE "{local}" AS SELECT * FROM warehouse.main."{name}"')
        self.con.execute("DETACH warehouse")
        self.cutoff: datetime | None = None

    def ingest_until(self, cutoff: datetime) -> None:
        self.cutoff = cutoff
        for name in self.EVENT_RELATIONS:
            self.con.execute(
                f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "_all_{name}" '
                f"WHERE occurred_at <= TIMESTAMPTZ '{cutoff.isoformat()}'")

    def close(self) -> None:
        self.con.close()


# --- the week -----------------------------------------------------------------------------------


@dataclass
class WeekLog:
    triage_runs: int = 0
    summary_refreshes: int = 0
    summaries_recomputed: Counter[str] = field(default_factory=Counter)
    summary_methods: Counter[str] = field(default_factory=Counter)
    agent_runs: Counter[str] = field(default_factory=Counter)
    proposals: Counter[str] = field(default_factory=Counter)


def _summary_ids(con: Any) -> set[str]:
    return {r[0] for r in con.execute("SELECT summary_id FROM summaries").fetchall()}


def simulate_week(tt: TimeTravel, llm: Any, home: Path, week_start: datetime, days: int,
                  ingest_hours: tuple[int, ...], log: Callable[[str], None] = print) -> WeekLog:
    """Replay ``days`` days from ``week_start`` hour by hour (see the module doc)."""
    from aios_assets.agents.assets import run_agent
    from aios_assets.agents.manifests import load_manifests
    from aios_assets.agents.runtime import business_clock
    from aios_assets.memory.summary_refresh import refresh_summaries

    manifests = load_manifests()
    week = WeekLog()
    # The system was running before the week: summaries of the history exist (built without
    # an LLM here, so the warm-up costs nothing and is not measured).
    tt.ingest_until(week_start)
    refresh_summaries(tt.con, home, llm=None, now=week_start)
    before = _summary_ids(tt.con)
    content_weeks: set[tuple[int, int]] = set()

    def refresh(now: datetime) -> None:
        report = refresh_summaries(tt.con, home, llm=llm, now=now)
        week.summary_refreshes += 1
        for level, rep in report.levels.items():
            week.summaries_recomputed[level] += rep.recomputed

    def agent(name: str, now: datetime, channel: str = "current") -> None:
        manifest = manifests[name][channel]
        as_of = business_clock(tt.con, now)
        output, _run = run_agent(tt.con, manifest, as_of=as_of, now=now, llm=llm,
                                 mode="live" if channel == "current" else "canary",
                                 run_id=f"sim-{now:%Y%m%dT%H%M}-{name}")
        label = name if channel == "current" else f"{name}@{channel}"
        week.agent_runs[label] += 1
        week.proposals[label] += len(output.proposals)

    for d in range(days):
        day = week_start + timedelta(days=d)
        started = time.perf_counter()
        calls0 = getattr(llm, "calls", 0)
        for hour in range(24):
            if hour in ingest_hours:
                tt.ingest_until(day.replace(hour=hour))
                refresh(day.replace(hour=hour))
            agent("triage", day.replace(hour=hour, minute=TRIAGE_MINUTE))
            week.triage_runs += 1
            if hour == NIGHTLY[0]:
                nightly = day.replace(hour=NIGHTLY[0], minute=NIGHTLY[1])
                refresh(nightly)
                for name in DAILY_AGENTS:
                    agent(name, nightly)
                iso = nightly.isocalendar()
                if (iso.year, iso.week) not in content_weeks:
                    content_weeks.add((iso.year, iso.week))
                    agent("content", nightly)
                for name, slot in sorted(manifests.items()):
                    if "canary" in slot:
                        agent(name, nightly, "canary")
        log(f"  day {d + 1}/{days} {day:%Y-%m-%d}: {getattr(llm, 'calls', 0) - calls0} LLM "
            f"calls, {time.perf_counter() - started:.1f}s")
    # how the summaries written during the week (and still current) were written
    week.summary_methods = Counter(
        str(m) for sid, m in tt.con.execute("SELECT summary_id, method FROM summaries").fetchall()
        if sid not in before)
    return week


# --- reading the ledger and the servers -------------------------------------------------------


def server_figures(server: Any, models: SimulatedModels) -> dict[str, Any]:
    """What the loopback server itself saw: requests and tokens per model, priced."""
    from aios_assets.shared.text import estimate_tokens

    chats = server.chat_requests
    prompt_tokens = Counter[str]()
    for r in chats:
        prompt_tokens[str(r.model)] += estimate_tokens(r.prompt)
    completion_tokens = Counter[str]()
    for model, tokens in models.usage:
        completion_tokens[model] += tokens
    requests = Counter(str(r.model) for r in chats)
    usd = sum((prompt_tokens[m] * PRICES.get(m, [0, 0])[0]
               + completion_tokens[m] * PRICES.get(m, [0, 0])[1]) / 1_000_000 for m in requests)
    return {"requests": len(chats), "requests_by_model": dict(sorted(requests.items())),
            "tokens": sum(prompt_tokens.values()) + sum(completion_tokens.values()),
            "usd": round(usd, 6)}


# --- Postgres ---------------------------------------------------------------------------------


@contextmanager
def ledger_databases(home: Path, names: tuple[str, ...]) -> Iterator[dict[str, str]]:
    """A fresh database per policy on the embedded server of ``home`` (stopped at the end)."""
    import psycopg

    from aios_assets.shared.home import AiosHome
    from resources.postgres import embedded_url, stop_embedded

    aios_home = AiosHome.from_env(home)
    try:
        base = embedded_url(aios_home)
        urls = {}
        with psycopg.connect(base, autocommit=True) as con:
            for name in names:
                db = f"llm_economy_{name}_{uuid.uuid4().hex[:8]}"
                con.execute(f'CREATE DATABASE "{db}"')
                # a throwaway ledger: no fsync per ledger row (wall time only)
                con.execute(f'ALTER DATABASE "{db}" SET synchronous_commit = off')
                urls[name] = urlsplit(base)._replace(path=f"/{db}").geturl()
        yield urls
    finally:
        stop_embedded(aios_home)


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Settings:
    days: int = 7
    history_days: int = 38
    seed: int = 7
    scale: float = 0.5
    ingest_hours: tuple[int, ...] = (8, 12, 16, 20)
    miss_draft: float = 0.05
    miss_summary: float = 0.15
    start: date | None = None  # first day of the data; None: the demo's DEFAULT_START


def make_resources(urls: dict[str, str], servers: dict[str, Any]) -> dict[str, Any]:
    from resources.llm import LLMResource

    common: dict[str, Any] = {"api_key": "loopback-benchmark", "cheap_model": CHEAP,
                              "strong_model": STRONG, "prices": PRICES,
                              "backoff_initial_s": 0.01, "max_retries": 1}
    return {
        # the default policy: everything not named here is LLMResource's default
        "tiered": LLMResource(base_url=servers["tiered"].url, postgres_url=urls["tiered"],
                              **common),
        "all_strong": LLMResource(base_url=servers["all_strong"].url,
                                  postgres_url=urls["all_strong"], strong_value_threshold=0.0,
                                  cache_ttl_s=0.0, **common),
    }


def run(settings: Settings, work: Path, warehouse: Path | None = None,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build (or reuse) the warehouse, simulate the week under both policies, measure."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    if warehouse is None:
        log(f"building the demo warehouse (scale {settings.scale}, "
            f"{settings.history_days + settings.days} days) ...")
        (work / "build").mkdir(parents=True, exist_ok=True)
        warehouse = build_warehouse(work / "build", settings.seed, settings.scale,
                                    settings.history_days + settings.days)
    timings["build_s"] = round(time.perf_counter() - t, 2)
    from aios_assets.demo import DEFAULT_START
    from aios_assets.testing.openai_server import OpenAIServer  # the loopback server the tests use

    first_day = settings.start or DEFAULT_START
    week_start = datetime.combine(first_day + timedelta(days=settings.history_days),
                                  datetime.min.time(), UTC)
    names = ("tiered", "all_strong")
    with ledger_databases(work / "home", names) as urls, \
            OpenAIServer() as s_tiered, OpenAIServer() as s_strong:
        servers = {"tiered": s_tiered, "all_strong": s_strong}
        per_server = {name: SimulatedModels(settings.miss_draft, settings.miss_summary)
                      for name in names}
        for name in names:
            per_server[name].script(servers[name])
        llms = make_resources(urls, servers)
        tee = Tee(llms["tiered"], llms["all_strong"])
        tt = TimeTravel(warehouse, work / "timetravel.duckdb")
        try:
            t = time.perf_counter()
            log(f"simulating {settings.days} day(s) from {week_start:%Y-%m-%d} ...")
            week = simulate_week(tt, tee, work / "home", week_start, settings.days,
                                 settings.ingest_hours, log)
            timings["simulate_s"] = round(time.perf_counter() - t, 2)
        finally:
            tee.close()
            tt.close()
        result = {name: ledger_figures(urls[name]) for name in names}
        for name in names:
            result[name]["server"] = server_figures(servers[name], per_server[name])
        misses = per_server["tiered"].misses
    tiered, strong = result["tiered"], result["all_strong"]
    checks = {
        name: {"ledger_calls_equal_server_requests":
               result[name]["calls_to_server"] == result[name]["server"]["requests"],
               "ledger_tokens_equal_server_tokens":
               result[name]["tokens"] == result[name]["server"]["tokens"],
               "ledger_usd_equal_server_usd":
               abs(result[name]["usd"] - result[name]["server"]["usd"]) < 2e-6}
        for name in names}
    usd_ratio = tiered["usd"] / strong["usd"] if strong["usd"] else None
    token_ratio = tiered["tokens"] / strong["tokens"] if strong["tokens"] else None
    no_cache = tiered["usd"] + tiered["usd_saved_by_cache"]
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.llm_economy_bench",
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "loadavg": list(os.getloadavg())},
        "days": settings.days,
        "week_start": week_start.date().isoformat(),
        "dataset": {"seed": settings.seed, "scale": settings.scale,
                    "history_days": settings.history_days},
        "schedule": {"ingest_hours_utc": list(settings.ingest_hours),
                     "triage": f"hourly at :{TRIAGE_MINUTE:02d}",
                     "nightly": f"{NIGHTLY[0]:02d}:{NIGHTLY[1]:02d} summaries, "
                                f"{', '.join(DAILY_AGENTS)}, canaries; content weekly"},
        "prices_usd_per_1m_tokens": PRICES,
        "assumptions": {"cheap_miss_draft": settings.miss_draft,
                        "cheap_miss_summary": settings.miss_summary,
                        "cheap_misses_seen": dict(misses),
                        "tokens": "server count, ceil(characters / 4)"},
        "calls": tee.calls,
        "calls_by_agent_task": dict(sorted(tee.by_task.items())),
        "answer_mismatches": tee.mismatches,
        "week": {"triage_runs": week.triage_runs, "summary_refreshes": week.summary_refreshes,
                 "summaries_recomputed": dict(week.summaries_recomputed),
                 "summary_methods": dict(week.summary_methods),
                 "agent_runs": dict(sorted(week.agent_runs.items())),
                 "proposals": dict(sorted(week.proposals.items()))},
        "tiered": tiered,
        "all_strong": strong,
        "usd_ratio": round(usd_ratio, 4) if usd_ratio is not None else None,
        "token_ratio": round(token_ratio, 4) if token_ratio is not None else None,
        # tiering alone (the cache hits paid at their model's price) / the baseline
        "usd_ratio_tiering_only": round(no_cache / strong["usd"], 4) if strong["usd"] else None,
        "target_usd_ratio": TARGET_USD_RATIO,
        "target_met": usd_ratio is not None and usd_ratio <= TARGET_USD_RATIO,
        "cross_checks": checks,
        "timings": timings,
    }


def summary_lines(r: dict[str, Any]) -> list[str]:
    out = [(f"{r['calls']} LLM calls in {r['days']} simulated day(s) from {r['week_start']} "
            f"({r['answer_mismatches']} answer mismatches between the policies)")]
    for name in ("tiered", "all_strong"):
        f = r[name]
        out.append(f"{name:<10} ${f['usd']:.4f}  {f['tokens']:>9,} tokens  "
                   f"{f['calls_to_server']:>5} server calls  {f['cache_hits']:>5} cache hits  "
                   f"{f['strong_calls']:>5} strong ({f['strong_call_share']:.1%})")
    out.append(f"usd_ratio {r['usd_ratio']} (target <= {r['target_usd_ratio']}: "
               f"{'met' if r['target_met'] else 'NOT met'}), token_ratio {r['token_ratio']}, "
               f"tiering alone (cache hits paid) {r['usd_ratio_tiering_only']}")
    a = r["assumptions"]
    out.append(f"cheap-model misses (assumed {a['cheap_miss_draft']:.0%} of drafts, "
               f"{a['cheap_miss_summary']:.0%} of summaries): {a['cheap_misses_seen']}; "
               f"escalations = tiered strong calls")
    bad = [f"{n}.{k}" for n, c in r["cross_checks"].items() for k, ok in c.items() if not ok]
    out.append("ledger vs server: " + ("agree" if not bad else "DISAGREE: " + ", ".join(bad)))
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=7, help="simulated days (default 7)")
    ap.add_argument("--history-days", type=int, default=38,
                    help="demo days before the simulated ones (default 38)")
    ap.add_argument("--scale", type=float, default=0.5, help="demo business scale (0.5)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--ingest-hours", default="8,12,16,20",
                    help="UTC hours of the ingests (comma separated)")
    ap.add_argument("--cheap-miss-draft", type=float, default=0.05)
    ap.add_argument("--cheap-miss-summary", type=float, default=0.15)
    ap.add_argument("--warehouse", type=Path, help="a built demo warehouse (skip build)")
    ap.add_argument("--start", type=date.fromisoformat,
                    help="first day of the --warehouse data (default: the demo's start); the "
                         "week starts --history-days later")
    ap.add_argument("--work-dir", type=Path, help="keep the work files here (default: temp)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    settings = Settings(days=args.days, history_days=args.history_days, seed=args.seed,
                        scale=args.scale,
                        ingest_hours=tuple(int(h) for h in args.ingest_hours.split(",") if h),
                        miss_draft=args.cheap_miss_draft, miss_summary=args.cheap_miss_summary,
                        start=args.start)
    with tempfile.TemporaryDirectory(prefix="aios-llm-economy-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        saved = {k: os.environ.get(k) for k in ("AIOS_HOME", "AIOS_POSTGRES_URL")}
        os.environ["AIOS_HOME"] = str(work / "home")  # nothing touches the operator's home
        os.environ.pop("AIOS_POSTGRES_URL", None)
        try:
            report = run(settings, work, args.warehouse)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    report["command"] = " ".join(["python -m benchmarks.llm_economy_bench",
                                  *(sys.argv[1:] if argv is None else argv)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    for line in summary_lines(report):
        print(line)
    return report


if __name__ == "__main__":
    main()
