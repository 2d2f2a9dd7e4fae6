"""Replay: re-run an agent over a past window from the event log, in shadow, and diff.

For each run the agent made in the window (``agent_runs``, mode live, outcome ok) the replay
runs the agent again with that run's business clock (``as_of``) and wall clock (``ran_at``)
over the read snapshot with the event log cut to what had been ingested by then (temporary
views ``event_log`` / ``events_current`` shadow the tables; nothing is written). Without a
recorded run in the window it runs once at the window's end.

* LLM answers come from the LLM cache (``aios.llm_cache``) when an endpoint is configured, and
  from the deterministic offline tier otherwise (or on a cache miss, flagged): no paid call, no
  ledger row (:class:`ReplayLLM`).
* Proposals are made in mode ``live`` so their ids match the ones of that time; they are never
  merged into ``action_proposals`` (optionally kept in ``replay_proposals``).
* The diff matches proposals by id (ids are pure functions of agent, action, target and basis):
  same, changed (subject / body / text / json / confidence, as the canary diff), added (only
  now), removed (only then). Proposals the replay makes again that were first proposed before
  the window count as ``earlier``, and those first proposed after it as ``later``: neither is
  added (only a proposal the system never made is).

The window (``since``/``until``, UTC, both ends included; a date as ``until`` means the end of
that day) is wall-clock time: when the agent ran (``agent_runs.ran_at``) and so when its
proposals were made (``action_proposals.created_at``), not the business dates of the events.

:func:`replay_plan` replays a plan: each of its agent steps over the plan's window, limited to
what that plan made (``aios replay --plan ID``).

Limitation: the marts (``dim_contacts``, ``fct_invoices``...) are read as they are now; only the
event log is cut back in time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import duckdb
import psycopg

from aios_assets.agents.canary import compare
from aios_assets.agents.manifests import AgentManifest, load_manifest, load_manifests, manifest_dirs
from aios_assets.agents.proposals import (
    DDL_COLUMNS,
    PROPOSALS_TABLE,
    Proposal,
    read_proposals,
    to_row,
)
from aios_assets.shared.db import has_relation
from aios_assets.shared.jsonable import jsonable
from aios_assets.shared.postgres import connect as pg_connect
from resources.llm import OFFLINE_MODEL, LLMResult, estimate_tokens, prompt_hash

REPLAY_TABLE = "replay_proposals"
REPLAY_DDL = f"""
CREATE TABLE IF NOT EXISTS {REPLAY_TABLE} (
    replay_id VARCHAR NOT NULL,
    replayed_at TIMESTAMPTZ NOT NULL,
    diff VARCHAR NOT NULL,  -- same | changed | added | earlier | later
    {DDL_COLUMNS.strip()}
);
"""


class ReplayError(ValueError):
    """A replay that cannot run (unknown agent or version, bad window, no event log)."""


# --- the LLM in a replay --------------------------------------------------------------------


@dataclass
class ReplayLLM:
    """``complete`` like :class:`resources.llm.LLMResource`, but answered only from the cache or
    the offline tier: no endpoint call, no budget use, no ledger row."""

    pg_url: str | None = None
    endpoint: bool = False
    cheap_model: str = "gpt-4o-mini"
    strong_model: str = "gpt-4o"
    strong_value_threshold: float = 0.8
    calls: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_resource(cls, llm: Any, pg_url: str | None) -> ReplayLLM:
        return cls(pg_url=pg_url, endpoint=llm.endpoint() is not None,
                   cheap_model=llm.cheap_model, strong_model=llm.strong_model,
                   strong_value_threshold=llm.strong_value_threshold)

    def _cached(self, phash: str) -> str | None:
        if not self.pg_url:
            return None
        try:
            with pg_connect(self.pg_url, autocommit=True) as con:
                if con.execute("SELECT to_regclass('aios.llm_cache')").fetchone()[0] is None:
                    return None
                row = con.execute("SELECT response FROM aios.llm_cache WHERE prompt_hash = %s",
                                  (phash,)).fetchone()
        except psycopg.Error:
            return None
        return row[0] if row else None

    def complete(self, *, agent: str, task: str, prompt: str, system: str | None = None,
                 offline: Any = None, value: float = 0.0, accept: Any = None,
                 max_tokens: int = 512, **_: Any) -> LLMResult:
        text: str | None = None
        source, model, phash = "offline", OFFLINE_MODEL, ""
        if self.endpoint:
            first = "strong" if value >= self.strong_value_threshold else "cheap"
            tiers = [first] + (["strong"] if first == "cheap" and accept is not None else [])
            for tier in tiers:
                m = self.strong_model if tier == "strong" else self.cheap_model
                h = prompt_hash(m, system, prompt, max_tokens, task)
                hit = self._cached(h)
                if hit is not None:
                    text, source, model, phash = hit, "cache", m, h
                    if tier == "strong" or accept is None or accept(hit):
                        break
            if text is None:
                source = "cache_miss"
        if text is None:
            if offline is None:
                from aios_assets.llm.offline import offline_handler

                text = offline_handler(task)(prompt, system, max_tokens)
            else:
                text = str(offline())
            phash = phash or prompt_hash(OFFLINE_MODEL, system, prompt, max_tokens, task)
        self.calls.append({"agent": agent, "task": task, "source": source, "model": model,
                           "prompt_hash": phash})
        return LLMResult(text=text, tier="offline" if source != "cache" else "cheap",
                         model=model, prompt_tokens=estimate_tokens((system or "") + prompt),
                         completion_tokens=estimate_tokens(text), cost_usd=0.0,
                         cache_hit=source == "cache", prompt_hash=phash, degraded=False,
                         reason=f"replay: {source}")


# --- the diff ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayDiff:
    same: tuple[Proposal, ...] = ()
    changed: tuple[tuple[Proposal, Proposal, tuple[str, ...]], ...] = ()
    added: tuple[Proposal, ...] = ()
    removed: tuple[Proposal, ...] = ()
    earlier: tuple[Proposal, ...] = ()
    later: tuple[Proposal, ...] = ()  # first proposed after the window

    @property
    def identical(self) -> bool:
        return not (self.changed or self.added or self.removed)


def diff_proposals(then: Sequence[Proposal], now: Sequence[Proposal],
                   earlier_ids: set[str] = frozenset(),
                   later_ids: set[str] = frozenset()) -> ReplayDiff:
    """Match by proposal id; compare matched pairs as the canary diff does. Made now but not
    then: ``earlier`` / ``later`` when the system proposed it before / after the window,
    else ``added``."""
    a = {p.proposal_id: p for p in then}
    b = {p.proposal_id: p for p in now}
    same, changed = [], []
    for pid in sorted(a.keys() & b.keys()):
        d = compare([a[pid]], [b[pid]])
        what = d.changed[0][2] if d.changed else ()
        if b[pid].manifest_version != a[pid].manifest_version:
            what = ("manifest_version", *what)
        if what:
            changed.append((a[pid], b[pid], tuple(what)))
        else:
            same.append(a[pid])
    only_now = [b[k] for k in sorted(b.keys() - a.keys())]
    return ReplayDiff(
        same=tuple(same), changed=tuple(changed),
        added=tuple(p for p in only_now
                    if p.proposal_id not in earlier_ids and p.proposal_id not in later_ids),
        earlier=tuple(p for p in only_now if p.proposal_id in earlier_ids),
        later=tuple(p for p in only_now
                    if p.proposal_id in later_ids and p.proposal_id not in earlier_ids),
        removed=tuple(a[k] for k in sorted(a.keys() - b.keys())))


# --- running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayRun:
    run_id: str | None
    as_of: datetime
    ran_at: datetime
    manifest_version_then: str | None
    proposals: int


@dataclass
class ReplayResult:
    agent: str
    manifest_version: str
    template_version: str
    since: datetime
    until: datetime
    runs: list[ReplayRun]
    then: list[Proposal]
    now: list[Proposal]
    diff: ReplayDiff
    llm_calls: list[dict[str, Any]]
    replay_id: str = field(default_factory=lambda: "rpl_" + uuid.uuid4().hex[:12])

    def summary(self) -> dict[str, Any]:
        d = self.diff
        sources: dict[str, int] = {}
        for c in self.llm_calls:
            sources[c["source"]] = sources.get(c["source"], 0) + 1

        def brief(p: Proposal) -> dict[str, Any]:
            return {"proposal_id": p.proposal_id, "action_type": p.action_type,
                    "target_entity_id": p.target_entity_id,
                    "manifest_version": p.manifest_version,
                    "what": str(p.payload.get("subject") or p.payload.get("title")
                                or p.payload.get("text") or p.payload.get("path") or "")[:80]}

        return jsonable({
            "replay_id": self.replay_id, "agent": self.agent,
            "manifest_version": self.manifest_version,
            "template_version": self.template_version,
            "since": self.since, "until": self.until,
            "runs": [r.__dict__ for r in self.runs],
            "then": len(self.then), "now": len(self.now),
            "same": len(d.same), "changed": [
                {**brief(b), "fields": list(what), "then_version": a.manifest_version}
                for a, b, what in d.changed],
            "added": [brief(p) for p in d.added], "removed": [brief(p) for p in d.removed],
            "earlier": len(d.earlier), "later": len(d.later), "identical": d.identical,
            "llm_answers": sources,
        })


def find_manifest(agent: str, version: str | None = None) -> AgentManifest:
    """The current manifest of ``agent``, or the one with ``version`` (any channel)."""
    try:
        slots = load_manifests()
    except ValueError as exc:
        raise ReplayError(str(exc)) from None
    if agent not in slots:
        raise ReplayError(f"unknown agent {agent!r}; known: {', '.join(sorted(slots))}")
    if version is None:
        return slots[agent]["current"]
    found = None
    for d in manifest_dirs():
        for path in sorted(d.glob("*.yaml")):
            m = load_manifest(path)
            if m.agent == agent and m.version == version:
                found = m  # later dirs win, as in load_manifests
    if found is None:
        raise ReplayError(f"agent {agent} has no manifest version {version!r}")
    return found


def _cut_log(con: duckdb.DuckDBPyConnection, at: datetime) -> None:
    """Temporary views: the event log as it was ingested by ``at``."""
    db = con.execute("SELECT current_database()").fetchone()[0]
    lit = at.astimezone(UTC).isoformat()
    con.execute(f"CREATE OR REPLACE TEMP VIEW event_log AS SELECT * FROM \"{db}\".main.event_log "
                f"WHERE ingested_at <= TIMESTAMPTZ '{lit}'")
    con.execute("CREATE OR REPLACE TEMP VIEW events_current AS SELECT * FROM temp.event_log "
                "QUALIFY row_number() OVER (PARTITION BY source, record_key "
                "ORDER BY version DESC) = 1")


def _drop_cut(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP VIEW IF EXISTS temp.events_current")
    con.execute("DROP VIEW IF EXISTS temp.event_log")


def recorded_runs(con: duckdb.DuckDBPyConnection, agent: str, since: datetime,
                  until: datetime) -> list[ReplayRun]:
    if not has_relation(con, "agent_runs"):
        return []
    return [ReplayRun(r[0], r[1], r[2], r[3], int(r[4])) for r in con.execute(
        "SELECT run_id, as_of, ran_at, manifest_version, proposals FROM agent_runs "
        "WHERE agent = ? AND mode = 'live' AND outcome = 'ok' AND ran_at BETWEEN ? AND ? "
        "ORDER BY ran_at", [agent, since, until]).fetchall()]


def replay(con: duckdb.DuckDBPyConnection, agent: str, since: datetime, until: datetime, *,
           manifest: AgentManifest | None = None, llm: Any = None,
           intents: Sequence[Any] | None = None, plan_id: str | None = None) -> ReplayResult:
    """Re-run ``agent`` over ``[since, until]`` in shadow and diff with what it proposed then.

    ``plan_id``: only what that plan's step made counts as "then", and only the runs that made
    it are replayed (all of the agent's runs in the window when none is known).
    ``con`` is a read connection (the read snapshot): only temporary views are created."""
    from aios_assets.agents.assets import run_agent
    from aios_assets.agents.intents import intents_for_agent
    from aios_assets.agents.runtime import business_clock

    if until < since:
        raise ReplayError(f"--until {until.isoformat()} is before --since {since.isoformat()}")
    if not has_relation(con, "event_log"):
        raise ReplayError("no event log yet: ingest something first (`aios demo`)")
    manifest = manifest or find_manifest(agent)
    if manifest.agent != agent:
        raise ReplayError(f"manifest {manifest.label} is not for agent {agent}")
    llm = llm if llm is not None else ReplayLLM()
    if intents is None:
        from aios_assets.agents.intents import ensure_default_intents, load_intents

        intents = load_intents(ensure_default_intents())
    served = intents_for_agent(list(intents), agent)
    intent = served[0] if served else None
    runs = recorded_runs(con, agent, since, until)
    then = (read_proposals(con, PROPOSALS_TABLE, "agent = ? AND mode = 'live' AND created_at "
                           "BETWEEN ? AND ?", [agent, since, until])
            if has_relation(con, PROPOSALS_TABLE) else [])
    if plan_id is not None:
        then = [p for p in then if p.plan_id == plan_id]
        made_by = {p.run_id for p in then if p.run_id}
        runs = [r for r in runs if r.run_id in made_by] or runs
    plan_of = {p.run_id: p.plan_id for p in then if p.run_id}
    if not runs:
        _cut_log(con, until)
        try:
            as_of = business_clock(con, until)
        finally:
            _drop_cut(con)
        runs = [ReplayRun(None, as_of, until, None, len(then))]
    made: dict[str, Proposal] = {}
    try:
        for r in runs:
            _cut_log(con, r.ran_at)
            output, _ = run_agent(con, manifest, as_of=r.as_of, now=r.ran_at, llm=llm,
                                  intent=intent, plan_id=plan_of.get(r.run_id), mode="live",
                                  run_id=r.run_id)
            for p in output.proposals:
                made.setdefault(p.proposal_id, p)
    finally:
        _drop_cut(con)
    now_props = list(made.values())
    earlier: set[str] = set()
    later: set[str] = set()
    if now_props and has_relation(con, PROPOSALS_TABLE):
        # what the system proposed outside the window is not new (ids are deterministic)
        for pid, before in con.execute(
                f"SELECT proposal_id, created_at < ? FROM {PROPOSALS_TABLE} "
                "WHERE proposal_id IN (SELECT unnest(?)) AND NOT created_at BETWEEN ? AND ?",
                [since, [p.proposal_id for p in now_props], since, until]).fetchall():
            (earlier if before else later).add(pid)
    return ReplayResult(
        agent=agent, manifest_version=manifest.version,
        template_version=manifest.template_version, since=since, until=until, runs=runs,
        then=then, now=now_props, diff=diff_proposals(then, now_props, earlier, later),
        llm_calls=list(getattr(llm, "calls", [])))


@dataclass
class PlanReplay:
    """A plan replayed: one :class:`ReplayResult` per agent step, over the plan's window."""

    plan_id: str
    intent_id: str
    status: str
    since: datetime
    until: datetime
    results: list[ReplayResult]
    skipped: list[str]  # steps whose agent cannot be replayed (and why)

    def summary(self) -> dict[str, Any]:
        return jsonable({
            "plan_id": self.plan_id, "intent_id": self.intent_id, "status": self.status,
            "since": self.since, "until": self.until,
            "identical": all(r.diff.identical for r in self.results),
            "agents": [r.summary() for r in self.results], "skipped": self.skipped,
        })


def replay_plan(con: duckdb.DuckDBPyConnection, plan: Any, *, llm: Any = None,
                agents: Sequence[str] | None = None, now: datetime | None = None,
                intents: Sequence[Any] | None = None,
                manifest: AgentManifest | None = None) -> PlanReplay:
    """Replay each agent step of ``plan`` (an ``aios_assets.agents.plans.Plan``) over the plan's
    window (``window_start`` to ``expires_at``, or now if earlier), limited to what that plan
    made (:func:`replay` with ``plan_id``). ``agents`` narrows it to those steps; ``manifest``
    replays another manifest version for its agent's step."""
    until = min(plan.expires_at, now or datetime.now(UTC))
    try:
        known = set(load_manifests())
    except ValueError as exc:
        raise ReplayError(str(exc)) from None
    wanted = list(agents) if agents else [s.agent for s in plan.steps]
    missing = [a for a in wanted if a not in {s.agent for s in plan.steps}]
    if missing:
        raise ReplayError(f"plan {plan.plan_id} has no step for {', '.join(missing)} (steps: "
                          f"{', '.join(s.agent for s in plan.steps)})")
    results, skipped = [], []
    for agent in wanted:
        if agent not in known:
            skipped.append(f"{agent}: no manifest")
            continue
        # Each agent counts its own LLM answers.
        agent_llm = replace(llm, calls=[]) if isinstance(llm, ReplayLLM) else llm
        results.append(replay(con, agent, plan.window_start, until, llm=agent_llm,
                              intents=intents, plan_id=plan.plan_id,
                              manifest=manifest if manifest and manifest.agent == agent
                              else None))
    return PlanReplay(plan.plan_id, plan.intent_id, plan.status, plan.window_start, until,
                      results, skipped)


def save_replay(con: duckdb.DuckDBPyConnection, result: ReplayResult) -> int:
    """Keep a replay's proposals in ``replay_proposals`` (never in ``action_proposals``)."""
    con.execute(REPLAY_DDL)
    d = result.diff
    kind = {p.proposal_id: "same" for p in d.same}
    kind |= {b.proposal_id: "changed" for _, b, _ in d.changed}
    kind |= {p.proposal_id: "added" for p in d.added}
    kind |= {p.proposal_id: "earlier" for p in d.earlier}
    kind |= {p.proposal_id: "later" for p in d.later}
    at = datetime.now(UTC)
    rows = [[result.replay_id, at, kind.get(p.proposal_id, "same"), *to_row(p)]
            for p in result.now]
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        con.executemany(f"INSERT INTO {REPLAY_TABLE} VALUES ({marks})", rows)
    return len(rows)


def replace_manifest(manifest: AgentManifest, **changes: Any) -> AgentManifest:
    """A copy of ``manifest`` with fields changed (e.g. a new template to try in a replay)."""
    return manifest.model_copy(update=changes)


__all__ = ["PlanReplay", "ReplayDiff", "ReplayError", "ReplayLLM", "ReplayResult",
           "diff_proposals", "find_manifest", "replace_manifest", "replay", "replay_plan",
           "save_replay"]
