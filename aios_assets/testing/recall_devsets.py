"""Development sets for the memory recall engine (``aios_assets.recall``): the generators.

Two sets, both deterministic per seed, no network, no LLM:

* **chats** — :func:`generate_chats`: long multi-session conversations between two people
  (personas with jobs, families, pets, hobbies, trips, health and goals), 15–25 sessions over
  6–12 months, one JSONL event per turn in the product's public schema (``source_id`` is the turn
  id ``D<session>:<turn>``, ``thread`` the conversation), photos with a ``blip_caption`` key, and
  ~150–250 questions per conversation (single-hop, multi-hop, temporal, open-domain) whose
  evidence is a list of turn ids. Life events come from ``aios_assets.testing.recall_catalogue``.
* **demo** — :func:`demo_questions`: natural questions about the demo business of
  ``aios_assets.demo`` whose evidence is specific events' ``source_id``.

Splits: seed 1 is ``dev`` (tune on it), seed 2 is ``test`` (report on it, never tune to it).
The harness is ``benchmarks.recall_eval``; see ``benchmarks/RECALL.md``.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from aios_assets.testing.recall_questions import (
    _PLACEHOLDER,
    Catalogue,
    DevSet,
    Question,
    Template,
    load_catalogue,
    write_questions,
)

MAX_QUESTIONS = 250  # per conversation
MAX_SESSION_TURNS = 30
MIN_TAG_EVENTS, MAX_TAG_EVENTS = 2, 5  # a cross-event multi-hop question spans this many events
TAG_MULTI_PER_PERSON = 3  # cross-event questions ("What does Maya do to unwind?")...
TAG_OPEN_PER_PERSON = 2  # ... open-domain ones over a tag ("Would Maya enjoy a hike?")
TAG_BOTH_PER_CONVERSATION = 2  # ... and about both speakers ("Where have both traveled?")
# Share of the templates' questions that are asked, by category (all single-/multi-hop ones).
ASKED_SHARE = {"open-domain": 0.5, "temporal": 0.7}

__all__ = ["Conversation", "generate_chats", "generate_conversation"]

# =============================================================================================
# personas
# =============================================================================================

SPEAKERS = (
    "Maya", "Jon", "Priya", "Theo", "Lena", "Marcus", "Aisha", "Dev", "Sofia", "Caleb", "Nora",
    "Omar", "Hana", "Luca", "Iris", "Mateo", "Zara", "Felix", "Ruby", "Kofi", "Elena", "Tessa",
    "Rafael", "Mina", "Oscar", "Leila", "Noah", "Ivy", "Jamal", "Clara", "Eli", "Freya", "Hugo",
    "Anya", "Ben", "Chloe", "Diego", "Greta", "Ahmed", "Yuki", "Paolo", "Nadia", "Finn", "Rosa",
    "Kai", "Lucy", "Arjun", "Selin", "Tomas", "Gina", "Malik", "Esther", "Ravi", "Carmen",
)
_PERSONA_POOLS: dict[str, tuple[str, ...]] = {
    "kid": ("Emma", "Leo", "Mia", "Sam", "Ava", "Jack", "Lila", "Max", "Nina", "Oli", "Rosie",
            "Ethan"),
    "dog": ("Rufus", "Bella", "Charlie", "Luna", "Bruno", "Daisy", "Milo", "Nala", "Scout",
            "Teddy"),
    "breed": ("labrador", "poodle", "husky", "greyhound", "terrier", "spaniel", "pug",
              "shepherd"),
    "cat": ("Whiskers", "Salem", "Ginger", "Mittens", "Oreo", "Tigger", "Luna", "Socks"),
    "friend": ("Kim", "Jules", "Ade", "Marta", "Rob", "Suki", "Hector", "Fiona", "Zoe", "Raj"),
    "city": ("Portland", "Leeds", "Austin", "Melbourne", "Denver", "Glasgow", "Toronto",
             "Lisbon"),
    "hometown": ("Cork", "Nairobi", "Kraków", "Tucson", "Valencia", "Halifax", "Pune",
                 "Savannah", "Bergen", "Adelaide"),
    "job": ("nurse", "high school teacher", "software developer", "graphic designer",
            "accountant", "chef", "physiotherapist", "architect", "paramedic", "librarian",
            "electrician", "pharmacist", "journalist", "social worker", "data analyst"),
    "work": ("the hospital", "Lincoln High", "a fintech startup", "the design agency",
             "the city council", "a hotel kitchen", "the clinic", "an architecture firm",
             "the public library", "the newspaper"),
}


_MEN = ("Daniel", "Chris", "Lukas", "Mohammed", "Andre", "Pete", "Mark", "Sean", "Karl",
        "Rohan", "Tom", "Victor")
_WOMEN = ("Sara", "Amira", "Jess", "Beth", "Naomi", "Lin", "Anna", "Julia", "Dina", "Laura",
          "Bea", "Ines")


def _relative(rng: random.Random, kind: tuple[str, ...], avoid: str | None) -> tuple[str, str]:
    """(relation word, name) with a name that fits the relation (and differs from ``avoid``)."""
    rel = rng.choice(kind)
    names = _MEN if rel in ("husband", "brother") else _WOMEN if rel in ("wife", "sister") \
        else _MEN + _WOMEN
    return rel, rng.choice([n for n in names if n != avoid])


@dataclass(frozen=True)
class Persona:
    name: str
    slots: dict[str, str]
    flags: frozenset[str]

    def fits(self, t: Template) -> bool:
        return set(t.requires) <= self.flags


def make_persona(rng: random.Random, name: str, avoid: dict[str, str] | None = None) -> Persona:
    """A persona whose slot values differ from ``avoid`` (the other speaker's)."""
    avoid = avoid or {}
    slots = {k: rng.choice([v for v in pool if v != avoid.get(k)] or pool)
             for k, pool in _PERSONA_POOLS.items()}
    kid2 = [v for v in _PERSONA_POOLS["kid"] if v not in (slots["kid"], avoid.get("kid"))]
    slots["kid2"] = rng.choice(kid2)
    slots["kidrel"] = rng.choice(("son", "daughter"))
    slots["sibrel"], slots["sib"] = _relative(rng, ("sister", "brother"), avoid.get("sib"))
    flags: set[str] = set()
    if rng.random() < 0.5:
        flags.add("kids")
    if rng.random() < 0.5:
        flags.add("dog")
    if rng.random() < 0.3:
        flags.add("cat")
    if rng.random() < 0.7:
        flags.add("spouse")
        slots["sprel"], slots["spouse"] = _relative(
            rng, ("husband", "wife", "partner", "husband", "wife"), avoid.get("spouse"))
        if slots["sprel"] == "partner":
            flags.add("unmarried")
    else:
        slots["sprel"], slots["spouse"] = _relative(rng, ("partner",), avoid.get("spouse"))
    return Persona(name, slots, frozenset(flags))


# =============================================================================================
# relative time
# =============================================================================================

# (phrase, kind, weight). Each resolves against the session date to a date and an answer.
REL_TIMES: tuple[tuple[str, str, int], ...] = (
    ("yesterday", "day1", 5), ("last weekend", "weekend", 2), ("last week", "week", 3),
    ("two weeks ago", "weeks2", 1), ("a few days ago", "few", 2), ("three days ago", "day3", 1),
    ("last Friday", "wd4", 1), ("last Saturday", "wd5", 1), ("last Sunday", "wd6", 1),
    ("last month", "month", 1), ("the other day", "few", 1),
)


def _fmt_day(d: date) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def resolve_rel(kind: str, session: date) -> tuple[date, str]:
    """The date a relative-time phrase points at and the answer a person would give."""
    if kind.startswith("day"):
        d = session - timedelta(days=int(kind[3:]))
        return d, _fmt_day(d)
    if kind.startswith("wd"):
        back = (session.weekday() - int(kind[2:])) % 7 or 7
        d = session - timedelta(days=back)
        return d, f"{d.strftime('%A')} {_fmt_day(d)}"
    if kind == "weekend":
        back = (session.weekday() - 5) % 7 or 7
        return session - timedelta(days=back), f"the weekend before {_fmt_day(session)}"
    if kind == "week":
        return session - timedelta(days=7), f"the week before {_fmt_day(session)}"
    if kind == "weeks2":
        return session - timedelta(days=14), f"two weeks before {_fmt_day(session)}"
    if kind == "few":
        return session - timedelta(days=3), f"a few days before {_fmt_day(session)}"
    if kind == "month":
        last = session.replace(day=1) - timedelta(days=1)
        return last.replace(day=15), last.strftime("%B %Y")
    raise ValueError(f"unknown relative time kind {kind!r}")


def pick_rel(rng: random.Random) -> tuple[str, str]:
    phrase, kind, _ = rng.choices(REL_TIMES, weights=[w for *_, w in REL_TIMES])[0]
    return phrase, kind


# =============================================================================================
# conversation generation
# =============================================================================================


@dataclass
class Turn:
    speaker: str
    text: str
    caption: str | None = None
    source_id: str = ""


@dataclass
class EventInst:
    """One life event of one speaker, placed in a session."""

    template: Template
    owner: Persona
    other: Persona
    session: int
    values: dict[str, str]  # every placeholder value of this event (slots, rel, date, name...)
    s_turn: Turn | None = None
    d_turn: Turn | None = None
    u_turns: list[Turn] = field(default_factory=list)

    @property
    def s_id(self) -> str:
        assert self.s_turn is not None, "event never written"
        return self.s_turn.source_id

    @property
    def d_id(self) -> str | None:
        return self.d_turn.source_id if self.d_turn is not None else None

    @property
    def u_ids(self) -> list[str]:
        return [t.source_id for t in self.u_turns]

    def fill(self, text: str, addressee: str | None = None) -> str:
        values = dict(self.values)
        values["p"] = addressee or self.other.name
        return _fill(text, values)


def _fill(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


_AN = re.compile(r"\b([Aa]) (?=[aeioAEIO])")
_SENTENCE = re.compile(r"([.!?] )([a-z])")


def _tidy(text: str) -> str:
    """One line of chat: single spaces, "an" before a vowel, sentences start upper-case."""
    text = re.sub(r"\s+", " ", text).strip()
    text = _AN.sub(lambda m: m.group(1) + "n ", text)
    text = _SENTENCE.sub(lambda m: m.group(1) + m.group(2).upper(), text)
    return text[:1].upper() + text[1:] if text else text


@dataclass
class _Session:
    number: int
    when: datetime
    turns: list[Turn] = field(default_factory=list)

    def say(self, speaker: str, text: str, caption: str | None = None) -> Turn:
        turn = Turn(speaker, _tidy(text), caption)
        self.turns.append(turn)
        return turn

    @property
    def last(self) -> str | None:
        return self.turns[-1].speaker if self.turns else None


def _session_times(rng: random.Random, n: int) -> list[datetime]:
    start = date(2022, 1, 3) + timedelta(days=rng.randint(0, 800))
    span = rng.randint(182, 365)
    days = sorted(rng.sample(range(1, span), n - 1))
    out = []
    for d in [0, *days]:
        day = start + timedelta(days=d)
        t = time(rng.randint(8, 21), rng.choice((0, 5, 12, 18, 24, 30, 36, 41, 47, 53)))
        out.append(datetime.combine(day, t, tzinfo=UTC))
    return out


def _choose_templates(rng: random.Random, cat: Catalogue, a: Persona, b: Persona, na: int,
                      nb: int) -> tuple[list[Template], list[Template]]:
    """Events for both speakers. About a third of B's events share a topic with A's (both
    have dogs, both travel...): mostly another template of that topic, sometimes the same."""
    pool_a = [t for t in cat.templates if a.fits(t)]
    pool_b = [t for t in cat.templates if b.fits(t)]
    chosen_a = rng.sample(pool_a, min(na, len(pool_a)))
    keys_a = {t.key for t in chosen_a}
    topics_a = {t.topic for t in chosen_a}
    chosen_b: list[Template] = []
    for _ in range(nb):
        taken = {t.key for t in chosen_b}
        rest = [t for t in pool_b if t.key not in taken]
        shared = [t for t in rest if t.topic in topics_a]
        same = [t for t in shared if t.key in keys_a]
        other_key = [t for t in shared if t.key not in keys_a]
        roll = rng.random()
        source = (same if same and roll < 0.08 else other_key if other_key and roll < 0.35
                  else [t for t in rest if t.key not in keys_a] or rest)
        if source:
            chosen_b.append(rng.choice(source))
    return chosen_a, chosen_b


def _event_values(rng: random.Random, t: Template, owner: Persona, other: Persona,
                  session: datetime, used: dict[tuple[str, str], set[str]]) -> dict[str, str]:
    values = dict(owner.slots)
    values["name"] = owner.name
    for slot, options in t.slots:
        taken = used[(t.key, slot)]
        free = [o for o in options if o not in taken] or list(options)
        values[slot] = rng.choice(free)
        taken.add(values[slot])
    for slot, options in t.slots:  # slot values may use persona slots ({hometown})
        values[slot] = _fill(values[slot], values)
    phrase, kind = pick_rel(rng)
    _, answer = resolve_rel(kind, session.date())
    values["rel"], values["Rel"] = phrase, phrase[:1].upper() + phrase[1:]
    values["date"] = answer
    values["thing"] = _fill(t.thing, values)
    return values


@dataclass
class _Plan:
    events: list[EventInst]
    by_session: dict[int, list[EventInst]]
    updates_by_session: dict[int, list[tuple[EventInst, str]]]


def _plan(rng: random.Random, cat: Catalogue, a: Persona, b: Persona,
          times: list[datetime]) -> _Plan:
    n = len(times)
    per_session = [rng.choice((2, 3, 3, 4, 4)) for _ in range(n)]
    owners = [[rng.random() < 0.5 for _ in range(k)] for k in per_session]
    na = sum(x for row in owners for x in row)
    ta, tb = _choose_templates(rng, cat, a, b, na, sum(per_session) - na)
    used: dict[tuple[str, str], set[str]] = defaultdict(set)
    events: list[EventInst] = []
    by_session: dict[int, list[EventInst]] = defaultdict(list)
    for s, row in enumerate(owners, start=1):
        for is_a in row:
            pool, owner, other = (ta, a, b) if is_a else (tb, b, a)
            here = {ev.template.key for ev in by_session[s]}
            free = [i for i, t in enumerate(pool) if t.key not in here]
            if not free:
                continue
            t = pool.pop(free[-1])
            ev = EventInst(t, owner, other, s, _event_values(rng, t, owner, other, times[s - 1],
                                                             used))
            events.append(ev)
            by_session[s].append(ev)
    # Upper bounds on turns: greeting + goodbye 4, an event 5 (3 without a detail turn), a
    # callback 4; a callback goes only where the session stays within MAX_SESSION_TURNS.
    cost = {s: 4 + sum(5 if ev.template.details else 3 for ev in by_session.get(s, []))
            for s in range(1, n + 1)}
    updates: dict[int, list[tuple[EventInst, str]]] = defaultdict(list)
    for ev in events:
        if not ev.template.updates or ev.session >= n or rng.random() > 0.7:
            continue
        k = 2 if len(ev.template.updates) > 1 and rng.random() < 0.3 else 1
        room = [s for s in range(ev.session + 1, n + 1) if cost[s] + 4 <= MAX_SESSION_TURNS]
        later = sorted(rng.sample(room, min(k, len(room))))
        texts = rng.sample(ev.template.updates, len(later))
        for s, text in zip(later, texts, strict=True):
            updates[s].append((ev, text))
            cost[s] += 4
    return _Plan(events, by_session, updates)


class _Talk:
    """Writes the turns of a conversation's sessions, keeping the speakers mostly alternating
    and spreading the generic lines (least used first, never twice in one session)."""

    def __init__(self, rng: random.Random, cat: Catalogue, a: Persona, b: Persona) -> None:
        self.rng, self.cat, self.a, self.b = rng, cat, a, b
        self.s = _Session(0, datetime(2000, 1, 1, tzinfo=UTC))
        self.used: Counter[str] = Counter()
        self.variant_used: Counter[str] = Counter()
        self.here: set[str] = set()  # generic lines already said in this session

    def start(self, session: _Session) -> None:
        self.s = session
        self.here = set()

    def other(self, name: str) -> str:
        return self.b.name if name == self.a.name else self.a.name

    def fresh(self, lines: Sequence[str]) -> list[str]:
        return [x for x in lines if x not in self.here]

    def pick(self, lines: Sequence[str]) -> str:
        fresh = self.fresh(lines) or list(lines)
        low = min(self.used[x] for x in fresh)
        choice = self.rng.choice([x for x in fresh if self.used[x] == low])
        self.used[choice] += 1
        self.here.add(choice)
        return choice

    def pool(self, name: str, addressee: str) -> str:
        return _fill(self.pick(self.cat.pools[name]), {"p": addressee})

    def variant(self, key: str, lines: Sequence[str]) -> str:
        """A surface variant of a template line, least used in this conversation first."""
        low = min(self.variant_used[f"{key}\x1f{x}"] for x in lines)
        choice = self.rng.choice([x for x in lines if self.variant_used[f"{key}\x1f{x}"] == low])
        self.variant_used[f"{key}\x1f{choice}"] += 1
        return choice

    def open_to(self, owner: str) -> None:
        """Make sure ``owner`` speaks next: the partner hands over with a question."""
        if self.s.last == owner:
            self.s.say(self.other(owner), self.pool("ASK", owner))

    def reaction(self, addressee: str, t: Template) -> str:
        text = self.pool("RSAD" if "sad" in t.tags else "R", addressee)
        fill = self.cat.filler.get(t.topic)
        if fill and self.rng.random() < 0.45:
            text = f"{text} {self.pick(fill)}"
        return text

    def episode(self, ev: EventInst) -> None:
        t, owner, other = ev.template, ev.owner.name, ev.other.name
        self.open_to(owner)
        cap = t.caption("s") if self.rng.random() < 0.5 else None
        ev.s_turn = self.s.say(owner, ev.fill(self.variant(t.key + ":S", t.says)),
                               ev.fill(cap) if cap else None)
        if t.details:
            ask = self.variant(t.key + ":A", t.asks) if t.asks else "Oh wow, tell me more!"
            self.s.say(other, ev.fill(ask, addressee=owner))
            cap = t.caption("d") if self.rng.random() < 0.5 else None
            ev.d_turn = self.s.say(owner, ev.fill(self.variant(t.key + ":D", t.details)),
                                   ev.fill(cap) if cap else None)
        self.s.say(other, self.reaction(owner, t))

    def callback(self, ev: EventInst, text: str) -> None:
        owner, other = ev.owner.name, ev.other.name
        if self.s.last == owner or self.rng.random() < 0.6:
            if self.s.last == other:
                self.s.say(owner, self.pool("AGREE", other))
            ask = _fill(self.pick(self.cat.pools["NEW"]), {"thing": ev.values["thing"]})
            self.s.say(other, ask)
        cap = ev.template.caption("u") if self.rng.random() < 0.6 else None
        ev.u_turns.append(self.s.say(owner, ev.fill(text), ev.fill(cap) if cap else None))
        self.s.say(other, self.reaction(owner, ev.template))

    def small_talk(self, topic: str) -> None:
        lines = self.cat.filler.get(topic, ())
        if len(self.fresh(lines)) < 2:
            lines = self.cat.filler["misc"]
        first = self.other(self.s.last) if self.s.last else self.a.name
        second = self.other(first)
        if self.rng.random() < 0.15:
            caption, _, text = self.pick(self.cat.pools["PHOTO"]).partition("|")
            self.s.say(first, text, caption)
            self.s.say(second, self.pool("R", first))
            return
        self.s.say(first, self.pick(lines))
        reply = self.pool("AGREE", first)
        if self.rng.random() < 0.5:
            reply = f"{reply} {self.pick(lines)}"
        self.s.say(second, reply)


def _write_session(talk: _Talk, s: _Session, events: list[EventInst],
                   updates: list[tuple[EventInst, str]]) -> None:
    rng, a, b = talk.rng, talk.a, talk.b
    talk.start(s)
    first = rng.choice((a, b))
    second = b if first is a else a
    s.say(first.name, talk.pool("G", second.name))
    s.say(second.name, talk.pool("GR", first.name))
    items: list[tuple[str, object]] = [("event", ev) for ev in events]
    items += [("update", u) for u in updates]
    rng.shuffle(items)
    target = rng.randint(10, 24)
    budget = min(8, target - 2 - sum(5 if kind == "event" else 3 for kind, _ in items))
    topics = [ev.template.topic for ev in events] + [u[0].template.topic for u in updates]
    for kind, item in items:
        if kind == "event":
            talk.episode(item)  # type: ignore[arg-type]
        else:
            ev, text = item  # type: ignore[misc]
            talk.callback(ev, text)
        if budget >= 2 and rng.random() < 0.6:
            talk.small_talk(rng.choice(topics) if rng.random() < 0.7 else "misc")
            budget -= 2
    while budget >= 2:
        talk.small_talk(rng.choice(topics) if topics and rng.random() < 0.5 else "misc")
        budget -= 2
    last = s.last or first.name
    s.say(talk.other(last), talk.pool("BYE", last))
    s.say(last, talk.pool("BYER", talk.other(last)))


# --- questions --------------------------------------------------------------------------------

TAG_MULTI: dict[str, tuple[str, ...]] = {
    "pet": ("What animals does {name} look after?", "What pets has {name} talked about?"),
    "creative": ("What creative hobbies has {name} taken up?",
                 "What artistic things has {name} been up to?"),
    "relax": ("What does {name} do to unwind?", "How does {name} like to switch off?"),
    "music": ("How is {name} involved with music?",),
    "fitness": ("What does {name} do to stay active?", "How does {name} keep in shape?"),
    "outdoor": ("What outdoor activities has {name} enjoyed?",),
    "travel": ("Where has {name} been traveling?", "What trips has {name} taken?"),
    "food": ("What has {name} been cooking or eating lately?",),
    "career": ("What has happened in {name}'s working life?",),
    "learning": ("What new skills has {name} been picking up?",),
    "kids": ("What have {name}'s children been up to?",),
    "family": ("What family events has {name} mentioned?",),
    "partner": ("What has {name} shared about their love life?",),
    "home": ("What has changed at {name}'s home?",),
    "garden": ("What has {name} been growing?",),
    "health": ("What health issues has {name} dealt with?",),
    "wellbeing": ("What does {name} do for their mental health?",),
    "volunteer": ("How does {name} give back?",),
    "community": ("What community activities is {name} involved in?",),
    "reading": ("What has {name} been reading or writing?",),
    "entertainment": ("What has {name} watched or played for fun?",),
    "social": ("What social outings has {name} had?",),
    "celebration": ("What occasions has {name} celebrated?",),
    "vehicle": ("What's been going on with how {name} gets around?",),
    "money": ("What financial decisions has {name} made?",),
    "tech": ("What tech projects has {name} taken on?",),
    "sports": ("What sports has {name} been involved with?",),
    "goal": ("What personal milestones has {name} reached?",),
    "stress": ("What stressful situations has {name} gone through?",),
}
TAG_BOTH: dict[str, str] = {
    "pet": "What pets do {a} and {b} each have?",
    "travel": "Where have {a} and {b} each traveled?",
    "fitness": "How do {a} and {b} each stay active?",
    "creative": "What creative pursuits do {a} and {b} have?",
    "food": "What food adventures have {a} and {b} had?",
    "family": "What family news have {a} and {b} shared?",
    "career": "What career news have {a} and {b} shared?",
    "outdoor": "What have {a} and {b} done outdoors?",
    "health": "What health problems have {a} and {b} had?",
    "music": "What musical activities do {a} and {b} have?",
    "social": "What social events have {a} and {b} been to?",
    "learning": "What are {a} and {b} learning?",
}
TAG_OPEN: dict[str, str] = {
    "outdoor": "Would {name} enjoy a weekend hiking trip?",
    "creative": "Would {name} enjoy an afternoon at an art workshop?",
    "fitness": "Would {name} be up for a charity 5K?",
    "pet": "Would {name} be a good person to pet-sit for a friend?",
    "travel": "Would {name} be interested in a trip abroad?",
    "reading": "Would {name} like a bookstore gift card?",
    "music": "Would {name} enjoy going to a concert?",
    "food": "Would {name} enjoy a food festival?",
    "family": "Is family important to {name}?",
    "volunteer": "Would {name} be likely to help out at a charity event?",
    "wellbeing": "Does {name} make time for self-care?",
    "social": "Is {name} a sociable person?",
    "learning": "Does {name} enjoy learning new things?",
    "sports": "Would {name} enjoy watching a live sports match?",
    "garden": "Would {name} enjoy visiting a botanical garden?",
}


def _evidence(ev: EventInst, turns: str) -> list[str] | None:
    ids: list[str] = []
    for part in turns:
        if part == "s":
            ids.append(ev.s_id)
        elif part == "d":
            if not ev.d_id:
                return None
            ids.append(ev.d_id)
        elif part == "u":
            if not ev.u_ids:
                return None
            ids.extend(ev.u_ids)
    return list(dict.fromkeys(ids))


def _xevidence(ev: EventInst) -> str:
    found = _evidence(ev, ev.template.xturn) or [ev.s_id]
    return found[0]


def _event_questions(rng: random.Random, ev: EventInst
                     ) -> Iterator[tuple[str, str, list[str], str]]:
    for spec in ev.template.questions:
        if rng.random() > ASKED_SHARE.get(spec.category, 1.0):
            continue
        evidence = _evidence(ev, spec.turns)
        if evidence:
            yield spec.category, _tidy(ev.fill(spec.question)), evidence, ev.fill(spec.answer)


def _tag_questions(rng: random.Random, events: list[EventInst], a: Persona,
                   b: Persona) -> Iterator[tuple[str, str, list[str], str]]:
    """Cross-event questions ("What does Maya do to unwind?"), a few per conversation."""
    by_tag: dict[tuple[str, str], list[EventInst]] = defaultdict(list)
    for ev in events:
        for tag in ev.template.tags:
            by_tag[(ev.owner.name, tag)].append(ev)

    def things(evs: list[EventInst]) -> str:
        return "; ".join(e.values["thing"] for e in evs)

    for person in (a, b):
        multi = [t for t in sorted(TAG_MULTI)
                 if MIN_TAG_EVENTS <= len(by_tag.get((person.name, t), [])) <= MAX_TAG_EVENTS]
        for tag in rng.sample(multi, min(TAG_MULTI_PER_PERSON, len(multi))):
            evs = by_tag[(person.name, tag)]
            q = rng.choice(TAG_MULTI[tag]).format(name=person.name)
            yield "multi-hop", q, [_xevidence(e) for e in evs], things(evs)
        opened = [t for t in sorted(TAG_OPEN)
                  if 1 <= len(by_tag.get((person.name, t), [])) <= MAX_TAG_EVENTS]
        for tag in rng.sample(opened, min(TAG_OPEN_PER_PERSON, len(opened))):
            evs = by_tag[(person.name, tag)]
            yield ("open-domain", TAG_OPEN[tag].format(name=person.name),
                   [_xevidence(e) for e in evs], "Likely yes: " + things(evs))
    both = [t for t in sorted(TAG_BOTH)
            if by_tag.get((a.name, t)) and by_tag.get((b.name, t))
            and len(by_tag[(a.name, t)]) + len(by_tag[(b.name, t)]) <= MAX_TAG_EVENTS + 1]
    for tag in rng.sample(both, min(TAG_BOTH_PER_CONVERSATION, len(both))):
        evs = by_tag[(a.name, tag)] + by_tag[(b.name, tag)]
        yield ("multi-hop", TAG_BOTH[tag].format(a=a.name, b=b.name),
               [_xevidence(e) for e in evs],
               "; ".join(f"{e.owner.name}: {e.values['thing']}" for e in evs))


def _order_questions(rng: random.Random, events: list[EventInst],
                     person: Persona) -> Iterator[tuple[str, str, list[str], str]]:
    mine = [e for e in events if e.owner is person]
    for _ in range(3):
        if len(mine) < 2:
            return
        x, y = rng.sample(mine, 2)
        if x.session == y.session:
            continue
        first = x if x.session < y.session else y
        q = (f"Which happened first for {person.name}: the {x.values['thing']} or the "
             f"{y.values['thing']}?")
        yield "temporal", q, [x.s_id, y.s_id], f"the {first.values['thing']}"


def _questions(rng: random.Random, thread: str, events: list[EventInst], a: Persona,
               b: Persona) -> list[Question]:
    raw = [q for ev in events for q in _event_questions(rng, ev)]
    raw += list(_tag_questions(rng, events, a, b))
    for person in (a, b):
        raw += list(_order_questions(rng, events, person))
    seen: set[str] = set()
    unique = []
    for item in raw:
        if item[1] not in seen:
            seen.add(item[1])
            unique.append(item)
    if len(unique) > MAX_QUESTIONS:
        keep = sorted(rng.sample(range(len(unique)), MAX_QUESTIONS))
        unique = [unique[i] for i in keep]
    return [Question(qid=f"{thread}-q{i:03d}", question=q, category=c, evidence=tuple(e),
                     thread=thread, answer=ans)
            for i, (c, q, e, ans) in enumerate(unique, start=1)]


# --- one conversation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    thread: str
    speakers: tuple[str, str]
    rows: tuple[dict, ...]  # the JSONL events
    questions: tuple[Question, ...]
    sessions: int


def generate_conversation(seed: int, index: int, *, scoped_ids: bool = False,
                          catalogue: Catalogue | None = None) -> Conversation:
    """Conversation ``index`` of the set for ``seed`` (independent of the other indexes)."""
    cat = catalogue or load_catalogue()
    rng = random.Random(f"recall-devset:{seed}:{index}")
    thread = f"chat-s{seed}-c{index + 1:02d}"
    name_a, name_b = rng.sample(SPEAKERS, 2)
    a = make_persona(rng, name_a)
    b = make_persona(rng, name_b, avoid=a.slots)
    times = _session_times(rng, rng.randint(15, 25))
    plan = _plan(rng, cat, a, b, times)
    rows: list[dict] = []
    talk = _Talk(rng, cat, a, b)
    for number, when in enumerate(times, start=1):
        s = _Session(number, when)
        _write_session(talk, s, plan.by_session.get(number, []),
                       plan.updates_by_session.get(number, []))
        for i, turn in enumerate(s.turns, start=1):
            turn.source_id = f"{thread}:D{number}:{i}" if scoped_ids else f"D{number}:{i}"
            row = {
                "source": "chat", "source_id": turn.source_id, "kind": "chat_message",
                "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "actor": turn.speaker,
                "thread": thread, "subject": None, "text": turn.text,
            }
            if turn.caption:
                row["blip_caption"] = turn.caption
            rows.append(row)
    questions = _questions(rng, thread, plan.events, a, b)
    return Conversation(thread, (a.name, b.name), tuple(rows), tuple(questions), len(times))


def generate_chats(seed: int, n_conversations: int, out_dir: Path, *,
                   scoped_ids: bool = False) -> DevSet:
    """Write ``n_conversations`` conversations as JSONL (one file each, under ``events/``) and
    ``questions.jsonl``; return the :class:`DevSet`.

    ``scoped_ids`` prefixes every turn id with its thread (``chat-s1-c01:D3:12``) so that ids are
    unique across conversations; by default they are LoCoMo-style ``D3:12``, unique only within
    a conversation (as in the held-out benchmark).
    """
    out_dir = Path(out_dir)
    events_dir = out_dir / "events"
    events_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    questions: list[Question] = []
    sessions = turns = 0
    for i in range(n_conversations):
        conv = generate_conversation(seed, i, scoped_ids=scoped_ids)
        path = events_dir / f"{conv.thread}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in conv.rows)
        files.append(path)
        questions.extend(conv.questions)
        sessions += conv.sessions
        turns += len(conv.rows)
    write_questions(out_dir / "questions.jsonl", questions)
    return DevSet("chats", seed, events_dir, tuple(files), tuple(questions),
                  conversations=n_conversations, sessions=sessions, turns=turns,
                  extra={"scoped_ids": scoped_ids})
