"""What a text says about a person or company (pure, no database): the rules over message and
note text, e-mail signatures, and the normal form of a fact's value. Where facts come from and
how they are kept: :mod:`aios_assets.memory.facts`."""

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from aios_assets.shared.text import EMAIL_PATTERN as _EMAIL
from aios_assets.shared.text import (
    split_signature,
    strip_quoted,
)

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


