"""The SQL of rules that dbt's macros define (``dbt_project/macros/aios_macros.sql``), rendered
for Python-side queries, so that a rule written in SQL has one copy: the macro.

Jinja renders a macro as dbt does (these macros use no dbt context); the result is cached per
expression.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

MACROS = Path(__file__).resolve().parents[2] / "dbt_project" / "macros" / "aios_macros.sql"


@lru_cache(maxsize=1)
def _macros() -> Any:
    import jinja2  # only the processes that query with these rules pay for it

    return jinja2.Environment().from_string(MACROS.read_text()).module


@lru_cache(maxsize=64)
def render(macro: str, expr: str) -> str:
    """The SQL of ``macro(expr)``, e.g. ``render("email_of", "e.actor")``."""
    return str(getattr(_macros(), macro)(expr)).strip()


def sql_email_of(expr: str) -> str:
    """SQL: the address of ``Name <addr>`` (the macro ``email_of``)."""
    return render("email_of", expr)


def sql_name_of(expr: str) -> str:
    """SQL: the display name of ``Name <addr>`` (the macro ``display_name_of``)."""
    return render("display_name_of", expr)


@lru_cache(maxsize=1)
def freemail_domains() -> frozenset[str]:
    """The mail providers whose domain names no organization (the macro ``freemail_domains``)."""
    import re

    return frozenset(re.findall(r"'([^']+)'", str(_macros().freemail_domains())))
