"""Print user-controlled text on the terminal as the literal text it is.

File names, reasons, recall hits, query results and proposal texts come from outside. Printed
through Rich as they are, ``[/x]`` crashes the CLI (MarkupError), ``[bold red]`` and ``:x:``
render as markup and emoji, and a newline or an escape sequence can forge or hide lines. Every
CLI print site passes such values through :func:`safe`, and the CLI's consoles come from
:func:`make_console` (emoji codes off).
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.markup import escape

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


def make_console(*, stderr: bool = False) -> Console:
    """The CLI's console: soft-wrapped, and ``:name:`` in data never becomes an emoji."""
    return Console(stderr=stderr, soft_wrap=True, emoji=False)
