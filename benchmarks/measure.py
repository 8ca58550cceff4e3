"""Timing and profiling helpers shared by the benchmarks."""

from __future__ import annotations

import cProfile
import os
import io
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """The median wall time of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def profile(fn: Callable[[], Any], top: int = 15) -> str:
    """The ``top`` functions by own time (cProfile) of one call of ``fn``."""
    profiler = cProfile.Profile()
    profiler.runcall(fn)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return "\n".join(line for line in out.getvalue().splitlines() if line.strip())


def pin_to_one_core() -> None:
    """Run on one CPU, so that rates are per core (numpy's pools are set to one thread by the caller)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
