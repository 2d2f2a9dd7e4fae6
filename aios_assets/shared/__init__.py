"""Small primitives with one home each, shared across aios_assets (no Dagster, cheap to import).
Resources keep theirs in ``resources/`` (resources never import aios_assets)."""
