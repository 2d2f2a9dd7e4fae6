"""Print user-controlled text on the terminal as the literal text it is.

File names, reasons, recall hits, query results and proposal texts come from outside. Printed
through Rich as they are, ``[/x]`` crashes the CLI (MarkupError), ``[bold red]`` and ``:x:``
render as markup and emoji, and a newline or an escape sequence can forge or hide lines. Every
CLI print site passes such values through :func:`safe`, and the CLI's consoles come from
:func:`make_console` (emoji codes off).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0/C1 controls and DEL, and the bidi overrides/isolates that can reorder what a line shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with control characters written out: a newline as ``\\n``, ESC as ``\\x1b``."""

    def show(m: re.Match[str]) -> str:
        c = m[0]
        if keep_newlines and c == "\n":
            return c
        if c in _NAMED:
            return _NAMED[c]
        return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"

    return _CONTROL.sub(show, text)


def safe(value: Any, *, keep_newlines: bool = False) -> str:
    """``value`` as text for Rich: controls visible, markup escaped (None prints as "")."""
    return escape(visible("" if value is None else str(value), keep_newlines=keep_newlines))


def progress_off() -> bool:
    """``AIOS_PROGRESS=0``: no stage lines and no bars (a script that wants errors only)."""
    import os

    return os.environ.get("AIOS_PROGRESS", "").strip() == "0"


def make_console(*, stderr: bool = False) -> Console:
    """The CLI's console: soft-wrapped, and ``:name:`` in data never becomes an emoji."""
    return Console(stderr=stderr, soft_wrap=True, emoji=False)


# --- tables that fit the terminal ------------------------------------------------------------

MIN_ID_PREFIX = 6  # the shortest prefix `aios approve`, `reject` and `audit` accept


def short_ids(ids: Iterable[str], *, min_len: int = MIN_ID_PREFIX) -> dict[str, str]:
    """id -> its shortest prefix of at least ``min_len`` characters that no other of ``ids``
    starts with (the whole id when none is shorter): what a table shows instead of cutting
    the id with "…", and what the commands taking ids accept."""
    known = sorted(set(ids))
    out: dict[str, str] = {}
    for i, ident in enumerate(known):
        # in sorted order the longest prefix shared with any other id is shared with a neighbour
        shared = max((_common(ident, known[j]) for j in (i - 1, i + 1) if 0 <= j < len(known)),
                     default=0)
        out[ident] = ident[:max(min_len, shared + 1)]
    return out


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def fit_table(*columns: str | Column, title: str | None = None) -> Table:
    """A table for an 80-column terminal: light borders, text columns wrap (``fold``: a long
    word is broken, never cut with "…"). Pass a :class:`rich.table.Column` with
    ``no_wrap=True`` for ids, which must stay whole."""
    cols = [c if isinstance(c, Column) else Column(c, overflow="fold") for c in columns]
    return Table(*cols, title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")


def id_column(header: str = "id") -> Column:
    """A column for ids: never wrapped, never cut."""
    return Column(header, no_wrap=True, overflow="ignore", min_width=MIN_ID_PREFIX)
