"""Shared fixtures: a fresh AIOS_HOME per test, one real embedded Postgres per session (per
xdist worker), one demo home per session (all workers) that tests copy; the suite's markers,
xdist groups and order (see tests/suite_plan.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import suite_plan

if os.environ.get("PYTEST_XDIST_WORKER"):
    # GNU readline, loaded in the controller, puts the terminal size (COLUMNS=80, LINES=24) into
    # the C environment the xdist workers inherit. rich would then fix the width of the CLI's
    # console when aios_assets.cli is imported, so a test widening it (COLUMNS=250) could not.
    for _var in ("COLUMNS", "LINES"):
        os.environ.pop(_var, None)

ROOT = Path(__file__).resolve().parent.parent
AIOS = [sys.executable, "-m", "aios_assets.cli"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Parse dbt's manifest once, before any xdist worker starts: every ``aios ingest`` and the
    entity tests read it, and two workers parsing a stale one at once would race on it.
    Every process commits Dagster's run history as the CLI does (shared/run_storage.py)."""
    from aios_assets.shared.run_storage import relax_sqlite_sync

    relax_sqlite_sync()
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller did it
        return
    import fasteners

    from aios_assets.entities.dbt_manifest import DBT_TARGET_DIR, ensure_dbt_manifest

    DBT_TARGET_DIR.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(DBT_TARGET_DIR / ".pytest-parse.lock")):
        ensure_dbt_manifest()


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """`--dist load` with the shared-fixture modules as one unit each (suite_plan.scope_of)."""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None  # an explicit other mode (each, loadfile, worksteal...) is xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class SuitePlanScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return suite_plan.scope_of(nodeid)

    return SuitePlanScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    suite_plan.apply(items)


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Each test starts from the session's environment: code run in-process may set
    ``AIOS_HOME`` (the CLI) or other variables, and under xdist a leaked one would point the next
    test on that worker at another home's files."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


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


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory):
    """A real Radicale CalDAV server on loopback, one per module (it starts in ~0.3 s); tests
    add their own users (``aios_assets/testing/radicale.py``)."""
    from aios_assets.testing import radicale as radicale_kit

    if not radicale_kit.available():
        pytest.skip("radicale is not installed (pip install radicale, a dev dependency)")
    server = radicale_kit.Radicale(tmp_path_factory.mktemp("radicale")).start()
    yield server
    server.stop()


# The demo every module that needs "a small demo home" copies (README, console, `make ui`).
DEMO_ARGS = "--scale 0.1 --days 30"


@pytest.fixture(scope="session")
def demo_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like the checkout after ``make demo DEMO_ARGS="--scale 0.1 --days 30"``: a
    ``.venv`` link to this venv, the demo home ``.aios`` and make's output (``make-demo.out``).

    Built once per test session by the real ``make demo`` (the xdist workers share it: the first
    one builds it under a file lock, the others wait), then its embedded Postgres is stopped so
    that the folder can be copied. Never use it directly: take a copy (:func:`copy_demo`).
    """
    import fasteners

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above every worker's own
    where = base / "shared-demo"
    with fasteners.InterProcessLock(str(base / "shared-demo.lock")):
        if not (where / "built").exists():
            _build_demo(where)
    return where


def _build_demo(where: Path) -> None:
    from aios_assets.shared.home import AiosHome
    from resources.postgres import stop_embedded

    shutil.rmtree(where, ignore_errors=True)  # a build killed half-way
    where.mkdir(parents=True)
    venv = where / ".venv"
    venv.symlink_to(Path(sys.prefix), target_is_directory=True)  # the venv running the tests
    home = where / ".aios"
    env = {k: v for k, v in os.environ.items() if k not in ("AIOS_HOME", "DAGSTER_HOME")}
    env.update({"PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [
        env.get("PYTHONPATH")])]), "OPENAI_API_KEY": "", "AIOS_POSTGRES_URL": ""})
    started = time.monotonic()
    res = subprocess.run(
        # -o: the venv is built (make would otherwise install one, as on a first `make demo`)
        ["make", "--no-print-directory", "-o", f"{venv}/bin/aios", f"VENV={venv}",
         f"AIOS_HOME={home}", "demo", f"DEMO_ARGS={DEMO_ARGS}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    (where / "make-demo.out").write_text(res.stdout)
    (where / "make-demo.err").write_text(res.stderr)
    stop_embedded(AiosHome.from_env(home))  # a running server's data folder cannot be copied
    (where / "built").write_text(f"{time.monotonic() - started:.0f} s\n")


def copy_demo(template: Path, dest: Path) -> Path:
    """A private copy of :func:`demo_checkout` at ``dest``; its home is ``dest / ".aios"``, and
    its embedded Postgres starts on first use, as after a reboot. ``cp -a``: links stay links,
    and the Postgres data folder keeps its owner (the server's own user when tests run as root)
    and mode."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(template), str(dest)], check=True)
    return dest


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
