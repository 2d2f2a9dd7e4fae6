"""Fidelity of summaries: the key items of some texts, and whether a summary still holds them.

A summary may stand in for the verbose events it covers (curation archives those events to the
cold tier once their summary passes), so it must keep what an operator cannot afford to lose:

- **people** — every participant (``Name <email>``, a bare name or a bare address) and every
  person mentioned in the text as an email address, a ``Name <email>`` or one of the
  ``known_names`` (names the caller knows are people, e.g. the events' extracted refs); a name
  before an address is its capitalised words (``Invoice 7 to Dana Reyes <d@x>`` -> Dana Reyes).
  A person is kept when the summary names them (case, accents and letters like ``ø`` folded,
  whole words) or shows their address.
- **amounts** — money only: a number with a currency marker (``$``, ``US$``, ``€``, ``£``, ``¥``,
  ``₹``, ``C$``/``CA$``, ``A$``, a three-letter ISO code before or after it, or the words
  ``dollars``/``euros``). Normalised to ``(currency, value)`` so ``$1,200.00``, ``USD 1200``,
  ``1,200 dollars`` and ``$1.2k`` are all ``USD 1200``. Rules, applied identically to sources and
  summaries (so only consistency matters): ``$`` alone means USD; ``k``/``thousand`` = 10³,
  ``m``/``mn``/``million`` = 10⁶, ``bn``/``billion`` = 10⁹; with both ``,`` and ``.`` the last one
  is the decimal point (``€1.234,50`` = 1234.5); a lone ``,`` followed by exactly three digits
  groups thousands (``1,200``), followed by one or two digits it is a decimal comma (``€12,50``);
  a single ``.`` is always a decimal point (``€1.200`` reads as 1.2; ``1.200.000`` groups
  thousands). A bare ``1.2k`` (no currency) is not an amount (it may be readers or rows), nor
  is a percentage. Signs are ignored.
- **dates** — explicit dates normalised to ISO: ``2026-07-01``, ``2026/07/01``, ``1 July 2026``,
  ``July 1st, 2026``, ``Wed 1 Jul`` (a weekday glued to a date is part of it). A date without a
  year becomes ``--07-01`` (ISO 8601 month-day) and is kept by any summary date with that month
  and day; ``June 2026`` becomes ``2026-06``. Numeric ``d/m/y`` is read day-first when the first
  number is over 12, month-first when the second is, and is otherwise ambiguous and kept as
  written. Weekdays and relative phrases (``Thursday``, ``next week``, ``tomorrow``, ``end of
  month``, ``EOD``, ``in two weeks``) are kept as written (lower case) and found as words.
- **commitments** — sentences that promise or set a deadline: ``I will``/``I'll``/``we'll``/
  ``I'm going to``, ``promise``, ``commit``, ``deadline``, ``due`` (not ``due to``), ``by <date
  or weekday>``, ``no later than``. Each is reduced to a checkable core: its id-like tokens
  (``INV-005-001``), its amounts and dates, and up to 10 content words around the trigger (stop
  words, pleasantries, weekday and month names dropped; crude stemming). A summary keeps a
  commitment when ONE of its sentences holds every id, amount and date of the core and at least
  half of its content words. A promise with none of these (``I'll do it.``) is not checkable
  and is not a key item.

Everything here is pure: no database, no clock.
"""

from __future__ import annotations

import email.utils
import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from aios_assets.shared.text import EMAIL_RE

__all__ = [
    "Amount",
    "Commitment",
    "DateItem",
    "FidelityResult",
    "KeyItems",
    "Person",
    "TextFacts",
    "check_fidelity",
    "extract_amounts",
    "extract_commitments",
    "extract_dates",
    "fold",
    "key_items",
    "parse_person",
    "render_items",
    "sentence_split",
]

# ---------------------------------------------------------------------------------------------
# items
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A participant or a mentioned person; equal when the folded name or address is."""

    name: str | None
    email: str | None

    @property
    def label(self) -> str:
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.name or self.email or ""

    @property
    def short(self) -> str:
        """How a summary names the person: the name, else the address."""
        return self.name or self.email or ""


@dataclass(frozen=True)
class Amount:
    """A money amount: ``currency`` (ISO code) and ``value`` (normalised, no trailing zeros)."""

    currency: str
    value: Decimal
    text: str = field(default="", compare=False)

    @property
    def canonical(self) -> str:
        return f"{self.currency} {format(self.value, 'f')}"


@dataclass(frozen=True)
class DateItem:
    """``value``: ``YYYY-MM-DD`` / ``--MM-DD`` / ``YYYY-MM`` or a phrase kept as written."""

    value: str
    kind: str  # date | monthday | month | phrase
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Commitment:
    """A promise or deadline reduced to what a check can find again."""

    keywords: tuple[str, ...]
    ids: tuple[str, ...]
    amounts: tuple[Amount, ...]
    dates: tuple[DateItem, ...]
    text: str = field(default="", compare=False)  # the sentence as written

    @property
    def core(self) -> str:
        parts = list(self.ids) + [a.canonical for a in self.amounts]
        parts += [d.value for d in self.dates] + list(self.keywords)
        return " ".join(parts)


@dataclass(frozen=True)
class KeyItems:
    """What a summary of some texts must keep."""

    people: tuple[Person, ...] = ()
    amounts: tuple[Amount, ...] = ()
    dates: tuple[DateItem, ...] = ()
    commitments: tuple[Commitment, ...] = ()

    def __len__(self) -> int:
        return len(self.people) + len(self.amounts) + len(self.dates) + len(self.commitments)

    def labels(self) -> list[str]:
        return (
            [f"person: {p.label}" for p in self.people]
            + [f"amount: {a.canonical}" for a in self.amounts]
            + [f"date: {d.value}" for d in self.dates]
            + [f"commitment: {c.text}" for c in self.commitments]
        )


@dataclass(frozen=True)
class FidelityResult:
    passed: bool
    missing: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# text helpers
# ---------------------------------------------------------------------------------------------


_LETTERS = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                          "ß": "ss", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d",
                          "þ": "th", "ı": "i"})


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower case, accents and letter variants removed (``Søren`` = ``soren``), whitespace
    collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


_ABBREVIATIONS = frozenset(
    ["mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "vs", "etc", "inc", "ltd", "co", "corp", "no", "approx", "e.g", "i.e", "eg", "ie", "cf", "fig", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"]  # noqa: E501 - a word list
)
_SENT_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9£$€¥₹])")


def sentence_split(text: str) -> list[str]:
    """Split prose into sentences (lines first), keeping abbreviations and initials intact."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        pieces = _SENT_BREAK.split(line)
        merged: list[str] = []
        for piece in pieces:
            if merged:
                # a piece of dots alone (". New Year", "... More") has no last word
                words = merged[-1].rstrip(".").rsplit(None, 1)
                last_word = words[-1] if words else ""
                if last_word.lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Z]", last_word):
                    merged[-1] = f"{merged[-1]} {piece}"
                    continue
            merged.append(piece)
        out.extend(p.strip() for p in merged if p.strip())
    return out


# ---------------------------------------------------------------------------------------------
# people
# ---------------------------------------------------------------------------------------------

_NAME_ADDR_RE = re.compile(r"\"?([^\"<>@,;:\n]{1,80}?)\"?\s*<([^<>\s]+@[^<>\s]+)>")


def parse_person(value: str) -> Person | None:
    """``Name <addr>`` / ``addr`` / ``Name`` -> a Person (None for blanks); ``"Last, First"``
    becomes ``First Last``."""
    value = " ".join((value or "").split())
    if not value:
        return None
    if "<" in value and "@" in value:
        name, addr = email.utils.parseaddr(value)
        if addr and "@" in addr:
            return Person(_display_name(name), addr.strip(".").lower())
    if EMAIL_RE.fullmatch(value):
        return Person(None, value.strip(".").lower())
    if "@" in value or len(value) > 80:
        return None
    return Person(_display_name(value), None)


def _display_name(name: str | None) -> str | None:
    name = " ".join((name or "").replace('"', " ").split())
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        if first and last and len(first.split()) <= 2 and len(last.split()) <= 2:
            name = f"{first} {last}"
    return name or None


def _merge_people(people: Iterable[Person]) -> tuple[Person, ...]:
    """Dedupe by address and by folded name; a named entry absorbs its bare address."""
    by_email: dict[str, Person] = {}
    by_name: dict[str, Person] = {}
    order: list[Person] = []
    for p in people:
        key_e = p.email
        key_n = fold(p.name) if p.name else None
        existing = ((by_email.get(key_e) if key_e else None)
                    or (by_name.get(key_n) if key_n else None))
        if existing is None:
            order.append(p)
            merged = p
        else:
            merged = Person(existing.name or p.name, existing.email or p.email)
            order[order.index(existing)] = merged
            for k, v in list(by_email.items()):
                if v is existing:
                    by_email[k] = merged
            for k, v in list(by_name.items()):
                if v is existing:
                    by_name[k] = merged
        if merged.email:
            by_email[merged.email] = merged
        if merged.name:
            by_name[fold(merged.name)] = merged
    return tuple(order)


_NAME_WORD = re.compile(r"[A-Z][\w'’.\-]*|(?:de|del|della|da|di|van|von|der|le|la|du|st\.?)")


def _name_before_address(raw: str) -> str | None:
    """The name in ``… Dana Reyes <dana@x>``: the capitalised words right before the ``<``
    (at most 5), so "Invoice 7 to Dana Reyes <…>" yields "Dana Reyes"."""
    words = raw.replace('"', " ").split()
    kept: list[str] = []
    for word in reversed(words):
        if len(kept) == 5 or not _NAME_WORD.fullmatch(word) or any(ch.isdigit() for ch in word):
            break
        kept.append(word)
    while kept and not kept[-1][:1].isupper():  # a name starts with a capital
        kept.pop()
    return " ".join(reversed(kept)) or None


def _names_regex(known_names: Sequence[str]) -> re.Pattern[str] | None:
    folded = sorted({fold(n) for n in known_names if n.strip()}, key=len, reverse=True)
    if not folded:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in folded) + r")(?!\w)")


def _mentioned_people(
    text: str, names_re: re.Pattern[str] | None, names: Mapping[str, str]
) -> list[Person]:
    found: list[Person] = []
    spans: list[tuple[int, int]] = []
    if "@" in text:
        for m in _NAME_ADDR_RE.finditer(text):
            found.append(Person(_name_before_address(m.group(1)), m.group(2).strip(".").lower()))
            spans.append(m.span())
        for m in EMAIL_RE.finditer(text):
            if not any(a <= m.start() < b for a, b in spans):
                found.append(Person(None, m.group(0).strip(".").lower()))
    if names_re is not None:
        for m in names_re.finditer(fold(text)):
            found.append(Person(names[m.group(0)], None))
    return found


def _contains_words(folded_haystack: str, folded_needle: str) -> bool:
    if not folded_needle:
        return False
    return re.search(rf"(?<!\w){re.escape(folded_needle)}(?!\w)", folded_haystack) is not None


# ---------------------------------------------------------------------------------------------
# amounts
# ---------------------------------------------------------------------------------------------

_CODES = ["USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "JPY", "CNY", "INR", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "SGD", "HKD", "ZAR", "BRL", "MXN", "KRW", "AED", "ILS", "TRY"]  # noqa: E501 - a word list
_SYMBOLS = {
    "US$": "USD", "CA$": "CAD", "C$": "CAD", "AU$": "AUD", "A$": "AUD", "NZ$": "NZD",
    "HK$": "HKD", "S$": "SGD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR",
    "₩": "KRW",
}
_WORDS = {"dollars": "USD", "dollar": "USD", "euros": "EUR", "euro": "EUR"}
_SYM_RE = "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True))
_CODE_RE = "|".join(_CODES)
_NUM = r"\d{1,3}(?:[,.'\u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d+)?"
_SUFFIX = r"(?:(?:k|K|mn|m|M|bn|BN|b|B)(?![A-Za-z])|\s(?:thousand|million|billion)\b)?"
_AMOUNT_BEFORE = re.compile(
    rf"(?P<cur>{_SYM_RE}|\b(?:{_CODE_RE})(?![A-Za-z]))\s?(?P<num>{_NUM})(?P<suf>{_SUFFIX})"
    r"(?![\d%])"
)
_AMOUNT_AFTER = re.compile(
    rf"(?<![\w$€£¥₹.,])(?P<num>{_NUM})(?P<suf>{_SUFFIX})\s?"
    rf"(?P<cur>€|£|(?<![A-Za-z])(?:{_CODE_RE})\b|\b(?:dollars?|euros?)\b)"
)
_AMOUNT_HINT = re.compile(
    rf"[$€£¥₹₩]|(?<![A-Za-z])(?:{_CODE_RE})(?![A-Za-z])|\b(?:dollars?|euros?)\b",
    re.IGNORECASE,
)
_MULTIPLIERS = {
    "k": 3, "thousand": 3, "m": 6, "mn": 6, "million": 6, "b": 9, "bn": 9, "billion": 9,
}


def _parse_number(raw: str) -> Decimal | None:
    s = re.sub(r"[\u00a0\u202f']", "", raw)
    if "," in s and "." in s:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if dec == "," else ",", "").replace(",", ".")
    elif "," in s:
        if re.fullmatch(r"\d{1,3}(,\d{3})+", s):
            s = s.replace(",", "")
        elif re.fullmatch(r"\d+,\d{1,2}", s):
            s = s.replace(",", ".")
        else:
            s = s.replace(",", "")
    elif s.count(".") > 1:
        if not re.fullmatch(r"\d{1,3}(\.\d{3})+", s):
            return None
        s = s.replace(".", "")
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def _normalise_value(value: Decimal) -> Decimal:
    value = value.normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def extract_amounts(text: str) -> list[Amount]:
    """Money amounts in ``text`` (see the module docstring for the rules), in order."""
    return list(_amounts(text))


@functools.lru_cache(maxsize=65536)
def _amounts(text: str) -> tuple[Amount, ...]:
    if not _AMOUNT_HINT.search(text):
        return ()
    found: list[tuple[int, Amount]] = []
    taken: list[tuple[int, int]] = []
    for regex in (_AMOUNT_BEFORE, _AMOUNT_AFTER):
        for m in regex.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            value = _parse_number(m.group("num"))
            if value is None:
                continue
            suffix = m.group("suf").strip().lower()
            if suffix:
                value = value * (Decimal(10) ** _MULTIPLIERS[suffix])
            cur_raw = m.group("cur")
            currency = _SYMBOLS.get(cur_raw) or _WORDS.get(cur_raw.lower()) or cur_raw.upper()
            taken.append(m.span())
            found.append(
                (m.start(), Amount(currency, _normalise_value(value), m.group(0).strip()))
            )
    return tuple(a for _, a in sorted(found, key=lambda t: t[0]))


# ---------------------------------------------------------------------------------------------
# dates
# ---------------------------------------------------------------------------------------------

_MONTHS = {
    "January": 1, "February": 2, "March": 3, "April": 4, "May": 5, "June": 6, "July": 7,
    "August": 8, "September": 9, "October": 10, "November": 11, "December": 12,
    "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9,
    "Sept": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}
_MONTHS_CI = {**{k.upper(): v for k, v in _MONTHS.items()}}
_MONTH_NAMES = [
    "", "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]
# Capitalised (or all-caps) month names only: "may" and "mar" are also verbs.
_MONTH_RE = "|".join(
    sorted({*(_MONTHS), *(k.upper() for k in _MONTHS)}, key=len, reverse=True)
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
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
    rf"\b{_WD_PREFIX}(\d{{1,2}}){_ORD}(?:\s+of)?\s+({_MONTH_RE})\b\.?(?:,?\s+(\d{{4}})\b)?"
)
_MONTH_DAY_RE = re.compile(
    rf"\b{_WD_PREFIX}({_MONTH_RE})\.?\s+(\d{{1,2}}){_ORD}\b(?!:)(?:,?\s+(\d{{4}})\b)?"
)
_MONTH_YEAR_RE = re.compile(rf"\b({_MONTH_RE})\.?,?\s+(\d{{4}})\b")
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
    rf"\d|\b(?:{_MONTH_RE})\b|\b(?:mon|tue|wed|thu|fri|sat|sun)|today|tonight|tomorrow|"
    r"yesterday|\b(?:next|this|last)\s|end\s+of|\b(?:eod|eow|eom|cob)\b|"
    r"\bin\s+(?:\d|a\s|one|two|three|four|five|six)",
    re.IGNORECASE,
)


def _month_number(name: str) -> int:
    return _MONTHS.get(name) or _MONTHS_CI[name.upper()]


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


# ---------------------------------------------------------------------------------------------
# commitments
# ---------------------------------------------------------------------------------------------

_STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "then", "so", "to", "of", "in", "on", "at", "for", "from", "with", "by", "about", "as", "into", "onto", "over", "under", "up", "down", "out", "off", "this", "that", "these", "those", "it", "its", "it's", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "doing", "done", "have", "has", "had", "having", "i", "i'll", "i'm", "i've", "i'd", "we", "we'll", "we're", "we've", "you", "you'll", "your", "yours", "he", "she", "they", "them", "their", "our", "us", "me", "my", "mine", "his", "her", "will", "shall", "would", "could", "should", "can", "may", "might", "must", "not", "no", "yes", "all", "any", "some", "each", "every", "more", "most", "very", "just", "also", "too", "than", "there", "here", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "again", "once", "only", "own", "same", "such", "both", "few", "other", "after", "before", "until", "while", "during", "because", "per", "via", "let", "lets", "know", "going", "go", "gonna"]  # noqa: E501 - a word list
)
_PLEASANTRIES = frozenset(
    ["please", "thanks", "thank", "great", "hey", "hi", "hello", "sure", "okay", "ok", "happy", "glad", "quick", "quickly", "really", "lovely", "perfect", "cheers", "best", "regards", "kind", "find", "attached", "hope", "well", "soon"]  # noqa: E501 - a word list
)
_DATE_WORDS = frozenset(
    [*(w for w in _WEEKDAYS), *(m.lower() for m in _MONTHS), "today", "tomorrow", "tonight",
     "yesterday", "week", "month", "quarter", "year", "next", "end", "eod", "eow", "eom", "cob",
     "morning", "afternoon", "evening", "night", "mon", "tue", "tues", "wed", "thu", "thur",
     "thurs", "fri", "sat", "sun"]
)
_TRIGGER_RES = [
    re.compile(
        r"\b(?:I|we)\s*(?:'ll|’ll|\s+will|\s+shall|'m\s+going\s+to|’m\s+going\s+to|\s+am\s+going"
        r"\s+to|'re\s+going\s+to|’re\s+going\s+to|\s+are\s+going\s+to)\b",
        re.IGNORECASE,
    ),
    re.compile(r"\bpromis(?:e|es|ed|ing)\b", re.IGNORECASE),
    re.compile(r"\bcommit(?:s|ted|ting|ment|ments)?\b", re.IGNORECASE),
    re.compile(r"\bdeadlines?\b", re.IGNORECASE),
    re.compile(r"\bdue\b(?!\s+(?:to|diligence)\b)", re.IGNORECASE),
    re.compile(r"\bno\s+later\s+than\b", re.IGNORECASE),
    re.compile(
        r"\b(?:by|before)\s+(?:the\s+)?(?:end\s+of|next|this|tomorrow|today|tonight|EOD|EOW|"
        r"COB|monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|"
        rf"\d{{1,4}}\b|{_MONTH_RE})",
        re.IGNORECASE,
    ),
]
_ID_RE = re.compile(r"\b[A-Z][A-Z0-9]*[-_]?\d[A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*\b")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]")
_CLAUSE_SPLIT = re.compile(r"\s[—–]\s|;|:\s")


def _stem(word: str) -> str:
    w = word.lower().replace("’", "'")
    w = w.removesuffix("'s")
    for suffix in ("ing", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


@functools.lru_cache(maxsize=65536)
def _content_words(text: str) -> tuple[str, ...]:
    words: list[str] = []
    for w in _WORD_RE.findall(text):
        lw = w.lower().replace("’", "'")
        if lw in _STOPWORDS or lw in _PLEASANTRIES or lw in _DATE_WORDS or len(lw) < 2:
            continue
        words.append(_stem(lw))
    return tuple(words)


@functools.lru_cache(maxsize=65536)
def _commitment_from(sentence: str) -> Commitment | None:
    trigger = None
    for regex in _TRIGGER_RES:
        m = regex.search(sentence)
        if m and (trigger is None or m.start() < trigger.start()):
            trigger = m
    if trigger is None:
        return None
    # The clause holding the trigger; keywords nearest the trigger first.
    start, end = 0, len(sentence)
    for cut in _CLAUSE_SPLIT.finditer(sentence):
        if cut.end() <= trigger.start():
            start = cut.end()
        elif cut.start() >= trigger.end():
            end = cut.start()
            break
    ids = tuple(dict.fromkeys(m.group(0) for m in _ID_RE.finditer(sentence)))
    plain = _ID_RE.sub(lambda m: " " * len(m.group(0)), sentence)  # offsets stay valid
    before = _content_words(plain[start : trigger.start()])[-4:]
    after = _content_words(plain[trigger.start() : end])
    keywords = tuple(dict.fromkeys([*before, *after]))[:10]
    amounts = tuple(dict.fromkeys(extract_amounts(sentence)))
    dates = tuple(dict.fromkeys(extract_dates(sentence)))
    if not (keywords or ids or amounts or dates):
        return None
    return Commitment(keywords, ids, amounts, dates, sentence.strip())


def extract_commitments(text: str) -> list[Commitment]:
    """Commitments (see the module docstring), one per sentence, in order."""
    out: list[Commitment] = []
    for sentence in sentence_split(text):
        c = _commitment_from(sentence)
        if c is not None:
            out.append(c)
    return out


# ---------------------------------------------------------------------------------------------
# key items and the check
# ---------------------------------------------------------------------------------------------


def key_items(
    texts: Iterable[str],
    participants: Iterable[str | Person] = (),
    *,
    known_names: Iterable[str] = (),
) -> KeyItems:
    """The people, amounts, dates and commitments a summary of ``texts`` must keep.

    ``participants``: ``Name <email>`` strings (or Persons) of everyone involved (senders,
    recipients, attendees, speakers). ``known_names``: names known to be people; any of them
    mentioned in the texts is a key person too.
    """
    people: list[Person] = []
    for p in participants:
        person = p if isinstance(p, Person) else parse_person(p)
        if person:
            people.append(person)
    names = [n for n in dict.fromkeys(" ".join(n.split()) for n in known_names) if n]
    names_re = _names_regex(names)
    by_fold = {fold(n): n for n in names}
    amounts: list[Amount] = []
    dates: list[DateItem] = []
    commitments: list[Commitment] = []
    for text in texts:
        if not text:
            continue
        people.extend(_mentioned_people(text, names_re, by_fold))
        amounts.extend(extract_amounts(text))
        dates.extend(extract_dates(text))
        commitments.extend(extract_commitments(text))
    return KeyItems(
        people=_merge_people(people),
        amounts=tuple(dict.fromkeys(amounts)),
        dates=_dedupe_dates(dates),
        commitments=tuple(dict.fromkeys(commitments)),
    )


def _dedupe_dates(dates: Iterable[DateItem]) -> tuple[DateItem, ...]:
    """Drop a month-day already implied by a full date of the same month and day."""
    unique = list(dict.fromkeys(dates))
    full = {d.value[4:] for d in unique if d.kind == "date"}
    return tuple(d for d in unique if not (d.kind == "monthday" and d.value[1:] in full))


def _date_kept(item: DateItem, found: set[DateItem], folded_text: str) -> bool:
    if item.kind == "phrase":
        return _contains_words(folded_text, fold(item.value))
    if item in found:
        return True
    if item.kind == "monthday":
        return any(d.kind == "date" and d.value[4:] == item.value[1:] for d in found)
    return False


@dataclass
class TextFacts:
    """What a piece of text holds, extracted once: amounts, dates, content words."""

    text: str
    folded: str
    lowered: str
    amounts: set[Amount]
    dates: set[DateItem]
    words: set[str]

    @classmethod
    def of(cls, text: str) -> TextFacts:
        return cls(text, fold(text), text.lower(), set(extract_amounts(text)),
                   set(extract_dates(text)), set(_content_words(text)))

    def has_person(self, p: Person) -> bool:
        return bool(
            (p.email and p.email in self.lowered)
            or (p.name and _contains_words(self.folded, fold(p.name)))
        )

    def has_date(self, d: DateItem) -> bool:
        return _date_kept(d, self.dates, self.folded)

    def holds_commitment(self, c: Commitment) -> bool:
        """Does this text, read as ONE sentence, keep the commitment's core?"""
        if any(i.lower() not in self.lowered for i in c.ids):
            return False
        if not set(c.amounts) <= self.amounts:
            return False
        if not all(self.has_date(d) for d in c.dates):
            return False
        need = math.ceil(len(c.keywords) / 2)
        return sum(1 for k in c.keywords if k in self.words) >= need

    def keeps(self, item: Person | Amount | DateItem | Commitment) -> bool:
        if isinstance(item, Person):
            return self.has_person(item)
        if isinstance(item, Amount):
            return item in self.amounts
        if isinstance(item, DateItem):
            return self.has_date(item)
        return self.holds_commitment(item)


def check_fidelity(summary_text: str, items: KeyItems) -> FidelityResult:
    """Does ``summary_text`` keep every key item? ``missing`` lists what it lost."""
    whole = TextFacts.of(summary_text)
    missing = [f"person: {p.label}" for p in items.people if not whole.has_person(p)]
    missing += [f"amount: {a.canonical} ({a.text})" for a in items.amounts
                if a not in whole.amounts]
    missing += [
        f"date: {d.value}" + (f" ({d.text})" if d.text and d.text != d.value else "")
        for d in items.dates
        if not whole.has_date(d)
    ]
    if items.commitments:
        sentences = [(s, s.lower()) for s in sentence_split(summary_text)]
        facts: dict[str, TextFacts] = {}

        def holds(c: Commitment) -> bool:
            need = math.ceil(len(c.keywords) / 2)
            for sentence, low in sentences:
                # cheap necessary conditions first (ids and stems are substrings)
                if any(i.lower() not in low for i in c.ids):
                    continue
                if sum(1 for k in c.keywords if k in low) < need:
                    continue
                f = facts.get(sentence) or facts.setdefault(sentence, TextFacts.of(sentence))
                if f.holds_commitment(c):
                    return True
            return False

        missing += [f"commitment: {c.text}" for c in items.commitments if not holds(c)]
    return FidelityResult(passed=not missing, missing=tuple(missing))


def render_items(items: KeyItems) -> list[str]:
    """Each key item as text that :func:`check_fidelity` recognises (a last-resort appendix)."""
    out = [p.short for p in items.people]
    out += [a.canonical for a in items.amounts]
    for d in items.dates:
        if d.kind == "monthday":
            out.append(f"{int(d.value[5:7])} {_MONTH_NAMES[int(d.value[2:4])]}")
        elif d.kind == "month":
            out.append(f"{_MONTH_NAMES[int(d.value[5:7])]} {d.value[:4]}")
        else:
            out.append(d.value)
    out += [c.text for c in items.commitments]
    return out
