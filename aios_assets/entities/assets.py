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
- Every model and snapshot follows its inputs (``FOLLOW_INPUTS``, eager): a new ``event_log``
  materialization (an inbox ingest) makes ``automation_condition_sensor`` rebuild the marts.
- Each materialized table carries ``dagster/row_count``, counted in one DuckDB query after the
  build while this process still holds the write lock (views are not counted). dagster-dbt's
  ``fetch_row_counts`` opened a dbt connection per model in threads: about a third of the step's
  CPU on a small home.
- dbt writes its artifacts under the home (``AiosHome.dbt_target``), not a new folder in the
  project per run, and runs in the home (``aios-dbt``) with the warehouse named relative to it:
  every home renders the same profile, so a new home's first build reuses the project's parse
  and no build parses the project again. It writes no debug log and no JSON artifacts
  (``QUIET_BUILD_FLAGS``), and builds no event that no logger takes (``aios-dbt``).

The manifest is **never parsed at import**. It is produced by ``ensure_dbt_manifest()`` (which
runs ``dbt parse`` only when ``target/manifest.json`` is missing or older than the project's
files); the CLI calls it before it loads the definitions, and ``make venv`` / CI can too. When
the manifest is missing at import, the definitions still load: ``dbt_project_assets`` is then
an empty list and a warning names the fix
(``aios_assets.entities.dbt_manifest.ensure_dbt_manifest()``, which lives in its own module so that
calling it does not import these assets first).
"""


import importlib.metadata
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging import version

from aios_assets.entities.dbt_cli import CWD_ENV
from aios_assets.entities.dbt_manifest import (
    DBT_PROJECT_DIR,
    DBT_TARGET_DIR,
    HOME_WAREHOUSE,
    MANIFEST_PATH,
    dbt_executable,
    ensure_dbt_manifest,
    home_dbt_executable,
    manifest_is_stale,
)
from aios_assets.shared.automation import FOLLOW_INPUTS
from resources.warehouse import DuckDBWarehouse

log = logging.getLogger(__name__)

EVENT_LOG_KEY = dg.AssetKey("event_log")
EVENT_LOG_SOURCES = frozenset({"event_log", "events_current"})
GROUP_NAME = "entities"


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

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        # Models, snapshots and seeds follow the event log; sources are the ingest's own asset.
        if dbt_resource_props.get("resource_type") in ("model", "snapshot", "seed"):
            return FOLLOW_INPUTS
        return None


TRANSLATOR = AiosDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        enable_duplicate_source_asset_keys=True,
    )
)

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=DBT_TARGET_DIR)


class AiosDbtCliResource(DbtCliResource):
    """dagster-dbt's resource, with the installed dbt-core's version read from the package
    metadata: the stock resource runs ``dbt --version`` in a subprocess once per process (about
    1.5 CPU-s for every ``aios ingest``). dbt-core is pinned in pyproject, and the executable is
    the venv's own (:func:`dbt_executable`), so the two cannot differ."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> None:
        """No in-process dbt adapter. The stock resource builds one on every ``cli()`` call
        (profile, project, all 522 macros: about 1.2 CPU-s a build) for ``fetch_row_counts``
        and ``invocation.adapter``; row counts here are one DuckDB query (:func:`row_counts`)
        and nothing else reads the adapter."""
        return None


# dbt defaults that cost CPU in every build and that nothing reads, each off unless its variable
# is set (dbt's flags win over its variables): the debug log ``dbt.log`` (about 1,800 JSON
# events, each rendered again for the file) and the JSON artifacts (``manifest.json`` twice,
# ``run_results.json``). dagster-dbt reads the events dbt prints on stdout, which stay, and the
# project's manifest; row counts are our own query. A tiny home's build: 8.6 -> 8.2 CPU-s
# (medians of 16; 0.6 s of thread CPU was in the file log and the JSON writers).
# ``DBT_LOG_LEVEL_FILE=debug`` / ``DBT_WRITE_JSON=true`` bring them back.
QUIET_BUILD_FLAGS: dict[str, tuple[str, ...]] = {
    "DBT_LOG_LEVEL_FILE": ("--log-level-file", "none"),
    "DBT_WRITE_JSON": ("--no-write-json",),
}


def dbt_global_flags(env: Mapping[str, str] = os.environ) -> list[str]:
    """dbt's flags for every build: :data:`QUIET_BUILD_FLAGS` whose variable is not set."""
    return [flag for var, flags in QUIET_BUILD_FLAGS.items() if var not in env for flag in flags]


def dbt_resource() -> DbtCliResource:
    """The ``dbt`` resource for the Definitions."""
    return AiosDbtCliResource(
        project_dir=DBT_PROJECT,
        profiles_dir=str(DBT_PROJECT_DIR),
        # the venv's own, even when the venv is not on PATH; aios-dbt when installed
        dbt_executable=home_dbt_executable() or dbt_executable(),
        global_config_flags=dbt_global_flags(),
    )


def dbt_step_env(warehouse: Path, executable: str) -> dict[str, str | None]:
    """The variables a build sets for its own step: the warehouse it builds and, under
    ``aios-dbt``, the home dbt runs in with the warehouse named relative to it (one profile
    text, so one partial parse, for every home: :mod:`aios_assets.entities.dbt_cli`)."""
    if Path(executable).name == "aios-dbt" and warehouse.name == HOME_WAREHOUSE:
        return {"AIOS_WAREHOUSE": HOME_WAREHOUSE, CWD_ENV: str(warehouse.parent)}
    return {"AIOS_WAREHOUSE": str(warehouse), CWD_ENV: None}


def _set_env(values: Mapping[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def counted_relations(manifest: Mapping[str, Any], unique_ids: Iterable[str]
                      ) -> dict[str, str]:
    """unique_id -> relation name, for the nodes among ``unique_ids`` that are stored tables
    (views are not counted: counting one runs its query)."""
    nodes = manifest.get("nodes", {})
    out = {}
    for uid in unique_ids:
        node = nodes.get(uid) or {}
        if node.get("relation_name") and node.get("config", {}).get("materialized") != "view":
            out[uid] = node["relation_name"]
    return out


def row_counts(path: Path, relations: Mapping[str, str]) -> dict[str, int]:
    """unique_id -> row count, in one query on the warehouse file (dbt has exited)."""
    if not relations:
        return {}
    ids = list(relations)
    sql = "select " + ", ".join(f"(select count(*) from {relations[u]})" for u in ids)
    with duckdb.connect(str(path)) as con:
        return dict(zip(ids, con.execute(sql).fetchone() or (), strict=True))


def with_row_counts(events: Iterable[Any], manifest: Mapping[str, Any], path: Path
                    ) -> Iterator[Any]:
    """The dbt step's events, each model/snapshot output carrying ``dagster/row_count``.
    Check results pass at once; outputs wait for the build to end, then one count query."""
    outputs = []
    for event in events:
        if isinstance(event, dg.Output | dg.AssetMaterialization) and "unique_id" in (
                event.metadata or {}):
            outputs.append(event)
        else:
            yield event
    uid_of = [str(e.metadata["unique_id"].value) for e in outputs]
    try:
        counts = row_counts(path, counted_relations(manifest, uid_of))
    except duckdb.Error as exc:  # the build's own outcome matters more than its counts
        log.warning("row counts not recorded: %s", str(exc).splitlines()[0])
        counts = {}
    for event, uid in zip(outputs, uid_of, strict=True):
        if uid in counts:
            event = event.with_metadata({**event.metadata, "dagster/row_count": counts[uid]})
        yield event


def _build_assets() -> list[dg.AssetsDefinition]:
    if not MANIFEST_PATH.exists():
        log.warning(
            "dbt manifest missing at %s: the entities assets are not loaded. Run "
            "`python -c 'from aios_assets.entities.dbt_manifest import "
            "ensure_dbt_manifest as e; e()'` "
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
        # dbt's profile reads the path from the environment; set only for this step, so a
        # process that runs several homes (tests, a long-lived server) never builds into an
        # earlier one's warehouse
        step_env = dbt_step_env(warehouse.path, dbt.dbt_executable)
        previous = {k: os.environ.get(k) for k in step_env}
        _set_env(step_env)
        try:
            with warehouse.write_session():
                invocation = dbt.cli(["build"], context=context,
                                     target_path=warehouse.layout.dbt_target)
                yield from with_row_counts(invocation.stream(), invocation.manifest,
                                           warehouse.path)
        finally:
            _set_env(previous)

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
