"""Rendering: records of the demo business turned into the input formats (contact-export rows,
RFC 5322 mail in mbox, iCalendar events, Markdown front matter)."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta, timezone
from email.header import Header
from email.utils import formataddr
from typing import Any, NamedTuple

import icalendar
import yaml

from aios_assets.demo.tables import _DAY3, _MON3, COUNTRY_NAMES, STREETS, UTC
from aios_assets.demo.util import _fmt_phone, _iso, _rfc2822, _typo
from aios_assets.demo.world import Person, World

# =============================================================================================
# contact exports (CRM + newsletter subscribers)
# =============================================================================================

CRM_HEADERS = ("source_id", "first_name", "last_name", "full_name", "email", "phone", "dob",
               "street", "city", "postcode", "state", "country", "company", "title",
               "updated_at", "lifecycle_stage")
SUB_HEADERS = ("Subscriber ID", "Name", "E-mail", "Signed up", "Plan", "Status", "Country")
SUB_MAPPING = """\
# Column mapping for the newsletter platform's subscriber export (see docs/formats.md).
kind: contacts
source: newsletter
columns:
  source_id: Subscriber ID
  full_name: Name
  email: E-mail
  updated_at: Signed up
  country: Country
"""
INVOICE_HEADERS = ("invoice_id", "customer_email", "customer_name", "company", "issued_at",
                   "due_at", "amount", "currency", "status", "description")
PAYMENT_HEADERS = ("payment_id", "invoice_id", "paid_at", "amount", "currency", "method")
METRIC_HEADERS = ("post_id", "title", "sent_at", "recipients", "opens", "clicks",
                  "unsubscribes", "paid_signups")
_STAGE = {"client": "customer", "billing": "customer", "lead": "lead", "partner": "partner",
          "vendor": "vendor"}


def _case_variant(rng: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    r = rng.randrange(3)
    if r == 0:
        return f"{local.title()}@{domain}"
    if r == 1:
        return f"{local}@{domain.title()}"
    return email.upper()


def crm_row(rng: random.Random, w: World, p: Person, dup: bool) -> list[str]:
    if rng.random() < 0.72:
        updated = w.start_dt - timedelta(days=rng.uniform(3, 420))
    else:
        updated = w.start_dt + timedelta(seconds=rng.randrange(int((w.end_dt - w.start_dt)
                                                                   .total_seconds())))
    updated = updated.replace(microsecond=0)
    first, last = p.first, p.last_at(updated)
    if p.nick and (dup or rng.random() < 0.12):
        first = p.nick
    r = rng.random()
    if r < 0.07:
        last = _typo(rng, last)
    elif r < 0.10:
        first = _typo(rng, first)
    elif r < 0.13:
        first, last = first.lower(), last.lower()
    elif r < 0.15:
        last = last.upper()
    full = f"{first} {last}" if rng.random() < 0.5 else ""
    if rng.random() < 0.03:
        full, first, last = f"{first} {last}", "", ""
    if p.person_id == "P00001":  # Dana: the CRM has her surname mistyped
        first, last, full = "Dana", "Whitfeild", "Dana Whitfeild"
    email = p.work_email(updated) or p.personal_email or ""
    if p.personal_email and (dup or rng.random() < 0.08):
        email = p.personal_email
    r = rng.random()
    if r < 0.05 and (first or last or full):
        email = ""
    elif r < 0.11 and email:
        email = _case_variant(rng, email)
    if email:
        p.used_emails.add(email.lower())
    name_seen = full or f"{first} {last}".strip()
    if name_seen:
        p.variants.add(name_seen)
    phone = _fmt_phone(p.phone, p.loc.country, rng.randrange(4)) if (
        p.phone and rng.random() < 0.8) else ""
    dob = ""
    if rng.random() < 0.1:
        dob = date(rng.randint(1962, 1998), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
    street = city = postcode = state = country = ""
    if rng.random() < 0.45:
        loc = p.org.loc if p.org else p.loc
        street = p.org.street if p.org else f"{rng.randint(1, 90)} {rng.choice(STREETS)}"
        city, postcode, state = loc.city, loc.postcode, loc.state
        country = rng.choice(COUNTRY_NAMES[loc.country])
    company = p.org.alias(rng) if p.org else ""
    title = p.title if rng.random() < 0.9 else ""
    return ["", first, last, full, email, phone, dob, street, city, postcode, state, country,
            company, title, _iso(updated), _STAGE.get(p.role, "other")]


def sub_rows(rng: random.Random, w: World, p: Person) -> list[tuple[datetime, list[str]]]:
    rows = []
    addresses: list[str] = []
    if p.role == "operator":
        addresses = ["maya+test@okaforstrategy.example"]
    else:
        if p.personal_email and (p.org is None or rng.random() < 0.6):
            addresses.append(p.personal_email)
        else:
            signed = w.start_dt - timedelta(days=rng.uniform(30, 700))
            addresses.append(p.work_email(signed) or p.personal_email or "")
        if p.org is not None and p.personal_email and rng.random() < 0.08:
            other = p.work_email(w.start_dt) or ""
            if other and other not in addresses:
                addresses.append(other)
    for addr in addresses:
        if rng.random() < 0.8:
            signed = w.start_dt - timedelta(days=rng.uniform(1, 900))
        else:
            signed = w.start_dt + timedelta(seconds=rng.randrange(
                int((w.end_dt - w.start_dt).total_seconds())))
        signed = signed.replace(microsecond=0)
        last = p.last_at(signed)
        r = rng.random()
        if p.role == "operator":
            name = "Maya (test)"
        elif r < 0.42:
            name = f"{p.first} {last}"
        elif r < 0.56:
            name = f"{p.nick or p.first} {last}"
        elif r < 0.68:
            name = f"{p.first} {last}".lower()
        elif r < 0.75:
            name = f"{p.first} {_typo(rng, last)}"
        elif r < 0.83:
            name = p.nick or p.first
        elif r < 0.88:
            name = f"{last}, {p.first}"
        elif r < 0.91:
            name = f"{p.first.upper()} {last.upper()}"
        else:
            name = ""
        if p.person_id == "P00002":  # Bob signs up as "bob alvarez"
            name = "bob alvarez"
        if name:
            p.variants.add(name)
        email = addr if rng.random() > 0.08 else _case_variant(rng, addr)
        p.used_emails.add(email.lower())
        plan = "paid" if rng.random() < 0.16 else "free"
        status = "unsubscribed" if rng.random() < 0.06 else "active"
        country = rng.choice(COUNTRY_NAMES[p.loc.country]) if rng.random() < 0.85 else ""
        rows.append((signed, ["", name, email, signed.strftime("%Y-%m-%d %H:%M:%S"), plan,
                              status, country]))
    return rows


# =============================================================================================
# rendering
# =============================================================================================


class Party(NamedTuple):
    name: str | None
    addr: str
    pid: str | None
    oid: str | None
    tz: timezone


class Msg(NamedTuple):
    mid: str
    refs: tuple[str, ...]
    ts: datetime
    sender: Party
    subject: str
    core: str


_SPECIALS_RE = re.compile(r'[()<>@,:;.\\"\[\]]')


def _addr(p: Party) -> str:
    name = p.name
    if not name:
        return p.addr
    if not name.isascii():
        return formataddr((name, p.addr))
    if _SPECIALS_RE.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{p.addr}>"


def _hdr(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def render_mail(mid: str, ts: datetime, sender: Party, to: list[Party], cc: list[Party],
                 subject: str, body: str, parent: Msg | None, html: str | None) -> str:
    u = ts
    lines = [
        f"From {sender.addr} {_DAY3[u.weekday()]} {_MON3[u.month - 1]} {u.day:2d} "
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d} {u.year}",
        f"Message-ID: <{mid}>",
        f"Date: {_rfc2822(ts, sender.tz)}",
        f"From: {_addr(sender)}",
        f"To: {', '.join(_addr(p) for p in to)}",
    ]
    if cc:
        lines.append(f"Cc: {', '.join(_addr(p) for p in cc)}")
    lines.append(f"Subject: {_hdr(subject)}")
    if parent is not None:
        lines.append(f"In-Reply-To: <{parent.mid}>")
        lines.append("References: " + " ".join(f"<{r}>" for r in (*parent.refs, parent.mid)))
    lines.append("MIME-Version: 1.0")
    body = body.replace("\r", "")
    if body.startswith("From "):
        body = ">" + body
    body = body.replace("\nFrom ", "\n>From ")
    if html is None:
        lines += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
                  "", body, "", ""]
    else:
        b = "b1_" + mid.split("@")[0].replace(".", "")
        lines += [f'Content-Type: multipart/alternative; boundary="{b}"', "",
                  f"--{b}", "Content-Type: text/plain; charset=utf-8",
                  "Content-Transfer-Encoding: 8bit", "", body, f"--{b}",
                  "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 8bit",
                  "", html, f"--{b}--", "", ""]
    return "\n".join(lines)


def _cal_address(p: Party, **params: str) -> icalendar.vCalAddress:
    addr = icalendar.vCalAddress(f"mailto:{p.addr}")
    if p.name:
        # A DQUOTE cannot sit in a parameter value (RFC 5545 3.2); the demo has always
        # written it as an apostrophe, which the ingest reads back as the name.
        addr.params["CN"] = p.name.replace('"', "'")
    for key, value in params.items():
        addr.params[key] = value
    return addr


def render_vevent(uid: str, ts: datetime, end: datetime | None, all_day: bool,
                  organizer: Party, attendees: list[tuple[Party, str]], summary: str,
                  description: str, location: str, status: str, sequence: int) -> str:
    """One VEVENT (CRLF lines, folded by icalendar); the writer streams them into a calendar."""
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("dtstamp", (ts - timedelta(days=3)).astimezone(UTC))
    if all_day:
        ev.add("dtstart", ts.date())
        ev.add("dtend", (ts + timedelta(days=1)).date())
    else:
        ev.add("dtstart", ts.astimezone(UTC))
        if end is not None:
            ev.add("dtend", end.astimezone(UTC))
    ev.add("summary", summary)
    if description:
        ev.add("description", description)
    if location:
        ev.add("location", location)
    ev.add("organizer", _cal_address(organizer))
    for p, partstat in attendees:
        ev.add("attendee", _cal_address(p, ROLE="REQ-PARTICIPANT", PARTSTAT=partstat))
    ev.add("status", status)
    ev.add("sequence", sequence)
    return ev.to_ical(sorted=False).decode("utf-8")


def _yaml_value(v: Any) -> Any:
    # Timestamps in UTC, as every other format of the demo writes them.
    if isinstance(v, datetime):
        return v.astimezone(UTC)
    if isinstance(v, list):
        return [_yaml_value(x) for x in v]
    return v


def front_matter(fm: dict[str, Any]) -> str:
    """YAML front matter of a Markdown note or post (keys in the given order)."""
    body = yaml.safe_dump({k: _yaml_value(v) for k, v in fm.items()}, sort_keys=False,
                          allow_unicode=True, default_flow_style=None, width=10_000)
    return f"---\n{body}---\n\n"
