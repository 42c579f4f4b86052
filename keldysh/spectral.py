"""Functions of the Hamiltonian that the exact solver evaluates: f(H).

Two families, both vectorized callables of real energies (units of the hopping):

- :class:`BandWindow`: E^moment times the indicator of an energy window that
  isolates one band; its edges lie in global spectral gaps, so f(H) is the band
  projector Pi_n (moment 0) or the energy moment H^j Pi_n.
- :class:`FermiDirac`: the occupation n_F(E) = 1 / (exp((E - mu)/T) + 1),
  T in energy units (k_B = 1); T = 0 is the step theta(mu - E), allowed only
  when mu lies in a gap (otherwise f(H) is not defined by a smooth function).

:func:`band_window` finds the window of band n from the zero-field band
structure and raises when no global gap isolates the band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["BandWindow", "FermiDirac", "band_edges", "band_window"]


@dataclass(frozen=True)
class BandWindow:
    """E^moment on the window (lower, upper), zero elsewhere.

    Parameters
    ----------
    lower_gap, upper_gap
        The global gaps (E_below_top, E_band_bottom) and (E_band_top, E_above_bottom)
        that bound the band, or None for the lowest / highest band.
    moment
        Power j of the energy moment H^j Pi_n.
    band
        Index of the band (ascending energy order), for messages.
    """

    lower_gap: tuple[float, float] | None
    upper_gap: tuple[float, float] | None
    moment: int = 0
    band: int = 0

    @property
    def lower(self) -> float:
        """Window edge below the band (middle of the lower gap; -inf for the lowest band)."""
        return -np.inf if self.lower_gap is None else 0.5 * sum(self.lower_gap)

    @property
    def upper(self) -> float:
        """Window edge above the band (middle of the upper gap; +inf for the highest band)."""
        return np.inf if self.upper_gap is None else 0.5 * sum(self.upper_gap)

    def __call__(self, E: ArrayLike) -> NDArray[np.float64]:
        E = np.asarray(E, dtype=float)
        inside = (E > self.lower) & (E < self.upper)
        return np.where(inside, E**self.moment, 0.0)


@dataclass(frozen=True)
class FermiDirac:
    """Fermi-Dirac occupation n_F(E) at chemical potential mu and temperature T (k_B = 1)."""

    mu: float
    T: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.mu) and np.isfinite(self.T)) or self.T < 0:
            raise ValueError(f"need finite mu and T >= 0, got mu={self.mu}, T={self.T}")

    def __call__(self, E: ArrayLike) -> NDArray[np.float64]:
        E = np.asarray(E, dtype=float)
        if self.T == 0:
            return np.where(E < self.mu, 1.0, np.where(E > self.mu, 0.0, 0.5))
        x = (E - self.mu) / self.T
        return 0.5 * (1.0 - np.tanh(0.5 * x))


#: Relative accuracy to which :func:`band_edges` certifies an edge that borders a gap: the true
#: extreme lies within EDGE_CERTAINTY times that gap of the returned one (the approximants of
#: :mod:`keldysh.static.approximants` keep 5% of each gap free on each side).
EDGE_CERTAINTY = 0.02
#: ... and an outer edge (lowest minimum, highest maximum) within this fraction of the total width.
OUTER_CERTAINTY = 0.005
#: Bands closer than TOUCH times the spectral width (at least 1) touch: no gap between them.
TOUCH = 1e-12
#: Most h(k) evaluations of the certification, times N^3 (at most 1e6; a sliver of a gap left
#: unresolved is reported as the rigorous bound instead, which may close the gap).
CERTIFY_WORK = 2e9


def _derivative_bounds(model) -> tuple[float, float]:
    """(V, W): bounds on ||u . grad h(k)||_2 and ||(u . grad)^2 h(k)||_2 over k and unit vectors u.

    With D_R,ab = R + tau_b - tau_a (cartesian), u . grad acts on T_R as the Hadamard product with
    i u . D_R = i (u . R + t_b - t_a), t = u . tau: X -> (u . R) X + X diag(t) - diag(t) X, whose norm is
    at most (|R| + 2 rho) ||X||_2 with rho the radius of the orbital positions about their centre;
    per R the smaller of that and the Frobenius bound (sum_ab |T_R,ab|^2 |D_R,ab|^(2j))^(1/2) is used.
    Weyl's inequality then makes every eigenvalue V-Lipschitz: |E_n(k) - E_n(k') | <= V |k - k'|.
    """
    tau = model.positions @ model.lattice_vectors
    rho = float(np.linalg.norm(tau - tau.mean(axis=0), axis=1).max())
    Rc = np.linalg.norm(model.hopping_vectors @ model.lattice_vectors, axis=1)
    T = model.hopping_matrices
    norms = np.linalg.norm(T, 2, axis=(1, 2))
    D2 = (model.displacements**2).sum(axis=-1)  # (nR, N, N)
    T2 = np.abs(T) ** 2
    V = np.minimum(norms * (Rc + 2 * rho), np.sqrt((T2 * D2).sum(axis=(1, 2))))
    W = np.minimum(norms * (Rc + 2 * rho) ** 2, np.sqrt((T2 * D2**2).sum(axis=(1, 2))))
    return float(V.sum()), float(W.sum())


def _reach(model, k: NDArray, e: NDArray, rho: float, W: float) -> NDArray:
    """How far each band can move within distance rho of the points k (m, d) with eigenvalues e (m, N).

    With V_c = (sum_i ||d_i h(k)||_2^2)^(1/2) at the centre and W >= ||(u . grad)^2 h||, the gradient of h
    stays within V_c + W rho, so by Weyl every band moves by at most V_c rho + W rho^2 / 2 (first order).
    Where band n stays isolated (its distance Delta to the other bands at k exceeds twice that), its
    second derivative along any unit direction is at most C = W + 2 (V_c + W rho)^2 / Delta' (second-order
    perturbation theory, Delta' the remaining distance), so it moves by at most |g_n| rho + C rho^2 / 2 with
    g_n the Hellmann-Feynman gradient. Shape (m, N): the smaller of the two.
    """
    _, U = np.linalg.eigh(model.bloch(k))
    dh = model.bloch_derivative(k)  # (m, d, N, N), Hermitian
    Vc = np.sqrt((np.abs(np.linalg.eigvalsh(dh)).max(axis=-1) ** 2).sum(axis=-1))  # (m,)
    first = (Vc * rho + 0.5 * W * rho**2)[:, None]
    g = (U.conj()[:, None] * (dh @ U[:, None])).sum(axis=-2).real.transpose(0, 2, 1)  # <n|d_i h|n>, (m, N, d)
    gaps = np.diff(e, axis=1)
    inf = np.full((len(k), 1), np.inf)
    delta = np.minimum(np.concatenate([inf, gaps], axis=1), np.concatenate([gaps, inf], axis=1)) - 2 * first
    C = W + 2 * ((Vc + W * rho) ** 2)[:, None] / np.where(delta > 0, delta, 1.0)
    second = np.where(delta > 0, np.linalg.norm(g, axis=-1) * rho + 0.5 * C * rho**2, np.inf)
    return np.minimum(first, second)


def _refine(model, k: NDArray, band: NDArray, sign: NDArray, step: float, iters: int = 16) -> tuple[NDArray, NDArray]:
    """Local minima of sign * E_band(k) from the starting points k (m, d): batched trust-region Newton.

    Gradient and Hessian by perturbation theory (Hellmann-Feynman and its second order);
    a non-positive Hessian (or a degenerate band) falls back to a gradient step. Returns
    (k, sign * E) at the best points found (never worse than the start).
    """
    rows = np.arange(len(k))

    def evaluate(k):
        return sign * np.linalg.eigvalsh(model.bloch(k))[rows, band]

    f = evaluate(k)
    radius = np.full(len(k), step)
    settled = np.zeros(len(k), dtype=bool)
    for _ in range(iters):
        e, U = np.linalg.eigh(model.bloch(k))
        Un = U[rows, :, band]  # (m, N)
        dh = model.bloch_derivative(k)  # (m, d, N, N)
        Vn = (Un.conj()[:, None, None, :] @ (dh @ U[:, None]))[:, :, 0, :]  # <n|d_i h|c>, (m, d, N)
        g = sign[:, None] * Vn[rows, :, band].real
        ddh = model.bloch_hessian(k)
        H = (Un.conj()[:, None, None, None, :] @ (ddh @ Un[:, None, None, :, None]))[..., 0, 0].real
        de = e[rows, band][:, None] - e  # (m, N)
        inv = np.where(np.abs(de) > 1e-9, 1.0 / np.where(de == 0, 1.0, de), 0.0)
        H = H + 2 * ((Vn * inv[:, None, :]) @ Vn.conj().transpose(0, 2, 1)).real
        H = sign[:, None, None] * H
        gn = np.linalg.norm(g, axis=1)
        newton = np.zeros_like(g)
        ok = np.all(np.linalg.eigvalsh(H) > 1e-12 * np.maximum(1.0, np.abs(H).max(axis=(1, 2)))[:, None], axis=1)
        if ok.any():
            newton[ok] = -np.linalg.solve(H[ok], g[ok][..., None])[..., 0]
        d = np.where(ok[:, None], newton, -g / np.maximum(gn, 1e-300)[:, None] * radius[:, None])
        dn = np.linalg.norm(d, axis=1)
        d *= np.minimum(1.0, radius / np.maximum(dn, 1e-300))[:, None]
        trial = k + d
        ft = evaluate(trial)
        better = ft < f
        gain = np.where(better, f - ft, 0.0)
        k = np.where(better[:, None], trial, k)
        f = np.where(better, ft, f)
        radius = np.where(better, np.minimum(2 * radius, 4 * step), 0.25 * radius)
        settled |= better & (gain <= 1e-15 * (1 + np.abs(f)))  # an accepted step that gains nothing: converged
        if np.all(settled | (radius < 1e-10 * step)):
            break
    return k, f


def _cell_radius(model, half: NDArray) -> float:
    """Largest cartesian distance from the centre of a grid cell (half-widths ``half``, fractional) to its corners."""
    return float(np.linalg.norm((_corners(model.dim) * half) @ model.reciprocal_vectors, axis=1).max())


def band_edges(model, n_k: int = 96, certify: bool = True, bands=None) -> NDArray[np.float64]:
    """Zero-field band minima and maxima, shape (N, 2), certified between the grid points too.

    1. h(k) on a uniform n_k^d grid over the Brillouin zone (it includes k = 0 and the
       zone boundary for even ``n_k``).
    2. Each band's extremes are refined by Newton steps (perturbation-theory gradient
       and Hessian) from the three best grid points.
    3. Certification (``certify=True``): eigenvalues are Lipschitz in k,
       |E_n(k) - E_n(k')| <= V |k - k'| with V a bound on ||grad h|| (Weyl's inequality), so a
       grid cell of centre k_c and half-diagonal rho holds no value above E_n(k_c) + V rho.
       Cells that could hide an extreme beyond the refined one by more than
       ``EDGE_CERTAINTY`` times the adjacent gap (``OUTER_CERTAINTY`` times the total width
       for the outermost edges) are bisected and re-evaluated until none is left. If
       that needs more than ``CERTIFY_WORK / N^3`` evaluations (a gap too small to resolve,
       or bands that touch between grid points), the edge returned is the rigorous bound
       max over the open cells of E_n(k_c) + V rho, which then usually closes the gap.

    ``bands``: indices of the bands whose edges are certified (default all); the other
    edges are the refined grid values (attained, but possibly inside the true ones).

    Returns
    -------
    ndarray, shape (N, 2)
        ``[n] = (min E_n, max E_n)`` in energy units, extremes actually attained (or, where
        the certification ran out of work, the outward rigorous bound).
    """
    if not all(hasattr(model, a) for a in ("dim", "norbs", "bloch", "bloch_derivative", "reciprocal_vectors")):
        raise TypeError(f"model must be a keldysh.TightBinding, got {type(model).__name__}")
    if isinstance(n_k, bool) or not isinstance(n_k, (int, np.integer)) or n_k < 2:
        raise ValueError(f"n_k must be an integer >= 2, got {n_k!r}")
    n_k = int(n_k)
    d, N = model.dim, model.norbs
    B = model.reciprocal_vectors
    u = np.arange(n_k) / n_k
    grids = np.meshgrid(*([u] * d), indexing="ij")
    frac = np.stack([g.ravel() for g in grids], axis=-1)
    e = np.linalg.eigvalsh(model.bloch(frac @ B))
    lo, hi = e.min(axis=0), e.max(axis=0)
    if not certify:
        return np.stack([lo, hi], axis=-1)
    # 2. Newton refinement from the best grid points of every band extreme
    best = 3
    idx_lo = np.argsort(e, axis=0)[:best]  # (best, N)
    idx_hi = np.argsort(-e, axis=0)[:best]
    starts = np.concatenate([frac[idx_lo.ravel()], frac[idx_hi.ravel()]]) @ B
    band = np.concatenate([np.tile(np.arange(N), best)] * 2)
    sign = np.concatenate([np.ones(best * N), -np.ones(best * N)])
    _, f = _refine(model, starts, band, sign, step=float(np.linalg.norm(B, axis=1).max()) / n_k)
    f = f.reshape(2, best, N)
    lo = np.minimum(lo, f[0].min(axis=0))
    hi = np.maximum(hi, -f[1].min(axis=0))
    # 3. certification: bisect the cells that could hide a higher maximum / lower minimum
    V, W = _derivative_bounds(model)
    chosen = np.zeros(N, dtype=bool)
    chosen[np.arange(N) if bands is None else np.asarray(list(bands), dtype=int)] = True
    half = np.full(d, 0.5 / n_k)
    centres, values = frac, e
    work, budget = 0, min(1e6, CERTIFY_WORK / N**3)
    while len(centres):
        rho = _cell_radius(model, half)
        lo, hi = np.minimum(lo, values.min(axis=0)), np.maximum(hi, values.max(axis=0))
        gaps = lo[1:] - hi[:-1]  # as known so far: a gap that shrinks tightens its own tolerance
        width = float(hi.max() - lo.min())
        tol_hi = np.append(np.where(gaps > 0, EDGE_CERTAINTY * gaps, np.inf), OUTER_CERTAINTY * width)
        tol_lo = np.insert(np.where(gaps > 0, EDGE_CERTAINTY * gaps, np.inf), 0, OUTER_CERTAINTY * width)
        tol_hi, tol_lo = np.where(chosen, tol_hi, np.inf), np.where(chosen, tol_lo, np.inf)
        reach = np.full(values.shape, V * rho)
        open_ = np.any(values + reach > hi + tol_hi, axis=1) | np.any(values - reach < lo - tol_lo, axis=1)
        if open_.any():  # the second-order bound, where the first-order one does not settle it
            reach[open_] = np.minimum(reach[open_], _reach(model, centres[open_] @ B, values[open_], rho, W))
            open_ = np.any(values + reach > hi + tol_hi, axis=1) | np.any(values - reach < lo - tol_lo, axis=1)
        if work + (2**d) * open_.sum() > budget:  # give the rigorous bound of what is left open
            hi = np.maximum(hi, (values + reach)[open_].max(axis=0, initial=-np.inf))
            lo = np.minimum(lo, (values - reach)[open_].min(axis=0, initial=np.inf))
            break
        half = 0.5 * half
        centres = (centres[open_][:, None, :] + half * _corners(d)[None]).reshape(-1, d)
        values = np.linalg.eigvalsh(model.bloch(centres @ B)) if len(centres) else values[:0]
        work += len(centres)
    return np.stack([lo, hi], axis=-1)


def _corners(d: int) -> NDArray[np.float64]:
    """The 2^d sign vectors (+-1, ..., +-1)."""
    return np.array(np.meshgrid(*([[-1.0, 1.0]] * d), indexing="ij")).reshape(d, -1).T


def band_window(model, band: int, moment: int = 0, n_k: int = 96, edges: ArrayLike | None = None) -> BandWindow:
    """The energy window that isolates ``band`` (ascending order) of the zero-field spectrum.

    ``edges`` (N, 2): precomputed :func:`band_edges` (default: computed here on an ``n_k`` grid).

    Raises
    ------
    ValueError
        If ``band`` is out of range or no global gap separates it from its
        neighbours (the message gives the overlapping band edges).
    """
    n = model.norbs
    if isinstance(band, bool) or not isinstance(band, (int, np.integer)):
        raise TypeError(f"band must be an integer band index, got {band!r}")
    if not 0 <= band < n:
        raise ValueError(f"band index {band} out of range for a {n}-band model (0..{n - 1})")
    edges = band_edges(model, n_k) if edges is None else np.asarray(edges, dtype=float)
    touch = TOUCH * max(1.0, float(edges[-1, 1] - edges[0, 0]))  # a gap at rounding level is no gap
    lower_gap = upper_gap = None
    if band > 0:
        lower_gap = (float(edges[band - 1, 1]), float(edges[band, 0]))
        if lower_gap[1] - lower_gap[0] <= touch:
            raise ValueError(
                f"band {band} is not isolated: band {band - 1} reaches up to {lower_gap[0]:.6g} "
                f"while band {band} starts at {lower_gap[1]:.6g} (no global gap)"
            )
    if band < n - 1:
        upper_gap = (float(edges[band, 1]), float(edges[band + 1, 0]))
        if upper_gap[1] - upper_gap[0] <= touch:
            raise ValueError(
                f"band {band} is not isolated: band {band} reaches up to {upper_gap[0]:.6g} "
                f"while band {band + 1} starts at {upper_gap[1]:.6g} (no global gap)"
            )
    return BandWindow(lower_gap, upper_gap, moment, band)
