"""Algorithm (c): spectral projectors of gapped parts of the spectrum as rational filters of the resolvent.

For a part of the spectrum of the Peierls H that gaps separate from the rest (an isolated band,
or every band below a gap), the spectral projector is the contour integral

    Pi = -(1/2 pi i) oint_C (H - z)^{-1} dz                    (C encloses that part only)

and its energy moments are H^m Pi = -(1/2 pi i) oint_C z^m (H - z)^{-1} dz. A quadrature rule
with r pairs of complex conjugate nodes turns the integral into a rational function of H::

    Pi ~ phi(H) = C + sum_{p<r} [c_p G(z_p) + conj(c_p) G(conj z_p)],      G(z) = (H - z)^{-1},

with G(conj z) = G(z)^dagger, so r resolvent solves (:mod:`keldysh.static.resolvent`, banded
solves on a cylinder, any flux) give the kernel. The rule is Zolotarev's: the best uniform
rational approximation of the sign function on two intervals, carried to the two parts of the
spectrum by a real Moebius map (a trapezoid rule in elliptic coordinates around the enclosed
part). Its error on the spectral set is a number known before any solve (see :class:`RationalFilter`),
and it falls like 4 exp(-2 pi r K(l) / K(l')), l from the cross-ratio of the gap edges.

The spectral set is the zero-field spectrum widened into each gap by the margins of the
Chebyshev route (5% of the gap plus 0.5 |beta| t, :mod:`keldysh.static.approximants`); the
outer edges of the spectrum are the certified zero-field edges padded like
:func:`keldysh.static.bands.spectral_bounds`, or Gershgorin bounds (rigorous in any field).
The idempotency check Pi^2 = Pi of the result catches spectrum that the field moves out of
that set (the margins are widened twice, then :class:`keldysh.GapError`).

Error estimate (per kernel, max over k and elements of |W(k) - W_exact(k)|)
----------------------------------------------------------------------------
- ``function``: 2 max(1, gain) max_{E in set} |E^m (phi(E) - chi(E))|, the filter error on the
  spectral set (at zero field a bound on the error of W, since W_{g(H)}(k) = g(h(k))); the field gain
  sup_k |W(phi(H) - phi_s(H))| / max |phi - phi_s| is measured on the nested rule phi_s with r / q
  of the same nodes (q the smallest odd prime factor of r: Zolotarev nodes nest like trapezoid
  nodes), as the Chebyshev route measures it on its shadow series. For a Fermi function at
  T > 0 with mu in the gap, its thermal tails on the spectral set are added.
- ``poles``: sum_p 2 |c_p z_p^m| times the a-posteriori window bound of each resolvent, which here
  covers every cell of the lattice (:func:`keldysh.static.resolvent.resolvent_columns` with no
  output box).
- ``truncation``: the l1 mass of the computed kernel beyond the range S (exact: the pole bound
  already covers the cells beyond the windows).
- ``roundoff``: per solve, the residual bound sqrt(cells N) |rho|_2 / |Im z| weighted by 2 |c_p z_p^m|,
  or, where that exceeds its budget, 2 ROUNDOFF sup_k |W| of the refinement corrections; plus
  eps_mach sum_p 2 |c_p z_p^m| |G(z_p)|_1 for the summation.

Shares of ``tol``: function 0.15 (reported as 2 max(1, gain) times that), truncation 0.3, poles 0.1,
roundoff 0.05. If the total exceeds tol, the filter error is tightened and the solves repeated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.special
from numpy.typing import ArrayLike, NDArray

from ..errors import ConvergenceError, GapError
from ..fields import UniformB
from ..lattice import TightBinding
from ..spectral import BandWindow, FermiDirac
from .approximants import FLOOR, GAP_MARGIN, order_estimate
from .bands import BOUNDS_PAD, band_gaps, hopping_scale, shell_tails
from .budget import DENSE_RATE, SPARSE_RATE, Budget, resolve
from .chebyshev import hopping_entries
from .kernel import WignerKernel, projector_residual, shell_masses, wigner_sup
from .patch import _check_model, ball_size, hopping_range, peierls_patch, shell_cells, shell_index
from .resolvent import PROBE, cylinder_geometry, resolvent_columns

__all__ = [
    "Partition",
    "RationalFilter",
    "contour_cost",
    "contour_kernels",
    "contour_supports",
    "partition",
    "work_per_cell",
]

EPS = np.finfo(float).eps
SHARE_FUNCTION, SHARE_TRUNCATION, SHARE_POLES, SHARE_ROUNDOFF = 0.15, 0.3, 0.1, 0.05
ROUNDOFF = 2.0  # safety factor on the measured refinement corrections (as the Chebyshev route's pole part)
MAX_POLES = 64
#: Field part of the gap margins, times |beta| t (t the largest hopping norm): the band edges of the reference
#: models move into the gaps by up to 1.2 |beta| t (three_band at flux 1/40: 0.82); the Chebyshev route keeps
#: 0.5 and relies on its idempotency check, which is a k-average and can miss a shift by a factor of ~10.
FIELD_SHIFT = 1.5
#: The idempotency residual that reveals spectrum outside the spectral set, as a fraction of tol: the residual
#: is a k-average (the home orbitals' spectral weight), the W error it causes a k-maximum, up to ~10x larger.
CHECK = 0.1
#: Largest thermal tail of a Fermi function with mu in a gap, as a fraction of the filter error,
#: for it to count as the projector on the bands below the gap (as in the Chebyshev route).
THERMAL = 0.1


# --------------------------------------------------------------------------- the spectral partition


@dataclass(frozen=True)
class Partition:
    """The enclosed part of the spectrum, [a0, b0], and the rest, the arc from a1 to b1 (through infinity).

    ``points = (a0, b0, a1, b1)`` in cyclic order on the real projective line: the enclosed part
    is [a0, b0]; the rest of the spectrum lies on the arc that runs up from a1 and, if a1 > b1,
    through infinity down to b1; the two free arcs (b0, a1) and (b1, a0) hold the transition
    regions in the gaps (or lie outside the spectrum). ``bounds`` = (bottom, top) contains the
    whole spectrum (energy units). ``name`` names the enclosed part and its gaps for messages.
    """

    points: tuple[float, float, float, float]
    bounds: tuple[float, float]
    name: str

    def __post_init__(self) -> None:
        a0, b0, _, b1 = self.points
        if not (a0 < b0 and self._cross(b1) < 0):
            raise GapError(f"{self.name}: the spectral set leaves no free arc for a contour (points {self.points})")

    def _cross(self, z):
        """The Moebius map S sending (a0, b0, a1) to (0, 1, infinity); b1 goes to a negative number."""
        a0, b0, a1, _ = self.points
        return (z - a0) * (b0 - a1) / ((z - a1) * (b0 - a0))

    @property
    def ell(self) -> float:
        """l in (0, 1): the cross-ratio of the four points equals that of (l, 1, -1, -l)."""
        q = -self._cross(self.points[3])
        return float((math.sqrt(q + 1) - 1) ** 2 / q)

    @property
    def mobius(self) -> NDArray[np.float64]:
        """Real 2 x 2 matrix [[alpha, beta], [gamma, delta]] of T(E) = (alpha E + beta) / (gamma E + delta).

        T maps a0, b0, a1, b1 to l, 1, -1, -l: the enclosed part onto [l, 1], the rest onto [-1, -l].
        """
        a0, b0, a1, _ = self.points
        ell = self.ell
        S = np.array([[b0 - a1, -(b0 - a1) * a0], [b0 - a0, -(b0 - a0) * a1]])
        S_ell = np.array([[2.0, -2.0 * ell], [1.0 - ell, 1.0 - ell]])  # (l, 1, -1) -> (0, 1, infinity)
        return np.linalg.solve(S_ell, S)

    def grid(self, per_pole: int, r: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Energies (inside, outside) sampling the enclosed part and the rest within ``bounds``.

        Logarithmic in |T(E)| on [l, 1] and [-1, -l] (the filter error oscillates evenly there),
        ``per_pole`` points per pole plus 400, and the ends of every interval.
        """
        ell = self.ell
        (al, be), (ga, de) = self.mobius
        t = ell ** np.linspace(0.0, 1.0, per_pole * r + 400)

        def back(w):
            return (de * w - be) / (al - ga * w)

        bottom, top = self.bounds
        a0, b0, a1, b1 = self.points
        inside = np.concatenate([back(t), [a0, b0]])
        outside = back(-t)
        ends = [e for e in (a1, b1, bottom, top) if self.outside(e)]
        outside = np.concatenate([outside[(outside >= bottom) & (outside <= top)], ends])
        return inside, outside

    def outside(self, E: float) -> bool:
        """E on the arc of the rest of the spectrum, within ``bounds``."""
        _, _, a1, b1 = self.points
        bottom, top = self.bounds
        on_arc = (a1 <= E <= b1) if a1 <= b1 else (E >= a1 or E <= b1)
        return bool(on_arc and bottom <= E <= top)


def gershgorin(model: TightBinding) -> tuple[float, float]:
    """Bounds on the spectrum of the Peierls H in any field: Gershgorin discs of the cell blocks (phases unimodular)."""
    T0 = model.hoppings.get((0, 0), np.zeros((model.norbs, model.norbs)))
    radius = (
        sum(np.abs(T).sum(axis=1) for R, T in model.hoppings.items() if any(R))
        + np.abs(T0).sum(axis=1)
        - np.abs(np.diag(T0))
    )
    centre = np.real(np.diag(T0))
    return float((centre - radius).min()), float((centre + radius).max())


def _outer_bounds(
    model: TightBinding, field: UniformB, edges: NDArray, certified: Sequence[int]
) -> tuple[float, float]:
    """(bottom, top) of the spectrum in the field: a certified outer edge padded like ``spectral_bounds``, else Gershgorin."""
    lo_g, hi_g = gershgorin(model)
    width = float(edges[:, 1].max() - edges[:, 0].min())
    pad = BOUNDS_PAD * width + 0.5 * abs(field.beta(model.cell_area)) * hopping_scale(model)
    N = model.norbs
    bottom = float(edges[0, 0]) - pad if 0 in certified else lo_g
    top = float(edges[N - 1, 1]) + pad if N - 1 in certified else hi_g
    return max(bottom, lo_g), min(top, hi_g)


def _near(model: TightBinding, band: int) -> tuple[int, ...]:
    """The bands whose edges bound band ``band`` (as :func:`keldysh.exact.band_wigner` certifies them)."""
    return tuple(b for b in (band - 1, band, band + 1) if 0 <= b < model.norbs)


def partition(
    func: Callable, model: TightBinding, field: UniformB, widen: float = 1.0, certified: bool = True
) -> Partition:
    """The spectral partition of a projector-like f: an isolated band window, or n_F with mu in a gap.

    ``certified=False`` takes the outer edges of a band window from Gershgorin bounds instead of the
    certified zero-field edges (cheap; for plans only).

    Raises
    ------
    ValueError
        f is not a projector of a gapped part of the spectrum (a metal, a smooth callable, a band
        window without gaps, mu outside the spectrum, a Fermi function whose thermal tails matter).
    GapError
        A gap leaves no room for the transition regions in the field.
    """
    beta = field.beta(model.cell_area)
    t_hop = hopping_scale(model)

    def region(gap, name):
        """The transition region (lo, hi) inside a gap: margins of GAP_MARGIN of the gap plus FIELD_SHIFT |beta| t."""
        margin = widen * (GAP_MARGIN * (gap[1] - gap[0]) + FIELD_SHIFT * abs(beta) * t_hop)
        lo, hi = gap[0] + margin, gap[1] - margin
        if hi <= lo:
            raise GapError(
                f"{name}: the gap ({gap[0]:.6g}, {gap[1]:.6g}) leaves no room for a contour in the field "
                f"beta={beta:.4g} (margin {margin:.3g} on each side): the field closes the gap or broadens the bands into it"
            )
        return lo, hi

    if isinstance(func, BandWindow):
        if func.lower_gap is None and func.upper_gap is None:
            raise ValueError(f"{func!r} has no gap: H^m is a polynomial, nothing to enclose")
        n = func.band
        near = _near(model, n) if isinstance(n, (int, np.integer)) and 0 <= n < model.norbs else None
        if certified:
            edges = band_gaps(model, near)
            bottom, top = _outer_bounds(model, field, edges, near if near is not None else range(model.norbs))
        else:
            bottom, top = gershgorin(model)
        name = f"band {n}" + "".join(
            f", {side} gap ({g[0]:.6g}, {g[1]:.6g}) of width {g[1] - g[0]:.3g}"
            for side, g in (("lower", func.lower_gap), ("upper", func.upper_gap))
            if g
        )
        lower = region(func.lower_gap, name) if func.lower_gap else None
        upper = region(func.upper_gap, name) if func.upper_gap else None
        a0 = lower[1] if lower else bottom
        b0 = upper[0] if upper else top
        a1 = upper[1] if upper else bottom
        b1 = lower[0] if lower else top
        return Partition((a0, b0, a1, b1), (bottom, top), name)
    if isinstance(func, FermiDirac):
        edges = band_gaps(model)
        inside = np.nonzero((edges[:, 0] <= func.mu) & (func.mu <= edges[:, 1]))[0]
        below = int(np.sum(edges[:, 1] < func.mu))
        if inside.size or below in (0, model.norbs):
            where = f"in band {int(inside[0])}" if inside.size else "outside the spectrum"
            raise ValueError(f"{func!r}: mu={func.mu:.6g} lies {where}; the contour route needs mu in a gap")
        bottom, top = _outer_bounds(model, field, edges, range(model.norbs))
        gap = (float(edges[below - 1, 1]), float(edges[below, 0]))
        name = f"the bands 0..{below - 1} below mu={func.mu:.6g}, gap ({gap[0]:.6g}, {gap[1]:.6g}) of width {gap[1] - gap[0]:.3g}"
        lo, hi = region(gap, name)
        return Partition((bottom, lo, hi, top), (bottom, top), name)
    raise ValueError(f"the contour route evaluates band windows and Fermi functions with mu in a gap, not {func!r}")


def thermal_tail(func: Callable, part: Partition) -> float:
    """max over the spectral set of |n_F - step|: the thermal tails of a Fermi function at T > 0 (0 otherwise)."""
    if not isinstance(func, FermiDirac) or func.T == 0:
        return 0.0
    _, b0, a1, _ = part.points
    return float(max(func(np.array([a1]))[0], 1.0 - func(np.array([b0]))[0]))


# --------------------------------------------------------------------------- Zolotarev's rule


def zolotarev(ell: float, r: int) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Best uniform approximation of sign(x) on [-1, -l] U [l, 1] by an odd rational of type (2r - 1, 2r).

    Z(x) = sum_j a_j x / (x^2 + gamma_j^2) with gamma_j^2 = c_{2j-1},
    c_i = l^2 sn^2(i K' / 2r; l') / cn^2(i K' / 2r; l'), l' = sqrt(1 - l^2), K' = K(l'),
    scaled so that Z - 1 equioscillates on [l, 1] (Zolotarev 1877; Akhiezer, Elements of the
    theory of elliptic functions, ch. 9). Its error falls like 4 exp(-2 pi r K(l) / K(l')).

    Returns gamma (r,), a (r,) and the error max_{[l, 1]} |Z - 1|, measured on a fine grid.
    """
    m1 = 1.0 - ell * ell
    u = np.arange(1, 2 * r) * scipy.special.ellipk(m1) / (2 * r)
    sn, cn, _, _ = scipy.special.ellipj(u, m1)
    c = (ell * sn / cn) ** 2
    odd, even = c[0::2], c[1::2]
    a = np.array([np.prod(even - cj) / np.prod(np.delete(odd, j) - cj) for j, cj in enumerate(odd)])
    x = ell ** np.linspace(0.0, 1.0, 400 * r + 400)
    Z = (a * x[:, None] / (x[:, None] ** 2 + odd)).sum(axis=1)
    scale = 2.0 / (Z.max() + Z.min())
    return np.sqrt(odd), a * scale, float(np.abs(Z * scale - 1.0).max())


def zolotarev_estimate(ell: float, r: int) -> float:
    """The a-priori error 4 exp(-2 pi r K(l) / K(l')) of :func:`zolotarev` (asymptotic in r)."""
    return 4.0 * math.exp(-2 * math.pi * r * scipy.special.ellipk(ell * ell) / scipy.special.ellipk(1 - ell * ell))


def _nested_divisor(r: int) -> int:
    """Smallest odd prime factor q of r (0 if r is a power of two): Zolotarev's r / q nodes are among the r nodes."""
    q = 3
    while q <= r:
        if r % q == 0:
            return q
        q += 2
    return 0


@dataclass(frozen=True)
class RationalFilter:
    """phi(E) = C + sum_p 2 Re[c_p / (E - z_p)] ~ the indicator of [a0, b0] on the spectral set.

    phi = (1 + Z(T(E))) / 2 with Z Zolotarev's sign approximant of :func:`zolotarev` and T the
    Moebius map of :attr:`Partition.mobius`. Each term a / (T(E) - w_p) of Z is
    a gamma / (alpha - w_p gamma) + a (gamma z_p + delta) / ((alpha - w_p gamma)(E - z_p)), z_p = T^{-1}(w_p):
    a constant plus a resolvent. ``poles`` holds the z_p with Im z_p > 0 (their conjugates carry
    the conjugate weights), ``weights`` the c_p, ``constant`` C.
    """

    part: Partition
    poles: NDArray[np.complex128]
    weights: NDArray[np.complex128]
    constant: float
    zolotarev_error: float

    @classmethod
    def zolotarev(cls, part: Partition, r: int) -> RationalFilter:
        gamma, a, err = zolotarev(part.ell, r)
        (al, be), (ga, de) = part.mobius
        w = np.concatenate([1j * gamma, -1j * gamma])  # poles of Z in the T plane
        A = np.concatenate([a, a]) / 4  # phi = 1/2 + Z/2, Z = sum_j (a_j / 2) [1/(x - i g) + 1/(x + i g)]
        z = (de * w - be) / (al - ga * w)
        c = A * (ga * z + de) / (al - ga * w)
        constant = 0.5 + float(np.real((A * ga / (al - ga * w)).sum()))
        up = z.imag > 0
        order = np.argsort(np.abs(z[up].imag))
        return cls(part, z[up][order], c[up][order], constant, err)

    @property
    def order(self) -> int:
        """r, the number of conjugate pole pairs (resolvent solves)."""
        return len(self.poles)

    def moment(self, m: int) -> tuple[NDArray[np.complex128], NDArray[np.float64]]:
        """E^m phi(E) = sum_p 2 Re[c_p z_p^m / (E - z_p)] + sum_{i<=m} d_i E^i: (c_p z_p^m, d).

        From E^m / (E - z) = z^m / (E - z) + sum_{i<m} E^i z^(m-1-i); d_m = C.
        """
        d = np.array(
            [2 * np.real((self.weights * self.poles ** (m - 1 - i)).sum()) for i in range(m)] + [self.constant]
        )
        return self.weights * self.poles**m, d

    def __call__(self, E: ArrayLike, m: int = 0) -> NDArray[np.float64]:
        """E^m phi(E) at real energies, in the pole form used for the operator."""
        E = np.asarray(E, dtype=float)
        c, d = self.moment(m)
        return 2 * np.real(c / (E[..., None] - self.poles)).sum(axis=-1) + np.polynomial.polynomial.polyval(E, d)

    def error(self, m: int = 0, other: RationalFilter | None = None) -> float:
        """max over the spectral set of |E^m (phi - indicator)| (or of |E^m (phi - other)|)."""
        inside, outside = self.part.grid(400, self.order)
        E = np.concatenate([inside, outside])
        target = other(E, m) if other is not None else np.concatenate([inside**m, np.zeros_like(outside)])
        return float(np.abs(self(E, m) - target).max())

    def nested(self) -> tuple[RationalFilter, NDArray[np.complex128]] | None:
        """The rule with r / q of the same poles (q = :func:`_nested_divisor`), and its weights on ours (zeros elsewhere)."""
        q = _nested_divisor(self.order)
        if not q:
            return None
        small = RationalFilter.zolotarev(self.part, self.order // q)
        index = np.array([int(np.argmin(np.abs(self.poles - z))) for z in small.poles])
        if np.abs(self.poles[index] - small.poles).max() > 1e-9 * max(1.0, float(np.abs(self.poles).max())):
            raise AssertionError("Zolotarev nodes did not nest")  # pragma: no cover - a property of the rule
        return small, index


def choose_filter(part: Partition, moments: Sequence[int], eps: float) -> RationalFilter:
    """The fewest pole pairs r (with a nested sub-rule) whose filter error is within ``eps`` for every moment.

    Starts from the a-priori estimate :func:`zolotarev_estimate` (scaled by the largest |E|^m on the
    spectral set) and checks the measured error.
    """
    scale = max(1.0, abs(part.bounds[0]), abs(part.bounds[1])) ** max(moments)
    if eps < FLOOR * scale:
        raise ConvergenceError(
            f"{part.name}: a filter error of {eps:.2g} is below the roundoff floor (about {FLOOR * scale:.2g}); raise tol"
        )
    r = 3
    while r < MAX_POLES and zolotarev_estimate(part.ell, r) * scale / 2 > eps:
        r += 1
    while r <= MAX_POLES:
        if _nested_divisor(r):
            rule = RationalFilter.zolotarev(part, r)
            if max(rule.error(m) for m in moments) <= eps:
                return rule
        r += 1
    raise ConvergenceError(
        f"{part.name}: a filter error of {eps:.2g} needs more than {MAX_POLES} poles (l = {part.ell:.3g}); raise tol"
    )


# --------------------------------------------------------------------------- cost and applicability


def contour_supports(func: Callable, model: TightBinding, field: UniformB, tol: float) -> bool:
    """True when the contour route evaluates ``func``: a band window with a gap, or n_F with mu in a gap
    whose thermal tails are below THERMAL times the filter share of ``tol``."""
    try:
        part = partition(func, model, field)
    except (ValueError, GapError):
        return False
    return thermal_tail(func, part) <= THERMAL * SHARE_FUNCTION * tol


def contour_cost(model: TightBinding, windows: ArrayLike, n_sets: int) -> tuple[float, float]:
    """(bytes, seconds) of the cylinder solves on windows of the given half-widths (memory: the largest).

    Per solve on nb slabs of m = w N unknowns and P chains (:func:`keldysh.static.resolvent.cylinder_geometry`):
    the elimination stores three m x m blocks per slab and chain and costs about 8 m^3 flops per slab and
    chain at DENSE_RATE (measured: inverse, two products and the solves); the output holds ``n_sets``
    kernels on the largest window.
    """
    N = model.norbs
    memory, seconds = 0.0, 0.0
    windows = np.atleast_1d(windows)
    for L in windows:
        nx, P, w = cylinder_geometry(model, int(L))
        m = w * N
        memory = max(memory, 3 * 16.0 * nx * P * w * N * N + 3 * 16.0 * nx * P * N * N)
        seconds += 8.0 * m**3 * (nx // w) * P / DENSE_RATE
    return memory + 2 * n_sets * 16.0 * ball_size(int(windows.max())) * N * N, seconds


def work_per_cell(func: Callable, model: TightBinding, field: UniformB, tol: float) -> tuple[float, float]:
    """Estimated CPU seconds per cell of the support: (Chebyshev route, contour route); inf where a route does not apply.

    Chebyshev: M nnz N / (3 SPARSE_RATE), the rate of :func:`keldysh.static.chebyshev.recursion_cost`, with
    the a-priori order M of :func:`keldysh.static.approximants.order_estimate` on the spectral interval.
    Contour: 1.1 r 8 m^3 / (w DENSE_RATE), the rate of :func:`contour_cost` for the r poles of
    :func:`choose_filter` (probe solves included), m = w N. The spectral interval and the poles use
    Gershgorin bounds for the outer edges (no certification: this is a plan, not a result).
    """
    try:
        part = partition(func, model, field, certified=False)
    except (ValueError, GapError):
        return math.inf, math.inf
    bottom, top = part.bounds
    centre, half = (bottom + top) / 2, (top - bottom) / 2
    try:
        M = order_estimate(func, model, field, centre, half, 0.2 * tol)
    except GapError:
        M = None
    cheb = math.inf if M is None else M.order * hopping_entries(model) * model.norbs / (3 * SPARSE_RATE)
    if thermal_tail(func, part) > THERMAL * SHARE_FUNCTION * tol:
        return cheb, math.inf
    try:
        r = choose_filter(part, [getattr(func, "moment", 0), 0], SHARE_FUNCTION * tol).order
    except ConvergenceError:
        return cheb, math.inf
    _, _, w = cylinder_geometry(model, PROBE)
    return cheb, 1.1 * r * 8.0 * (w * model.norbs) ** 3 / (w * DENSE_RATE)


# --------------------------------------------------------------------------- the driver


def _power_kernels(model: TightBinding, field: UniformB, m: int) -> tuple[NDArray[np.int64], NDArray[np.complex128]]:
    """Dressed kernels of H^0 .. H^m (exact: H^i|tau_b> lives within i r cells), cells |R|_inf <= m r."""
    radius = m * hopping_range(model)
    patch = peierls_patch(model, field, radius)
    N = model.norbs
    v = np.zeros((patch.H.shape[0], N), dtype=complex)
    v[:N] = np.eye(N)
    out = []
    for i in range(m + 1):
        out.append(patch.kernel(v, radius)[1])
        v = patch.H @ v
    return shell_cells(radius), np.array(out)


def _group(funcs: Sequence[Callable]) -> Callable:
    """The projector whose filter serves every f: moment 0 of the band windows of one band, or the function itself."""
    first = funcs[0]
    if not isinstance(first, BandWindow):
        if len(funcs) > 1:
            raise ValueError(f"contour_kernels evaluates one spectral partition per call, got {list(funcs)!r}")
        return first
    key = (first.lower_gap, first.upper_gap)
    if not all(isinstance(f, BandWindow) and (f.lower_gap, f.upper_gap) == key for f in funcs):
        raise ValueError(f"contour_kernels evaluates one spectral partition per call, got {list(funcs)!r}")
    return BandWindow(first.lower_gap, first.upper_gap, 0, first.band)


def contour_kernels(
    model: TightBinding,
    field: UniformB,
    funcs: Sequence[Callable],
    tol: float = 1e-11,
    max_radius: int = 1000,
    budget: Budget | None = None,
) -> list[WignerKernel]:
    """Kernels of H^m Pi (band windows of one band) or of n_F(H) with mu in a gap, by the contour route.

    Parameters
    ----------
    model, field
        2D :class:`keldysh.TightBinding` and :class:`keldysh.UniformB` (Peierls, any flux).
    funcs
        :class:`BandWindow` of one band (any moments), or one :class:`FermiDirac` with mu in a gap
        (T = 0, or T > 0 with thermal tails below THERMAL times the filter share of tol).
    tol
        Target max over k and matrix elements of |W(k) - W_exact(k)|.
    max_radius
        Largest resolvent window half-width (cells).
    budget
        Memory and time allowed (:class:`keldysh.static.budget.Budget`; None: the module default):
        the probe solves and then the planned windows are estimated before they are computed.

    Returns
    -------
    list of WignerKernel (``method="contour"``, ``order`` = number of pole pairs, ``radius`` = the
    largest resolvent window, ``check`` = idempotency residual of the projector).

    Raises
    ------
    ValueError
        A function the route does not evaluate (see :func:`partition`).
    GapError
        No room for a contour in a gap, or the field moves spectrum into a transition region (the
        idempotency check fails with twice and 3.5 times the margins); the message names the band
        and the gap.
    ConvergenceError
        More than MAX_POLES poles, a window beyond ``max_radius``, an estimate that stays above tol.
    BudgetError
        (a ConvergenceError) the estimated memory or time exceeds ``budget``; raised before the work.
    """
    _check_model(model)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be positive and finite, got {tol}")
    resources = resolve(budget)
    projector = _group(funcs)
    moments = [getattr(f, "moment", 0) for f in funcs]
    eps = SHARE_FUNCTION * tol
    widen, failure = 1.0, None
    for _ in range(6):
        part = partition(projector, model, field, widen)
        tail = thermal_tail(projector, part)
        if tail > THERMAL * eps:
            raise ValueError(
                f"{projector!r}: its thermal tails ({tail:.2g}) on the spectral set exceed {THERMAL} of the filter "
                f"error budget; it is not a projector to tol={tol:.2g} (use the Chebyshev route)"
            )
        rule = choose_filter(part, sorted(set(moments) | {0}), eps - tail)
        try:
            kernels = _kernels(model, field, funcs, rule, tail, tol, max_radius, resources)
        except GapError as err:
            failure, widen = err, {1.0: 2.0, 2.0: 3.5}.get(widen, 0.0)
            if not widen:
                raise
            continue
        excess = max(k.error / tol for k in kernels)
        if excess <= 1:
            return kernels
        worst = max(kernels, key=lambda k: k.error - k.error_terms["function"])
        room = tol - (worst.error - worst.error_terms["function"])
        shrink = min(0.5, 0.7 * room / max(k.error_terms["function"] for k in kernels))
        if shrink <= 0:
            break
        eps *= shrink
    if failure is not None and widen == 0.0:
        raise failure
    raise ConvergenceError(
        f"the error estimate {max(k.error for k in kernels):.2g} stays above tol={tol:.2g} "
        f"(terms {kernels[0].error_terms}); raise tol"
    )


def _kernels(model, field, funcs, rule, tail, tol, max_radius, resources) -> list[WignerKernel]:
    """Solve the poles once for every function, its nested rule and the check; assemble the kernels."""
    moments = [getattr(f, "moment", 0) for f in funcs]
    check_moment = 0 in moments
    sets_m = moments + ([] if check_moment else [0])
    nested = rule.nested()
    weights, polys = [], []
    for m in sets_m:
        c, d = rule.moment(m)
        weights.append(c)
        polys.append(d)
    shadows = []
    if nested is not None:
        small, index = nested
        for m in moments:
            cs, ds = small.moment(m)
            w = np.zeros(rule.order, dtype=complex)
            w[index] = cs
            weights.append(w)
            polys.append(ds)
            shadows.append(small)
    W = np.array(weights)
    strength = np.abs(W[: len(sets_m)]).max(axis=0)  # max over the functions of |c_p z_p^m|, per pole
    n = rule.order
    pole_budget = SHARE_POLES * tol / (2 * n * strength)
    roundoff_budget = SHARE_ROUNDOFF * tol / (2 * n * strength)

    def approve(windows):
        memory, seconds = contour_cost(model, windows, len(W))
        resources.check(
            f"the contour route ({n} resolvent solves on windows of half-width up to {int(np.max(windows))} cells)",
            memory,
            seconds,
            cause=f"set by {rule.part.name} at tol={tol:.2g}",
            advice="widen the gap, loosen tol",
        )

    approve(np.full(n, max(PROBE, 2 * hopping_range(model))))  # the probe solves themselves
    cells, values, info = resolvent_columns(
        model,
        field,
        rule.poles,
        None,
        pole_budget,
        max_radius,
        weights=W,
        roundoff_budgets=roundoff_budget,
        approve=approve,
    )
    flip = shell_index(-cells)
    values = values + values[:, flip].conj().swapaxes(-1, -2)  # + the conjugate poles: G(conj z) = G(z)^dagger
    correction = info["correction"] + info["correction"][:, flip].conj().swapaxes(-1, -2)
    top = max(max(len(d) for d in polys) - 1, 0)
    pcells, powers = _power_kernels(model, field, top)
    if len(pcells) > len(cells):  # pragma: no cover - windows are at least PROBE >= m r cells
        raise ConvergenceError("the resolvent windows are smaller than the range of H^m")
    for j, d in enumerate(polys):
        values[j, : len(pcells)] += np.tensordot(d, powers[: len(d)], axes=1)
    absW = 2 * np.abs(W)
    e_poles = absW @ info["error"]
    e_roundoff = absW @ info["roundoff"] + EPS * (absW @ info["mass"])
    dropped = absW @ info["dropped"]
    check_index = moments.index(0) if check_moment else len(moments)
    residual = projector_residual(values[check_index])
    # on the spectral set phi^2 - phi is at most about the filter error; beyond it, spectrum left the set
    if residual > max(CHECK * tol, 2 * rule.error(0)):
        raise GapError(
            f"{rule.part.name}: idempotency check failed (residual {residual:.2g} > tol={tol:.2g}): the field "
            f"(flux {field.flux}) puts spectrum into the transition region of a gap (it closes the gap or broadens "
            f"the bands into it)"
        )
    kernels = []
    for i, (f, m) in enumerate(zip(funcs, moments)):
        err = rule.error(m) + tail
        if nested is not None:
            j = len(sets_m) + i
            diff = rule.error(m, shadows[i])
            measured = wigner_sup(cells, values[i] - values[j]) / max(diff, 1e-300)
            q = rule.order // shadows[i].order
            gain = 1.0 + q * q * max(measured - 1.0, 0.0)  # the main rule's error oscillates q times faster
            e_func = 2 * gain * err
        else:  # pragma: no cover - choose_filter only returns nested rules
            e_func = 2 * err
        masses = shell_masses(values[i])
        tails = shell_tails(masses) + dropped[i]
        if tails[-1] > SHARE_TRUNCATION * tol:
            raise ConvergenceError(
                f"the kernel of {f!r} has not decayed to {SHARE_TRUNCATION * tol:.2g} within the resolvent windows"
            )
        S = int(np.argmax(tails <= SHARE_TRUNCATION * tol))
        roundoff = e_roundoff[i] + 2 * ROUNDOFF * wigner_sup(cells, correction[i])
        terms = {
            "function": e_func,
            "truncation": float(tails[S]),
            "poles": float(e_poles[i]),
            "roundoff": float(roundoff),
        }
        nS = ball_size(S)
        kernels.append(
            WignerKernel(
                cells=cells[:nS].copy(),
                values=values[i, :nS].copy(),
                lattice_vectors=model.lattice_vectors,
                positions=model.positions,
                order=rule.order,
                radius=int(info["radius"].max()),
                range=S,
                error=float(sum(terms.values())),
                error_terms=terms,
                method="contour",
                check=residual,
            )
        )
    return kernels
