"""``aios-dbt``: dbt itself, started in the home it builds.

dagster-dbt starts dbt in the project folder. The dbt asset instead names the home in
``$AIOS_DBT_CWD`` and the warehouse relative to it (``$AIOS_WAREHOUSE=warehouse.duckdb``), so the
profile dbt renders is the same text in every home. dbt keys its partial parse on that text
("profile has changed"), so a new home's first build reuses the parse that ``make venv`` left in
the project (dagster-dbt copies ``partial_parse.msgpack`` into a new target) instead of parsing
all 82 nodes again: about 2 CPU-s off every home's first run.

Without ``$AIOS_DBT_CWD`` this is plain ``dbt`` (less the events no logger takes:
:func:`drop_unlogged_events`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

CWD_ENV = "AIOS_DBT_CWD"


def drop_unlogged_events(manager_class: Any = None) -> None:
    """dbt makes each event (about 2,000 a build, nine in ten of them debug) a protobuf message
    and every logger renders it as JSON before Python's logging drops it below the logger's
    level. Without the debug file log (``QUIET_BUILD_FLAGS`` in ``entities.assets``) a debug
    event reaches no one: it is skipped before it is built (a tiny home's build: 8.2 -> 7.8
    CPU-s, medians of 8; the file log off, the stdout log still rendered 2,000). Events a
    logger takes (``--debug``, ``DBT_LOG_LEVEL_FILE=debug``) and warnings dbt may turn into
    errors go through as before; the only callback in this process is dbt's usage tracking
    (off under dagster-dbt), which looks at warnings only."""
    from dbt_common.events import event_manager
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.logger import _log_level_map as rank

    manager_class = manager_class or event_manager.EventManager
    fire = manager_class.fire_event

    def fire_event(self: Any, e: Any, level: Any = None, node: Any = None,
                   force_warn_or_error_handling: bool = False) -> None:
        if (self.loggers and not force_warn_or_error_handling
                and all(cb.__module__ == "dbt.tracking" for cb in self.callbacks)):
            wanted = rank[level or e.level_tag()]
            if wanted < rank[EventLevel.WARN] and all(
                    wanted < rank[logger.level] for logger in self.loggers):
                return
        fire(self, e, level, node, force_warn_or_error_handling)

    manager_class.fire_event = fire_event


def main() -> None:
    home = os.environ.get(CWD_ENV)
    if home:
        os.chdir(home)
        # relative paths in the project's config (the overrides file) are the home's
        os.environ["AIOS_HOME"] = home
    drop_unlogged_events()
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    sys.exit(cli())


if __name__ == "__main__":
    main()
