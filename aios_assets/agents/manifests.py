"""Versioned agent manifests: contract, template version, model tier, capabilities.

One YAML file per agent version in ``aios_assets/agents/manifests/`` (``<agent>.v<n>.yaml``);
files in ``$AIOS_HOME/manifests/`` are read too and win on the same (agent, version). Each agent
has exactly one ``channel: current`` manifest and at most one ``channel: canary`` one; the canary
runs in shadow beside the current one (mode ``canary``) and its proposals are compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aios_assets.agents.intents import KNOWN_AGENTS
from aios_assets.agents.proposals import ACTION_TYPES, CAPABILITY_OF
from aios_assets.shared.home import AiosHome

PACKAGE_DIR = Path(__file__).with_name("manifests")
# Agents with a manifest but no intent of their own: the planner writes escalation notes.
MANIFEST_ONLY_AGENTS = ("planner",)


class ManifestError(ValueError):
    """A manifest file is unreadable or breaks the schema (the message names the file)."""


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inputs: tuple[str, ...] = Field(min_length=1)
    outputs: tuple[str, ...] = Field(min_length=1)
    failure_modes: tuple[str, ...] = Field(min_length=1)


class AgentManifest(BaseModel):
    """One version of one agent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    channel: Literal["current", "canary", "retired"] = "current"
    description: str
    contract: Contract
    template_version: str
    model_tier: Literal["cheap", "strong"] = "cheap"
    capabilities: tuple[str, ...]
    action_types: tuple[str, ...] = Field(min_length=1)
    ttl_hours: float = Field(default=72.0, gt=0)
    max_proposals: int = Field(default=25, ge=0)
    action_cost_usd: float = Field(default=0.0, ge=0)
    system_prompt: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    templates: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> AgentManifest:
        if self.agent not in KNOWN_AGENTS + MANIFEST_ONLY_AGENTS:
            raise ValueError(f"unknown agent {self.agent!r}; known: "
                             f"{list(KNOWN_AGENTS + MANIFEST_ONLY_AGENTS)}")
        bad = [a for a in self.action_types if a not in ACTION_TYPES]
        if bad:
            raise ValueError(f"unknown action type(s) {bad}")
        for a in self.action_types:
            cap = CAPABILITY_OF[a]
            if cap != "none" and cap not in self.capabilities:
                raise ValueError(f"action type {a} needs capability {cap!r}, which the "
                                 "manifest does not grant")
        return self

    @property
    def label(self) -> str:
        """``agent@version`` (what proposals record as manifest_version is the version)."""
        return f"{self.agent}@{self.version}"

    @property
    def tier_value(self) -> float:
        """The ``value`` passed to LLMResource.complete: strong tier goes straight up."""
        return 1.0 if self.model_tier == "strong" else 0.0


def load_manifest(path: Path) -> AgentManifest:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read manifest: {exc}") from None
    try:
        return AgentManifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}"
                             for e in exc.errors())
        raise ManifestError(f"{path}: {problems}") from None


def manifest_dirs(home: AiosHome | None = None) -> list[Path]:
    dirs = [PACKAGE_DIR]
    user = (home or AiosHome.from_env()).root / "manifests"
    if user.is_dir():
        dirs.append(user)
    return dirs


def load_manifests(dirs: list[Path] | None = None) -> dict[str, dict[str, AgentManifest]]:
    """agent -> channel -> manifest (current / canary); later dirs override earlier ones."""
    by_key: dict[tuple[str, str], AgentManifest] = {}
    for d in dirs if dirs is not None else manifest_dirs():
        for path in sorted(d.glob("*.yaml")):
            m = load_manifest(path)
            by_key[(m.agent, m.version)] = m
    out: dict[str, dict[str, AgentManifest]] = {}
    for m in sorted(by_key.values(), key=lambda m: (m.agent, m.version)):
        if m.channel == "retired":
            continue
        slot = out.setdefault(m.agent, {})
        if m.channel in slot:
            raise ManifestError(f"agent {m.agent} has two {m.channel} manifests: "
                                f"{slot[m.channel].version} and {m.version}")
        slot[m.channel] = m
    for agent, slot in out.items():
        if "current" not in slot:
            raise ManifestError(f"agent {agent} has no current manifest")
    return out
