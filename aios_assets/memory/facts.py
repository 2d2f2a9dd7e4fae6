"""Entity facts: long-term facts per canonical entity, with validity intervals.

``entity_facts(fact_id, entity_id, attribute, value, valid_from, valid_to, source_event_id,
source_id, extracted_by, confidence, superseded_by, source, entity_kind, subject_key, evidence,
recorded_at, seq)``; the view ``entity_facts_current`` holds the facts still valid.

Where facts come from:

- **contact records** (``extracted_by = 'contact_record'``): every contact event (CRM, newsletter
  export, …) resolved to its entity through ``entity_membership`` gives ``full_name``, ``email``,
  ``phone``, ``title``, ``company``, ``city``, ``country``;
- **e-mail signatures** (``'signature'``): ``Title | Company`` and phone lines under ``-- ``;
- **rules over message and note text** (``'rule:<name>'``): role statements ("I'm Head of Data at
  Acme"), new e-mail / phone / surname, moves, e-mail domain changes, preferences ("I prefer
  calls"), money (agreed retainers, budgets, day rates, limits), the data warehouse a company
  runs on, what a lead needs, priorities, board dates, the operator's commitments ("I'll have the
  deck ready by Monday 13 July", "Promised Dana the plan by Friday") and who provides which
  service. Only what the author wrote counts: quoted replies and signatures are stripped first.

Time: a fact is valid from its source event's **event time** (``occurred_at``), never its load
time. Per (entity, attribute) the facts form one chain ordered by ``valid_from``: each fact's
``valid_to`` is the next fact's ``valid_from`` and ``superseded_by`` its id; the last one is
current. A late-arriving older fact is slotted into the chain as history (closed interval); a
restatement of the value already valid is not a new fact. Rows are never deleted.
Company-level attributes (retainer, budget, data warehouse, e-mail domain, priority, board
meeting) attach to the speaker's organization when the marts know it.
"""

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa

from aios_assets.entities.resolution.nicknames import nickname_map
from aios_assets.memory.base import (
    DIM_CONTACTS,
    DIM_ORGANIZATIONS,
    ENTITY_MEMBERSHIP,
    EVENT_LOG,
    FCT_INTERACTIONS,
    GROUP,
    Operator,
    build_event_people,
    detect_operator,
    get_state,
    set_state,
    text_source,
)
from aios_assets.shared.automation import FOLLOW_INPUTS
from aios_assets.shared.db import has_relation
from aios_assets.shared.text import EMAIL_PATTERN as _EMAIL
from aios_assets.shared.text import (
    email_of,
    markdown_table,
    name_of,
    split_signature,
    stable_id,
    strip_quoted,
)
from resources.warehouse import DuckDBWarehouse

ASSET = "entity_facts"
CONTACT_ATTRIBUTES = ("full_name", "email", "phone", "title", "company", "city", "country")
ORG_ATTRIBUTES = frozenset({"retainer", "budget", "data_warehouse", "email_domain", "priority",
                            "board_meeting"})
TEXT_KINDS_EXCLUDED = ("contact", "invoice", "payment", "content_metrics", "post", "meeting")

DDL = """
CREATE TABLE IF NOT EXISTS entity_facts (
    fact_id VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    attribute VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to TIMESTAMPTZ,
    source_event_id VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    extracted_by VARCHAR NOT NULL,
    confidence DOUBLE NOT NULL,
    superseded_by VARCHAR,
    source VARCHAR NOT NULL,
    entity_kind VARCHAR NOT NULL,
    subject_key VARCHAR,
    evidence VARCHAR,
    recorded_at TIMESTAMPTZ NOT NULL,
    seq BIGINT NOT NULL
);
CREATE OR REPLACE VIEW entity_facts_current AS
SELECT * FROM entity_facts WHERE valid_to IS NULL;
"""

# --- values -------------------------------------------------------------------------------

_LEGAL = re.compile(r"\b(ltd|limited|inc|incorporated|llc|llp|gmbh|plc|group|co|corp|"
                    r"corporation|company|sa|sas|sarl|bv|b v|ag|pty)\b")


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")
    return " ".join(s.lower().split())


def _strip_accents(s: str) -> str:
    """DuckDB's ``strip_accents``: canonical decomposition, combining marks dropped (no
    compatibility folding: DuckDB has no NFKD, so "ß" or "ﬁ" stay as they are)."""
    return "".join(c for c in unicodedata.normalize("NFD", s)
                   if not unicodedata.category(c).startswith("M"))


def company_key(name: str) -> str:
    """``"ACME, Ltd."`` and ``"Acme"`` -> ``"acme"``: the dbt ``company_key`` macro step by
    step (dim_organizations.company_keys comes from it), "" where the macro gives NULL."""
    s = re.sub(r"[^a-z0-9 ]", " ", _strip_accents(name).lower())
    return " ".join(_LEGAL.sub(" ", s).split())


def normalize_value(attribute: str, value: str) -> str:
    """The comparison form of a value: two statements of the same fact compare equal."""
    v = value.strip()
    if attribute == "email":
        return v.lower()
    if attribute == "phone":
        digits = re.sub(r"\D", "", v)
        return digits[-9:] if len(digits) >= 9 else digits
    if attribute == "company":
        return company_key(v)
    if attribute in ("email_domain",):
        return v.lower().lstrip("@")
    return re.sub(r"[^\w£$€ ]", "", _fold(v)).strip()


# --- dates and money ----------------------------------------------------------------------

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_WD = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_MO = ("January|February|March|April|May|June|July|August|September|October|November|December|"
       "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
DATE_PHRASE = (
    rf"(?:(?:{_WD}),?\s+)?\(?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MO})\.?(?:,?\s+\d{{4}})?"
    rf"|(?:{_MO})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\)?"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}|(?:next\s+)?(?:{_WD})|tomorrow|today|end of (?:the )?(?:week|month)"
)
MONEY = r"(?:[$€£¥]|US\$|CA\$|A\$|(?:USD|EUR|GBP|CAD|AUD|CHF)\s?)\d[\d,]*(?:\.\d+)?\s?[kKmM]?\b"
_UNIT = r"(?:\s*/\s*|\s+(?:per|a|an|each)\s+)(?P<unit>month|mo|week|wk|day|year|yr|hour|hr)\b"
_UNITS = {"mo": "month", "wk": "week", "yr": "year", "hr": "hour"}


def resolve_date(phrase: str, ref: datetime) -> tuple[date | None, str | None]:
    """A date phrase ("Monday 13 July", "Friday (12 June)", "2026-07-13", "next Tuesday")
    read relative to ``ref`` (the event time) -> (date, weekday name if one was given)."""
    p = phrase.strip().strip("()").lower()
    weekday = next((w for w in _WEEKDAYS if w in p), None)
    m = re.search(r"(\d{4})-(\d{2})-(\d{2})", p)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3])), weekday
        except ValueError:
            return None, weekday
    m = (re.search(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?(?:,?\s+(\d{4}))?", p)
         or re.search(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?", p))
    if m:
        a, b, year = m.group(1), m.group(2), m.group(3)
        day_s, mon_s = (a, b) if a.isdigit() else (b, a)
        month = next((i + 1 for i, name in enumerate(_MONTHS) if name.startswith(mon_s[:3])),
                     None) if len(mon_s) >= 3 else None
        if month and day_s.isdigit():
            y = int(year) if year else ref.year
            try:
                d = date(y, month, int(day_s))
            except ValueError:
                return None, weekday
            if not year and d < ref.date() - timedelta(days=183):
                d = date(y + 1, month, int(day_s))
            return d, weekday
    base = ref.date()
    if "tomorrow" in p:
        return base + timedelta(days=1), None
    if "today" in p:
        return base, None
    if weekday:
        ahead = (_WEEKDAYS.index(weekday) - base.weekday()) % 7 or 7
        if p.startswith("next"):
            ahead += 7 if ahead < 7 else 0
        return base + timedelta(days=ahead), weekday
    return None, None


def format_money(amount: str, unit: str | None) -> str:
    amount = " ".join(amount.split())
    if not unit:
        return amount
    return f"{amount} per {_UNITS.get(unit.lower(), unit.lower())}"


# --- extraction ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Extracted:
    """One fact a rule found in a text, before it is tied to an entity.

    ``subject``: who it is about — ``author`` (the writer), ``recipient`` (whom the operator
    wrote to), ``counterparty`` (whom the operator was talking to), ``operator`` or
    ``mention:<first name>`` (someone named in a note)."""

    attribute: str
    value: str
    rule: str
    subject: str
    evidence: str
    confidence: float = 0.8


_PHONE = r"\+?\d[\d ().-]{6,}\d"
_CAP_WORDS = r"[A-Z][\w&'’.-]*(?:\s+(?:of|and|for|&|the|[A-Z][\w&'’.-]*))*"
_CHANNELS = ("call", "phone", "email", "e-mail", "video", "zoom", "teams", "slack", "chat",
             "whatsapp", "text", "meet")
_TIMES = ("morning", "afternoon", "evening", "monday", "tuesday", "wednesday", "thursday",
          "friday", "weekend", "weekday")


def _pref_attribute(value: str) -> str:
    v = value.lower()
    if any(c in v for c in _CHANNELS):
        return "preferred_channel"
    if any(t in v for t in _TIMES):
        return "preferred_time"
    return "preference"


def _clean(value: str) -> str:
    return " ".join(value.strip().strip(" ,;:—–-").split()).rstrip(".")


@dataclass(frozen=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    build: Any  # (match, sentence, ref, is_operator) -> list[Extracted]


def _r(name: str, pattern: str, build: Any, flags: int = 0) -> _Rule:
    return _Rule(name, re.compile(pattern, flags), build)


def _role(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    title, company = _clean(m["title"]), _clean(m["company"])
    if len(title.split()) > 6 or len(company.split()) > 6:
        return []
    return [Extracted("title", title, "role", "author", s, 0.85),
            Extracted("company", company, "role", "author", s, 0.85)]


def _joined(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    out = [Extracted("company", _clean(m["company"]), "joined", "author", s, 0.85)]
    if m["title"]:
        out.append(Extracted("title", _clean(m["title"]), "joined", "author", s, 0.85))
    return out


def _simple(attribute: str, rule: str, subject: str = "author", conf: float = 0.85) -> Any:
    def build(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
        value = _clean(m["v"])
        return [Extracted(attribute, value, rule, subject, s, conf)] if value else []
    return build


def _pref(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    value = _clean(m["v"])
    if not value or len(value) > 100:
        return []
    return [Extracted(_pref_attribute(value), value, "preference", "author", s, 0.75)]


def _agreed_money(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    if op:  # the operator proposing a price is not the client agreeing to it
        return []
    what = _clean(m["what"]).lower()
    value = format_money(m["amount"], m["unit"])
    label = _clean(m["label"] or "")
    attr = "retainer" if "retainer" in what else "budget" if "budget" in what else "agreed_price"
    return [Extracted(attr, f"{value} ({label} {what})".replace("( ", "(") if label else value,
                      "agreed_amount", "author", s, 0.85)]


def _budget(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    return [Extracted("budget", format_money(m["amount"], m["unit"]), "budget", "author", s,
                      0.8)]


def _rate(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    what = _clean(m["what"]).lower().replace(" ", "_")
    value = format_money(m["amount"], "day" if "day" in what else None)
    start = re.search(rf"\bfrom\s+({DATE_PHRASE})", s)
    if start:
        d, _ = resolve_date(start.group(1), ref)
        if d:
            value += f" from {d.isoformat()}"
    return [Extracted(what, value, "rate", "author", s, 0.85)]


def _limit(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    what = re.sub(r"[^a-z0-9]+", "_", _clean(m["what"]).lower()).strip("_")
    return [Extracted(f"max_{what}", m["v"], "limit", "author", s, 0.8)]


def _priority(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    if op:
        return []
    return [Extracted("priority", _clean(m["v"]), "priority", "author", s, 0.8)]


def _board(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    if op:
        return []
    d, _ = resolve_date(m["when"], ref)
    return [Extracted("board_meeting", d.isoformat(), "board_meeting", "author", s, 0.8)] if d \
        else []


_VAGUE = frozenset({"that", "it", "this", "them", "those", "these", "everything", "something",
                    "that done", "it done", "this done", "them done"})


def _commitment(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    if not op or _clean(m["what"]).lower() in _VAGUE:
        return []
    d, weekday = resolve_date(m["when"], ref)
    if not d:
        return []
    when = f"{weekday.capitalize()} {d.isoformat()}" if weekday else d.isoformat()
    return [Extracted("commitment", f"{_clean(m['what'])} by {when}", "commitment",
                      "counterparty", s, 0.75)]


def _promised(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    d, weekday = resolve_date(m["when"], ref)
    if not d:
        return []
    when = f"{weekday.capitalize()} {d.isoformat()}" if weekday else d.isoformat()
    return [Extracted("commitment", f"{_clean(m['what'])} by {when}", "promised",
                      f"mention:{m['who']}", s, 0.7)]


def _service(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    if not op:
        return []
    return [Extracted("service", _clean(m["v"]), "service_request", "recipient", s, 0.7)]


def _warehouse(m: re.Match[str], s: str, ref: datetime, op: bool) -> list[Extracted]:
    if op:
        return []
    return [Extracted("data_warehouse", _clean(m["v"]), "data_warehouse", "author", s, 0.85)]


_I = re.IGNORECASE
RULES: list[_Rule] = [
    _r("role", rf"\bI(?:'m|’m| am)\s+(?:now\s+)?(?:the\s+|a\s+|an\s+)?(?P<title>{_CAP_WORDS})"
               rf"\s+(?:at|with|of)\s+(?P<company>{_CAP_WORDS})", _role),
    _r("joined", rf"\bI(?:'ve|’ve| have)\s+(?:just\s+)?joined\s+(?P<company>{_CAP_WORDS})"
                 rf"(?:\s+as\s+(?:the\s+|a\s+|an\s+)?(?P<title>{_CAP_WORDS}))?", _joined),
    _r("promoted", rf"\bI(?:'ve|’ve| have)\s+been\s+promoted\s+to\s+(?P<v>{_CAP_WORDS})",
       _simple("title", "promoted")),
    _r("new_email", rf"\b(?:my|our)\s+new\s+(?:e-?mail(?:\s+address)?|address)\s+is\s+"
                    rf"(?P<v>{_EMAIL})", _simple("email", "new_email"), _I),
    _r("reach_email", rf"\b(?:please\s+)?(?:e-?mail\s+me\s+at|reach\s+me\s+at|write\s+to\s+me\s+"
                      rf"at|use)\s+(?P<v>{_EMAIL})", _simple("email", "new_email", conf=0.7), _I),
    _r("new_phone", rf"\b(?:my|our)\s+new\s+(?:phone|mobile|cell)?\s*(?:number)?\s*is\s+"
                    rf"(?P<v>{_PHONE})", _simple("phone", "new_phone"), _I),
    _r("call_me", rf"\b(?:call|reach|text)\s+me\s+(?:on|at)\s+(?P<v>{_PHONE})",
       _simple("phone", "new_phone", conf=0.7), _I),
    _r("surname", r"\b[Cc]hanged\s+my\s+(?:sur|last\s+)?name\s+to\s+(?P<v>[A-Z][\w'’-]+"
                  r"(?:[ -][A-Z][\w'’-]+)?)", _simple("last_name", "surname")),
    _r("moved", r"\b(?:I|[Ww]e)(?:'ve|’ve| have|'re|’re| are)?\s+(?:just\s+|now\s+)?(?:moved|"
                r"relocated|moving|relocating)\s+to\s+(?P<v>[A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+)?)",
       _simple("city", "moved", conf=0.75)),
    _r("email_domain", r"\bnew\s+(?:e-?mail\s+)?domain,?\s+(?:is\s+)?@?(?P<v>[\w-]+(?:\.[\w-]+)+)",
       _simple("email_domain", "email_domain"), _I),
    _r("prefer", r"\b(?:I|we)\s+(?:much\s+|strongly\s+|generally\s+|really\s+)?prefer\s+"
                 r"(?P<v>[^.!?\n;]{3,100})", _pref, _I),
    _r("dont_contact", r"\b(?:please\s+)?(?:don't|do\s+not|never)\s+(?P<v>(?:call|phone|email|"
                       r"e-mail|message|text)\s+me[^.!?\n;]{0,60})", _pref, _I),
    _r("agreed_amount", rf"\b(?:go\s+ahead\s+with|agree(?:d)?\s+to|accept(?:ed)?|sign(?:ed)?\s+"
                        rf"off\s+on|approved?|confirm(?:ed)?)\s+(?:the\s+|a\s+|our\s+)?"
                        rf"(?P<label>[\w ]{{0,20}}?)\s*(?P<what>retainer|budget|contract|"
                        rf"proposal|quote|engagement|deal)\s+(?:at|of|for)\s+"
                        rf"(?P<amount>{MONEY})(?:{_UNIT})?", _agreed_money, _I),
    _r("budget", rf"\b(?:our|the|my)\s+budget\s+(?:is|of|will\s+be|would\s+be|is\s+around|is\s+"
                 rf"about|is\s+capped\s+at|tops\s+out\s+at)\s+(?:around\s+|about\s+|roughly\s+)?"
                 rf"(?P<amount>{MONEY})(?:{_UNIT})?", _budget, _I),
    _r("rate", rf"\b(?P<what>day\s+rate|hourly\s+rate|rate)\s+(?:of|is|at|will\s+be)\s+"
               rf"(?P<amount>{MONEY})", _rate, _I),
    _r("limit", r"\bat\s+most\s+(?P<v>\d+)\s+(?P<what>[a-z][a-z ]{1,30}?)(?=\s+at\s+a\s+time|"
                r"\s+per\b|[.,;]|$)", _limit, _I),
    _r("data_warehouse", r"\b(?:[Oo]ur|[Tt]he)\s+(?:data\s+)?warehouse\s+(?:is|runs|lives|sits)\s+"
                         r"(?:on|in)\s+(?P<v>[A-Z][\w.]*(?:\s+[A-Z][\w.]*)?)", _warehouse),
    _r("need", r"\bwe(?:'re|’re| are)\s+looking\s+for\s+(?:help|support|someone)\s+(?:with|on|"
               r"for|to)\s+(?P<v>[^.?!\n]{3,140})", _simple("need", "need", conf=0.8), _I),
    _r("priority", r"\b(?:we\s+should|let's|let’s|we'll|we\s+will|we\s+want\s+to|we\s+need\s+to)"
                   r"\s+prioriti[sz]e\s+(?P<v>[^.?!\n]{3,140})", _priority, _I),
    _r("board_meeting", rf"\bboard\s+(?:meets|meeting\s+is|is\s+meeting)\s+on\s+"
                        rf"(?P<when>{DATE_PHRASE})", _board, _I),
    _r("commitment", rf"\bI(?:'ll|’ll| will)\s+(?:have|send|deliver|get|share)\s+"
                     rf"(?P<what>[^.?!\n]{{3,100}}?)\s+(?:ready\s+|over\s+|across\s+|to\s+you\s+|"
                     rf"done\s+)?by\s+(?P<when>{DATE_PHRASE})", _commitment),
    _r("promised", rf"\b[Pp]romised\s+(?P<who>[A-Z][\w'’-]+)\s+(?P<what>[^.?!\n]{{3,100}}?)\s+by\s+"
                   rf"(?P<when>{DATE_PHRASE})", _promised),
    _r("service_request", r"\b(?:could|can|would)\s+you\s+help\s+(?:me\s+)?(?:again\s+|out\s+)?"
                          r"with\s+(?P<v>[^.?!\n]{3,80}?)(?=\s+for\s+one\s+of\s+my\s+clients|"
                          r"\s+this\s+month|\s+next\s+(?:week|month)|\?|$)", _service, _I),
]
# What a text must contain for any rule to fire (checked in DuckDB before Python runs).
PREFILTER = (
    r"(?i)(i'm|i’m|i am|i've|i’ve|i have|new (e-?mail|address|phone|mobile|number|domain)|"
    r"changed my|moved|moving|relocat|prefer|don't|do not|budget|retainer|contract|proposal|quote|"
    r"engagement|deal|rate|at most|warehouse|looking for|prioriti|board|i'll|i’ll|i will|promised|"
    r"help|reach me|email me|call me|use [^ ]+@)"
)
_GATE = re.compile(PREFILTER)
_SENTENCES = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"'£$€(])|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCES.split(text or "") if s and s.strip()]


def extract_from_text(text: str, occurred_at: datetime, *, by_operator: bool = False
                      ) -> list[Extracted]:
    """Every fact the rules find in what the author wrote (quotes and signature removed)."""
    body, _ = split_signature(strip_quoted(text))
    out: list[Extracted] = []
    seen: set[tuple[str, str, str]] = set()
    if not _GATE.search(body):
        return out
    for sentence in sentences(body):
        if not _GATE.search(sentence):
            continue
        for rule in RULES:
            for m in rule.pattern.finditer(sentence):
                for fact in rule.build(m, sentence, occurred_at, by_operator):
                    key = (fact.attribute, normalize_value(fact.attribute, fact.value),
                           fact.subject)
                    if fact.value and key not in seen:
                        seen.add(key)
                        out.append(replace(fact, rule=f"rule:{fact.rule}"))
    return out


_SIG_SPLIT = re.compile(r"\s*(?:\||,|·|•| - | – | — )\s*")


def extract_from_signature(text: str) -> list[Extracted]:
    """Title, company and phone from the author's own signature block (``-- `` delimited):
    ``Name`` / ``Title | Company`` (or ``Title, Company``) / ``+1 312 555 0187``."""
    _, sig = split_signature(strip_quoted(text))
    if not sig:
        return []
    lines = [ln.strip() for ln in sig.splitlines() if ln.strip()]
    out: list[Extracted] = []
    for i, line in enumerate(lines[:5]):
        phone = re.search(_PHONE, line)
        if phone and len(re.sub(r"\D", "", phone.group(0))) >= 7 and "@" not in phone.group(0):
            out.append(Extracted("phone", phone.group(0).strip(), "signature", "author", line,
                                 0.75))
            continue
        if i == 1 and not re.search(r"[@:/\d]", line):
            parts = [p for p in _SIG_SPLIT.split(line) if p]
            if len(parts) == 2 and all(1 <= len(p.split()) <= 6 for p in parts):
                out.append(Extracted("title", parts[0], "signature", "author", line, 0.75))
                out.append(Extracted("company", parts[1], "signature", "author", line, 0.75))
    seen: set[str] = set()
    return [f for f in out if not (f.attribute in seen or seen.add(f.attribute))]


_NICKNAMES = nickname_map()

# --- tying facts to entities --------------------------------------------------------------


@dataclass
class Resolver:
    """Looks up canonical entities from the marts (empty maps when there are none)."""

    by_email: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    org_of: dict[str, str] = field(default_factory=dict)
    org_keys: dict[str, str] = field(default_factory=dict)  # company key -> organization_id
    by_first_org: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    previous: dict[str, str] = field(default_factory=dict)  # old entity id -> current one
    info: dict[str, tuple[str, int]] = field(default_factory=dict)  # entity -> (name, records)
    operator: Operator = field(default_factory=Operator)

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, operator: Operator) -> "Resolver":
        r = cls(operator=operator)
        if has_relation(con, "entity_membership"):
            r.by_email = dict(con.execute(
                "SELECT lower(email), arg_min(entity_id, entity_id) FROM entity_membership "
                "WHERE email IS NOT NULL GROUP BY 1").fetchall())
            r.previous = dict(con.execute(
                "SELECT previous_entity_id, mode(entity_id) FROM entity_membership "
                "WHERE previous_entity_id IS NOT NULL AND previous_entity_id <> entity_id "
                "GROUP BY 1").fetchall())
        if has_relation(con, "dim_contacts"):
            r.by_name = dict(con.execute(
                "SELECT lower(full_name), arg_max(entity_id, (record_count, entity_id)) "
                "FROM dim_contacts WHERE full_name IS NOT NULL GROUP BY 1").fetchall())
            r.org_of = dict(con.execute(
                "SELECT entity_id, organization_id FROM dim_contacts "
                "WHERE organization_id IS NOT NULL").fetchall())
            for entity_id, first, full, org, records in con.execute(
                    "SELECT entity_id, first_name, full_name, organization_id, record_count "
                    "FROM dim_contacts").fetchall():
                r.info[entity_id] = (full or "", int(records or 0))
                for given in {(first or "").lower(), (full or "").split(" ")[0].lower()}:
                    if given:
                        key = (_NICKNAMES.get(given, given), org or "")
                        r.by_first_org.setdefault(key, set()).add(entity_id)
        if has_relation(con, "dim_organizations"):
            for org_id, name, keys in con.execute(
                    "SELECT organization_id, name, company_keys FROM dim_organizations"
            ).fetchall():
                for key in [company_key(name or ""), *(keys or [])]:
                    if key and len(key) >= 3:
                        r.org_keys.setdefault(key, org_id)
        return r

    def author(self, actor: str | None, payload: dict[str, Any] | None,
               people: Sequence[tuple[str, str | None]]) -> tuple[str | None, str | None]:
        """(entity_id, subject_key) of whoever wrote an event."""
        if self.operator.is_actor(actor) and self.operator.entity_id:
            return self.operator.entity_id, "operator"
        addr = email_of(actor) or email_of((payload or {}).get("speaker_email")) or email_of(
            (payload or {}).get("from"))
        if addr and addr in self.by_email:
            return self.by_email[addr], f"email:{addr}"
        for role, entity_id in people:
            if role in ("from", "speaker", "organizer", "actor", "contact") and entity_id:
                return entity_id, f"{role}:{entity_id}"
        name = (name_of(actor) or "").lower()
        if name and name in self.by_name:
            return self.by_name[name], f"name:{name}"
        return None, None

    def mention(self, first: str, text: str) -> tuple[str | None, str | None]:
        """Someone named by first name in a note, pinned down by an organization named there."""
        folded = f" {company_key(text)} "
        orgs = {org for key, org in self.org_keys.items() if f" {key} " in folded}
        found: set[str] = set()
        given = first.lower()
        for org in orgs:
            found |= self.by_first_org.get((_NICKNAMES.get(given, given), org), set())
        if len(found) > 1:  # the same person split in two by resolution (a typo, a nickname)?
            names = {company_key(self.info.get(e, ("", 0))[0]) for e in found}
            ranked = sorted(found, key=lambda e: (-self.info.get(e, ("", 0))[1], e))
            top, runner_up = ranked[0], ranked[1]
            alike = all(SequenceMatcher(None, a, b).ratio() >= 0.85 for a in names
                        for b in names)
            if alike and self.info.get(top, ("", 0))[1] > self.info.get(runner_up, ("", 0))[1]:
                found = {top}
        if len(found) == 1:
            entity_id = next(iter(found))
            return entity_id, f"mention:{first.lower()}@{self.org_of.get(entity_id, '')}"
        return None, None


@dataclass
class Candidate:
    entity_id: str
    entity_kind: str
    attribute: str
    value: str
    valid_from: datetime
    source_event_id: str
    source: str
    source_id: str
    extracted_by: str
    confidence: float
    subject_key: str | None
    evidence: str | None

    @property
    def fact_id(self) -> str:
        return "fact_" + stable_id(self.attribute, self.source_event_id, self.subject_key,
                                   normalize_value(self.attribute, self.value))


def _scoped(resolver: Resolver, entity_id: str, attribute: str) -> tuple[str, str]:
    if attribute in ORG_ATTRIBUTES and entity_id in resolver.org_of:
        return resolver.org_of[entity_id], "organization"
    return entity_id, "organization" if entity_id.startswith("org_") else "person"


def contact_candidates(con: duckdb.DuckDBPyConnection, watermark: str | None
                       ) -> list[Candidate]:
    """Facts stated by contact records (one per non-empty field)."""
    if not has_relation(con, "entity_membership"):
        return []
    where = "AND e.ingested_at > ?::TIMESTAMPTZ" if watermark else ""
    fields = ", ".join(f"nullif(trim(e.payload ->> '{a}'), '') AS {a}"
                       for a in CONTACT_ATTRIBUTES if a != "full_name")
    rows = con.execute(
        f"""SELECT e.event_id, e.source, e.source_id, e.occurred_at, m.entity_id,
                   coalesce(m.score, 1.0) AS score,
                   coalesce(nullif(trim(e.payload ->> 'full_name'), ''),
                            nullif(trim(concat_ws(' ', nullif(trim(e.payload ->> 'first_name'),
                                    ''), nullif(trim(e.payload ->> 'last_name'), ''))), ''))
                       AS full_name,
                   {fields}
        FROM events_current e
        JOIN entity_membership m ON m.source = e.source AND m.source_id = e.source_id
        WHERE e.kind = 'contact' {where}""",
        [watermark] if watermark else [],
    ).fetchall()
    names = [d[0] for d in con.description]
    out = []
    for row in rows:
        r = dict(zip(names, row, strict=True))
        for attribute in CONTACT_ATTRIBUTES:
            value = r.get(attribute)
            if not value:
                continue
            out.append(Candidate(
                r["entity_id"], "person", attribute, str(value).strip(), r["occurred_at"],
                r["event_id"], r["source"], r["source_id"], "contact_record",
                round(0.9 * float(r["score"]), 3), f"record:{r['source']}:{r['source_id']}",
                None))
    return out


def text_candidates(con: duckdb.DuckDBPyConnection, resolver: Resolver,
                    watermark: str | None) -> list[Candidate]:
    """Facts the rules and signatures find in messages and notes, tied to entities."""
    where = "AND ingested_at > ?::TIMESTAMPTZ" if watermark else ""
    excluded = ", ".join(f"'{k}'" for k in TEXT_KINDS_EXCLUDED)
    params: list[Any] = [PREFILTER] + ([watermark] if watermark else [])
    rows = con.execute(
        f"""SELECT event_id, source, source_id, kind, occurred_at, actor, thread, text, payload
        FROM {text_source(con)}
        WHERE kind NOT IN ({excluded}) AND text IS NOT NULL AND text <> ''
          AND (regexp_matches(text, ?) OR (kind = 'email' AND contains(text, chr(10) || '--')))
          {where}""",
        params,
    ).fetchall()
    if not rows:
        return []
    con.register("_ef_ids", pa.table({"event_id": pa.array([r[0] for r in rows], pa.string())}))
    people: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for event_id, role, entity_id in con.execute(
            "SELECT p.event_id, p.role, p.entity_id FROM _event_people p "
            "JOIN _ef_ids USING (event_id)").fetchall():
        people[event_id].append((role, entity_id))
    con.unregister("_ef_ids")
    counterparts = _counterparts(con, resolver, [r for r in rows if r[6] is not None])
    out: list[Candidate] = []
    for event_id, source, source_id, kind, occurred_at, actor, _thread, text, payload in rows:
        pl = _payload(payload)
        author, author_key = resolver.author(actor, pl, people[event_id])
        is_op = resolver.operator.is_actor(actor, author)
        found = extract_from_text(text, occurred_at, by_operator=is_op)
        if kind == "email" and not is_op:
            found += [replace(f, rule="signature") for f in extract_from_signature(text)]
        for f in found:
            entity_id, key = None, None
            if f.subject == "author":
                entity_id, key = author, author_key
            elif f.subject == "operator":
                entity_id, key = resolver.operator.entity_id, "operator"
            elif f.subject == "recipient":
                to = [e for role, e in people[event_id] if role in ("to", "attendee") and e
                      and e not in resolver.operator.entity_ids]
                if len(set(to)) == 1:
                    entity_id, key = to[0], f"recipient:{to[0]}"
            elif f.subject == "counterparty":
                if kind in ("chat_message", "transcript_turn"):
                    entity_id = counterparts.get(event_id)
                else:
                    to = [e for role, e in people[event_id] if role == "to" and e
                          and e not in resolver.operator.entity_ids]
                    entity_id = to[0] if len(set(to)) == 1 else None
                key = f"counterparty:{entity_id}" if entity_id else None
            elif f.subject.startswith("mention:"):
                entity_id, key = resolver.mention(f.subject.split(":", 1)[1], text)
            if not entity_id:
                continue
            scoped, kind_of = _scoped(resolver, entity_id, f.attribute)
            if scoped != entity_id:
                key = f"org-of:{key}"
            out.append(Candidate(scoped, kind_of, f.attribute, f.value, occurred_at, event_id,
                                 source, source_id, f.rule, f.confidence, key, f.evidence[:500]))
    return out


def _payload(payload: Any) -> dict[str, Any] | None:
    if payload is None or isinstance(payload, dict):
        return payload
    try:
        parsed = json.loads(payload)
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _counterparts(con: duckdb.DuckDBPyConnection, resolver: Resolver,
                  rows: Sequence[tuple[Any, ...]]) -> dict[str, str]:
    """For the operator's chat / transcript turns: the last other speaker in the thread."""
    wanted = {r[0]: r[6] for r in rows if r[3] in ("chat_message", "transcript_turn")}
    if not wanted:
        return {}
    con.register("_ef_threads", pa.table({"thread": pa.array(sorted(set(wanted.values())),
                                                             pa.string())}))
    turns = con.execute(
        """SELECT e.event_id, e.thread, e.occurred_at, e.source_id, e.actor, e.payload,
                  p.entity_id
        FROM events_current e JOIN _ef_threads t USING (thread)
        LEFT JOIN _event_people p ON p.event_id = e.event_id AND p.role IN ('speaker', 'actor')
        WHERE e.kind IN ('chat_message', 'transcript_turn')
        ORDER BY e.thread, e.occurred_at, e.source_id"""
    ).fetchall()
    con.unregister("_ef_threads")
    out: dict[str, str] = {}
    last_other: dict[str, str] = {}
    for event_id, thread, _, _, actor, payload, entity_id in turns:
        if event_id in wanted and thread in last_other:
            out[event_id] = last_other[thread]
        if not resolver.operator.is_actor(actor, entity_id):
            who, _ = resolver.author(actor, _payload(payload),
                                     [("speaker", entity_id)] if entity_id else [])
            if who:
                last_other[thread] = who
    return out


# --- merging into the chains --------------------------------------------------------------


@dataclass
class FactStats:
    full: bool
    candidates: int = 0
    inserted: int = 0
    corroborated: int = 0
    duplicates: int = 0
    historical: int = 0  # inserted before a newer fact (late-arriving older fact)
    rekeyed: int = 0
    total: int = 0
    current: int = 0
    by_extractor: dict[str, int] = field(default_factory=dict)
    watermark: str | None = None


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def merge_candidates(existing: dict[tuple[str, str], list[dict[str, Any]]],
                     candidates: Iterable[Candidate]) -> tuple[list[Candidate], dict[str, int]]:
    """Which candidates become new facts. ``existing``: the facts already stored per
    (entity, attribute) (``fact_id``, ``value``, ``valid_from``, ``source_event_id``).

    A candidate is skipped when the same fact (id) is already there, or when the fact valid at
    its time (the latest with ``valid_from`` <= its own) already says the same value; otherwise
    it is new — ``historical`` when a newer fact already exists after it."""
    counts = {"duplicates": 0, "corroborated": 0, "historical": 0}
    by_group: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_group[(c.entity_id, c.attribute)].append(c)
    accepted: list[Candidate] = []
    for group, cands in by_group.items():
        chain = [dict(f) for f in existing.get(group, [])]
        ids = {f["fact_id"] for f in chain} | {f["source_event_id"] + "|" + f["norm"]
                                               for f in chain}
        for c in sorted(cands, key=lambda c: (c.valid_from, c.source_id, c.fact_id)):
            norm = normalize_value(c.attribute, c.value)
            if c.fact_id in ids or f"{c.source_event_id}|{norm}" in ids:
                counts["duplicates"] += 1
                continue
            before = [f for f in chain if f["valid_from"] <= c.valid_from]
            prev = max(before, key=lambda f: (f["valid_from"], f["seq"])) if before else None
            if prev is not None and prev["norm"] == norm:
                counts["corroborated"] += 1
                continue
            if any(f["valid_from"] > c.valid_from for f in chain):
                counts["historical"] += 1
            accepted.append(c)
            ids |= {c.fact_id, f"{c.source_event_id}|{norm}"}
            chain.append({"fact_id": c.fact_id, "norm": norm, "valid_from": c.valid_from,
                          "source_event_id": c.source_event_id, "seq": float("inf")})
    return accepted, counts


_FACT_SCHEMA = pa.schema([
    ("fact_id", pa.string()), ("entity_id", pa.string()), ("attribute", pa.string()),
    ("value", pa.string()), ("valid_from", pa.timestamp("us", tz="UTC")),
    ("source_event_id", pa.string()), ("source_id", pa.string()), ("extracted_by", pa.string()),
    ("confidence", pa.float64()), ("source", pa.string()), ("entity_kind", pa.string()),
    ("subject_key", pa.string()), ("evidence", pa.string()), ("seq", pa.int64()),
])


def _relink(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute ``valid_to`` / ``superseded_by`` of the groups in ``_ef_touched``."""
    con.execute(
        """UPDATE entity_facts SET valid_to = n.next_from, superseded_by = n.next_id
        FROM (
            SELECT f.fact_id,
                   lead(f.valid_from) OVER w AS next_from, lead(f.fact_id) OVER w AS next_id
            FROM entity_facts f JOIN _ef_touched t USING (entity_id, attribute)
            WINDOW w AS (PARTITION BY f.entity_id, f.attribute ORDER BY f.valid_from, f.seq)
        ) n
        WHERE entity_facts.fact_id = n.fact_id
          AND (entity_facts.valid_to IS DISTINCT FROM n.next_from
               OR entity_facts.superseded_by IS DISTINCT FROM n.next_id)"""
    )


def build_entity_facts(con: duckdb.DuckDBPyConnection, *, full_refresh: bool = False,
                       operator_email: str | None = None) -> FactStats:
    """Extract facts from event versions ingested since the last run and slot them into the
    per-(entity, attribute) chains. ``full_refresh`` re-reads every event (nothing already
    stored is duplicated or removed)."""
    ensure_tables(con)
    watermark = None if full_refresh else get_state(con, ASSET, "watermark")
    stats = FactStats(full=watermark is None)
    new_watermark = con.execute("SELECT max(ingested_at)::VARCHAR FROM event_log").fetchone()[0]
    build_event_people(con)
    resolver = Resolver.load(con, detect_operator(con, operator_email))

    con.execute("CREATE OR REPLACE TEMP TABLE _ef_touched (entity_id VARCHAR, attribute VARCHAR)")
    con.execute("BEGIN")
    try:
        stats.rekeyed = _rekey(con, resolver)
        candidates = contact_candidates(con, watermark) + text_candidates(con, resolver,
                                                                          watermark)
        stats.candidates = len(candidates)
        groups = sorted({(c.entity_id, c.attribute) for c in candidates})
        con.register("_ef_groups_arrow", pa.table({
            "entity_id": pa.array([g[0] for g in groups], pa.string()),
            "attribute": pa.array([g[1] for g in groups], pa.string())}))
        existing: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for fact_id, entity_id, attribute, value, valid_from, source_event_id, seq in con.execute(
                """SELECT f.fact_id, f.entity_id, f.attribute, f.value, f.valid_from,
                          f.source_event_id, f.seq
                FROM entity_facts f JOIN _ef_groups_arrow g USING (entity_id, attribute)"""
        ).fetchall():
            existing[(entity_id, attribute)].append({
                "fact_id": fact_id, "norm": normalize_value(attribute, value),
                "valid_from": valid_from, "source_event_id": source_event_id, "seq": seq})
        con.unregister("_ef_groups_arrow")
        accepted, counts = merge_candidates(existing, candidates)
        stats.duplicates, stats.corroborated = counts["duplicates"], counts["corroborated"]
        stats.historical = counts["historical"]
        stats.inserted = len(accepted)
        if accepted:
            base = con.execute("SELECT coalesce(max(seq), 0) FROM entity_facts").fetchone()[0]
            accepted.sort(key=lambda c: (c.valid_from, c.source_id, c.fact_id))
            table = pa.Table.from_pylist([{
                "fact_id": c.fact_id, "entity_id": c.entity_id, "attribute": c.attribute,
                "value": c.value, "valid_from": c.valid_from,
                "source_event_id": c.source_event_id, "source_id": c.source_id,
                "extracted_by": c.extracted_by, "confidence": c.confidence, "source": c.source,
                "entity_kind": c.entity_kind, "subject_key": c.subject_key,
                "evidence": c.evidence, "seq": base + i + 1} for i, c in enumerate(accepted)],
                schema=_FACT_SCHEMA)
            con.register("_ef_new", table)
            con.execute(
                """INSERT INTO entity_facts
                SELECT fact_id, entity_id, attribute, value, valid_from, NULL, source_event_id,
                       source_id, extracted_by, confidence, NULL, source, entity_kind,
                       subject_key, evidence, now(), seq
                FROM _ef_new""")
            con.execute("INSERT INTO _ef_touched SELECT DISTINCT entity_id, attribute FROM _ef_new")
            con.unregister("_ef_new")
        _relink(con)
        set_state(con, ASSET, "watermark", new_watermark)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    stats.watermark = new_watermark
    stats.total, stats.current = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE valid_to IS NULL) FROM entity_facts"
    ).fetchone()
    stats.by_extractor = dict(con.execute(
        "SELECT extracted_by, count(*) FROM entity_facts GROUP BY 1 ORDER BY 2 DESC").fetchall())
    return stats


def _rekey(con: duckdb.DuckDBPyConnection, resolver: Resolver) -> int:
    """Facts of an entity id that entity resolution merged away move to the surviving id
    (``entity_membership.previous_entity_id``); their chains are relinked."""
    if not resolver.previous:
        return 0
    live = set(resolver.by_email.values()) | set(resolver.org_of) | set(
        resolver.org_of.values())
    if has_relation(con, "entity_membership"):
        live |= {r[0] for r in con.execute(
            "SELECT DISTINCT entity_id FROM entity_membership").fetchall()}
    stale = con.execute(
        "SELECT DISTINCT entity_id FROM entity_facts WHERE entity_kind = 'person'").fetchall()
    moves = {old: resolver.previous[old] for (old,) in stale
             if old not in live and old in resolver.previous}
    if not moves:
        return 0
    con.register("_ef_moves", pa.table({"old": list(moves), "new": list(moves.values())}))
    con.execute("INSERT INTO _ef_touched SELECT DISTINCT f.entity_id, f.attribute FROM "
                "entity_facts f JOIN _ef_moves m ON f.entity_id = m.old")
    n = con.execute("SELECT count(*) FROM entity_facts WHERE entity_id IN "
                    "(SELECT old FROM _ef_moves)").fetchone()[0]
    con.execute("UPDATE entity_facts SET entity_id = m.new FROM _ef_moves m "
                "WHERE entity_facts.entity_id = m.old")
    con.execute("INSERT INTO _ef_touched SELECT DISTINCT new, attribute FROM entity_facts f "
                "JOIN _ef_moves m ON f.entity_id = m.new")
    con.unregister("_ef_moves")
    return n


def facts_as_of(con: duckdb.DuckDBPyConnection, entity_id: str,
                at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """The facts valid for an entity at a time (default: now): attribute -> fact."""
    at = at or datetime.now(UTC)
    rows = con.execute(
        """SELECT attribute, value, valid_from, valid_to, source_id, extracted_by, confidence,
                  fact_id
        FROM entity_facts WHERE entity_id = ? AND valid_from <= ?
          AND (valid_to IS NULL OR valid_to > ?)
        ORDER BY attribute""",
        [entity_id, at, at],
    ).fetchall()
    keys = ("value", "valid_from", "valid_to", "source_id", "extracted_by", "confidence",
            "fact_id")
    return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


# --- Dagster ------------------------------------------------------------------------------


class EntityFactsConfig(dg.Config):
    """How entity facts are extracted."""

    full_refresh: bool = False  # re-read every event (stored facts are kept, never duplicated)
    operator_email: str | None = None  # default: $AIOS_OPERATOR_EMAIL, else detected


@dg.asset(
    key=ASSET,
    group_name=GROUP,
    pool="warehouse",
    automation_condition=FOLLOW_INPUTS,
    kinds={"duckdb", "python"},
    deps=[EVENT_LOG, ENTITY_MEMBERSHIP, DIM_CONTACTS, DIM_ORGANIZATIONS, FCT_INTERACTIONS],
    description=(
        "Entity facts: long-term facts per canonical entity (title, company, e-mail, phone, "
        "city, preferences, agreed amounts, commitments, …) from contact records, signatures "
        "and rules over message text, with validity intervals by event time. A newer fact "
        "supersedes the older one (valid_to, superseded_by); nothing is deleted. View "
        "`entity_facts_current`."
    ),
)
def entity_facts(context: dg.AssetExecutionContext, config: EntityFactsConfig,
                 warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        stats = build_entity_facts(con, full_refresh=config.full_refresh,
                                   operator_email=config.operator_email)
        preview = con.execute(
            """SELECT f.attribute, f.value, coalesce(c.full_name, o.name, f.entity_id),
                      f.valid_from::DATE, f.source_id, f.extracted_by
            FROM entity_facts_current f
            LEFT JOIN (SELECT entity_id, full_name FROM dim_contacts) c USING (entity_id)
            LEFT JOIN (SELECT organization_id AS entity_id, name FROM dim_organizations) o
              USING (entity_id)
            WHERE f.extracted_by <> 'contact_record'
            ORDER BY f.valid_from DESC, f.fact_id LIMIT 10"""
        ).fetchall() if has_relation(con, "dim_contacts") and has_relation(
            con, "dim_organizations") else []
        by_attr = dict(con.execute(
            "SELECT attribute, count(*) FROM entity_facts_current GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall())
    context.log.info(f"entity facts: {stats.inserted} new ({stats.historical} historical), "
                     f"{stats.corroborated} restated, {stats.duplicates} already known")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": stats.total,
        "current_facts": stats.current,
        "new_rows": stats.inserted,
        "historical_rows": stats.historical,
        "restated": stats.corroborated,
        "already_known": stats.duplicates,
        "rekeyed_rows": stats.rekeyed,
        "full_scan": stats.full,
        "by_extractor": dg.MetadataValue.json(stats.by_extractor),
        "current_by_attribute": dg.MetadataValue.json(by_attr),
        "preview": dg.MetadataValue.md(markdown_table(
            ["attribute", "value", "entity", "valid_from", "source_id", "extracted_by"],
            preview)),
    })


@dg.asset_check(asset=ASSET, blocking=True,
                description="at most one current fact per (entity, attribute)")
def entity_facts_one_current(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        bad = con.execute(
            """SELECT count(*) FROM (SELECT entity_id, attribute FROM entity_facts
            WHERE valid_to IS NULL GROUP BY 1, 2 HAVING count(*) > 1)""").fetchone()[0]
    return dg.AssetCheckResult(passed=bad == 0, metadata={"groups_with_several_current": bad})


@dg.asset_check(asset=ASSET, blocking=True,
                description="validity intervals of an (entity, attribute) chain never overlap "
                            "and each superseded fact points to the fact that follows it")
def entity_facts_intervals_valid(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
    with warehouse.read() as con:
        bad_chain, negative, unique = con.execute(
            """WITH n AS (
                SELECT *, lead(valid_from) OVER w AS next_from, lead(fact_id) OVER w AS next_id
                FROM entity_facts
                WINDOW w AS (PARTITION BY entity_id, attribute ORDER BY valid_from, seq))
            SELECT count(*) FILTER (WHERE valid_to IS DISTINCT FROM next_from
                                       OR superseded_by IS DISTINCT FROM next_id),
                   count(*) FILTER (WHERE valid_to < valid_from),
                   count(*) - count(DISTINCT fact_id)
            FROM n""").fetchone()
    return dg.AssetCheckResult(
        passed=bad_chain == 0 and negative == 0 and unique == 0,
        metadata={"broken_links": bad_chain, "negative_intervals": negative,
                  "duplicate_fact_ids": unique})


FACTS_ASSETS = [entity_facts]
FACTS_CHECKS = [entity_facts_one_current, entity_facts_intervals_valid]
