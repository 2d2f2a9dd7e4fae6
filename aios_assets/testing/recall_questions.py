"""Questions of the recall dev sets and the catalogue of life events they are built from:
the :class:`Question` / :class:`DevSet` types, their JSONL files, and the parser of
``aios_assets.testing.recall_catalogue`` (templates with placeholders and requirements).
The generators are in :mod:`aios_assets.testing.recall_devsets`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from aios_assets.testing.recall_catalogue import CATALOGUE

SPLIT_SEEDS = {"dev": 1, "test": 2}
CATEGORIES = ("single-hop", "multi-hop", "temporal", "open-domain")
_CATEGORY_OF = {"Q": "single-hop", "M": "multi-hop", "T": "temporal", "O": "open-domain"}


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
