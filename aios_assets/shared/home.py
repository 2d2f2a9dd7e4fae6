"""Where AIOS keeps its state: ``$AIOS_HOME`` (default ``./.aios``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = ".aios"

DAGSTER_YAML = """\
# Written by aios; run history lives here so it survives restarts.
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    # Steps that write the DuckDB warehouse take a slot of the "warehouse" pool, so two runs
    # never fight over DuckDB's single-writer lock.
    default_limit: 1
"""


@dataclass(frozen=True)
class AiosHome:
    """The folder layout under AIOS_HOME."""

    root: Path

    @classmethod
    def from_env(cls, root: str | os.PathLike[str] | None = None) -> AiosHome:
        value = root if root is not None else os.environ.get("AIOS_HOME") or DEFAULT_HOME
        return cls(Path(value).expanduser().resolve())

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def warehouse_snapshot(self) -> Path:
        return self.root / "warehouse.read.duckdb"

    @property
    def pg(self) -> Path:
        return self.root / "pg"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def imap_staging(self) -> Path:
        """Messages fetched by ``imap_inbox_sensor``, one ``.eml`` each, until ingested."""
        return self.root / "staging" / "imap"

    @property
    def caldav_staging(self) -> Path:
        """Calendar objects fetched by ``caldav_calendar_sensor``, as ``.ics``, until ingested."""
        return self.root / "staging" / "caldav"

    @property
    def caldav_state(self) -> Path:
        """The last text of each calendar object synced (a deleted one is staged from it)."""
        return self.root / "caldav"

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder for this home's builds: its partial-parse state matches this
        home's profile (the warehouse path is part of it), so a later build skips the parse."""
        return self.root / "dbt"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def logs(self) -> Path:
        """Tool output of CLI runs (dbt's log lines), kept out of the CLI's own stdout."""
        return self.root / "logs"

    @property
    def cache(self) -> Path:
        """Results that are pure functions of their inputs (deleting it only costs time)."""
        return self.root / "cache"

    def ensure(self) -> AiosHome:
        """Create the folders (idempotent) and a dagster.yaml if there is none."""
        for path in (self.root, self.inbox, self.archive, self.dagster_home, self.locks,
                     self.logs):
            path.mkdir(parents=True, exist_ok=True)
        dagster_yaml = self.dagster_home / "dagster.yaml"
        if not dagster_yaml.exists():
            dagster_yaml.write_text(DAGSTER_YAML)
        return self


def activate_home(root: str | os.PathLike[str] | None = None, *,
                  dagster: bool = True) -> AiosHome:
    """Resolve AIOS_HOME, create it, and point DAGSTER_HOME inside it for this process.

    ``dagster=False``: the command opens no Dagster instance, so SQLAlchemy (about 0.4 s to
    import) is not set up for Dagster's run storage."""
    home = AiosHome.from_env(root).ensure()
    if dagster:
        from aios_assets.shared.run_storage import relax_sqlite_sync

        relax_sqlite_sync()
    os.environ["AIOS_HOME"] = str(home.root)
    os.environ.setdefault("DAGSTER_HOME", str(home.dagster_home))
    return home
