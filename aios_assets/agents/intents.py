"""Intents: what the operator wants done, declared in ``$AIOS_HOME/intents.yaml``.

An intent has a goal, a KPI (the figure that says whether it works), a cadence, constraints
and an autonomy level, and names the agents that serve it. The planner turns each enabled intent
into a plan per cadence window (:mod:`aios_assets.agents.plans`).

The file::

    version: 1
    intents:
      - id: chase_overdue_invoices
        goal: Get overdue invoices paid without annoying good clients
        kpi: {name: overdue_balance, target: 0, direction: down}
        cadence: daily                 # hourly | daily | weekly
        constraints: {max_proposals: 10, min_confidence: 0.5}
        autonomy: approve_first        # suggest_only | approve_first | autonomous
        agents: [billing]

The gates apply ``autonomy`` (it can only make policy.yaml stricter for the intent's
proposals) and ``constraints.quiet_hours``; the agent run applies ``max_proposals``,
``min_confidence`` and ``budget_usd_per_run`` (:mod:`aios_assets.agents.runtime`).

:func:`load_intents` validates it (pydantic) and raises :class:`IntentsFileError` naming the
file, the intent and the field for anything wrong. :func:`ensure_default_intents` writes the
demo's five intents when the file is missing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aios_assets.shared.home import AiosHome

INTENTS_FILE = "intents.yaml"
KNOWN_AGENTS = ("triage", "followup", "billing", "content", "brief")
KPIS = ("unanswered_inbound", "stale_leads", "overdue_balance", "newsletter_open_rate",
        "brief_delivered")
Cadence = Literal["hourly", "daily", "weekly"]
Autonomy = Literal["suggest_only", "approve_first", "autonomous"]
_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


class IntentsFileError(ValueError):
    """The intents file is missing, not YAML, or breaks the schema (the message says where)."""


class Kpi(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    target: float | None = None
    direction: Literal["up", "down"] = "down"


class Constraints(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_proposals: int = Field(default=20, ge=0, le=1000)
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    budget_usd_per_run: float | None = Field(default=None, ge=0.0)
    quiet_hours: str | None = None  # "20:00-08:00" in policy.yaml's timezone (limits gate)
    deadline_hours: float = Field(default=24.0, gt=0.0, le=24.0 * 31)

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d",
                                              v):
            raise ValueError("quiet_hours must look like '20:00-08:00'")
        return v


class Intent(BaseModel):
    """One operator intent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    goal: str = Field(min_length=3)
    kpi: Kpi
    cadence: Cadence = "daily"
    constraints: Constraints = Field(default_factory=Constraints)
    autonomy: Autonomy = "approve_first"
    agents: tuple[str, ...] = Field(min_length=1)
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("id must be lower_snake_case (a-z, 0-9, _; 2-63 characters)")
        return v

    @field_validator("agents")
    @classmethod
    def _agents(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [a for a in v if a not in KNOWN_AGENTS]
        if unknown:
            raise ValueError(f"unknown agent(s) {unknown}; known: {list(KNOWN_AGENTS)}")
        return tuple(dict.fromkeys(v))


class IntentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    intents: list[Intent] = Field(default_factory=list)


DEFAULT_INTENTS: list[dict[str, Any]] = [
    {"id": "inbox_triage", "goal": "Answer what matters in the inbox within a working day",
     "kpi": {"name": "unanswered_inbound", "target": 0, "direction": "down"},
     "cadence": "hourly", "constraints": {"max_proposals": 25, "deadline_hours": 8},
     "autonomy": "approve_first", "agents": ["triage"]},
    {"id": "follow_up_stale_leads", "goal": "Follow up leads and quiet customers before they go "
     "cold", "kpi": {"name": "stale_leads", "target": 0, "direction": "down"},
     "cadence": "daily", "constraints": {"max_proposals": 10, "min_confidence": 0.4,
                                         "quiet_hours": "19:00-08:00"},
     "autonomy": "approve_first", "agents": ["followup"]},
    {"id": "chase_overdue_invoices", "goal": "Get overdue invoices paid without annoying good "
     "clients", "kpi": {"name": "overdue_balance", "target": 0, "direction": "down"},
     "cadence": "daily", "constraints": {"max_proposals": 10, "min_confidence": 0.5},
     "autonomy": "approve_first", "agents": ["billing"]},
    {"id": "weekly_newsletter", "goal": "Ship the weekly newsletter from recent notes and what "
     "performed", "kpi": {"name": "newsletter_open_rate", "target": 0.45, "direction": "up"},
     "cadence": "weekly", "constraints": {"max_proposals": 1, "deadline_hours": 72},
     "autonomy": "approve_first", "agents": ["content"]},
    {"id": "daily_brief", "goal": "Start each day knowing what happened, what waits and what it "
     "cost", "kpi": {"name": "brief_delivered", "target": 1, "direction": "up"},
     "cadence": "daily", "constraints": {"max_proposals": 1, "deadline_hours": 4},
     "autonomy": "autonomous", "agents": ["brief"]},
]

HEADER = """\
# AIOS intents: what you want done. Edit freely or use `aios intent add` / `aios intent list`.
# Fields: id, goal, kpi {name, target, direction up|down}, cadence hourly|daily|weekly,
# constraints {max_proposals, min_confidence, budget_usd_per_run, quiet_hours, deadline_hours},
# autonomy suggest_only|approve_first|autonomous, agents [triage|followup|billing|content|brief],
# enabled. Agents only ever propose; the gates and your approvals decide what goes out.
"""


def intents_path(home: AiosHome | None = None) -> Path:
    return (home or AiosHome.from_env()).root / INTENTS_FILE


def _where(loc: tuple[Any, ...], raw: Any) -> str:
    parts: list[str] = []
    if len(loc) >= 2 and loc[0] == "intents" and isinstance(loc[1], int):
        ident = None
        try:
            ident = raw["intents"][loc[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
        parts.append(f"intents[{loc[1]}]" + (f" ({ident})" if ident else ""))
        loc = loc[2:]
    parts.extend(str(x) for x in loc)
    return ".".join(parts) or "(top level)"


def parse_intents(raw: Any, source: str = INTENTS_FILE) -> list[Intent]:
    """Validate already-parsed YAML; :class:`IntentsFileError` with every problem found."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise IntentsFileError(f"{source}: the top level must be a mapping with `intents:`, "
                               f"not {type(raw).__name__}")
    try:
        parsed = IntentsFile.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_where(tuple(e['loc']), raw)}: {e['msg']}" for e in exc.errors()]
        raise IntentsFileError(f"{source}: {len(problems)} problem(s):\n  - "
                               + "\n  - ".join(problems)) from None
    seen: set[str] = set()
    for intent in parsed.intents:
        if intent.id in seen:
            raise IntentsFileError(f"{source}: intent id {intent.id!r} appears twice")
        seen.add(intent.id)
    return parsed.intents


def load_intents(path: Path | None = None) -> list[Intent]:
    """The intents of ``path`` (default ``$AIOS_HOME/intents.yaml``)."""
    path = path or intents_path()
    if not path.is_file():
        raise IntentsFileError(f"{path}: no intents file (run `aios demo` or `aios intent add`)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise IntentsFileError(f"{path}: not valid YAML{at}: {problem}") from None
    except UnicodeDecodeError as exc:
        raise IntentsFileError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return parse_intents(raw, str(path))


def dump_intents(intents: list[Intent]) -> str:
    data = {"version": 1, "intents": [i.model_dump(mode="json") for i in intents]}
    return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write_intents(path: Path, intents: list[Intent]) -> None:
    """Write atomically (a crash leaves the old file or the new one, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dump_intents(intents), encoding="utf-8")
    tmp.replace(path)


def default_intents() -> list[Intent]:
    return parse_intents({"version": 1, "intents": DEFAULT_INTENTS}, "default intents")


def ensure_default_intents(home: AiosHome | None = None) -> Path:
    """Write the demo's default intents when there is no intents file; return its path."""
    path = intents_path(home)
    if not path.exists():
        write_intents(path, default_intents())
    return path


def add_intent(path: Path, intent: Intent, *, replace: bool = False) -> list[Intent]:
    """Add ``intent`` (or replace the one with its id when ``replace``); returns the list."""
    current = load_intents(path) if path.exists() else []
    if any(i.id == intent.id for i in current):
        if not replace:
            raise IntentsFileError(f"{path}: intent {intent.id!r} exists (use --replace)")
        current = [intent if i.id == intent.id else i for i in current]
    else:
        current.append(intent)
    write_intents(path, current)
    return current


def intents_for_agent(intents: list[Intent], agent: str) -> list[Intent]:
    return [i for i in intents if i.enabled and agent in i.agents]
