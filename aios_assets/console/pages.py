"""Each page's context: open the snapshot (and Postgres), read, close. Blocking: the app runs
these in a worker thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

import duckdb

from aios_assets.console import data, seams
from aios_assets.console import people as people_data

T = TypeVar("T")
SEARCH_FIELDS = ("q", "thread", "person", "company", "since", "until", "k")
MAX_K = 50


class NotFound(LookupError):
    """An id that names nothing (404)."""


@contextmanager
def snapshot() -> Iterator[duckdb.DuckDBPyConnection]:
    con = seams.warehouse_read()
    try:
        yield con
    finally:
        con.close()


def today() -> dict[str, Any]:
    with snapshot() as con:  # first: a home without a warehouse is one line, no Postgres start
        pg_url = seams.postgres_url()
        rows = data.proposals(con)
        return {
            "title": "Today",
            "brief": data.latest_brief(con),
            "awaiting": [r for r in rows if r["status"] == data.AWAITING],
            "counts": data.status_counts(rows),
            "incidents": data.open_incidents(pg_url),
            "spend": data.spend_today(pg_url, con),
            "postgres": pg_url is not None,
        }


def proposal_list(status: str | None) -> dict[str, Any]:
    with snapshot() as con:
        rows = data.proposals(con)
    return {"title": "Proposals", "rows": [r for r in rows if not status or
                                           r["status"] == status],
            "counts": data.status_counts(rows), "status": status}


def _full_id(con: duckdb.DuckDBPyConnection, pid: str) -> str:
    """The proposal id for a full id or a unique prefix of at least 6 characters."""
    if len(pid) < 6 or not data.has_relation(con, "action_proposals"):
        return pid
    rows = con.execute("SELECT proposal_id FROM action_proposals WHERE starts_with("
                       "proposal_id, ?) LIMIT 2", [pid]).fetchall()
    return rows[0][0] if len(rows) == 1 else pid


def proposal(pid: str) -> dict[str, Any]:
    with snapshot() as con:
        pid = _full_id(con, pid)
        detail = data.proposal_detail(con, pid, seams.postgres_url())
    if detail is None:
        raise NotFound(f"no proposal {pid!r}")
    return {"title": f"Proposal {pid[:12]}", "d": detail}


def people(q: str | None) -> dict[str, Any]:
    with snapshot() as con:
        return {"title": "People", "q": q or "", "rows": people_data.search_people(con, q)}


def person(entity_id: str) -> dict[str, Any]:
    with snapshot() as con:
        page = people_data.entity_page(con, entity_id, seams.postgres_url())
    if page is None:
        raise NotFound(f"no entity {entity_id!r}")
    return {"title": page["contact"].get("full_name") or entity_id, "e": page}


def _with_snapshot(fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    with snapshot() as con:
        return fn(con)


def split(entity_id: str, record: str) -> list[str]:
    return _with_snapshot(lambda con: people_data.split_record(con, entity_id, record))


def merge(entity_id: str, other: str) -> list[str]:
    return _with_snapshot(lambda con: people_data.merge_entities(con, entity_id,
                                                                 other.strip()))


# --- search ----------------------------------------------------------------------------------


def _person_id(con: duckdb.DuckDBPyConnection, text: str) -> str:
    """An entity id for what was typed: an id, an e-mail or a unique name."""
    rows = people_data.search_people(con, text, limit=3)
    exact = [r for r in rows if text in (r.get("entity_id"), r.get("primary_email"))]
    if exact:
        return exact[0]["entity_id"]
    if len(rows) == 1:
        return rows[0]["entity_id"]
    raise ValueError(f"person {text!r} matches {len(rows) or 'no'} people; use an entity id")


def _company_events(con: duckdb.DuckDBPyConnection, company: str,
                    event_ids: list[str]) -> set[str]:
    """The events among ``event_ids`` that involve a person of ``company`` (or name it)."""
    like = f"%{company.strip().lower()}%"
    found: set[str] = set()
    if data.has_relation(con, "fct_interactions") and data.has_relation(con, "dim_contacts"):
        found |= {r[0] for r in con.execute(
            """SELECT DISTINCT e.event_id FROM event_log e
               JOIN fct_interactions i ON i.source = e.source
                    AND i.source_event_id = e.source_id
               JOIN dim_contacts c ON c.entity_id = i.entity_id
               WHERE e.event_id IN (SELECT unnest(?))
                 AND lower(coalesce(c.company, '')) LIKE ?""", [event_ids, like]).fetchall()}
    if data.has_relation(con, "event_log"):
        found |= {r[0] for r in con.execute(
            """SELECT DISTINCT event_id FROM event_log WHERE event_id IN (SELECT unnest(?))
               AND (lower(coalesce(text, '')) LIKE ? OR lower(coalesce(actor, '')) LIKE ?
                    OR lower(coalesce(subject, '')) LIKE ?)""",
            [event_ids, like, like, like]).fetchall()}
    return found


def search(params: dict[str, str]) -> dict[str, Any]:
    ctx: dict[str, Any] = {"title": "Search", "f": params, "hits": [], "error": None,
                           "searched": bool(params.get("q"))}
    if not params.get("q"):
        return ctx
    try:
        k = min(MAX_K, max(1, int(params.get("k") or 10)))
        for name in ("since", "until"):
            if params.get(name):
                date.fromisoformat(params[name][:10])
    except ValueError as exc:
        ctx["error"] = f"bad filter: {exc}"
        return ctx
    filters: dict[str, Any] = {"thread": params.get("thread") or None,
                               "since": params.get("since") or None,
                               "until": params.get("until") or None}
    with snapshot() as con:
        try:
            if params.get("person"):
                filters["entity"] = _person_id(con, params["person"])
            company = params.get("company")
            hits = seams.recall(params["q"], k=k * 5 if company else k, filters=filters)
            if company:
                keep = _company_events(con, company, [h.event_id for h in hits])
                hits = [h for h in hits if h.event_id in keep][:k]
        except (ValueError, *seams.recall_errors()) as exc:
            ctx["error"] = str(exc)
            return ctx
    ctx["hits"] = hits
    ctx["entity"] = filters.get("entity")
    return ctx
