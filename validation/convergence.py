"""Residuals, fitted convergence orders and verdicts.

At each sweep point the residual is exact - predicted at the same field. Two
numbers are kept per point:

- ``residual``: the max over k-points and matrix elements of
  ``|exact - predicted|`` (the reported one, and the one that is fitted);
- ``norm_residual``: the RMS over k-points of the Frobenius norm over the
  remaining axes (matrix elements, bands, vector components); for a BZ
  integral (no k axis) the Euclidean norm of the residual array.

The order is the least-squares slope of log(residual) against log(sweep
variable) with a confidence interval from the t distribution (n - 2 degrees of
freedom). A residual O(beta^p) has slope p (``docs/conventions.md``,
"What scaling means").

Error floor: the combined floor of a point is the exact solver's tolerance
plus the prediction's own estimated error (e.g. BZ quadrature, from the
prediction at a coarser grid). Points whose residual is below
``floor_factor`` (10) times the floor say nothing about order: they are
flagged and excluded from the fit, never fitted.

Verdicts (``verdict``):

- ``exact to O(hbar)``: fitted order >= 1.8;
- ``fails at O(hbar)``: fitted order <= 1.2;
- ``inconclusive``: in between, or fewer than 3 points above the floor while
  some are above it;
- ``agrees at every field``: every point at the floor (e.g. Streda counting in
  a gap, exact to all orders); no order is fitted (NaN);
- ``non-perturbative onset``: the residual agrees below a threshold field and
  then grows faster than any power of the field (e.g. an exponential onset);
  the threshold is :attr:`ConvergenceResult.onset`;
- ``error``: the comparison, or one of its points, raised; the exception and
  the field point are in :attr:`ConvergenceResult.errors`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .comparison import Comparison
from .executor import evaluate_points
from .points import PointData
from .registry import get, suite_jobs
from .sweep import Sweep

if TYPE_CHECKING:
    from .cache import ResultsCache

__all__ = [
    "ALL_ORDERS",
    "ERROR",
    "EXACT",
    "FAILS",
    "INCONCLUSIVE",
    "NONPERTURBATIVE",
    "VERDICTS",
    "ConvergenceResult",
    "OrderFit",
    "PointResult",
    "analyse",
    "classify",
    "fit_order",
    "max_residual",
    "norm_residual",
    "run",
]

EXACT = "exact to O(hbar)"
FAILS = "fails at O(hbar)"
INCONCLUSIVE = "inconclusive"
ALL_ORDERS = "agrees at every field"
NONPERTURBATIVE = "non-perturbative onset"
ERROR = "error"
#: Every verdict, in the order a report lists them.
VERDICTS = (EXACT, FAILS, INCONCLUSIVE, ALL_ORDERS, NONPERTURBATIVE, ERROR)

#: Order thresholds of the verdicts.
EXACT_MIN_ORDER = 1.8
FAILS_MAX_ORDER = 1.2
#: Points needed above the floor to fit an order.
MIN_FIT_POINTS = 3
#: A point is at the floor when residual <= FLOOR_FACTOR * combined floor.
FLOOR_FACTOR = 10.0


def max_residual(exact: ArrayLike, predicted: ArrayLike) -> tuple[float, tuple[int, ...]]:
    """max |exact - predicted| over all elements, and the index where it occurs."""
    diff = np.abs(np.asarray(exact) - np.asarray(predicted))
    if diff.size == 0:
        raise ValueError("empty observable: nothing to compare")
    if not np.all(np.isfinite(diff)):
        raise ValueError("non-finite residual: the exact observable or the prediction has NaN/inf")
    index = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    return float(diff[index]), tuple(int(i) for i in index)


def norm_residual(exact: ArrayLike, predicted: ArrayLike, k_resolved: bool) -> float:
    """RMS over the leading k axis of the Frobenius norm of the rest (Euclidean norm if not k-resolved)."""
    diff = np.abs(np.asarray(exact) - np.asarray(predicted))
    if k_resolved:
        if diff.ndim == 0:
            raise ValueError("a k-resolved observable needs a leading k-point axis")
        per_k = np.sqrt(np.sum(diff.reshape(diff.shape[0], -1) ** 2, axis=1))
        return float(np.sqrt(np.mean(per_k**2)))
    return float(np.sqrt(np.sum(diff**2)))


@dataclass(frozen=True)
class OrderFit:
    """Least-squares fit log(residual) = intercept + order * log(x)."""

    order: float
    ci: tuple[float, float]
    intercept: float
    n_points: int
    confidence: float = 0.95

    def __call__(self, x: ArrayLike) -> np.ndarray:
        """The fitted residual at sweep values x."""
        return np.exp(self.intercept) * np.asarray(x, dtype=float) ** self.order


def fit_order(x: ArrayLike, residual: ArrayLike, confidence: float = 0.95) -> OrderFit:
    """Slope of log(residual) vs log(x) with a ``confidence`` interval (t distribution, n - 2 dof).

    Raises
    ------
    ValueError
        With fewer than 3 points (no interval), or non-positive values.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(residual, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and residual must be 1D of equal length, got {x.shape} and {y.shape}")
    if len(x) < MIN_FIT_POINTS:
        raise ValueError(f"an order fit with a confidence interval needs >= {MIN_FIT_POINTS} points, got {len(x)}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("log-log fit needs positive sweep values and residuals")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    from scipy import stats  # imported here: worker processes never fit, and scipy.stats is slow to import

    lx, ly = np.log(x), np.log(y)
    xm = lx.mean()
    sxx = np.sum((lx - xm) ** 2)
    if sxx == 0:
        raise ValueError("sweep values must not all be equal")
    slope = float(np.sum((lx - xm) * (ly - ly.mean())) / sxx)
    intercept = float(ly.mean() - slope * xm)
    dof = len(x) - 2
    sse = float(np.sum((ly - intercept - slope * lx) ** 2))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof) * math.sqrt(sse / dof / sxx))
    return OrderFit(slope, (slope - half, slope + half), intercept, len(x), confidence)


def classify(order: float) -> str:
    """Verdict of a fitted order: >= 1.8 exact to O(hbar), <= 1.2 fails at O(hbar), else inconclusive."""
    if not math.isfinite(order):
        return INCONCLUSIVE
    if order >= EXACT_MIN_ORDER:
        return EXACT
    if order <= FAILS_MAX_ORDER:
        return FAILS
    return INCONCLUSIVE


@dataclass(frozen=True)
class PointResult:
    """One sweep point of a comparison, with its residuals and floor flag.

    ``exact_at_max`` / ``predicted_at_max`` are the two values at ``element``,
    the index (k-point first, if k-resolved) of the largest residual.
    ``floor`` is the combined floor: exact tolerance + prediction floor.
    ``lattice_value`` is the lattice problem's flux per cell (or |q E|).
    """

    sweep_value: float
    lattice_value: float
    residual: float
    norm_residual: float
    floor: float
    at_floor: bool
    element: tuple[int, ...]
    exact_at_max: complex | float
    predicted_at_max: complex | float
    exact: np.ndarray = field(repr=False)
    predicted: np.ndarray = field(repr=False)
    prediction_floor: float = 0.0
    seconds: float = 0.0
    annotations: dict[str, float | int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConvergenceResult:
    """Residuals of one comparison along its sweep, the fitted order and the verdict."""

    comparison: Comparison
    sweep: Sweep
    points: tuple[PointResult, ...]
    fit: OrderFit | None
    verdict: str
    floor_factor: float = FLOOR_FACTOR
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.comparison.name

    @property
    def fitted_order(self) -> float:
        """Fitted order (NaN when no order was fitted)."""
        return self.fit.order if self.fit is not None else math.nan

    @property
    def order_ci(self) -> tuple[float, float]:
        """Confidence interval of the order ((NaN, NaN) when no order was fitted)."""
        return self.fit.ci if self.fit is not None else (math.nan, math.nan)

    @property
    def max_residual(self) -> float:
        """Max residual (over k and elements) at the smallest sweep value."""
        return min(self.points, key=lambda p: p.sweep_value).residual

    @property
    def fitted_points(self) -> tuple[PointResult, ...]:
        return tuple(p for p in self.points if not p.at_floor)

    def summary(self) -> str:
        """One line: name, order with interval, verdict."""
        if self.fit is None:
            order = "no order fitted"
        else:
            lo, hi = self.order_ci
            order = f"order {self.fitted_order:.3f} [{lo:.3f}, {hi:.3f}]"
        return f"{self.name}: {order}; {self.verdict}"

    def residual_table(self) -> str:
        """The points as text lines (sweep value, residual, floor, flag)."""
        var = self.sweep.variable
        lines = [f"{var:>10} {'residual':>11} {'floor':>10}"]
        for p in self.points:
            flag = "  at floor" if p.at_floor else ""
            lines.append(f"{p.sweep_value:10.3e} {p.residual:11.3e} {p.floor:10.2e}{flag}")
        return "\n".join(lines)


def _local_slope_note(points: Sequence[PointResult], fit: OrderFit) -> str | None:
    """A note when the slope of the two smallest-field fitted points departs from the fit by > 0.5."""
    pts = sorted(points, key=lambda p: p.sweep_value)[:2]
    if len(pts) < 2:
        return None
    slope = math.log(pts[1].residual / pts[0].residual) / math.log(pts[1].sweep_value / pts[0].sweep_value)
    if abs(slope - fit.order) > 0.5:
        return (
            f"local slope at the smallest fields is {slope:.2f}, fitted order {fit.order:.2f}: "
            "the residual is not a single power law over the sweep"
        )
    return None


#: A fitted order above this multiple of the expected one is flagged as a steep (non-power-law) onset.
STEEP_ONSET_FACTOR = 3.0


def _steep_onset_note(comparison: Comparison, fit: OrderFit) -> str | None:
    """A note when the fitted order exceeds STEEP_ONSET_FACTOR x the expected order."""
    if fit.order <= STEEP_ONSET_FACTOR * comparison.expected_order:
        return None
    return (
        f"fitted order {fit.order:.1f} is far above the expected {comparison.expected_order:g}: the residual switches "
        "on faster than a power of the field (e.g. an exponential or thermal onset, or points near the floor); the "
        "verdict only says that the prediction is not wrong at O(hbar), the number is not an order of an expansion"
    )


def analyse(
    comparison: Comparison,
    sweep: Sweep,
    data: Sequence[PointData],
    floor_factor: float = FLOOR_FACTOR,
    confidence: float = 0.95,
) -> ConvergenceResult:
    """Residuals, floor flags, order fit and verdict of one comparison from its raw points."""
    points = []
    for d in data:
        res, index = max_residual(d.exact, d.predicted)
        floor = comparison.exact_tol + d.prediction_floor
        points.append(
            PointResult(
                sweep_value=d.sweep_value,
                lattice_value=d.lattice_value,
                residual=res,
                norm_residual=norm_residual(d.exact, d.predicted, comparison.k_resolved),
                floor=floor,
                at_floor=res <= floor_factor * floor,
                element=index,
                exact_at_max=d.exact[index].item(),
                predicted_at_max=d.predicted[index].item(),
                exact=d.exact,
                predicted=d.predicted,
                prediction_floor=d.prediction_floor,
                seconds=d.seconds,
                annotations=dict(d.annotations),
            )
        )
    usable = [p for p in points if not p.at_floor]
    notes: list[str] = []
    fit = None
    if len(usable) >= MIN_FIT_POINTS:
        fit = fit_order([p.sweep_value for p in usable], [p.residual for p in usable], confidence)
        verdict = classify(fit.order)
        notes += [n for n in (_local_slope_note(usable, fit), _steep_onset_note(comparison, fit)) if n]
        if len(usable) < len(points):
            notes.append(f"{len(points) - len(usable)} of {len(points)} points at the error floor, excluded from the fit")
    elif not usable:
        verdict = ALL_ORDERS
        notes.append(
            f"every residual is within {floor_factor:g}x the error floor at every field: no order fitted "
            "(the prediction holds beyond O(hbar) here)"
        )
    else:
        verdict = INCONCLUSIVE
        notes.append(f"only {len(usable)} of {len(points)} points above the error floor: no order fitted")
    return ConvergenceResult(comparison, sweep, tuple(points), fit, verdict, floor_factor, tuple(notes))


def run(
    comparisons: Iterable[Comparison | str],
    *,
    suite: str = "default",
    sweep: Sweep | None = None,
    variable: str | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool = False,
    floor_factor: float = FLOOR_FACTOR,
    cache: ResultsCache | None = None,
) -> list[ConvergenceResult]:
    """Evaluate comparisons along their sweeps and analyse them.

    Parameters
    ----------
    comparisons
        Comparison objects or registered names.
    suite
        ``"default"`` or ``"quick"`` (see :data:`validation.registry.SUITES`).
    sweep
        If given, replaces every comparison's sweep (and the suite's choice).
    variable
        If given (``"flux"`` or ``"hbar"``), report every sweep in this variable.
    workers, executor, progress, cache
        See :func:`validation.executor.evaluate_points` (``cache``: a
        :class:`validation.cache.ResultsCache`, to resume and keep finished points).

    Returns
    -------
    list of ConvergenceResult, in the order of ``comparisons``.
    """
    resolved = [get(c) if isinstance(c, str) else c for c in comparisons]
    if sweep is not None:
        jobs = [(c, sweep) for c in resolved]
    else:
        jobs = suite_jobs(suite, resolved)
    if variable is not None:
        jobs = [(c, s.as_variable(variable)) for c, s in jobs]
    data = evaluate_points(jobs, workers=workers, executor=executor, progress=progress, cache=cache)
    return [analyse(c, s, data[c.name], floor_factor) for c, s in jobs]
