"""The whole audit trail of a period (or of one entity) as records, written as JSONL or Parquet
with credentials redacted (``aios audit export``). It reads through :mod:`.audit`'s own
readers (one package: the same tables, the same redaction)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from aios_assets.observability.audit import (
    _adapter_calls,
    _decisions,
    _llm_calls,
    _outbox,
    _payload,
    _pg,
    _q,
    redact,
)
from aios_assets.shared.jsonable import jsonable

EXPORT_FIELDS = ("record_type", "at", "proposal_id", "run_id", "agent", "entity_id", "data")


def _record(record_type: str, at: Any, data: Mapping[str, Any], *, proposal_id: Any = None,
            run_id: Any = None, agent: Any = None, entity_id: Any = None) -> dict[str, Any]:
    return {"record_type": record_type, "at": jsonable(at), "proposal_id": proposal_id,
            "run_id": run_id, "agent": agent, "entity_id": entity_id,
            "data": jsonable(redact(dict(data)))}


def trail(con: duckdb.DuckDBPyConnection, *, since: datetime | None, until: datetime | None,
          entity_id: str | None = None, pg_url: str | None = None) -> Iterator[dict[str, Any]]:
    """Every audit record of the period (or about one entity): proposals with their evidence
    ids, gate results, decisions, outbox rows, adapter calls, LLM calls and agent runs."""
    lo = since or datetime(1970, 1, 1, tzinfo=UTC)
    hi = until or datetime(9999, 12, 31, tzinfo=UTC)
    where, params = "created_at BETWEEN ? AND ?", [lo, hi]
    if entity_id:
        where += " AND target_entity_id = ?"
        params.append(entity_id)
    props = _q(con, "action_proposals", f"SELECT * FROM action_proposals WHERE {where} "
               "ORDER BY created_at, proposal_id", params)
    ids = [p["proposal_id"] for p in props]
    keys = [p["idempotency_key"] for p in props]
    entity_of = {p["proposal_id"]: p["target_entity_id"] for p in props}
    for p in props:
        data = dict(p)
        data["payload"] = _payload(p["payload"])
        yield _record("proposal", p["created_at"], data, proposal_id=p["proposal_id"],
                      run_id=p["run_id"], agent=p["agent"], entity_id=p["target_entity_id"])
    if ids:
        for g in _q(con, "proposal_gate_results", "SELECT * FROM proposal_gate_results WHERE "
                    "proposal_id IN (SELECT unnest(?)) ORDER BY evaluated_at, proposal_id, gate",
                    [ids]):
            yield _record("gate_result", g["evaluated_at"], g, proposal_id=g["proposal_id"],
                          run_id=g["run_id"], entity_id=entity_of.get(g["proposal_id"]))
    for d in _decisions(pg_url, ids):
        yield _record("decision", d["decided_at"], d, proposal_id=d["proposal_id"],
                      entity_id=entity_of.get(d["proposal_id"]))
    for o in _outbox(pg_url, keys):
        yield _record("execution", o["enqueued_at"], o, proposal_id=o["proposal_id"],
                      run_id=o["run_id"], agent=o["agent"],
                      entity_id=entity_of.get(o["proposal_id"]))
    for a in _adapter_calls(pg_url, keys):
        yield _record("adapter_call", a["called_at"], a, proposal_id=a["proposal_id"],
                      run_id=a["run_id"], agent=a["agent"],
                      entity_id=entity_of.get(a["proposal_id"]))
    if entity_id:  # the LLM calls and agent runs of the runs that made its proposals
        runs = sorted({p["run_id"] for p in props if p["run_id"]})
        llm = _llm_calls(con, pg_url, run_ids=runs)
        agent_runs = _q(con, "agent_runs", "SELECT * FROM agent_runs WHERE run_id IN "
                        "(SELECT unnest(?)) ORDER BY ran_at", [runs]) if runs else []
    else:
        llm = _pg(pg_url, "llm_calls", "SELECT * FROM aios.llm_calls WHERE called_at BETWEEN "
                  "%s AND %s ORDER BY called_at", (lo, hi))
        agent_runs = _q(con, "agent_runs", "SELECT * FROM agent_runs WHERE ran_at BETWEEN ? "
                        "AND ? ORDER BY ran_at", [lo, hi])
        # Adapter calls of the period not tied to a proposal above (e.g. older proposals).
        for a in _pg(pg_url, "adapter_calls", "SELECT * FROM aios.adapter_calls WHERE "
                     "called_at BETWEEN %s AND %s AND NOT (idempotency_key = ANY(%s)) "
                     "ORDER BY called_at", (lo, hi, keys)):
            yield _record("adapter_call", a["called_at"], a, proposal_id=a["proposal_id"],
                          run_id=a["run_id"], agent=a["agent"])
    for c in llm:
        yield _record("llm_call", c["called_at"], c, run_id=c["run_id"], agent=c["agent"])
    for r in agent_runs:
        stats = r.get("stats")
        data = dict(r) | {"stats": json.loads(stats) if isinstance(stats, str) else stats}
        yield _record("agent_run", r["ran_at"], data, run_id=r["run_id"], agent=r["agent"])


def export_trail(con: duckdb.DuckDBPyConnection, out: Path, *, since: datetime | None,
                 until: datetime | None, entity_id: str | None = None,
                 pg_url: str | None = None) -> dict[str, int]:
    """Write :func:`trail` to ``out`` (``.jsonl`` / ``.json`` or ``.parquet``, by extension);
    returns counts per record type. Written to a temporary file, then renamed."""
    suffix = out.suffix.lower()
    if suffix not in (".jsonl", ".json", ".parquet", ".ndjson"):
        raise ValueError(f"{out}: the extension decides the format: .jsonl or .parquet")
    records = list(trail(con, since=since, until=until, entity_id=entity_id, pg_url=pg_url))
    counts: dict[str, int] = {}
    for r in records:
        counts[r["record_type"]] = counts.get(r["record_type"], 0) + 1
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({
            **{f: pa.array([r[f] for r in records], pa.string())
               for f in EXPORT_FIELDS if f not in ("data",)},
            "data": pa.array([json.dumps(r["data"], sort_keys=True) for r in records],
                             pa.string()),
        })
        pq.write_table(table, tmp)
    else:
        with tmp.open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n")
    os.replace(tmp, out)
    return counts
