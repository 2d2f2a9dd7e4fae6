"""Working memory: the newest events of each entity and thread that fit a token budget."""

from __future__ import annotations

import duckdb
import pytest
from entity_fixtures import add_events
from memory_tier_fixtures import ADA, BOB, MAYA, build_marts, chat, connect, mail, ts

from aios_assets.memory.working import (
    build_working_memory,
    compact_body,
    estimate_tokens,
    render_event_line,
    render_working_memory,
    select_window,
    working_window,
)


def test_token_rule_and_line_rendering():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1 and estimate_tokens("abcde") == 2
    assert compact_body("Hi Bob,\n\nThe numbers are in.\nSee the sheet.\n\nBest,\nAda\n\n-- \n"
                        "Ada Lovelace\nCEO\n\nOn Monday, Bob wrote:\n> old") == (
        "The numbers are in. See the sheet.")
    line = render_event_line(ts(2, 9, 5), "email", "Ada Lovelace <ada@x.example>", "Plan",
                             "Hi,\n\n" + "word " * 200, "email", "m1", max_chars=50)
    assert line.startswith("[2026-03-02 09:05] email · Ada Lovelace — Plan: word word")
    assert line.endswith("… [email:m1]") and len(line) < 120
    # the newest event is always kept; then newest-first while the total fits
    assert select_window([("a", 5), ("b", 4), ("c", 2), ("d", 1)], 10) == [0, 1]
    assert select_window([("a", 50), ("b", 1)], 10) == [0]


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "w.duckdb"
    events = [chat(f"c{i:02d}", ADA if i % 2 else MAYA, ts(3, 8, i),
                   f"Message number {i} about the export " + "x" * 60) for i in range(30)]
    events += [mail("m1", ADA, [MAYA], ts(1, 9), "Hi Maya,\n\nThe plan is attached.\n\nAda"),
               mail("m2", BOB, [MAYA], ts(1, 10), "Hello from Bob.", thread="t-bob")]
    add_events(path, events)
    build_marts(path, [MAYA, ADA, BOB])
    return path


def _window(con, scope, scope_id):
    return con.execute("select event_id, position, tokens, occurred_at, line from "
                       "working_memory where scope = ? and scope_id = ? order by position",
                       [scope, scope_id]).fetchall()


def test_windows_fit_the_budget_newest_first(log):
    con = connect(log)
    stats = build_working_memory(con, budget=200)
    assert stats.scopes == {"entity": 3, "thread": 3} and stats.max_scope_tokens <= 200
    rows = _window(con, "thread", "chat-ada")
    assert 3 <= len(rows) < 30 and sum(r[2] for r in rows) <= 200
    assert [r[1] for r in rows] == list(range(1, len(rows) + 1))
    assert [r[3] for r in rows] == sorted(r[3] for r in rows)  # oldest first
    assert "Message number 29" in rows[-1][4]  # the newest is in
    assert all(r[2] == estimate_tokens(r[4]) for r in rows)
    # per entity: Bob's window is his one mail; Ada's holds her newest chat lines
    assert [r[4].split("[")[-1] for r in _window(con, "entity", "ent_bob")] == ["email:m2]"]
    assert "Message number 29" in _window(con, "entity", "ent_ada")[-1][4]
    again = build_working_memory(con, budget=200)
    assert again.scopes_changed == 0 and again.rows == stats.rows


def test_agent_window_render_and_live_budgets(log):
    con = connect(log)
    build_working_memory(con, budget=300)
    con.close()
    con = duckdb.connect(str(log), read_only=True)  # agents read a read-only snapshot
    small = working_window(con, "thread", "chat-ada", budget=100)
    big = working_window(con, "thread", "chat-ada", budget=1000)  # more than built: live
    assert sum(i.tokens for i in small) <= 100 and sum(i.tokens for i in big) <= 1000
    assert len(big) > len(_window(con, "thread", "chat-ada")) > len(small)
    assert [i.event_id for i in small] == [i.event_id for i in big][-len(small):]
    text = render_working_memory(con, "entity", "ent_ada", budget=300)
    header, *lines = text.splitlines()
    assert header.startswith("## Working memory — entity ent_ada (Ada Lovelace) · ")
    assert lines and all(line.endswith("]") and "[chat:c" in line or "[email:m1]" in line
                         for line in lines)
    tiny = working_window(con, "thread", "chat-ada", budget=5)
    assert len(tiny) == 1 and tiny[0].tokens == 5 and tiny[0].line.endswith("…")
    assert render_working_memory(con, "thread", "nope") .endswith("(no events)")
    with pytest.raises(ValueError):
        working_window(con, "planet", "x")
