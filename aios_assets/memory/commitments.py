"""Commitments in a text, a key item of :mod:`aios_assets.memory.fidelity`.

- **commitments** — sentences that promise or set a deadline: ``I will``/``I'll``/``we'll``/
  ``I'm going to``, ``promise``, ``commit``, ``deadline``, ``due`` (not ``due to``), ``by <date
  or weekday>``, ``no later than``. Each is reduced to a checkable core: its id-like tokens
  (``INV-005-001``), its amounts and dates, and up to 10 content words around the trigger (stop
  words, pleasantries, weekday and month names dropped; crude stemming). A summary keeps a
  commitment when ONE of its sentences holds every id, amount and date of the core and at least
  half of its content words. A promise with none of these (``I'll do it.``) is not checkable
  and is not a key item.

Pure: no database, no clock.
"""

from __future__ import annotations

import functools
import re

from aios_assets.memory.key_dates import MONTH_RE, MONTHS, WEEKDAYS, extract_dates
from aios_assets.memory.key_items import Commitment, extract_amounts, sentence_split

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
    [*(w for w in WEEKDAYS), *(m.lower() for m in MONTHS), "today", "tomorrow", "tonight",
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
        rf"\d{{1,4}}\b|{MONTH_RE})",
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
def content_words(text: str) -> tuple[str, ...]:
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
    before = content_words(plain[start : trigger.start()])[-4:]
    after = content_words(plain[trigger.start() : end])
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
