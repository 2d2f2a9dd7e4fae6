"""Compatibility name for the demo business generator, now the package :mod:`aios_assets.demo`
(new code imports from there)."""

from aios_assets.demo import (
    DEFAULT_START,
    FREEMAIL_DOMAINS,
    META_FILES,
    OPERATOR_EMAIL,
    DemoSummary,
    generate,
)

__all__ = [
    "DEFAULT_START",
    "FREEMAIL_DOMAINS",
    "META_FILES",
    "OPERATOR_EMAIL",
    "DemoSummary",
    "generate",
]
