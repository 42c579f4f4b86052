"""Characteristics of the Boltzmann-Vlasov equation (Eqs. 29a, 29b, 30) in uniform E(t) and B.

Closed forms: cyclotron orbits of a free charge with an E x B drift (the sense of
the Lorentz force), the O(hbar) orbits of the massive Dirac model with Eq. 38's
curvature and its orbital moment, the B = 0 impulse of the keldysh ramps, and the
invariant measure dp / (1 + beta Omega) of the 2D flow (Liouville).
"""

import math

import numpy as np
import pytest

from keldysh import models
from keldysh.fields import UniformB, UniformE
from semiclassics.characteristics import (
    CLASSICAL,
    FULL,
    BandDegeneracyError,
    _two_band_motion,
    electric_drive,
    kinematics,
    magnetic_strength,
    trace_back,
)
from semiclassics.kinetics import band_velocity

FRACTIONS = np.array([[0.113, 0.377], [0.271, 0.842], [0.409, 0.155], [0.694, 0.218]])


def kpoints(model):
    return FRACTIONS @ model.reciprocal_vectors


class FreeParticle:
    """h = p^2 / (2 m): one band, no curvature (a duck-typed continuum model)."""

    dim, norbs = 2, 1

    def __init__(self, mass):
        self.mass = mass

    def bloch(self, k):
        k = np.asarray(k, dtype=float)
        return ((k**2).sum(-1) / (2 * self.mass))[..., None, None].astype(complex)

    def bloch_derivative(self, k):
        return (np.asarray(k, dtype=float) / self.mass)[..., None, None].astype(complex)

    def bloch_hessian(self, k):
        k = np.asarray(k, dtype=float)
        return np.broadcast_to(np.eye(2)[..., None, None] / self.mass, k.shape[:-1] + (2, 2, 1, 1)).astype(complex)


class MassiveDirac:
    """Paper Eq. 37: h = v p . sigma + delta sigma_z (continuum)."""

    dim, norbs = 2, 2
    SIGMA = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])

    def __init__(self, v, delta):
        self.v, self.delta = v, delta

    def bloch(self, k):
        k = np.asarray(k, dtype=float)
        return self.v * np.einsum("...i,iab->...ab", k, self.SIGMA[:2]) + self.delta * self.SIGMA[2]

    def bloch_derivative(self, k):
        k = np.asarray(k, dtype=float)
        return np.broadcast_to(self.v * self.SIGMA[:2], k.shape[:-1] + (2, 2, 2)).astype(complex)

    def bloch_hessian(self, k):
        return np.zeros(np.shape(k)[:-1] + (2, 2, 2, 2), dtype=complex)


def rotate(p, angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * p[..., 0] - s * p[..., 1], s * p[..., 0] + c * p[..., 1]], axis=-1)


# --- band data --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model", [models.qwz(1.0, t0=0.3), models.three_band(), models.haldane()], ids=["qwz", "three_band", "haldane"]
)
def test_analytic_gradient_of_eps_bar_equals_finite_difference(model):
    """d_p eps-bar from the Hessian of h (second-order perturbation theory) against the FD of kinetics.band_velocity."""
    k = kpoints(model)
    beta = 0.3
    np.testing.assert_allclose(kinematics(model, k, beta).grad_bar[..., :2], band_velocity(model, k, beta), atol=1e-10)


@pytest.mark.parametrize(
    "model", [models.qwz(1.0, t0=0.3), models.haldane(), models.weyl(tilt=0.3)], ids=["qwz", "haldane", "weyl"]
)
def test_two_band_closed_form_equals_eigensolver(model):
    rng = np.random.default_rng(0)
    k = rng.uniform(-3, 3, (40, model.dim))
    kin = kinematics(model, k, 0.3)
    eps, grad, omega = _two_band_motion(model, k, 0.3, True)
    np.testing.assert_allclose(eps, kin.eps, atol=1e-13)
    np.testing.assert_allclose(grad, kin.grad_bar, atol=1e-12)
    np.testing.assert_allclose(omega, kin.omega, atol=1e-12)


# --- closed-form orbits ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_free_charge_cyclotron_orbit_with_drift():
    """dp/dt = qE + (p/m) x B: p rotates clockwise (beta > 0, Lorentz force of a positive charge) at omega_c = beta/m
    about the drift momentum p* = m (E x B) / B^2; the foot is P0 = p* + R(omega_c t)(p - p*). The error estimate
    bounds the true error."""
    model = FreeParticle(mass=0.7)
    flux = 0.05
    beta = magnetic_strength(model, flux)
    assert beta == pytest.approx(2 * math.pi * flux)
    E = np.array([0.03, -0.02])
    p = np.array([[0.4, 0.1], [-0.3, 0.8], [0.0, -0.5]])
    times = np.array([3.0, 10.0, 25.0])
    feet = trace_back(model, p, times, flux=flux, E=E, tol=1e-10)
    w = beta / model.mass
    p_star = model.mass * np.array([E[1], -E[0]]) / beta
    exact = p_star + rotate(p[None] - p_star, w * times[:, None])
    error = np.abs(feet.start[:, :, 0, :] - exact).max()
    assert error < 1e-8
    assert error <= feet.integration_error
    # B = 0: uniform acceleration, P0 = p - qE t
    feet0 = trace_back(model, p, times, E=E, tol=1e-10)
    np.testing.assert_allclose(feet0.start[:, :, 0, :], p[None] - times[:, None, None] * E, atol=1e-12)


def test_massive_dirac_orbits_with_curvature_and_orbital_moment():
    """E = 0: band n moves on circles |p| = const with angular velocity -beta (1 + beta Omega_n) eps-bar_n'(p) / p,
    Omega_up = -Omega_dn = -v^2 delta / (2 E^3) (Eq. 38), eps-bar_+- = +-E - beta v^2 delta / (2 E^2) (Eq. 12 with the
    two-band orbital moment m = v^2 delta / (2 E^2)), E = sqrt(v^2 p^2 + delta^2). Upper band clockwise, lower band
    (holes) counterclockwise."""
    v, delta, flux = 1.2, 0.4, 0.01
    model = MassiveDirac(v, delta)
    beta = magnetic_strength(model, flux)
    p = np.array([[0.3, 0.0], [0.0, -0.6], [0.5, 0.5]])
    times = np.array([5.0, 20.0])
    feet = trace_back(model, p, times, flux=flux, tol=1e-11)
    r = np.linalg.norm(p, axis=-1)
    En = np.sqrt(v**2 * r**2 + delta**2)
    omega_up = -(v**2) * delta / (2 * En**3)
    for n, sign in ((0, -1.0), (1, 1.0)):
        curvature = sign * omega_up
        slope = v**2 * r / En * (sign + beta * v**2 * delta / En**3)  # d eps-bar_n / d|p|
        rate = beta * (1 + beta * curvature) * slope / r  # clockwise rate
        exact = rotate(p[None], rate[None, :] * times[:, None])
        np.testing.assert_allclose(feet.start[:, :, n, :], exact, atol=1e-9)
        assert np.all(np.sign(rate) == sign)


def test_zero_field_leaves_every_point_fixed():
    model = models.qwz(1.0, t0=0.3)
    feet = trace_back(model, kpoints(model), [0.0, 40.0], jacobian=True)
    np.testing.assert_array_equal(feet.start, np.broadcast_to(kpoints(model)[None, :, None, :], feet.start.shape))
    np.testing.assert_allclose(feet.jacobian, np.broadcast_to(np.eye(2), feet.jacobian.shape), atol=0)


@pytest.mark.slow
def test_b_zero_feet_are_the_impulse_of_the_keldysh_ramp():
    """B = 0: P0 = p + q A(t) = p - int_0^t q E, with the time convention and ramp of keldysh.UniformE."""
    model = models.qwz(1.0, t0=0.3)
    field = UniformE([0.05, -0.03], ramp=8.0, profile="sin2")
    p = kpoints(model)
    times = np.array([2.0, 8.0, 13.0])
    feet = trace_back(model, p, times, E=field, tol=1e-11)
    for i, t in enumerate(times):
        np.testing.assert_allclose(feet.start[i], (p + field.vector_potential(t))[:, None, :].repeat(2, 1), atol=1e-10)


@pytest.mark.slow
def test_jacobian_preserves_the_invariant_measure_and_matches_finite_differences():
    """2D, E in the plane: F = (1 + beta Omega_n)(E + d eps-bar x B), so dp / (1 + beta Omega_n) is invariant and
    det(dP0/dp) = (1 + beta Omega_n(P0)) / (1 + beta Omega_n(p)). Without curvature (classical) det = 1."""
    model = models.qwz(1.0, t0=0.3)
    flux, E = 0.03, np.array([0.02, 0.015])
    beta = magnetic_strength(model, flux)
    p = kpoints(model)
    times = np.array([10.0, 30.0])
    feet = trace_back(model, p, times, flux=flux, E=E, jacobian=True, tol=1e-11, estimate_error=False)
    omega = kinematics(model, feet.start.reshape(-1, 2), beta).omega[..., 2].reshape(2, 4, 2, 2)
    omega0 = np.diagonal(omega, axis1=-2, axis2=-1)  # Omega_n at the foot of band n
    omega_p = kinematics(model, p, beta).omega[..., 2]
    np.testing.assert_allclose(
        np.linalg.det(feet.jacobian), (1 + beta * omega0) / (1 + beta * omega_p[None]), atol=1e-8
    )
    assert np.abs(omega0 - omega_p[None]).max() > 0.1  # the feet are far from p: the test is not trivial
    classical = trace_back(
        model, p, times, flux=flux, E=E, terms=CLASSICAL, jacobian=True, tol=1e-11, estimate_error=False
    )
    np.testing.assert_allclose(np.linalg.det(classical.jacobian), 1.0, atol=1e-8)
    h = 1e-4
    shifted = np.concatenate([p + [h, 0], p - [h, 0], p + [0, h], p - [0, h]])
    fd = trace_back(model, shifted, times, flux=flux, E=E, tol=1e-12, estimate_error=False).start.reshape(2, 4, 4, 2, 2)
    np.testing.assert_allclose(
        feet.jacobian, np.stack([fd[:, 0] - fd[:, 1], fd[:, 2] - fd[:, 3]], axis=-1) / (2 * h), atol=1e-6
    )


@pytest.mark.slow
def test_three_dimensional_flow_keeps_p_z_moving_with_E_z():
    """B along z: F_z = qE_z exactly (v x B and (E x Omega) x B are perpendicular to B)."""
    model = models.weyl(tilt=0.2)
    p = np.array([[0.4, -0.3, 0.2], [1.1, 0.5, -2.0]])
    E = np.array([0.01, -0.02, 0.015])
    feet = trace_back(model, p, [30.0], flux=0.01, E=E, tol=1e-10)
    np.testing.assert_allclose(feet.start[0, :, :, 2], (p[:, 2] - 30.0 * E[2])[:, None].repeat(2, 1), atol=1e-10)


# --- breakdown and bad input ------------------------------------------------------------------------------
@pytest.mark.slow
def test_characteristic_through_a_band_degeneracy_raises():
    """qwz(m=2) has a Dirac point at (pi, pi); a characteristic through it (E only: a straight line) is stopped there."""
    model = models.qwz(2.0)
    p = np.array([[0.3, 0.2], [math.pi + 0.05, math.pi]])
    with pytest.raises(BandDegeneracyError, match=r"band 0 .*p = \[3\.1") as info:
        trace_back(model, p, [1.0], E=[0.1, 0.0], min_gap=1e-3, max_curvature=1e6)
    err = info.value
    assert err.band == 0 and err.gap < 1e-3 and abs(err.momentum[1] - math.pi) < 1e-9
    assert 0 < err.time < 1.0
    with pytest.raises(BandDegeneracyError, match="Landau-Zener"):  # the default thresholds stop it earlier
        trace_back(model, p, [1.0], E=[0.1, 0.0])
    with pytest.raises(BandDegeneracyError, match=r"\|beta Omega\^xy\| = 4.*magnetic breakdown"):  # gap 0.1 at (pi, pi)
        trace_back(models.qwz(2.05), np.array([[math.pi + 0.05, math.pi + 0.01]]), [30.0], flux=0.01)
    with pytest.raises(BandDegeneracyError, match="bands 0 and 1"):  # a point of the grid itself
        trace_back(model, np.array([[math.pi, math.pi]]), [1.0], E=[1e-3, 0.0])


def test_bad_input_names_the_argument():
    model = models.qwz(1.0)
    p = kpoints(model)
    with pytest.raises(ValueError, match="p must have shape"):
        trace_back(model, p[0], [1.0])
    with pytest.raises(ValueError, match="p contains non-finite"):
        trace_back(model, np.array([[np.nan, 0.0]]), [1.0])
    with pytest.raises(ValueError, match="times must be finite and >= 0"):
        trace_back(model, p, [-1.0])
    with pytest.raises(ValueError, match="flux"):
        trace_back(model, p, [1.0], flux=float("inf"))
    with pytest.raises(ValueError, match="E must be"):
        trace_back(model, p, [1.0], E=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"E\(t\) must return"):
        trace_back(model, p, [1.0], E=lambda t: np.array([np.nan, 0.0]))
    with pytest.raises(TypeError, match="terms"):
        trace_back(model, p, [1.0], terms="full")
    with pytest.raises(ValueError, match="tol"):
        trace_back(model, p, [1.0], tol=0.1)
    with pytest.raises(ValueError, match="bands"):
        trace_back(model, p, [1.0], bands=[2])
    assert electric_drive(UniformE([0.1, 0.0], ramp=3.0), 2).breakpoints == (3.0,)
    assert magnetic_strength(models.haldane(), UniformB(0.01)) == magnetic_strength(models.haldane(), 0.01)
    assert magnetic_strength(models.weyl(), 0.01) == pytest.approx(2 * math.pi * 0.01)
    assert FULL.label == "full" and CLASSICAL.label == "classical"
