"""pytest support: measured-order assertions, a cached runner fixture, synthetic comparisons.

Use in a test module::

    from validation.testing import assert_order

    def test_total_weight():
        assert_order("total_spectral_weight[qwz]", min_order=1.8, max_order=2.3)

or through the ``validation_run`` fixture (registered in ``tests/conftest.py``),
which runs comparisons in one batch and caches the results for the session.

:func:`synthetic_comparison` builds a closed-form comparison with a known
residual (c_p x^p terms plus an optional floor-level ripple), for testing the
engine and plugins without the physics solvers.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterable, Mapping

import numpy as np
import pytest

from keldysh import models
from keldysh.fields import UniformB

from . import registry as _registry
from .comparison import Comparison
from .convergence import VERDICTS, ConvergenceResult, run
from .registry import get, load_plugins
from .sweep import ElectricField, Sweep

__all__ = ["assert_order", "isolated_registry", "run_cached", "synthetic_comparison", "validation_run"]

_CACHE: dict[tuple, ConvergenceResult] = {}


def run_cached(
    comparisons: Iterable[Comparison | str],
    sweep: Sweep | None = None,
    suite: str = "default",
    workers: int | None = 1,
) -> list[ConvergenceResult]:
    """Like :func:`validation.convergence.run`, reusing results cached in this process.

    The comparisons not cached yet are run in one batch (so they share the exact
    side's kernels).
    """
    resolved = [get(c) if isinstance(c, str) else c for c in comparisons]
    keys = [(c, sweep, suite) for c in resolved]
    missing = [c for c, key in zip(resolved, keys, strict=True) if key not in _CACHE]
    if missing:
        by_name = {r.name: r for r in run(missing, suite=suite, sweep=sweep, workers=workers)}
        dropped = [c.name for c in missing if c.name not in by_name]
        if dropped:
            raise ValueError(f"suite {suite!r} does not run {', '.join(dropped)} (see validation.registry.SUITES)")
        for c in missing:
            _CACHE[(c, sweep, suite)] = by_name[c.name]
    return [_CACHE[key] for key in keys]


def _describe(result: ConvergenceResult) -> str:
    lo, hi = result.order_ci
    lines = [
        f"{result.name}: fitted order {result.fitted_order:.3f}, "
        f"{100 * (result.fit.confidence if result.fit else 0.95):.0f}% CI [{lo:.3f}, {hi:.3f}], "
        f"verdict {result.verdict!r}",
        result.residual_table(),
        *result.notes,
    ]
    return "\n".join(lines)


def assert_order(
    comparison: Comparison | str,
    min_order: float | None = None,
    max_order: float | None = None,
    sweep: Sweep | None = None,
    workers: int | None = 1,
    verdict: str | None = None,
    suite: str = "default",
) -> ConvergenceResult:
    """Run (or reuse a cached run of) a comparison and assert its measured order.

    Asserts ``min_order <= fitted order <= max_order`` (each bound optional)
    and, if given, the verdict. An order bound fails when no order was fitted
    (every point at the error floor). The message gives the fitted order, its
    confidence interval, the verdict and every residual.

    Returns
    -------
    ConvergenceResult

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong type or value (the message names the
        argument): bounds that are not finite numbers, ``min_order`` above
        ``max_order``, an unknown ``verdict``.
    """
    for label, bound in (("min_order", min_order), ("max_order", max_order)):
        if bound is None:
            continue
        if isinstance(bound, bool) or not isinstance(bound, (int, float, np.integer, np.floating)):
            raise TypeError(f"{label} must be a number or None, got {type(bound).__name__} {bound!r}")
        if not math.isfinite(bound):
            raise ValueError(f"{label} must be finite (or None for no bound), got {bound}")
    if min_order is not None and max_order is not None and min_order > max_order:
        raise ValueError(f"min_order ({min_order}) must not exceed max_order ({max_order})")
    if verdict is not None and verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    if not isinstance(comparison, (Comparison, str)):
        raise TypeError(f"comparison must be a Comparison or a registered name, got {type(comparison).__name__}")
    (result,) = run_cached([comparison], sweep=sweep, suite=suite, workers=workers)
    order = result.fitted_order
    if verdict is not None:
        assert result.verdict == verdict, f"expected verdict {verdict!r}\n{_describe(result)}"
    if min_order is not None or max_order is not None:
        lo = -math.inf if min_order is None else min_order
        hi = math.inf if max_order is None else max_order
        assert lo <= order <= hi, f"measured order outside [{lo}, {hi}]\n{_describe(result)}"
    return result


class ValidationRunner:
    """Session helper behind the ``validation_run`` fixture (results cached per process)."""

    def __call__(
        self, comparison: Comparison | str, sweep: Sweep | None = None, suite: str = "default", workers: int | None = 1
    ) -> ConvergenceResult:
        """Result of one comparison."""
        return run_cached([comparison], sweep=sweep, suite=suite, workers=workers)[0]

    def many(
        self,
        comparisons: Iterable[Comparison | str],
        sweep: Sweep | None = None,
        suite: str = "default",
        workers: int | None = 1,
    ) -> dict[str, ConvergenceResult]:
        """Results of several comparisons, run in one batch; keyed by name."""
        return {r.name: r for r in run_cached(comparisons, sweep=sweep, suite=suite, workers=workers)}


@pytest.fixture(scope="session")
def validation_run() -> ValidationRunner:
    """Run comparisons (cached for the session): ``validation_run(name)`` or ``validation_run.many(names)``."""
    return ValidationRunner()


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Comparison]:
    """The comparison registry with built-ins and plugins loaded; restored after the test.

    Comparisons registered inside the test disappear afterwards. Yields the
    live registry dict.
    """
    load_plugins()
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    monkeypatch.setattr(_registry, "_PLUGINS_LOADED", True)
    monkeypatch.setattr(_registry, "_LOADED_ENTRY_POINTS", dict(_registry._LOADED_ENTRY_POINTS))
    monkeypatch.setattr(_registry, "_PLUGIN_RECORDS", dict(_registry._PLUGIN_RECORDS))
    monkeypatch.setattr(_registry, "_FAILURES", dict(_registry._FAILURES))
    monkeypatch.setattr(_registry, "_ORIGINS", dict(_registry._ORIGINS))
    return _registry._REGISTRY


# --- synthetic comparisons -------------------------------------------------------
def _synthetic_x(field: UniformB | ElectricField, n: int) -> np.ndarray:
    """A small "k axis": x_j = s * (1 + j/n), j = 0..n-1, s the flux or the lattice |q E|."""
    s = field.strength if isinstance(field, ElectricField) else field.flux
    return s * (1.0 + np.arange(n) / n)


def _synthetic_exact(
    model,
    field: UniformB | ElectricField,
    *,
    tol: float,
    coefficients: tuple[tuple[int, float], ...],
    ripple: float,
    n: int,
    delay: float = 0.0,
    log: str | None = None,
) -> np.ndarray:
    """sin(x) + sum_p c_p x^p + ripple * cos(1e3 j + 1)  (the ripple mimics a solver floor).

    ``delay`` seconds of sleep stand for an expensive solver; ``log`` names a
    file to which every evaluation appends a line (to count evaluations).
    """
    if delay:
        time.sleep(delay)
    if log is not None:
        with open(log, "a") as fh:
            fh.write(f"{field!r}\n")
    x = _synthetic_x(field, n)
    residual = sum(c * x**p for p, c in coefficients) + ripple * np.cos(1e3 * np.arange(n) + 1.0)
    return np.sin(x) + residual


def _synthetic_prediction(model, field: UniformB | ElectricField, *, n: int) -> np.ndarray:
    """sin(x) on the synthetic k axis."""
    return np.sin(_synthetic_x(field, n))


def _synthetic_annotations(model, field: UniformB | ElectricField) -> dict[str, float | str]:
    """The point's field and a regime label (``"strong"`` above 1e-2, else ``"weak"``)."""
    s = field.strength if isinstance(field, ElectricField) else field.flux
    return {"field": s, "regime": "strong" if s > 1e-2 else "weak"}


def synthetic_comparison(
    name: str,
    coefficients: Mapping[int, float],
    ripple: float = 0.0,
    sweep: Sweep | None = None,
    n: int = 4,
    delay: float = 0.0,
    log: str | None = None,
    annotated: bool = False,
    **fields,
) -> Comparison:
    """A closed-form comparison whose residual is sum_p c_p x^p (+ a ripple of size ``ripple``).

    x = flux * (1 + j/n) on n synthetic "k-points" (|q E| for an electric sweep). The exact tolerance is set
    to ``ripple`` so that a ripple-dominated residual sits at the floor.
    Picklable (module-level functions and partials), so it runs in worker
    processes too. ``delay`` (seconds of sleep per point) and ``log`` (a file
    that gets one line per evaluation) make it a stand-in for an expensive
    solver; ``annotated`` adds annotations (field, regime) to every point.
    Extra keyword arguments go to :class:`Comparison`.
    """
    coeffs = tuple(sorted((int(p), float(c)) for p, c in coefficients.items()))
    options = dict(
        description=f"synthetic: residual {' + '.join(f'{c:g} x^{p}' for p, c in coeffs) or '0'}",
        model=functools.partial(models.qwz, 1.0),
        model_label="synthetic",
        exact=functools.partial(
            _synthetic_exact, coefficients=coeffs, ripple=float(ripple), n=n, delay=float(delay), log=log
        ),
        prediction=functools.partial(_synthetic_prediction, n=n),
        equation="synthetic",
        points=f"{n} synthetic points",
        units="dimensionless",
        exact_tol=float(ripple),
        annotate=_synthetic_annotations if annotated else None,
    )
    if sweep is not None:
        options["sweep"] = sweep
    options.update(fields)
    return Comparison(name=name, **options)
