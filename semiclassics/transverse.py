"""The transverse (interband) density of two bands, paper Eq. 26, in uniform E and B: the one implementation.

Units and signs (``docs/conventions.md``): hbar = a = 1 unless ``hbar`` is given,
q folded into the fields (``E`` is the force q E, ``beta = q B_z``), B along z.

    rho_perp = -(hbar/2) u x [ {lambda^0, u} (f_up - f_dn) / Delta + {f_up + f_dn, u} ],

u = b_up the Bloch vector of the upper band, Delta = (eps_up - eps_dn) / 2,
lambda^0 = eps - eps^0(p) with eps^0 = (eps_up + eps_dn) / 2. For functions of
(t, p) in uniform fields the Poisson bracket of Eq. 9 gives

    {lambda^0, u} = q E . d_p u - beta (d_x eps^0 d_y u - d_y eps^0 d_x u),
    {f, u}        = beta (d_x f d_y u - d_y f d_x u)             (d_eps f = 0),

(derivation in :mod:`semiclassics.boltzmann`). The three callers are special
cases of :func:`two_band_transverse`: :func:`semiclassics.efield.transverse_density`
(B = 0), :func:`semiclassics.predictions.transverse_density` (E = 0, equilibrium
distributions f(eps_n) with d f = f'(eps_n) d eps_n) and
:func:`semiclassics.boltzmann.transverse_two_band` (both fields). A field that is
zero contributes no term at all, so each special case is evaluated exactly as
its own formula.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .geometry import _projector_gradient
from .sun import bloch_vectors

__all__ = ["bracket_z", "two_band_transverse"]


def bracket_z(beta: float, grad_a: np.ndarray, grad_b: np.ndarray) -> NDArray[np.float64]:
    """{a, b} = beta (d_x a d_y b - d_y a d_x b) (Eq. 9, B along z) for gradients (..., d) of a and (..., d, c) of b.

    Returns shape (..., c).
    """
    return beta * (grad_a[..., 0, None] * grad_b[..., 1, :] - grad_a[..., 1, None] * grad_b[..., 0, :])


def two_band_transverse(
    eps: np.ndarray,
    U: np.ndarray,
    V: np.ndarray,
    E: np.ndarray | None,
    beta: float,
    f: np.ndarray,
    grad_f: np.ndarray | None,
    hbar: float = 1.0,
) -> NDArray[np.float64]:
    """Eq. 26 from the eigensystem: the Bloch vector rho_perp of the interband density, shape (..., 3).

    Parameters
    ----------
    eps, U, V
        Energies (..., 2) ascending, eigenvectors (..., 2, 2) (columns) and velocity
        matrices V^i = U^dagger d_i h U (..., d, 2, 2) at the momenta.
    E
        The force q E, shape (d,) (energy / a), or None for B alone.
    beta
        q B_z (1/a^2); 0 for E alone.
    f
        (f_dn, f_up) at the momenta, shape (..., 2).
    grad_f
        d f_n / d p_i, shape (..., 2, d); used only when ``beta`` is nonzero (may be None otherwise).
    hbar
        The expansion parameter (rho_perp is linear in it); 1 in package units.

    Returns
    -------
    ndarray
        rho_perp, dimensionless, orthogonal to u; the matrix is (1/2) rho_perp . sigma.
    """
    up = U[..., :, 1]
    u = bloch_vectors(up[..., :, None] * np.conj(up[..., None, :]))
    du = bloch_vectors(_projector_gradient(eps, U, V)[..., 1, :, :, :])  # (..., d, 3)
    delta = 0.5 * (eps[..., 1] - eps[..., 0])
    lam0 = np.einsum("i,...ic->...c", E, du) if E is not None else None  # {lambda^0, u}, E part
    fsum = None
    if beta != 0:
        grad_eps = np.swapaxes(np.real(np.diagonal(V, axis1=-2, axis2=-1)), -1, -2)  # (..., 2, d)
        magnetic = bracket_z(beta, -grad_eps.mean(axis=-2), du)  # {lambda^0, u}, B part: -{eps^0, u}
        lam0 = magnetic if lam0 is None else lam0 + magnetic
        fsum = bracket_z(beta, grad_f.sum(axis=-2), du)  # {f_up + f_dn, u}
    if lam0 is None:
        return np.zeros(eps.shape[:-1] + (3,))
    inner = lam0 * ((f[..., 1] - f[..., 0]) / delta)[..., None]
    if fsum is not None:
        inner = inner + fsum
    return -0.5 * hbar * np.cross(u, inner)
