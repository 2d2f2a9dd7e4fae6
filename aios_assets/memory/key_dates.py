"""Dates in a text, a key item of :mod:`aios_assets.memory.fidelity`.

- **dates** — explicit dates normalised to ISO: ``2026-07-01``, ``2026/07/01``, ``1 July 2026``,
  ``July 1st, 2026``, ``Wed 1 Jul`` (a weekday glued to a date is part of it). A date without a
  year becomes ``--07-01`` (ISO 8601 month-day) and is kept by any summary date with that month
  and day; ``June 2026`` becomes ``2026-06``. Numeric ``d/m/y`` is read day-first when the first
  number is over 12, month-first when the second is, and is otherwise ambiguous and kept as
  written. Weekdays and relative phrases (``Thursday``, ``next week``, ``tomorrow``, ``end of
  month``, ``EOD``, ``in two weeks``) are kept as written (lower case) and found as words.


Pure: no database, no clock.
"""

from __future__ import annotations

import functools
import re
from datetime import date

from aios_assets.memory.key_items import DateItem

# ---------------------------------------------------------------------------------------------
# dates
# ---------------------------------------------------------------------------------------------

MONTHS = {
    "January": 1, "February": 2, "March": 3, "April": 4, "May": 5, "June": 6, "July": 7,
    "August": 8, "September": 9, "October": 10, "November": 11, "December": 12,
    "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9,
    "Sept": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}
_MONTHS_CI = {**{k.upper(): v for k, v in MONTHS.items()}}
MONTH_NAMES = [
    "", "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]
# Capitalised (or all-caps) month names only: "may" and "mar" are also verbs.
MONTH_RE = "|".join(
    sorted({*(MONTHS), *(k.upper() for k in MONTHS)}, key=len, reverse=True)
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WD_PREFIX = (
    r"(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tues?|Wed|"
    r"Thu(?:rs?)?|Fri|Sat|Sun)\.?,?\s+(?:the\s+)?)?"
)
_ORD = r"(?:st|nd|rd|th)?"
_ISO_RE = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
_YMD_SLASH_RE = re.compile(r"(?<![\d/])(\d{4})/(\d{1,2})/(\d{1,2})(?![\d/])")
_DAY_MONTH_RE = re.compile(
    rf"\b{_WD_PREFIX}(\d{{1,2}}){_ORD}(?:\s+of)?\s+({MONTH_RE})\b\.?(?:,?\s+(\d{{4}})\b)?"
)
_MONTH_DAY_RE = re.compile(
    rf"\b{_WD_PREFIX}({MONTH_RE})\.?\s+(\d{{1,2}}){_ORD}\b(?!:)(?:,?\s+(\d{{4}})\b)?"
)
_MONTH_YEAR_RE = re.compile(rf"\b({MONTH_RE})\.?,?\s+(\d{{4}})\b")
_NUMERIC_RE = re.compile(r"(?<![\d/.])(\d{1,2})([/.])(\d{1,2})\2(\d{4}|\d{2})(?![\d/]|\.\d)")
_RELATIVE_RES = [
    re.compile(
        r"\b(?:(?:next|this|last|coming)\s+)?"
        r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
        r"(?:\s+(?:morning|afternoon|evening|night))?\b",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:Mon|Tues?|Wed|Thu(?:rs?)?|Fri)\b"),
    re.compile(r"\b(?:today|tonight|tomorrow|yesterday)\b", re.IGNORECASE),
    re.compile(r"\b(?:next|this|last)\s+(?:week|month|quarter|year)\b", re.IGNORECASE),
    re.compile(r"\bend\s+of\s+(?:the\s+)?(?:day|week|month|quarter|year)\b", re.IGNORECASE),
    re.compile(r"\b(?:EOD|EOW|EOM|COB)\b", re.IGNORECASE),
    re.compile(
        r"\bin\s+(?:\d+|a|one|two|three|four|five|six|a\s+few|a\s+couple\s+of)\s+"
        r"(?:days?|weeks?|months?)\b",
        re.IGNORECASE,
    ),
]


# Cheap pre-test: most sentences hold no digit, month, weekday or relative-time word.
_DATE_HINT = re.compile(
    rf"\d|\b(?:{MONTH_RE})\b|\b(?:mon|tue|wed|thu|fri|sat|sun)|today|tonight|tomorrow|"
    r"yesterday|\b(?:next|this|last)\s|end\s+of|\b(?:eod|eow|eom|cob)\b|"
    r"\bin\s+(?:\d|a\s|one|two|three|four|five|six)",
    re.IGNORECASE,
)


def _month_number(name: str) -> int:
    return MONTHS.get(name) or _MONTHS_CI[name.upper()]


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _iso(year: int, month: int, day: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}"


def extract_dates(text: str) -> list[DateItem]:
    """Explicit dates (ISO-normalised) and weekday / relative phrases (as written), in order."""
    return list(_dates(text))


@functools.lru_cache(maxsize=65536)
def _dates(text: str) -> tuple[DateItem, ...]:
    if not _DATE_HINT.search(text):
        return ()
    found: list[tuple[int, DateItem]] = []
    taken: list[tuple[int, int]] = []

    def free(span: tuple[int, int]) -> bool:
        return not any(a < span[1] and span[0] < b for a, b in taken)

    def add(span: tuple[int, int], item: DateItem) -> None:
        taken.append(span)
        found.append((span[0], item))

    for m in _ISO_RE.finditer(text):
        y, mo, d = (int(g) for g in m.groups())
        if _valid(y, mo, d):
            add(m.span(), DateItem(_iso(y, mo, d), "date", m.group(0)))
    for m in _YMD_SLASH_RE.finditer(text):
        y, mo, d = (int(g) for g in m.groups())
        if free(m.span()) and _valid(y, mo, d):
            add(m.span(), DateItem(_iso(y, mo, d), "date", m.group(0)))
    for regex, day_first in ((_DAY_MONTH_RE, True), (_MONTH_DAY_RE, False)):
        for m in regex.finditer(text):
            if not free(m.span()):
                continue
            g1, g2, year = m.groups()
            day, month = (int(g1), _month_number(g2)) if day_first else (int(g2), _month_number(g1))
            if year and _valid(int(year), month, day):
                add(m.span(), DateItem(_iso(int(year), month, day), "date", m.group(0)))
            elif not year and _valid(2000, month, day):  # 2000 is a leap year: 29 Feb is fine
                add(m.span(), DateItem(f"--{month:02d}-{day:02d}", "monthday", m.group(0)))
    for m in _MONTH_YEAR_RE.finditer(text):
        if free(m.span()):
            add(m.span(), DateItem(f"{int(m.group(2)):04d}-{_month_number(m.group(1)):02d}",
                                   "month", m.group(0)))
    for m in _NUMERIC_RE.finditer(text):
        if not free(m.span()):
            continue
        a, b, y = int(m.group(1)), int(m.group(3)), m.group(4)
        year = int(y) + 2000 if len(y) == 2 else int(y)
        if a > 12 and _valid(year, b, a):
            add(m.span(), DateItem(_iso(year, b, a), "date", m.group(0)))
        elif b > 12 and _valid(year, a, b):
            add(m.span(), DateItem(_iso(year, a, b), "date", m.group(0)))
        elif a <= 12 and b <= 12:
            add(m.span(), DateItem(m.group(0), "phrase", m.group(0)))
    for regex in _RELATIVE_RES:
        for m in regex.finditer(text):
            if free(m.span()):
                add(m.span(), DateItem(" ".join(m.group(0).lower().split()), "phrase", m.group(0)))
    return tuple(d for _, d in sorted(found, key=lambda t: t[0]))
