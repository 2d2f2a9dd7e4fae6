"""Machine figures and small helpers the benchmarks share: timestamped log lines, latency
percentiles, the BLAS thread count, peak memory and the load average (the machine has 2 cores
and is shared, so every result carries the load it was measured under)."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import numpy as np


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


def pct(values: Iterable[float]) -> dict[str, float]:
    a = np.asarray(list(values), dtype=np.float64) * 1000.0
    if not a.size:
        return {}
    return {"n": int(a.size), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2),
            "mean_ms": round(float(a.mean()), 2), "max_ms": round(float(a.max()), 2)}


def blas_threads(n: int | None = None) -> int | None:
    """Get (and with ``n``, set) numpy's OpenBLAS thread count in this process (via ctypes, as
    threadpoolctl does; None when numpy's BLAS is not scipy-openblas)."""
    import ctypes

    maps = Path("/proc/self/maps").read_text().splitlines()
    paths = sorted({ln.split()[-1] for ln in maps
                    if "openblas" in ln.lower() and ln.split()[-1].startswith("/")})
    for path in paths:
        lib = ctypes.CDLL(path)
        if hasattr(lib, "scipy_openblas_set_num_threads64_"):
            if n is not None:
                lib.scipy_openblas_set_num_threads64_(n)
            return int(lib.scipy_openblas_get_num_threads64_())
    return None


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
