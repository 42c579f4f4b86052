"""Exceptions of the exact solver: it raises rather than return a number it cannot vouch for."""

from __future__ import annotations

__all__ = ["BudgetError", "ConvergenceError", "GapError"]


class ConvergenceError(RuntimeError):
    """The requested tolerance cannot be met within the solver's resource limits (the message says what is needed)."""


class GapError(RuntimeError):
    """The field closes (or fills) a gap that a band projector or a T = 0 occupation relies on."""


class BudgetError(ConvergenceError):
    """An estimate of the memory or time a request needs exceeds the budget (nothing was computed).

    Raised before any heavy work, naming the estimate and what to change (see :class:`keldysh.exact.Budget`).
    """
