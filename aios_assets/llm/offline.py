"""The offline tier: summaries, triage and drafts with no network, no key and no model.

This is a designed tier, not a test double: AIOS runs end to end on it, and the LLM resource
falls back to it when there is no endpoint, the endpoint is down or the budget is spent.

* :func:`summarize` is extractive: it scores sentences and keeps the ones with people, amounts,
  dates and commitments first, in their original order.
* :func:`classify` is rule-based: keyword / regex rules per label, with a confidence.
* :func:`draft` fills a ``{field}`` template and refuses (:class:`UnresolvedPlaceholder`) when a
  field is missing or empty, so no half-filled draft ever goes out.

Prompts for the three built-in tasks are built with :func:`summarize_prompt`,
:func:`classify_prompt` and :func:`draft_prompt`: plain instructions a real model follows, with
``### SECTION`` markers the offline handlers (:data:`OFFLINE_TASKS`) parse back. A prompt with no
markers is taken whole as the text to summarize / classify.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aios_assets.shared.text import EMAIL_RE

# --- errors -------------------------------------------------------------------------------


class OfflineError(ValueError):
    """The offline tier cannot do what was asked."""


class UnknownOfflineTask(OfflineError):
    """No built-in offline handler for this task and no ``offline`` callable was given."""


class UnresolvedPlaceholder(OfflineError):
    """A draft template has placeholders with no (or an empty) value."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        names = ", ".join("{" + m + "}" for m in self.missing)
        super().__init__(f"draft refused: unresolved placeholder(s) {names}")


# --- summarize ----------------------------------------------------------------------------

_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9$€£])|\n\s*\n|\n(?=\s*[-*•]\s)")
_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|Inc|Ltd|Co|St|vs|etc|e\.g|i\.e|approx|No)\.$")

_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_AMOUNT = re.compile(
    r"[$€£]\s?\d[\d,]*(?:\.\d+)?\s?[kKmM]?\b|\b\d[\d,]*(?:\.\d+)?\s?(?:usd|eur|gbp|dollars|euros)\b"
    r"|\b\d+(?:\.\d+)?\s?%", re.IGNORECASE)
_DATE = re.compile(
    rf"\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?\b|\b(?:{_MONTHS})\.?\s+\d{{1,2}}\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\b|\b(?:{_DAYS})\b|\b(?:today|tomorrow|tonight"
    r"|next (?:week|month|quarter)|end of (?:the )?(?:week|month|quarter)|eod|eow|q[1-4])\b",
    re.IGNORECASE)
_COMMITMENT = re.compile(
    r"\b(?:will|shall|agreed?|agreement|approved?|confirm(?:ed)?|commit(?:ted|ment)?|promise[ds]?"
    r"|deadline|due|by (?:the )?end|deliver(?:ed|y)?|sign(?:ed)?|contract|invoice[ds]?|pay(?:ment)?"
    r"|send|schedule[ds]?|decided?|decision|action item|todo|follow[- ]up|need to|must)\b",
    re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+\b")
_MENTION = re.compile(r"(?<!\w)@\w+")
_FILLER = re.compile(
    r"^(?:hi|hello|hey|thanks|thank you|cheers|best|regards|kind regards|sent from)\b",
    re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences (periods, blank lines, bullets), whitespace collapsed."""
    out: list[str] = []
    for chunk in _SENTENCE_END.split(text or ""):
        chunk = " ".join(chunk.split()).lstrip("-*• ").strip()
        if not chunk:
            continue
        if out and _ABBREV.search(out[-1]):
            out[-1] = f"{out[-1]} {chunk}"  # "Dr. Smith" is one sentence
        else:
            out.append(chunk)
    return out


def sentence_score(sentence: str) -> float:
    """How much a sentence is worth keeping: people, amounts, dates, commitments first."""
    score = 0.0
    if EMAIL_RE.search(sentence) or _MENTION.search(sentence):
        score += 2.0
    names = _NAME.findall(sentence)
    if names:
        score += 1.5 + 0.25 * min(len(names) - 1, 2)
    score += 2.5 * min(len(_AMOUNT.findall(sentence)), 2)
    score += 2.0 * min(len(_DATE.findall(sentence)), 2)
    score += 2.0 * min(len(_COMMITMENT.findall(sentence)), 2)
    words = len(sentence.split())
    if words < 4:
        score -= 1.5
    elif words > 45:
        score -= 1.0
    if _FILLER.match(sentence):
        score -= 3.0
    if sentence.endswith("?"):
        score -= 0.5
    return score


def summarize(texts: str | Iterable[str], max_sentences: int = 3,
              max_chars: int | None = None) -> str:
    """An extractive summary: the best sentences (see :func:`sentence_score`), in text order.

    At most ``max_sentences`` sentences and, when given, ``max_chars`` characters (a single
    sentence longer than that is cut at a word boundary with "…"). Duplicate sentences across
    ``texts`` count once; ties keep the earlier sentence.
    """
    items = [texts] if isinstance(texts, str) else list(texts)
    sentences: list[str] = []
    seen: set[str] = set()
    for text in items:
        for sentence in split_sentences(text):
            key = sentence.casefold()
            if key not in seen:
                seen.add(key)
                sentences.append(sentence)
    if not sentences or max_sentences <= 0:
        return ""
    ranked = sorted(range(len(sentences)), key=lambda i: (-sentence_score(sentences[i]), i))
    chosen: list[int] = []
    used = 0
    for i in ranked:
        if len(chosen) >= max_sentences:
            break
        cost = len(sentences[i]) + (1 if chosen else 0)
        if max_chars is not None and used + cost > max_chars:
            continue
        chosen.append(i)
        used += cost
    if not chosen:  # even the best sentence is over max_chars: cut it
        best = sentences[ranked[0]]
        limit = max(1, (max_chars or len(best)) - 1)
        return best[:limit].rsplit(" ", 1)[0].rstrip(",;: ") + "…"
    return " ".join(sentences[i] for i in sorted(chosen))


# --- classify -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Evidence for ``label``: a case-insensitive regex (or a plain keyword) and its weight."""

    label: str
    pattern: str
    weight: float = 1.0

    def hits(self, text: str) -> int:
        return len(re.findall(self.regex(), text, flags=re.IGNORECASE))

    def regex(self) -> str:
        # A plain keyword matches as a whole word; anything with regex syntax is used as is.
        if re.fullmatch(r"[\w' -]+", self.pattern):
            return r"\b" + re.escape(self.pattern).replace(r"\ ", r"\s+") + r"\b"
        return self.pattern


@dataclass(frozen=True)
class Classification:
    label: str
    confidence: float  # 0..1: the share of the evidence for the winning label, damped
    scores: dict[str, float] = field(default_factory=dict)
    matched: tuple[str, ...] = ()


# Triage labels AIOS uses; a caller's own rules replace these for the labels it names.
DEFAULT_RULES: dict[str, tuple[str, ...]] = {
    "urgent": ("urgent", "asap", "immediately", "today", "overdue", "final notice", "deadline",
               "critical", "emergency", r"\bby (?:eod|end of day)\b"),
    "billing": ("invoice", "payment", "paid", "receipt", "refund", "overdue", "bill", "billing",
                r"[$€£]\s?\d", "wire", "bank transfer", "remittance"),
    "scheduling": ("meeting", "call", "calendar", "reschedule", "availability", "available",
                   "zoom", "invite", r"\b\d{1,2}(?::\d{2})?\s?(?:am|pm)\b", "tomorrow"),
    "sales": ("proposal", "quote", "pricing", "retainer", "interested", "demo", "contract",
              "scope", "budget", "engagement", "lead"),
    "support": ("help", "issue", "problem", "bug", "error", "not working", "broken", "question",
                "how do i", "can't", "cannot"),
    "spam": ("unsubscribe", "winner", "free money", "crypto", "lottery", "click here",
             "limited time offer", "verify your account", "gift card"),
    "personal": ("birthday", "family", "dinner", "weekend", "vacation", "holiday"),
}


def _rules_from(labels: Sequence[str] | Mapping[str, Sequence[str]] | Sequence[Rule] | None,
                ) -> tuple[list[str], list[Rule]]:
    if labels is None:
        labels = list(DEFAULT_RULES)
    if isinstance(labels, Mapping):
        names = list(labels)
        rules = [Rule(lbl, p) for lbl, pats in labels.items() for p in pats]
        return names, rules
    items = list(labels)
    if items and all(isinstance(x, Rule) for x in items):
        rules = [x for x in items if isinstance(x, Rule)]
        return list(dict.fromkeys(r.label for r in rules)), rules
    names = [str(x) for x in items]
    rules: list[Rule] = []
    for name in names:
        known = DEFAULT_RULES.get(name.casefold(), ())
        if name.casefold() not in known:
            rules.append(Rule(name, name, 1.5))  # the label's own name is evidence
        rules.extend(Rule(name, p) for p in known)
    return names, rules


def classify(text: str,
             labels: Sequence[str] | Mapping[str, Sequence[str]] | Sequence[Rule] | None = None,
             default: str = "other") -> Classification:
    """Pick the label whose rules match ``text`` best.

    ``labels``: label names (their own name plus :data:`DEFAULT_RULES` for known labels), a
    mapping label -> keywords/regexes, or :class:`Rule` objects. No evidence at all gives
    ``default`` with confidence 0. Confidence = the winner's share of the total score times
    (1 - exp(-score / 2)): ambiguous or thin evidence (one weak hit) is not certainty. Ties go
    to the label listed first.
    """
    names, rules = _rules_from(labels)
    scores = dict.fromkeys(names, 0.0)
    matched: list[str] = []
    for rule in rules:
        n = rule.hits(text or "")
        if n:
            scores[rule.label] = scores.get(rule.label, 0.0) + rule.weight * min(n, 3)
            matched.append(f"{rule.label}:{rule.pattern}")
    total = sum(scores.values())
    if total <= 0:
        return Classification(default, 0.0, scores, ())
    best = max(names, key=lambda n: (scores[n], -names.index(n)))
    share = scores[best] / total
    confidence = round(share * (1.0 - math.exp(-scores[best] / 2.0)), 3)
    return Classification(best, confidence, scores,
                          tuple(m for m in matched if m.startswith(best + ":")))


# --- draft --------------------------------------------------------------------------------


def placeholders(template: str) -> list[str]:
    """The ``{field}`` names in a template, in order, without duplicates."""
    names: list[str] = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            base = re.split(r"[.\[]", name, maxsplit=1)[0]
            if not base:
                raise OfflineError("draft templates need named placeholders, not {} or {0}")
            if base not in names:
                names.append(base)
    return names


def draft(template: str, fields: Mapping[str, object]) -> str:
    """Fill ``{field}`` placeholders; refuse with :class:`UnresolvedPlaceholder` if any is
    missing, None or blank. ``{{`` and ``}}`` are literal braces."""
    missing = [n for n in placeholders(template)
               if n not in fields or fields[n] is None or str(fields[n]).strip() == ""]
    if missing:
        raise UnresolvedPlaceholder(missing)
    return template.format_map(dict(fields))


# --- prompts shared by the model tiers and the offline handlers ------------------------------

_SECTION = re.compile(r"^### (TEXT|LABELS|TEMPLATE|FIELDS)[ \t]*$", re.MULTILINE)


def parse_sections(prompt: str) -> dict[str, list[str]]:
    """``### NAME`` sections of a prompt (NAME in TEXT, LABELS, TEMPLATE, FIELDS).

    A prompt without any marker is one TEXT section. Text before the first marker (the
    instruction) is dropped.
    """
    marks = list(_SECTION.finditer(prompt))
    if not marks:
        return {"TEXT": [prompt]}
    out: dict[str, list[str]] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(prompt)
        out.setdefault(m.group(1), []).append(prompt[m.end():end].strip("\n"))
    return out


def summarize_prompt(texts: str | Iterable[str], max_sentences: int = 3) -> str:
    items = [texts] if isinstance(texts, str) else list(texts)
    body = "".join(f"### TEXT\n{t.strip()}\n" for t in items)
    return (f"Summarize the texts below in at most {max_sentences} sentences. Keep people, "
            f"amounts, dates and commitments; add nothing that is not in the texts.\n{body}")


def classify_prompt(text: str, labels: Sequence[str]) -> str:
    return ("Classify the text below. Answer with exactly one of the labels, nothing else.\n"
            f"### LABELS\n{', '.join(labels)}\n### TEXT\n{text.strip()}\n")


def draft_prompt(template: str, fields: Mapping[str, object]) -> str:
    return ("Write the draft below, filling every {placeholder} from the fields. Keep the "
            "template's structure and facts; do not invent facts.\n"
            f"### TEMPLATE\n{template}\n### FIELDS\n"
            f"{json.dumps(dict(fields), ensure_ascii=False, default=str, sort_keys=True)}\n")


# --- built-in offline handlers for LLMResource.complete ------------------------------------

OfflineHandler = Callable[[str, "str | None", int], str]


def offline_summarize(prompt: str, system: str | None = None, max_tokens: int = 512) -> str:
    """Built-in ``summarize``: the TEXT sections, budget ~max_tokens * 4 characters."""
    texts = parse_sections(prompt).get("TEXT", [])
    m = re.search(r"at most (\d+) sentences", prompt)
    return summarize(texts, max_sentences=int(m.group(1)) if m else 3, max_chars=max_tokens * 4)


def offline_classify(prompt: str, system: str | None = None, max_tokens: int = 512) -> str:
    """Built-in ``classify``: the LABELS section (comma separated) or the default labels."""
    sections = parse_sections(prompt)
    raw = ",".join(sections.get("LABELS", []))
    labels = [x.strip() for x in raw.replace("\n", ",").split(",") if x.strip()] or None
    text = "\n".join(sections.get("TEXT", []))
    return classify(text, labels).label


def offline_draft(prompt: str, system: str | None = None, max_tokens: int = 512) -> str:
    """Built-in ``draft``: TEMPLATE filled from the FIELDS JSON (see :func:`draft_prompt`)."""
    sections = parse_sections(prompt)
    if "TEMPLATE" not in sections:
        raise OfflineError("the offline draft needs a prompt built by draft_prompt(template, "
                           "fields) (a ### TEMPLATE section), or an offline= callable")
    try:
        fields = json.loads("\n".join(sections.get("FIELDS", [])) or "{}")
    except json.JSONDecodeError as exc:
        raise OfflineError(f"the ### FIELDS section of a draft prompt is not JSON: {exc}") from exc
    return draft(sections["TEMPLATE"][0], fields)


OFFLINE_TASKS: dict[str, OfflineHandler] = {
    "summarize": offline_summarize,
    "classify": offline_classify,
    "draft": offline_draft,
}


def offline_handler(task: str) -> OfflineHandler:
    """The built-in handler for ``task``, or :class:`UnknownOfflineTask`."""
    try:
        return OFFLINE_TASKS[task]
    except KeyError:
        raise UnknownOfflineTask(
            f"no offline handler for task {task!r} (built in: {', '.join(OFFLINE_TASKS)}); "
            "pass offline=callable to complete()") from None
