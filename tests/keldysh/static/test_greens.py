"""Green's functions: A >= 0 and its sum rule, G^A = G^R^dagger, rho = int G^< / 2 pi i -> n_F(H) as eta -> 0."""

import numpy as np
import pytest

from keldysh import UniformB, models
from keldysh.exact import local_density_matrix
from keldysh.static.greens import density_from_lesser, greens_kernel, lesser_greens, spectral_function

QWZ = models.qwz(1.0, t0=0.3)  # bands [-2.4, -1.0] and [0.4, 3.6]
FIELD = UniformB(0.01)
MU = -0.3  # middle of the gap: distance d = 0.7 to both band edges
TAIL = 20.0  # the energy grids extend this far beyond the spectrum


def _grid(lo, hi, eta):
    return np.linspace(lo, hi, int((hi - lo) / (eta / 8)) + 1)


@pytest.fixture(scope="module")
def spectral():
    eta = 0.4
    return spectral_function(QWZ, FIELD, _grid(-2.4 - TAIL, 3.6 + TAIL, eta), eta, tol=1e-8)


@pytest.mark.slow
def test_spectral_function_is_positive_on_the_diagonal(spectral):
    diag = np.real(np.einsum("eaa->ea", spectral.values[:, 0]))
    assert diag.min() > 0
    assert np.abs(np.imag(np.einsum("eaa->ea", spectral.values[:, 0]))).max() < 1e-12
    # the on-site block is Hermitian at every energy
    block = spectral.values[:, 0]
    assert np.abs(block - block.conj().transpose(0, 2, 1)).max() < 1e-12


@pytest.mark.slow
def test_spectral_sum_rule(spectral):
    """int A deps / 2 pi = 1 per orbital; a grid ending TAIL beyond the spectrum loses at most
    (eta / pi)(2 / TAIL) of Lorentzian tails (0.0127 here), plus the trapezoid error (negligible at h = eta/8)."""
    total = np.trapezoid(spectral.values[:, 0], spectral.energies, axis=0) / (2 * np.pi)
    missing = np.eye(2) - total
    bound = spectral.eta / np.pi * 2 / TAIL
    assert np.all(np.real(np.diag(missing)) > 0)
    assert np.abs(np.diag(missing)).max() <= bound
    assert np.abs(missing - np.diag(np.diag(missing))).max() < 1e-3 * bound  # off-diagonal sum rule: 0


@pytest.mark.slow
def test_advanced_is_adjoint_of_retarded():
    E = np.array([-3.0, -1.7, -0.3, 1.1, 4.0])
    gr = greens_kernel(QWZ, FIELD, E, 0.5, kind="retarded", tol=1e-9)
    ga = greens_kernel(QWZ, FIELD, E, 0.5, kind="advanced", tol=1e-9)
    np.testing.assert_allclose(ga.values[:, 0], gr.values[:, 0].conj().transpose(0, 2, 1), rtol=0, atol=2e-9)
    # A = i (G^R - G^A) from the same recursion as the spectral kind
    A = spectral_function(QWZ, FIELD, E, 0.5, tol=1e-9)
    np.testing.assert_allclose(A.values, 1j * (gr.values - ga.values), rtol=0, atol=4e-9)


@pytest.mark.slow
def test_zero_field_retarded_is_brillouin_zone_average():
    """On-site G^R(eps) = BZ average of (eps + i eta - h(k))^{-1} at zero field."""
    E, eta, n = np.array([-1.9, -0.3, 2.2]), 0.3, 256
    g = greens_kernel(QWZ, UniformB(0.0), E, eta, tol=1e-10)
    u = (np.arange(n) + 0.5) / n
    k = 2 * np.pi * np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2)
    h = QWZ.bloch(k)
    ref = np.stack([np.linalg.inv((e + 1j * eta) * np.eye(2) - h).mean(axis=0) for e in E])
    np.testing.assert_allclose(g.values[:, 0], ref, rtol=0, atol=1e-9)


def _density(eta):
    """rho(eta) = int_{E_min - TAIL}^{mu} deps / 2 pi i G^<(eps) at T = 0 (trapezoid, spacing eta / 8)."""
    lesser = lesser_greens(QWZ, FIELD, _grid(-2.4 - TAIL, MU, eta), eta, MU, 0.0, tol=1e-7)
    return density_from_lesser(lesser)[0]


@pytest.mark.slow
def test_density_from_lesser_tends_to_fermi_projector():
    """rho(eta) - n_F(H) = -(1/pi) arctan(eta / (mu - H)) + (cut lower tail) = O(eta), both terms linear in eta.

    Bound per entry: (eta / pi)(1/d + 1/TAIL), d = 0.7 the distance from mu to the bands. The O(eta) terms
    cancel in the Richardson combination 2 rho(eta/2) - rho(eta), leaving O(eta^3).
    """
    P = local_density_matrix(QWZ, FIELD, MU, 0.0, tol=1e-10)
    rho = {eta: _density(eta) for eta in (0.4, 0.2)}
    err = {eta: np.abs(r - P).max() for eta, r in rho.items()}
    for eta, e in err.items():
        assert e <= eta / np.pi * (1 / 0.7 + 1 / TAIL)
    assert 1.8 < err[0.4] / err[0.2] < 2.1  # linear in eta
    richardson = np.abs(2 * rho[0.2] - rho[0.4] - P).max()
    assert richardson < 0.05 * err[0.2]


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="eta must be positive"):
        greens_kernel(QWZ, FIELD, [0.0], 0.0)
    with pytest.raises(ValueError, match="occupation"):
        greens_kernel(QWZ, FIELD, [0.0], 0.1, kind="lesser")
    with pytest.raises(ValueError, match="unknown kind"):
        greens_kernel(QWZ, FIELD, [0.0], 0.1, kind="keldysh")
