"""Content: the weekly newsletter draft from recent notes and what performed.

Notes of the last ``notes_days`` (the operator's own writing) become sections, each summarized
through the LLM; ``fct_content_performance`` says which past issues were opened most, and the
intro leans on the best one. When the semantic index exists, ``context_pack`` adds cited
related memory to the evidence. The proposal is an ``http_request`` that would create a draft
in the newsletter tool (``POST /newsletter/drafts``): one per ISO week.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb

from aios_assets.agents.marts import require
from aios_assets.agents.runtime import AgentOutput, AgentRun, keep_best
from aios_assets.shared.db import has_relation
from aios_assets.shared.text import markdown_table


def _related(query: str, run: AgentRun) -> list[str]:
    """Event ids of memory related to ``query`` (empty when the index is not built)."""
    from aios_assets.memory.index import IndexMissing
    from aios_assets.memory.recall import RecallError, context_pack

    try:
        pack = context_pack(query, budget_tokens=300, k=10,
                            since=(run.as_of - timedelta(days=60)).date().isoformat())
    except (IndexMissing, RecallError, FileNotFoundError):
        return []
    return [h.event_id for h in pack.hits]


def run_content(con: duckdb.DuckDBPyConnection, run: AgentRun) -> AgentOutput:
    require(con, "events_current")
    days = float(run.param("notes_days", 21))
    notes = con.execute(
        """SELECT event_id, coalesce(subject, source_id), text, occurred_at FROM events_current
           WHERE kind = 'note' AND occurred_at <= ? AND occurred_at > ?
             AND length(trim(coalesce(text, ''))) > 0
           ORDER BY occurred_at DESC, event_id LIMIT ?""",
        [run.as_of, run.as_of - timedelta(days=days),
         int(run.param("max_sections", 3))]).fetchall()
    stats = {"notes": len(notes), "posts_with_metrics": 0}
    if not notes:
        return AgentOutput([], f"No notes in the last {days:g} days: no draft.", stats)
    top: list[tuple] = []
    post_events: list[str] = []
    if has_relation(con, "fct_content_performance"):
        top = con.execute(
            """SELECT post_id, title, open_rate, click_rate FROM fct_content_performance
               WHERE open_rate IS NOT NULL AND coalesce(sent_at, published_at) <= ?
               ORDER BY open_rate DESC, post_id LIMIT ?""",
            [run.as_of, int(run.param("top_posts", 3))]).fetchall()
        stats["posts_with_metrics"] = len(top)
        if top:
            post_events = [r[0] for r in con.execute(
                "SELECT event_id FROM events_current WHERE kind IN ('post', 'content_metrics') "
                "AND source_id IN (SELECT unnest(?))", [[t[0] for t in top]]).fetchall()]
    topic = notes[0][1]
    best_title, best_rate = (top[0][1], f"{top[0][2]:.0%}") if top else (None, None)
    sections = []
    for _, title, text, _ in notes:
        sections.append(f"## {title}\n\n{run.summarize([text], max_sentences=3)}")
    intro = (run.fill("intro", {"topic": topic, "best_title": best_title,
                                "best_open_rate": best_rate})
             if top else f"This week: {topic}.")
    title = run.fill("title", {"newsletter": run.param("newsletter_name", "The newsletter"),
                               "topic": topic})
    body = intro + "\n\n" + "\n\n".join(sections)
    related = _related(best_title or topic, run)
    iso = run.as_of.isocalendar()
    why = (f"Weekly issue from {len(notes)} recent note(s)"
           + (f"; leaning on \"{best_title}\" (opened by {best_rate})" if top
              else "; no performance data yet") + ".")
    proposal = run.propose(
        action_type="http_request", target_entity_id=None,
        basis=f"newsletter:{iso.year}-W{iso.week:02d}",
        payload={"method": "POST", "path": "/newsletter/drafts",
                 "json": {"title": title, "body_markdown": body,
                          "based_on": [n[0] for n in notes]}},
        rationale=why, evidence=[*(n[0] for n in notes), *post_events, *related],
        confidence=0.75 if top else 0.6)
    preview = (markdown_table(["post", "open rate", "click rate"],
                              [(t[1], f"{t[2]:.0%}", f"{(t[3] or 0):.0%}") for t in top])
               + f"\n\n**Draft: {title}**\n\n" + body)
    return AgentOutput(keep_best([proposal], run), preview, stats)
