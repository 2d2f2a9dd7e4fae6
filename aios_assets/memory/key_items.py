"""Key items of texts, what a summary must keep (:mod:`aios_assets.memory.fidelity`): their
types, the text helpers every extractor shares, and the people and amounts found in a text.

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


Everything here is pure: no database, no clock.
"""

from __future__ import annotations

import email.utils
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from aios_assets.shared.text import EMAIL_RE

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


def merge_people(people: Iterable[Person]) -> tuple[Person, ...]:
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


def names_regex(known_names: Sequence[str]) -> re.Pattern[str] | None:
    folded = sorted({fold(n) for n in known_names if n.strip()}, key=len, reverse=True)
    if not folded:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in folded) + r")(?!\w)")


def mentioned_people(
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


def contains_words(folded_haystack: str, folded_needle: str) -> bool:
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
