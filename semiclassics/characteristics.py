"""Characteristics of the Boltzmann-Vlasov equation in a uniform B and a uniform E(t) (paper Eqs. 29a, 29b, 30).

Units and signs (as everywhere in :mod:`semiclassics`): hbar = a = 1, the
signed charge q folded into the fields. The magnetic field is along z,
``beta = q B_z / hbar = 2 pi flux / A_xy`` (flux quanta per cell of the xy
lattice, A_xy the area of that cell), the electric field is the force q E(t)
(energy / a), and the kinetic momentum of a free charge obeys dp/dt = q E.
The paper's e E and e B are q E and q B here: its e (< 0, the electron
charge) is not a separate sign, exactly as in :mod:`semiclassics.kinetics`
and ``field_contraction`` (the paper's e B . Omega_m^n is beta Omega_m^{n,xy}).

Band n moves with (Eqs. 29a, 29b, written for any band with its own curvature
Omega_n = Omega_n^n, :func:`semiclassics.kinetics.equations_of_motion`)

    v_n = d_p eps-bar_n - E x Omega_n + Omega_n x (d_p eps-bar_n x B),
    F_n = E + v_n x B,                              B = (0, 0, beta),

with eps-bar_n = eps_n - beta m_n (Eq. 12; m_n the orbital moment). In a
uniform field the distribution has no x dependence, so Eq. 30 reduces to
d f-bar_n / dt + F_n . d_p f-bar_n = 0 and f-bar_n is constant along
dp/dt = F_n(p, t): f-bar_n(p, t) = f-bar_n(P0, 0), P0 the *foot* of the
characteristic through (p, t), found here by integrating backwards from t to
0 (:func:`trace_back`), for all p and all observation times in one batch
(:mod:`semiclassics.integrate`). The momentum gradient d f-bar / dp needs
the Jacobian J = d P0 / d p of the backward flow, which obeys the variational
equation dJ/dt = (d F / d p) J, J(t) = 1, integrated alongside; d F / d p is
a central difference of the analytic F (step :data:`JACOBIAN_STEP`,
relative error ~1e-9, which enters only the O(hbar) terms that use d f-bar).

Which bands, which paper: the paper derives Eqs. 21-23 for two bands (its
sigma Omega is Omega_sigma^sigma = Omega_sigma^{-sigma}). For N > 2 it gives
the quasiparticle energies (Eq. 12) and the constrained lesser function
(Eq. 19) but no kinetic equation; the flow used here for every N is the one
of Eqs. 29a-b with the band's own curvature Omega_n^n, i.e. the wave-packet
equations of an isolated band (Sundaram and Niu), which is what the paper's
two-band result reduces to. It is an extension for N > 2, not the paper's claim.

Exact invariant (tested): in 2D with E in the plane, F_n = (1 + beta Omega_n)
(E + d_p eps-bar_n x B) exactly, so the measure dp / (1 + beta Omega_n) is
preserved by the flow; Z_c = 1 - beta Omega_n (Eqs. 17, 31) is that measure
to O(hbar) only.

Breakdown: a characteristic that comes closer than ``min_gap`` to a band
degeneracy, or where an expansion parameter of the theory reaches
``max_curvature`` - |beta Omega_n^{xy}| (magnetic breakdown) or
|qE| sqrt(g_n(E^, E^)) / gap_n with g_n the quantum metric of band n along E
(Landau-Zener tunnelling; near a Dirac point of velocity v and gap Delta it is
~ |qE| v / Delta^2) - raises
:class:`BandDegeneracyError` naming the band, the momentum, the time and the
gap. No step may move p by more than half the distance that could close the
gap (a Lipschitz bound with the band velocities), so a characteristic cannot
jump over a degeneracy between two evaluations of the force.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .geometry import _check_k, _eigensystem, _gaps, _omega, _orbital_moment, _velocity
from .integrate import LOOSE_FACTOR, StepRejected, sweep_backward
from .kinetics import band_velocity, equations_of_motion

__all__ = [
    "Terms",
    "FULL",
    "NO_ORBITAL_MOMENT",
    "NO_ANOMALOUS_VELOCITY",
    "NO_PHASE_SPACE",
    "CLASSICAL",
    "ABLATIONS",
    "BandDegeneracyError",
    "Drive",
    "electric_drive",
    "magnetic_strength",
    "Kinematics",
    "kinematics",
    "Feet",
    "trace_back",
]

#: Step (1/a) of the central difference d F / d p of the variational equation.
JACOBIAN_STEP = 1e-5
#: Default smallest allowed gap between adjacent bands along a characteristic (energy units).
MIN_GAP = 1e-6
#: Default largest allowed |beta Omega_n^{xy}| (the expansion parameter of the O(hbar) theory).
MAX_CURVATURE = 0.5


# --- which terms of the theory act --------------------------------------------------------------------
@dataclass(frozen=True)
class Terms:
    """Switches of the O(hbar) terms of the kinetic theory (for ablations).

    Attributes
    ----------
    orbital_moment
        eps-bar = eps - beta m (Eq. 12) in the initial occupation n_F(eps-bar)
        (Eq. 20) and in the velocity d_p eps-bar; off: eps everywhere.
    anomalous_velocity
        -E x Omega in v (Eq. 29a) and its force -(E x Omega) x B (Eq. 29b).
    phase_space
        Omega x (d_p eps-bar x B) in v (Eq. 29a), its force (B . Omega) v x B
        (Eq. 29b), and the weight Z_c = 1 - B . Omega of Eqs. 28a, 31; off: Z_c = 1.

    All three off is the classical Boltzmann equation: eps, F = q (E + v x B),
    no curvature anywhere.
    """

    orbital_moment: bool = True
    anomalous_velocity: bool = True
    phase_space: bool = True

    @property
    def label(self) -> str:
        """A short name: "full", "classical", or the terms switched off."""
        off = [
            name for name, on in zip(("orbital_moment", "anomalous_velocity", "phase_space"), self.switches) if not on
        ]
        if not off:
            return "full"
        if len(off) == 3:
            return "classical"
        return "no " + ", no ".join(off)

    @property
    def switches(self) -> tuple[bool, bool, bool]:
        """(orbital_moment, anomalous_velocity, phase_space)."""
        return (self.orbital_moment, self.anomalous_velocity, self.phase_space)


FULL = Terms()
NO_ORBITAL_MOMENT = Terms(orbital_moment=False)
NO_ANOMALOUS_VELOCITY = Terms(anomalous_velocity=False)
NO_PHASE_SPACE = Terms(phase_space=False)
CLASSICAL = Terms(False, False, False)
#: The ablations of the kinetic theory, by name.
ABLATIONS = {
    "no_orbital_moment": NO_ORBITAL_MOMENT,
    "no_anomalous_velocity": NO_ANOMALOUS_VELOCITY,
    "no_phase_space": NO_PHASE_SPACE,
    "classical": CLASSICAL,
}


class BandDegeneracyError(ValueError):
    """A characteristic reached a band degeneracy (or a curvature too large for the O(hbar) theory).

    Attributes
    ----------
    band
        Band (0-based, ascending energy) whose characteristic it is.
    momentum
        Cartesian momentum where it happened, shape (d,).
    time
        Time on the characteristic (units 1 / energy).
    gap
        Smallest gap between band ``band`` and its neighbours there (energy units).
    """

    def __init__(self, message: str, band: int, momentum: np.ndarray, time: float, gap: float) -> None:
        super().__init__(message)
        self.band = band
        self.momentum = momentum
        self.time = time
        self.gap = gap


# --- fields ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Drive:
    """A uniform electric field q E(t) (energy / a) and the times where it is not smooth."""

    field: Callable[[float], np.ndarray]
    breakpoints: tuple[float, ...]
    dim: int

    def __call__(self, t: float) -> NDArray[np.float64]:
        """q E(t) as a cartesian 3-vector (zero-padded)."""
        out = np.zeros(3)
        out[: self.dim] = self.field(t)
        return out


def electric_drive(E: Any, dim: int) -> Drive:
    """Normalize a description of the uniform field q E(t), switched on at t = 0.

    Parameters
    ----------
    E
        One of: None (no field); a constant force q E, shape (dim,), switched
        on suddenly at t = 0; a callable ``E(t) -> (dim,)``; or an object with
        a method ``field(t) -> (dim,)`` (e.g. ``keldysh.UniformE``, whose
        ``ramp`` attribute, if positive, is used as a breakpoint of the
        integration). Units energy / a, q folded in, dp/dt = q E.
    dim
        Dimension of the model.

    Raises
    ------
    ValueError
        If E(t) is not a finite vector of length dim (checked at t = 0 and at a later time).
    """
    if isinstance(E, Drive):
        if E.dim != dim:
            raise ValueError(f"the field has dimension {E.dim}, the model {dim}")
        return E
    breakpoints: tuple[float, ...] = ()
    if E is None:
        fn: Callable[[float], np.ndarray] = lambda t: np.zeros(dim)
    elif hasattr(E, "field") and callable(E.field):
        fn = E.field
        ramp = getattr(E, "ramp", 0.0)
        if isinstance(ramp, (int, float)) and math.isfinite(ramp) and ramp > 0:
            breakpoints = (float(ramp),)
    elif callable(E):
        fn = E
    else:
        vec = np.atleast_1d(np.asarray(E, dtype=float))
        if vec.shape != (dim,) or not np.all(np.isfinite(vec)):
            raise ValueError(
                f"E must be a finite force vector of shape ({dim},), a callable E(t) or a field object, got {E!r}"
            )
        fn = lambda t: vec
    for t in (0.0, 1.0):
        val = np.asarray(fn(t), dtype=float)
        if val.shape != (dim,) or not np.all(np.isfinite(val)):
            raise ValueError(f"E(t) must return a finite vector of shape ({dim},); at t = {t} it returned {val!r}")
    return Drive(lambda t: np.asarray(fn(t), dtype=float), breakpoints, dim)


def magnetic_strength(model: Any, flux: Any) -> float:
    """beta = q B_z / hbar = 2 pi flux / A_xy (1/a^2), A_xy the area of the xy cell of ``model.lattice_vectors``.

    Parameters
    ----------
    model
        Bloch model; for 2D models A_xy is the cell area, for 3D models a1 and a2 must lie
        in the xy plane and a3 along z (B along z), as for ``keldysh.UniformB``.
    flux
        Flux quanta (h/q) per xy cell, sign included; or a field object with a method
        ``beta(cell_area)`` (e.g. ``keldysh.UniformB``), which is called with A_xy.

    Raises
    ------
    ValueError
        For a non-finite flux or beta, a model of dimension < 2 in a nonzero field, or a 3D cell not aligned with z.
    """
    field = flux if callable(getattr(flux, "beta", None)) else None
    if field is None and not (isinstance(flux, (int, float, np.floating, np.integer)) and math.isfinite(flux)):
        raise ValueError(f"flux must be a finite number (flux quanta per cell) or a field with beta(), got {flux!r}")
    if field is None and flux == 0:
        return 0.0
    if model.dim not in (2, 3):
        raise ValueError(f"a magnetic field along z needs a model of dimension 2 or 3, got dim={model.dim}")
    a = np.asarray(getattr(model, "lattice_vectors", np.eye(model.dim)), dtype=float)
    if model.dim == 3 and (np.any(np.abs(a[:2, 2]) > 1e-12) or np.any(np.abs(a[2, :2]) > 1e-12)):
        raise ValueError("for 3D models B is along z: a1, a2 must lie in the xy plane and a3 along z")
    area = abs(float(np.linalg.det(a[:2, :2])))
    beta = float(field.beta(area)) if field is not None else 2 * math.pi * float(flux) / area
    if not math.isfinite(beta):
        raise ValueError(f"beta must be finite, got {beta}")
    return beta


# --- band kinematics ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kinematics:
    """Static band data at momenta p (all bands), cartesian vectors zero-padded to 3 components.

    Attributes
    ----------
    eps
        eps_n, shape (M, N) (ascending).
    U
        Eigenvectors (columns), shape (M, N, N).
    V
        Velocity matrix <a| d_i h |b>, shape (M, d, N, N).
    grad_eps
        d_p eps_n, shape (M, N, 3).
    eps_bar
        eps-bar_n = eps_n - beta m_n (Eq. 12; eps_n without the orbital moment), shape (M, N).
    grad_bar
        d_p eps-bar_n, shape (M, N, 3).
    omega
        Axial Berry curvature of each band, (Omega^{yz}, Omega^{zx}, Omega^{xy}) of
        Omega_n^n (zero components for d = 2), shape (M, N, 3), units a^2.
    """

    eps: NDArray[np.float64]
    U: NDArray[np.complex128]
    V: NDArray[np.complex128]
    grad_eps: NDArray[np.float64]
    eps_bar: NDArray[np.float64]
    grad_bar: NDArray[np.float64]
    omega: NDArray[np.float64]


def _moment_gradient(model: Any, k: np.ndarray, eps: np.ndarray, U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """d_i m_n (z orbital moment), shape (M, N, d), analytic from the Hessian of h.

    With D^i = U^dagger d_i U (D^i_ab = V^i_ab / (eps_b - eps_a), a != b; its
    diagonal drops out of the gauge-invariant m_n), d_i V^j = H^{ij} + V^j D^i - D^i V^j
    (H^{ij} = U^dagger d_i d_j h U), d_i eps_n = V^i_nn and
    m_n = sum_l Im(V^x_nl V^y_ln) G_nl, G_nl = 1 / (eps_n - eps_l).
    """
    _, G = _gaps(eps)
    Uh = np.conj(np.swapaxes(U, -1, -2))
    H = Uh[..., None, None, :, :] @ model.bloch_hessian(k) @ U[..., None, None, :, :]  # (M, d, d, N, N)
    D = -V * G[..., None, :, :]
    Vx, Vy = V[..., None, 0, :, :], V[..., None, 1, :, :]
    dVx = H[..., :, 0, :, :] + Vx @ D - D @ Vx  # (M, d, N, N), index i of d_i
    dVy = H[..., :, 1, :, :] + Vy @ D - D @ Vy
    VyT = np.swapaxes(Vy, -1, -2)
    prod = (Vx * VyT).imag  # [n, l] = Im(Vx_nl Vy_ln), shape (M, 1, N, N)
    dprod = (dVx * VyT + Vx * np.swapaxes(dVy, -1, -2)).imag
    diag = np.real(np.diagonal(V, axis1=-2, axis2=-1))  # (M, d, N): d_i eps_n
    dgap = diag[..., :, None] - diag[..., None, :]
    dm = (dprod * G[..., None, :, :] - prod * G[..., None, :, :] ** 2 * dgap).sum(axis=-1)  # (M, d, N)
    return np.swapaxes(dm, -1, -2)


def kinematics(model: Any, k: ArrayLike, beta: float, orbital_moment: bool = True) -> Kinematics:
    """Band energies, velocities, Eq. 12 energies and their gradients, and Berry curvatures at k.

    d_p eps-bar is analytic (first- and second-order perturbation theory with
    ``model.bloch_hessian``) when the model provides a Hessian, otherwise the
    fourth-order central difference of :func:`semiclassics.kinetics.band_velocity`.

    Parameters
    ----------
    model
        Bloch model (``dim`` in 2, 3 when beta != 0).
    k
        Cartesian momenta, shape (M, d); no band degeneracy may occur there
        (callers check the gaps; exact degeneracies give infinite curvature).
    beta
        q B_z / hbar (1/a^2).
    orbital_moment
        False: eps-bar = eps (the Eq. 12 correction switched off).
    """
    k = np.asarray(k, dtype=float)
    d = model.dim
    with np.errstate(divide="ignore", invalid="ignore"):
        eps, U = _eigensystem(model, k, -np.inf)
        V = _velocity(model, k, U)
        N = eps.shape[-1]
        grad_eps = np.zeros(k.shape[:-1] + (N, 3))
        grad_eps[..., :d] = np.swapaxes(np.real(np.diagonal(V, axis1=-2, axis2=-1)), -1, -2)
        omega = np.zeros_like(grad_eps)
        if d >= 2:
            pairs = ((1, 2, 0), (2, 0, 1), (0, 1, 2)) if d == 3 else ((0, 1, 2),)
            for i, j, c in pairs:
                omega[..., c] = np.diagonal(_omega(eps, V, i, j), axis1=-2, axis2=-1)
        if beta == 0 or not orbital_moment:
            return Kinematics(eps, U, V, grad_eps, eps.copy(), grad_eps.copy(), omega)
        if d < 2:
            raise ValueError("a magnetic field along z needs a model of dimension >= 2")
        eps_bar = eps - beta * _orbital_moment(eps, V)
        grad_bar = grad_eps.copy()
        if callable(getattr(model, "bloch_hessian", None)):
            grad_bar[..., :d] -= beta * _moment_gradient(model, k, eps, U, V)
        else:
            grad_bar[..., :d] = band_velocity(model, k, beta)
    return Kinematics(eps, U, V, grad_eps, eps_bar, grad_bar, omega)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b over the last axis (length 3), broadcast (faster than np.cross for many short vectors)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def _pauli(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d0, d) with h = d0 + d . sigma for Hermitian 2 x 2 matrices h (..., 2, 2)."""
    h00, h01, h11 = h[..., 0, 0], h[..., 0, 1], h[..., 1, 1]
    return 0.5 * (h00 + h11).real, np.stack([h01.real, -h01.imag, 0.5 * (h00 - h11).real], axis=-1)


def _two_band_motion(model: Any, k: np.ndarray, beta: float, orbital_moment: bool, direction: np.ndarray | None = None):
    """(eps, grad eps-bar, Omega) of a two-band model in closed form from h = d0 + d . sigma (no eigensolver).

    eps_-+ = d0 -+ |d|, d_i eps = d_i d0 -+ d^ . d_i d; Omega_up^{ij} = -d . (d_i d x d_j d) / (2 |d|^3)
    (Eq. 13 with b_up = d^), Omega_dn = -Omega_up; both bands carry the orbital moment
    m = d . (d_x d x d_y d) / (2 |d|^2) (= -|d| Omega_up^{xy}: the sum-over-states form of
    :func:`semiclassics.geometry.orbital_moment` for two bands), whose gradient follows by the
    product rule from d_i d_j d (``model.bloch_hessian``). Shapes (M, 2), (M, 2, 3), (M, 2, 3).
    With a unit ``direction`` e (d,), also the quantum metric of both bands along it,
    g(e, e) = |e . d_p d^|^2 / 4, shape (M, 2).
    """
    d = model.dim
    d0, vec = _pauli(model.bloch(k))  # (M,), (M, 3)
    g0, dvec = _pauli(model.bloch_derivative(k))  # (M, d), (M, d, 3)
    D = np.linalg.norm(vec, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.einsum("ma,mia->mi", vec, dvec) / D[:, None]  # d_i |d|
        eps = np.stack([d0 - D, d0 + D], axis=-1)
        grad = np.zeros(k.shape[:-1] + (2, 3))
        grad[..., 0, :d] = g0 - slope
        grad[..., 1, :d] = g0 + slope
        omega = np.zeros_like(grad)
        pairs = ((1, 2, 0), (2, 0, 1), (0, 1, 2)) if d == 3 else ((0, 1, 2),)
        for i, j, c in pairs:
            up = -np.einsum("ma,ma->m", vec, _cross(dvec[:, i], dvec[:, j])) / (2 * D**3)
            omega[..., 1, c], omega[..., 0, c] = up, -up
        if beta != 0 and orbital_moment:
            hess = _pauli(model.bloch_hessian(k))[1]  # (M, d, d, 3): d_i d_j d
            cross = _cross(dvec[:, 0], dvec[:, 1])
            T = np.einsum("ma,ma->m", vec, cross)
            dT = (
                np.einsum("mia,ma->mi", dvec, cross)
                + np.einsum("ma,mia->mi", vec, _cross(hess[:, :, 0], dvec[:, None, 1]))
                + np.einsum("ma,mia->mi", vec, _cross(dvec[:, None, 0], hess[:, :, 1]))
            )
            dm = dT / (2 * D[:, None] ** 2) - T[:, None] * slope / D[:, None] ** 3
            grad[..., :d] -= beta * dm[:, None, :]
        if direction is None:
            return eps, grad, omega
        de = np.einsum("i,mia->ma", direction, dvec)
        dn = (de - vec * (np.einsum("ma,ma->m", vec, de) / D**2)[:, None]) / D[:, None]  # e . d_p d^
        metric = 0.25 * np.einsum("ma,ma->m", dn, dn)
    return eps, grad, omega, np.stack([metric, metric], axis=-1)


def _motion_data(model: Any, k: np.ndarray, beta: float, orbital_moment: bool, direction: np.ndarray | None = None):
    """(eps (M, N), d_p eps-bar (M, N, 3), Omega (M, N, 3)) for the flow: closed form for two bands.

    With a unit ``direction`` e (d,), a fourth entry: the quantum metric of each band along e,
    g_n(e, e) = sum_{m != n} |e . V_nm|^2 / (eps_n - eps_m)^2, shape (M, N).
    """
    if model.norbs == 2 and (beta == 0 or not orbital_moment or callable(getattr(model, "bloch_hessian", None))):
        return _two_band_motion(model, k, beta, orbital_moment, direction)
    kin = kinematics(model, k, beta, orbital_moment)
    if direction is None:
        return kin.eps, kin.grad_bar, kin.omega
    _, G = _gaps(kin.eps)
    Ve = np.einsum("i,...iab->...ab", direction, kin.V)
    return kin.eps, kin.grad_bar, kin.omega, (np.abs(Ve) ** 2 * G**2).sum(axis=-1)


# --- the flow -------------------------------------------------------------------------------------------
class _Flow:
    """Right-hand side of the characteristics (and of the variational equation) for a stacked state.

    State y: shape (m, n_p, n_b, w), w = d (the momentum P) or d + d*d (P and
    the Jacobian J, row-major), band b of axis 2 is ``bands[b]``.
    """

    def __init__(self, model, beta, drive, terms, bands, jacobian, min_gap, max_curvature):
        self.model = model
        self.beta = beta
        self.drive = drive
        self.terms = terms
        self.bands = np.asarray(bands, dtype=int)
        self.jacobian = jacobian
        self.min_gap = min_gap
        self.max_curvature = max_curvature
        self.d = model.dim
        self.B = np.array([0.0, 0.0, beta])

    def _check(self, t, P, band, eps, omega, E3, metric) -> None:
        """Raise BandDegeneracyError (wrapped in StepRejected) at a gap or curvature breakdown."""
        if eps.shape[-1] > 1:
            gaps = np.diff(eps, axis=-1)
            bad = np.argwhere(gaps < self.min_gap)
            if len(bad):
                i, j = bad[0]
                n = int(band[i])
                msg = (
                    f"the characteristic of band {n} reaches p = {np.round(P[i], 10).tolist()} at t = {t:.6g}, where "
                    f"bands {j} and {j + 1} are {gaps[i, j]:.3e} apart (< min_gap = {self.min_gap:g}): the Berry "
                    "curvature diverges at a band degeneracy and the O(hbar) kinetic theory does not apply"
                )
                raise StepRejected(BandDegeneracyError(msg, n, P[i].copy(), t, float(gaps[i, j])))
        N = eps.shape[-1]
        if N == 1:
            return
        rows = np.arange(len(band))
        magnetic = np.abs(self.beta * omega[rows, band, 2])
        gap = np.minimum(
            np.where(band < N - 1, eps[rows, np.minimum(band + 1, N - 1)] - eps[rows, band], np.inf),
            np.where(band > 0, eps[rows, band] - eps[rows, np.maximum(band - 1, 0)], np.inf),
        )
        electric = np.zeros_like(magnetic) if metric is None else np.linalg.norm(E3) * np.sqrt(metric[rows, band]) / gap
        for name, value in (("|beta Omega^xy|", magnetic), ("|qE| sqrt(g_EE) / gap", electric)):
            i = int(np.argmax(value))
            if value[i] >= self.max_curvature:
                n = int(band[i])
                gap = np.min(np.abs(eps[i] - eps[i, n])[np.arange(N) != n])
                kind = "magnetic breakdown" if name.startswith("|beta") else "Landau-Zener tunnelling"
                msg = (
                    f"the characteristic of band {n} reaches p = {np.round(P[i], 10).tolist()} at t = {t:.6g}, where "
                    f"{name} = {value[i]:.3g} >= max_curvature = {self.max_curvature:g} (gap to the nearest band "
                    f"{gap:.3e}): too close to a band degeneracy for the O(hbar) theory ({kind})"
                )
                raise StepRejected(BandDegeneracyError(msg, n, P[i].copy(), t, float(gap)))

    def _evaluate(self, t: float, P: np.ndarray, band: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(F_n (M, d) of Eq. 29b, eps (M, N), d_p eps-bar (M, N, 3)) at flattened momenta P (M, d), bands ``band`` (M,)."""
        E3 = self.drive(t)
        size = np.linalg.norm(E3)
        if size > 0:
            eps, grad_bar, omega_all, metric = _motion_data(
                self.model, P, self.beta, self.terms.orbital_moment, E3[: self.d] / size
            )
        else:
            (eps, grad_bar, omega_all), metric = _motion_data(self.model, P, self.beta, self.terms.orbital_moment), None
        self._check(t, P, band, eps, omega_all, E3, metric)
        rows = np.arange(len(band))
        grad, omega = grad_bar[rows, band], omega_all[rows, band]
        zero = np.zeros_like(omega)
        _, F = equations_of_motion(
            grad,
            E3,
            self.B,
            omega if self.terms.anomalous_velocity else zero,
            omega if self.terms.phase_space else zero,
        )
        return F[:, : self.d], eps, grad_bar

    def force(self, t: float, P: np.ndarray, band: np.ndarray) -> np.ndarray:
        """F_n(P, t) of Eq. 29b for flattened momenta P (M, d) of bands ``band`` (M,)."""
        return self._evaluate(t, P, band)[0]

    def max_step(self, t: float, y: np.ndarray) -> float:
        """Longest time step that cannot cross a band degeneracy: half of min gap_n / (L_n |F_n|).

        gap_n is the distance of band n to its neighbours and L_n = |v_n| + max |v_neighbour|
        bounds the rate at which that gap can close per unit of momentum, so a step
        moving p by less than gap_n / L_n cannot jump over a point where it vanishes.
        """
        if self.model.norbs == 1:
            return np.inf
        d = self.d
        P = y[..., :d].reshape(-1, d)
        band = np.broadcast_to(self.bands[None, None, :], y.shape[:3]).reshape(-1)
        F, eps, grad_bar = self._evaluate(t, P, band)
        speed = np.linalg.norm(grad_bar, axis=-1)  # (M, N)
        M, N = eps.shape
        rows = np.arange(M)
        up, dn = np.minimum(band + 1, N - 1), np.maximum(band - 1, 0)
        gap_up = np.where(band < N - 1, eps[rows, up] - eps[rows, band], np.inf)
        gap_dn = np.where(band > 0, eps[rows, band] - eps[rows, dn], np.inf)
        gap = np.minimum(gap_up, gap_dn)
        rate = (speed[rows, band] + np.maximum(speed[rows, up], speed[rows, dn])) * np.linalg.norm(F, axis=-1)
        with np.errstate(divide="ignore"):
            return float(0.5 * np.min(np.where(rate > 0, gap / rate, np.inf)))

    def __call__(self, t: float, y: np.ndarray) -> np.ndarray:
        d = self.d
        shape = y.shape
        P = y[..., :d].reshape(-1, d)
        band = np.broadcast_to(self.bands[None, None, :], shape[:3]).reshape(-1)
        if not self.jacobian:
            return self.force(t, P, band).reshape(shape)
        h = JACOBIAN_STEP
        shifts = np.concatenate([np.zeros((1, d)), h * np.eye(d), -h * np.eye(d)])  # (2d + 1, d)
        Ps = (P[None, :, :] + shifts[:, None, :]).reshape(-1, d)
        Fs = self.force(t, Ps, np.tile(band, 2 * d + 1)).reshape(2 * d + 1, -1, d)
        dF = np.stack([(Fs[1 + j] - Fs[1 + d + j]) / (2 * h) for j in range(d)], axis=-1)  # (M, d, d): dF_a/dP_j
        J = y[..., d:].reshape(-1, d, d)
        out = np.concatenate([Fs[0], (dF @ J).reshape(-1, d * d)], axis=-1)
        return out.reshape(shape)


@dataclass(frozen=True)
class Feet:
    """Feet P0 of the characteristics through (p, t) and their Jacobians d P0 / d p.

    Attributes
    ----------
    times
        Observation times t_i, shape (nt,) (units 1 / energy).
    p
        Momenta, shape (n_p, d) (cartesian, 1/a).
    bands
        The bands traced (0-based), length n_b.
    start
        P0(p, t_i) of each band, shape (nt, n_p, n_b, d).
    jacobian
        d P0 / d p (row a = component of P0, column j = d/dp_j), shape
        (nt, n_p, n_b, d, d), or None when not requested.
    start_loose, jacobian_loose
        The same from an integration at LOOSE_FACTOR x the tolerance (None
        without error estimate); their difference from ``start`` and
        ``jacobian`` bounds the integration error of the latter.
    """

    times: NDArray[np.float64]
    p: NDArray[np.float64]
    bands: tuple[int, ...]
    start: NDArray[np.float64]
    jacobian: NDArray[np.float64] | None
    start_loose: NDArray[np.float64] | None
    jacobian_loose: NDArray[np.float64] | None

    @property
    def integration_error(self) -> float:
        """max |P0 - P0_loose| (1/a): the estimated integration error of the feet (nan without estimate)."""
        if self.start_loose is None:
            return float("nan")
        return float(np.max(np.abs(self.start - self.start_loose), initial=0.0))


def _check_points(model: Any, p: ArrayLike, name: str = "p") -> np.ndarray:
    """Momenta of shape (n, d), real and finite (:func:`semiclassics.geometry._check_k` plus the 2D shape)."""
    p = _check_k(model, p, name)
    if p.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d) with d = model.dim = {model.dim}, got shape {p.shape}")
    return p


def _check_times(times: ArrayLike) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1D array, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"times must be finite and >= 0 (the field is switched on at t = 0), got {t.tolist()}")
    return t


def _check_tol(tol: float) -> float:
    if not (isinstance(tol, (int, float, np.floating)) and 0 < tol < 1e-2):
        raise ValueError(f"tol must lie in (0, 1e-2), got {tol!r}")
    return float(tol)


def trace_back(
    model: Any,
    p: ArrayLike,
    times: ArrayLike,
    *,
    flux: Any = 0.0,
    E: Any = None,
    terms: Terms = FULL,
    bands: Sequence[int] | None = None,
    jacobian: bool = False,
    tol: float = 1e-9,
    estimate_error: bool = True,
    min_gap: float = MIN_GAP,
    max_curvature: float = MAX_CURVATURE,
) -> Feet:
    """Feet P0 of the characteristics dp/dt = F_n(p, t) (Eq. 29b) through (p, t_i), integrated back to t = 0.

    Parameters
    ----------
    model
        Bloch model (``dim``, ``norbs``, ``bloch``, ``bloch_derivative``; ``bloch_hessian``,
        ``lattice_vectors`` used when present).
    p
        Cartesian momenta, shape (n, d).
    times
        Observation times t_i >= 0 (units 1 / energy); the field E is on for t > 0.
    flux
        Flux quanta per xy cell of the uniform B along z (beta = 2 pi flux / A_xy), or a field
        with ``beta(cell_area)`` (:func:`magnetic_strength`).
    E
        The force q E(t), see :func:`electric_drive`.
    terms
        Which O(hbar) terms act (:class:`Terms`).
    bands
        Bands to trace (default all).
    jacobian
        Also integrate the variational equation for d P0 / d p.
    tol
        Local error tolerance of the integrator (max norm, relative to 1 + |P|).
    estimate_error
        Integrate a second time at ``LOOSE_FACTOR * tol`` to estimate the error.
    min_gap, max_curvature
        Breakdown thresholds (module docstring).

    Returns
    -------
    Feet

    Raises
    ------
    BandDegeneracyError
        If a characteristic reaches a band degeneracy or a curvature breakdown.
    ValueError
        For malformed input (the message names the argument).
    """
    p = _check_points(model, p)
    t = _check_times(times)
    tol = _check_tol(tol)
    if not isinstance(terms, Terms):
        raise TypeError(f"terms must be a semiclassics.characteristics.Terms, got {terms!r}")
    if not (math.isfinite(min_gap) and min_gap >= 0 and math.isfinite(max_curvature) and max_curvature > 0):
        raise ValueError(f"need min_gap >= 0 and max_curvature > 0, got {min_gap}, {max_curvature}")
    beta = magnetic_strength(model, flux)
    drive = electric_drive(E, model.dim)
    N = model.norbs
    bands = tuple(range(N)) if bands is None else tuple(int(b) for b in bands)
    if any(not 0 <= b < N for b in bands) or len(set(bands)) != len(bands):
        raise ValueError(f"bands must be distinct integers in 0..{N - 1}, got {bands}")
    return _trace(model, p, t, beta, drive, terms, bands, jacobian, tol, estimate_error, min_gap, max_curvature)


def _trace(model, p, t, beta, drive, terms, bands, jacobian, tol, estimate_error, min_gap, max_curvature) -> Feet:
    """:func:`trace_back` on validated input (beta and the normalized drive given)."""
    d = model.dim
    flow = _Flow(model, beta, drive, terms, bands, jacobian, min_gap, max_curvature)
    y0 = np.broadcast_to(p[None, :, None, :], (t.size, len(p), len(bands), d))
    if jacobian:
        eye = np.broadcast_to(np.eye(d).reshape(d * d), y0.shape[:-1] + (d * d,))
        y0 = np.concatenate([y0, eye], axis=-1)
    y0 = np.ascontiguousarray(y0)
    if len(bands) == 0:
        empty = np.zeros((t.size, len(p), 0, d))
        jac = np.zeros(empty.shape + (d,)) if jacobian else None
        return Feet(t, p, bands, empty, jac, empty if estimate_error else None, jac if estimate_error else None)
    try:
        flow(0.0, y0[:1])  # the momenta themselves must be clear of degeneracies
    except StepRejected as exc:
        raise exc.error from None
    runs = [sweep_backward(flow, t, y0, 0.0, drive.breakpoints, tol, _step_limit(flow))]
    if estimate_error:
        runs.append(sweep_backward(flow, t, y0, 0.0, drive.breakpoints, LOOSE_FACTOR * tol, _step_limit(flow)))
    split = [(y[..., :d], y[..., d:].reshape(y.shape[:-1] + (d, d)) if jacobian else None) for y in runs]
    loose = split[1] if estimate_error else (None, None)
    return Feet(t, p, bands, split[0][0], split[0][1], loose[0], loose[1])


def _step_limit(flow: _Flow) -> Callable[[float, np.ndarray], float]:
    """The flow's max_step, with a breakdown at the accepted point raised as itself."""

    def limit(t: float, y: np.ndarray) -> float:
        try:
            return flow.max_step(t, y)
        except StepRejected as exc:
            raise exc.error from None

    return limit
