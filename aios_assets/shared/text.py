"""Text every store can hold: PostgreSQL refuses NUL in text and jsonb, and UTF-8 (so Postgres
and Arrow) cannot encode lone surrogates, which surrogateescape'd mail headers carry. One such
character in a table used to fail every later run. Dependency-free: the parse workers use it.

Also the text rules every part shares: stable ids, small Markdown tables for asset metadata,
what the author wrote in a mail (quotes, greeting, sign-off and signature found), and the
address / display name of ``Name <addr>`` (with the SQL twins of the dbt macros).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

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


def stable_id(*parts: object, n: int = 24) -> str:
    """A short sha256 of the parts (joined with a unit separator): stable across runs."""
    raw = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(raw.encode()).hexdigest()[:n]


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], width: int = 60) -> str:
    """A small Markdown table for asset metadata (cells cut to ``width`` characters)."""

    def cell(v: Any) -> str:
        s = "" if v is None else str(v)
        s = s.replace("|", "\\|").replace("\n", " ")
        return s if len(s) <= width else s[: width - 1] + "…"

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# --- mail text ----------------------------------------------------------------------------

_ATTRIBUTION = re.compile(r"^\s*(On .{4,200}wrote:|-{2,}\s*Original Message\s*-{2,}|From: .+)\s*$")
# A greeting line ("Hi Dana,") and a sign-off line ("Best,", "Thanks again", "Cheers, Maya"):
# the one pair every memory tier uses to find what the author wrote.
GREETING_RE = re.compile(
    r"^\s*(hi|hey|hello|dear|morning|good (?:morning|afternoon|evening)|afternoon|evening|hiya)"
    r"\b[^.!?\n]{0,40}[,!:]?\s*$",
    re.IGNORECASE,
)
SIGNOFF_RE = re.compile(
    r"^\s*(best|best regards|kind regards|warm regards|regards|cheers|thanks|thank you|"
    r"many thanks|thanks again|speak soon|talk soon|all the best|warmly|sincerely|yours|ta)\b"
    r"[\s,!.]*(\w+[,.!]?)?\s*$",
    re.IGNORECASE,
)


def split_signature(text: str) -> tuple[str, str | None]:
    """(body, signature): the signature is what follows a ``-- `` delimiter line."""
    lines = (text or "").splitlines()
    for i, line in enumerate(lines):
        if line.rstrip() == "--" or line == "-- ":
            sig_lines: list[str] = []
            for s in lines[i + 1:]:
                if _ATTRIBUTION.match(s) or s.startswith(">"):
                    break
                sig_lines.append(s)
            return "\n".join(lines[:i]).rstrip(), "\n".join(sig_lines).strip() or None
    return text or "", None


def strip_quoted(text: str) -> str:
    """The new part of a message: quoted lines (``>``) and the "On … wrote:" line removed."""
    out: list[str] = []
    for line in (text or "").splitlines():
        if line.lstrip().startswith(">") or _ATTRIBUTION.match(line):
            continue
        out.append(line)
    return "\n".join(out).strip()


def message_body(text: str) -> str:
    """What the author wrote in this message: no quotes, no signature."""
    body, _ = split_signature(strip_quoted(text))
    return body.strip()


def summary_line(text: str, limit: int = 160) -> str:
    """The first substantive line of a message (greeting, quotes, sign-off and signature
    skipped), cut to ``limit`` characters."""
    for line in message_body(text).splitlines():
        s = line.strip().lstrip("#").strip()
        if not s or GREETING_RE.match(s):
            continue
        if SIGNOFF_RE.match(s):
            break
        return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"
    return ""


# --- addresses ----------------------------------------------------------------------------
# One rule with the dbt macros ``email_of`` / ``display_name_of`` (dbt_project/macros), which
# the SQL of the Python side renders (``aios_assets.shared.sql_rules``);
# tests/test_address_rules.py runs both over many inputs. ASCII classes: DuckDB's RE2 ``\s``
# is ASCII whitespace only.

# A whole value that is one address (a gate checks recipients with it; entity resolution's
# normalize SQL uses the same pattern through VALID_ADDRESS_PATTERN).
VALID_ADDRESS_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
VALID_ADDRESS_RE = re.compile(VALID_ADDRESS_PATTERN, re.ASCII)
_ADDR = re.compile(r"<\s*([^<>\s]+@[^<>\s]+)\s*>", re.ASCII)
_BARE = re.compile(r"^\s*([^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)\s*$", re.ASCII)
_ANGLED = re.compile(r"<[^<>]*>")
_SPACES = re.compile(r"\s+", re.ASCII)
_ASCII_SPACE = " \t\n\r\f\v"


def email_of(raw: str | None) -> str | None:
    """The address inside ``Name <addr>`` (else the value when it is a bare address with a
    dotted domain), lower case."""
    if not raw:
        return None
    m = _ADDR.search(raw) or _BARE.match(raw)
    return m.group(1).lower() if m else None


def name_of(raw: str | None) -> str | None:
    """The display name of ``Name <addr>``: every ``<...>`` part and quote removed, spaces
    collapsed; a value without ``<`` is a name unless it holds an ``@``."""
    if not raw:
        return None
    if "<" in raw:
        name = _SPACES.sub(" ", _ANGLED.sub(" ", raw).replace('"', "")).strip(" ")
        return name or None
    return None if "@" in raw else (raw.replace('"', "").strip(_ASCII_SPACE) or None)


def parse_usd_map(text: str, variable: str, key: str) -> dict[str, float]:
    """``"a=0.5, b=0.2"`` (a setting's value) -> {"a": 0.5, "b": 0.2}; empty parts are skipped;
    a part without a name or a non-negative number is a ValueError naming ``variable``."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        try:
            usd = float(value)
        except ValueError:
            usd = -1.0
        if not name.strip() or usd < 0:
            raise ValueError(f"${variable}: {part!r} is not {key}=USD (e.g. {key}=0.5)")
        out[name.strip()] = usd
    return out
