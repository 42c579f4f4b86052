"""Polynomial (plus pole) approximants of f on the spectrum of H: coefficients and their errors.

The Chebyshev route (:mod:`keldysh.static.chebyshev`) evaluates f(H) as a series in the
scaled energy x = (E - center)/halfwidth; this module chooses the series.

- A smooth f (Fermi-Dirac at T > 0, any other callable) is expanded directly:
  coefficients by Chebyshev-Gauss quadrature (a DCT on enough nodes), order M
  where the coefficient tail falls below the budget.
- A metal at low temperature (:class:`MatsubaraSplit`): the Chebyshev order of
  n_F is set by its poles at mu + i w_n, w_n = (2n + 1) pi T (M ~ ln(1/eps) a / (pi T)),
  so the first P pole pairs are split off exactly (the Matsubara sum,
  n_F(E) = 1/2 - 2T sum_{n>=0} (E - mu) / ((E - mu)^2 + w_n^2)) and only the
  remainder, analytic within w_P of the real axis, is expanded (order smaller by
  about 2P + 1). The poles are evaluated exactly by :mod:`keldysh.static.resolvent`.
- A step in a spectral gap (the edges of a :class:`keldysh.spectral.BandWindow`,
  Fermi-Dirac at T = 0 with mu in a gap) is not smooth, but only its values on
  the spectrum matter. It is replaced by a polynomial that equals the target on
  the spectral set (the spectrum minus a transition region in the middle of
  each gap) and is free inside the transition regions: a least-squares fit in
  the Chebyshev basis on Chebyshev points of every interval of the set. Its
  error decays like exp(-M delta / sqrt(1 - x0^2)) for a gap of half-width delta
  at scaled energy x0, the optimal rate (an erf step needs about twice the
  order); the error is measured on a dense grid of the set. The transition
  region leaves a margin of 5% of the gap plus 0.5 |beta| t (t the largest
  hopping) on each side, because the field broadens and shifts the bands (on
  the Hofstadter spectra of the reference models the band edges move into the
  gaps by 0.14 to 1.2 |beta| t); the margins double, then grow 3.5 times, when
  the solver's idempotency check finds spectrum in a transition region.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.fft
from numpy.polynomial import chebyshev as cheb
from numpy.typing import ArrayLike, NDArray

from ..errors import ConvergenceError, GapError
from ..fields import UniformB
from ..lattice import TightBinding
from ..spectral import BandWindow, FermiDirac
from .bands import band_gaps, hopping_scale

__all__ = ["Approximant", "MatsubaraSplit", "approximate", "OrderEstimate", "fit_cost", "order_estimate"]

EPS = np.finfo(float).eps
GAP_MARGIN = 0.05  # fraction of a gap kept free on each side of the transition region ...
FIELD_MARGIN = 0.5  # ... plus FIELD_MARGIN |beta| t (t the largest hopping norm)
FLOOR = 100 * np.finfo(float).eps  # smallest approximation error asked of a polynomial (relative)
# Matsubara split: poles with w_n below SPLIT_OMEGA halfwidth sqrt(1 - x_mu^2) are taken out of the series
# (the remainder then needs order about ln(1/eps) / SPLIT_OMEGA ~ 80 at eps ~ 1e-12)
SPLIT_OMEGA = 0.34


def _nodes(n: int) -> NDArray[np.float64]:
    """Chebyshev-Gauss nodes cos(pi (j + 1/2) / n), j = 0..n-1."""
    return np.cos(np.pi * (np.arange(n) + 0.5) / n)


def _coefficients(values: NDArray) -> NDArray:
    """Chebyshev coefficients c_0..c_{n-1} from values at :func:`_nodes` (n) (DCT-II, exact for degree < n)."""
    n = values.shape[-1]
    c = scipy.fft.dct(values, type=2, axis=-1) / n
    c[..., 0] /= 2
    return c


def _dense(lo: float, hi: float, n: int) -> NDArray[np.float64]:
    """n points on [lo, hi] clustered at both ends (Chebyshev extrema) plus a uniform grid."""
    t = np.cos(np.pi * np.arange(n) / (n - 1))
    return np.concatenate([lo + (hi - lo) * (t + 1) / 2, np.linspace(lo, hi, n)])


@dataclass(frozen=True)
class Approximant:
    """Chebyshev series of f in the scaled energy x = (E - center) / halfwidth.

    Attributes
    ----------
    coeffs
        c_0..c_M, f(H) ~ sum_m c_m T_m((H - center) / halfwidth).
    error
        max |p - f| on the spectral set (bound on the operator-norm error of p(H)
        as long as the spectrum of H lies in that set).
    projector
        True when f(H) is a spectral projector (band window of moment 0, T = 0 occupation).
    transitions
        (x0, delta) of every step: the excluded regions of the spectral set.
    smooth
        True for a truncated Chebyshev series of a smooth f on all of [-1, 1].
    poles
        (z_l, w_l) of the exact pole part: f(E) = p(x) + sum_l [w_l / (E - z_l) + conj(w_l) / (E - conj(z_l))]
        (energy units, Im z_l > 0), so that f(H) = p(H~) + sum_l [w_l G(z_l) + conj(w_l) G(z_l)^dagger].
        Empty when f is a polynomial approximant alone.
    target
        For a smooth series, the function it expands (f minus its pole part), in energy.
    """

    coeffs: NDArray
    error: float
    projector: bool
    transitions: tuple[tuple[float, float], ...] = ()
    smooth: bool = False
    poles: tuple[tuple[complex, complex], ...] = ()
    target: Callable | None = None

    @property
    def order(self) -> int:
        return len(self.coeffs) - 1


def _spectral_set(transitions: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Intervals of [-1, 1] outside the transition regions (x0 - delta, x0 + delta)."""
    edges = [-1.0]
    for x0, d in sorted(transitions):
        edges += [x0 - d, x0 + d]
    edges.append(1.0)
    return [(lo, hi) for lo, hi in zip(edges[::2], edges[1::2]) if hi > lo]


def _points(intervals: Sequence[tuple[float, float]], per_unit_angle: float) -> NDArray[np.float64]:
    """Chebyshev points of each interval, their number proportional to its Chebyshev measure."""
    out = []
    for lo, hi in intervals:
        n = int(math.ceil(per_unit_angle * (math.acos(lo) - math.acos(hi)))) + 8
        out.append((lo + hi) / 2 + (hi - lo) / 2 * _nodes(n))
    return np.concatenate(out)


def _gapped(
    target: Callable[[NDArray], NDArray], transitions: Sequence[tuple[float, float]], eps: float, max_order: int
) -> tuple[NDArray[np.float64], float]:
    """Near-minimax polynomial for a target given only on the spectral set (steps in gaps).

    Least squares in the Chebyshev basis on Chebyshev points of every interval of
    the spectral set (3 M points per unit of Chebyshev angle), nothing asked
    inside the transition regions: the polynomial is free to turn there, which
    gives the optimal rate exp(-M delta / sqrt(1 - x0^2)) for a gap of half-width
    delta at x0. The error is measured on a dense grid of the spectral set
    (8 M points per unit angle plus the interval ends); the order is searched
    from the rate estimate by secant steps on log(error).

    Returns the coefficients (in x) and the measured max |p - f| on the spectral set.
    """
    intervals = _spectral_set(transitions)
    probe = _points(intervals, 8 * 2000 / np.pi)
    probe = np.concatenate([probe, np.array(intervals).ravel()])
    f_probe = target(probe)
    cache: dict[int, tuple[NDArray, float]] = {}

    def fit(M: int) -> float:
        if M not in cache:
            x = _points(intervals, 3 * M / np.pi)
            c = np.linalg.lstsq(cheb.chebvander(x, M), target(x), rcond=None)[0]
            cache[M] = (c, float(np.abs(cheb.chebval(probe, c) - f_probe).max()))
        return cache[M][1]

    rate = min(d / math.sqrt(max(1 - x0 * x0, d * d)) for x0, d in transitions)
    M = min(max(8, int(math.log(4 / eps) / rate)), max_order)
    lo_bad, hi_ok = 0, None
    step = max(4, M // 8)
    for _ in range(12):
        e = fit(M)
        if e <= eps:
            hi_ok = M if hi_ok is None else min(hi_ok, M)
        else:
            lo_bad = max(lo_bad, M)
        if hi_ok is not None and hi_ok - lo_bad <= 2:
            break
        # secant step on log(error) between M and its neighbour M - step
        e2 = fit(max(M - step, 1))
        slope = math.log(max(e2, 1e-300) / max(e, 1e-300)) / step
        if slope <= 0:  # not decreasing between M - step and M (rounding level, or a non-monotone stretch)
            if hi_ok is not None:
                break
            guess = M + max(step, M // 4)
        else:
            guess = M + math.ceil(math.log(e / (0.8 * eps)) / slope)
        guess = max(guess, lo_bad + 1)
        if hi_ok is not None:
            guess = min(guess, hi_ok - 1)
        if guess > max_order:
            raise ConvergenceError(
                f"a step across a gap of half-width {min(d for _, d in transitions):.3g} (scaled units) needs "
                f"Chebyshev order about {guess} > max_order={max_order} for error {eps:.2g}"
            )
        step = max(2, min(step, abs(guess - M) or 2))
        M = guess
    if hi_ok is None:
        raise ConvergenceError(
            f"no gapped polynomial found with error {eps:.2g} up to order {M} (best {min(e for _, e in cache.values()):.2g}:"
            f" the rounding floor of the fit); raise tol"
        )
    return cache[hi_ok]


def _smooth(f: Callable, center: float, halfwidth: float, eps: float, max_order: int, poles=()) -> Approximant:
    """Direct Chebyshev expansion of a smooth f on [-1, 1] (scaled), coefficient tail below eps / 2.

    Coefficients by Chebyshev-Gauss quadrature on n nodes (DCT), n doubled until
    the last quarter is resolved; coefficients below the DCT rounding level
    (20 eps_mach max|c|) are noise and do not count in the tail.
    """
    n = 256
    while True:
        c = _coefficients(np.asarray(f(center + halfwidth * _nodes(n)), dtype=float))
        noise = 20 * EPS * float(np.abs(c).max())
        clean = np.where(np.abs(c) > noise, np.abs(c), 0.0)
        tail = np.cumsum(clean[::-1])[::-1]  # tail[m] = sum_{m' >= m} |c_m'| above the noise
        if tail[3 * n // 4] <= 1e-3 * eps:
            break
        if n >= 4 * max_order:
            raise ConvergenceError(
                f"the Chebyshev series of {f!r} has not converged to {eps:.2g} at order {n} "
                f"(coefficient tail {tail[min(max_order, n - 1)]:.2g} beyond max_order={max_order})"
            )
        n *= 2
    return _truncate(c, tail, f, center, halfwidth, eps, max_order, poles)


def _truncate(c, tail, f, center, halfwidth, eps, max_order, poles=()) -> Approximant:
    """Keep c_0..c_M with sum_{m > M} |c_m| <= eps / 2; error measured on a dense grid of [-1, 1]."""
    M = max(int(np.argmax(tail <= 0.5 * eps)) - 1, 0)
    if M > max_order:
        raise ConvergenceError(
            f"{f!r} needs Chebyshev order M={M} for error {eps:.2g}, above max_order={max_order}"
        )
    coeffs = c[: M + 1]
    x = _dense(-1.0, 1.0, 16 * M + 4000)
    measured = float(np.abs(cheb.chebval(x, coeffs) - f(center + halfwidth * x)).max())
    tail_beyond = float(tail[M + 1]) if M + 1 < len(tail) else 0.0
    return Approximant(coeffs, max(measured, tail_beyond), False, smooth=True, poles=tuple(poles), target=f)


def truncated(a: Approximant, center: float, halfwidth: float, eps: float, max_order: int) -> Approximant:
    """A smooth series cut further, to error eps (it shares the leading coefficients and the poles of ``a``)."""
    if not a.smooth:
        raise ValueError("only a smooth series can be truncated further")
    tail = np.append(np.cumsum(np.abs(a.coeffs)[::-1])[::-1], 0.0) + a.error
    return _truncate(a.coeffs, tail, a.target, center, halfwidth, eps, max_order, a.poles)


@dataclass(frozen=True)
class MatsubaraSplit:
    """The Fermi function minus its first ``n_poles`` Matsubara pole pairs (the remainder to expand).

    n_F is the equilibrium occupation of the fluctuation-dissipation relation g_< = i a n_F
    (paper, below Eq. 15), whose Wigner function rho is the paper's density matrix (Eq. 1).
    With w_n = (2n + 1) pi T and x = E - mu (energy units, k_B = 1)::

        n_F(E) = 1/2 - 2T sum_{n>=0} x / (x^2 + w_n^2)
               = sum_{n<P} [-T / (E - z_n) - T / (E - conj(z_n))] + remainder(E),   z_n = mu + i w_n,

    remainder(E) = n_F(E) + 2T sum_{n<P} x / (x^2 + w_n^2), analytic for |Im E| < w_P:
    its Chebyshev order is about that of n_F divided by 2P + 1.
    """

    fermi: FermiDirac
    n_poles: int

    def __post_init__(self) -> None:
        if not (self.fermi.T > 0 and self.n_poles >= 1):
            raise ValueError(f"a Matsubara split needs T > 0 and n_poles >= 1, got {self.fermi!r}, {self.n_poles}")

    @property
    def frequencies(self) -> NDArray[np.float64]:
        """w_n = (2n + 1) pi T, n < n_poles."""
        return (2 * np.arange(self.n_poles) + 1) * np.pi * self.fermi.T

    @property
    def poles(self) -> tuple[tuple[complex, complex], ...]:
        """(z_n, w) = (mu + i w_n, -T): the pole part in the format of :attr:`Approximant.poles`."""
        return tuple((complex(self.fermi.mu, w), complex(-self.fermi.T)) for w in self.frequencies)

    def __call__(self, E: ArrayLike) -> NDArray[np.float64]:
        E = np.asarray(E, dtype=float)
        x = (E - self.fermi.mu)[..., None]
        return self.fermi(E) + 2 * self.fermi.T * (x / (x * x + self.frequencies**2)).sum(axis=-1)

    @classmethod
    def for_spectrum(cls, fermi: FermiDirac, center: float, halfwidth: float) -> MatsubaraSplit | None:
        """The split whose remainder has a moderate order (poles below SPLIT_OMEGA a sqrt(1 - x_mu^2)), or None.

        The series of a pole at distance w from E = mu converges like exp(-m w / (a sqrt(1 - x_mu^2)))
        (a the halfwidth, x_mu the scaled mu); poles closer than SPLIT_OMEGA times that scale are split off.
        """
        x_mu = min(abs(fermi.mu - center) / halfwidth, 0.995)
        scale = SPLIT_OMEGA * halfwidth * math.sqrt(1 - x_mu * x_mu)
        n = math.ceil((scale / (math.pi * fermi.T) - 1) / 2) if fermi.T > 0 else 0
        return cls(fermi, n) if n >= 1 else None


def _transition(gap: tuple[float, float], beta: float, t_hop: float, widen: float, center: float, halfwidth: float):
    """(x0, delta) of the transition region inside a zero-field gap, in scaled units."""
    g_lo, g_hi = gap
    margin = widen * (GAP_MARGIN * (g_hi - g_lo) + FIELD_MARGIN * abs(beta) * t_hop)
    lo, hi = g_lo + margin, g_hi - margin
    if hi <= lo:
        raise GapError(
            f"the gap ({g_lo:.6g}, {g_hi:.6g}) leaves no room for a step in the field beta={beta:.4g} "
            f"(margin {margin:.3g} on each side): the field closes the gap or broadens the bands into it"
        )
    return ((lo + hi) / 2 - center) / halfwidth, (hi - lo) / (2 * halfwidth)




class OrderEstimate(NamedTuple):
    """A-priori size of an approximant: Chebyshev order, exact poles, what sets the order, fitted or not."""

    order: int
    poles: int
    cause: str
    fitted: bool
    omega: float = 0.0  # lowest Matsubara frequency of the exact poles (energy units), 0 without poles


def order_estimate(
    func: Callable, model: TightBinding, field: UniformB, center: float, halfwidth: float, eps: float, widen: float = 1.0
) -> OrderEstimate | None:
    """A-priori order, poles and cause of :func:`approximate` (see :class:`OrderEstimate`), without fitting.

    A step in a gap of half-width delta (scaled) at x0 needs M ~ ln(4 / eps) sqrt(1 - x0^2) / delta
    (the rate of :func:`_gapped`); a Fermi function at T > 0 with mu in a band is split into
    Matsubara poles plus a remainder of order about ln(1 / eps) / SPLIT_OMEGA (or, with no pole
    split off, ln(1 / eps) a sqrt(1 - x_mu^2) / (pi T)). None for other callables (their smooth
    series is cheap to compute and is checked as it is computed).

    Raises
    ------
    GapError
        No room for a transition region in a gap (as :func:`approximate`).
    """
    beta = field.beta(model.cell_area)
    t_hop = hopping_scale(model)
    log_eps = math.log(4 / max(eps, 1e-300))

    def gapped(gaps):
        worst, cause = 0.0, ""
        for g in gaps:
            x0, d = _transition(g, beta, t_hop, widen, center, halfwidth)
            M = log_eps * math.sqrt(max(1 - x0 * x0, d * d)) / d
            if M > worst:
                worst, cause = M, f"the gap ({g[0]:.6g}, {g[1]:.6g}) of width {g[1] - g[0]:.3g}"
        return OrderEstimate(math.ceil(worst), 0, cause, True)

    if isinstance(func, BandWindow):
        gaps = [g for g in (func.lower_gap, func.upper_gap) if g is not None]
        return gapped(gaps) if gaps else OrderEstimate(func.moment, 0, "a single band", False)
    if isinstance(func, FermiDirac):
        edges = band_gaps(model)
        inside = np.nonzero((edges[:, 0] <= func.mu) & (func.mu <= edges[:, 1]))[0]
        below = int(np.sum(edges[:, 1] < func.mu))
        if not inside.size:
            if below in (0, model.norbs):
                return OrderEstimate(0, 0, "mu outside the spectrum", False)
            return gapped([(float(edges[below - 1, 1]), float(edges[below, 0]))])
        if func.T == 0:
            return None  # approximate() raises the ValueError (mu in a band at T = 0)
        split = MatsubaraSplit.for_spectrum(func, center, halfwidth)
        cause = f"a metal at T={func.T:.3g} (mu={func.mu:.6g} in band {int(inside[0])})"
        if split is not None:
            return OrderEstimate(
                math.ceil(log_eps / SPLIT_OMEGA), split.n_poles, cause, False, float(split.frequencies[0])
            )
        x_mu = min(abs(func.mu - center) / halfwidth, 0.995)
        M = math.ceil(log_eps * halfwidth * math.sqrt(1 - x_mu * x_mu) / (math.pi * func.T))
        return OrderEstimate(M, 0, cause, False)
    return None


def fit_cost(order: int) -> tuple[float, float]:
    """(bytes, flops) of the least-squares fits of :func:`_gapped` at order M (about 3 M points, ~12 fits)."""
    points = 3.0 * (order + 1) + 16
    return 3 * 8.0 * points * (order + 1), 12 * 2.0 * points * (order + 1) ** 2


def approximate(
    func: Callable,
    model: TightBinding,
    field: UniformB,
    center: float,
    halfwidth: float,
    eps: float,
    max_order: int = 20000,
    widen: float = 1.0,
) -> Approximant:
    """Polynomial (plus exact poles) approximant of f on the spectrum of H in the field (see the module docstring).

    Parameters
    ----------
    func
        :class:`BandWindow`, :class:`FermiDirac` or any smooth vectorized callable of energies.
    center, halfwidth
        Spectral map x = (E - center) / halfwidth.
    eps
        Target max |p - f| on the spectral set.
    widen
        Multiplies the gap margins (a retry after a failed idempotency check).

    Raises
    ------
    ValueError
        T = 0 with mu inside a band.
    GapError
        No room for a transition region in a gap.
    ConvergenceError
        The order needed exceeds ``max_order``.
    """
    scale = max(1.0, abs(center) + halfwidth) ** getattr(func, "moment", 0)
    if eps < FLOOR * scale:
        raise ConvergenceError(
            f"an approximation error {eps:.2g} for {func!r} is below the roundoff floor "
            f"(about {FLOOR * scale:.2g}); raise tol"
        )
    beta = field.beta(model.cell_area)
    t_hop = hopping_scale(model)

    def gapped(target, gaps, projector):
        transitions = tuple(_transition(g, beta, t_hop, widen, center, halfwidth) for g in gaps)
        coeffs, err = _gapped(lambda x: target(center + halfwidth * x), transitions, eps, max_order)
        return Approximant(coeffs, err, projector, transitions)

    if isinstance(func, BandWindow):
        gaps = [g for g in (func.lower_gap, func.upper_gap) if g is not None]
        if not gaps:  # a single band: E^moment exactly
            x = _nodes(func.moment + 1)
            return Approximant(_coefficients((center + halfwidth * x) ** func.moment), 0.0, func.moment == 0)
        return gapped(func, gaps, projector=func.moment == 0)
    if isinstance(func, FermiDirac):
        edges = band_gaps(model)
        inside = np.nonzero((edges[:, 0] <= func.mu) & (func.mu <= edges[:, 1]))[0]
        below = int(np.sum(edges[:, 1] < func.mu))  # bands entirely below mu
        if func.T == 0 and inside.size:
            n = int(inside[0])
            raise ValueError(
                f"T = 0 needs mu in a gap; mu={func.mu} lies in band {n} [{edges[n, 0]:.6g}, {edges[n, 1]:.6g}]"
            )
        if not inside.size:  # mu in a gap or outside the spectrum: n_F(H) is (nearly) a projector
            if below in (0, model.norbs):
                step = Approximant(np.array([float(below == model.norbs)]), 0.0, projector=True)
            else:
                gap = (float(edges[below - 1, 1]), float(edges[below, 0]))
                x0, d = _transition(gap, beta, t_hop, widen, center, halfwidth)
                # T = 0: the projector on the bands below the gap; T > 0: n_F itself on the bands,
                # a projector to within its tails exp(-distance / T) at the transition region
                distance = halfwidth * (d - abs((func.mu - center) / halfwidth - x0))
                tails = math.exp(-distance / func.T) if func.T > 0 and distance > 0 else float(func.T > 0)
                target = func if func.T > 0 else (lambda E: ((E - center) / halfwidth < x0).astype(float))
                try:
                    step = gapped(target, [gap], projector=tails < 0.1 * eps)
                except ConvergenceError:
                    if func.T == 0:
                        raise
                    step = None
            if func.T == 0 or (step is not None and step.error <= eps):
                return step
        split = MatsubaraSplit.for_spectrum(func, center, halfwidth)
        if split is not None:
            return _smooth(split, center, halfwidth, eps, max_order, split.poles)
        return _smooth(func, center, halfwidth, eps, max_order)
    if not callable(func):
        raise TypeError(f"func must be a BandWindow, FermiDirac or a callable of energies, got {func!r}")
    return _smooth(func, center, halfwidth, eps, max_order)


