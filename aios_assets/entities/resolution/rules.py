"""What says two person records are, or are not, one person: string similarity, names and
dates of birth that contradict, and records that only share a place (the over-merge guard of
the clustering step)."""

from __future__ import annotations

from collections.abc import Callable

from rapidfuzz.distance import JaroWinkler, Levenshtein


def _levenshtein_le(a: str, b: str, k: int) -> bool:
    """True when the edit distance between a and b is at most k."""
    return Levenshtein.distance(a, b, score_cutoff=k) <= k


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity as DuckDB computes it for Splink's name levels (both are
    rapidfuzz: the prefix boost applies only above a Jaro of 0.7)."""
    return JaroWinkler.similarity(a, b)


def _transposed(a: str, b: str) -> bool:
    """One pair of adjacent letters swapped ("pia" / "pai"): a typo. Jaro-Winkler misses it in
    short names (its matching window is 0 for three letters, so "pai" scores 0.56)."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and (
        a[diff[1]] == b[diff[0]])


def _first_names_conflict(a: tuple | None, b: tuple | None) -> bool:
    """``a``/``b`` = (first_name, nickname-canonical first name, surname).

    Both first names present and clearly different: not equal, not nicknames of one name, not
    an initial or prefix of the other, not explained by first/last swapped, and below Splink's
    lowest name-similarity level (Jaro-Winkler 0.7)."""
    if a is None or b is None:
        return False
    (fa, ca, sa), (fb, cb, sb) = a, b
    if fa == fb or ca == cb:
        return False
    if fa.startswith(fb) or fb.startswith(fa):
        return False
    if (sb and jaro_winkler(fa, sb) >= 0.88) or (sa and jaro_winkler(fb, sa) >= 0.88):
        return False
    return jaro_winkler(fa, fb) < 0.7 and not _transposed(fa, fb)


def _surnames_conflict(a: tuple, b: tuple) -> bool:
    """Both surnames present and clearly different, not explained by first/last swapped: with
    the same first name and nothing that identifies a person, two namesakes ("Nora Walsh" and
    "Nora Osei" in one city), not one person."""
    (fa, _ca, sa), (fb, _cb, sb) = a, b
    if not sa or not sb or sa == sb or sa.startswith(sb) or sb.startswith(sa):
        return False
    if jaro_winkler(sa, fb) >= 0.88 or jaro_winkler(sb, fa) >= 0.88:
        return False
    return jaro_winkler(sa, sb) < 0.7 and not _transposed(sa, sb)


def _names_contradict(a: tuple | None, b: tuple | None) -> bool:
    """First names *and* surnames both present and clearly different (as in
    ``_first_names_conflict``). Such a pair can still agree on street, postcode, city and
    company - colleagues at one office, people in one building - which place a record but do
    not identify a person, so Splink's score alone never merges it."""
    if not _first_names_conflict(a, b):
        return False
    sa, sb = a[2], b[2]
    if not sa or not sb or sa == sb or sa.startswith(sb) or sb.startswith(sa):
        return False
    return jaro_winkler(sa, sb) < 0.7 and not _transposed(sa, sb)


# (first-name tuple as in _first_names_conflict, dob, email, phone) of one record
_Who = tuple[tuple | None, str | None, str | None, str | None]


def _only_placed(a: _Who, b: _Who, same_home: Callable[[], bool] | None = None) -> bool:
    """First names clearly differ (or one is missing), or the surnames do, and nothing that
    identifies a person agrees - date of birth up to a typo, email (shared mailboxes are
    already NULL), phone - so only place, a name or company can: a household, an office or two
    namesakes, not one person. Same first name and another surname at the same street
    address (``same_home``) is one person whose surname changed: two Noras in one postcode are
    common, in one home rare."""
    (fa, da, ea, pa), (fb, db, eb, pb) = a, b
    if fa is not None and fb is not None and not _first_names_conflict(fa, fb) and (
            not _surnames_conflict(fa, fb) or (same_home is not None and same_home())):
        return False
    if da is not None and db is not None and _dobs_agree(da, db):
        return False
    return not ((ea is not None and ea == eb) or (pa is not None and pa == pb))


def _dobs_agree(a: str, b: str) -> bool:
    """The same date of birth up to a typo: equal, one character apart, two adjacent digits
    swapped, day and month swapped, or at most a month apart (Splink's closest date level).
    Birthdays months apart do not identify a person (``_dobs_conflict`` tolerates them only
    as not contradicting one)."""
    if a == b or _levenshtein_le(a, b, 1) or _transposed(a, b):
        return True
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return True
    return abs(_day_number(a) - _day_number(b)) <= 31


def _dob_digits_agree(a: str, b: str) -> bool:
    """Two dates of birth as 8 digits (``yyyymmdd``), one of them no date ("19010271"): equal
    up to one typed digit or two adjacent digits swapped. A date nobody has, yet one keystroke
    from the other record's, is that record's date mistyped, not a relative's birthday."""
    if len(a) != 8 or len(b) != 8:
        return False
    return a == b or _levenshtein_le(a, b, 1) or _transposed(a, b)


def _day_number(d: str) -> int:
    """A day count that orders ISO dates (months of 31 days: exact enough for distances)."""
    return int(d[:4]) * 372 + int(d[5:7]) * 31 + int(d[8:10])


def _dobs_conflict(a: str | None, b: str | None) -> bool:
    """Both present and not explainable as a typo: more than one character apart, not two
    adjacent digits swapped, not a day/month swap, and more than a year apart."""
    if a is None or b is None or a == b:
        return False
    if _levenshtein_le(a, b, 1) or _transposed(a, b):  # "1909-11-11" / "1990-11-11"
        return False
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return False
    return abs(_day_number(a) - _day_number(b)) > 372


# --- the union-find with constraints -----------------------------------------------------------



class Places:
    """Per-record address and dob fields of one resolver run, and the place rules that decide
    when two records whose names contradict are still one person."""

    def __init__(self, *, dobs: list, dob_digits: list, dob_n: list, streets: list,
                 postcodes: list, cities: list):
        self.dobs = dobs
        self.dob_digits = dob_digits
        self.dob_n = dob_n
        self.streets = streets
        self.postcodes = postcodes
        self.cities = cities

    def typo_dob(self, a: int, b: int) -> bool:
        # an impossible dob one typo from the other's ("19931819" / "1993-10-19")
        dobs, dob_digits = self.dobs, self.dob_digits
        da, db = dob_digits[a], dob_digits[b]
        if da is None and db is None:
            return False
        return _dob_digits_agree(da or (dobs[a] or "").replace("-", ""),
                                 db or (dobs[b] or "").replace("-", ""))

    def same_street(self, a: int, b: int) -> bool:
        sa, sb = self.streets[a], self.streets[b]
        if sa is None or sb is None:
            return False
        # the street name missing on one side: "9" / "9 archdall street"
        if sa.isdigit() and sb.startswith(sa + " ") or (
                sb.isdigit() and sa.startswith(sb + " ")):
            return True
        # a typo or a misplaced space in the street ("burkitts treet") still agrees
        sa, sb = sa.replace(" ", ""), sb.replace(" ", "")
        return sa == sb or jaro_winkler(sa, sb) >= 0.95

    def same_home(self, a: int, b: int) -> bool:
        postcodes = self.postcodes
        return postcodes[a] is not None and postcodes[a] == postcodes[b] and (
            self.same_street(a, b))

    def same_town(self, a: int, b: int) -> bool:
        ca, cb = self.cities[a], self.cities[b]
        return ca is not None and cb is not None and jaro_winkler(ca, cb) >= 0.9

    def same_area(self, a: int, b: int) -> bool:
        # the same postcode, or the same town with the postcode one typo apart
        pa, pb = self.postcodes[a], self.postcodes[b]
        if pa is None or pb is None:
            return False
        if pa == pb:
            return True
        return self.same_town(a, b) and (_levenshtein_le(pa, pb, 1) or _transposed(pa, pb))

    def birth_and_home(self, a: int, b: int) -> bool:
        # Both names differ, yet the same date of birth in the same postcode, or in the
        # same street of the same town: one person whose names were mistyped or replaced
        # (two people born on one day in one postcode are rare, and twins share a
        # surname). Not for a dob many records share or a 1 January (placeholders), nor
        # without an address.
        dobs = self.dobs
        d = dobs[a]
        if d is None or d != dobs[b] or self.dob_n[a] > 10 or d.endswith("-01-01"):
            return False
        return self.same_area(a, b) or (self.same_street(a, b) and self.same_town(a, b))
