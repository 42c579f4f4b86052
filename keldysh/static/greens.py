"""Equilibrium Green's functions of the Peierls Hamiltonian on the home-cell orbitals.

Real-frequency functions at a finite broadening eta > 0 (energies in units of
the hoppings, hbar = 1)::

    G^R(eps) = (eps + i eta - H)^{-1},   G^A(eps) = (eps - i eta - H)^{-1} = G^R(eps)^dagger,
    A(eps)   = i (G^R - G^A) = 2 eta / ((eps - H)^2 + eta^2)   (spectral function, A >= 0),
    G^<(eps) = i A(eps) n_F(eps)                               (fluctuation-dissipation at mu, T),

and the equal-time density matrix rho = int deps/(2 pi i) G^<(eps) (paper, the
relation between g_< and the Wigner function rho above Eq. 1, and g_< = i a n_F
below Eq. 15). As eta -> 0 it tends to n_F(H) (:mod:`keldysh.static.chebyshev` computes
that limit directly); at finite eta the energy integral gives the Lorentzian-
smoothed occupation, off by O(eta) (for mu in a gap: (eta / pi) (H - mu)^{-1}).

All of them are Chebyshev series of the resolvent, closed form for z off the
real axis (x = (E - c)/a the scaled energy, |w| < 1)::

    1 / (z - x) = sum_m (2 - delta_m0) w^m / sqrt(z^2 - 1) T_m(x),   w = z - sqrt(z^2 - 1),

evaluated for every energy from one recursion (:func:`keldysh.static.chebyshev.chebyshev_columns`)
on the columns of the home-cell orbitals and dressed with the Wilson line, like
every kernel of :mod:`keldysh.wigner`. The order M is set by the slowest decay
|w|^m, about exp(-m eta / a): small eta is expensive (M ~ a ln(1/tol) / eta).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ConvergenceError
from ..fields import UniformB
from ..lattice import TightBinding
from ..spectral import FermiDirac
from ..wigner import wigner_from_kernel
from .bands import spectral_bounds
from .chebyshev import chebyshev_columns
from .patch import _check_model

__all__ = ["GreensKernel", "greens_kernel", "spectral_function", "lesser_greens", "density_from_lesser"]

KINDS = ("retarded", "advanced", "spectral", "lesser")


@dataclass(frozen=True)
class GreensKernel:
    """Dressed kernels of a Green's function at a grid of energies.

    Attributes
    ----------
    energies
        (n_e,) real energies eps.
    eta
        Broadening (energy units).
    kind
        ``"retarded"``, ``"advanced"``, ``"spectral"`` or ``"lesser"``.
    cells
        (nS, 2) cell offsets R_s, |R_s|_inf <= radius, shell order (``cells[0] = 0``).
    values
        (n_e, nS, N, N), ``values[e, s, a, b] = G~(eps_e; R_s + tau_a, tau_b)`` (inverse energy units).
    order
        Chebyshev order M.
    error
        Bound on the error of every entry (coefficient tail plus wave-front cuts).
    """

    energies: NDArray[np.float64]
    eta: float
    kind: str
    cells: NDArray[np.int64]
    values: NDArray[np.complex128]
    lattice_vectors: NDArray[np.float64]
    positions: NDArray[np.float64]
    order: int
    error: float

    def wigner(self, k: ArrayLike) -> NDArray[np.complex128]:
        """W(eps, k) = sum_s exp(-ik.s) G~(eps; r0 + s, r0), shape (n_e, ..., N, N).

        Meaningful only when ``radius`` covers the decay of G (about v / eta cells).
        """
        return np.stack(
            [wigner_from_kernel(self.lattice_vectors, self.positions, self.cells, v, k) for v in self.values]
        )


def _resolvent_coefficients(z: NDArray[np.complex128], M: int) -> NDArray[np.complex128]:
    """c_m(z), m = 0..M, of 1/(z - x) = sum_m c_m T_m(x) for scaled z off [-1, 1]; shape (n_z, M + 1)."""
    s = np.sqrt(z * z - 1)
    w = z - s
    flip = np.abs(w) > 1
    s = np.where(flip, -s, s)
    w = np.where(flip, z - s, w)
    m = np.arange(M + 1)
    c = 2 * w[:, None] ** m / s[:, None]
    c[:, 0] /= 2
    return c


def _order(z: NDArray[np.complex128], eps: float, max_order: int) -> tuple[int, float]:
    """Smallest M with coefficient tail sum_{m > M} |c_m(z)| <= eps for every z, and that tail."""
    s = np.sqrt(z * z - 1)
    w = np.minimum(np.abs(z - s), np.abs(z + s))
    pref = 2 / ((1 - w) * np.abs(s))  # tail beyond M = pref |w|^(M + 1)
    M = int(np.max(np.ceil(np.log(eps / pref) / np.log(w)) - 1).clip(0))
    if M > max_order:
        raise ConvergenceError(
            f"the resolvent at this eta needs Chebyshev order M={M} > max_order={max_order} "
            f"(M grows like ln(1/tol) / eta); raise eta, tol or max_order"
        )
    return M, float(np.max(pref * w ** (M + 1)))


def greens_kernel(
    model: TightBinding,
    field: UniformB,
    energies: ArrayLike,
    eta: float,
    kind: str = "retarded",
    occupation: FermiDirac | None = None,
    radius: int = 0,
    tol: float = 1e-9,
    gauge: str = "landau_x",
    max_order: int = 20000,
) -> GreensKernel:
    """G^R, G^A, A or G^< at the energies ``energies`` with broadening ``eta``, on |R_s| <= radius.

    Parameters
    ----------
    model, field
        2D tight-binding model and uniform B (Peierls; any flux).
    energies
        Real energies eps (1D).
    eta
        Broadening > 0.
    kind
        ``"retarded"`` (eps + i eta - H)^{-1}, ``"advanced"`` (eps - i eta - H)^{-1},
        ``"spectral"`` A = i (G^R - G^A), ``"lesser"`` G^< = i A n_F(eps) (needs ``occupation``).
    occupation
        :class:`keldysh.spectral.FermiDirac` (mu, T) for ``kind="lesser"``.
    radius
        Range of the kernel in cells (0: the on-site block only, the cheapest).
    tol
        Bound on the error of each entry.

    Raises
    ------
    ValueError
        Bad eta, kind, energies or a missing occupation.
    ConvergenceError
        The order needed for this eta exceeds ``max_order``.
    """
    _check_model(model)
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {KINDS}")
    if not (eta > 0 and math.isfinite(eta)):
        raise ValueError(f"eta must be positive and finite, got {eta}")
    if kind == "lesser" and not isinstance(occupation, FermiDirac):
        raise ValueError("kind='lesser' needs occupation=FermiDirac(mu, T)")
    energies = np.atleast_1d(np.asarray(energies, dtype=float))
    if energies.ndim != 1 or not np.all(np.isfinite(energies)):
        raise ValueError("energies must be a finite 1D array")
    lo, hi = spectral_bounds(model, field, gauge)
    c, a = (lo + hi) / 2, (hi - lo) / 2
    zr = (energies + 1j * eta - c) / a
    za = (energies - 1j * eta - c) / a
    # the spectral and lesser functions combine two series, each held to tol / 4
    M, tail = _order(zr, 0.25 * tol * a, max_order)
    cr, ca = _resolvent_coefficients(zr, M) / a, _resolvent_coefficients(za, M) / a
    coeffs = {"retarded": cr, "advanced": ca, "spectral": 1j * (cr - ca)}.get(kind)
    if kind == "lesser":
        coeffs = -(cr - ca) * occupation(energies)[:, None]  # i * i (G^R - G^A) n_F
    cells, values, info = chebyshev_columns(model, field, coeffs, c, a, int(radius), gauge, front_tol=0.1 * tol)
    error = 2 * tail / a + info["front"]
    return GreensKernel(energies, float(eta), kind, cells, values, model.lattice_vectors, model.positions, M, error)


def spectral_function(model: TightBinding, field: UniformB, energies: ArrayLike, eta: float, **kw) -> GreensKernel:
    """A(eps) = i (G^R - G^A) = 2 eta / ((eps - H)^2 + eta^2): Hermitian, >= 0, int A deps / 2 pi = 1 (eta -> 0)."""
    return greens_kernel(model, field, energies, eta, kind="spectral", **kw)


def lesser_greens(
    model: TightBinding, field: UniformB, energies: ArrayLike, eta: float, mu: float, T: float, **kw
) -> GreensKernel:
    """G^<(eps) = i A(eps) n_F(eps) at chemical potential mu and temperature T (equilibrium)."""
    return greens_kernel(model, field, energies, eta, kind="lesser", occupation=FermiDirac(mu, T), **kw)


def density_from_lesser(lesser: GreensKernel) -> NDArray[np.complex128]:
    """rho~(R_s + tau_a, tau_b) = int deps / (2 pi i) G^<(eps), trapezoid rule on the energy grid.

    Returns the dressed density-matrix kernel (nS, N, N). The grid must cover the
    occupied spectrum plus the Lorentzian tails (those beyond the grid are lost,
    about (eta / pi) / distance each) and resolve eta (spacing well below eta).
    """
    if lesser.kind != "lesser":
        raise ValueError(f"need a lesser Green's function, got kind={lesser.kind!r}")
    return np.trapezoid(lesser.values, lesser.energies, axis=0) / (2j * np.pi)
