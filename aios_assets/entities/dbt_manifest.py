"""Where dbt's manifest lives and how it is (re)made, without building any asset.

Kept apart from ``aios_assets.entities.assets`` (which builds the dbt assets from the manifest
when it is imported): the CLI and ``make venv`` call ``ensure_dbt_manifest()`` *before* that import,
so
the assets are always built from a fresh manifest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT_TARGET_DIR = DBT_PROJECT_DIR / "target"
MANIFEST_PATH = DBT_TARGET_DIR / "manifest.json"


def _project_files() -> Iterator[Path]:
    for sub in ("", "models", "macros", "snapshots", "tests", "seeds", "analyses"):
        base = DBT_PROJECT_DIR / sub if sub else DBT_PROJECT_DIR
        if not base.exists():
            continue
        patterns = ("*.yml", "*.yaml") if not sub else ("**/*.sql", "**/*.py", "**/*.yml",
                                                         "**/*.yaml", "**/*.csv")
        for pattern in patterns:
            yield from base.glob(pattern)


def manifest_is_stale() -> bool:
    """True when the manifest is missing or older than any file of the dbt project."""
    if not MANIFEST_PATH.exists():
        return True
    built = MANIFEST_PATH.stat().st_mtime
    return any(p.stat().st_mtime > built for p in _project_files())


# The warehouse as the profile names it when dbt runs in the home (``aios-dbt``): the same text in
# every home, so every home's profile, and partial parse, is the project's.
HOME_WAREHOUSE = "warehouse.duckdb"


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def home_dbt_executable() -> str | None:
    """``aios-dbt`` (dbt started in ``$AIOS_DBT_CWD``; :mod:`aios_assets.entities.dbt_cli`) when
    the venv has it. An install older than the entry point has only ``dbt``: builds then name
    the warehouse by its absolute path and parse once per home, as before."""
    candidate = Path(sys.executable).with_name("aios-dbt")
    return str(candidate) if candidate.exists() else None


def ensure_dbt_manifest() -> Path:
    """Run ``dbt parse`` if the manifest is missing or stale; return the manifest path.

    Parsing needs no warehouse (the profile's path is only rendered, not opened)."""
    if manifest_is_stale():
        # the profile as a build in a home renders it, so homes reuse this parse
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
               "AIOS_WAREHOUSE": HOME_WAREHOUSE}
        env.setdefault("DBT_LOG_PATH", str(DBT_TARGET_DIR / "logs"))
        proc = subprocess.run(
            [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
             "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(DBT_TARGET_DIR)],
            cwd=str(DBT_PROJECT_DIR), env=env, capture_output=True, text=True, timeout=600,
            check=False,
        )
        if proc.returncode != 0 or not MANIFEST_PATH.exists():
            raise RuntimeError(
                "dbt parse failed for the entities project "
                f"({DBT_PROJECT_DIR}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
            )
        os.utime(MANIFEST_PATH)  # newer than every file parsed
    return MANIFEST_PATH
