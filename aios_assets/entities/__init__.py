"""Canonical entities: the dbt project as Dagster assets, and entity resolution."""
