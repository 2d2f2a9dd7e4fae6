"""The world of the demo business: organizations, people and how they relate (built once,
before any stream runs)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from aios_assets.demo.tables import (
    _LONDON,
    _NICK_FIRST,
    BASE_AUDIENCE,
    BASE_ORGS,
    BILLING_TITLES,
    CITIES,
    CURRENCY,
    FREEMAIL_DOMAINS,
    INDUSTRY,
    LAST_NAMES,
    LEAD_NEEDS,
    LEAD_TITLES,
    LEGAL,
    NICKNAMES,
    OPERATOR_DOMAIN,
    OPERATOR_EMAIL,
    ORG_PREFIX,
    ORG_SUFFIX,
    PARTNER_SERVICES,
    PLAIN_FIRST,
    PRIMARY_TITLES,
    PRIORITIES,
    PROJECTS,
    SPAM_DOMAINS,
    STAFF_TITLES,
    STREETS,
    TOOLS,
    UTC,
    VENDOR_NAMES,
    Loc,
)
from aios_assets.demo.util import _alnum, _new_phone, _rng, _slug, _tz


@dataclass(eq=False)
class Org:
    org_id: str
    idx: int
    name: str
    kind: str  # operator | client | lead | partner | vendor
    domain: str
    industry: str
    loc: Loc
    street: str
    pattern: str = "first.last"
    style: str = ""  # org-wide display-name style ("lastfirst" for Outlook shops), "" = per person
    old_domain: str | None = None
    rebrand_at: datetime | None = None
    uses_chat: bool = False
    pay: str = "prompt"
    project: str = ""
    deliverable: str = ""
    retainer: int = 0
    tool: str = ""
    priority: tuple[str, str] = ("", "")
    need: str = ""
    stale: bool = False
    service: str = ""
    ap_mailbox: bool = False
    people: list[Person] = field(default_factory=list)
    billing: Person | None = None

    @property
    def slug(self) -> str:
        return _slug(self.name, 40)

    @property
    def tz(self) -> timezone:
        return _tz(self.loc)

    @property
    def currency(self) -> str:
        return CURRENCY[self.loc.country]

    @property
    def legal(self) -> str:
        return LEGAL[self.loc.country]

    def domain_at(self, t: datetime) -> str:
        if self.old_domain and self.rebrand_at and t < self.rebrand_at:
            return self.old_domain
        return self.domain

    def domains(self) -> list[str]:
        return [d for d in (self.old_domain, self.domain) if d]

    def aliases(self) -> list[str]:
        first = self.name.split()[0]
        out = [self.name, f"{self.name} {self.legal}", self.name.upper(), first]
        if self.legal == "Inc.":
            out.append(f"{self.name}, Inc.")
        return list(dict.fromkeys(out))

    def alias(self, rng: random.Random) -> str:
        r = rng.random()
        if r < 0.62 or self.kind in ("operator", "vendor"):
            return self.name
        if r < 0.80:
            return f"{self.name} {self.legal}"
        if r < 0.88:
            return self.name.split()[0] if len(self.name.split()) > 1 else self.name
        if r < 0.94:
            return self.name.upper()
        return f"{self.name}, Inc." if self.legal == "Inc." else self.name.lower()


@dataclass(eq=False)
class Person:
    person_id: str
    idx: int
    first: str
    last: str
    nick: str | None
    org: Org | None
    role: str  # operator | client | billing | lead | partner | vendor | subscriber
    title: str
    loc: Loc
    phone: str | None = None
    style: str = "formal"
    personal_email: str | None = None
    personal_pref: float = 0.0
    locals: tuple[str, str] | None = None  # work local part before / after a name change
    married_last: str | None = None
    married_at: datetime | None = None
    in_crm: bool = False
    subscribed: bool = False
    service: str = ""
    service_unique: bool = False
    variants: set[str] = field(default_factory=set)
    used_emails: set[str] = field(default_factory=set)

    def last_at(self, t: datetime) -> str:
        if self.married_last and self.married_at and t >= self.married_at:
            return self.married_last
        return self.last

    @property
    def final_last(self) -> str:
        return self.married_last or self.last

    @property
    def canonical_name(self) -> str:
        return f"{self.first} {self.final_last}"

    @property
    def short(self) -> str:
        """What they sign emails with."""
        return self.nick if (self.nick and self.style == "nick") else self.first

    def work_email(self, t: datetime) -> str | None:
        if self.org is None or self.locals is None:
            return None
        changed = self.married_at is not None and t >= self.married_at
        return f"{self.locals[1] if changed else self.locals[0]}@{self.org.domain_at(t)}"

    def primary_email(self, t: datetime) -> str:
        return self.work_email(t) or self.personal_email or ""


@dataclass
class World:
    seed: int
    scale: float
    days: int
    start: date
    start_dt: datetime
    end_dt: datetime
    k: float  # activity multiplier per organization (keeps events linear in scale)
    operator: Person
    op_org: Org
    orgs: list[Org]
    people: list[Person]
    audience: list[Person]
    independents: list[Person]
    ledgerly: Org

    @property
    def clients(self) -> list[Org]:
        return [o for o in self.orgs if o.kind == "client"]

    @property
    def leads(self) -> list[Person]:
        return [p for p in self.people if p.role == "lead"]


def _make_local(pattern: str, first: str, last: str) -> str:
    f, lst = _alnum(first) or "x", _alnum(last) or "x"
    if pattern == "flast":
        return f[0] + lst
    if pattern == "first":
        return f
    if pattern == "firstl":
        return f + lst[0]
    if pattern == "first_last":
        return f"{f}_{lst}"
    return f"{f}.{lst}"


def build_world(seed: int, scale: float, days: int, start: date) -> World:
    rng = _rng(seed, "world")
    start_dt = datetime(start.year, start.month, start.day, tzinfo=UTC)
    end_dt = start_dt + timedelta(days=days)
    span = end_dt - start_dt

    def at_frac(f: float) -> datetime:
        return start_dt + timedelta(seconds=int(span.total_seconds() * f))

    n_orgs = max(6, round(BASE_ORGS * math.sqrt(scale)))
    k = scale * BASE_ORGS / n_orgs
    n_vendor = 2 + round(0.04 * n_orgs)
    rest = n_orgs - n_vendor
    n_client = max(2, round(rest * 0.45))
    n_partner = max(1, round(rest * 0.17))
    n_lead = max(1, rest - n_client - n_partner)

    taken_names: set[str] = set()
    taken_domains: set[str] = {OPERATOR_DOMAIN, *FREEMAIL_DOMAINS, *SPAM_DOMAINS}
    taken_phones: set[str] = set()
    taken_emails: set[str] = set()
    people: list[Person] = []
    orgs: list[Org] = []

    op_org = Org("O0000", 0, "Okafor Strategy", "operator", OPERATOR_DOMAIN, "consulting",
                  _LONDON, "12 Wharf Road")
    operator = Person("P00000", 0, "Maya", "Okafor", None, op_org, "operator", "Principal",
                       _LONDON, phone="+447700900417", personal_email="maya.okafor@proton.example")
    operator.locals = ("maya", "maya")
    taken_phones.add(operator.phone or "")
    taken_emails.update({OPERATOR_EMAIL, operator.personal_email or ""})
    op_org.people.append(operator)
    people.append(operator)

    def new_org(kind: str, name: str | None = None, domain: str | None = None) -> Org:
        idx = len(orgs) + 1
        if name is None:
            for attempt in range(400):
                pre, suf = rng.choice(ORG_PREFIX), rng.choice(ORG_SUFFIX)
                name = f"{pre} {suf}" if attempt < 300 else f"{pre} {suf} {idx}"
                if name not in taken_names:
                    break
        assert name is not None
        taken_names.add(name)
        words = name.split()
        if domain is None:
            cands = [_alnum(name), "-".join(_alnum(w) for w in words), _alnum(words[0]),
                     _alnum(words[0]) + _alnum(words[-1])[:3]]
            choice = cands[rng.choice((0, 0, 1, 2, 3))]
            for cand in [choice, *cands, f"{cands[0]}{idx}"]:
                if f"{cand}.example" not in taken_domains:
                    domain = f"{cand}.example"
                    break
        assert domain is not None
        taken_domains.add(domain)
        suffix = words[-1] if words[-1] in INDUSTRY else (words[1] if len(words) > 1 else "")
        org = Org(f"O{idx:04d}", idx, name, kind, domain, INDUSTRY.get(suffix, "software"),
                   rng.choice(CITIES), f"{rng.randint(1, 400)} {rng.choice(STREETS)}")
        org.pattern = rng.choice(("first.last", "first.last", "first.last", "flast", "first",
                                  "firstl", "first_last"))
        org.style = "lastfirst" if rng.random() < 0.15 else ""
        orgs.append(org)
        return org

    def new_person(org: Org | None, role: str, title: str, first: str | None = None,
                   last: str | None = None, nick: str | None = None,
                   loc: Loc | None = None) -> Person:
        if first is None:
            if rng.random() < 0.45:
                first = rng.choice(_NICK_FIRST)
                nick = rng.choice(NICKNAMES[first]) if rng.random() < 0.7 else None
            else:
                first = rng.choice(PLAIN_FIRST)
        if last is None:
            last = rng.choice(LAST_NAMES)
        idx = len(people)
        p = Person(f"P{idx:05d}", idx, first, last, nick, org, role, title,
                    loc or (org.loc if org else rng.choice(CITIES)))
        people.append(p)
        if org is not None:
            org.people.append(p)
        return p

    # --- vendors (the newsletter platform and the accounting tool are always there) ---------
    ledgerly = new_org("vendor", "Ledgerly", "ledgerly.example")
    tally = new_org("vendor", "Tallybook", "tallybook.example")
    for v in (ledgerly, tally):
        v.industry = "software"
    for i in range(n_vendor - 2):
        name = VENDOR_NAMES[2 + i] if 2 + i < len(VENDOR_NAMES) else None
        new_org("vendor", name)

    # --- clients, leads, partners ----------------------------------------------------------
    clients = [new_org("client", "Harborview Logistics", "harborview.example")]
    clients[0].loc, clients[0].pattern, clients[0].style = CITIES[0], "first.last", ""
    clients += [new_org("client") for _ in range(n_client - 1)]
    lead_orgs = [new_org("lead") for _ in range(n_lead)]
    partner_orgs = [new_org("partner") for _ in range(n_partner)]

    for i, o in enumerate(clients):
        o.project, o.deliverable = rng.choice(PROJECTS)
        o.retainer = rng.choice((4500, 5000, 6000, 6500, 7500, 8000, 9500, 12000))
        o.tool = rng.choice(TOOLS)
        o.priority = rng.choice(PRIORITIES)
        o.pay = rng.choices(("prompt", "late", "partial", "never"), (50, 25, 10, 15))[0]
        o.uses_chat = rng.random() < 0.75
        o.ap_mailbox = rng.random() < 0.25
        if i == 0:  # the demo's anchor client
            (o.project, o.deliverable, o.retainer, o.tool, o.pay, o.uses_chat,
             o.ap_mailbox) = ("customer churn model", "churn dashboard", 6500, "Snowflake",
                              "never", True, False)
            o.priority = PRIORITIES[0]
    for i, o in enumerate(lead_orgs):
        o.need = rng.choice(LEAD_NEEDS)
        o.stale = (i % 5 in (1, 3)) if len(lead_orgs) > 1 else False
    services = [svc for svc, _ in PARTNER_SERVICES]
    rng.shuffle(services)
    n_services = [0]

    def next_service() -> tuple[str, bool]:
        i = n_services[0]
        n_services[0] += 1
        return services[i % len(services)], i < len(services)

    for o in partner_orgs:
        o.uses_chat = rng.random() < 0.5

    # --- people ------------------------------------------------------------------------------
    hv = clients[0]
    dana = new_person(hv, "client", "COO", "Dana", "Whitfield")
    bob = new_person(hv, "billing", "Finance Director", "Robert", "Alvarez", "Bob")
    bob.style = "nick"
    kate = new_person(hv, "client", "Head of Data", "Katherine", "Lee", "Kate")
    kate.married_last, kate.married_at = "Moreno", at_frac(0.45)
    dana.personal_email, dana.personal_pref = "dana.whitfield@gmail.example", 0.08
    hv.billing = bob
    for o in clients[1:]:
        n = rng.choice((2, 2, 3, 3, 4))
        new_person(o, "client", rng.choice(PRIMARY_TITLES))
        for _ in range(n - 1):
            new_person(o, "client", rng.choice(STAFF_TITLES))
        if rng.random() < 0.5:
            o.billing = new_person(o, "billing", rng.choice(BILLING_TITLES))
        else:
            o.billing = o.people[0]
    for o in lead_orgs:
        new_person(o, "lead", rng.choice(LEAD_TITLES))
    for o in partner_orgs:
        o.service, unique = next_service()
        svc_title = dict(PARTNER_SERVICES)[o.service]
        for _ in range(rng.choice((1, 1, 2))):
            p = new_person(o, "partner", svc_title)
            p.service, p.service_unique = o.service, unique
    for o in orgs:
        if o.kind == "vendor" and (o is ledgerly or rng.random() < 0.5):
            new_person(o, "vendor", "Account Manager")
    independents = []
    for _ in range(max(1, round(2 * math.sqrt(scale)))):
        service, unique = next_service()
        p = new_person(None, "partner", f"Freelance {dict(PARTNER_SERVICES)[service]}")
        p.service, p.service_unique = service, unique
        independents.append(p)

    # --- deliberate traps: same names at different companies, married names -----------------
    if len(clients) > 1 and lead_orgs:
        for p in (clients[1].people[-1], lead_orgs[0].people[0]):
            p.first, p.last, p.nick = "Michael", "Chen", "Mike"
    org_people = [p for p in people if p.org is not None and p.role != "operator"]
    for _ in range(max(0, round(2 * math.sqrt(scale)) - 1)):
        a, b = rng.sample(org_people, 2)
        if (a.org is not b.org and b.org is not hv and a.married_last is None
                and b.married_last is None):
            b.first, b.last, b.nick = a.first, a.last, a.nick
    for o in clients[1:]:
        for p in o.people:
            if rng.random() < 0.05 and p.married_last is None:
                p.married_last = rng.choice([x for x in LAST_NAMES if x != p.last])
                p.married_at = at_frac(rng.uniform(0.2, 0.8))
    if len(clients) > 2:  # a client moves to a new email domain mid-window
        o = clients[2]
        new_domain = f"{_alnum(o.name.split()[0])}-{_alnum(o.name.split()[-1])}group.example"
        if new_domain not in taken_domains:
            taken_domains.add(new_domain)
            o.old_domain, o.domain, o.rebrand_at = o.domain, new_domain, at_frac(0.5)

    # --- addresses, phones, display styles ------------------------------------------------
    styles = ("formal",) * 12 + ("nick",) * 3 + ("short", "lower", "none", "none")
    for p in people[1:]:
        if p.org is not None:
            used_locals = {q.locals[0] for q in p.org.people if q.locals} | {
                q.locals[1] for q in p.org.people if q.locals}
            pair = []
            for last in (p.last, p.final_last):
                base = _make_local(p.org.pattern, p.first, last)
                local, n = base, 2
                while local in used_locals or local in ("ap", "accounts", "noreply", "info"):
                    local, n = f"{base}{n}", n + 1
                pair.append(local)
                used_locals.add(local)
            p.locals = (pair[0], pair[1])
        if p.org is None or rng.random() < 0.4:
            for _ in range(50):
                given = _alnum(p.nick if (p.nick and rng.random() < 0.4) else p.first)
                lst = _alnum(p.last)
                form = rng.randrange(4)
                local = (f"{given}.{lst}", f"{given}{lst}", f"{given[0]}{lst}",
                         f"{given}.{lst}{rng.randint(70, 99)}")[form]
                addr = f"{local}@{rng.choice(FREEMAIL_DOMAINS)}"
                if addr not in taken_emails:
                    taken_emails.add(addr)
                    p.personal_email = addr
                    break
            p.personal_pref = 1.0 if p.org is None else rng.choice((0.05, 0.1, 0.3))
        p.phone = _new_phone(rng, p.loc, taken_phones)
        p.style = p.style if p.style != "formal" else rng.choice(styles)
        if p.style == "nick" and not p.nick:
            p.style = "formal"
        if p.org is not None and p.org.style:
            p.style = p.org.style
    dana.style = kate.style = "formal"

    # --- the newsletter audience -------------------------------------------------------------
    audience = []
    for _ in range(max(20, round(BASE_AUDIENCE * math.sqrt(scale)))):
        p = new_person(None, "subscriber", "")
        for _ in range(50):
            given, lst = _alnum(p.nick or p.first), _alnum(p.last)
            local = rng.choice((f"{given}.{lst}", f"{given}{lst}{rng.randint(1, 99)}",
                                f"{given[0]}.{lst}", f"{lst}.{given}"))
            addr = f"{local}@{rng.choice(FREEMAIL_DOMAINS)}"
            if addr not in taken_emails:
                taken_emails.add(addr)
                p.personal_email, p.personal_pref = addr, 1.0
                break
        p.style = rng.choice(styles)
        if p.style == "nick" and not p.nick:
            p.style = "formal"
        audience.append(p)

    # --- who is in which export ---------------------------------------------------------------
    for p in people[1:]:
        if p.role == "subscriber":
            p.subscribed = True
            continue
        p.in_crm = p.role != "vendor" or rng.random() < 0.5
        if p.org is hv:
            p.in_crm = p.subscribed = True
        else:
            p.subscribed = rng.random() < 0.5
    operator.subscribed = True
    return World(seed, scale, days, start, start_dt, end_dt, k, operator, op_org,
                  [op_org, *orgs], people, audience, independents, ledgerly)


