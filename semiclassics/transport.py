"""Linear transport coefficients of the semiclassical theory (paper Eqs. 34-36).

Implemented: the intrinsic anomalous Hall conductivity, Eq. 35. (The chiral
magnetic effect, Eq. 36, and the anomaly source, Eq. 33, belong here too.)

Units and signs (``docs/conventions.md``): hbar = a = 1, the charge q
folded into the fields. Eq. 34's second line is the current -q^2 E x
int f_n Omega_n summed over bands, with Omega_n = Omega_n^{n,xy} the Berry
curvature of band n (sigma Omega in the paper's two-band notation); with
j_x = sigma^{xy} E_y it gives Eq. 35 as printed,

    sigma^{xy} = -(q^2 / hbar) sum_n int_BZ d^2k / (2 pi)^2 n_F(eps_n) Omega_n^{n,xy}.

Returned in units of the conductance quantum q^2/h = q^2/(2 pi hbar):
sigma^{xy} / (q^2/h) = -2 pi sum_n int d^2k/(2 pi)^2 f(eps_n) Omega_n. A
filled band of Chern number C_n (``semiclassics.geometry.chern_numbers``)
contributes -C_n: the sign agrees with Streda's counting (states per cell
1 - flux C_n, so sigma^{xy} = q dn/dB|_mu = -C_n q^2/h) and with the exact
current after switching on E (:mod:`validation.catalog.efield`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .geometry import _omega, _reciprocal, _spectral, reciprocal_grid

__all__ = ["hall_conductivity"]

#: k-points per chunk of the BZ sum (bounds the memory of the batched linear algebra).
_CHUNK = 1 << 15


def hall_conductivity(model: Any, f: Callable[[np.ndarray], np.ndarray], grid: int, min_gap: float = 1e-9) -> NDArray[np.float64]:
    """Intrinsic anomalous Hall conductivity of every band, paper Eq. 35, in units of q^2/h.

    sigma^{xy}_n = -2 pi int_BZ d^2k/(2 pi)^2 f(eps_n(k)) Omega_n^{n,xy}(k), summed on the
    uniform ``grid x grid`` mesh of :func:`semiclassics.geometry.reciprocal_grid`
    (periodic trapezoid rule: exponentially convergent for smooth f, e.g.
    T > 0 or mu in a gap). The total is the sum over bands.

    Parameters
    ----------
    model
        Two-dimensional Bloch model (any N; the paper's Eq. 35 is N = 2).
    f
        Occupation as a vectorized callable of energy, e.g. n_F.
    grid
        Points per reciprocal-lattice direction.
    min_gap
        Smallest allowed gap between adjacent bands (the curvature is undefined at a degeneracy).

    Returns
    -------
    ndarray, shape (N,), dimensionless (units q^2/h).

    Raises
    ------
    ValueError
        For a model that is not two-dimensional or a degeneracy on the grid.
    """
    if model.dim != 2:
        raise ValueError(f"Eq. 35 (sigma^xy) is implemented for 2D models, got dim={model.dim}")
    k = reciprocal_grid(model, grid).reshape(-1, 2)
    total = np.zeros(model.norbs)
    for start in range(0, len(k), _CHUNK):
        eps, _, V = _spectral(model, k[start : start + _CHUNK], min_gap)
        omega = np.diagonal(_omega(eps, V, 0, 1), axis1=-2, axis2=-1)
        total += (np.asarray(f(eps), dtype=float) * omega).sum(axis=0)
    bz_area = abs(np.linalg.det(_reciprocal(model)))
    return -total * bz_area / (len(k) * 2 * np.pi)
