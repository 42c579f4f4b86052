"""Eq. 29a/29b (kinetics) and the E-field density matrix (Eqs. 25, 26, 30; semiclassics.efield).

The exact evolution (keldysh) is the arbiter of the O(E) claims: the anomalous
velocity and the transverse density matrix leave residuals O(E^2), while the
opposite sign of either leaves O(E).
"""

import functools
import math

import numpy as np
import pytest

from keldysh import models
from keldysh.dynamics.evolution import propagate, wigner_density
from keldysh.fields import UniformB, UniformE
from keldysh.spectral import FermiDirac
from semiclassics.efield import accelerated_occupations, density_matrix, transverse_density
from semiclassics.geometry import axial_curvature, berry_curvature, berry_tensor, eigensystem, velocity_matrix
from semiclassics.kinetics import band_velocity, force, velocity
from semiclassics.predictions import fermi, quasiparticle_energy
from semiclassics.sun import bloch_vectors

E_HAT = np.array([math.cos(0.3), math.sin(0.3)])
FRACTIONS = np.array([[0.113, 0.377], [0.271, 0.842], [0.409, 0.155], [0.694, 0.218]])


@pytest.fixture(scope="module")
def qwz():
    return models.qwz(1.0, t0=0.3)


def log_slope(x, residual):
    """Least-squares slope of log(residual) against log(x): p for a residual ~ x^p."""
    return float(np.polyfit(np.log(x), np.log(residual), 1)[0])


def kpoints(model):
    return FRACTIONS @ model.reciprocal_vectors


def z_cross(E, omega):
    """E x (omega z) for in-plane E: (E_y omega, -E_x omega)."""
    return np.stack([E[1] * omega, -E[0] * omega], axis=-1)


@pytest.mark.parametrize("model", [models.qwz(1.0, t0=0.3), models.three_band(), models.haldane()], ids=["qwz", "three_band", "haldane"])
def test_pure_electric_field(model):
    """B = 0: v_n = d eps_n - E x Omega_n, F_n = E, eps-bar = eps."""
    k = kpoints(model)
    E = np.array([0.07, -0.03])
    V, _, _ = velocity_matrix(model, k)
    grad = np.real(np.diagonal(V, axis1=-2, axis2=-1)).swapaxes(-1, -2)  # (k, n, i)
    omega = berry_curvature(model, k)
    np.testing.assert_allclose(band_velocity(model, k), grad, atol=1e-14)
    np.testing.assert_allclose(velocity(model, k, E=E), grad - z_cross(E, omega), atol=1e-14)
    np.testing.assert_allclose(velocity(model, k, E=E, hbar=0.5), grad - 0.5 * z_cross(E, omega), atol=1e-14)
    np.testing.assert_allclose(force(model, k, E=E), np.broadcast_to(E, grad.shape), atol=1e-15)


def test_band_velocity_in_B_is_the_gradient_of_eq12(qwz):
    k = kpoints(qwz)
    field = UniformB(0.02)
    beta = field.beta(qwz.cell_area)
    h = 1e-5
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        fd = (quasiparticle_energy(qwz, k + e, field) - quasiparticle_energy(qwz, k - e, field)) / (2 * h)
        np.testing.assert_allclose(band_velocity(qwz, k, beta)[..., i], fd, atol=1e-8)


def _wave_packet_solution(vt, omega, E, B, hbar):
    """r-dot and k-dot of r-dot = v~ - k-dot x hbar Omega, k-dot = E + r-dot x B, solved exactly (3-vectors).

    D = 1 - hbar B.Omega; D r-dot = v~ - hbar E x Omega - hbar (v~.Omega) B;
    D k-dot = E + v~ x B - hbar (E.B) Omega.
    """
    om = hbar * omega
    D = 1.0 - om @ B
    rdot = (vt - np.cross(E, om) - (vt * om).sum(-1, keepdims=True) * B) / D[..., None]
    kdot = (E + np.cross(vt, B) - (E @ B) * om) / D[..., None]
    return rdot, kdot


@pytest.mark.parametrize("model", [models.qwz(1.0, t0=0.3), models.three_band()], ids=["qwz", "three_band"])
def test_eq29_equals_wave_packet_equations_to_first_order(model):
    """v and F of Eq. 29 agree with the exact solution of the wave-packet equations up to O(hbar^2)."""
    k = kpoints(model)
    E2, beta = np.array([0.3, -0.2]), 0.4
    E, B = np.append(E2, 0.0), np.array([0.0, 0.0, beta])
    omega = np.swapaxes(np.diagonal(axial_curvature(berry_tensor(model, k)), axis1=-3, axis2=-2), -1, -2)
    hbars = np.array([0.1, 0.05, 0.025, 0.0125])
    res_v, res_f = [], []
    for hbar in hbars:
        vt = np.zeros(k.shape[:-1] + (model.norbs, 3))
        vt[..., :2] = band_velocity(model, k, hbar * beta)  # group velocity of eps - hbar beta m
        rdot, kdot = _wave_packet_solution(vt, omega, E, B, hbar)
        res_v.append(np.max(np.abs(velocity(model, k, E=E2, beta=beta, hbar=hbar) - rdot[..., :2])))
        res_f.append(np.max(np.abs(force(model, k, E=E2, beta=beta, hbar=hbar) - kdot[..., :2])))
        # the O(hbar) terms themselves are much larger than the residual
        assert np.max(np.abs(velocity(model, k, E=E2, beta=beta, hbar=hbar) - vt[..., :2])) > 10 * res_v[-1]
    assert log_slope(hbars, res_v) == pytest.approx(2.0, abs=0.05)
    assert log_slope(hbars, res_f) == pytest.approx(2.0, abs=0.05)


def test_bad_input_raises(qwz):
    with pytest.raises(ValueError, match="E must be"):
        velocity(qwz, kpoints(qwz), E=[0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="beta"):
        force(qwz, kpoints(qwz), beta=np.nan)
    with pytest.raises(ValueError, match="shape"):
        velocity(qwz, np.zeros(3))


# --- the arbiter: exact evolution after a smooth switch-on ------------------------------------------------
TAU = 60.0  # erf ramp, 120 inverse gaps of qwz(1, t0=0.3): the non-adiabatic remnant is below 1e-10


def _evolved(model, E, p, tol=1e-10):
    field = UniformE(E * E_HAT, ramp=TAU, profile="erf")
    k = field.canonical_momentum(p, TAU)
    return field, k, propagate(model, field, k, [TAU], tol=tol).U[0]


def test_anomalous_velocity_against_exact_evolution(qwz):
    """Velocity of a state prepared in band n and carried by E: Eq. 29a leaves O(E^2); without (or with the
    opposite) anomalous term the residual is O(E)."""
    p = kpoints(qwz)
    Es = np.array([0.04, 0.02, 0.01])
    residual, wrong_sign = [], []
    for E in Es:
        field, k, U = _evolved(qwz, E, p)
        _, vecs = eigensystem(qwz, k)
        P = np.einsum("kan,kbn->knab", vecs, vecs.conj())
        rho = np.einsum("kab,knbc,kdc->knad", U, P, U.conj())
        exact = np.einsum("knab,kiba->kni", rho, qwz.bloch_derivative(p)).real
        residual.append(np.max(np.abs(exact - velocity(qwz, p, E=field.vector))))
        wrong_sign.append(np.max(np.abs(exact - velocity(qwz, p, E=-field.vector))))
    assert log_slope(Es, residual) == pytest.approx(2.0, abs=0.1)
    assert log_slope(Es, wrong_sign) == pytest.approx(1.0, abs=0.1)
    assert residual[-1] < 1e-2 * wrong_sign[-1]


@pytest.mark.parametrize("mu, T", [(-0.3, 0.0), (0.8, 0.1)], ids=["gap", "metal"])
def test_transverse_density_against_exact_evolution(qwz, mu, T):
    """Eq. 26 with {lambda^0, u} = qE.d_p u and {f, u} = 0, f Vlasov-accelerated: residual O(E^2) in the full
    Wigner density matrix (Eqs. 25 + 26); the opposite sign of the bracket leaves O(E)."""
    p = kpoints(qwz)
    f = functools.partial(fermi, mu=mu, T=T)
    Es = np.array([0.04, 0.02, 0.01])
    residual, wrong_sign = [], []
    for E in Es:
        field = UniformE(E * E_HAT, ramp=TAU, profile="erf")
        W = wigner_density(qwz, field, p, TAU, FermiDirac(mu, T), tol=1e-10)
        occ = accelerated_occupations(qwz, p, -field.vector_potential(TAU), f)
        residual.append(np.max(np.abs(W - density_matrix(qwz, p, field.vector, occ))))
        wrong_sign.append(np.max(np.abs(W - density_matrix(qwz, p, -field.vector, occ))))
    assert log_slope(Es, residual) == pytest.approx(2.0, abs=0.1)
    assert log_slope(Es, wrong_sign) == pytest.approx(1.0, abs=0.1)


def test_transverse_density_structure(qwz):
    p = kpoints(qwz)
    occ = np.array([[1.0, 0.2], [0.9, 0.0], [1.0, 1.0], [0.3, 0.1]])
    E = np.array([0.02, -0.01])
    perp = transverse_density(qwz, p, E, occ)
    _, vecs = eigensystem(qwz, p)
    u = bloch_vectors(np.einsum("ka,kb->kab", vecs[..., 1], vecs[..., 1].conj()))
    np.testing.assert_allclose((perp * u).sum(-1), 0.0, atol=1e-15)  # orthogonal to u
    np.testing.assert_allclose(transverse_density(qwz, p, 2 * E, occ), 2 * perp, atol=1e-15)  # linear in E
    np.testing.assert_allclose(transverse_density(qwz, p, E, occ, hbar=0.5), 0.5 * perp, atol=1e-15)  # and in hbar
    assert np.all(perp[2] == 0)  # equal occupations: no interband coherence
    rho = density_matrix(qwz, p, E, occ)
    np.testing.assert_allclose(rho, np.conj(np.swapaxes(rho, -1, -2)), atol=1e-15)
    np.testing.assert_allclose(np.trace(rho, axis1=-2, axis2=-1).real, occ.sum(-1), atol=1e-14)


def test_accelerated_occupations_solve_the_vlasov_equation(qwz):
    """f(p, t) = f0(eps(p - Delta p)): the occupations at p are those of the canonical k = p + qA(t)."""
    p = kpoints(qwz)
    field = UniformE(0.05 * E_HAT, ramp=10.0)
    f = functools.partial(fermi, mu=0.8, T=0.1)
    occ = accelerated_occupations(qwz, p, -field.vector_potential(13.0), f)
    k = field.canonical_momentum(p, 13.0)
    eps, _ = eigensystem(qwz, k)
    np.testing.assert_allclose(occ, f(eps), atol=1e-15)


def test_efield_bad_input_raises(qwz):
    p = kpoints(qwz)
    with pytest.raises(ValueError, match="two-band"):
        transverse_density(models.three_band(), kpoints(models.three_band()), [0.1, 0.0], np.zeros((4, 3)))
    with pytest.raises(ValueError, match="occupations"):
        transverse_density(qwz, p, [0.1, 0.0], np.zeros((4, 3)))
    with pytest.raises(ValueError, match="E must be"):
        density_matrix(qwz, p, [0.1], np.zeros((4, 2)))
    with pytest.raises(ValueError, match="impulse"):
        accelerated_occupations(qwz, p, [0.1, 0.0, 0.0], np.exp)
