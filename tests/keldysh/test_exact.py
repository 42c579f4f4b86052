"""Public entry points: zero-field limits, Streda density in a field, caching, method dispatch, bad input."""

import numpy as np
import pytest

from keldysh import UniformB, models
from keldysh.exact import band_wigner, fermi_wigner, local_density_matrix, wigner_kernel
from keldysh.spectral import FermiDirac, band_window

QWZ = models.qwz(1.0, t0=0.3)
K = np.random.default_rng(3).uniform(-np.pi, np.pi, (4, 25, 2))  # batched k


def _eig(model, k):
    e, U = np.linalg.eigh(model.bloch(k))
    return e, U


def chern_number(model, band, n=48):
    """Fukui-Hatsugai-Suzuki lattice Chern number (Berry connection A = i<u|grad u>)."""
    u = np.arange(n) / n
    k = np.stack(np.meshgrid(u, u, indexing="ij"), -1) @ model.reciprocal_vectors
    _, U = _eig(model, k)
    v = U[..., band]

    def link(a, b):
        overlap = np.einsum("...a,...a->...", a.conj(), b)
        return overlap / np.abs(overlap)

    vx, vy = np.roll(v, -1, axis=0), np.roll(v, -1, axis=1)
    vxy = np.roll(vx, -1, axis=1)
    F = np.angle(link(v, vx) * link(vx, vxy) / link(vy, vxy) / link(v, vy))
    return -int(round(F.sum() / (2 * np.pi)))


@pytest.mark.slow
def test_band_wigner_zero_field_is_eigenprojector_and_moment():
    e, U = _eig(QWZ, K)
    P0 = np.einsum("...a,...b->...ab", U[..., 0], U[..., 0].conj())
    np.testing.assert_allclose(band_wigner(QWZ, UniformB(0.0), 0, K), P0, rtol=0, atol=1e-11)
    np.testing.assert_allclose(
        band_wigner(QWZ, UniformB(0.0), 0, K, moment=1), e[..., 0, None, None] * P0, rtol=0, atol=1e-11
    )


def test_fermi_wigner_zero_field():
    f = FermiDirac(-1.5, 0.2)
    e, U = _eig(QWZ, K)
    ref = np.einsum("...ab,...b,...cb->...ac", U, f(e), U.conj())
    np.testing.assert_allclose(fermi_wigner(QWZ, UniformB(0.0), -1.5, 0.2, K, tol=1e-10), ref, rtol=0, atol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("flux", [0.01, -0.0071])
def test_streda_density_of_an_isolated_band(flux):
    """States per cell below a gap: Tr rho_loc = 1 - flux C (conventions, 'Streda'), at any flux."""
    C = chern_number(QWZ, 0)
    assert C == -1
    rho = local_density_matrix(QWZ, UniformB(flux), -0.3, 0.0, tol=1e-11)
    assert np.trace(rho).real == pytest.approx(1 - flux * C, abs=1e-10)
    assert np.abs(rho - rho.conj().T).max() < 1e-14


@pytest.mark.slow
def test_kernels_are_cached_per_model_content_flux_and_function():
    field = UniformB(3e-3)
    a = wigner_kernel(QWZ, field, band_window(QWZ, 1, 1), tol=1e-10)
    assert wigner_kernel(models.qwz(1.0, t0=0.3), field, band_window(QWZ, 1, 1), tol=1e-10) is a  # same content
    # the projector was computed in the same recursion as its moment
    p = wigner_kernel(QWZ, field, band_window(QWZ, 1, 0), tol=1e-10)
    assert p.radius == a.radius and p.check == a.check  # one recursion, one idempotency check
    assert wigner_kernel(QWZ, UniformB(4e-3), band_window(QWZ, 1, 1), tol=1e-10) is not a


@pytest.mark.slow
def test_supercell_route_agrees_with_chebyshev():
    field, f = UniformB(1 / 40), band_window(QWZ, 0)
    a = wigner_kernel(QWZ, field, f, tol=1e-10, method="supercell")
    b = wigner_kernel(QWZ, field, f, tol=1e-10, method="chebyshev")
    assert a.method == "supercell" and b.method == "chebyshev"
    k = K.reshape(-1, 2)
    assert np.abs(a.wigner(k) - b.wigner(k)).max() < 1e-10


def test_bad_input():
    with pytest.raises(ValueError, match="rational flux"):
        wigner_kernel(QWZ, UniformB(np.sqrt(2) / 100), band_window(QWZ, 0), method="supercell")
    with pytest.raises(ValueError, match="unknown method"):
        band_wigner(QWZ, UniformB(0.01), 0, K, method="magic")
    with pytest.raises(ValueError, match="moment"):
        band_wigner(QWZ, UniformB(0.01), 0, K, moment=-1)
    with pytest.raises(ValueError, match="out of range"):
        band_wigner(QWZ, UniformB(0.01), 2, K)
    with pytest.raises(ValueError, match="T = 0 needs mu in a gap"):
        fermi_wigner(QWZ, UniformB(0.01), 1.0, 0.0, K)
    with pytest.raises(NotImplementedError, match="k_z"):
        fermi_wigner(models.weyl(), UniformB(0.01), 0.0, 0.1, np.zeros((1, 3)))
