"""Small primitives with one home each, shared across aios_assets and by ``resources/`` (no
Dagster, cheap to import). Layering: ``resources/`` may import ``aios_assets.shared`` only;
this package imports no domain package and nothing of ``resources/``."""
