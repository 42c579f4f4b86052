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
from .naming import slug
from .points import PointData, PointError
from .registry import SUITES, get, suite_jobs
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
    "Onset",
    "OrderFit",
    "PointResult",
    "analyse",
    "classify",
    "failed_result",
    "find_onset",
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
    """Residuals of one comparison along its sweep, the fitted order and the verdict.

    ``errors`` are the points (or the whole comparison) that raised; with any,
    the verdict is :data:`ERROR` and the order, if fitted, comes from the points
    that did not raise. ``onset`` is the sweep value where a non-perturbative
    onset begins (:func:`find_onset`), None without one; the order, if fitted,
    then comes from the points below it.
    """

    comparison: Comparison
    sweep: Sweep
    points: tuple[PointResult, ...]
    fit: OrderFit | None
    verdict: str
    floor_factor: float = FLOOR_FACTOR
    notes: tuple[str, ...] = ()
    errors: tuple[PointError, ...] = ()
    onset: float | None = None

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
        """Max residual (over k and elements) at the smallest sweep value (NaN without points)."""
        if not self.points:
            return math.nan
        return min(self.points, key=lambda p: p.sweep_value).residual

    @property
    def fitted_points(self) -> tuple[PointResult, ...]:
        """The points the order is fitted on: above the floor, and below the onset if there is one."""
        if self.fit is None:
            return ()
        return tuple(
            p for p in self.points if not p.at_floor and (self.onset is None or p.sweep_value < self.onset)
        )

    def summary(self) -> str:
        """One line: name, order with interval, verdict (and the onset or the first error)."""
        if self.fit is None:
            order = "no order fitted"
        else:
            lo, hi = self.order_ci
            order = f"order {self.fitted_order:.3f} [{lo:.3f}, {hi:.3f}]"
        text = f"{self.name}: {order}; {self.verdict}"
        if self.onset is not None:
            text += f" from {self.sweep.variable} = {self.onset:.4g}"
        if self.errors:
            text += f" ({len(self.errors)} error(s); first: {self.errors[0].describe()})"
        return text

    def residual_table(self) -> str:
        """The points as text lines (sweep value, residual, floor, flag), then the errors."""
        var = self.sweep.variable
        lines = [f"{var:>10} {'residual':>11} {'floor':>10}"]
        for p in self.points:
            flag = "  at floor" if p.at_floor else ""
            if self.onset is not None and p.sweep_value >= self.onset and not p.at_floor:
                flag = "  onset"
            lines.append(f"{p.sweep_value:10.3e} {p.residual:11.3e} {p.floor:10.2e}{flag}")
        lines += [f"error: {e.describe()}" for e in self.errors]
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


# --- non-perturbative onset ------------------------------------------------------------
#: An onset's local log-log slopes exceed this multiple of the expected order.
ONSET_FACTOR = STEEP_ONSET_FACTOR
#: ... and grow at least this fast with the field: d ln(slope) / d ln(field) >= ONSET_GROWTH between consecutive
#: slopes (0 for a power law, whose slope is constant; 1 for an exponential exp(x / x0), whose slope is x / x0).
ONSET_GROWTH = 0.5
#: Points of the onset (2 slopes, so that their growth is measured).
ONSET_MIN_POINTS = 3


@dataclass(frozen=True)
class Onset:
    """A non-perturbative onset found by :func:`find_onset` in points sorted by field.

    ``start`` is the index of the first point of the onset, ``slopes`` the
    local log-log slopes between consecutive points from there on.
    """

    start: int
    slopes: tuple[float, ...]


def find_onset(x: ArrayLike, residual: ArrayLike, expected_order: float) -> Onset | None:
    """The non-perturbative onset at the large-field end of a residual, if there is one.

    ``x`` (increasing) and ``residual`` are points above the error floor. With
    L = ln x and s_i = (ln r_{i+1} - ln r_i) / (L_{i+1} - L_i) the local
    log-log slope of interval i, at its midpoint m_i = (L_i + L_{i+1}) / 2, a
    power law has constant s, and an exponential exp(x / x0) has s = x / x0:
    d ln s / d ln x = 1. The onset is the longest run of intervals ending at
    the largest field in which

    - every slope exceeds :data:`ONSET_FACTOR` x ``expected_order``, and
    - each slope grows from the previous one at least as
      (ln s_{i+1} - ln s_i) / (m_{i+1} - m_i) >= :data:`ONSET_GROWTH`,

    and it must span at least :data:`ONSET_MIN_POINTS` points. A power law,
    of any order, is never an onset (its slopes do not grow); nor is a power
    law that levels off into a floor at small fields (its slopes stay below the
    order).

    Returns
    -------
    Onset or None
    """
    lx = np.log(np.asarray(x, dtype=float))
    lr = np.log(np.asarray(residual, dtype=float))
    if lx.shape != lr.shape or lx.ndim != 1:
        raise ValueError(f"x and residual must be 1D of equal length, got {lx.shape} and {lr.shape}")
    if len(lx) < ONSET_MIN_POINTS or np.any(np.diff(lx) <= 0):
        return None
    slopes = np.diff(lr) / np.diff(lx)
    mid = (lx[:-1] + lx[1:]) / 2
    steep = slopes > ONSET_FACTOR * expected_order
    last = len(slopes) - 1
    if not steep[last]:
        return None
    first = last
    while first > 0 and steep[first - 1]:
        growth = math.log(slopes[first] / slopes[first - 1]) / (mid[first] - mid[first - 1])
        if growth < ONSET_GROWTH:
            break
        first -= 1
    if last - first + 2 < ONSET_MIN_POINTS:
        return None
    return Onset(first, tuple(float(s) for s in slopes[first:]))


def _point_result(comparison: Comparison, d: PointData, floor_factor: float) -> PointResult:
    res, index = max_residual(d.exact, d.predicted)
    floor = comparison.exact_tol + d.prediction_floor
    return PointResult(
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


def _fit_verdict(
    usable: Sequence[PointResult], n_points: int, floor_factor: float, confidence: float, comparison: Comparison
) -> tuple[OrderFit | None, str, list[str]]:
    """Fit, verdict and notes of points above the floor (``n_points`` in all, floor points included)."""
    notes: list[str] = []
    if len(usable) >= MIN_FIT_POINTS:
        fit = fit_order([p.sweep_value for p in usable], [p.residual for p in usable], confidence)
        notes += [n for n in (_local_slope_note(usable, fit), _steep_onset_note(comparison, fit)) if n]
        if len(usable) < n_points:
            notes.append(f"{n_points - len(usable)} of {n_points} points at the error floor, excluded from the fit")
        return fit, classify(fit.order), notes
    if not usable:
        notes.append(
            f"every residual is within {floor_factor:g}x the error floor at every field: no order fitted "
            "(the prediction holds beyond O(hbar) here)"
        )
        return None, ALL_ORDERS, notes
    notes.append(f"only {len(usable)} of {n_points} points above the error floor: no order fitted")
    return None, INCONCLUSIVE, notes


def analyse(
    comparison: Comparison,
    sweep: Sweep,
    data: Sequence[PointData | PointError],
    floor_factor: float = FLOOR_FACTOR,
    confidence: float = 0.95,
) -> ConvergenceResult:
    """Residuals, floor flags, order fit and verdict of one comparison from its raw points.

    ``data`` may hold :class:`~validation.points.PointError` records (points
    that raised); a point whose residual is not finite becomes one too. Any
    error makes the verdict :data:`ERROR`; the order is then fitted on the
    points that did not raise, if at least 3 of them are above the floor, and
    a note says so. Without errors, a non-perturbative onset
    (:func:`find_onset`) gives :data:`NONPERTURBATIVE` (or :data:`FAILS` if the
    points below it fail at O(hbar)), the order being fitted below the onset.
    """
    points: list[PointResult] = []
    errors: list[PointError] = []
    for d in data:
        if isinstance(d, PointError):
            if d not in errors:  # a comparison-level error stands in for every point: keep it once
                errors.append(d)
            continue
        try:
            points.append(_point_result(comparison, d, floor_factor))
        except ValueError as exc:  # e.g. NaN in the exact observable or the prediction: never a silent number
            errors.append(PointError.from_exception(exc, comparison.name, "residual", sweep, d.sweep_value))
    usable = sorted((p for p in points if not p.at_floor), key=lambda p: p.sweep_value)
    n_total = len(points) + sum(1 for e in errors if e.sweep_value is not None)
    if errors:
        fit, clean_verdict, notes = _fit_verdict(usable, len(points), floor_factor, confidence, comparison)
        shown = [f"error: {e.describe()}" for e in errors[:5]]
        if len(errors) > 5:
            shown.append(f"... and {len(errors) - 5} more error(s)")
        if fit is not None:
            notes.insert(0, f"the order is fitted on the {len(usable)} points above the floor among the {len(points)} "
                            f"of {n_total} that did not raise; on these alone the verdict would be '{clean_verdict}'")
        else:
            notes.insert(0, f"{len(points)} of {n_total} points did not raise: too few above the floor to fit an order")
        return ConvergenceResult(comparison, sweep, tuple(points), fit, ERROR, floor_factor, tuple(shown + notes),
                                 tuple(errors))
    found = find_onset([p.sweep_value for p in usable], [p.residual for p in usable], comparison.expected_order)
    if found is None:
        fit, verdict, notes = _fit_verdict(usable, len(points), floor_factor, confidence, comparison)
        return ConvergenceResult(comparison, sweep, tuple(points), fit, verdict, floor_factor, tuple(notes))
    onset = usable[found.start].sweep_value
    below = [p for p in points if p.sweep_value < onset]
    below_usable = [p for p in usable if p.sweep_value < onset]
    fit, below_verdict, below_notes = _fit_verdict(below_usable, len(below), floor_factor, confidence, comparison)
    var = sweep.variable
    agreeing = max(below, key=lambda p: p.sweep_value) if below else None
    slopes = ", ".join(f"{s:.1f}" for s in found.slopes)
    text = (
        f"non-perturbative onset at {var} = {onset:.4g}: from there the residual grows faster than any power of "
        f"{var} (local log-log slopes {slopes}, above {ONSET_FACTOR:g} x the expected order "
        f"{comparison.expected_order:g} and growing with the field, as an exponential's do; a power law's are "
        "constant)"
    )
    if agreeing is None:
        below_text = f"no point below {var} = {onset:.4g}"
    elif fit is None and below_verdict == ALL_ORDERS:
        below_text = (f"below it the prediction agrees to within {floor_factor:g}x the error floor at every field "
                      f"(up to {var} = {agreeing.sweep_value:.4g}, residual {agreeing.residual:.2e})")
    elif fit is None:
        below_text = f"below it only {len(below_usable)} of {len(below)} points are above the error floor: no order"
    else:
        lo, hi = fit.ci
        below_text = (f"below it the order fitted on {len(below_usable)} points is {fit.order:.2f} "
                      f"[{lo:.2f}, {hi:.2f}]: '{below_verdict}'")
    verdict = FAILS if below_verdict == FAILS else NONPERTURBATIVE
    notes = [text, below_text, *(n for n in below_notes if not n.startswith("every residual"))]
    return ConvergenceResult(comparison, sweep, tuple(points), fit, verdict, floor_factor, tuple(notes), (), onset)


def _not_loaded(*args: object, **kwargs: object) -> None:
    """Stand-in callable of a comparison that could not be loaded (:func:`failed_result`); never evaluated."""
    raise RuntimeError("this comparison could not be loaded")


def failed_result(name: str, description: str, error: PointError) -> ConvergenceResult:
    """An :data:`ERROR` result with no points, for something that raised before any comparison existed.

    E.g. a plugin whose module failed to import: the report gets a row named
    ``name`` with the verdict ``error``, ``description`` and the exception.
    """
    stand_in = Comparison(
        name=name, description=description, model=_not_loaded, model_label="not loaded", exact=_not_loaded,
        prediction=_not_loaded, equation="n/a", points="integral (not loaded)",
    )
    return ConvergenceResult(stand_in, stand_in.sweep, (), None, ERROR, notes=(f"error: {error.describe()}",),
                             errors=(error,))


def _check_run_arguments(comparisons, suite, sweep, variable, workers, executor, floor_factor, cache) -> list:
    """Type and range of :func:`run`'s arguments, with messages naming the argument; the resolved comparisons."""
    from .cache import ResultsCache
    from .sweep import SWEEP_VARIABLES

    if isinstance(comparisons, (str, Comparison)):
        raise TypeError(
            f"comparisons must be a list of Comparison objects or registered names, got a single "
            f"{type(comparisons).__name__}: write run([{comparisons if isinstance(comparisons, str) else 'c'!r}])"
            if isinstance(comparisons, str) else
            "comparisons must be a list of Comparison objects or registered names, got a single Comparison: "
            "write run([c])"
        )
    try:
        items = list(comparisons)
    except TypeError:
        raise TypeError(
            f"comparisons must be an iterable of Comparison objects or names, got {type(comparisons).__name__}"
        ) from None
    if not items:
        raise ValueError("comparisons is empty: nothing to run")
    resolved = []
    for i, c in enumerate(items):
        if isinstance(c, str):
            resolved.append(get(c))
        elif isinstance(c, Comparison):
            slug(c.name)  # ValueError if nothing of the name survives as a file name (reports, cache)
            resolved.append(c)
        else:
            raise TypeError(f"comparisons[{i}] must be a Comparison or a registered name, got {type(c).__name__}")
    if not isinstance(suite, str) or suite not in SUITES:
        raise ValueError(f"suite must be one of {sorted(SUITES)}, got {suite!r}")
    if sweep is not None and not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a validation.Sweep or None, got {type(sweep).__name__}")
    if variable is not None and variable not in SWEEP_VARIABLES:
        raise ValueError(f"variable must be one of {SWEEP_VARIABLES} or None, got {variable!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ValueError(f"workers must be an int >= 1 or None, got {workers!r}")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor or None, got {type(executor).__name__}")
    if isinstance(floor_factor, bool) or not isinstance(floor_factor, (int, float, np.floating, np.integer)) or not (
        math.isfinite(floor_factor) and floor_factor > 0
    ):
        raise ValueError(f"floor_factor must be a finite number > 0, got {floor_factor!r}")
    if cache is not None and not isinstance(cache, ResultsCache):
        raise TypeError(f"cache must be a validation.ResultsCache or None, got {type(cache).__name__}")
    return resolved


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
        Comparison objects or registered names (a list, even of one).
    suite
        ``"default"`` or ``"quick"`` (see :data:`validation.registry.SUITES`).
    sweep
        If given, replaces every comparison's sweep (and the suite's choice).
    variable
        If given (``"flux"``, ``"E"`` or ``"hbar"``), report every sweep in this
        variable. ``"hbar"`` applies to every sweep; ``"flux"`` only to
        magnetic and ``"E"`` only to electric ones.
    workers, executor, progress, cache
        See :func:`validation.executor.evaluate_points` (``cache``: a
        :class:`validation.cache.ResultsCache`, to resume and keep finished points).

    Returns
    -------
    list of ConvergenceResult, in the order of ``comparisons`` (those the suite
    keeps). A comparison that raised, at some points or at all, has the verdict
    :data:`ERROR` and its errors (:attr:`ConvergenceResult.errors`); the others
    are unaffected.

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong type or value (the message names the
        argument), a suite that keeps none of the comparisons, or a ``variable``
        that does not apply to some of the sweeps (they are named).
    """
    resolved = _check_run_arguments(comparisons, suite, sweep, variable, workers, executor, floor_factor, cache)
    if sweep is not None:
        jobs = [(c, sweep) for c in resolved]
    else:
        jobs = suite_jobs(suite, resolved)
        if not jobs:
            raise ValueError(
                f"suite {suite!r} ({SUITES[suite]}) keeps none of the {len(resolved)} comparison(s) given: "
                f"{', '.join(c.name for c in resolved[:5])}{', ...' if len(resolved) > 5 else ''}"
            )
    if variable is not None:
        wrong = [c.name for c, s in jobs if not s.can_express(variable)]
        if wrong:
            raise ValueError(
                f"variable={variable!r} does not apply to the sweeps of {', '.join(wrong)} "
                f"({'electric' if variable == 'flux' else 'magnetic'} sweeps); 'hbar' applies to every sweep"
            )
        jobs = [(c, s.as_variable(variable)) for c, s in jobs]
    data = evaluate_points(jobs, workers=workers, executor=executor, progress=progress, cache=cache)
    return [analyse(c, s, data[c.name], floor_factor) for c, s in jobs]

