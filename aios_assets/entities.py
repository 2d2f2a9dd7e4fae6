"""Canonical entities: the dbt project (``dbt_project/``) as Dagster assets.

- Every dbt model, seed and snapshot is an asset in the group ``entities``; every dbt test is an
  asset check on the model it tests. The dbt sources ``event_log`` and ``events_current`` both
  map to the Dagster asset ``event_log`` (the ingest asset), so staging depends on ingest.
- Entity resolution runs inside dbt, in the Python model ``int_entity_membership``; the
  lineage ``event_log -> staging -> int_person_records -> int_entity_membership ->
  entity_membership / dim_contacts / …`` stays visible in one graph.
- ``dbt build`` runs under the warehouse write lock (``DuckDBWarehouse.write_session``) and in
  the ``warehouse`` concurrency pool, so it never races the ingest or another writer, and the
  analysts' read-only snapshot is published when it finishes.

The manifest is **never parsed at import**. It is produced by ``ensure_dbt_manifest()`` (which
runs ``dbt parse`` only when ``target/manifest.json`` is missing or older than the project's
files); the CLI calls it before it loads the definitions, and ``make venv`` / CI can too. When
the manifest is missing at import, the definitions still load: ``dbt_project_assets`` is then
an empty list and a warning names the fix (``aios_assets.entities.ensure_dbt_manifest()``).
"""


import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from resources.warehouse import DuckDBWarehouse

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
DBT_TARGET_DIR = DBT_PROJECT_DIR / "target"
MANIFEST_PATH = DBT_TARGET_DIR / "manifest.json"
EVENT_LOG_KEY = dg.AssetKey("event_log")
EVENT_LOG_SOURCES = frozenset({"event_log", "events_current"})
GROUP_NAME = "entities"



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


def _dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def ensure_dbt_manifest() -> Path:
    """Run ``dbt parse`` if the manifest is missing or stale; return the manifest path.

    Parsing needs no warehouse (the profile's path is only rendered, not opened)."""
    if manifest_is_stale():
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        env.setdefault("DBT_LOG_PATH", str(DBT_TARGET_DIR / "logs"))
        proc = subprocess.run(
            [_dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
             "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(DBT_TARGET_DIR)],
            cwd=str(DBT_PROJECT_DIR), env=env, capture_output=True, text=True, timeout=600,
        )
        if proc.returncode != 0 or not MANIFEST_PATH.exists():
            raise RuntimeError(
                "dbt parse failed for the entities project "
                f"({DBT_PROJECT_DIR}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
            )
        os.utime(MANIFEST_PATH)  # newer than every file parsed
    return MANIFEST_PATH


class AiosDbtTranslator(DagsterDbtTranslator):
    """Group ``entities``; the event-log sources are the ingest asset ``event_log``."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if (
            dbt_resource_props.get("resource_type") == "source"
            and dbt_resource_props.get("name") in EVENT_LOG_SOURCES
        ):
            return EVENT_LOG_KEY
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return GROUP_NAME


TRANSLATOR = AiosDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        enable_duplicate_source_asset_keys=True,
    )
)

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=DBT_TARGET_DIR)


def dbt_resource() -> DbtCliResource:
    """The ``dbt`` resource for the Definitions."""
    return DbtCliResource(
        project_dir=DBT_PROJECT,
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=_dbt_executable(),  # the venv's dbt, even when the venv is not on PATH
    )


def _build_assets() -> list[dg.AssetsDefinition]:
    if not MANIFEST_PATH.exists():
        log.warning(
            "dbt manifest missing at %s: the entities assets are not loaded. Run "
            "`python -c 'from aios_assets.entities import ensure_dbt_manifest as e; e()'` "
            "(the aios CLI does this before loading definitions).",
            MANIFEST_PATH,
        )
        return []

    @dbt_assets(
        manifest=MANIFEST_PATH,
        project=DBT_PROJECT,
        dagster_dbt_translator=TRANSLATOR,
        name="aios_dbt",
        pool="warehouse",
    )
    def aios_dbt(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: DuckDBWarehouse
    ):
        """``dbt build`` (models, snapshots, tests) under the warehouse write lock."""
        os.environ["AIOS_WAREHOUSE"] = str(warehouse.path)
        with warehouse.write_session():
            yield from dbt.cli(["build"], context=context).stream()

    return [aios_dbt]


dbt_project_assets: list[dg.AssetsDefinition] = _build_assets()

__all__ = [
    "DBT_PROJECT_DIR",
    "MANIFEST_PATH",
    "dbt_project_assets",
    "dbt_resource",
    "ensure_dbt_manifest",
    "manifest_is_stale",
]
