"""Wall-clock timing shared by the bench scripts (run as ``python bench/NAME.py``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

R = TypeVar("R")


def best_of(fun: Callable[[], R], repeat: int = 1, give_up_after: float = 20.0) -> tuple[float, R]:
    """(best wall time in s, result) over ``repeat`` runs; stops early once a run took over ``give_up_after`` s."""
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fun()
        best = min(best, time.perf_counter() - t)
        if best > give_up_after:
            break
    return best, out
