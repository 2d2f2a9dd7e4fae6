"""One module per input format; :mod:`aios_assets.ingest.parsers` is the public entry point."""
