"""Development sets for the memory recall engine (``aios_assets.recall``).

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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from aios_assets.testing.recall_catalogue import CATALOGUE

__all__ = [
    "CATEGORIES",
    "SPLIT_SEEDS",
    "DevSet",
    "Question",
    "demo_questions",
    "generate_chats",
    "load_catalogue",
    "read_questions",
    "write_questions",
]

SPLIT_SEEDS = {"dev": 1, "test": 2}
CATEGORIES = ("single-hop", "multi-hop", "temporal", "open-domain")
_CATEGORY_OF = {"Q": "single-hop", "M": "multi-hop", "T": "temporal", "O": "open-domain"}
MAX_QUESTIONS = 250  # per conversation
MAX_SESSION_TURNS = 30
MIN_TAG_EVENTS, MAX_TAG_EVENTS = 2, 5  # a cross-event multi-hop question spans this many events
TAG_MULTI_PER_PERSON = 3  # cross-event questions ("What does Maya do to unwind?")...
TAG_OPEN_PER_PERSON = 2  # ... open-domain ones over a tag ("Would Maya enjoy a hike?")
TAG_BOTH_PER_CONVERSATION = 2  # ... and about both speakers ("Where have both traveled?")
# Share of the templates' questions that are asked, by category (all single-/multi-hop ones).
ASKED_SHARE = {"open-domain": 0.5, "temporal": 0.7}


# =============================================================================================
# data types
# =============================================================================================


@dataclass(frozen=True)
class Question:
    """One recall question: its evidence is the ``source_id`` of the events that answer it."""

    qid: str
    question: str
    category: str
    evidence: tuple[str, ...]
    thread: str | None = None
    entity: str | None = None
    answer: str | None = None

    def to_json(self) -> dict:
        row = asdict(self)
        row["evidence"] = list(self.evidence)
        return {k: row[k] for k in ("qid", "thread", "question", "category", "evidence", "answer",
                                    "entity")}


@dataclass(frozen=True)
class DevSet:
    """What a generator wrote: the event files to ingest and the questions about them."""

    name: str
    seed: int
    events_dir: Path
    files: tuple[Path, ...]
    questions: tuple[Question, ...]
    conversations: int = 0
    sessions: int = 0
    turns: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def questions_path(self) -> Path:
        return self.events_dir.parent / "questions.jsonl"


def write_questions(path: Path, questions: Iterable[Question]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(q.to_json(), ensure_ascii=False) + "\n" for q in questions)


def read_questions(path: Path) -> list[Question]:
    out: list[Question] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Question(
                qid=row["qid"], question=row["question"], category=row["category"],
                evidence=tuple(row["evidence"]), thread=row.get("thread"),
                entity=row.get("entity"), answer=row.get("answer"),
            ))
    return out


# =============================================================================================
# catalogue
# =============================================================================================


@dataclass(frozen=True)
class QSpec:
    category: str  # one of CATEGORIES
    turns: str  # evidence turns among "s", "d", "u"
    question: str
    answer: str


@dataclass(frozen=True)
class Template:
    key: str
    topic: str
    tags: tuple[str, ...]
    thing: str
    requires: tuple[str, ...]
    slots: tuple[tuple[str, tuple[str, ...]], ...]
    says: tuple[str, ...]
    asks: tuple[str, ...]
    details: tuple[str, ...]
    updates: tuple[str, ...]
    captions: tuple[tuple[str, str], ...]  # (turn, caption)
    questions: tuple[QSpec, ...]
    xturn: str = "s"

    def caption(self, turn: str) -> str | None:
        return next((c for t, c in self.captions if t == turn), None)


@dataclass(frozen=True)
class Catalogue:
    templates: tuple[Template, ...]
    filler: dict[str, tuple[str, ...]]
    pools: dict[str, tuple[str, ...]]

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(sorted({t.topic for t in self.templates}))


_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PERSONA_SLOTS = frozenset({
    "spouse", "sprel", "kid", "kidrel", "kid2", "dog", "breed", "cat", "sib", "sibrel", "friend",
    "city", "job", "work", "hometown",
})
_EVENT_KEYS = frozenset({"name", "p", "rel", "Rel", "date", "thing"})
_REQUIREMENTS = frozenset({"kids", "dog", "cat", "spouse", "unmarried"})


class CatalogueError(ValueError):
    """The catalogue text does not follow its format."""


def _split_header(line: str) -> dict:
    parts = [p.strip() for p in line[2:].split("|")]
    if len(parts) != 5:
        raise CatalogueError(f"template header needs 5 fields: {line!r}")
    key, topic, tags, thing, req = parts
    return {
        "key": key, "topic": topic, "tags": tuple(t.strip() for t in tags.split(",") if t.strip()),
        "thing": thing, "requires": tuple(r.strip() for r in req.split(",") if r.strip()),
        "slots": [], "says": [], "asks": [], "details": [], "updates": [], "captions": [],
        "questions": [], "xturn": "s",
    }


def _add_line(t: dict, line: str) -> None:
    head, _, body = line.partition(":")
    head, body = head.strip(), body.strip()
    simple = {"S": "says", "A": "asks", "D": "details", "U": "updates"}
    if head in simple:
        t[simple[head]].append(body)
    elif head.startswith("slot "):
        t["slots"].append((head[5:].strip(), tuple(v.strip() for v in body.split("|"))))
    elif head.startswith("C "):
        t["captions"].append((head[2:].strip(), body))
    elif head == "X":
        t["xturn"] = body
    elif head[:1] in _CATEGORY_OF and head[1:2] == " ":
        question, sep, answer = body.partition("=>")
        if not sep:
            raise CatalogueError(f"question without '=>': {line!r}")
        t["questions"].append(QSpec(_CATEGORY_OF[head[0]], head[2:].strip(), question.strip(),
                                    answer.strip()))
    else:
        raise CatalogueError(f"unknown line in template {t['key']}: {line!r}")


def _check(t: Template) -> None:
    if len(t.says) < 2:
        raise CatalogueError(f"{t.key}: needs at least 2 'S' variants")
    for s in t.says:
        if "{rel}" not in s and "{Rel}" not in s:
            raise CatalogueError(f"{t.key}: an 'S' line has no {{rel}}: {s!r}")
    known = _PERSONA_SLOTS | _EVENT_KEYS | {name for name, _ in t.slots}
    lines = [*t.says, *t.asks, *t.details, *t.updates, t.thing, *(c for _, c in t.captions)]
    lines += [x for q in t.questions for x in (q.question, q.answer)]
    for line in lines:
        for name in _PLACEHOLDER.findall(line):
            if name not in known:
                raise CatalogueError(f"{t.key}: unknown placeholder {{{name}}} in {line!r}")
    for q in t.questions:
        if not q.turns or set(q.turns) - {"s", "d", "u"}:
            raise CatalogueError(f"{t.key}: bad evidence turns {q.turns!r}")
        if "d" in q.turns and not t.details or "u" in q.turns and not t.updates:
            raise CatalogueError(f"{t.key}: question needs a turn the template lacks: {q}")
    if set(t.requires) - _REQUIREMENTS:
        raise CatalogueError(f"{t.key}: unknown requirement in {t.requires}")


def parse_catalogue(text: str) -> Catalogue:
    """Parse the line format described in ``aios_assets.testing.recall_catalogue``."""
    templates: list[Template] = []
    filler: dict[str, list[str]] = defaultdict(list)
    pools: dict[str, list[str]] = defaultdict(list)
    current: dict | None = None

    def close() -> None:
        if current is not None:
            t = Template(**{k: tuple(v) if isinstance(v, list) else v
                            for k, v in current.items()})
            _check(t)
            templates.append(t)

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("== "):
            close()
            current = _split_header(line)
        elif line.startswith("F "):
            close()
            current = None
            topic, _, body = line[2:].partition(":")
            filler[topic.strip()].append(body.strip())
        elif current is None:
            head, _, body = line.partition(":")
            pools[head.strip()].append(body.strip())
        else:
            _add_line(current, line)
    close()
    keys = [t.key for t in templates]
    if len(set(keys)) != len(keys):
        raise CatalogueError("duplicate template keys")
    return Catalogue(tuple(templates), {k: tuple(v) for k, v in filler.items()},
                     {k: tuple(v) for k, v in pools.items()})


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    return parse_catalogue(CATALOGUE)


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


# =============================================================================================
# demo business questions
# =============================================================================================

_FACT_REWRITES: tuple[tuple[str, str], ...] = (
    (r"^Which issue of The Data Ledger had the highest open rate\?$",
     "Which newsletter edition got opened the most?"),
    (r"^How many paid sign-ups did '(.+)' bring\?$",
     r"How many readers upgraded to paid after the '\1' issue went out?"),
    (r"^When was the The Data Ledger issue \"(.+)\" sent\?$",
     r"On what date did Maya publish \"\1\"?"),
    (r"^What does Maya Okafor's business do\?$", "What kind of work does Maya's company offer?"),
    (r"^How many retainer clients at a time did Maya set as her maximum\?$",
     "What's the cap Maya put on concurrent retainer clients?"),
    (r"^Which industries are Maya's current clients in\?$",
     "What sectors do Maya's clients come from?"),
    (r"^What is The Data Ledger and how often does it go out\?$",
     "How often does Maya's newsletter go out, and what is it?"),
    (r"^Which (.+) invoice is overdue at the end of the period, and how much is outstanding\?$",
     r"What does \1 still owe Maya, and on which bill?"),
    (r"^What did (.+) from (.+) first contact Maya about\?$",
     r"Why did \1 of \2 reach out to Maya initially?"),
    (r"^When did (.+) from (.+) first get in touch\?$",
     r"When did \2 first enquire with Maya?"),
    (r"^Who does Maya work with for (.+)\?$", r"Which collaborator handles \1 for Maya?"),
    (r"^When did (.+) agree to the Q3 retainer for (.+)\?$",
     r"When did \2 sign off on the third-quarter retainer?"),
    (r"^What monthly retainer did (.+) agree to for Q3\?$",
     r"How much per month will \1 pay Maya in Q3?"),
    (r"^Which data warehouse does (.+) use\?$", r"What warehouse platform is \1 running on?"),
    (r"^What did Maya promise (.+) of (.+), and by when\?$",
     r"What deliverable did Maya commit to for \1 at \2, and what was the deadline?"),
    (r"^What did (.+) decide to prioritise at the (.+) kickoff\?$",
     r"At the \2 kick-off, what did \1 put first?"),
    (r"^By when did Maya commit to deliver the (.+) to (.+), and why that date\?$",
     r"What deadline did Maya give \2 for the \1, and what drives it?"),
    (r"^What day rate will new clients pay, and from when\?$",
     "How much does Maya charge new clients per day now, and since when?"),
    (r"^What email address should Maya use for (.+) of (.+) now\?$",
     r"Which address reaches \1 at \2 these days?"),
    (r"^What is (.+)'s surname now\?$", r"What is \1 called now after changing her name?"),
    (r"^Which email domain does (.+) use since its rebrand\?$",
     r"What domain do \1 emails come from after the rebrand?"),
)
_FACT_CATEGORY = {"single-hop": "single-hop", "multi-hop": "multi-hop", "temporal": "temporal",
                  "open-domain": "open-domain"}


def rephrase_fact(question: str) -> str:
    """A paraphrase of a ground-truth fact question (so recall cannot lean on its wording)."""
    for pattern, repl in _FACT_REWRITES:
        if re.match(pattern, question):
            return re.sub(pattern, repl, question)
    return question


@dataclass(frozen=True)
class _DemoEvent:
    source: str
    source_id: str
    kind: str
    occurred_at: str
    actor: str | None
    thread: str | None
    subject: str | None
    text: str
    payload: dict | None


def iter_demo_events(data_dir: Path) -> Iterator[_DemoEvent]:
    """Every event of a generated demo business, parsed by the product's own parsers."""
    from aios_assets.demo import META_FILES
    from aios_assets.ingest.parsers import detect_format, is_mapping_file, iter_records

    meta = {str(Path(data_dir) / m) for m in META_FILES}
    for path in sorted(Path(data_dir).rglob("*")):
        if (not path.is_file() or str(path) in meta or is_mapping_file(path)
                or detect_format(path) is None):
            continue
        for rec in iter_records(path):
            if hasattr(rec, "source_id"):
                yield _DemoEvent(
                    rec.source, rec.source_id, rec.kind,
                    rec.occurred_at.isoformat() if rec.occurred_at else "", rec.actor,
                    rec.thread, rec.subject, rec.text or "", rec.payload,
                )


def _operator(gt: dict) -> str:
    return str(gt.get("operator", {}).get("name") or "the operator").split()[0]


def _org_of(question: str, orgs: Sequence[str]) -> str | None:
    hits = [o for o in orgs if o in question]
    return max(hits, key=len) if hits else None


def _fact_questions(gt: dict, events: dict[str, _DemoEvent], orgs: Sequence[str]
                    ) -> Iterator[Question]:
    for fact in gt["facts"]:
        evidence = tuple(e["source_id"] for e in fact["evidence"])
        threads = {events[e].thread for e in evidence if e in events}
        thread = next(iter(threads)) if len(threads) == 1 and len(evidence) > 0 else None
        if thread is not None and all(events[e].source == "chat" for e in evidence
                                      if e in events):
            hint = thread
        else:
            hint = None
        yield Question(
            qid=f"demo-{fact['fact_id']}", question=rephrase_fact(fact["question"]),
            category=_FACT_CATEGORY.get(fact["type"], "single-hop"), evidence=evidence,
            thread=hint, entity=_org_of(fact["question"], orgs), answer=fact["answer"],
        )


def _billing_questions(rng: random.Random, events: dict[str, _DemoEvent], gt: dict
                       ) -> Iterator[Question]:
    operator = _operator(gt)
    invoices = [e for e in events.values() if e.kind == "invoice"]
    payments = {(e.payload or {}).get("invoice_id"): e for e in events.values()
                if e.kind == "payment"}
    for inv in rng.sample(invoices, min(18, len(invoices))):
        p = inv.payload or {}
        company = p.get("company") or p.get("customer_name") or "the client"
        desc = str(p.get("description") or "the work").split(" - ")[0]
        desc = desc[:1].lower() + desc[1:]
        yield Question(
            qid=f"demo-inv-{inv.source_id}",
            question=f"How much did {operator} bill {company} for {desc} "
                     f"(issued {str(p.get('issued_at'))[:10]})?",
            category="single-hop", evidence=(inv.source_id,), entity=company,
            answer=f"{p.get('amount')} {p.get('currency')}",
        )
        pay = payments.get(inv.source_id)
        if pay is not None:
            yield Question(
                qid=f"demo-pay-{pay.source_id}",
                question=f"When did {company} settle invoice {inv.source_id}?",
                category="temporal", evidence=(pay.source_id,), entity=company,
                answer=str((pay.payload or {}).get("paid_at")),
            )
    overdue = list(gt.get("overdue_invoices", []))
    if overdue:
        yield Question(
            qid="demo-overdue-all",
            question=f"Which clients are late paying {operator} right now?",
            category="multi-hop", evidence=tuple(overdue), answer=", ".join(overdue),
        )


def _newsletter_questions(events: dict[str, _DemoEvent]) -> Iterator[Question]:
    for e in events.values():
        if e.kind != "content_metrics":
            continue
        p = e.payload or {}
        title = p.get("title") or e.source_id
        yield Question(
            qid=f"demo-nl-{e.source_id}",
            question=f"How many subscribers clicked a link in the '{title}' edition?",
            category="single-hop", evidence=(e.source_id,), answer=str(p.get("clicks")),
        )


def _people_questions(gt: dict, events: dict[str, _DemoEvent]) -> Iterator[Question]:
    people = {p["person_id"]: p for p in gt["people"]}
    by_person: dict[str, list[_DemoEvent]] = defaultdict(list)
    for r in gt["records"]:
        e = events.get(r["source_id"])
        if e is not None and r.get("person_id") and e.kind == "email":
            by_person[r["person_id"]].append(e)
    for pid in gt.get("stale_leads", []):
        mails = sorted(by_person.get(pid, []), key=lambda e: e.occurred_at)
        if not mails:
            continue
        person = people[pid]
        last = mails[-1]
        yield Question(
            qid=f"demo-stale-{pid}",
            question=f"When did {_operator(gt)} last hear from {person['canonical_name']} of "
                     f"{person['company']}, who has since gone quiet?",
            category="temporal", evidence=(last.source_id,), entity=person["company"],
            answer=last.occurred_at[:10],
        )
    injections = [i["source_id"] for i in gt.get("prompt_injections", [])]
    if injections:
        yield Question(
            qid="demo-injections",
            question="Which messages tried to give the assistant instructions, like paying "
                     "invoices or leaking data?",
            category="multi-hop", evidence=tuple(injections),
            answer=f"{len(injections)} messages",
        )
        for sid in injections:
            e = events.get(sid)
            if e is not None and e.subject:
                yield Question(
                    qid=f"demo-inj-{sid[:24]}",
                    question=f"What did the suspicious email titled '{e.subject}' ask for?",
                    category="single-hop", evidence=(sid,), answer=e.text[:120],
                )


def demo_questions(ground_truth_path: Path, data_dir: Path | None = None, *,
                   seed: int = 1) -> list[Question]:
    """Questions about a generated demo business, evidence = its events' ``source_id``.

    ``data_dir`` is the generated business (default: the folder of ``ground_truth.json``).
    Sources: every ground-truth fact (paraphrased), invoices and payments, newsletter metrics,
    stale leads and prompt-injection messages.
    """
    ground_truth_path = Path(ground_truth_path)
    gt = json.loads(ground_truth_path.read_text(encoding="utf-8"))
    data_dir = Path(data_dir) if data_dir is not None else ground_truth_path.parent
    events = {e.source_id: e for e in iter_demo_events(data_dir)}
    orgs = [o["name"] for o in gt["organizations"]]
    rng = random.Random(f"recall-demo:{seed}")
    out = list(_fact_questions(gt, events, orgs))
    out += list(_billing_questions(rng, events, gt))
    out += list(_newsletter_questions(events))
    out += list(_people_questions(gt, events))
    missing = [q.qid for q in out if not all(e in events for e in q.evidence)]
    if missing:
        raise ValueError(f"demo questions cite events that do not exist: {missing[:5]}")
    return out


def generate_demo(seed: int, out_dir: Path) -> DevSet:
    """Generate the demo business (scale 1) under ``out_dir/events`` and its questions."""
    from aios_assets.demo import generate

    out_dir = Path(out_dir)
    summary = generate(out_dir / "events", seed=seed)
    questions = demo_questions(summary.ground_truth, seed=seed)
    write_questions(out_dir / "questions.jsonl", questions)
    files = tuple(out_dir / "events" / rel for rel in summary.files)
    return DevSet("demo", seed, out_dir / "events", files, tuple(questions),
                  turns=summary.events, extra={"people": summary.people,
                                               "organizations": summary.organizations})
