"""Canonical entities: every dbt model, snapshot and test (entity resolution runs inside dbt,
in ``int_entity_membership``) as assets and checks. Each model follows the event log
(``FOLLOW_INPUTS``, set by the dbt translator)."""

import dagster as dg

from aios_assets.entities.assets import dbt_project_assets
from aios_assets.shared.automation import in_domain

defs = dg.Definitions(assets=in_domain("entities", [*dbt_project_assets]))
