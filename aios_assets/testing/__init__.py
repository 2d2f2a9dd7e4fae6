"""Shared test kit: data makers, data loaders, reference runs and loopback servers.

Used by ``tests/`` and ``benchmarks/`` only, never imported by the product (``tests/test_layout.py``
checks it), so that tests and benchmarks share one copy of each helper without importing each
other.
"""
