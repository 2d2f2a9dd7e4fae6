"""The on-disk recall index: BM25 (bm25s) over units and over their thread context, unit vectors
as a float32 memory map, and the metadata that filters and cites them.

``vectors.npy`` has one row per unit, by position; ``dense.npy`` says which rows are real
vectors. A lexical-only unit (a contact record, :func:`~aios_assets.memory.chunks.needs_dense`)
holds a zero row marked False, and recall gives it no dense score. A generation written before
``dense.npy`` existed has a vector for every unit.

A build writes a new generation directory and then flips ``CURRENT`` atomically, so a reader
(the CLI, an agent) always loads a complete index and never waits for a writer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from aios_assets.memory.chunks import Chunk, neighbours

INDEX_DIR = ("index", "semantic")
KEEP_GENERATIONS = 2

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# English stop words plus the words every question carries; they only add noise to BM25.
STOPWORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "also", "ever", "get", "got", "likely", "might", "may", "s", "t", "don't", "i'm", "it's", "that's"])  # noqa: E501 - a word list


class IndexMissing(FileNotFoundError):
    """No recall index has been built under this AIOS_HOME yet."""


_stemmer_lock = threading.Lock()
_stemmer = None


def _stem_words(words: list[str]) -> list[str]:
    global _stemmer
    with _stemmer_lock:
        if _stemmer is None:
            import Stemmer

            _stemmer = Stemmer.Stemmer("english")
        return _stemmer.stemWords(words)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, Snowball-stemmed tokens (possessive ``'s`` dropped)."""
    words = [w.split("'")[0] for w in _WORD.findall(text.lower())]
    return _stem_words([w for w in words if w and w not in STOPWORDS])


def index_root(home_root: Path) -> Path:
    return home_root.joinpath(*INDEX_DIR)


@dataclass
class SemanticIndex:
    """A loaded index generation: arrays for scoring, a frame for citing."""

    path: Path
    model_id: str
    dim: int
    meta: pl.DataFrame
    vectors: np.ndarray  # (n, dim) float32, memory-mapped
    lex_unit: object  # bm25s.BM25
    lex_context: object
    thread_codes: np.ndarray
    thread_lookup: dict[str, int]
    epoch: np.ndarray  # occurred_at, seconds since 1970
    prev: np.ndarray
    next: np.ndarray
    actors: np.ndarray  # lower-cased first token of the speaker, for speaker awareness
    entity_chunks: dict[str, np.ndarray] = field(default_factory=dict)
    actor_names: frozenset[str] = frozenset()
    actor_threads: dict[str, np.ndarray] = field(default_factory=dict)
    # the organization a unit's speaker writes from: the first label of their address's
    # domain ("acme" for dana@acme.io; none for freemail), so "what did Acme say" finds Dana
    orgs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    org_names: frozenset[str] = frozenset()
    org_threads: dict[str, np.ndarray] = field(default_factory=dict)
    # per position: the unit has a dense vector (False: lexical-only, its row is zeros);
    # None when built without it means every unit has one
    dense: np.ndarray | None = None
    _by_hash: dict[str, list[int]] | None = None

    def __post_init__(self) -> None:
        if self.dense is None:
            self.dense = np.ones(self.size, dtype=bool)

    @property
    def size(self) -> int:
        return int(self.meta.height)

    @property
    def home(self) -> Path:
        """The AIOS_HOME this generation lives in (``<home>/index/semantic/<generation>``)."""
        return self.path.parents[len(INDEX_DIR)]

    def positions_of(self, content_hashes: list[str]) -> list[int]:
        """Unit positions carrying these content hashes (built on first use: ANN path only)."""
        if self._by_hash is None:
            by_hash: dict[str, list[int]] = {}
            for i, h in enumerate(self.meta["content_hash"].to_list()):
                by_hash.setdefault(h, []).append(i)
            self._by_hash = by_hash
        return [p for h in content_hashes for p in self._by_hash.get(h, ())]


def _save_bm25(tokens: list[list[str]], path: Path) -> None:
    import bm25s

    if not tokens:
        return  # bm25s cannot index an empty corpus; an empty generation has no lexical index
    retriever = bm25s.BM25(k1=1.2, b=0.75)
    # bm25s needs at least one token per document; an empty unit gets a harmless marker.
    retriever.index([t or ["\x00"] for t in tokens], show_progress=False)
    retriever.save(str(path))


def time_order(chunks: Sequence[Chunk]) -> list[int]:
    """Positions of ``chunks`` sorted by ``occurred_at`` (stable: a thread's order is kept)."""
    return sorted(range(len(chunks)), key=lambda i: chunks[i].occurred_at)


def remap_positions(order: Sequence[int], links: Sequence[int]) -> list[int]:
    """``links`` (positions in the old order, -1 for none) re-indexed for ``order``: the unit
    now at position ``j`` was at ``order[j]``."""
    new_pos = [0] * len(order)
    for j, old in enumerate(order):
        new_pos[old] = j
    return [new_pos[links[old]] if links[old] >= 0 else -1 for old in order]


def build_index(
    home_root: Path,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    entity_ids: Sequence[Sequence[str]],
    model_id: str,
    dense: Sequence[bool] | None = None,
) -> Path:
    """Write a new index generation for ``chunks`` (given in thread order) and publish it.

    Units are stored in time order (``occurred_at``, stable): a date window is then one run of
    positions, so recall scores it through array views instead of gathering rows (at 1M units
    a 60-day window is ~58k rows, 90 MB of vectors). Neighbours are found in thread order first
    and carried over as positions.

    ``dense`` (aligned with ``chunks``; None: all True) marks the units that have a vector; the
    rows of the others are stored as zeros."""
    dense = [True] * len(chunks) if dense is None else list(dense)
    if len(chunks) != len(vectors) or len(chunks) != len(entity_ids) or len(chunks) != len(dense):
        raise ValueError("chunks, vectors, entity_ids and dense must be aligned")
    root = index_root(home_root)
    root.mkdir(parents=True, exist_ok=True)
    generation = f"gen-{time.time_ns()}"
    tmp = root / f".{generation}.tmp"
    tmp.mkdir()
    thread_prev, thread_next = neighbours(list(chunks))
    thread_tokens = [tokenize(c.body) for c in chunks]
    # The context unit adds the previous and next turn: an answer often spans a question and
    # its reply, and the words of the question live in the turn before the evidence.
    thread_context = [
        (thread_tokens[p] if p >= 0 else []) + thread_tokens[i]
        + (thread_tokens[n] if n >= 0 else [])
        for i, (p, n) in enumerate(zip(thread_prev, thread_next, strict=True))
    ]
    order = time_order(chunks)
    chunks = [chunks[i] for i in order]
    entity_ids = [entity_ids[i] for i in order]
    vectors = np.asarray(vectors)[order] if len(order) else vectors
    has_vector = np.asarray([dense[i] for i in order], dtype=bool)
    unit_tokens = [thread_tokens[i] for i in order]
    context_tokens = [thread_context[i] for i in order]
    prev, nxt = remap_positions(order, thread_prev), remap_positions(order, thread_next)
    _save_bm25(unit_tokens, tmp / "lex_unit")
    _save_bm25(context_tokens, tmp / "lex_context")
    dim = int(vectors.shape[1]) if len(vectors) else 0
    # float32: recall multiplies these directly; float16 halves the file but every query then
    # pays a slow conversion (about 200 ms per 100k units measured).
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(chunks), dim)
    if not has_vector.all():
        matrix = np.where(has_vector[:, None], matrix, np.float32(0.0))
    np.save(tmp / "vectors.npy", matrix)
    np.save(tmp / "dense.npy", has_vector)
    pl.DataFrame(
        {
            "chunk_id": [c.chunk_id for c in chunks],
            "event_id": [c.event_id for c in chunks],
            "source": [c.source for c in chunks],
            "source_id": [c.source_id for c in chunks],
            "kind": [c.kind for c in chunks],
            "thread": [c.thread for c in chunks],
            "actor": [c.actor for c in chunks],
            "org": [c.org for c in chunks],
            "occurred_at": [c.occurred_at for c in chunks],
            "text": [c.text for c in chunks],
            "content_hash": [c.content_hash for c in chunks],
            "prev": prev,
            "next": nxt,
            "entity_ids": [list(e) for e in entity_ids],
        },
        schema_overrides={"entity_ids": pl.List(pl.String), "thread": pl.String,
                          "actor": pl.String, "org": pl.String},
    ).write_parquet(tmp / "meta.parquet")
    (tmp / "manifest.json").write_text(json.dumps(
        {"generation": generation, "model_id": model_id, "dim": dim, "chunks": len(chunks)}
    ))
    final = root / generation
    os.replace(tmp, final)
    current_tmp = root / f".CURRENT.{os.getpid()}"
    current_tmp.write_text(generation)
    os.replace(current_tmp, root / "CURRENT")
    _prune(root, keep=generation)
    return final


def _prune(root: Path, keep: str) -> None:
    gens = sorted(p for p in root.glob("gen-*") if p.is_dir())
    stale = [p for p in gens if p.name != keep][: max(0, len(gens) - KEEP_GENERATIONS)]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)


def current_generation(home_root: Path) -> Path:
    root = index_root(home_root)
    try:
        name = (root / "CURRENT").read_text().strip()
    except FileNotFoundError:
        raise IndexMissing(
            f"no recall index under {home_root}: ingest something first "
            "(`aios ingest PATH` or `aios demo`)"
        ) from None
    return root / name


_cache: dict[Path, SemanticIndex] = {}
_cache_lock = threading.Lock()


def load_index(home_root: Path) -> SemanticIndex:
    """The current generation, loaded once per process (a new generation is picked up)."""
    path = current_generation(home_root)
    with _cache_lock:
        hit = _cache.get(path)
        if hit is not None:
            return hit
        index = _load(path)
        _cache.clear()
        _cache[path] = index
        return index


def _load(path: Path) -> SemanticIndex:
    import bm25s

    manifest = json.loads((path / "manifest.json").read_text())
    meta = pl.read_parquet(path / "meta.parquet")
    threads = meta["thread"].fill_null("").to_list()
    lookup: dict[str, int] = {}
    codes = np.fromiter((lookup.setdefault(t, len(lookup)) for t in threads), dtype=np.int32,
                        count=len(threads))
    entity_rows: dict[str, list[int]] = {}
    for i, ids in enumerate(meta["entity_ids"].to_list()):
        for entity in ids or ():
            entity_rows.setdefault(entity, []).append(i)
    actors = np.array(
        [(a or "").split(" ")[0].lower() for a in meta["actor"].to_list()], dtype=object
    )
    orgs = np.array(meta["org"].fill_null("").to_list() if "org" in meta.columns
                    else [""] * meta.height, dtype=object)  # generations before orgs: none
    epoch = (
        meta["occurred_at"].dt.epoch("s").to_numpy().astype(np.int64)
        if meta.height else np.zeros(0, dtype=np.int64)
    )
    return SemanticIndex(
        path=path,
        model_id=manifest["model_id"],
        dim=manifest["dim"],
        meta=meta,
        vectors=_vectors(path / "vectors.npy"),
        dense=_dense(path / "dense.npy", meta.height),
        # an empty home (nothing ingested, or only rejected files) has no lexical index
        lex_unit=bm25s.BM25.load(str(path / "lex_unit"), mmap=True) if meta.height else None,
        lex_context=(bm25s.BM25.load(str(path / "lex_context"), mmap=True)
                     if meta.height else None),
        thread_codes=codes,
        thread_lookup=lookup,
        epoch=epoch,
        prev=meta["prev"].to_numpy().astype(np.int64),
        next=meta["next"].to_numpy().astype(np.int64),
        actors=actors,
        entity_chunks={k: np.asarray(v, dtype=np.int64) for k, v in entity_rows.items()},
        actor_names=_speaker_cues(actors),
        actor_threads=_actor_threads(actors, codes),
        orgs=orgs,
        org_names=_speaker_cues(orgs),
        org_threads=_actor_threads(orgs, codes),
    )



# A name that speaks in more than this share of all units, and more than twice a fair share
# among the speakers (the operator, in a business log), says nothing about which unit is
# meant: it stays an ordinary query word. In one conversation of two, both stay cues.
MAX_SPEAKER_SHARE = 0.2


def _speaker_cues(actors: np.ndarray) -> frozenset[str]:
    """First names that, in a query, point at the units that person spoke."""
    names, counts = np.unique(actors.astype(str), return_counts=True) if actors.size else ([], [])
    speakers = sum(1 for a in names if len(str(a)) > 1)
    share = max(MAX_SPEAKER_SHARE, 2 / speakers) if speakers else 1.0
    limit = share * max(1, actors.size)
    return frozenset(
        str(a) for a, c in zip(names, counts, strict=True) if len(str(a)) > 1 and c <= limit
    )


def _vectors(path: Path) -> np.ndarray:
    vectors = np.load(path, mmap_mode="r")
    if vectors.dtype != np.float32:  # generations written as float16 before: convert once
        vectors = np.asarray(vectors, dtype=np.float32)
    return vectors


def _dense(path: Path, size: int) -> np.ndarray:
    """Which units have a vector; a generation from before ``dense.npy``: all of them."""
    if not path.exists():
        return np.ones(size, dtype=bool)
    return np.asarray(np.load(path), dtype=bool)


def _actor_threads(actors: np.ndarray, codes: np.ndarray) -> dict[str, np.ndarray]:
    """First name of a speaker -> the threads (codes) they speak in."""
    found: dict[str, set[int]] = {}
    for actor, code in zip(actors.tolist(), codes.tolist(), strict=True):
        if len(actor) > 1:
            found.setdefault(actor, set()).add(code)
    return {a: np.fromiter(c, dtype=np.int32) for a, c in found.items()}
