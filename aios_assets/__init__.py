"""AIOS Dagster assets. Import ``aios_assets.definitions`` for the Definitions object."""
