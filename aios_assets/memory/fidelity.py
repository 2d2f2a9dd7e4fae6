"""Fidelity of summaries: the key items of some texts, and whether a summary still holds them.

A summary may stand in for the verbose events it covers (curation archives those events to the
cold tier once their summary passes), so it must keep what an operator cannot afford to lose,
its key items: people, amounts, dates and commitments. What each is and how it is found:
:mod:`aios_assets.memory.key_items` (the item types, people, amounts),
:mod:`aios_assets.memory.key_dates` and :mod:`aios_assets.memory.commitments`.

Everything here is pure: no database, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from aios_assets.memory.commitments import content_words, extract_commitments
from aios_assets.memory.key_dates import MONTH_NAMES, extract_dates
from aios_assets.memory.key_items import (
    Amount,
    Commitment,
    DateItem,
    KeyItems,
    Person,
    contains_words,
    extract_amounts,
    fold,
    mentioned_people,
    merge_people,
    names_regex,
    parse_person,
    sentence_split,
)

# ---------------------------------------------------------------------------------------------
# key items and the check
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FidelityResult:
    passed: bool
    missing: tuple[str, ...] = ()



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
    names_re = names_regex(names)
    by_fold = {fold(n): n for n in names}
    amounts: list[Amount] = []
    dates: list[DateItem] = []
    commitments: list[Commitment] = []
    for text in texts:
        if not text:
            continue
        people.extend(mentioned_people(text, names_re, by_fold))
        amounts.extend(extract_amounts(text))
        dates.extend(extract_dates(text))
        commitments.extend(extract_commitments(text))
    return KeyItems(
        people=merge_people(people),
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
        return contains_words(folded_text, fold(item.value))
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
                   set(extract_dates(text)), set(content_words(text)))

    def has_person(self, p: Person) -> bool:
        return bool(
            (p.email and p.email in self.lowered)
            or (p.name and contains_words(self.folded, fold(p.name)))
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
            out.append(f"{int(d.value[5:7])} {MONTH_NAMES[int(d.value[2:4])]}")
        elif d.kind == "month":
            out.append(f"{MONTH_NAMES[int(d.value[5:7])]} {d.value[:4]}")
        else:
            out.append(d.value)
    out += [c.text for c in items.commitments]
    return out
