"""Validation layer: the only place where the exact side (:mod:`keldysh`) meets the theory (:mod:`semiclassics`).

A :class:`Comparison` pairs an exact observable with a semiclassical
prediction along a field :class:`Sweep`; :func:`run` evaluates the residuals,
fits their order in the field and gives a verdict; :mod:`validation.report`
writes CSV / Markdown / HTML reports with their provenance,
:class:`ResultsCache` keeps every finished point on disk (resume after an
interruption), :mod:`validation.cluster` runs sweeps on a Dask cluster, and
``keldysh-validate`` drives it all from the command line. Built-in comparisons live in :mod:`validation.catalog`.
"""

from .cache import ResultsCache
from .comparison import Comparison, available, get, load_plugins, register, unregister
from .convergence import ALL_ORDERS, EXACT, FAILS, INCONCLUSIVE, ConvergenceResult, fit_order, run
from .sweep import DEFAULT_SWEEP, QUICK_SWEEP, Sweep

__all__ = [
    "ALL_ORDERS",
    "Comparison",
    "ConvergenceResult",
    "DEFAULT_SWEEP",
    "EXACT",
    "FAILS",
    "INCONCLUSIVE",
    "QUICK_SWEEP",
    "ResultsCache",
    "Sweep",
    "available",
    "fit_order",
    "get",
    "load_plugins",
    "register",
    "run",
    "unregister",
]
