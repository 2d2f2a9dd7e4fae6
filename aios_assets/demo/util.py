"""Small helpers shared by the demo modules: seeded RNGs, text, time and money formatting.

Underscore names are internal to :mod:`aios_assets.demo`."""

from __future__ import annotations

import math
import random
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

from aios_assets.demo.tables import _DAY3, _MON3, _SYMBOL, _ZERO, MONTHS, UTC, WEEKDAYS, Loc


def _rng(seed: int, *parts: object) -> random.Random:
    """A generator seeded with a string (sha512 inside ``random``): stable across runs."""
    return random.Random("|".join([str(seed), *(str(p) for p in parts)]))


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


def _slug(s: str, maxlen: int = 48) -> str:
    out = re.sub(r"[^a-z0-9]+", "-", _ascii(s).lower()).strip("-")
    return out[:maxlen].rstrip("-") or "x"


def _alnum(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _ascii(s).lower())


def _typo(rng: random.Random, s: str) -> str:
    """One keyboard slip: transposed, dropped or doubled letter (never the first letter)."""
    if len(s) < 4:
        return s + s[-1]
    for _ in range(5):
        i = rng.randrange(1, len(s) - 1)
        op = rng.randrange(3)
        if op == 0:
            out = s[:i] + s[i + 1] + s[i] + s[i + 2:]
        elif op == 1:
            out = s[:i] + s[i + 1:]
        else:
            out = s[:i] + s[i] + s[i:]
        if out != s:
            return out
    return s[:-1]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit = math.exp(-lam)
    k, p = 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _iso(dt: datetime) -> str:
    u = dt if dt.utcoffset() == _ZERO else dt.astimezone(UTC)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
            f"{u.second:02d}Z")


def _stamp(u: datetime) -> str:
    """'20260601091543' (UTC datetime)."""
    return (f"{u.year:04d}{u.month:02d}{u.day:02d}{u.hour:02d}{u.minute:02d}"
            f"{u.second:02d}")


def _rfc2822(ts: datetime, tz: timezone) -> str:
    """``email.utils.format_datetime`` for a whole-second time, without its overhead."""
    lt = ts.astimezone(tz)
    off = int(tz.utcoffset(None).total_seconds()) // 60
    sign = "-" if off < 0 else "+"
    off = abs(off)
    return (f"{_DAY3[lt.weekday()]}, {lt.day:02d} {_MON3[lt.month - 1]} {lt.year:04d} "
            f"{lt.hour:02d}:{lt.minute:02d}:{lt.second:02d} {sign}{off // 60:02d}{off % 60:02d}")


def _day(d: datetime | date) -> str:
    """'Thursday 18 June'."""
    return f"{WEEKDAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]}"


def _money(amount: float, currency: str) -> str:
    return f"{_SYMBOL.get(currency, currency + ' ')}{amount:,.0f}"


def _quarter(d: datetime) -> str:
    return f"Q{(d.month - 1) // 3 + 1}"


_TZ_CACHE: dict[int, timezone] = {}


def _tz(loc: Loc) -> timezone:
    tz = _TZ_CACHE.get(loc.offset_min)
    if tz is None:
        tz = _TZ_CACHE[loc.offset_min] = timezone(timedelta(minutes=loc.offset_min))
    return tz


def _poss(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _ceil(ts: datetime, minutes: int = 30) -> datetime:
    """Round up to the next multiple of ``minutes`` (meetings start on the hour or half hour)."""
    step = minutes * 60
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp(-(-epoch // step) * step, UTC)


def _next_weekday(d: datetime, weekday: int) -> datetime:
    """The next ``weekday`` strictly after ``d`` (Friday = 4)."""
    delta = (weekday - d.weekday()) % 7 or 7
    return d + timedelta(days=delta)


# --- phones ----------------------------------------------------------------------------------

_CC = {"US": "1", "CA": "1", "GB": "44", "IE": "353", "DE": "49", "NL": "31", "FR": "33"}


def _new_phone(rng: random.Random, loc: Loc, taken: set[str]) -> str:
    """A fictional number as E.164: 555 exchange (NANP), Ofcom drama range (UK), 555 elsewhere."""
    for attempt in range(200):
        if loc.country in ("US", "CA"):
            tail = f"01{rng.randrange(100):02d}" if attempt < 20 else f"{rng.randrange(10000):04d}"
            e164 = f"+1{loc.area}555{tail}"
        elif loc.country == "GB":
            tail = f"{rng.randrange(1000):03d}" if attempt < 20 else f"{rng.randrange(100000):05d}"
            e164 = f"+447700900{tail}" if attempt < 20 else f"+4477009{tail}"
        else:
            e164 = f"+{_CC[loc.country]}{loc.area}5550{rng.randrange(10000):04d}"
        if e164 not in taken:
            taken.add(e164)
            return e164
    raise RuntimeError("could not allocate a unique demo phone number")  # pragma: no cover


def _fmt_phone(e164: str, country: str, style: int) -> str:
    if country in ("US", "CA"):
        a, b, c = e164[2:5], e164[5:8], e164[8:]
        return (f"+1 {a} {b} {c}", f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"+1.{a}.{b}.{c}")[style % 4]
    cc = _CC[country]
    rest = e164[1 + len(cc):]
    if country == "GB":
        return (f"+44 {rest[:4]} {rest[4:]}", f"0{rest[:4]} {rest[4:]}", e164)[style % 3]
    return (f"+{cc} {rest[:2]} {rest[2:5]} {rest[5:]}", f"0{rest[:2]} {rest[2:5]} {rest[5:]}",
            e164)[style % 3]


