"""UniformE: ramp profiles, vector potential, its interval mean, and the adiabaticity of the switch-on."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from keldysh import models
from keldysh.dynamics.evolution import wigner_density
from keldysh.fields import RAMP_PROFILES, UniformB, UniformE
from keldysh.spectral import FermiDirac


@pytest.mark.parametrize("profile", RAMP_PROFILES)
def test_switch_profile_limits_symmetry_monotonic(profile):
    f = UniformE((0.3, -0.1), ramp=7.0, profile=profile)
    t = np.linspace(-1.0, 8.0, 2001)
    s = f.switch(t)
    assert np.all(s[t <= 0] == 0) and np.all(s[t >= 7.0] == 1)
    assert np.all(np.diff(s) >= -1e-15)
    x = np.linspace(0.01, 0.99, 51) * 7.0
    # s(x) + s(1 - x) = 1: the ramp is point-symmetric about its middle
    np.testing.assert_allclose(f.switch(x) + f.switch(7.0 - x), 1.0, atol=1e-15)
    np.testing.assert_allclose(f.field(3.0), f.switch(3.0) * np.array([0.3, -0.1]))


@pytest.mark.parametrize("profile", RAMP_PROFILES)
def test_vector_potential_is_minus_integral_of_field(profile):
    f = UniformE((0.25, 0.4), ramp=5.0, profile=profile)
    for t in (0.0, 1.3, 2.5, 4.9, 5.0, 8.2):
        integral = [quad(lambda s, i=i: f.field(s)[i], 0, t, epsabs=1e-14, epsrel=1e-13, limit=200)[0] for i in range(2)]
        np.testing.assert_allclose(f.vector_potential(t), -np.array(integral), atol=1e-13)
    # after a symmetric ramp: q A(t) = -E (t - tau/2)
    np.testing.assert_allclose(f.vector_potential(11.0), -np.array([0.25, 0.4]) * (11.0 - 2.5), atol=1e-13)
    # -dA/dt = E(t) (central difference)
    h = 1e-5
    np.testing.assert_allclose(
        -(f.vector_potential(2.2 + h) - f.vector_potential(2.2 - h)) / (2 * h), f.field(2.2), atol=1e-9
    )


def test_sudden_switch():
    f = UniformE(0.5)
    np.testing.assert_allclose(f.vector_potential([0.0, 2.0]), [[0.0], [-1.0]])
    np.testing.assert_allclose(f.switch([-1e-9, 0.0, 3.0]), [0.0, 1.0, 1.0])
    assert f.dim == 1 and f.strength == 0.5


@pytest.mark.parametrize("profile", RAMP_PROFILES)
def test_mean_vector_potential(profile):
    f = UniformE((0.2, -0.3), ramp=4.0, profile=profile)
    t1, t2 = np.array([3.0, 6.5, 9.0]), np.array([0.5, 1.0, 6.0])
    mean = f.mean_vector_potential(t1, t2)
    for i in range(3):
        for c in range(2):
            ref = quad(lambda s: f.vector_potential(s)[c], t2[i], t1[i], epsabs=1e-14, epsrel=1e-13, limit=200)[0] / (t1[i] - t2[i])
            assert mean[i, c] == pytest.approx(ref, abs=1e-13)
    np.testing.assert_allclose(f.mean_vector_potential(2.0, 2.0), f.vector_potential(2.0), atol=1e-15)
    np.testing.assert_allclose(f.mean_vector_potential(t2, t1), mean, atol=1e-15)  # symmetric in its arguments


def test_kinetic_and_canonical_momentum_are_inverse():
    f = UniformE((0.1, 0.2), ramp=3.0)
    k = np.array([[0.3, -1.0], [2.0, 0.5]])
    p = f.kinetic_momentum(k, 5.0)
    np.testing.assert_allclose(p, k + np.array([0.1, 0.2]) * (5.0 - 1.5), atol=1e-14)  # dp/dt = qE
    np.testing.assert_allclose(f.canonical_momentum(p, 5.0), k, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(E=(np.nan, 0.0)), "finite"),
        (dict(E=(0.1,), ramp=-1.0), "ramp"),
        (dict(E=(0.1,), ramp=np.inf), "ramp"),
        (dict(E=(0.1,), ramp=1.0, profile="linear"), "profile"),
        (dict(E=np.zeros((2, 2))), "vector"),
    ],
)
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UniformE(**kwargs)


def test_momentum_dimension_mismatch_raises():
    with pytest.raises(ValueError, match="last axis"):
        UniformE((0.1, 0.0)).kinetic_momentum(np.zeros((3, 3)), 1.0)


@pytest.mark.slow
def test_non_adiabatic_remnant_of_the_ramp():
    """The switch-on leaves an interband remnant ~ E x (Fourier transform of the ramp at the gap).

    Measured exactly as |W_tau(p) - W_ref(p)| at the end of the ramp, W_ref
    from a much longer erf ramp (the adiabatic state at p is the same after
    any slow enough ramp). sin^2 (C^1) decays as tau^-2; the erf ramp (and
    the C-infinity bump) faster than any power; the remnant is linear in E.
    """
    model = models.qwz(1.0, t0=0.3)
    p = np.array([[0.113, 0.377], [0.409, 0.155], [0.694, 0.218]]) @ model.reciprocal_vectors
    e_hat = np.array([math.cos(0.3), math.sin(0.3)])
    occ = FermiDirac(-0.3, 0.0)

    def W(E, tau, profile):
        return wigner_density(model, UniformE(E * e_hat, ramp=tau, profile=profile), p, tau, occ, tol=1e-11)

    def remnant(E, tau, profile):
        return float(np.max(np.abs(W(E, tau, profile) - W(E, 120.0, "erf"))))

    sin2 = [remnant(0.002, tau, "sin2") for tau in (10.0, 20.0, 40.0)]
    slopes = np.diff(np.log(sin2)) / np.log(2.0)
    assert np.all((slopes < -1.8) & (slopes > -2.4)), sin2
    assert remnant(0.004, 20.0, "sin2") / sin2[1] == pytest.approx(2.0, rel=0.05)  # linear in E (up to O(E^2))
    erf20, erf40 = remnant(0.002, 20.0, "erf"), remnant(0.002, 40.0, "erf")
    assert erf40 < 1e-9 < 1e-3 * erf20
    assert remnant(0.002, 40.0, "smooth") < 1e-2 * remnant(0.002, 20.0, "smooth")


@pytest.mark.parametrize("bad", ["0.01", 1j, None, True, [0.01]])
def test_uniform_b_names_a_flux_that_is_not_a_real_number(bad):
    with pytest.raises(TypeError, match="flux must be a real number"):
        UniformB(bad)


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"E": "x"}, "E must be a real number"), ({"E": 0.1, "ramp": "2"}, "ramp must be a real number")]
)
def test_uniform_e_names_an_argument_that_is_not_a_real_number(kwargs, name):
    with pytest.raises(TypeError, match=name):
        UniformE(**kwargs)
