"""People: the entity page (merged records and why, facts over time, interactions) and the
split / merge overrides it writes.

Overrides go to the file entity resolution reads on every build (``entity_overrides.yaml``,
see docs/entities.md): a **split** puts a ``cannot_link`` between the record and every other
record of its entity; a **merge** puts a ``must_link`` between one record of each entity and
drops the ``cannot_link`` pairs across the two (the operator's latest word wins). Nothing changes
in the warehouse until the next build (``aios ingest``, the Dagster UI) applies them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from aios_assets.console import seams
from aios_assets.console.data import has_relation

Key = tuple[str, str]


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
        [table]).fetchall()}


def search_people(con: duckdb.DuckDBPyConnection, q: str | None, limit: int = 50
                  ) -> list[dict[str, Any]]:
    """Canonical people whose name, email or company contains ``q`` (all when empty)."""
    if not has_relation(con, "dim_contacts"):
        return []
    cols = _columns(con, "dim_contacts")
    pick = [c for c in ("entity_id", "full_name", "primary_email", "company", "record_count",
                        "last_seen_at") if c in cols]
    where, params = "TRUE", []
    if q:
        like = f"%{q.strip().lower()}%"
        text = [c for c in ("full_name", "primary_email", "company", "entity_id") if c in cols]
        where = " OR ".join(f"lower(coalesce(CAST({c} AS VARCHAR), '')) LIKE ?" for c in text)
        params = [like] * len(text)
    order = "last_seen_at DESC NULLS LAST, entity_id" if "last_seen_at" in cols else "entity_id"
    return _dicts(con.execute(f"SELECT {', '.join(pick)} FROM dim_contacts WHERE {where} "
                              f"ORDER BY {order} LIMIT ?", [*params, limit]))


def members(con: duckdb.DuckDBPyConnection, entity_id: str) -> list[dict[str, Any]]:
    """The entity's records with why each joined (matched_by, score, partner record)."""
    if not has_relation(con, "entity_membership"):
        return []
    cols = _columns(con, "entity_membership")
    extra = [c for c in ("matched_by", "score", "matched_to_source", "matched_to_source_id",
                         "email") if c in cols]
    rows = _dicts(con.execute(
        f"SELECT source, source_id, {', '.join(extra) or 'NULL AS matched_by'} "
        "FROM entity_membership WHERE entity_id = ? ORDER BY source, source_id", [entity_id]))
    if rows and has_relation(con, "int_person_records"):
        pcols = _columns(con, "int_person_records")
        show = [c for c in ("full_name", "email", "company", "record_kind") if c in pcols]
        if show:
            names = {(r["source"], r["source_id"]): r for r in _dicts(con.execute(
                f"SELECT source, source_id, {', '.join(show)} FROM int_person_records "
                "WHERE (source, source_id) IN (SELECT (s, i) FROM (SELECT unnest(?) AS s, "
                "unnest(?) AS i))", [[r["source"] for r in rows], [r["source_id"]
                                                                    for r in rows]]))}
            for r in rows:
                for c in show:
                    r.setdefault(c, names.get((r["source"], r["source_id"]), {}).get(c))
    return rows


def facts(con: duckdb.DuckDBPyConnection, entity_id: str, limit: int = 200
          ) -> list[dict[str, Any]]:
    """Facts over time: current ones and those a newer fact superseded, by attribute."""
    if not has_relation(con, "entity_facts"):
        return []
    return _dicts(con.execute(
        """SELECT attribute, value, valid_from, valid_to, source, source_id, confidence,
                  extracted_by, valid_to IS NULL AS current
           FROM entity_facts WHERE entity_id = ?
           ORDER BY attribute, valid_from DESC LIMIT ?""", [entity_id, limit]))


def entity_page(con: duckdb.DuckDBPyConnection, entity_id: str, pg_url: str | None
                ) -> dict[str, Any] | None:
    try:
        audit = seams.audit_entity(con, entity_id, pg_url)
    except seams.audit_error():
        return None
    recs = members(con, entity_id)
    keys = {(r["source"], r["source_id"]) for r in recs}
    return {"entity_id": entity_id, "contact": audit.get("contact") or {}, "records": recs,
            "facts": facts(con, entity_id), "interactions": audit["interactions"],
            "proposals": audit["proposals"][:20], "overrides": overrides_about(keys)}


# --- overrides -------------------------------------------------------------------------------


def _key_text(k: Key) -> str:
    return f"{k[0]}:{k[1]}"


def parse_key(text: str) -> Key:
    source, sep, source_id = (text or "").partition(":")
    if not sep or not source.strip() or not source_id.strip():
        raise ValueError(f"not a record reference (want source:source_id): {text!r}")
    return (source.strip(), source_id.strip())


def _read(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with must_link / cannot_link lists")
    seams.load_overrides(path)  # refuse to rewrite a file the resolver could not read
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    header = ("# Entity resolution overrides (docs/entities.md); the AIOS console appends here.\n"
              "# Pairs are source:source_id. cannot_link wins over must_link.\n")
    tmp.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                   encoding="utf-8")
    os.replace(tmp, path)


def _pairs(data: dict[str, Any], kind: str) -> list[tuple[Key, Key]]:
    from aios_assets.entities.resolution.resolve import Overrides

    return list(getattr(Overrides.from_mapping({kind: data.get(kind) or []}), kind))


def _locked() -> Any:
    import fasteners

    lock_dir = seams.home_root() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(lock_dir / "entity_overrides.lock"))


def overrides_about(keys: set[Key]) -> list[dict[str, str]]:
    """The overrides in the file that name one of these records."""
    try:
        data = _read(seams.overrides_path())
    except ValueError:
        return []
    out = []
    for kind in ("must_link", "cannot_link"):
        for a, b in _pairs(data, kind):
            if a in keys or b in keys:
                out.append({"kind": kind, "a": _key_text(a), "b": _key_text(b)})
    return out


def split_record(con: duckdb.DuckDBPyConnection, entity_id: str, record: str) -> list[str]:
    """cannot_link the record with every other record of its entity; returns the pairs added."""
    key = parse_key(record)
    recs = [(r["source"], r["source_id"]) for r in members(con, entity_id)]
    if key not in recs:
        raise ValueError(f"{record} is not a record of {entity_id}")
    others = [k for k in recs if k != key]
    if not others:
        raise ValueError(f"{record} is the only record of {entity_id}: nothing to split")
    path = seams.overrides_path()
    with _locked():
        data = _read(path)
        cannot = _pairs(data, "cannot_link")
        must = _pairs(data, "must_link")
        added = [(key, o) for o in others
                 if (key, o) not in cannot and (o, key) not in cannot]
        keep_must = [p for p in must if not (key in p and (set(p) - {key}) & set(others))]
        data["must_link"] = [[_key_text(a), _key_text(b)] for a, b in keep_must]
        data["cannot_link"] = [[_key_text(a), _key_text(b)] for a, b in cannot + added]
        _write(path, data)
    return [f"{_key_text(a)} != {_key_text(b)}" for a, b in added]


def merge_entities(con: duckdb.DuckDBPyConnection, entity_id: str, other_id: str) -> list[str]:
    """must_link one record of each entity; drop cannot_link pairs across the two."""
    if other_id == entity_id:
        raise ValueError("an entity cannot be merged with itself")
    mine = [(r["source"], r["source_id"]) for r in members(con, entity_id)]
    theirs = [(r["source"], r["source_id"]) for r in members(con, other_id)]
    if not mine or not theirs:
        raise ValueError(f"unknown entity {other_id if mine else entity_id!r}")
    path = seams.overrides_path()
    with _locked():
        data = _read(path)
        must = _pairs(data, "must_link")
        cannot = _pairs(data, "cannot_link")
        pair = (mine[0], theirs[0])
        if pair not in must and pair[::-1] not in must:
            must.append(pair)
        across = {(a, b) for a in mine for b in theirs} | {(b, a) for a in mine for b in theirs}
        dropped = [p for p in cannot if p in across]
        data["must_link"] = [[_key_text(a), _key_text(b)] for a, b in must]
        data["cannot_link"] = [[_key_text(a), _key_text(b)] for a, b in cannot
                               if (a, b) not in across]
        _write(path, data)
    return [f"{_key_text(pair[0])} == {_key_text(pair[1])}"] + [
        f"dropped {_key_text(a)} != {_key_text(b)}" for a, b in dropped]
