"""Algorithm (b): Chebyshev expansion of f(H) on the orbitals of one home cell.

Any flux, no supercell: the columns f(H)|tau_b> of the Peierls Hamiltonian on
the infinite lattice are computed on a finite patch (:mod:`keldysh.patch`) with
the three-term recursion of the Chebyshev polynomials of the scaled operator
H~ = (H - c)/a, whose spectrum lies in [-1, 1]::

    f(H)|tau_b> = sum_{m=0}^{M} c_m T_m(H~)|tau_b>,
    T_0 v = v,  T_1 v = H~ v,  T_m v = 2 H~ T_{m-1} v - T_{m-2} v,

and dressed with the Wilson line of :mod:`keldysh.wigner` into the kernel
O~(R_s + tau_a, tau_b) whose Fourier sum is W_{f(H)}(k). There is no KPM
damping: the series is truncated where it has converged to the tolerance.

Function to polynomial (``approximate``)
----------------------------------------
- A smooth f (Fermi-Dirac at T > 0, any other callable) is expanded directly:
  coefficients by Chebyshev-Gauss quadrature (a DCT on enough nodes), order M
  where the coefficient tail falls below the budget.
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
  the idempotency check below finds spectrum in a transition region.
- The spectral interval [lo, hi] comes from the zero-field band edges and the
  extreme eigenvalues of a small patch in the field, widened by 1% and 0.5 |beta| t.

Patch, light cone and range
---------------------------
The kernel is wanted on the cells |R_s|_inf <= S. With hoppings of range r
(cells), T_m(H~)|tau_b> is supported within m r, and a value dropped at
distance rho at step m reaches the output region only after (rho - S)/r more
steps. So step m needs the vector only inside min(front_m, S + (M - m) r): the
second bound is a rigorous light cone (exact, no error); the first is the
measured wave front of the recursion, which moves at the group velocity of
theta = arccos(H~) (about half the light-cone speed): the vector is cut where
its l2 mass beyond the cut is below a threshold, and each cut delta_m enters
the error bound as delta_m sum_{j>=0} |c_{m+j}| (j + 1) (the perturbation
propagates through the recursion as U_j(H~), ||U_j|| <= j + 1). The range S is
chosen from the zero-field kernel of f (FFT over the Brillouin zone) with a
margin for the field, then trimmed to where the discarded l1 mass of the
computed kernel is below its budget.

Error estimate
--------------
``error = function + truncation + front + roundoff`` estimates max_k |W(k) - W_exact(k)|
elementwise. ``function``: the approximation error max |p - f| on the spectral
set bounds the error of W exactly at zero field (W_{g(H)}(k) = g(h(k))); in a
field W of the oscillating g = p - f can exceed max |g| (by up to ~4 at flux
1/40), so the same f is also expanded to 4 times that error (the "shadow", in
the same recursion) and the measured sup_k |W(p - p_shadow)| / max |p_shadow - f|
gives the field gain; ``function = 2 max(1, gain) max |p - f|``. ``truncation``:
discarded l1 mass beyond S (measured up to the computed range, extrapolated
beyond it with the zero-field decay). ``front``: the wave-front cuts (l2 bound
times the square root of the number of cells). ``roundoff``: 2 eps sqrt(M) sum |c_m|.
If the estimate exceeds tol the approximation is tightened and recomputed.
Band projectors are checked a posteriori: idempotency Pi^2 = Pi gives, for
every home orbital b, sum_{s,a} |Pi(R_s + tau_a, tau_b)|^2 = Pi(tau_b, tau_b); a
violation beyond tol means the field has put spectrum into a transition region
(the gap closes): the margins are widened twice (x2, x3.5), then GapError.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field as dataclass_field

import numpy as np
import scipy.fft
import scipy.linalg.blas
import scipy.sparse as sp
from numpy.polynomial import chebyshev as cheb
from numpy.typing import ArrayLike, NDArray

from .errors import ConvergenceError, GapError
from .fields import UniformB
from .lattice import TightBinding
from .patch import _check_model, ball_size, dress, hopping_range, peierls_patch
from .spectral import BandWindow, FermiDirac, band_edges
from .wigner import wigner_from_kernel

__all__ = [
    "ConvergenceError",
    "GapError",
    "WignerKernel",
    "Approximant",
    "approximate",
    "spectral_bounds",
    "ZeroFieldDecay",
    "zero_field_range",
    "chebyshev_columns",
    "chebyshev_kernel",
    "chebyshev_kernels",
    "clear_caches",
    "model_fingerprint",
]

EPS = np.finfo(float).eps
# Shares of the tolerance: the function term is reported as 2 max(1, field gain) times its share.
SHARE_FUNCTION, SHARE_TRUNCATION, SHARE_FRONT = 0.2, 0.3, 0.05
GAP_MARGIN = 0.05  # fraction of a gap kept free on each side of the transition region ...
FIELD_MARGIN = 0.5  # ... plus FIELD_MARGIN |beta| t (t the largest hopping norm)
BOUNDS_PAD = 0.01  # relative widening of the spectral interval
ROUNDOFF = 2.0  # roundoff estimate: ROUNDOFF eps_mach sqrt(M + 1) sum |c_m|
FLOOR = 100 * np.finfo(float).eps  # smallest approximation error asked of a polynomial (relative)


@dataclass(frozen=True)
class WignerKernel:
    """A dressed kernel O~(R_s + tau_a, tau_b) of f(H) and how it was obtained.

    Attributes
    ----------
    cells, values
        (nS, 2) cell offsets R_s (shell order, ``cells[0] = 0``) and (nS, N, N)
        ``values[s, a, b] = O~(R_s + tau_a, tau_b)`` (:mod:`keldysh.wigner` format).
    lattice_vectors, positions
        Of the model, for :meth:`wigner`.
    order
        Chebyshev order M (0 for the supercell route).
    radius
        Largest patch radius used by the recursion (cells).
    range
        Kernel range S: ``cells`` holds every |R_s|_inf <= S.
    error
        A-priori estimate of max over k and elements of |W(k) - W_exact(k)|.
    error_terms
        Its parts (see the module docstring).
    method
        ``"chebyshev"`` or ``"supercell"``.
    check
        Idempotency residual max_b |Pi_bb - sum |Pi_ab|^2| for a projector, else None.
    """

    cells: NDArray[np.int64]
    values: NDArray[np.complex128]
    lattice_vectors: NDArray[np.float64]
    positions: NDArray[np.float64]
    order: int
    radius: int
    range: int
    error: float
    error_terms: dict = dataclass_field(default_factory=dict)
    method: str = "chebyshev"
    check: float | None = None

    def wigner(self, k: ArrayLike) -> NDArray[np.complex128]:
        """W(k) = sum_s exp(-i k.s) O~(r0 + s, r0), shape (..., N, N), k cartesian."""
        return wigner_from_kernel(self.lattice_vectors, self.positions, self.cells, self.values, k)


# --------------------------------------------------------------------------- polynomials


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
    """

    coeffs: NDArray
    error: float
    projector: bool
    transitions: tuple[tuple[float, float], ...] = ()
    smooth: bool = False

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
        if slope <= 0:
            if e < 1e-8:
                raise ConvergenceError(
                    f"the gapped polynomial stalls at error {e:.2g} > {eps:.2g} (roundoff); raise tol"
                )
            guess = 2 * M
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
        raise ConvergenceError(f"no gapped polynomial found with error {eps:.2g} below order {M}")
    return cache[hi_ok]


def _smooth(f: Callable, center: float, halfwidth: float, eps: float, max_order: int) -> Approximant:
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
    return _truncate(c, tail, f, center, halfwidth, eps, max_order)


def _truncate(c, tail, f, center, halfwidth, eps, max_order) -> Approximant:
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
    return Approximant(coeffs, max(measured, tail_beyond), projector=False, smooth=True)


def _truncated(a: Approximant, f, center, halfwidth, eps, max_order) -> Approximant:
    """A smooth series cut further, to error eps (it shares the leading coefficients of ``a``)."""
    tail = np.append(np.cumsum(np.abs(a.coeffs)[::-1])[::-1], 0.0) + a.error
    return _truncate(a.coeffs, tail, f, center, halfwidth, eps, max_order)


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


def _hopping_scale(model: TightBinding) -> float:
    return max(float(np.linalg.norm(T, 2)) for R, T in model.hoppings.items() if any(R))


def model_fingerprint(model: TightBinding) -> str:
    """Content hash of a model (hoppings, positions, lattice vectors): a safe cache key."""
    h = hashlib.sha1()
    for R in sorted(model.hoppings):
        h.update(np.asarray(R, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(model.hoppings[R], dtype=complex).tobytes())
    h.update(np.ascontiguousarray(model.positions, dtype=float).tobytes())
    h.update(np.ascontiguousarray(model.lattice_vectors, dtype=float).tobytes())
    return h.hexdigest()


_EDGES: dict[str, NDArray[np.float64]] = {}
_BLOCH: dict[tuple[str, int], tuple] = {}


def clear_caches() -> None:
    """Forget the cached zero-field band edges and Bloch eigensystems."""
    _EDGES.clear()
    _BLOCH.clear()


def _gaps(model: TightBinding) -> NDArray[np.float64]:
    """Zero-field band edges (N, 2) of :func:`keldysh.spectral.band_edges` (cached per model content)."""
    key = model_fingerprint(model)
    if key not in _EDGES:
        _EDGES[key] = band_edges(model)
    return _EDGES[key]


def _zero_field_bands(model: TightBinding, n_k: int) -> tuple[NDArray, NDArray, NDArray]:
    """k (n_k^2, 2), eigenvalues and eigenvectors of h(k) on the n_k x n_k grid (last two grids cached)."""
    key = (model_fingerprint(model), n_k)
    if key not in _BLOCH:
        u = np.arange(n_k) / n_k
        k = np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2) @ model.reciprocal_vectors
        e, U = np.linalg.eigh(model.bloch(k))
        while len(_BLOCH) >= 2:
            _BLOCH.pop(next(iter(_BLOCH)))
        _BLOCH[key] = (k, e, U)
    return _BLOCH[key]


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
    """Polynomial approximant of f on the spectrum of H in the field (see the module docstring).

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
    t_hop = _hopping_scale(model)

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
        edges = _gaps(model)
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
        return _smooth(func, center, halfwidth, eps, max_order)
    if not callable(func):
        raise TypeError(f"func must be a BandWindow, FermiDirac or a callable of energies, got {func!r}")
    return _smooth(func, center, halfwidth, eps, max_order)


# --------------------------------------------------------------------------- spectrum and range


def spectral_bounds(model: TightBinding, field: UniformB, gauge: str = "landau_x") -> tuple[float, float]:
    """Interval [lo, hi] containing the spectrum of the Peierls H (energy units).

    Union of the zero-field band edges and the extreme eigenvalues of a radius-6
    patch in the field (a compression of H: its extremes lie inside the true
    ones), widened on each side by 1% of the width plus 0.5 |beta| t (t the
    largest hopping norm: room for Landau-level and orbital-moment shifts).
    """
    edges = _gaps(model)
    e = np.linalg.eigvalsh(peierls_patch(model, field, 6, gauge).H.toarray())
    lo, hi = min(edges[:, 0].min(), e[0]), max(edges[:, 1].max(), e[-1])
    pad = BOUNDS_PAD * (hi - lo) + 0.5 * abs(field.beta(model.cell_area)) * _hopping_scale(model) + 1e-12
    return float(lo - pad), float(hi + pad)


def _zero_field_masses(model: TightBinding, func: Callable, n_k: int) -> NDArray[np.float64]:
    """Shell l1 masses max_{a,b} sum_{|R|_inf = rho} |K0(R)_ab| of the zero-field kernel of f (FFT, n_k^2 grid).

    Shells whose mass is at the FFT rounding level count as zero.
    """
    k, e, U = _zero_field_bands(model, n_k)
    W = np.einsum("kab,kb,kcb->kac", U, np.asarray(func(e), dtype=float), U.conj())
    # W(k) e^{ik(tau_a - tau_b)} = sum_R e^{-ik.R} K0(R)  ->  K0(R) = ifft2 over the grid
    orb = np.exp(1j * (k @ (model.positions @ model.lattice_vectors).T))
    W = W * orb[:, :, None] * orb.conj()[:, None, :]
    absK = np.abs(np.fft.ifft2(W.reshape(n_k, n_k, *W.shape[1:]), axes=(0, 1)))
    R = np.abs(np.fft.fftfreq(n_k, 1.0 / n_k).astype(int))
    rho = np.maximum(R[:, None], R[None, :]).ravel()
    n = model.norbs
    masses = np.stack([np.bincount(rho, absK[..., a, b].ravel()) for a in range(n) for b in range(n)]).max(axis=0)
    noise = 20 * EPS * absK.max() * (8 * np.arange(len(masses)) + 1)  # FFT rounding per shell
    return np.where(masses > noise, masses, 0.0)


def _tails(masses: NDArray[np.float64]) -> NDArray[np.float64]:
    """tails[rho] = sum of masses beyond shell rho."""
    c = np.cumsum(masses[::-1])[::-1]
    return np.append(c[1:], 0.0)


@dataclass(frozen=True)
class ZeroFieldDecay:
    """Shell l1 masses of the zero-field kernel of f: measured, then (optionally) exponential.

    ``masses[rho] = max_{a,b} sum_{|R|_inf = rho} |K0(R)_ab|`` for the measured shells;
    with a finite ``rate`` the mass beyond shell ``anchor`` is masses[anchor] exp(-rate (rho - anchor)),
    otherwise it is zero beyond the measured shells.
    """

    masses: NDArray[np.float64]
    rate: float = math.inf
    anchor: int = 0

    def mass(self, rho: ArrayLike) -> NDArray[np.float64]:
        rho = np.asarray(rho)
        if not math.isfinite(self.rate):
            return np.where(rho < len(self.masses), self.masses[np.minimum(rho, len(self.masses) - 1)], 0.0)
        model = self.masses[self.anchor] * np.exp(-self.rate * (rho - self.anchor))
        return np.where(rho <= self.anchor, self.masses[np.minimum(rho, self.anchor)], model)

    def tail(self, rho: int) -> float:
        """l1 mass beyond shell rho."""
        if not math.isfinite(self.rate):
            return float(self.masses[rho + 1 :].sum())
        measured = float(self.masses[rho + 1 : self.anchor + 1].sum())
        start = max(rho + 1, self.anchor + 1)
        return measured + float(self.mass(start)) / (1 - math.exp(-self.rate))


def zero_field_range(
    model: TightBinding, func: Callable, budget: float, max_range: int = 2048
) -> tuple[int, ZeroFieldDecay]:
    """Range S beyond which the zero-field kernel of f has l1 mass below ``budget``, and its decay.

    Measured on a 128 x 128 Brillouin-zone grid when the kernel decays inside it;
    otherwise extrapolated from its exponential decay between shells n_k/8 and
    n_k/4 (the grid grows only for kernels that do not decay there).
    """
    n_k = 128
    while True:
        masses = _zero_field_masses(model, func, n_k)
        tails = _tails(masses)
        if np.any(tails[: n_k // 2 - 4] <= budget) and masses[-3:].max() < 1e-2 * budget:
            return int(np.argmax(tails <= budget)), ZeroFieldDecay(masses)
        a, b = n_k // 8, n_k // 4
        rate = math.log(masses[a] / masses[b]) / (b - a) if masses[b] > 0 and masses[a] > masses[b] else 0.0
        if rate > 2e-2:
            decay = ZeroFieldDecay(masses[: b + 1], rate, b)
            S = b
            while decay.tail(S) > budget:
                S += 1
            return S, decay
        if n_k >= 2 * max_range:
            raise ConvergenceError(
                f"the zero-field kernel of {func!r} has not decayed to {budget:.2g} within {n_k // 2} cells"
            )
        n_k *= 2


def _front_speed(model: TightBinding, center: float, halfwidth: float) -> float:
    """Max over k, bands and lattice directions of |d theta / dk . a_i|, theta = arccos((E - center)/halfwidth).

    The wave front of T_m(H~)|tau_b> moves by about this many cells per step.
    """
    k, e, U = _zero_field_bands(model, 64)
    v = np.einsum("kna,kinm,kma->kai", U.conj(), model.bloch_derivative(k), U).real
    x = (e - center) / halfwidth
    vf = (v / (halfwidth * np.sqrt(1 - x**2))[..., None]) @ model.lattice_vectors.T
    return float(np.abs(vf).max())


# --------------------------------------------------------------------------- recursion

try:  # in-place Y += A X on a row prefix of a CSR matrix, without copying the prefix
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - private scipy API moved
    _csr_matvecs = None


def _add_product(A: sp.csr_matrix, n: int, X: NDArray, Y: NDArray) -> None:
    """Y[:n] += A[:n] @ X for C-contiguous X (dim, k) and Y (dim, k)."""
    if _csr_matvecs is not None:
        _csr_matvecs(n, A.shape[1], X.shape[1], A.indptr, A.indices, A.data, X.ravel(), Y.ravel())
    else:  # pragma: no cover
        Y[:n] += A[:n] @ X


def chebyshev_columns(
    model: TightBinding,
    field: UniformB,
    coeffs: ArrayLike,
    center: float,
    halfwidth: float,
    out_radius: int,
    gauge: str = "landau_x",
    front_tol: float = 0.0,
    max_radius: int = 1000,
    radius_hint: int | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.complex128], dict]:
    """Dressed kernels of p_f(H) = sum_m coeffs[f, m] T_m((H - center)/halfwidth) on |R_s| <= out_radius.

    One recursion serves every row f of ``coeffs`` (shape (n_f, M + 1), real or
    complex). Exact on the output region up to the wave-front cuts, whose
    propagated l2 effect on a column is returned as ``info["front"]``.

    Parameters
    ----------
    center, halfwidth
        The spectrum of H must lie in [center - halfwidth, center + halfwidth].
    out_radius
        Output range S (cells).
    front_tol
        l2 budget of the wave-front cuts per column (0: rigorous light cone only).
    max_radius
        Largest patch radius allowed (ConvergenceError beyond).
    radius_hint
        Initial patch radius (the patch grows when the front needs more).

    Returns
    -------
    cells, values, info
        ``cells`` (nS, 2); ``values`` (n_f, nS, N, N) with
        ``values[f, s, a, b] = p_f(H)~(R_s + tau_a, tau_b)``; ``info`` with keys
        ``front`` (l2 bound), ``radius`` (largest patch radius used).
    """
    _check_model(model)
    coeffs = np.atleast_2d(np.asarray(coeffs))
    n_f, M = coeffs.shape[0], coeffs.shape[1] - 1
    N, r, S = model.norbs, hopping_range(model), int(out_radius)
    dtype = complex

    absc = np.abs(coeffs).max(axis=0)
    m_idx = np.arange(M + 1)
    tail1 = np.cumsum(absc[::-1])[::-1]
    tailk = np.cumsum((absc * (m_idx + 1))[::-1])[::-1]
    gamma = tailk - m_idx * tail1  # sum_{j>=0} |c_{m+j}| (j + 1)

    rigorous = (S + M * r + 1) // 2 + r  # peak of the light-cone double cone, plus one hop
    if radius_hint is None:  # where the measured front meets the light cone coming back from S
        v = _front_speed(model, center, halfwidth)
        radius_hint = int(math.ceil(1.15 * v * (S + M * r) / (v + r) + 12))
    L = min(rigorous, radius_hint)
    L = max(L, S + r, r)
    if L > max_radius:
        raise ConvergenceError(f"the recursion needs a patch radius {L} > max_radius={max_radius}")

    # The recursion runs on U_m = s_m T_m(H~) v with signs s = (+, +, -, -, +, +, ...):
    # U_m = (s_m s_{m-1} 2 H~) U_{m-1} + U_{m-2}, an in-place add over U_{m-2}.
    state: dict = {}

    def build(radius):
        patch = peierls_patch(model, field, radius, gauge)
        dim = patch.H.shape[0]
        H2 = ((patch.H - center * sp.identity(dim, dtype=dtype, format="csr")) * (2.0 / halfwidth)).tocsr()
        minus = H2.copy()
        minus.data *= -1
        state.update(patch=patch, ops={1: H2, -1: minus}, dim=dim, radius=radius)

    def rows(rho):
        return N * ball_size(rho)

    def sign(m):
        return 1 if m % 4 in (0, 1) else -1

    build(L)
    axpy = scipy.linalg.blas.get_blas_funcs("axpy", dtype=np.dtype(dtype))
    n_out = rows(S)
    acc = np.zeros((n_f, n_out, N), dtype=dtype)

    def accumulate(m, U, support):
        n = min(n_out, rows(support))
        for f in range(n_f):
            if coeffs[f, m] != 0:
                axpy(U[:n].ravel(), acc[f, :n].reshape(-1), a=sign(m) * coeffs[f, m])

    dim = state["dim"]
    prev2 = np.zeros((dim, N), dtype=dtype)  # U_{m-2}, zero beyond its support sup2
    prev2[:N] = np.eye(N)
    sup2 = 0
    accumulate(0, prev2, 0)
    prev1 = np.zeros((dim, N), dtype=dtype)  # U_{m-1}
    sup1 = min(r, S + (M - 1) * r) if M >= 1 else 0
    if M >= 1:
        _add_product(state["ops"][1], rows(sup1), prev2, prev1)
        prev1 *= 0.5
        accumulate(1, prev1, sup1)
    front_err = 0.0
    max_used = sup1 + r
    for m in range(2, M + 1):
        back = S + (M - m) * r
        cand = min(sup1 + r, back)
        if cand + r > state["radius"]:
            new = min(max(cand + r, int(1.25 * state["radius"]) + 1), rigorous)
            if new > max_radius:
                raise ConvergenceError(
                    f"the recursion front needs a patch radius {new} > max_radius={max_radius} "
                    f"(order M={M}, range S={S})"
                )
            build(new)
            grow = state["dim"] - prev1.shape[0]
            prev1 = np.concatenate([prev1, np.zeros((grow, N), dtype=dtype)])
            prev2 = np.concatenate([prev2, np.zeros((grow, N), dtype=dtype)])
        n = rows(cand)
        _add_product(state["ops"][sign(m) * sign(m - 1)], n, prev1, prev2)  # over U_{m-2}: now U_m
        Y = prev2[:n]
        keep = cand
        if front_tol > 0 and gamma[m] > 0:
            lo_shell = max(min(cand, S), cand - 3 * r, 0)
            if lo_shell < cand:
                start = rows(lo_shell)
                rowmass = (Y[start:].real ** 2 + Y[start:].imag ** 2).sum(axis=1)
                offsets = N * ball_size(np.arange(lo_shell, cand)) - start
                shell = np.add.reduceat(rowmass, offsets)  # shells lo_shell + 1 .. cand
                beyond = np.append(np.cumsum(shell[::-1])[::-1], 0.0)  # mass beyond shell lo_shell + i
                allowed = (front_tol / (M * gamma[m])) ** 2
                i = int(np.argmax(beyond <= allowed))
                keep = lo_shell + i
                if keep < cand:
                    front_err += math.sqrt(beyond[i]) * gamma[m]
        nk = rows(keep)
        zero_to = max(rows(sup2), n)  # stale U_{m-2} beyond the ball, and the cut rows
        if zero_to > nk:
            prev2[nk:zero_to] = 0
        prev2, prev1 = prev1, prev2
        sup2, sup1 = sup1, keep
        max_used = max(max_used, cand + r)
        accumulate(m, prev1, keep)
        if keep < back and m % 16 == 0:
            norm = np.sqrt((np.abs(prev1[:nk]) ** 2).sum(axis=0)).max()
            if norm > 1 + 1e-6:
                raise ConvergenceError(
                    f"Chebyshev vectors grow (|T_{m}(H~) v| = {norm:.6g} > 1): the spectrum of H "
                    f"leaves [{center - halfwidth:.6g}, {center + halfwidth:.6g}]"
                )
    patch = state["patch"]
    cells = patch.cells[: ball_size(S)]
    values = acc.reshape(n_f, len(cells), N, N)
    values = dress(field, gauge, model.lattice_vectors, model.positions, cells, values)
    return cells, values, {"front": front_err, "radius": max_used}


# --------------------------------------------------------------------------- public driver


def _shell_masses(values: NDArray) -> NDArray[np.float64]:
    """max_{a,b} sum over shell rho of |values[s, a, b]|, rho = 0..S, for a kernel in shell order."""
    S = int(round((math.sqrt(values.shape[0]) - 1) / 2))
    starts = np.concatenate([[0], ball_size(np.arange(S))])
    return np.add.reduceat(np.abs(values), starts, axis=0).max(axis=(1, 2))


def _projector_residual(values: NDArray) -> float:
    """max_b |Pi(tau_b, tau_b) - sum_{s,a} |Pi(R_s + tau_a, tau_b)|^2| (idempotency of a projector column)."""
    diag = np.real(np.diagonal(values[0]))
    return float(np.abs(diag - (np.abs(values) ** 2).sum(axis=(0, 1))).max())


def _plan(funcs, model, field, center, halfwidth, eps, max_order, widen):
    """Approximants of ``funcs`` (error ``eps``) plus their companions in the same recursion.

    Returns ``approx`` and, per requested function i, ``shadow[i]`` (the same f
    at 4 eps: the W of the difference p_i - p_shadow, about the error of the
    shadow, measures how the field turns an approximation error into an error
    of W) and ``check[i]`` (the moment-0 projector whose idempotency is checked,
    or None).
    """
    def approx_of(f, e):
        return approximate(f, model, field, center, halfwidth, e, max_order, widen)

    approx = [approx_of(f, eps) for f in funcs]
    shadow: list[int | None] = []
    check: list[int | None] = []
    for i, (f, a) in enumerate(zip(funcs, approx)):
        if a.order == 0:
            shadow.append(None)
            check.append(None)
            continue
        approx.append(_truncated(a, f, center, halfwidth, 4 * eps, max_order) if a.smooth else approx_of(f, 4 * eps))
        shadow.append(len(approx) - 1)
        if a.projector:
            check.append(i)
        elif isinstance(f, BandWindow):
            approx.append(approx_of(BandWindow(f.lower_gap, f.upper_gap, 0, f.band), eps))
            check.append(len(approx) - 1)
        else:
            check.append(None)
    return approx, shadow, check


def _wigner_sup(cells: NDArray, values: NDArray) -> float:
    """max over a fine k grid and (a, b) of |W(k)_ab| (FFT; the orbital phases do not change |W_ab|)."""
    S = int(np.abs(cells).max()) if len(cells) else 0
    n = scipy.fft.next_fast_len(4 * S + 2)
    grid = np.zeros((n, n) + values.shape[1:], dtype=complex)
    grid[cells[:, 0] % n, cells[:, 1] % n] = values
    return float(np.abs(scipy.fft.fft2(grid, axes=(0, 1))).max())


def chebyshev_kernels(
    model: TightBinding,
    field: UniformB,
    funcs: Sequence[Callable],
    tol: float = 1e-11,
    gauge: str = "landau_x",
    max_order: int = 20000,
    max_radius: int = 1000,
) -> list[WignerKernel]:
    """Kernels of several f(H) from one Chebyshev recursion (common order and patch).

    Parameters
    ----------
    model, field
        2D :class:`keldysh.TightBinding` and :class:`keldysh.UniformB` (Peierls, any flux).
    funcs
        :class:`BandWindow` (Pi_n, or H^j Pi_n), :class:`FermiDirac` (n_F(H); T = 0
        only with mu in a gap) or smooth vectorized callables of energy.
    tol
        Target max over k and matrix elements of |W(k) - W_exact(k)|.
    gauge
        Gauge of the Peierls phases (the dressed kernel does not depend on it).
    max_order, max_radius
        Resource limits: Chebyshev order and patch radius (cells).

    Returns
    -------
    list of WignerKernel, one per ``funcs`` entry.

    Raises
    ------
    ValueError
        T = 0 with mu in a band; bad tolerance.
    GapError
        The field fills a gap used by a band window or a T = 0 occupation (the
        idempotency check fails even with twice and 3.5 times the gap margins).
    ConvergenceError
        ``tol`` needs an order above ``max_order`` or a patch above ``max_radius``,
        or lies below the roundoff floor.
    """
    _check_model(model)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be positive and finite, got {tol}")
    lo, hi = spectral_bounds(model, field, gauge)
    center, halfwidth = (lo + hi) / 2, (hi - lo) / 2
    eps = SHARE_FUNCTION * tol
    failure = None
    widen = 1.0
    for attempt in range(4):
        try:
            plan = _plan(funcs, model, field, center, halfwidth, eps, max_order, widen)
        except GapError:
            if failure is None:
                raise
            raise failure from None
        try:
            kernels = _kernels(model, field, funcs, *plan, center, halfwidth, tol, gauge, max_radius)
        except GapError as err:  # spectrum in a transition region: wider gap margins
            failure, widen = err, {1.0: 2.0, 2.0: 3.5}.get(widen, 0.0)
            if not widen:
                raise
            continue
        excess = max(k.error / tol for k in kernels)
        if excess <= 1:
            return kernels
        # the field amplifies the approximation error more than budgeted: tighten it
        worst = max(kernels, key=lambda k: k.error - k.error_terms["function"])
        room = tol - (worst.error - worst.error_terms["function"])
        shrink = min(0.5, 0.7 * room / max(k.error_terms["function"] for k in kernels))
        if shrink <= 0:
            break
        eps *= shrink
    raise ConvergenceError(
        f"the error estimate {max(k.error for k in kernels):.2g} stays above tol={tol:.2g} "
        f"(terms {kernels[0].error_terms}); raise tol"
    )


def _kernels(
    model, field, funcs, approx, shadow, check, center, halfwidth, tol, gauge, max_radius
) -> list[WignerKernel]:
    """Run the recursion for ``approx``, choose the ranges, check projectors, assemble the kernels."""
    M = max(a.order for a in approx)
    coeffs = np.zeros((len(approx), M + 1), dtype=np.result_type(*[a.coeffs for a in approx]))
    for i, a in enumerate(approx):
        coeffs[i, : a.order + 1] = a.coeffs
    for i, j in enumerate(shadow):  # a shadow row holds p_i - p_shadow: its kernel is the difference
        if j is not None:
            coeffs[j] = coeffs[i] - coeffs[j]
    r = hopping_range(model)
    budget = SHARE_TRUNCATION * tol
    roundoff = [ROUNDOFF * EPS * math.sqrt(a.order + 1) * float(np.abs(a.coeffs).sum()) for a in approx]
    for f, e in zip(funcs, roundoff):
        if e > 0.3 * tol:
            raise ConvergenceError(
                f"tol={tol:.2g} is below the roundoff floor of the Chebyshev sum for {f!r} "
                f"(about {e:.2g} at order M={M})"
            )
    zero_field = [zero_field_range(model, f, budget) for f in funcs]
    S0 = max(S for S, _ in zero_field)
    S_out = min(M * r, int(math.ceil(1.05 * S0)) + 3)  # margin for the field
    while True:
        front_tol = SHARE_FRONT * tol / (2 * S_out + 1)  # l2 per column -> l1 over (2 S + 1)^2 cells
        cells, values, info = chebyshev_columns(
            model, field, coeffs, center, halfwidth, S_out, gauge, front_tol, max_radius
        )
        ranges, trunc = [], []
        for i, (_, decay) in enumerate(zero_field):
            masses = _shell_masses(values[i])
            # beyond S_out: the zero-field tail, scaled up if the field kernel is larger there
            near = np.arange(max(S_out - 3, 0), S_out + 1)
            ratio = float((masses[near] / np.maximum(decay.mass(near), 1e-300)).max())
            tails = _tails(masses) + decay.tail(S_out) * max(1.0, ratio)
            if tails[-1] > 0.5 * budget:
                break
            S = int(np.argmax(tails <= budget))
            ranges.append(S)
            trunc.append(float(tails[S]))
        if len(ranges) == len(funcs):
            break
        if S_out >= M * r:
            raise ConvergenceError(
                f"the kernel has not decayed to {budget:.2g} within the polynomial range M r = {M * r} cells"
            )
        S_out = min(M * r, int(math.ceil(1.3 * S_out)) + 2)
    residual = {j: _projector_residual(values[j]) for j in set(check) if j is not None}
    for j, res in residual.items():
        if res > tol:
            raise GapError(
                f"idempotency check failed (residual {res:.2g} > tol={tol:.2g}): the field (flux {field.flux}) "
                f"puts spectrum into the transition region of a gap (the field closes the gap or broadens "
                f"the bands into it)"
            )
    e_front = info["front"] * (2 * S_out + 1)
    kernels = []
    for i, f in enumerate(funcs):
        e_func = approx[i].error
        if shadow[i] is not None:  # field amplification of the approximation error, measured on the shadow
            j = shadow[i]
            gain = _wigner_sup(cells, values[j]) / max(approx[j].error, 1e-300)
            e_func = 2 * max(1.0, gain) * approx[i].error
        nS = ball_size(ranges[i])
        terms = {"function": e_func, "truncation": trunc[i], "front": e_front, "roundoff": roundoff[i]}
        kernels.append(
            WignerKernel(
                cells=cells[:nS].copy(),
                values=values[i, :nS].copy(),
                lattice_vectors=model.lattice_vectors,
                positions=model.positions,
                order=approx[i].order,
                radius=info["radius"],
                range=ranges[i],
                error=float(sum(terms.values())),
                error_terms=terms,
                method="chebyshev",
                check=None if check[i] is None else residual[check[i]],
            )
        )
    return kernels


def chebyshev_kernel(
    model: TightBinding,
    field: UniformB,
    func: Callable,
    tol: float = 1e-11,
    gauge: str = "landau_x",
    max_order: int = 20000,
    max_radius: int = 1000,
) -> WignerKernel:
    """Kernel of one f(H) to tolerance ``tol`` in W (see :func:`chebyshev_kernels`)."""
    return chebyshev_kernels(model, field, [func], tol, gauge, max_order, max_radius)[0]
