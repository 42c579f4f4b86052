"""Chebyshev expansion of f(H): zero-field exactness, sum rules in a field, honest error estimates, failures."""

import numpy as np
import pytest
from numpy.polynomial import chebyshev as cheb

from keldysh import UniformB, models
from keldysh.chebyshev import (
    ConvergenceError,
    GapError,
    _gapped,
    _projector_residual,
    chebyshev_kernel,
    chebyshev_kernels,
    spectral_bounds,
)
from keldysh.patch import peierls_patch
from keldysh.spectral import FermiDirac, band_window

QWZ = models.qwz(1.0, t0=0.3)  # bands [-2.4, -1.0] and [0.4, 3.6]
K = np.random.default_rng(7).uniform(-np.pi, np.pi, (300, 2))


def exact_zero_field(model, f, k=K):
    """f(h(k)) from the eigendecomposition of the Bloch Hamiltonian."""
    e, U = np.linalg.eigh(model.bloch(k))
    return np.einsum("kab,kb,kcb->kac", U, f(e), U.conj())


@pytest.mark.parametrize(
    "model, band",
    [(QWZ, 0), (QWZ, 1), (models.haldane(), 0)],
    ids=["qwz lower", "qwz upper", "haldane lower"],
)
def test_zero_field_band_projector_is_eigenprojector(model, band):
    """W(Pi_n)(k) = P_n(k) at zero field, to the requested tolerance; the estimate is honest."""
    f = band_window(model, band)
    kern = chebyshev_kernel(model, UniformB(0.0), f, tol=1e-11)
    err = np.abs(kern.wigner(K) - exact_zero_field(model, f)).max()
    assert err <= kern.error <= 1e-11
    assert kern.check < 1e-13  # idempotency of the computed column


@pytest.mark.parametrize("mu, T", [(-1.5, 0.2), (2.0, 0.3), (-0.3, 0.02)], ids=["lower band", "upper band", "gap"])
def test_zero_field_fermi_function(mu, T):
    """W(n_F(H))(k) = n_F(h(k)) at T > 0, metal or insulator; actual error <= estimate <= tol."""
    f = FermiDirac(mu, T)
    kern = chebyshev_kernel(QWZ, UniformB(0.0), f, tol=1e-10)
    err = np.abs(kern.wigner(K) - exact_zero_field(QWZ, f)).max()
    assert err <= kern.error <= 1e-10


def test_moment_error_estimate_is_honest():
    """W(H^2 Pi_1) at zero field, error below the estimate and the estimate below tol."""
    f = band_window(QWZ, 1, moment=2)
    kern = chebyshev_kernel(QWZ, UniformB(0.0), f, tol=1e-10)
    err = np.abs(kern.wigner(K) - exact_zero_field(QWZ, f)).max()
    assert err <= kern.error <= 1e-10


@pytest.mark.parametrize("flux", [1e-3, 0.0123])
def test_band_projectors_sum_to_identity_and_moments_to_h(flux):
    """In a field: sum_n Pi_n = 1 and sum_n H Pi_n = H exactly, so sum_n W(Pi_n) = 1 and sum_n W(H Pi_n) = h(k)."""
    tol = 1e-11
    funcs = [band_window(QWZ, n, j) for n in range(2) for j in range(2)]
    kernels = chebyshev_kernels(QWZ, UniformB(flux), funcs, tol=tol)
    W = {(n, j): kern.wigner(K) for (n, j), kern in zip([(n, j) for n in range(2) for j in range(2)], kernels)}
    est = {(n, j): kern.error for (n, j), kern in zip(W, kernels)}
    identity_err = np.abs(W[0, 0] + W[1, 0] - np.eye(2)).max()
    h_err = np.abs(W[0, 1] + W[1, 1] - QWZ.bloch(K)).max()
    assert identity_err <= est[0, 0] + est[1, 0] <= 2 * tol
    assert h_err <= est[0, 1] + est[1, 1] <= 2 * tol
    # the field visibly changes each projector (order beta = 2 pi flux)
    assert np.abs(W[0, 0] - exact_zero_field(QWZ, band_window(QWZ, 0))).max() > 0.1 * flux


def test_gauge_independence_in_a_field():
    """The dressed kernel does not depend on the gauge used for the Peierls phases."""
    f, field = FermiDirac(-1.5, 0.2), UniformB(0.02)
    a = chebyshev_kernel(QWZ, field, f, tol=1e-10, gauge="landau_x")
    b = chebyshev_kernel(QWZ, field, f, tol=1e-10, gauge="symmetric")
    assert np.abs(a.wigner(K) - b.wigner(K)).max() < a.error + b.error


@pytest.mark.slow
def test_three_band_projectors_in_a_field():
    """Three isolated bands: the three windows sum to the identity in a field."""
    model, tol = models.three_band(), 1e-10
    kernels = chebyshev_kernels(model, UniformB(1e-3), [band_window(model, n) for n in range(3)], tol=tol)
    total = sum(kern.wigner(K) for kern in kernels)
    assert np.abs(total - np.eye(3)).max() <= sum(kern.error for kern in kernels) <= 3 * tol
    assert all(kern.check < tol for kern in kernels)


def test_spectral_bounds_contain_the_spectrum_in_a_field():
    field = UniformB(0.05)
    lo, hi = spectral_bounds(QWZ, field)
    e = np.linalg.eigvalsh(peierls_patch(QWZ, field, 8).H.toarray())
    assert lo < e.min() and e.max() < hi
    assert hi - lo < 1.1 * (3.6 + 2.4)  # 1% padding plus room for field shifts


@pytest.mark.parametrize("x0, delta", [(0.0, 0.2), (-0.3, 0.1), (0.6, 0.05)])
def test_gapped_polynomial_error_bound_and_optimal_order(x0, delta):
    """The least-squares step equals theta(x0 - x) to its stated error outside the transition region,
    at close to the optimal order log(1/eps) sqrt(1 - x0^2) / delta, and stays bounded inside it."""
    eps = 1e-12
    coeffs, err = _gapped(lambda x: (x < x0).astype(float), [(x0, delta)], eps, 20000)
    x = np.concatenate([np.linspace(-1, x0 - delta, 20001), np.linspace(x0 + delta, 1, 20001)])
    assert np.abs(cheb.chebval(x, coeffs) - (x < x0)).max() <= 1.01 * err <= 1.01 * eps
    assert len(coeffs) - 1 < 1.2 * np.log(4 / eps) * np.sqrt(1 - x0**2) / delta
    assert np.abs(cheb.chebval(np.linspace(x0 - delta, x0 + delta, 2001), coeffs)).max() < 1.1


def test_projector_residual_detects_non_idempotent_kernel():
    half = np.zeros((9, 2, 2), dtype=complex)
    half[0] = 0.5 * np.eye(2)  # 1/2: Pi - Pi^2 = 1/4
    assert _projector_residual(half) == pytest.approx(0.25)


def test_convergence_error_for_impossible_requests():
    f = band_window(QWZ, 0)
    with pytest.raises(ConvergenceError, match="max_order"):
        chebyshev_kernel(QWZ, UniformB(1e-3), f, tol=1e-11, max_order=40)
    with pytest.raises(ConvergenceError, match="roundoff"):
        chebyshev_kernel(QWZ, UniformB(1e-3), f, tol=1e-15)
    with pytest.raises(ConvergenceError, match="max_radius"):
        chebyshev_kernel(QWZ, UniformB(1e-3), FermiDirac(-1.5, 0.05), tol=1e-11, max_radius=30)


def test_zero_temperature_needs_mu_in_a_gap():
    with pytest.raises(ValueError, match=r"T = 0 needs mu in a gap; mu=-1.5 lies in band 0 \[-2.4, -1\]"):
        chebyshev_kernel(QWZ, UniformB(1e-3), FermiDirac(-1.5, 0.0))


def test_zero_temperature_in_gap_is_the_band_projector():
    field = UniformB(1e-3)
    a = chebyshev_kernel(QWZ, field, FermiDirac(-0.3, 0.0), tol=1e-11)
    b = chebyshev_kernel(QWZ, field, band_window(QWZ, 0), tol=1e-11)
    assert np.abs(a.wigner(K) - b.wigner(K)).max() < a.error + b.error


def test_field_closing_the_gap_is_reported():
    """A small gap (qwz near m = 2) in a strong field leaves no room for the step."""
    model = models.qwz(1.9)
    with pytest.raises(GapError, match="closes the gap"):
        chebyshev_kernel(model, UniformB(0.05), band_window(model, 0), tol=1e-8)
