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

from aios_assets.ingest.events import (
    _DATEISH_RE,
    _EMAIL_RE,
    _NON_DIGIT_RE,
    _PHONE_RE,
    normalize_email,
    normalize_phone,
)
from aios_assets.memory.fidelity import extract_amounts, fold, sentence_split

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


def _name_re(name: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in fold(name).split())
                      + r"(?!\w)")


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
    for raw in dict.fromkeys(_EMAIL_RE.findall(text)):
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
    others = {ent: n for ent, n in parties.names.items() if ent not in ok_entities and n
              and len(fold(n)) >= 4}
    for inv, ent in parties.invoices.items():
        if ent not in ok_entities and re.search(rf"(?<![\w-]){re.escape(inv)}(?![\w-])", text,
                                                re.IGNORECASE):
            found.append(f"invoice {inv} of {ent}")
    for sentence in sentence_split(text):
        amounts = extract_amounts(sentence)
        if not amounts:
            continue
        folded = fold(sentence)
        tied = [ent for ent, n in others.items() if _name_re(n).search(folded)]
        tied += [w for a in _EMAIL_RE.findall(sentence)
                 if (w := whose_email(normalize_email(a)))]
        tied += [ent for inv, ent in parties.invoices.items() if ent not in ok_entities
                 and inv.lower() in sentence.lower()]
        for who in dict.fromkeys(tied):
            found.append(f"amount {amounts[0].text or amounts[0].canonical} tied to {who}")
    return list(dict.fromkeys(found))
