"""Figures of an ``aios.llm_calls`` ledger (calls, cache hits, paid tokens and dollars) and the
two models and prices of the LLM economy benchmark (``benchmarks.llm_economy_bench``), shared
with its test (``tests/test_llm_economy_bench.py``)."""

from __future__ import annotations

from typing import Any

CHEAP = "gpt-4o-mini"
STRONG = "gpt-4o"
# USD per 1M input / output tokens
PRICES: dict[str, list[float]] = {CHEAP: [0.15, 0.60], STRONG: [2.50, 10.00]}


def ledger_figures(url: str) -> dict[str, Any]:
    """Calls, paid tokens and dollars of one policy, from its ``aios.llm_calls``."""
    from aios_assets.shared.postgres import connect
    from resources.llm import call_cost

    with connect(url) as con:
        row = con.execute(
            """SELECT count(*),
                      count(*) FILTER (WHERE cache_hit),
                      count(*) FILTER (WHERE NOT cache_hit AND tier <> 'offline'),
                      count(*) FILTER (WHERE NOT cache_hit AND tier = 'strong'),
                      count(*) FILTER (WHERE tier = 'offline'),
                      count(*) FILTER (WHERE outcome <> 'ok'),
                      coalesce(sum(prompt_tokens) FILTER (WHERE NOT cache_hit
                                                          AND tier <> 'offline'), 0),
                      coalesce(sum(completion_tokens) FILTER (WHERE NOT cache_hit
                                                              AND tier <> 'offline'), 0),
                      coalesce(sum(cost_usd), 0),
                      coalesce(sum(cost_usd) FILTER (WHERE tier = 'strong'), 0),
                      coalesce(sum(prompt_tokens + completion_tokens)
                               FILTER (WHERE cache_hit), 0)
               FROM aios.llm_calls""").fetchone()
        by = con.execute(
            """SELECT agent || '/' || task, count(*),
                      count(*) FILTER (WHERE cache_hit),
                      count(*) FILTER (WHERE NOT cache_hit AND tier = 'strong'),
                      coalesce(sum(prompt_tokens + completion_tokens)
                               FILTER (WHERE NOT cache_hit), 0),
                      coalesce(sum(cost_usd), 0)
               FROM aios.llm_calls GROUP BY 1 ORDER BY 1""").fetchall()
        cached = con.execute(
            """SELECT model, coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0)
               FROM aios.llm_calls WHERE cache_hit GROUP BY 1""").fetchall()
    (rows, hits, paid, strong, offline, errors, pt, ct, usd, strong_usd, cached_tokens) = row
    saved = sum(call_cost(PRICES, m, int(p), int(c)) for m, p, c in cached)
    return {
        "ledger_rows": rows,
        "calls_to_server": paid,
        "cache_hits": hits,
        "strong_calls": strong,
        "cheap_calls": paid - strong,
        "offline_calls": offline,
        "error_rows": errors,
        "prompt_tokens": int(pt),
        "completion_tokens": int(ct),
        "tokens": int(pt + ct),
        "tokens_served_from_cache": int(cached_tokens),
        "usd": round(float(usd), 6),
        "strong_usd": round(float(strong_usd), 6),
        # what the cache hits would have cost at their model's price: the cache's saving
        "usd_saved_by_cache": round(saved, 6),
        "strong_call_share": round(strong / paid, 4) if paid else 0.0,
        "strong_usd_share": round(float(strong_usd) / float(usd), 4) if usd else 0.0,
        "by_agent_task": {k: {"ledger_rows": n, "cache_hits": h, "strong_calls": s,
                              "tokens": int(t), "usd": round(float(c), 6)}
                          for k, n, h, s, t, c in by},
    }
