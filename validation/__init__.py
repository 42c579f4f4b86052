"""Validation layer: the only place where the exact side (:mod:`keldysh`) meets the theory (:mod:`semiclassics`).

A :class:`Comparison` pairs an exact observable with a semiclassical
prediction along a field :class:`Sweep`; :func:`run` evaluates the residuals,
fits their order in the field and gives a verdict.

Modules, values first and machinery last:

- :mod:`validation.sweep`: what a sweep is (:class:`Sweep`, ``ElectricField``);
- :mod:`validation.comparison`: the :class:`Comparison` value object;
- :mod:`validation.points`: how one sweep point is computed (``evaluate_point``, ``PointData``);
- :mod:`validation.catalog`: the built-in comparisons;
- :mod:`validation.registry`: :func:`register`, :func:`get`, :func:`available`, plugins
  (entry points, the built-in catalog among them) and suites;
- :mod:`validation.convergence`: residuals, order fits, verdicts, :func:`run`;
- :mod:`validation.executor` and :mod:`validation.cluster`: where the points run
  (in-process, a process pool, a Dask cluster);
- :mod:`validation.cache` (:class:`ResultsCache`) and :mod:`validation.provenance`:
  finished points on disk, keyed by the code that computed them;
- :mod:`validation.records` (what a run writes: summary.csv, point CSVs, run.json) and
  :mod:`validation.report_guard` (a report is never shrunk by accident);
- reports drawn from those files alone: :mod:`validation.report` (Markdown, HTML),
  :mod:`validation.plots` (per-comparison figures), :mod:`validation.overview` (the run's
  overview figure), :mod:`validation.claims` (the paper's claims table),
  :mod:`validation.verdicts` (verdict order and styles), :mod:`validation.naming`;
- comparing and quoting runs: :mod:`validation.diff` (``keldysh-validate diff``),
  :mod:`validation.readme` (the README's generated results);
  :mod:`validation.results` (:func:`read_report`): a finished run as pandas DataFrames;
- :mod:`validation.cli` (``keldysh-validate``) and :mod:`validation.testing` (pytest helpers).

The package must be installed (``pip install -e .``): the built-in comparisons are
found through its entry-point metadata (:mod:`validation.registry`).
"""

from .cache import ResultsCache
from .comparison import Comparison
from .convergence import (
    ALL_ORDERS,
    ERROR,
    EXACT,
    FAILS,
    INCONCLUSIVE,
    NONPERTURBATIVE,
    VERDICTS,
    ConvergenceResult,
    fit_order,
    run,
)
from .registry import available, get, load_plugins, register, unregister
from .results import Report, read_report
from .sweep import DEFAULT_SWEEP, QUICK_SWEEP, Sweep

__all__ = [
    "ALL_ORDERS",
    "DEFAULT_SWEEP",
    "ERROR",
    "EXACT",
    "FAILS",
    "INCONCLUSIVE",
    "NONPERTURBATIVE",
    "QUICK_SWEEP",
    "Report",
    "VERDICTS",
    "Comparison",
    "ConvergenceResult",
    "ResultsCache",
    "Sweep",
    "available",
    "fit_order",
    "get",
    "load_plugins",
    "read_report",
    "register",
    "run",
    "unregister",
]
