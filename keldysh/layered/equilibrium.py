"""Stationary states of a layered model in B along z: the equilibrium current, node-resolved and slab integrals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..fields import UniformB
from ..lattice import TightBinding
from ..spectral import FermiDirac
from .quadrature import KzIntegral, _check_tol, clenshaw_curtis, nested_rule
from .slices import _check_layered, _slice_cache

__all__ = ["equilibrium_current", "NodeResolved", "node_resolved", "slab_density"]


def equilibrium_current(
    model: TightBinding,
    field: UniformB,
    mu: float,
    T: float,
    *,
    mesh: int = 1,
    tol: float = 1e-10,
    gauge: str = "landau_x",
    n_kz: int = 16,
    max_kz: int = 4096,
    origin: float | None = None,
    workers: int = 1,
) -> KzIntegral:
    """Exact equilibrium particle current along B, J = int dkz/(2 pi) Tr[n_F(H) dH/dkz] / area.

    The state is rho = n_F(H) of the exact Hamiltonian in the field; the k_z
    integral is the periodic trapezoid rule on k_z = origin + 2 pi j / (n c),
    doubled (nested) until two rules differ by less than ``tol``. Bloch's
    theorem makes the exact value zero (module docstring); the returned value
    measures how well the k_z rule resolves a total derivative, which
    converges exponentially at T > 0 (rate ~ pi T / v_z).

    Parameters
    ----------
    model, field, mesh, gauge
        As in :func:`slice_spectrum`.
    mu, T
        Chemical potential and temperature (energy units, k_B = 1).
    tol
        Target for the change between nested rules (particles / (time area)).
    n_kz
        Slices of the first rule.
    max_kz
        Largest rule to try.
    origin
        First k_z of the rule (default -pi/c). A generic origin breaks any
        kz -> -kz symmetry of the grid, so that a zero result is not a mere
        cancellation between mirror slices.
    workers
        Threads diagonalizing slices concurrently (:class:`LayeredSupercell`).

    Returns
    -------
    KzIntegral
        Particle current per unit volume (multiply by q for the charge current).

    Raises
    ------
    keldysh.errors.ConvergenceError
        If the rule with ``max_kz`` slices has not converged to ``tol``.
    """
    _check_tol(tol, max_kz)
    c = _check_layered(model)
    occ = FermiDirac(mu, T)
    spectra = _slice_cache(model, field, mesh, gauge, workers)
    start = -np.pi / c if origin is None else float(origin)

    def rule(n: int) -> float:
        return float(np.mean(spectra(start + 2 * np.pi * np.arange(n) / (n * c)).current(occ))) / c

    value, n, change = nested_rule(rule, n_kz, max_kz, tol, "equilibrium current")
    return KzIntegral(float(value), n, float(change))


@dataclass(frozen=True)
class NodeResolved:
    """Particles and current along B on each half of the k_z zone (exact, per unit volume).

    Attributes
    ----------
    bounds
        The halves (kz_lo, kz_hi), cartesian; the second wraps through the zone edge.
    mu
        Chemical potential of each half.
    density
        Particles per unit volume on each half, int_half dkz/(2 pi) n(kz), shape (2,).
    current
        Particle current along z per unit volume from each half, shape (2,).
    change
        Error estimate of each entry of (density, current), shape (2, 2).
    n_kz
        Slices per half of the final Clenshaw-Curtis rule (n + 1 nodes).
    """

    bounds: tuple[tuple[float, float], tuple[float, float]]
    mu: tuple[float, float]
    density: NDArray[np.float64]
    current: NDArray[np.float64]
    change: NDArray[np.float64]
    n_kz: int

    @property
    def total_current(self) -> float:
        """J summed over both halves (zero in equilibrium, by Bloch's theorem)."""
        return float(self.current.sum())


def node_resolved(
    model: TightBinding,
    field: UniformB,
    mu: float | Sequence[float],
    T: float,
    *,
    split: tuple[float, float] = (0.0, math.pi),
    mesh: int = 1,
    tol: float = 1e-10,
    gauge: str = "landau_x",
    n_kz: int = 8,
    max_kz: int = 1024,
) -> NodeResolved:
    """Exact node-resolved stationary state: density and current along B on each half of the k_z zone.

    The state is rho = direct sum over k_z of n_F(H(kz) - mu(kz)) with mu(kz) =
    mu[0] on the half (split[0], split[1]) and mu[1] on the other half
    (split[1], split[0] + 2 pi / c); it commutes with H, so it is stationary
    (for mu[0] != mu[1] it is the chirally imbalanced state of the chiral
    magnetic effect, paper Eq. 36). The split planes should be chosen where no
    Fermi surface crosses them (both chemical potentials in the gap of the
    slices at the planes), so that the state is unambiguous there.

    Each half is integrated with nested Clenshaw-Curtis rules (the planes are
    nodes of the rule and are evaluated once for both halves), doubled until
    every entry changes by less than ``tol``.

    Parameters
    ----------
    mu
        One chemical potential (equilibrium) or a pair (mu on the first half, on the second).
    T
        Temperature (energy units, k_B = 1).
    split
        Cartesian k_z of the two planes bounding the halves; default (0, pi/c)
        for nodes at +-k0.

    Returns
    -------
    NodeResolved

    Raises
    ------
    keldysh.errors.ConvergenceError
        If the rule with ``max_kz`` slices per half has not converged.
    """
    _check_tol(tol, max_kz)
    c = _check_layered(model)
    mus = (float(mu), float(mu)) if np.ndim(mu) == 0 else tuple(float(m) for m in mu)
    if len(mus) != 2:
        raise ValueError(f"mu must be a number or a pair, got {mu!r}")
    lo, hi = float(split[0]), float(split[1])
    if not 0 < hi - lo < 2 * np.pi / c:
        raise ValueError(f"split planes must satisfy 0 < split[1] - split[0] < 2 pi / c, got {split}")
    bounds = ((lo, hi), (hi, lo + 2 * np.pi / c))
    occs = [FermiDirac(m, T) for m in mus]
    spectra = _slice_cache(model, field, mesh, gauge)

    def rule(n: int) -> NDArray[np.float64]:
        x, w = clenshaw_curtis(n)
        out = np.empty((2, 2))
        for h, ((a, b), occ) in enumerate(zip(bounds, occs)):
            sp = spectra(0.5 * (a + b) + 0.5 * (b - a) * x)
            out[:, h] = 0.5 * (b - a) / (2 * np.pi) * np.array([w @ sp.density(occ), w @ sp.current(occ)])
        return out

    out, n, change = nested_rule(rule, n_kz, max_kz, tol, "node-resolved integrals")
    return NodeResolved(bounds, mus, out[0], out[1], change.T, n)


def slab_density(
    model: TightBinding,
    field: UniformB,
    mu: float,
    T: float,
    bounds: tuple[float, float],
    *,
    mesh: int = 1,
    tol: float = 1e-10,
    gauge: str = "landau_x",
    n_kz: int = 8,
    max_kz: int = 1024,
) -> KzIntegral:
    """Exact equilibrium particles per unit volume in the slab bounds[0] < kz < bounds[1].

    N = int_a^b dkz/(2 pi) Tr n_F(H(kz) - mu) / area for the state n_F(H - mu)
    of the exact Hamiltonian in the field (module docstring), with nested
    Clenshaw-Curtis rules on (a, b), doubled until two rules differ by less
    than ``tol``. For a slab between planes where no Fermi surface crosses,
    e.g. one half of the zone around a node, it is the charge of that node's
    region (compare paper Eq. 17 on the same slab).

    Parameters
    ----------
    model, field, mesh, gauge
        As in :func:`slice_spectrum`.
    mu, T
        Chemical potential and temperature (energy units, k_B = 1).
    bounds
        Cartesian (a, b), 0 < b - a <= 2 pi / c.
    tol
        Target for the change between nested rules (particles per unit volume).

    Returns
    -------
    KzIntegral
        ``n_kz`` counts the intervals of the final rule (n_kz + 1 slices).

    Raises
    ------
    keldysh.errors.ConvergenceError
        If the rule with ``max_kz`` intervals has not converged to ``tol``.
    """
    _check_tol(tol, max_kz)
    c = _check_layered(model)
    a, b = float(bounds[0]), float(bounds[1])
    if not 0 < b - a <= 2 * np.pi / c:
        raise ValueError(f"bounds must satisfy 0 < b - a <= 2 pi / c, got {bounds}")
    occ = FermiDirac(mu, T)
    spectra = _slice_cache(model, field, mesh, gauge)

    def rule(n: int) -> float:
        x, w = clenshaw_curtis(n)
        return 0.5 * (b - a) * float(w @ spectra(0.5 * (a + b) + 0.5 * (b - a) * x).density(occ)) / (2 * np.pi)

    value, n, change = nested_rule(rule, n_kz, max_kz, tol, "slab density")
    return KzIntegral(float(value), n, float(change))
