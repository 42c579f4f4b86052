"""Resource budget of the exact solver: estimate before computing, refuse within seconds.

Every expensive step of :mod:`keldysh.static.chebyshev` (the polynomial fit, the
zero-field FFT grid, the recursion on the patch, the banded Matsubara solves) is
first estimated from quantities known a priori (gap widths, Chebyshev order,
kernel range, patch radius, hopping count). When an estimate exceeds the budget,
:class:`BudgetError` (a :class:`keldysh.ConvergenceError`) is raised before the
work starts; its message names the estimate, its cause (a gap, a temperature)
and what to change.

Defaults (``DEFAULT``): 8 GB of memory and 600 s of one core. A caller changes
them per call with ``budget=Budget(memory_gb=..., seconds=...)`` on every entry
point of :mod:`keldysh.exact`, or for the whole process by assigning
``keldysh.static.budget.DEFAULT = Budget(...)``. ``Budget.unlimited()`` turns
the checks off. The time estimates are order-of-magnitude (calibrated on this
package's reference runs, within a factor of about 3); the memory estimates
count the large arrays only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import BudgetError

__all__ = ["DEFAULT", "Budget", "resolve"]

#: Complex multiply-adds per second of the sparse recursion (CSR times a block of columns).
SPARSE_RATE = 3e8
#: Floating-point operations per second of dense LAPACK work (lstsq, banded LU), one core.
DENSE_RATE = 2e9


@dataclass(frozen=True)
class Budget:
    """Largest memory (GB) and CPU time (s) a single exact-solver request may plan for.

    Parameters
    ----------
    memory_gb
        Peak memory of the large arrays of one request, in GB (1e9 bytes).
    seconds
        Estimated CPU time of one request on one core, in s.
    """

    memory_gb: float = 8.0
    seconds: float = 600.0

    def __post_init__(self) -> None:
        for name in ("memory_gb", "seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"Budget.{name} must be a positive number, got {value!r}")

    @classmethod
    def unlimited(cls) -> Budget:
        """No limit (the estimates are still made, never enforced)."""
        return cls(math.inf, math.inf)

    def check(self, what: str, memory_bytes: float, seconds: float, cause: str = "", advice: str = "") -> None:
        """Raise :class:`BudgetError` if ``memory_bytes`` or ``seconds`` exceed the budget.

        ``what`` names the step, ``cause`` what drives its size (e.g. a gap), ``advice`` what to change.
        """
        over = []
        if memory_bytes > self.memory_gb * 1e9:
            over.append(f"about {memory_bytes / 1e9:.3g} GB of memory > budget memory_gb={self.memory_gb:g}")
        if seconds > self.seconds:
            over.append(f"about {seconds:.3g} s of CPU > budget seconds={self.seconds:g}")
        if over:
            raise BudgetError(
                f"{what} would need {' and '.join(over)}"
                + (f" ({cause})" if cause else "")
                + "; "
                + (f"{advice}, or " if advice else "")
                + "pass budget=Budget(memory_gb=..., seconds=...) to allow it"
            )


DEFAULT = Budget()


def resolve(budget: Budget | None) -> Budget:
    """The budget in force: ``budget`` if given, else the module default :data:`DEFAULT` (read at call time)."""
    if budget is None:
        return DEFAULT
    if not isinstance(budget, Budget):
        raise TypeError(f"budget must be a keldysh.static.budget.Budget or None, got {type(budget).__name__}")
    return budget
