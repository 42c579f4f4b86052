"""First-order gradient expansion of the exact Wigner function (the "Moyal reference", general N).

With the Peierls convention of ``docs/conventions.md`` the lattice star
product of two functions of k in a uniform B along z is
a * b = ab + (i/2){a, b} + O(beta^2), {a, b} = beta (d_x a d_y b - d_y a d_x b).
Star-inverting z - h gives G = G0 + G1 + O(beta^2) with G0 = (z - h)^-1 and
G1 = (i beta/2) G0 (h_x G0 h_y - h_y G0 h_x) G0, so for any f analytic near the
spectrum

    W(f(H))(k) = f(h) + W1(f) + O(beta^2),
    W1(f) = (i beta/2) sum_{a,b,c} D_f(eps_a, eps_b, eps_c) [P_a h_x P_b h_y P_c - (x <-> y)],

with D_f the second divided difference of f (the contour integral of
f(z) / ((z - eps_a)(z - eps_b)(z - eps_c)); coinciding arguments use f'; the
a = b = c term vanishes). For a band window Pi_n, f is the indicator of band n
(only the residue at eps_n counts); for H^j Pi_n it is z^j on band n.

This is the reference the O(hbar) formulas of :mod:`semiclassics.predictions`
are checked against; it is independent of the paper's index conventions.
Units: hbar = a = 1, beta = field.beta(model.cell_area); W1 has the units of f.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .geometry import _beta, _spectral
from .predictions import fermi, fermi_derivative

__all__ = ["wigner_first_order", "band_window_first_order", "fermi_first_order"]


def _divided_differences(eps: np.ndarray, fv: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """D[..., a, b, c] = f[eps_a, eps_b, eps_c] from values fv and derivatives fp at the eigenvalues.

    Eigenvalues of distinct bands are distinct (checked by the eigensystem), so
    coincidences are only index coincidences; D[a, a, a] is set to 0 (its
    bracket vanishes identically).
    """
    N = eps.shape[-1]
    eye = np.eye(N, dtype=bool)
    de = eps[..., :, None] - eps[..., None, :]  # [a, b] = eps_a - eps_b
    safe = np.where(eye, 1.0, de)
    f1 = np.where(eye, fp[..., :, None], (fv[..., :, None] - fv[..., None, :]) / safe)  # f[eps_a, eps_b]
    # a != c: (f[a, b] - f[b, c]) / (eps_a - eps_c)
    general = (f1[..., :, :, None] - f1[..., None, :, :]) / safe[..., :, None, :]
    # a == c, b != a: f[a, a, b] = (f[a, b] - f'(a)) / (eps_b - eps_a)
    fpa = np.diagonal(f1, axis1=-2, axis2=-1)[..., :, None]
    same = np.where(eye, 0.0, (f1 - fpa) / (-safe))
    return np.where(eye[:, None, :], same[..., :, :, None], general)


def _first_order(eps: np.ndarray, U: np.ndarray, V: np.ndarray, beta: float, fv: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """W1 in the orbital basis from eigen-data and f, f' at the eigenvalues."""
    if V.shape[-3] < 2:
        raise ValueError("a magnetic field along z needs a model of dimension >= 2")
    D = _divided_differences(eps, fv, fp)
    Vx, Vy = V[..., 0, :, :], V[..., 1, :, :]
    # K[a, b, c] = Vx_ab Vy_bc - Vy_ab Vx_bc
    K = Vx[..., :, :, None] * Vy[..., None, :, :] - Vy[..., :, :, None] * Vx[..., None, :, :]
    W_eig = 0.5j * beta * (D * K).sum(axis=-2)
    return U @ W_eig @ np.conj(np.swapaxes(U, -1, -2))


def wigner_first_order(
    model: Any,
    k: ArrayLike,
    field: Any,
    f: Callable[[np.ndarray], np.ndarray],
    fprime: Callable[[np.ndarray], np.ndarray],
) -> NDArray[np.complex128]:
    """First-order (in beta) part W1(f) of the Wigner function of f(H), orbital basis.

    W(f(H))(k) = f(h(k)) + W1 + O(beta^2), see the module docstring. f and its
    derivative fprime are vectorized callables of energy, evaluated at the band
    energies; f must be smooth on the spectrum of h (a band-window function is
    handled by :func:`band_window_first_order`). Shape (..., N, N), Hermitian.
    """
    eps, U, V = _spectral(model, k)
    fv = np.asarray(f(eps), dtype=float)
    fp = np.asarray(fprime(eps), dtype=float)
    return _first_order(eps, U, V, _beta(model, field), fv, fp)


def band_window_first_order(model: Any, k: ArrayLike, field: Any, band: int, moment: int = 0) -> NDArray[np.complex128]:
    """W1 of the band-window operator H^moment Pi_n (Pi_n = spectral projector of band n).

    f(z) = z^moment near eps_n and 0 near the other bands (f' = moment z^(moment-1)
    on band n). Traces (tested): sum_n W1(Pi_n) = 0, Tr W1(Pi_n) = -beta Omega_n^{n,xy}
    (Eq. 15 pointwise), Tr(P_m W1(Pi_n)) = (beta/2) Omega_n^{m,xy} for m != n.

    Raises
    ------
    ValueError
        If band is not in 0 .. N-1 or moment is negative.
    """
    eps, U, V = _spectral(model, k)
    N = eps.shape[-1]
    if int(band) != band or not 0 <= band < N:
        raise ValueError(f"band must be an integer in 0..{N - 1}, got {band!r}")
    if int(moment) != moment or moment < 0:
        raise ValueError(f"moment must be a non-negative integer, got {moment!r}")
    on = np.arange(N) == band
    fv = np.where(on, eps**moment, 0.0)
    fp = np.where(on, moment * eps ** max(moment - 1, 0), 0.0)
    return _first_order(eps, U, V, _beta(model, field), fv, fp)


def fermi_first_order(model: Any, k: ArrayLike, field: Any, mu: float, T: float) -> NDArray[np.complex128]:
    """W1 of the equilibrium density matrix n_F(H) (chemical potential mu, temperature T, k_B = 1).

    At T = 0 mu must not coincide with a band energy on the k-points (the
    derivative term is then zero).
    """
    return wigner_first_order(model, k, field, lambda E: fermi(E, mu, T), lambda E: fermi_derivative(E, mu, T))
