"""Kinetic velocity and force of the semiclassical Boltzmann-Vlasov equation (paper Eqs. 29a, 29b, 30).

Units and signs (``docs/conventions.md``): hbar = a = 1 unless ``hbar``
is given; the charge is folded into the fields, so the paper's e E is the force
``E`` = q E (energy / a) and e B is ``beta`` = q B_z / hbar along z (1/a^2). With
sigma Omega = Omega_sigma^{sigma} (two bands: Omega_up^up = Omega,
Omega_dn^dn = -Omega) the paper's Eqs. 29 read, band by band,

    v_n = d_p eps-bar_n - hbar E x Omega_n + hbar Omega_n x (d_p eps-bar_n x B),
    F_n = E + d_p eps-bar_n x B + hbar (B . Omega_n) d_p eps-bar_n x B - hbar (E x Omega_n) x B,

with Omega_n the axial Berry curvature of band n ((Omega_n)_c = (1/2) eps_abc
Omega_n^{n,ab}, A = i<u|grad u>) and B = (0, 0, beta). eps-bar_n is the Eq. 12
energy eps_n - hbar beta m_n (m_n the orbital moment); its momentum gradient is
analytic for eps_n and a fourth-order central difference for beta m_n.

The paper derives Eqs. 29 for two bands; written with the band curvature
Omega_n they are the wave-packet equations of any isolated band, and the
functions below accept any N (the two-band case is the paper's claim).
To O(hbar) v_n equals the solution r-dot of the wave-packet equations
r-dot = v~ - k-dot x Omega_n, k-dot = E + r-dot x B (tested), and in a pure
E field the anomalous velocity -E x Omega_n is the O(E) velocity of a state
that adiabatically follows band n (checked against the exact evolution in
:mod:`validation.catalog.efield`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .geometry import _check_k, _orbital_moment, _spectral, axial_curvature, berry_tensor

__all__ = ["band_velocity", "equations_of_motion", "velocity", "force"]

#: Step (1/a) of the central difference of the orbital-moment energy.
_FD_STEP = 1e-3


def _vector3(x: ArrayLike | None, d: int, name: str) -> np.ndarray:
    """A length-d (or 3) cartesian vector embedded in 3D."""
    if x is None:
        return np.zeros(3)
    x = np.atleast_1d(np.asarray(x, dtype=float))
    if x.shape not in ((d,), (3,)) or not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be a finite vector of length {d} (or 3), got {x}")
    out = np.zeros(3)
    out[: x.size] = x
    return out


def equations_of_motion(
    grad: ArrayLike, E: ArrayLike, B: ArrayLike, anomalous: ArrayLike, phase_space: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Velocity and force of paper Eqs. 29a, 29b from their ingredients (cartesian 3-vectors, broadcast).

    v = grad - E x Omega_a + Omega_p x (grad x B),    F = E + v x B,

    which is Eq. 29b term by term: (Omega x (grad x B)) x B = (B . Omega) grad x B.
    Passing the band curvature hbar Omega_n as both ``anomalous`` (Omega_a) and
    ``phase_space`` (Omega_p) gives the paper's equations; a zero vector in one
    slot removes the anomalous velocity -E x Omega (with its force
    -(E x Omega) x B), or the velocity Omega x (v x B) (with its force
    (B . Omega) v x B), consistently in v and F.

    Parameters
    ----------
    grad
        d_p eps-bar_n (energy x a), shape (..., 3).
    E, B
        q E (energy / a) and B = (0, 0, beta) (1/a^2), q folded in, shape (..., 3).
    anomalous, phase_space
        Curvature vectors (a^2, times hbar) of the two kinds of terms, shape (..., 3).

    Returns
    -------
    (v, F), each of shape broadcast(...) + (3,).
    """
    grad = np.asarray(grad, dtype=float)
    B = np.asarray(B, dtype=float)
    v = grad - np.cross(E, anomalous) + np.cross(phase_space, np.cross(grad, B))
    return v, np.asarray(E, dtype=float) + np.cross(v, B)


def _moment_energy(model: Any, k: np.ndarray, beta: float) -> np.ndarray:
    """-beta m_n(k), the Eq. 12 energy correction, shape (..., N)."""
    eps, _, V = _spectral(model, k)
    return -beta * _orbital_moment(eps, V)


def band_velocity(model: Any, k: ArrayLike, beta: float = 0.0) -> NDArray[np.float64]:
    """d_p eps-bar_n, the group velocity of the Eq. 12 energies, shape (..., N, d).

    Analytic d_i eps_n = <n|d_i h|n>; for beta != 0 the gradient of -beta m_n
    by a fourth-order central difference (step 1e-3 / a, relative error ~1e-12).
    Units energy x a (hbar = 1).
    """
    k = _check_k(model, k)
    _, _, V = _spectral(model, k)
    grad = np.swapaxes(np.real(np.diagonal(V, axis1=-2, axis2=-1)), -1, -2).copy()  # (..., N, d)
    if beta != 0:
        if model.dim < 2:
            raise ValueError("a magnetic field along z needs a model of dimension >= 2")
        h = _FD_STEP
        for i in range(model.dim):
            e = np.zeros(model.dim)
            e[i] = h
            grad[..., i] += (
                8 * (_moment_energy(model, k + e, beta) - _moment_energy(model, k - e, beta))
                - (_moment_energy(model, k + 2 * e, beta) - _moment_energy(model, k - 2 * e, beta))
            ) / (12 * h)
    return grad


def _kinetic_data(model: Any, k: ArrayLike, E: ArrayLike | None, beta: float, hbar: float):
    """(grad eps-bar (..., N, 3), hbar Omega_n (..., N, 3), E (3,), B (3,)); hbar scales the O(hbar) terms."""
    k = _check_k(model, k)
    d = model.dim
    E3 = _vector3(E, d, "E")
    if not np.isfinite(beta):
        raise ValueError(f"beta must be finite, got {beta}")
    if d == 1:
        if beta != 0:
            raise ValueError("a magnetic field along z needs a model of dimension >= 2")
        omega = np.zeros(k.shape[:-1] + (model.norbs, 3))
    else:
        axial = axial_curvature(berry_tensor(model, k))  # (..., N, N, 3)
        omega = hbar * np.swapaxes(np.diagonal(axial, axis1=-3, axis2=-2), -1, -2)  # (..., N, 3): Omega_n^n
    grad = np.zeros(k.shape[:-1] + (model.norbs, 3))
    grad[..., :d] = band_velocity(model, k, hbar * beta)  # the Eq. 12 correction is O(hbar) too
    return grad, omega, E3, np.array([0.0, 0.0, beta])


def velocity(
    model: Any, k: ArrayLike, E: ArrayLike | None = None, beta: float = 0.0, hbar: float = 1.0
) -> NDArray[np.float64]:
    """Kinetic velocity v_n of every band, paper Eq. 29a (q folded into E and beta).

    v_n = d_p eps-bar_n - hbar E x Omega_n + hbar Omega_n x (d_p eps-bar_n x B),  B = (0, 0, beta).

    Parameters
    ----------
    model
        Bloch model; k cartesian, shape (..., d).
    E
        Force q E, length d (or 3); None for no electric field.
    beta
        q B_z / hbar (1/a^2), the field along z.
    hbar
        Explicit hbar multiplying every O(hbar) term (the Berry-curvature terms
        and the Eq. 12 energy correction -beta m_n): the semiclassical
        expansion parameter, 1 in the package units.

    Returns
    -------
    ndarray, shape (..., N, d): velocity (energy x a) per band.
    """
    grad, omega, E3, B = _kinetic_data(model, k, E, beta, hbar)
    v, _ = equations_of_motion(grad, E3, B, omega, omega)
    return v[..., : model.dim]


def force(
    model: Any, k: ArrayLike, E: ArrayLike | None = None, beta: float = 0.0, hbar: float = 1.0
) -> NDArray[np.float64]:
    """Generalized force F_n = dp/dt of every band, paper Eq. 29b (q folded into E and beta).

    F_n = E + d_p eps-bar_n x B + hbar (B . Omega_n) d_p eps-bar_n x B - hbar (E x Omega_n) x B.

    Parameters as :func:`velocity`. Returns shape (..., N, d) (energy / a).
    """
    grad, omega, E3, B = _kinetic_data(model, k, E, beta, hbar)
    _, F = equations_of_motion(grad, E3, B, omega, omega)
    return F[..., : model.dim]
