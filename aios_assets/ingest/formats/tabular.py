"""CSV exports: contacts, invoices, payments and content analytics, optionally via a mapping file.

The header row decides the kind (canonical headers, compared case-insensitively with spaces and
dashes read as ``_``), or a mapping file maps another export's headers onto the canonical ones.
The file is streamed: a first pass only checks whether it is valid UTF-8 (else the whole file is
read as Windows-1252), the second pass feeds physical lines to :mod:`csv` so that every row knows
the line it starts on.
"""

from __future__ import annotations

import codecs
import csv
import math
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from aios_assets.ingest.events import (
    CALENDAR_YEARS,
    EVENT_YEARS,
    Event,
    FieldIssue,
    InvalidTimestamp,
    Rejection,
    parse_timestamp,
)
from aios_assets.ingest.formats.common import (
    BOM,
    MAX_RECORD_BYTES,
    MAX_WHOLE_FILE_BYTES,
    Ctx,
    decode_cp1252,
    iter_lines,
    line_too_large,
    mb,
    safe_yaml,
    short,
    too_large,
)

# A row whose quoted field runs over this many physical lines is almost surely an unbalanced quote.
MAX_ROW_LINES = 50


class InvalidMapping(ValueError):
    """A CSV mapping file that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class CsvKind:
    name: str  # contacts | invoices | payments | content_metrics
    event_kind: str
    default_source: str
    id_col: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    any_of: tuple[str, ...] = ()  # at least one of these columns (and values) is required
    any_of_pairs: tuple[tuple[str, ...], ...] = ()  # ... or all columns of one of these groups
    time_col: str | None = None
    datetime_cols: tuple[str, ...] = ()
    date_cols: tuple[str, ...] = ()
    money_cols: tuple[str, ...] = ()
    int_cols: tuple[str, ...] = ()

    def requirement(self) -> str:
        text = ", ".join(self.required)
        if self.any_of:
            text += f" + one of {self.identifying()}"
        return f"{self.name} ({text})"

    def identifying(self) -> str:
        """``'first_name/last_name/.../street+postcode'``: what a row needs besides its id."""
        return "/".join((*self.any_of, *("+".join(p) for p in self.any_of_pairs)))

    def identifies(self, values: dict[str, Any]) -> bool:
        """True when a row's (valid) values identify something: one of ``any_of`` or a pair."""
        if not self.any_of:
            return True
        return any(values.get(c) for c in self.any_of) or any(
            all(values.get(c) for c in pair) for pair in self.any_of_pairs
        )


CSV_KINDS: dict[str, CsvKind] = {
    "contacts": CsvKind(
        name="contacts",
        event_kind="contact",
        default_source="crm",
        id_col="source_id",
        columns=(
            "source_id",
            "first_name",
            "last_name",
            "full_name",
            "email",
            "phone",
            "dob",
            "street",
            "city",
            "postcode",
            "state",
            "country",
            "company",
            "title",
            "updated_at",
        ),
        required=("source_id",),
        # A contact is kept when anything identifies the person (issue: nothing valid lost).
        any_of=("first_name", "last_name", "full_name", "email", "phone", "dob"),
        any_of_pairs=(("street", "postcode"),),
        time_col="updated_at",
        datetime_cols=("updated_at",),
        date_cols=("dob",),
    ),
    "invoices": CsvKind(
        name="invoices",
        event_kind="invoice",
        default_source="billing",
        id_col="invoice_id",
        columns=(
            "invoice_id",
            "customer_email",
            "customer_name",
            "company",
            "issued_at",
            "due_at",
            "amount",
            "currency",
            "status",
            "description",
        ),
        required=("invoice_id", "amount"),
        any_of=("customer_email", "customer_name"),
        time_col="issued_at",
        datetime_cols=("issued_at", "due_at"),
        money_cols=("amount",),
    ),
    "payments": CsvKind(
        name="payments",
        event_kind="payment",
        default_source="billing",
        id_col="payment_id",
        columns=("payment_id", "invoice_id", "paid_at", "amount", "currency", "method"),
        required=("payment_id", "invoice_id", "paid_at", "amount"),
        time_col="paid_at",
        datetime_cols=("paid_at",),
        money_cols=("amount",),
    ),
    "content_metrics": CsvKind(
        name="content_metrics",
        event_kind="content_metrics",
        default_source="newsletter",
        id_col="post_id",
        columns=(
            "post_id",
            "title",
            "sent_at",
            "recipients",
            "opens",
            "clicks",
            "unsubscribes",
            "paid_signups",
        ),
        required=("post_id", "sent_at"),
        time_col="sent_at",
        datetime_cols=("sent_at",),
        int_cols=("recipients", "opens", "clicks", "unsubscribes", "paid_signups"),
    ),
}
# Payments first: their headers include invoice_id and amount, like invoices.
_DETECT_ORDER = ("payments", "invoices", "content_metrics", "contacts")
_KIND_ALIASES = {k.event_kind: k.name for k in CSV_KINDS.values()}


# --- mapping files -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvMapping:
    """A mapping file: which kind a CSV export holds and which of its headers is which column."""

    kind: str
    columns: dict[str, str] = field(default_factory=dict)  # canonical header -> header in the file
    source: str | None = None
    path: Path | None = None


def load_mapping(path: Path) -> CsvMapping:
    """Read and validate a mapping file (see docs/formats.md); raise :class:`InvalidMapping`."""
    path = Path(path)
    prefix = f"invalid mapping file {path.name}"
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InvalidMapping(
            f"cannot read mapping file {path.name}: {exc.strerror or exc}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidMapping(f"{prefix}: not valid UTF-8") from exc
    try:
        data = safe_yaml(text)
    except yaml.YAMLError as exc:
        raise InvalidMapping(f"{prefix}: not valid YAML ({_yaml_problem(exc)})") from exc
    if not isinstance(data, dict):
        raise InvalidMapping(f"{prefix}: expected a YAML mapping with 'kind' and 'columns'")
    unknown = sorted(str(k) for k in data if k not in ("kind", "source", "columns"))
    if unknown:
        raise InvalidMapping(
            f"{prefix}: unknown key {unknown[0]!r} (allowed: kind, source, columns)"
        )
    kind = data.get("kind")
    kind = _KIND_ALIASES.get(kind, kind) if isinstance(kind, str) else kind
    if not isinstance(kind, str) or kind not in CSV_KINDS:  # a YAML list is unhashable
        raise InvalidMapping(
            f"{prefix}: 'kind' must be one of {', '.join(CSV_KINDS)}, got {data.get('kind')!r}"
        )
    spec = CSV_KINDS[kind]
    source = data.get("source")
    if source is not None and (not isinstance(source, str) or not source.strip()):
        raise InvalidMapping(f"{prefix}: 'source' must be a non-empty string")
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise InvalidMapping(f"{prefix}: 'columns' must map canonical headers to file headers")
    clean: dict[str, str] = {}
    for canon, header in columns.items():
        if canon not in spec.columns:
            raise InvalidMapping(
                f"{prefix}: {canon!r} is not a {kind} column (known: {', '.join(spec.columns)})"
            )
        if isinstance(header, int | float) and not isinstance(header, bool):
            header = str(header)
        if not isinstance(header, str) or not header.strip():
            raise InvalidMapping(f"{prefix}: column {canon!r} must name a header of the file")
        clean[canon] = header.strip()
    return CsvMapping(
        kind=kind, columns=clean, source=source.strip() if source else None, path=path
    )


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}" if mark is not None else str(problem)


def find_mapping(path: Path) -> Path | None:
    """``<stem>.mapping.yaml`` (or ``.yml``) next to ``<stem>.csv``, if there is one."""
    for suffix in (".mapping.yaml", ".mapping.yml"):
        candidate = path.with_name(path.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


# --- values ------------------------------------------------------------------------------------


class BadValue(ValueError):
    pass


_CODE_RE = re.compile(r"^([A-Za-z]{3})\s*(.+)$|^(.+?)\s*([A-Za-z]{3})$")
_SYMBOLS = {"$": None, "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
_PLAIN_RE = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_US_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_EU_RE = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d{1,2}")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")


def parse_amount(value: str) -> tuple[float, str | None]:
    """``'$1,234.50'`` -> ``(1234.5, None)``, ``'EUR 12,50'`` -> ``(12.5, 'EUR')``."""
    text = value.strip()
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    currency = None
    m = _CODE_RE.match(text)
    if m:
        code, rest = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        currency, text = code.upper(), rest.strip()
    for _ in range(2):  # sign and symbol in either order: -$5, $-5
        if text and text[0] in "-+":
            negative ^= text[0] == "-"
            text = text[1:].strip()
        if text and text[0] in _SYMBOLS:
            currency = currency or _SYMBOLS[text[0]]
            text = text[1:].strip()
    if text and text[-1] in _SYMBOLS:  # 12,50 €
        currency = currency or _SYMBOLS[text[-1]]
        text = text[:-1].strip()
    text = text.translate(_SPACES)
    if _PLAIN_RE.fullmatch(text):
        number = float(text)
    elif _US_RE.fullmatch(text):
        number = float(text.replace(",", ""))
    elif _EU_RE.fullmatch(text):
        number = float(text.replace(".", "").replace(",", "."))
    else:
        raise BadValue(f"invalid amount {short(value)}")
    if not math.isfinite(number):
        raise BadValue(f"invalid amount {short(value)}")
    return (-number if negative else number), currency


_INT_RE = re.compile(r"\d+|\d{1,3}(?:,\d{3})+|\d+\.0+")


def parse_count(value: str, column: str) -> int:
    text = value.strip().translate(_SPACES)
    if not _INT_RE.fullmatch(text):
        raise BadValue(f"invalid number {short(value)} in '{column}'")
    number = int(text.replace(",", "").split(".")[0])
    if number >= 2**63:
        raise BadValue(f"invalid number {short(value)} in '{column}' (too large)")
    return number


_DATE_ONLY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COMPACT_RE = re.compile(r"\d{8}")  # ISO 8601 basic, YYYYMMDD (FEBRL, many HR exports)
_SLASH_RE = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_FORMATS = (
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d-%b-%Y",
    "%a, %d %b %Y %H:%M:%S %z",
)


def parse_date_value(
    value: str, column: str, *, years: tuple[int, int] = EVENT_YEARS
) -> tuple[datetime, str]:
    """A CSV date or timestamp -> (aware UTC datetime, normalized ISO text for the payload).

    ISO 8601 first (``YYYYMMDD`` too); then a few unambiguous spellings; ``03/04/2024`` is
    refused as ambiguous. ``years`` bounds the year (event times are kept plausible).
    """
    text = value.strip()
    try:
        dt = parse_timestamp(text, years=years)
    except InvalidTimestamp:
        dt = None
    if dt is not None:
        if _DATE_ONLY_RE.fullmatch(text):
            iso = text
        elif _COMPACT_RE.fullmatch(text):  # a date, not midnight UTC: "1976-12-10"
            iso = dt.date().isoformat()
        else:
            iso = dt.isoformat()
        return dt, iso
    m = _SLASH_RE.fullmatch(text)
    if m:
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if a > 12 >= b:
            day, month = a, b
        elif b > 12 >= a or a == b:
            month, day = a, b
        else:
            raise BadValue(f"ambiguous date {short(value)} in '{column}' (use YYYY-MM-DD)")
        try:
            parsed = datetime(
                year, month, day, int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
            )
            dt = parse_timestamp(parsed, years=years)
        except (ValueError, InvalidTimestamp):
            raise BadValue(f"invalid date {short(value)} in '{column}'") from None
        return dt, (dt.date().isoformat() if m.group(4) is None else dt.isoformat())
    for fmt in _FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        try:
            dt = parse_timestamp(parsed, years=years)
        except InvalidTimestamp:
            break
        return dt, (dt.date().isoformat() if "%H" not in fmt else dt.isoformat())
    raise BadValue(f"invalid date {short(value)} in '{column}'")


# --- headers -------------------------------------------------------------------------------------

_NORM_RE = re.compile(r"[\s\-]+")


def _norm(header: str) -> str:
    return _NORM_RE.sub("_", header.strip().lower())


@dataclass(slots=True)
class _Layout:
    kind: CsvKind
    index: dict[str, int]  # canonical column -> field index
    extras: list[tuple[str, int]]  # (payload key, field index) for columns kept as they are
    width: int


def _no_kind_reason(header: list[str], stem: str) -> str:
    got = ", ".join(h.strip()[:40] for h in header[:20]) + (", ..." if len(header) > 20 else "")
    expected = "; ".join(CSV_KINDS[k].requirement() for k in _DETECT_ORDER)
    hint = f"or add a {stem}.mapping.yaml"
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        hint = "the file looks semicolon- or tab-separated; save it comma-separated"
    return f"CSV headers match no known kind (got: {got}); expected {expected}; {hint}"


def _layout(header: list[str], mapping: CsvMapping | None, stem: str) -> _Layout | str:
    norm = [_norm(h) for h in header]
    if mapping is None:
        present = set(norm)
        for name in _DETECT_ORDER:
            spec = CSV_KINDS[name]
            if present.issuperset(spec.required) and (
                not spec.any_of or present.intersection(spec.any_of)
                or any(present.issuperset(p) for p in spec.any_of_pairs)
            ):
                break
        else:
            return _no_kind_reason(header, stem)
        index: dict[str, int] = {}
    else:
        spec = CSV_KINDS[mapping.kind]
        exact: dict[str, int] = {}
        loose: dict[str, int] = {}
        for i, h in enumerate(header):
            exact.setdefault(h.strip(), i)
            loose.setdefault(h.strip().lower(), i)
        index = {}
        for canon, col in mapping.columns.items():
            found = exact.get(col, loose.get(col.lower()))
            if found is None:  # a typo or a renamed export column: the data would be lost
                return f"mapping column {col!r} (for {canon}) is not in the CSV header"
            index[canon] = found
    used = set(index.values())
    canonical = set(spec.columns)
    for i, n in enumerate(norm):
        if n in canonical and i not in used:
            if n in index:
                if mapping is None:
                    return f"duplicate column {header[i].strip()!r} in CSV header"
                continue  # mapped elsewhere: this one stays an extra column
            index[n] = i
            used.add(i)
    missing = [c for c in spec.required if c not in index]
    if missing:
        return f"{spec.name} CSV has no {missing[0]!r} column"
    if spec.any_of and not spec.identifies({c: True for c in index}):
        return f"{spec.name} CSV needs one of the columns {spec.identifying()}"
    extras: list[tuple[str, int]] = []
    taken = set(index)
    for i, h in enumerate(header):
        if i in used:
            continue
        key = h.strip() or f"column_{i + 1}"
        base, suffix = key, 2
        while key in taken:
            key, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(key)
        extras.append((key, i))
    return _Layout(kind=spec, index=index, extras=extras, width=len(header))


# --- rows ----------------------------------------------------------------------------------------


def _row_event(
    layout: _Layout, row: list[str], source: str, decoded_as: str | None, file: str, line: int
) -> Event | str:
    spec = layout.kind
    values: dict[str, Any] = {}
    for canon, i in layout.index.items():
        v = row[i].strip()
        values[canon] = v or None
    for canon in spec.required:
        if values.get(canon) is None:
            return f"missing required value '{canon}'"
    issues: list[FieldIssue] = []
    occurred_at: datetime | None = None

    def parsed(col: str, parse: Any) -> Any:
        """``parse(value)``; a bad optional value is nulled with a field issue (the row stays),
        a bad required one rejects the row (BadValue goes up)."""
        raw = values[col]
        try:
            return parse(raw)
        except BadValue as exc:
            if col in spec.required:
                raise
            issues.append(FieldIssue(col, raw, f"{exc}; left empty"))
            return None

    try:
        for col in spec.datetime_cols:
            if values.get(col) is not None:
                got = parsed(col, lambda v, c=col: parse_date_value(v, c))
                values[col] = got[1] if got else None
                if got and col == spec.time_col:
                    occurred_at = got[0]
        for col in spec.date_cols:  # dates such as a birth date: the whole calendar
            if values.get(col) is not None:
                got = parsed(col, lambda v, c=col: parse_date_value(v, c, years=CALENDAR_YEARS))
                values[col] = got[0].date().isoformat() if got else None
                if got and got[0].date() > datetime.now(UTC).date():
                    issues.append(FieldIssue(col, values[col], f"'{col}' is in the future; left "
                                             "empty"))
                    values[col] = None
        for col in spec.money_cols:
            if values.get(col) is not None:
                got = parsed(col, parse_amount)
                values[col] = got[0] if got else None
                if got is None:
                    continue
                if values.get("currency"):
                    values["currency"] = values["currency"].upper()
                else:
                    values["currency"] = got[1]
        for col in spec.int_cols:
            if values.get(col) is not None:
                values[col] = parsed(col, lambda v, c=col: parse_count(v, c))
    except BadValue as exc:
        return str(exc)
    if not spec.identifies(values):
        what = f"{spec.event_kind} needs one of {spec.identifying()}"
        return what + (f" (bad: {'; '.join(i.reason for i in issues)})" if issues else "")
    payload: dict[str, Any] = dict(values)
    for key, i in layout.extras:
        payload[key] = row[i].strip() or None
    if decoded_as:
        payload["_decoded_as"] = decoded_as
    text, actor, subject, thread = _render(spec.name, values)
    event = Event(
        source=source,
        source_id=values[spec.id_col],
        kind=spec.event_kind,
        occurred_at=occurred_at,
        text=text,
        actor=actor,
        thread=thread,
        subject=subject,
        payload=payload,
        file=file,
        line=line,
    )
    event.issues.extend(issues)
    return event


def _money(values: dict[str, Any]) -> str:
    amount = values.get("amount")
    text = f"{amount:,.2f}" if isinstance(amount, float) else str(amount)
    return f"{text} {values['currency']}" if values.get("currency") else text


def _render(kind: str, v: dict[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    """(text, actor, subject, thread) for one canonical row."""
    if kind == "contacts":
        name = v.get("full_name") or " ".join(
            p for p in (v.get("first_name"), v.get("last_name")) if p
        )
        who = f"{name} <{v['email']}>" if name and v.get("email") else (name or v.get("email"))
        who = who or v.get("phone") or f"record {v['source_id']}"
        parts = [f"Contact {who}"]
        role = " at ".join(p for p in (v.get("title"), v.get("company")) if p)
        place = ", ".join(p for p in (v.get("city"), v.get("state"), v.get("country")) if p)
        parts += [p for p in (role, v.get("phone"), place) if p]
        return "; ".join(parts), (name or v.get("email")), None, None
    if kind == "invoices":
        customer = v.get("customer_name") or v.get("customer_email")
        if v.get("customer_name") and v.get("customer_email"):
            customer = f"{v['customer_name']} <{v['customer_email']}>"
        text = f"Invoice {v['invoice_id']} to {customer}"
        if v.get("company") and v.get("company") != v.get("customer_name"):
            text += f" ({v['company']})"
        text += f" for {_money(v)}"
        text += "".join(
            f", {label} {v[col]}"
            for label, col in (("issued", "issued_at"), ("due", "due_at"), ("status", "status"))
            if v.get(col)
        )
        if v.get("description"):
            text += f": {v['description']}"
        actor = v.get("customer_name") or v.get("customer_email")
        return text, actor, None, v["invoice_id"]
    if kind == "payments":
        text = f"Payment {v['payment_id']} of {_money(v)} for invoice {v['invoice_id']}"
        text += f" on {v['paid_at']}"
        if v.get("method"):
            text += f" via {v['method']}"
        return text, None, None, v["invoice_id"]
    title = v.get("title")
    text = f"Post {v['post_id']}" + (f" {title!r}" if title else "") + f" sent {v['sent_at']}"
    metrics = [
        f"{v[c]:,} {c.replace('_', ' ')}"
        for c in ("recipients", "opens", "clicks", "unsubscribes", "paid_signups")
        if v.get(c) is not None
    ]
    if metrics:
        text += ": " + ", ".join(metrics)
    return text, None, title, None


# --- the stream ----------------------------------------------------------------------------------


def _is_utf8(f: BinaryIO) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := f.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        f.seek(0)
    return True


class _Runaway(Exception):
    """The row being read has run over MAX_ROW_LINES physical lines: an unclosed quote."""


class _Feeder:
    """Physical lines for :func:`csv.reader`, remembering which lines the current row used.

    Lines put back in ``pending`` are read again first: after an unclosed quote only the line
    it opened on is quarantined, and reading resumes on the next line."""

    def __init__(self, lines: Iterator[tuple[int, bytes, int]], encoding: str) -> None:
        self._lines = lines
        self.pending: deque[tuple[int, str]] = deque()
        self._decode = (
            (lambda b: b.decode("utf-8", errors="replace"))
            if encoding == "utf-8"
            else decode_cp1252
        )
        self.buf: list[tuple[int, str]] = []
        self.oversized: list[tuple[int, int, bytes]] = []
        self.last_line = 0

    def __iter__(self) -> _Feeder:
        return self

    def __next__(self) -> str:
        if len(self.buf) >= MAX_ROW_LINES:
            raise _Runaway  # csv.reader would otherwise swallow the rest of the file
        if self.pending:
            lineno, text = self.pending.popleft()
            self.last_line = lineno
            self.buf.append((lineno, text))
            return text
        lineno, data, size = next(self._lines)
        self.last_line = lineno
        if lineno == 1 and data.startswith(BOM):
            data = data[3:]
        if size > MAX_RECORD_BYTES and line_too_large(data, size):
            self.oversized.append((lineno, size, data))
            text = "\n"
        else:
            text = self._decode(data)
        self.buf.append((lineno, text))
        return text


def _cr_lines(f: BinaryIO) -> Iterator[tuple[int, bytes, int]]:
    data = f.read()
    for i, line in enumerate(data.splitlines(keepends=True), 1):
        yield i, line, len(line)


def _has_only_cr_newlines(f: BinaryIO) -> bool:
    head = f.read(1 << 16)
    f.seek(0)
    return b"\r" in head and b"\n" not in head


def parse_csv(
    f: BinaryIO, ctx: Ctx, mapping: CsvMapping | None, mapping_error: str | None = None
) -> Iterator[Event | Rejection]:
    if mapping_error:
        yield ctx.reject(None, mapping_error)
        return
    decoded_as = None if _is_utf8(f) else "cp1252"
    if _has_only_cr_newlines(f):  # old Mac line endings: small files only
        size = ctx.path.stat().st_size
        if size > MAX_WHOLE_FILE_BYTES:
            yield ctx.reject(None, f"CR-only line endings in a large file ({mb(size)})")
            return
        lines = _cr_lines(f)
    else:
        lines = iter_lines(f)
    feeder = _Feeder(lines, decoded_as or "utf-8")
    reader = csv.reader(feeder, strict=True)
    layout: _Layout | None = None
    rows = 0
    source = ctx.source or (mapping.source if mapping else None)
    while True:
        feeder.buf.clear()
        error: str | None = None
        row: list[str] = []
        try:
            row = next(reader)
        except StopIteration:
            break
        except _Runaway:
            error = (f"unclosed quote: the row runs over {MAX_ROW_LINES} lines; only its "
                     "first line is quarantined")
        except csv.Error as exc:
            detail = str(exc)
            if detail.startswith("new-line character seen in unquoted field"):
                detail = "line break (CR) inside an unquoted field"
            error = f"malformed CSV: {detail}"
        if error is not None and len(feeder.buf) > 1 and layout is not None:
            # A quote that never closes swallows the lines after it: quarantine the line it
            # opened on and read the others again as rows of their own.
            feeder.pending.extendleft(reversed(feeder.buf[1:]))
            del feeder.buf[1:]
            reader = csv.reader(feeder, strict=True)
        for lineno, size, data in feeder.oversized:
            if layout is None:
                yield ctx.reject(lineno, f"CSV header {too_large(size)}", data, source=source)
                return
            rows += 1
            yield ctx.reject(lineno, too_large(size), data, source=source)
        feeder.oversized.clear()
        start = feeder.buf[0][0] if feeder.buf else feeder.last_line
        raw = "".join(t for _, t in feeder.buf)
        if error is not None:
            if layout is None:
                yield ctx.reject(start, error.replace("CSV", "CSV header", 1), raw, source=source)
                return
            rows += 1
            yield ctx.reject(start, error, raw, source=source)
            continue
        if not row or not any(c.strip() for c in row):
            continue
        if layout is None:
            result = _layout(row, mapping, ctx.path.stem)
            if isinstance(result, str):
                yield ctx.reject(start, result, raw, source=source)
                return
            layout = result
            source = source or layout.kind.default_source
            continue
        rows += 1
        if len(raw) > MAX_RECORD_BYTES:
            yield ctx.reject(start, too_large(len(raw.encode())), raw, source=source)
            continue
        if len(row) != layout.width:
            yield ctx.reject(
                start, f"row has {len(row)} fields, header has {layout.width}", raw, source=source
            )
            continue
        row_source = source or layout.kind.default_source
        event = _row_event(layout, row, row_source, decoded_as, ctx.file, start)
        if isinstance(event, str):
            yield ctx.reject(start, event, raw, source=source)
        else:
            yield event
    if layout is not None and not rows:
        yield ctx.reject(None, "empty file (header only, no rows)", source=source)
