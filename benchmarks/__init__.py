"""AIOS benchmarks (run with `python -m benchmarks.<name>`)."""
