"""The two-band density matrix in a uniform electric field (paper Eqs. 25, 26, 30 with B = 0).

Units and signs (``docs/conventions.md``): hbar = a = 1 unless ``hbar``
is given, the charge folded into the field: ``E`` is the force q E, and the
kinetic momentum obeys dp/dt = q E.

Poisson brackets (Eq. 9) in a uniform E with B = 0. With
d_p^mu = (c d_eps, -d_p) and D_mu = d_mu - (e/2) F_{mu nu} d_p^nu (Eq. 10),
F_{0i} = E_i / c gives D_0 = (1/c) d_t + (e/2c) E . d_p and D_i = d_i + (e/2) E_i d_eps,
so for functions of (t, p) (no x dependence)

    {a, b} = d_eps a d_t b - d_t a d_eps b + e (d_eps a E . d_p b - d_eps b E . d_p a).

Hence, with lambda^0 = eps - eps^0(p) and u = u(p) the Bloch vector of the upper band,

    {lambda^0, u} = q E . d_p u      (d_eps lambda^0 = 1, d_eps u = 0),
    {f, u} = 0                       for distributions f(t, p) (no eps dependence).

Eq. 26 then reduces to

    rho_perp = -(hbar/2) u x (q E . d_p u) (f_up - f_dn) / Delta,   Delta = (eps_up - eps_dn)/2,

and the band-projected part (Eq. 25) to rho^sigma = f^sigma: the mixed
contraction Omega_m^n vanishes in a pure E field (d_eps b = 0 and D_i b = 0),
so eps-bar = eps (Eq. 12) as well.

Sign check (independent of the paper): for a filled lower band the state that
adiabatically follows p(t) solves i d_t rho = [h, rho] to first order with
rho = P_dn(p) + (1/2) w . sigma, giving w = u x du/dt / (2 Delta), du/dt =
q E . d_p u, i.e. exactly the expression above with f_dn - f_up = 1; the
exact time evolution confirms it at O(E) (:mod:`validation.catalog.efield`).

Distributions: in a uniform E the collisionless Vlasov equation (Eq. 30 with
F = q E, v irrelevant for uniform f) is solved by f^sigma(p, t) =
f0(eps^sigma(p - Delta p(t))), Delta p(t) = int_0^t q E(t') dt' the impulse
(:func:`accelerated_occupations`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .geometry import _check_k, _spectral
from .sun import gell_mann
from .transverse import two_band_transverse

__all__ = ["accelerated_occupations", "transverse_density", "density_matrix"]


def accelerated_occupations(
    model: Any, p: ArrayLike, impulse: ArrayLike, f: Callable[[np.ndarray], np.ndarray]
) -> NDArray[np.float64]:
    """f^n(p, t) = f(eps_n(p - Delta p)): the equilibrium occupation f carried along by the field.

    Parameters
    ----------
    p
        Kinetic momenta, shape (..., d).
    impulse
        Delta p = int_0^t q E dt' (shape (d,)), the momentum gained since the field was switched on.
    f
        Initial occupation, a vectorized callable of energy (e.g. n_F).

    Returns
    -------
    ndarray, shape (..., N), ascending bands.
    """
    p = _check_k(model, p, "p")
    impulse = np.asarray(impulse, dtype=float)
    if impulse.shape != (model.dim,):
        raise ValueError(f"impulse must have shape ({model.dim},), got {impulse.shape}")
    eps = np.linalg.eigvalsh(model.bloch(p - impulse))
    return np.asarray(f(eps), dtype=float)


def _two_band(model: Any, p: ArrayLike, E: ArrayLike, occupations: ArrayLike):
    p = _check_k(model, p, "p")
    if model.norbs != 2:
        raise ValueError(f"Eq. 26 is the two-band transverse density, got N={model.norbs}")
    E = np.asarray(E, dtype=float)
    if E.shape != (model.dim,) or not np.all(np.isfinite(E)):
        raise ValueError(f"E must be a finite vector of shape ({model.dim},), got {E}")
    occ = np.asarray(occupations, dtype=float)
    if occ.shape != p.shape[:-1] + (2,):
        raise ValueError(f"occupations must have shape {p.shape[:-1] + (2,)}, got {occ.shape}")
    eps, U, V = _spectral(model, p)
    return eps, U, V, E, occ


def _transverse(eps, U, V, E, occ, hbar: float) -> np.ndarray:
    """Eq. 26 in E alone (:func:`semiclassics.transverse.two_band_transverse` with beta = 0)."""
    return two_band_transverse(eps, U, V, E, 0.0, occ, None, hbar)


def transverse_density(
    model: Any, p: ArrayLike, E: ArrayLike, occupations: ArrayLike, hbar: float = 1.0
) -> NDArray[np.float64]:
    """Transverse (interband) density of a two-band model in a uniform E field, paper Eq. 26.

    rho_perp = -(hbar/2) u x (q E . d_p u) (f_up - f_dn) / Delta (see the module
    docstring for the brackets), u = b_up, d_p u analytic from dh/dk.

    Parameters
    ----------
    model
        Two-band Bloch model.
    p
        Kinetic momenta, shape (..., d).
    E
        Force q E, shape (d,), energy / a.
    occupations
        (f_dn, f_up) at p, shape (..., 2) (e.g. :func:`accelerated_occupations`).
    hbar
        Explicit expansion parameter (rho_perp is linear in it); 1 in package units.

    Returns
    -------
    ndarray, shape (..., 3), orthogonal to u; the matrix is (1/2) rho_perp . sigma. Dimensionless.
    """
    eps, U, V, E, occ = _two_band(model, p, E, occupations)
    return _transverse(eps, U, V, E, occ, hbar)


def density_matrix(
    model: Any, p: ArrayLike, E: ArrayLike, occupations: ArrayLike, hbar: float = 1.0
) -> NDArray[np.complex128]:
    """Semiclassical Wigner function of the density matrix in a uniform E field (Eqs. 25, 26; B = 0).

    rho(p) = f_dn P_dn(p) + f_up P_up(p) + (1/2) rho_perp . sigma, shape (..., 2, 2),
    orbital basis, to O(hbar E). Parameters as :func:`transverse_density`.
    """
    eps, U, V, E, occ = _two_band(model, p, E, occupations)
    rho = np.einsum("...an,...n,...bn->...ab", U, occ, np.conj(U))
    return rho + 0.5 * np.einsum("...c,cab->...ab", _transverse(eps, U, V, E, occ, hbar), gell_mann(2))
