"""Eq. 26 in uniform E and B (semiclassics.transverse), the one implementation behind efield, predictions, boltzmann.

Its independent checks live with its callers: the derived N-band interband density equals it for two bands
(test_boltzmann), the Moyal first-order Wigner function in B (test_moyal) and the exact evolution in E
(test_kinetics). Here: the structure of the formula itself.
"""

import numpy as np
import pytest

from keldysh import models
from semiclassics.geometry import _spectral
from semiclassics.sun import bloch_vectors
from semiclassics.transverse import bracket_z, two_band_transverse

K = np.array([[0.113, 0.377], [0.271, 0.842], [0.409, 0.155], [0.694, 0.218]]) * 2 * np.pi


@pytest.fixture(scope="module")
def system():
    model = models.qwz(1.0, t0=0.3)
    eps, U, V = _spectral(model, K)
    rng = np.random.default_rng(7)
    return eps, U, V, rng.random((len(K), 2)), rng.normal(size=(len(K), 2, 2))


def test_linear_in_each_field_and_in_hbar(system):
    """The brackets are linear in qE and in beta: rho_perp(E, beta) = rho_perp(E, 0) + rho_perp(0, beta), each linear."""
    eps, U, V, f, g = system
    E, beta = np.array([0.03, -0.02]), 0.05
    both = two_band_transverse(eps, U, V, E, beta, f, g)
    electric = two_band_transverse(eps, U, V, E, 0.0, f, None)
    magnetic = two_band_transverse(eps, U, V, None, beta, f, g)
    np.testing.assert_allclose(both, electric + magnetic, atol=1e-16)
    np.testing.assert_allclose(two_band_transverse(eps, U, V, -2 * E, 0.0, f, None), -2 * electric, atol=1e-16)
    np.testing.assert_allclose(two_band_transverse(eps, U, V, None, 3 * beta, f, g), 3 * magnetic, atol=1e-16)
    np.testing.assert_allclose(two_band_transverse(eps, U, V, E, beta, f, g, hbar=0.25), 0.25 * both, atol=1e-16)
    np.testing.assert_array_equal(two_band_transverse(eps, U, V, None, 0.0, f, g), 0.0)
    assert np.abs(electric).min() > 1e-4 and np.abs(magnetic).min() > 1e-4  # both parts are present


def test_orthogonal_to_u_and_blind_to_a_uniform_shift_of_the_occupations(system):
    """rho_perp . u = 0 (an interband matrix); only f_up - f_dn and grad(f_up + f_dn) enter."""
    eps, U, V, f, g = system
    E, beta = np.array([0.03, -0.02]), 0.05
    rho = two_band_transverse(eps, U, V, E, beta, f, g)
    u = bloch_vectors(U[..., :, 1, None] * np.conj(U[..., None, :, 1]))
    np.testing.assert_allclose((rho * u).sum(-1), 0.0, atol=1e-16)
    shifted = two_band_transverse(eps, U, V, E, beta, f + 0.3, g + np.array([[0.2, -0.1], [-0.2, 0.1]]))
    np.testing.assert_allclose(shifted, rho, atol=1e-15)


def test_bracket_is_antisymmetric():
    rng = np.random.default_rng(3)
    ga, gb = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    ab = bracket_z(0.7, ga, gb[..., None])[..., 0]
    ba = bracket_z(0.7, gb, ga[..., None])[..., 0]
    np.testing.assert_allclose(ab, -ba, atol=1e-16)
    np.testing.assert_allclose(bracket_z(0.7, ga, ga[..., None]), 0.0, atol=1e-16)
