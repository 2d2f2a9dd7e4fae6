"""Text every store can hold: PostgreSQL refuses NUL in text and jsonb, and UTF-8 (so Postgres
and Arrow) cannot encode lone surrogates, which surrogateescape'd mail headers carry. One such
character in a table used to fail every later run. Dependency-free: the parse workers use it.
"""

from __future__ import annotations

import math
import re

_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")

# An e-mail address in running text ("write to ada@x.example."): word characters of any
# script, dots, plus, apostrophe and hyphen before the @, dotted labels after it; starts and
# ends on a word character, so quotes and full stops around it stay out.
EMAIL_PATTERN = r"\b[\w.+'-]+@[\w-]+(?:\.[\w-]+)+\b"
EMAIL_RE = re.compile(EMAIL_PATTERN)


def storable(value: str) -> str:
    """``value`` with NUL and lone surrogates replaced by U+FFFD (cheap when there are none)."""
    if "\x00" not in value and (value.isascii() or not _UNSTORABLE_RE.search(value)):
        return value
    return _UNSTORABLE_RE.sub("\ufffd", value)


def storable_json(value: object) -> object:
    """``value`` (decoded JSON) with every string, keys included, made :func:`storable`."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v) for v in value]
    return value


def estimate_tokens(text: str | None) -> int:
    """About four characters a token, ceil(characters / 4) (OpenAI's English average): the
    rule every budget in AIOS and the offline LLM tier use."""
    return math.ceil(len(text or "") / 4)
