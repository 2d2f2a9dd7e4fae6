"""The cross-party disclosure gate: an outgoing message discloses personal data only of its own
recipients, of the operator, or of people in the thread it answers.

Personal data here: e-mail addresses, phone numbers, amounts tied to a person (an amount in the
same sentence or line as someone else's name, address or invoice number) and other customers'
invoice numbers. The rules reuse the project's single copies of the patterns: e-mail and phone
extraction from ingest (``extract_entity_refs``' regexes), amounts and sentences from the
summary fidelity check. A finding holds the proposal for the operator's approval (never
autonomous); an approval lets it through, and the reason says which datum and whose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aios_assets.ingest.events import (
    _DATEISH_RE,
    _NON_DIGIT_RE,
    _PHONE_RE,
    normalize_email,
    normalize_phone,
)
from aios_assets.memory.key_items import extract_amounts, fold, sentence_split
from aios_assets.shared.text import EMAIL_RE

# Operator-facing channels that still leave the building (a webhook lands in a chat tool):
# only raw contact data of others is held there; amounts and names are the operator's business.
OPERATOR_CHANNELS = frozenset({"notify_webhook"})
# Nothing leaves: internal notes are read by the operator in the console only.
INTERNAL = frozenset({"internal_note"})


@dataclass(frozen=True)
class Parties:
    """Who is who, for the disclosure gate (from the marts and the event log)."""

    names: Mapping[str, str] = field(default_factory=dict)       # entity_id -> full name
    phones: Mapping[str, str] = field(default_factory=dict)      # normalized phone -> entity
    invoices: Mapping[str, str] = field(default_factory=dict)    # INVOICE-ID -> entity
    operator_emails: frozenset[str] = frozenset()
    operator_entities: frozenset[str] = frozenset()
    # message id -> addresses of everyone in that message's thread (for replies)
    threads: Mapping[str, frozenset[str]] = field(default_factory=dict)
    _by_name: dict[str, set[str]] = field(init=False, repr=False, compare=False,
                                          default_factory=dict)
    _name_rx: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _invoice_rx: re.Pattern[str] | None = field(init=False, repr=False, compare=False,
                                                default=None)

    def __post_init__(self) -> None:
        # One alternation each for names and invoice numbers, built once per gate run (a
        # directory of thousands of contacts must not cost a regex per name per proposal).
        by_name: dict[str, set[str]] = {}
        for ent, n in self.names.items():
            folded = fold(n or "")
            if len(folded) >= 4 and " " in folded:  # full names only: "Ada" alone is ambiguous
                by_name.setdefault(folded, set()).add(ent)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_name_rx", _alternation(by_name, r"(?<!\w)", r"(?!\w)"))
        object.__setattr__(self, "_invoice_rx", _alternation(
            {i.lower(): None for i in self.invoices}, r"(?<![\w-])", r"(?![\w-])"))

    def named(self, folded_text: str) -> set[str]:
        """Entities whose full name appears in ``folded_text`` (already :func:`fold`-ed)."""
        if self._name_rx is None:
            return set()
        return {e for m in self._name_rx.finditer(folded_text)
                for e in self._by_name.get(" ".join(m.group().split()), ())}

    def invoices_in(self, text: str) -> dict[str, str]:
        """Invoice numbers in ``text`` -> their customer entity."""
        if self._invoice_rx is None:
            return {}
        upper = {k.lower(): k for k in self.invoices}
        return {upper[m.group().lower()]: self.invoices[upper[m.group().lower()]]
                for m in self._invoice_rx.finditer(text)}


def _alternation(keys: Mapping[str, Any], before: str, after: str) -> re.Pattern[str] | None:
    if not keys:
        return None
    words = sorted(keys, key=len, reverse=True)  # longest first: "ada lovelace king" wins
    body = "|".join(r"\s+".join(re.escape(w) for w in k.split()) for k in words)
    return re.compile(f"{before}(?:{body}){after}", re.IGNORECASE)


def find_phones(text: str) -> list[tuple[str, str]]:
    """(raw, normalized) phone numbers in ``text``, by ingest's rule (dates, short runs and
    parts of identifiers like INV-2024-000123 left out)."""
    out = []
    for m in _PHONE_RE.finditer(text):
        raw = m.group(1)
        if _DATEISH_RE.match(raw.strip()) or (m.start() > 0 and text[m.start() - 1] == "-"):
            continue
        p = normalize_phone(raw)
        if p and (raw.strip().startswith("+") or len(_NON_DIGIT_RE.sub("", raw)) >= 9):
            out.append((raw, p))
    return out


def _mask_email(addr: str) -> str:
    local, _, domain = addr.partition("@")
    return f"{local[:1]}…@{domain}"


def disclosures(text: str, *, allowed_entities: Iterable[str], allowed_emails: Iterable[str],
                email_to_entity: Mapping[str, str], parties: Parties,
                contact_data_only: bool = False) -> list[str]:
    """What ``text`` discloses about people other than the allowed ones: one line per datum
    ("e-mail address a…@x.example of ent_ada"). Empty: nothing."""
    ok_entities = set(allowed_entities) | set(parties.operator_entities)
    ok_emails = {e.lower() for e in allowed_emails} | set(parties.operator_emails)
    ok_emails |= {e for e, ent in email_to_entity.items() if ent in ok_entities}

    def whose_email(addr: str) -> str | None:
        if addr in ok_emails:
            return None
        ent = email_to_entity.get(addr)
        if ent in ok_entities:
            return None
        return ent or "someone who is not a recipient"

    found: list[str] = []
    for raw in dict.fromkeys(EMAIL_RE.findall(text)):
        addr = normalize_email(raw)
        who = whose_email(addr)
        if who:
            found.append(f"e-mail address {_mask_email(addr)} of {who}")
    for raw, phone in find_phones(text):
        ent = parties.phones.get(phone)
        if ent not in ok_entities:
            found.append(f"phone number …{phone[-3:]} of "
                         f"{ent or 'someone not known to be a recipient'}")
    if contact_data_only:
        return list(dict.fromkeys(found))
    for inv, ent in parties.invoices_in(text).items():
        if ent not in ok_entities:
            found.append(f"invoice {inv} of {ent}")
    for sentence in sentence_split(text):
        amounts = extract_amounts(sentence)
        if not amounts:
            continue
        tied = sorted(e for e in parties.named(fold(sentence)) if e not in ok_entities)
        tied += [w for a in EMAIL_RE.findall(sentence)
                 if (w := whose_email(normalize_email(a)))]
        tied += [ent for ent in parties.invoices_in(sentence).values() if ent not in ok_entities]
        for who in dict.fromkeys(tied):
            found.append(f"amount {amounts[0].text or amounts[0].canonical} tied to {who}")
    return list(dict.fromkeys(found))
