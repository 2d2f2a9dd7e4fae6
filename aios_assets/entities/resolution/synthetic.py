"""Noisy synthetic person records with ground truth, for held-out checks of the resolver.

Independent of ``fake_1000.csv``: the generator draws people from its own name lists and then
makes 1-6 records per person with the kinds of damage real contact data shows — typos,
nicknames, missing values, first/last name swapped, a different (work vs personal) email, digit
and day/month errors in dates of birth, misspelt cities. It also plants *hard negatives*: distinct
people who share a common first and last name, and relatives who share a surname, city, postcode
and sometimes a household email.

Every value is drawn from ``random.Random(seed)``, so a seed always gives the same records.
Street addresses come from a second generator seeded from ``seed`` (``_street_rng``), so adding
them left every other value of a seed as it was. A household shares one address.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import date, timedelta

FIRST_NAMES = (
    "james john robert michael william david richard joseph thomas charles christopher daniel "
    "matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy "
    "ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin "
    "scott brandon benjamin samuel gregory alexander frank patrick raymond jack dennis jerry "
    "tyler aaron jose adam nathan henry douglas zachary peter kyle noah ethan jeremy walter "
    "christian keith roger terry austin sean gerald carl harold dylan arthur lawrence jordan "
    "jesse bryan billy bruce gabriel joe logan alan juan albert willie elijah wayne randy "
    "vincent mason roy ralph bobby russell bradley philip eugene mary patricia jennifer linda "
    "elizabeth barbara susan jessica sarah karen lisa nancy betty margaret sandra ashley "
    "kimberly emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca "
    "sharon laura cynthia kathleen amy angela shirley anna brenda pamela emma nicole helen "
    "samantha katherine christine debra rachel carolyn janet catherine maria heather diane "
    "ruth julie olivia joyce virginia victoria kelly lauren christina joan evelyn judith "
    "megan andrea cheryl hannah jacqueline martha gloria teresa ann sara madison frances "
    "kathryn janice jean abigail alice judy sophia grace denise amber doris marilyn danielle "
    "beverly isabella theresa diana natalie brittany charlotte marie kayla alexis lori "
    "priya ananya wei mei hiroshi yuki aisha fatima omar ali mohammed sofia lucia mateo "
    "diego chloe amelia oliver harry jacob leo freya isla poppy"
).split()

SURNAMES = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez "
    "lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson "
    "white harris sanchez clark ramirez lewis robinson walker young allen king wright scott "
    "torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter "
    "roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart "
    "morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed "
    "kelly howard ramos kim cox ward richardson watson brooks chavez wood james bennett gray "
    "mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster jimenez "
    "powell jenkins perry russell sullivan bell coleman butler henderson barnes gonzales "
    "fisher vasquez simmons romero jordan patterson alexander hamilton graham reynolds "
    "griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar "
    "stevens murray ford castro marshall owens harrison fernandez mcdonald woods washington "
    "kennedy wells vargas henry chen freeman webb tucker guzman burns crawford olson simpson "
    "porter hunter gordon mendez silva shaw snyder mason dixon munoz hunt hicks holmes palmer "
    "wagner black robertson boyd rose stone salazar fox warren mills meyer rice schmidt "
    "garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn "
    "kowalski nakamura okafor haddad oconnor fitzgerald van-der-berg dubois rossi"
).split()

NICKNAMES = {
    "william": ["bill", "will", "billy"], "robert": ["bob", "rob", "bobby"],
    "richard": ["rick", "dick", "rich"], "james": ["jim", "jimmy", "jamie"],
    "john": ["jack", "johnny"], "michael": ["mike", "mick"], "joseph": ["joe", "joey"],
    "thomas": ["tom", "tommy"], "charles": ["charlie", "chuck"],
    "christopher": ["chris", "kit"], "daniel": ["dan", "danny"], "matthew": ["matt"],
    "anthony": ["tony"], "steven": ["steve"], "andrew": ["andy", "drew"],
    "kenneth": ["ken", "kenny"], "timothy": ["tim"], "edward": ["ed", "ted", "eddie"],
    "jonathan": ["jon"], "stephen": ["steve"], "benjamin": ["ben"], "samuel": ["sam"],
    "alexander": ["alex"], "patrick": ["pat"], "nicholas": ["nick"], "gregory": ["greg"],
    "elizabeth": ["liz", "beth", "betty", "lizzie"], "margaret": ["maggie", "peggy", "meg"],
    "jennifer": ["jen", "jenny"], "patricia": ["pat", "trish"], "susan": ["sue"],
    "katherine": ["kate", "kathy", "katie"], "catherine": ["cathy", "kate"],
    "rebecca": ["becky"], "deborah": ["deb", "debbie"], "kimberly": ["kim"],
    "victoria": ["vicky", "tori"], "christina": ["tina", "chris"], "samantha": ["sam"],
    "abigail": ["abby"], "alexis": ["lexi"], "jacqueline": ["jackie"], "pamela": ["pam"],
    "stephanie": ["steph"], "theresa": ["tess"], "dorothy": ["dot"], "judith": ["judy"],
}

CITIES = (
    "london manchester birmingham leeds glasgow liverpool bristol sheffield edinburgh cardiff "
    "leicester coventry nottingham newcastle brighton hull plymouth stoke wolverhampton derby "
    "swansea southampton aberdeen portsmouth york peterborough dundee lancaster oxford "
    "cambridge norwich exeter bath"
).split()

DOMAINS_PERSONAL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "proton.me",
                    "icloud.com"]
STREET_WORDS = (
    "high church station mill park victoria king queen albert green manor chapel bridge "
    "london north south west east elm oak ash beech cedar willow maple rose orchard meadow "
    "grange abbey castle hill school springfield windsor york kingsway wallaby banksia wattle"
).split()
STREET_TYPES = (("street", "st"), ("road", "rd"), ("avenue", "ave"), ("lane", "ln"),
                ("place", "pl"), ("drive", "dr"), ("close", "cl"), ("crescent", "cres"))
COMPANY_WORDS = ["acme", "globex", "initech", "umbrella", "stark", "wayne", "hooli", "vandelay",
                 "soylent", "tyrell", "cyberdyne", "wonka", "oscorp", "gringotts", "monarch"]


@dataclass
class Person:
    pid: int
    first: str
    last: str
    dob: date | None
    city: str
    postcode: str
    phone: str
    emails: list[str]
    company: str


_CUM_WEIGHTS: dict[tuple[int, float], list[float]] = {}


def _zipf_choice(rng: random.Random, items, s: float = 1.0) -> str:
    # Zipf-like: a few very common names, a long tail (as in real populations).
    key = (id(items), s)
    cum = _CUM_WEIGHTS.get(key)
    if cum is None:
        cum, total = [], 0.0
        for i in range(len(items)):
            total += 1.0 / (i + 1) ** s
            cum.append(total)
        _CUM_WEIGHTS[key] = cum
    return rng.choices(items, cum_weights=cum, k=1)[0]


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text))
    op = rng.random()
    letters = string.ascii_lowercase
    if op < 0.3:  # substitute
        return text[:i] + rng.choice(letters) + text[i + 1 :]
    if op < 0.55:  # delete
        return text[:i] + text[i + 1 :]
    if op < 0.8:  # insert
        return text[:i] + rng.choice(letters) + text[i:]
    j = min(i + 1, len(text) - 1)  # transpose
    chars = list(text)
    chars[i - 1], chars[j] = chars[j], chars[i - 1]
    return "".join(chars)


def _cap(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def _make_email(rng: random.Random, first: str, last: str, domain: str) -> str:
    style = rng.random()
    if style < 0.35:
        local = f"{first}.{last}"
    elif style < 0.6:
        local = f"{first[0]}{last}"
    elif style < 0.8:
        local = f"{first}{rng.randint(1, 99)}"
    else:
        local = f"{first[0]}.{last[0]}{rng.randint(10, 999)}"
    return f"{local}@{domain}".replace("'", "")


def _unique(email: str, used: set[str], pid: int) -> str:
    # An address belongs to one mailbox: two different people never share one by accident
    # (a shared household address is planted on purpose, see generate()).
    if email in used:
        local, domain = email.split("@", 1)
        email = f"{local}{pid}@{domain}"
    used.add(email)
    return email


def _new_person(rng: random.Random, pid: int, *, first=None, last=None, city=None,
                postcode=None, household_email=None, used=None) -> Person:
    first = first or _zipf_choice(rng, FIRST_NAMES, 0.7)
    last = last or _zipf_choice(rng, SURNAMES, 0.8)
    dob = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 65))
    city = city or _zipf_choice(rng, CITIES, 1.0)
    postcode = postcode or (
        f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}"
        f"{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    )
    phone = "+447" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    company = rng.choice(COMPANY_WORDS) + rng.choice(["", " ltd", " inc", " group"])
    work_domain = company.split()[0] + rng.choice([".com", ".co.uk", ".io"])
    emails = [_make_email(rng, first, last, rng.choice(DOMAINS_PERSONAL)),
              _make_email(rng, first, last, work_domain)]
    if used is not None:
        emails = [_unique(e, used, pid) for e in emails]
    if household_email:
        emails[0] = household_email
    return Person(pid, first, last, dob, city, postcode, phone, emails, company)


def _record(rng: random.Random, p: Person, *, noise: float) -> dict:
    first, last = p.first, p.last
    r = rng.random
    if first in NICKNAMES and r() < 0.25 * noise * 2:
        first = rng.choice(NICKNAMES[first])
    if r() < 0.15 * noise * 2:
        first = _typo(rng, first)
    if r() < 0.15 * noise * 2:
        last = _typo(rng, last)
    dob = p.dob
    dob_s = dob.isoformat() if dob else None
    if dob and r() < 0.12 * noise * 2:
        kind = r()
        if kind < 0.4:  # one digit wrong
            s = list(dob_s)
            pos = rng.choice([2, 3, 5, 6, 8, 9])
            s[pos] = str(rng.randint(0, 9))
            cand = "".join(s)
            try:
                date.fromisoformat(cand)
                dob_s = cand
            except ValueError:
                pass
        elif kind < 0.7 and dob.day <= 12:  # day and month swapped
            dob_s = date(dob.year, dob.day, dob.month).isoformat()
        else:  # off by a few days
            dob_s = (dob + timedelta(days=rng.randint(-3, 3))).isoformat()
    email = rng.choice(p.emails) if r() < 0.9 else (
        f"{p.first}.{p.last}.{p.pid}@{rng.choice(DOMAINS_PERSONAL)}")
    if r() < 0.05 * noise * 2:
        email = _typo(rng, email.split("@")[0]) + "@" + email.split("@")[1]
    city = p.city if r() > 0.1 * noise * 2 else _typo(rng, p.city)
    rec = {
        "first_name": _cap(first),
        "last_name": _cap(last),
        "dob": dob_s,
        "city": city.capitalize(),
        "email": email,
        "phone": p.phone,
        "postcode": p.postcode,
        "company": p.company,
    }
    if r() < 0.05 * noise * 2:  # swapped name fields
        rec["first_name"], rec["last_name"] = rec["last_name"], rec["first_name"]
    # Missing values: each field independently, never all of them.
    for key, p_missing in (("first_name", 0.08), ("last_name", 0.08), ("dob", 0.25),
                           ("city", 0.2), ("email", 0.2), ("phone", 0.5),
                           ("postcode", 0.5), ("company", 0.5)):
        if r() < p_missing * noise * 2:
            rec[key] = None
    if not any(rec[k] for k in ("first_name", "last_name", "email")):
        rec["email"] = p.emails[0]
    return rec


def generate(n_people: int, *, seed: int, noise: float = 0.5, max_records: int = 6,
             hard_negative_rate: float = 0.15) -> list[dict]:
    """Records for ``n_people`` people: dicts with ``unique_id``, ``cluster`` and person fields.

    ``noise`` scales every corruption probability (0.5 = the default mix). About
    ``hard_negative_rate`` of the people are planted look-alikes: a namesake (same first and last
    name, different everything else) or a relative (same surname, city, postcode; sometimes the
    same household email).
    """
    rng = random.Random(seed)
    people: list[Person] = []
    used: set[str] = set()
    pid = 0
    while len(people) < n_people:
        base = _new_person(rng, pid, used=used)
        people.append(base)
        pid += 1
        if len(people) < n_people and rng.random() < hard_negative_rate:
            if rng.random() < 0.5:  # namesake
                people.append(_new_person(rng, pid, first=base.first, last=base.last, used=used))
            else:  # relative in the same household
                household = base.emails[0] if rng.random() < 0.3 else None
                people.append(_new_person(rng, pid, last=base.last, city=base.city,
                                          postcode=base.postcode, household_email=household,
                                          used=used))
            pid += 1
    streets = _streets(people, random.Random(_street_rng(seed)))
    records: list[dict] = []
    for p in people:
        n = min(max_records, max(1, int(rng.expovariate(1 / 1.6)) + 1))
        for _ in range(n):
            rec = _record(rng, p, noise=noise)
            rec["street"] = _street_variant(streets.rng, streets.by_household[p.postcode],
                                            noise=noise)
            rec["cluster"] = p.pid
            records.append(rec)
    rng.shuffle(records)
    for i, rec in enumerate(records):
        rec["unique_id"] = i
    return records


def _street_rng(seed: int) -> int:
    return seed * 7919 + 17


@dataclass
class _Streets:
    rng: random.Random
    by_household: dict[str, tuple[int, str, int]]  # postcode -> (number, name, type index)


def _streets(people: list[Person], rng: random.Random) -> _Streets:
    # Relatives share their base person's postcode: one address per postcode is one per
    # household.
    by_household: dict[str, tuple[int, str, int]] = {}
    for p in people:
        if p.postcode not in by_household:
            by_household[p.postcode] = (
                rng.randint(1, 240), _zipf_choice(rng, STREET_WORDS, 0.6),
                rng.randrange(len(STREET_TYPES)),
            )
    return _Streets(rng, by_household)


def _street_variant(rng: random.Random, address: tuple[int, str, int], *,
                    noise: float) -> str | None:
    number, name, kind = address
    r = rng.random
    if r() < 0.4 * noise * 2:  # missing, as often as a postcode
        return None
    if r() < 0.1 * noise * 2:
        name = _typo(rng, name)
    full, short = STREET_TYPES[kind]
    street_type = short if r() < 0.4 else full
    if r() < 0.05 * noise * 2:  # the number left out
        return f"{name.capitalize()} {street_type.capitalize()}"
    return f"{number} {name.capitalize()} {street_type.capitalize()}"
