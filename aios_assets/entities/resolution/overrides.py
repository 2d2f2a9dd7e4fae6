"""Operator overrides of the resolver (``entity_overrides.yaml``): pairs of records that must
or must not be one entity. ``cannot_link`` wins over everything, ``must_link`` included."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import Key

OVERRIDES_ENV = "AIOS_ENTITY_OVERRIDES"
OVERRIDES_FILE = "entity_overrides.yaml"


def overrides_file(home: Path, configured: str | None = None) -> Path:
    """Where the overrides live: ``configured`` (``$AIOS_ENTITY_OVERRIDES``, as the dbt model's
    ``overrides_path`` config renders it) read against ``home`` when relative, else
    ``<home>/entity_overrides.yaml``. The console writes and dbt reads the same file."""
    path = Path(configured or OVERRIDES_FILE).expanduser()
    return path if path.is_absolute() else home / path


@dataclass
class Overrides:
    must_link: list[tuple[Key, Key]] = field(default_factory=list)
    cannot_link: list[tuple[Key, Key]] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Overrides:
        data = data or {}
        return cls(
            must_link=[_parse_pair(p) for p in data.get("must_link") or []],
            cannot_link=[_parse_pair(p) for p in data.get("cannot_link") or []],
        )

    @classmethod
    def load(cls, path: str | Path | None) -> Overrides:
        """Read ``entity_overrides.yaml``; a missing file means no overrides."""
        import yaml

        if path is None or not Path(path).is_file():
            return cls()
        text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping with must_link / cannot_link lists")
        return cls.from_mapping(data)


def _parse_key(value: Any) -> Key:
    if isinstance(value, Mapping):
        return (str(value["source"]), str(value["source_id"]))
    if isinstance(value, str) and ":" in value:
        source, source_id = value.split(":", 1)
        return (source.strip(), source_id.strip())
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (str(value[0]), str(value[1]))
    raise ValueError(f"not a record reference (want 'source:source_id'): {value!r}")


def _parse_pair(value: Any) -> tuple[Key, Key]:
    if isinstance(value, Mapping) and {"a", "b"} <= set(value):
        return (_parse_key(value["a"]), _parse_key(value["b"]))
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (_parse_key(value[0]), _parse_key(value[1]))
    raise ValueError(f"an override is a pair of records, got {value!r}")
