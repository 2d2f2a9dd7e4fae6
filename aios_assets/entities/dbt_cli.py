"""``aios-dbt``: dbt itself, started in the home it builds.

dagster-dbt starts dbt in the project folder. The dbt asset instead names the home in
``$AIOS_DBT_CWD`` and the warehouse relative to it (``$AIOS_WAREHOUSE=warehouse.duckdb``), so the
profile dbt renders is the same text in every home. dbt keys its partial parse on that text
("profile has changed"), so a new home's first build reuses the parse that ``make venv`` left in
the project (dagster-dbt copies ``partial_parse.msgpack`` into a new target) instead of parsing
all 82 nodes again: about 2 CPU-s off every home's first run.

Without ``$AIOS_DBT_CWD`` this is plain ``dbt``.
"""

from __future__ import annotations

import os
import sys

CWD_ENV = "AIOS_DBT_CWD"


def main() -> None:
    home = os.environ.get(CWD_ENV)
    if home:
        os.chdir(home)
        # relative paths in the project's config (the overrides file) are the home's
        os.environ["AIOS_HOME"] = home
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    sys.exit(cli())


if __name__ == "__main__":
    main()
