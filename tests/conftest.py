"""Shared fixtures: a fresh AIOS_HOME per test, one real embedded Postgres per session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AIOS = [sys.executable, "-m", "aios_assets.cli"]


@pytest.fixture
def aios_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty AIOS_HOME (and DAGSTER_HOME inside it) for one test."""
    from aios_assets.shared.home import AiosHome
    from resources.postgres import stop_embedded

    home = AiosHome.from_env(tmp_path / "home").ensure()
    monkeypatch.setenv("AIOS_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(home.dagster_home))
    yield home.root
    # an `aios` run in this home may have started its embedded Postgres: it outlives the CLI
    # by design (the next run reuses it), but not the test
    if (home.pg / "PG_VERSION").exists():
        stop_embedded(home)


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real embedded Postgres 18 + pgvector for the whole session, stopped at the end."""
    from aios_assets.shared.home import AiosHome
    from resources.postgres import embedded_url, stop_embedded

    home = AiosHome.from_env(tmp_path_factory.mktemp("pg-home"))
    url = embedded_url(home)
    yield url
    stop_embedded(home)


def run_aios(*args: str, home: Path, input: str | None = None,
             env: dict[str, str] | None = None,
             timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real ``aios`` CLI in a subprocess against ``home``."""
    full_env = {**os.environ, "AIOS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    full_env.update(env or {})
    return subprocess.run(
        [*AIOS, *args], cwd=ROOT, env=full_env, input=input, capture_output=True, text=True,
        timeout=timeout,
    )


def write_jsonl(path: Path, records: list[dict]) -> Path:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def event(source_id: str, text: str = "hello", **extra) -> dict:
    """A valid JSONL event record."""
    record = {
        "source": "chat",
        "source_id": source_id,
        "kind": "chat_message",
        "occurred_at": "2026-03-01T10:00:00Z",
        "actor": "Dana Reyes <dana@acme.io>",
        "thread": "t1",
        "subject": None,
        "text": text,
        "payload": None,
    }
    record.update(extra)
    return record
