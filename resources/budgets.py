"""The LLM budgets: one definition of their settings and of the check.

The LLM resource holds them against today's paid spend before every paid call
(:meth:`BudgetSettings.problem`), and the ``cost_budgets`` table the cost views read is built
from the same :func:`budget_settings` (``aios_assets/observability/costs.py``), so a budget
shown by ``aios cost`` is the one enforced.

Where they come from: the LLM resource's ``daily_budget_usd`` / ``daily_budget_tokens`` (all
agents) and ``agent_daily_budget_usd`` / ``agent_daily_budget_tokens`` (per agent, ``"*"`` for
any agent without its own); when the resource sets no overall budget, ``$AIOS_LLM_DAILY_BUDGET_USD``
and ``$AIOS_LLM_DAILY_BUDGET_TOKENS``; when it sets no per-agent dollar budget,
``$AIOS_LLM_AGENT_DAILY_BUDGET_USD`` (``"triage=0.5,brief=0.2"``). What happens over budget:
the resource's ``over_budget``, else ``$AIOS_LLM_OVER_BUDGET`` (``degrade``: the offline tier,
the default; ``stop``: the call raises). Dependency-free.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aios_assets.shared.text import parse_usd_map

DAILY_BUDGET_ENV = "AIOS_LLM_DAILY_BUDGET_USD"
AGENT_BUDGET_ENV = "AIOS_LLM_AGENT_DAILY_BUDGET_USD"  # "triage=0.5,brief=0.2"
DAILY_TOKENS_ENV = "AIOS_LLM_DAILY_BUDGET_TOKENS"
OVER_BUDGET_ENV = "AIOS_LLM_OVER_BUDGET"  # degrade | stop
OVER_BUDGET_ACTIONS = ("degrade", "stop")
FROM_RESOURCE = "llm resource"
FROM_ENV = "environment"


@dataclass(frozen=True)
class Spend:
    """What was spent today (UTC) on paid tiers: cache hits and offline calls excluded."""

    agent_usd: float = 0.0
    agent_tokens: int = 0
    total_usd: float = 0.0
    total_tokens: int = 0


def budget_problem(agent: str, spend: Spend, *, daily_usd: float | None,
                   agent_usd: float | None, daily_tokens: int | None,
                   agent_tokens: int | None) -> str | None:
    """Why a paid call must not happen now (a budget is exhausted), or None."""
    if agent_usd is not None and spend.agent_usd >= agent_usd:
        return (f"over budget: agent {agent} spent ${spend.agent_usd:.4f} of ${agent_usd:.4f} "
                "today (UTC)")
    if agent_tokens is not None and spend.agent_tokens >= agent_tokens:
        return (f"over budget: agent {agent} used {spend.agent_tokens:,} of {agent_tokens:,} "
                "tokens today (UTC)")
    if daily_usd is not None and spend.total_usd >= daily_usd:
        return (f"over budget: all agents spent ${spend.total_usd:.4f} of ${daily_usd:.4f} "
                "today (UTC)")
    if daily_tokens is not None and spend.total_tokens >= daily_tokens:
        return (f"over budget: all agents used {spend.total_tokens:,} of {daily_tokens:,} "
                "tokens today (UTC)")
    return None


@dataclass(frozen=True)
class BudgetSettings:
    """The daily budgets in force and where each kind was set (``llm resource`` /
    ``environment``)."""

    daily_usd: float | None = None
    daily_tokens: int | None = None
    agent_usd: Mapping[str, float] = field(default_factory=dict)
    agent_tokens: Mapping[str, int] = field(default_factory=dict)
    daily_source: str = FROM_RESOURCE
    agent_source: str = FROM_RESOURCE

    def agent_limits(self, agent: str) -> tuple[float | None, int | None]:
        """(dollars, tokens) for ``agent``: its own, else the ``"*"`` entry, else None."""
        return (self.agent_usd.get(agent, self.agent_usd.get("*")),
                self.agent_tokens.get(agent, self.agent_tokens.get("*")))

    def limits(self, agent: str) -> bool:
        """True when any budget applies to ``agent`` (else the spend need not be read)."""
        return (self.daily_usd is not None or self.daily_tokens is not None
                or any(v is not None for v in self.agent_limits(agent)))

    def problem(self, agent: str, spend: Spend) -> str | None:
        """Why a paid call of ``agent`` must not happen after ``spend`` today, or None."""
        agent_usd, agent_tokens = self.agent_limits(agent)
        return budget_problem(agent, spend, daily_usd=self.daily_usd, agent_usd=agent_usd,
                              daily_tokens=self.daily_tokens, agent_tokens=agent_tokens)


def parse_agent_budgets(text: str) -> dict[str, float]:
    """``"triage=0.5, brief=0.2"`` -> {"triage": 0.5, "brief": 0.2}; ValueError naming
    ``$AIOS_LLM_AGENT_DAILY_BUDGET_USD`` and the bad part otherwise."""
    return parse_usd_map(text, AGENT_BUDGET_ENV, "agent")


def budget_settings(llm: Any = None, environ: Mapping[str, str] | None = None,
                    ) -> BudgetSettings:
    """The budgets of ``llm`` (an LLM resource, or None), completed from the environment as the
    module docstring says; ValueError on a malformed variable."""
    env = os.environ if environ is None else environ
    daily = getattr(llm, "daily_budget_usd", None)
    tokens = getattr(llm, "daily_budget_tokens", None)
    daily_source = FROM_RESOURCE
    if daily is None and tokens is None:
        daily_source = FROM_ENV
        try:
            daily = float(env[DAILY_BUDGET_ENV]) if env.get(DAILY_BUDGET_ENV) else None
            tokens = int(env[DAILY_TOKENS_ENV]) if env.get(DAILY_TOKENS_ENV) else None
        except ValueError as exc:
            raise ValueError(f"${DAILY_BUDGET_ENV} / ${DAILY_TOKENS_ENV}: {exc}") from None
    per_agent = dict(getattr(llm, "agent_daily_budget_usd", None) or {})
    agent_source = FROM_RESOURCE
    if not per_agent and env.get(AGENT_BUDGET_ENV):
        agent_source = FROM_ENV
        per_agent = parse_agent_budgets(env[AGENT_BUDGET_ENV])
    return BudgetSettings(
        daily_usd=daily, daily_tokens=tokens, agent_usd=per_agent,
        agent_tokens=dict(getattr(llm, "agent_daily_budget_tokens", None) or {}),
        daily_source=daily_source, agent_source=agent_source)


def over_budget_action(llm: Any = None, environ: Mapping[str, str] | None = None) -> str:
    """``degrade`` or ``stop``: the resource's ``over_budget`` when set, else
    ``$AIOS_LLM_OVER_BUDGET``, else ``degrade``; ValueError on another value."""
    env = os.environ if environ is None else environ
    action = getattr(llm, "over_budget", None) or env.get(OVER_BUDGET_ENV) or "degrade"
    action = action.strip().lower()
    if action not in OVER_BUDGET_ACTIONS:
        raise ValueError(f"${OVER_BUDGET_ENV}: {action!r} is not one of "
                         f"{', '.join(OVER_BUDGET_ACTIONS)}")
    return action
