"""Chebyshev expansion of f(H): zero-field exactness, sum rules in a field, honest error estimates, failures,
the Matsubara-pole route of a low-temperature metal, and agreement with the magnetic supercell route."""

import numpy as np
import pytest

from keldysh import UniformB, models
from keldysh.errors import ConvergenceError, GapError
from keldysh.exact import wigner_kernel
from keldysh.spectral import FermiDirac, band_window
from keldysh.static.bands import spectral_bounds
from keldysh.static.chebyshev import chebyshev_kernel, chebyshev_kernels
from keldysh.static.kernel import projector_residual
from keldysh.static.patch import peierls_patch

QWZ = models.qwz(1.0, t0=0.3)  # bands [-2.4, -1.0] and [0.4, 3.6]
K = np.random.default_rng(7).uniform(-np.pi, np.pi, (300, 2))


def exact_zero_field(model, f, k=K):
    """f(h(k)) from the eigendecomposition of the Bloch Hamiltonian."""
    e, U = np.linalg.eigh(model.bloch(k))
    return np.einsum("kab,kb,kcb->kac", U, f(e), U.conj())


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize(
    "mu", [pytest.param(-1.5, id="lower band"), pytest.param(2.0, id="upper band", marks=pytest.mark.slow)]
)
def test_zero_field_metal_at_low_temperature(mu):
    """T = 0.05 (the bench metal): Matsubara poles plus a short series reproduce n_F(h(k)) within the estimate."""
    f = FermiDirac(mu, 0.05)
    kern = chebyshev_kernel(QWZ, UniformB(0.0), f, tol=1e-11)
    err = np.abs(kern.wigner(K) - exact_zero_field(QWZ, f)).max()
    assert err <= kern.error <= 1e-11
    assert 0 < kern.error_terms["poles"] < 0.1 * kern.error
    assert kern.order < 100 < kern.range  # a long kernel from a short series: the poles carry the range


@pytest.mark.slow
def test_matsubara_route_agrees_with_the_plain_series_in_a_field():
    """n_F at T = 0.1 in a field: split (poles by direct solves + short series) = plain Chebyshev series
    (the same function passed as a generic callable), within the sum of their estimates."""
    field, f = UniformB(0.0137), FermiDirac(2.0, 0.1)
    split = chebyshev_kernel(QWZ, field, f, tol=1e-11)
    plain = chebyshev_kernel(QWZ, field, lambda E: f(E), tol=1e-11)
    assert "poles" in split.error_terms and "poles" not in plain.error_terms
    assert 2 * split.order < plain.order
    assert np.abs(split.wigner(K) - plain.wigner(K)).max() <= split.error + plain.error <= 2e-11


@pytest.mark.slow
@pytest.mark.parametrize(
    "model, f",
    [
        (QWZ, FermiDirac(-1.5, 0.05)),
        (models.haldane(), band_window(models.haldane(), 0)),
        (models.haldane(), FermiDirac(-1.5, 0.1)),
        (models.three_band(), band_window(models.three_band(), 0)),
        (models.three_band(), FermiDirac(2.0, 0.1)),
    ],
    ids=["qwz metal T=0.05", "haldane projector", "haldane metal", "three_band projector", "three_band metal"],
)
def test_chebyshev_route_agrees_with_supercell_route(model, f):
    """Flux 1/40: algorithm (b) (Chebyshev, with Matsubara poles for the metals) = algorithm (a) (magnetic
    supercell) to 1e-10 at tol 1e-10, and within the sum of their error estimates."""
    field = UniformB(1 / 40)
    a = wigner_kernel(model, field, f, tol=1e-10, method="supercell")
    b = wigner_kernel(model, field, f, tol=1e-10, method="chebyshev")
    assert ("poles" in b.error_terms) == isinstance(f, FermiDirac)
    assert np.abs(a.wigner(K) - b.wigner(K)).max() <= min(1e-10, a.error + b.error)


@pytest.mark.slow
def test_moment_error_estimate_is_honest():
    """W(H^2 Pi_1) at zero field, error below the estimate and the estimate below tol."""
    f = band_window(QWZ, 1, moment=2)
    kern = chebyshev_kernel(QWZ, UniformB(0.0), f, tol=1e-10)
    err = np.abs(kern.wigner(K) - exact_zero_field(QWZ, f)).max()
    assert err <= kern.error <= 1e-10


@pytest.mark.slow
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


def test_projector_residual_detects_non_idempotent_kernel():
    half = np.zeros((9, 2, 2), dtype=complex)
    half[0] = 0.5 * np.eye(2)  # 1/2: Pi - Pi^2 = 1/4
    assert projector_residual(half) == pytest.approx(0.25)


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


@pytest.mark.slow
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
