"""Working memory: per entity and per thread, the most recent events that fit a prompt budget.

``working_memory(scope, scope_id, event_id, position, tokens, occurred_at, line)`` holds, for
every canonical entity (``scope = 'entity'``) and every thread (``scope = 'thread'``), the
newest events whose rendered lines fit ``token_budget`` (default 2,000) tokens, oldest first
(``position`` 1). ``line`` is the cited one-line rendering agents see; ``tokens`` is
``estimate_tokens(line)``.

Agents call :func:`working_window` / :func:`render_working_memory`: they read the materialized
table when it was built with at least the budget asked for (a smaller budget is a prefix of the
newest events), and otherwise compute the window live from the event log.

Tokens: ``aios_assets.shared.text.estimate_tokens`` (ceil(characters / 4)) — the rule every
budget in AIOS uses.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa

from aios_assets.memory.base import (
    ENTITY_MEMBERSHIP,
    EVENT_LOG,
    FCT_INTERACTIONS,
    FCT_INVOICES,
    GROUP,
    build_event_people,
    get_state,
    set_state,
    text_source,
)
from aios_assets.shared.automation import FOLLOW_INPUTS
from aios_assets.shared.db import has_relation, transaction
from aios_assets.shared.text import (
    GREETING_RE,
    SIGNOFF_RE,
    estimate_tokens,
    markdown_table,
    message_body,
    name_of,
)
from resources.warehouse import DuckDBWarehouse

ASSET = "working_memory"
SCOPES = ("entity", "thread")
DEFAULT_BUDGET = 2_000
DEFAULT_MAX_EVENT_CHARS = 600
TURN_KINDS = ("chat_message", "transcript_turn")
_MIN_LINE_TOKENS = 8  # "[YYYY-MM-DD HH:MM] k · x: [s:i]" is at least ~32 characters

DDL = """
CREATE TABLE IF NOT EXISTS working_memory (
    scope VARCHAR NOT NULL,
    scope_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    line VARCHAR NOT NULL
);
"""




def compact_body(text: str | None) -> str:
    """The message's own words on one line: no quotes, signature, greeting or sign-off."""
    kept: list[str] = []
    for line in message_body(text or "").splitlines():
        s = line.strip()
        if not s or (not kept and GREETING_RE.match(s)):
            continue
        if SIGNOFF_RE.match(s):
            break
        kept.append(s)
    return " ".join(" ".join(kept).split())


def render_event_line(occurred_at: datetime, kind: str, actor: str | None, subject: str | None,
                      text: str | None, source: str, source_id: str,
                      max_chars: int = DEFAULT_MAX_EVENT_CHARS) -> str:
    """``[2026-06-03 09:15] email · Dana Reyes — Subject: body… [email:<source_id>]``."""
    body = compact_body(text)
    if len(body) > max_chars:
        body = body[: max_chars - 1].rstrip() + "…"
    who = name_of(actor) or (actor or "").strip() or "?"
    subj = f" — {subject.strip()}" if subject and subject.strip() and kind not in TURN_KINDS else ""
    return f"[{occurred_at:%Y-%m-%d %H:%M}] {kind} · {who}{subj}: {body} [{source}:{source_id}]"


@dataclass(frozen=True)
class WindowItem:
    """One event of a working-memory window (``position`` 1 = the oldest kept)."""

    event_id: str
    source: str
    source_id: str
    occurred_at: datetime
    position: int
    tokens: int
    line: str


def select_window(lines_newest_first: Sequence[tuple[Any, int]], budget: int) -> list[int]:
    """Indexes (into the newest-first list) of the events kept: newest first while the running
    total fits ``budget``; the newest event is always kept (cut to the budget if need be)."""
    kept: list[int] = []
    total = 0
    for i, (_, tokens) in enumerate(lines_newest_first):
        if i == 0 or total + tokens <= budget:
            kept.append(i)
            total += min(tokens, budget) if i == 0 else tokens
        else:
            break
    return kept


def _scope_pairs_sql(scope_filter: str = "") -> str:
    """(scope, scope_id, event_id, occurred_at) for every scope (needs ``_event_people``)."""
    return f"""
        SELECT * FROM (
            SELECT DISTINCT 'entity' AS scope, p.entity_id AS scope_id, e.event_id, e.occurred_at,
                   e.source_id
            FROM _event_people p JOIN events_current e USING (event_id)
            WHERE p.entity_id IS NOT NULL
            UNION ALL
            SELECT 'thread', thread, event_id, occurred_at, source_id
            FROM events_current WHERE thread IS NOT NULL
        ) {scope_filter}"""


def _compute(con: duckdb.DuckDBPyConnection, budget: int, max_chars: int,
             scope_filter: str = "", params: Sequence[Any] = ()) -> None:
    """Fill the temp table ``_wm_new`` with the windows of the scopes matched by the filter."""
    cap = budget // _MIN_LINE_TOKENS + 2
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _wm_cand AS
        SELECT * FROM ({_scope_pairs_sql(scope_filter)})
        QUALIFY row_number() OVER (PARTITION BY scope, scope_id
                                   ORDER BY occurred_at DESC, source_id DESC, event_id DESC)
                <= {cap}""",
        list(params),
    )
    rows = con.execute(
        f"""SELECT e.event_id, e.occurred_at, e.kind, e.actor, e.subject, e.text, e.source,
                   e.source_id
        FROM {text_source(con)} e WHERE e.event_id IN (SELECT event_id FROM _wm_cand)"""
    ).fetchall()
    ids, lines, tokens = [], [], []
    for event_id, occurred_at, kind, actor, subject, text, source, source_id in rows:
        line = render_event_line(occurred_at, kind, actor, subject, text, source, source_id,
                                 max_chars)
        ids.append(event_id)
        lines.append(line)
        tokens.append(estimate_tokens(line))
    con.register("_wm_lines_arrow", pa.table({"event_id": pa.array(ids, pa.string()),
                                              "line": pa.array(lines, pa.string()),
                                              "tokens": pa.array(tokens, pa.int32())}))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _wm_new AS
        WITH ranked AS (
            SELECT c.scope, c.scope_id, c.event_id, c.occurred_at, l.line, l.tokens,
                   row_number() OVER w AS rn,
                   sum(l.tokens) OVER (w ROWS UNBOUNDED PRECEDING) AS running
            FROM _wm_cand c JOIN _wm_lines_arrow l USING (event_id)
            WINDOW w AS (PARTITION BY c.scope, c.scope_id
                         ORDER BY c.occurred_at DESC, c.source_id DESC, c.event_id DESC)
        ),
        kept AS (SELECT * FROM ranked WHERE rn = 1 OR running <= {budget})
        SELECT scope, scope_id, event_id,
               (count(*) OVER (PARTITION BY scope, scope_id) - rn + 1)::INTEGER AS position,
               least(tokens, {budget})::INTEGER AS tokens, occurred_at,
               CASE WHEN tokens > {budget} THEN left(line, {budget * 4 - 1}) || '…' ELSE line END
                   AS line
        FROM kept"""
    )
    con.unregister("_wm_lines_arrow")


@dataclass
class WorkingStats:
    rows: int
    scopes: dict[str, int]
    scopes_changed: int
    max_scope_tokens: int


def build_working_memory(con: duckdb.DuckDBPyConnection, *, budget: int = DEFAULT_BUDGET,
                         max_event_chars: int = DEFAULT_MAX_EVENT_CHARS) -> WorkingStats:
    """Recompute every window (entity and thread scopes) into ``working_memory``."""
    if budget < 1:
        raise ValueError("the token budget must be at least 1")
    con.execute(DDL)
    build_event_people(con)
    _compute(con, budget, max_event_chars)
    changed = con.execute(
        """WITH o AS (SELECT scope, scope_id, string_agg(event_id, ',' ORDER BY position) h
                      FROM working_memory GROUP BY 1, 2),
                n AS (SELECT scope, scope_id, string_agg(event_id, ',' ORDER BY position) h
                      FROM _wm_new GROUP BY 1, 2)
        SELECT count(*) FROM o FULL JOIN n USING (scope, scope_id)
        WHERE o.h IS DISTINCT FROM n.h"""
    ).fetchone()[0]
    with transaction(con):
        con.execute("DELETE FROM working_memory")
        con.execute("INSERT INTO working_memory SELECT scope, scope_id, event_id, position, "
                    "tokens, occurred_at, line FROM _wm_new")
        set_state(con, ASSET, "budget", str(budget))
        set_state(con, ASSET, "max_event_chars", str(max_event_chars))
    rows = con.execute("SELECT count(*) FROM working_memory").fetchone()[0]
    scopes = dict(con.execute(
        "SELECT scope, count(DISTINCT scope_id) FROM working_memory GROUP BY 1 ORDER BY 1"
    ).fetchall())
    biggest = con.execute(
        "SELECT coalesce(max(t), 0) FROM (SELECT sum(tokens) t FROM working_memory "
        "GROUP BY scope, scope_id)").fetchone()[0]
    return WorkingStats(rows=rows, scopes=scopes, scopes_changed=changed,
                        max_scope_tokens=int(biggest))


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")


def working_window(con: duckdb.DuckDBPyConnection, scope: str, scope_id: str,
                   budget: int = DEFAULT_BUDGET) -> list[WindowItem]:
    """The newest events of an entity or thread that fit ``budget`` tokens, oldest first.

    Reads ``working_memory`` when it was built with a budget at least this large (and the same
    line length); otherwise computes the window live from ``events_current`` and the marts."""
    _check_scope(scope)
    built = get_state(con, ASSET, "budget")
    max_chars = DEFAULT_MAX_EVENT_CHARS
    if built is not None and has_relation(con, "working_memory") and int(built) >= budget:
        rows = con.execute(
            """SELECT w.event_id, e.source, e.source_id, w.occurred_at, w.tokens, w.line
            FROM working_memory w JOIN events_current e USING (event_id)
            WHERE w.scope = ? AND w.scope_id = ? ORDER BY w.position DESC""",
            [scope, scope_id],
        ).fetchall()
        chars = get_state(con, ASSET, "max_event_chars")
        max_chars = int(chars) if chars else max_chars
    else:
        build_event_people(con)
        _compute(con, budget, max_chars, "WHERE scope = ? AND scope_id = ?", [scope, scope_id])
        rows = con.execute(
            """SELECT w.event_id, e.source, e.source_id, w.occurred_at, w.tokens, w.line
            FROM _wm_new w JOIN events_current e USING (event_id) ORDER BY w.position DESC"""
        ).fetchall()
    keep = select_window([(r, r[4]) for r in rows], budget)
    chosen = [rows[i] for i in keep]
    out = []
    for pos, (event_id, source, source_id, occurred_at, tokens, line) in enumerate(
            reversed(chosen), start=1):
        if tokens > budget:
            line, tokens = line[: budget * 4 - 1] + "…", budget
        out.append(WindowItem(event_id, source, source_id, occurred_at, pos, int(tokens), line))
    return out


def _scope_label(con: duckdb.DuckDBPyConnection, scope: str, scope_id: str) -> str:
    if scope == "entity" and has_relation(con, "dim_contacts"):
        row = con.execute("SELECT full_name FROM dim_contacts WHERE entity_id = ?",
                          [scope_id]).fetchone()
        if row and row[0]:
            return f"{scope_id} ({row[0]})"
    if scope == "thread":
        row = con.execute(
            "SELECT subject FROM events_current WHERE thread = ? AND subject IS NOT NULL "
            "ORDER BY occurred_at LIMIT 1", [scope_id]).fetchone()
        if row and row[0]:
            return f"{scope_id} ({row[0]})"
    return scope_id


def render_working_memory(con: duckdb.DuckDBPyConnection, scope: str, scope_id: str,
                          budget: int = DEFAULT_BUDGET) -> str:
    """The window as a cited text block for a prompt: a header, then one line per event,
    oldest first, each ending with ``[source:source_id]``. The event lines fit ``budget``."""
    items = working_window(con, scope, scope_id, budget)
    label = _scope_label(con, scope, scope_id)
    if not items:
        return f"## Working memory — {scope} {label}\n(no events)"
    used = sum(i.tokens for i in items)
    header = (f"## Working memory — {scope} {label} · {len(items)} events · {used:,} of "
              f"{budget:,} tokens · {items[0].occurred_at:%Y-%m-%d} → "
              f"{items[-1].occurred_at:%Y-%m-%d}")
    return "\n".join([header, *(i.line for i in items)])


# --- Dagster ------------------------------------------------------------------------------


class WorkingMemoryConfig(dg.Config):
    """The prompt budget of each window."""

    token_budget: int = DEFAULT_BUDGET
    max_event_chars: int = DEFAULT_MAX_EVENT_CHARS  # one event's body is cut to this


@dg.asset(
    key=ASSET,
    group_name=GROUP,
    pool="warehouse",
    automation_condition=FOLLOW_INPUTS,
    kinds={"duckdb", "python"},
    deps=[EVENT_LOG, ENTITY_MEMBERSHIP, FCT_INTERACTIONS, FCT_INVOICES],
    description=(
        "Working memory: for every canonical entity and every thread, the newest events whose "
        "cited one-line renderings fit the token budget (default 2,000; tokens = "
        "ceil(chars / 4)). Agents read it with working_window() / render_working_memory()."
    ),
)
def working_memory(context: dg.AssetExecutionContext, config: WorkingMemoryConfig,
                   warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        stats = build_working_memory(con, budget=config.token_budget,
                                     max_event_chars=config.max_event_chars)
        preview = con.execute(
            """SELECT scope, scope_id, count(*) AS events, sum(tokens) AS tokens,
                      max(occurred_at)::DATE AS newest
            FROM working_memory GROUP BY 1, 2 ORDER BY max(occurred_at) DESC, 1, 2 LIMIT 10"""
        ).fetchall()
    context.log.info(f"working memory: {stats.rows} rows over {stats.scopes}; "
                     f"{stats.scopes_changed} windows changed")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": stats.rows,
        "scopes": dg.MetadataValue.json(stats.scopes),
        "windows_changed": stats.scopes_changed,
        "token_budget": config.token_budget,
        "max_window_tokens": stats.max_scope_tokens,
        "preview": dg.MetadataValue.md(
            markdown_table(["scope", "scope_id", "events", "tokens", "newest"], preview)),
    })


@dg.asset_check(asset=ASSET, blocking=True,
                description="every window fits the token budget it was built with")
def working_memory_within_budget(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        budget = int(get_state(con, ASSET, "budget") or DEFAULT_BUDGET)
        over, gaps = con.execute(
            """SELECT count(*) FILTER (WHERE t > ?), count(*) FILTER (WHERE n <> mx)
            FROM (SELECT sum(tokens) t, count(*) n, max(position) mx
                  FROM working_memory GROUP BY scope, scope_id)""",
            [budget],
        ).fetchone()
    return dg.AssetCheckResult(passed=over == 0 and gaps == 0,
                               metadata={"windows_over_budget": over,
                                         "windows_with_position_gaps": gaps,
                                         "budget": budget})


WORKING_ASSETS = [working_memory]
WORKING_CHECKS = [working_memory_within_budget]
