"""Timing shared by the bench scripts (run as ``python bench/NAME.py``): wall clock or CPU seconds."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

R = TypeVar("R")


def best_of(
    fun: Callable[[], R], repeat: int = 1, give_up_after: float = 20.0, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, R]:
    """(best time in s, result) over ``repeat`` runs; stops early once a run took over ``give_up_after`` s.

    ``clock``: wall time by default; ``time.process_time`` for CPU seconds of the process (on a shared machine).
    """
    best, out = math.inf, None
    for _ in range(repeat):
        t = clock()
        out = fun()
        best = min(best, clock() - t)
        if best > give_up_after:
            break
    return best, out
