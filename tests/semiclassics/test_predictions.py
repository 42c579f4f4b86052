"""O(hbar) predictions in a uniform B (paper Eqs. 12, 14, 15, 17, 19, 25-28b).

Comparisons with the first-order gradient expansion (the Moyal reference) are
in test_moyal.py; here: internal identities, Streda, the two-band reductions.
"""

import mpmath
import numpy as np
import pytest

from keldysh import UniformB, models
from semiclassics import geometry as geo
from semiclassics import predictions as pred
from semiclassics.sun import gell_mann

QWZ = models.qwz(1.0, t0=0.3)
HALDANE = models.haldane(t2=0.15, phi=0.7, M=0.2)
THREE = models.three_band(m=1.0, lam=0.3, t0=0.2)
FIELD = UniformB(0.02)


def kpoints(seed, n=8):
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, size=(n, 2))


@pytest.mark.parametrize("model", [QWZ, HALDANE, THREE], ids=["qwz", "haldane", "three_band"])
def test_eq12_shift_is_minus_beta_times_orbital_moment(model):
    """eps-bar - eps = -beta m_n (Sundaram-Niu), m_n from its own sum-over-states formula; 1e-12 relative."""
    k = kpoints(1)
    beta = pred.field_strength(model, FIELD)
    eps, _ = geo.eigensystem(model, k)
    shift = pred.quasiparticle_energy(model, k, FIELD) - eps
    expected = -beta * geo.orbital_moment(model, k)
    np.testing.assert_allclose(shift, expected, rtol=1e-12, atol=1e-15)
    assert np.min(np.abs(shift)) > 1e-5


def test_field_strength_uses_cell_area():
    assert pred.field_strength(QWZ, UniformB(0.1)) == pytest.approx(2 * np.pi * 0.1)
    assert pred.field_strength(HALDANE, UniformB(0.1)) == pytest.approx(2 * np.pi * 0.1 / (np.sqrt(3) / 2))

    class NoArea:
        dim, norbs = 2, 2

    assert pred.field_strength(NoArea(), UniformB(0.1)) == pytest.approx(2 * np.pi * 0.1)


@pytest.mark.parametrize("model", [QWZ, HALDANE, THREE], ids=["qwz", "haldane", "three_band"])
def test_spectral_weight_sums(model):
    """Column sums (weights of all quasiparticles on one P_m) and row sums (Z_tot^n, Eq. 15).

    Recorded: corrected form has sum_n Z_n^m = 1 and row sums 1 - beta Omega_n^n (Eq. 15);
    the printed Eq. 14 has row sums exactly 1 (not Eq. 15) and column sums != 1,
    because with Eq. 13 as printed sum_{m != n} Omega_m^n = +Omega_n^n.
    """
    k = kpoints(2)
    N = model.norbs
    Zc = pred.spectral_weights(model, k, FIELD, form="corrected")
    Zp = pred.spectral_weights(model, k, FIELD, form="printed")
    Ztot = pred.total_spectral_weight(model, k, FIELD)
    F = geo.field_contraction(model, k, FIELD)
    np.testing.assert_allclose(Ztot, 1 - np.diagonal(F, axis1=-2, axis2=-1), atol=1e-15)
    np.testing.assert_allclose(Ztot.sum(axis=-1), N, atol=1e-13)
    np.testing.assert_allclose(Zc.sum(axis=-2), 1.0, atol=1e-13)
    np.testing.assert_allclose(Zc.sum(axis=-1), Ztot, atol=1e-13)
    np.testing.assert_allclose(Zp.sum(axis=-1), 1.0, atol=1e-13)
    assert np.max(np.abs(Zp.sum(axis=-2) - 1)) > 1e-3
    assert np.max(np.abs(Ztot - 1)) > 1e-3
    # same diagonal; off-diagonals differ by beta Omega_m^{n,xy}
    off = ~np.eye(N, dtype=bool)
    np.testing.assert_allclose(np.diagonal(Zc, axis1=-2, axis2=-1), np.diagonal(Zp, axis1=-2, axis2=-1), atol=0)
    np.testing.assert_allclose((Zp - Zc)[..., off], F[..., off], atol=1e-15)


def test_spectral_weights_unknown_form_raises():
    with pytest.raises(ValueError, match="unknown form"):
        pred.spectral_weights(QWZ, kpoints(3), FIELD, form="transposed")


def test_fermi_functions():
    E = np.linspace(-1, 1, 41)
    np.testing.assert_array_equal(pred.fermi(E, 0.0, 0.0), np.where(E < 0, 1.0, np.where(E > 0, 0.0, 0.5)))
    np.testing.assert_allclose(pred.fermi(E, 0.1, 0.2), 1 / (np.exp((E - 0.1) / 0.2) + 1), rtol=1e-14)
    h = 1e-6
    num = (pred.fermi(E + h, 0.1, 0.2) - pred.fermi(E - h, 0.1, 0.2)) / (2 * h)
    np.testing.assert_allclose(pred.fermi_derivative(E, 0.1, 0.2), num, atol=1e-8)
    assert pred.fermi(np.array([-50.0, 50.0]), 0, 1e-3).tolist() == [1.0, 0.0]  # no overflow
    np.testing.assert_array_equal(pred.fermi_derivative(np.array([-0.5, 0.5]), 0.0, 0.0), 0.0)
    with pytest.raises(ValueError, match="delta function"):
        pred.fermi_derivative(np.array([0.0]), 0.0, 0.0)
    with pytest.raises(ValueError, match="T >= 0"):
        pred.fermi(E, 0.0, -0.1)


def test_fermi_functions_at_extreme_arguments_against_mpmath():
    """n_F and d n_F / dE for (E - mu) / T from -700 to 700 against 30-digit mpmath: n_F to 4 ulp relative
    (it never rounds a tail to zero while the tail is a normal float), d n_F / dE to 4 ulp relative on the
    empty side and to eps / T absolute on the filled side (where 1 - n_F rounds to 0 below exp(-37))."""
    mu, T = 0.3, 0.05
    x = np.concatenate([-np.geomspace(700, 1e-3, 60), [0.0], np.geomspace(1e-3, 700, 60)])
    E = mu + T * x
    eps = np.finfo(float).eps
    with mpmath.workdps(30):
        ref = [1 / (mpmath.exp(mpmath.mpf(xi)) + 1) for xi in (E - mu) / T]  # x of the rounded E, as the code sees it
        n_ref = np.array([float(r) for r in ref])
        d_ref = np.array([float(-r * (1 - r) / T) for r in ref])
    np.testing.assert_allclose(pred.fermi(E, mu, T), n_ref, rtol=4 * eps, atol=0)
    d = pred.fermi_derivative(E, mu, T)
    empty = x >= 0
    np.testing.assert_allclose(d[empty], d_ref[empty], rtol=4 * eps, atol=0)
    np.testing.assert_allclose(d[~empty], d_ref[~empty], rtol=4 * eps, atol=eps / T)


@pytest.mark.parametrize("flux", [0.001, -0.003, 0.01, 0.02])
@pytest.mark.parametrize("model", [QWZ, HALDANE], ids=["qwz", "haldane"])
def test_equilibrium_density_obeys_streda(model, flux):
    """Eq. 17 with mu in the gap at T = 0: n_e = 1 - flux * C_lower per unit cell, to 1e-10."""
    field = UniformB(flux)
    k = geo.reciprocal_grid(model, 64)
    eb = pred.quasiparticle_energy(model, k, field)
    top, bottom = eb[..., 0].max(), eb[..., 1].min()
    assert bottom - top > 0.3  # the Berry-corrected bands stay separated by a gap
    c_lower = geo.chern_numbers_fhs(model, 24)[0]
    assert abs(c_lower) == pytest.approx(1.0, abs=1e-10)
    n_e = pred.equilibrium_density(model, field, 0.5 * (top + bottom), 0.0, 64)
    assert n_e == pytest.approx(1 - flux * c_lower, abs=1e-10)


@pytest.mark.parametrize("model", [QWZ, HALDANE], ids=["qwz", "haldane"])
def test_band_density_two_band_reduction_eq25(model):
    """rho^sigma = (1 - sigma beta Omega/2) f-bar^sigma + sigma (beta Omega/2) f-bar^{-sigma}, Omega = Omega_up^up."""
    k = kpoints(4)
    f = lambda E: pred.fermi(E, 0.1, 0.3)
    rho = pred.band_density(model, k, FIELD, f)
    fb = f(pred.quasiparticle_energy(model, k, FIELD))
    bo = geo.field_contraction(model, k, FIELD)[..., 1, 1]
    for s, sigma in [(1, 1), (0, -1)]:
        expected = (1 - sigma * bo / 2) * fb[..., s] + sigma * bo / 2 * fb[..., 1 - s]
        np.testing.assert_allclose(rho[..., s], expected, atol=1e-15)


@pytest.mark.parametrize("model", [QWZ, THREE], ids=["qwz", "three_band"])
def test_band_density_trace_is_eq17_integrand(model):
    """sum_n rho^n = sum_n (1 - beta Omega_n^n) f(eps-bar^n) (Eqs. 17, 28a) pointwise."""
    k = kpoints(5)
    f = lambda E: pred.fermi(E, 0.2, 0.25)
    rho = pred.band_density(model, k, FIELD, f)
    fb = f(pred.quasiparticle_energy(model, k, FIELD))
    np.testing.assert_allclose(rho.sum(-1), (pred.total_spectral_weight(model, k, FIELD) * fb).sum(-1), atol=1e-14)


def test_transverse_density_properties():
    k = kpoints(6)
    f = lambda E: pred.fermi(E, 0.1, 0.3)
    fp = lambda E: pred.fermi_derivative(E, 0.1, 0.3)
    rho_perp = pred.transverse_density(HALDANE, k, FIELD, f, fp)
    _, U = geo.eigensystem(HALDANE, k)
    up = U[..., :, 1]
    u = np.einsum("...a,sab,...b->...s", np.conj(up), gell_mann(2), up).real
    np.testing.assert_allclose(np.einsum("...s,...s", rho_perp, u), 0, atol=1e-15)
    assert np.max(np.abs(rho_perp)) > 1e-4
    # linear in beta, odd in the field
    np.testing.assert_allclose(pred.transverse_density(HALDANE, k, UniformB(-0.02), f, fp), -rho_perp, atol=1e-16)
    M = pred.transverse_matrix(HALDANE, k, FIELD, f, fp)
    np.testing.assert_allclose(M, np.conj(np.swapaxes(M, -1, -2)), atol=0)
    np.testing.assert_allclose(np.trace(M, axis1=-2, axis2=-1), 0, atol=1e-16)
    with pytest.raises(ValueError, match="two bands"):
        pred.transverse_density(THREE, k, FIELD, f, fp)


def test_density_matrix_structure():
    k = kpoints(7)
    f = lambda E: pred.fermi(E, 0.1, 0.3)
    fp = lambda E: pred.fermi_derivative(E, 0.1, 0.3)
    rho2 = pred.density_matrix(QWZ, k, FIELD, f, fp)
    np.testing.assert_allclose(np.trace(rho2, axis1=-2, axis2=-1).real, pred.band_density(QWZ, k, FIELD, f).sum(-1), atol=1e-14)
    np.testing.assert_allclose(rho2, np.conj(np.swapaxes(rho2, -1, -2)), atol=1e-16)
    with pytest.raises(ValueError, match="fprime"):
        pred.density_matrix(QWZ, k, FIELD, f)
    # N = 3: band-projected only, P_n rho P_n = rho^n P_n
    rho3 = pred.density_matrix(THREE, k, FIELD, f)
    _, U = geo.eigensystem(THREE, k)
    in_eig = np.conj(np.swapaxes(U, -1, -2)) @ rho3 @ U
    np.testing.assert_allclose(in_eig, np.einsum("...n,nm->...nm", pred.band_density(THREE, k, FIELD, f), np.eye(3)), atol=1e-15)


def test_spin_densities_at_zero_field_and_two_band_only():
    """At beta = 0 Eqs. 27b and 28b both reduce to (1/N_k) sum (f_up - f_dn) u."""
    f = lambda E: pred.fermi(E, 0.1, 0.3)
    fp = lambda E: pred.fermi_derivative(E, 0.1, 0.3)
    zero = UniformB(0.0)
    s28 = pred.spin_density(HALDANE, zero, f, fp, 24)
    s27 = pred.spin_density_wavepacket(HALDANE, zero, f, 24)
    k = geo.reciprocal_grid(HALDANE, 24)
    eps, U = geo.eigensystem(HALDANE, k)
    rho0 = np.einsum("...an,...n,...bn->...ab", U, f(eps), np.conj(U))
    s0 = np.einsum("...ab,sba->...s", rho0, gell_mann(2)).real.reshape(-1, 3).mean(0)
    np.testing.assert_allclose(s28, s0, atol=1e-14)
    np.testing.assert_allclose(s27, s0, atol=1e-14)
    with pytest.raises(ValueError, match="two bands"):
        pred.spin_density(THREE, FIELD, f, fp, 8)
