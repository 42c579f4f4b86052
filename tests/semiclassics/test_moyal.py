"""The first-order gradient expansion W1 (Moyal reference) and the paper's formulas held against it.

Findings recorded here (all with Eq. 13 as printed, tensor[n, m] = Omega_m^n):
  * Eq. 14 as printed transposes the interband weights: Tr(P_m W1(Pi_n)) =
    (beta/2) Omega_n^m = -(beta/2) Omega_m^n for m != n, which is the
    ``corrected`` form; the printed form misses it by beta Omega_m^n.
  * Eqs. 15, 16/19 (band densities, Eq. 25) and 12 hold as printed at O(beta).
  * Eq. 26 (transverse density) holds as printed: it equals the interband part
    of W1(f) to machine precision.
  * Eq. 28b is the k-average of Tr(sigma W1(f)); Eq. 27b is not (it differs at O(beta)).

"Linear part" of a prediction g(beta): Richardson-extrapolated symmetric
difference (see ``linear_part``), exact for polynomials of degree <= 4 in beta
(f = E^2 gives degree 3) and accurate to relative O(beta^4) ~ 1e-13 otherwise
(beta ~ 6e-4); what remains is rounding, ~1e-16 / beta relative to O(1) values.
"""

import numpy as np
import pytest

from keldysh import UniformB, models
from semiclassics import geometry as geo
from semiclassics import moyal
from semiclassics import predictions as pred
from semiclassics.sun import bloch_vectors, gell_mann

TWO_BAND = {
    "qwz": models.qwz(1.0, t0=0.3),
    "haldane": models.haldane(t2=0.15, phi=0.7, M=0.2),
    "dirac": models.dirac_lattice(v=1.0, delta=0.2),
}
ALL = {**TWO_BAND, "three_band": models.three_band(m=1.0, lam=0.3, t0=0.2)}
FIELD = UniformB(0.01)
SMALL = UniformB(1e-4)
MU, TEMP = 0.1, 0.3


def fermi(E):
    return pred.fermi(E, MU, TEMP)


def fermi_prime(E):
    return pred.fermi_derivative(E, MU, TEMP)


def kpoints(seed, n=6):
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, size=(n, 2))


def eigenbasis(model, k, W):
    """W in the eigenbasis of h(k): [..., n, m] = <n|W|m>."""
    _, U = geo.eigensystem(model, k)
    return np.conj(np.swapaxes(U, -1, -2)) @ W @ U


def linear_part(fun):
    """O(beta) part of g(field) = fun(field) at flux 1e-4 by a Richardson-extrapolated symmetric difference.

    With D(s) = (g(s beta) - g(-s beta))/2 = L beta + c3 beta^3 + O(beta^5),
    (8 D(1) - D(2))/6 = L beta + O(beta^5): exact for polynomials of degree <= 4 in beta.
    """

    def odd(s):
        return 0.5 * (fun(UniformB(s * SMALL.flux)) - fun(UniformB(-s * SMALL.flux)))

    return (8 * odd(1) - odd(2)) / 6


@pytest.mark.parametrize("name", list(ALL))
def test_polynomials_reproduce_the_star_product(name):
    """W1(H) = 0, W1(H^2) = (i beta/2)[h_x, h_y], W1(H^3) from (h*h)*h; checks the divided differences."""
    model = ALL[name]
    k = kpoints(1)
    beta = pred.field_strength(model, FIELD)
    h = model.bloch(k)
    hx, hy = model.bloch_derivative(k)[..., 0, :, :], model.bloch_derivative(k)[..., 1, :, :]
    w1 = moyal.wigner_first_order(model, k, FIELD, lambda E: E, np.ones_like)
    np.testing.assert_allclose(w1, 0, atol=1e-15)
    w2 = moyal.wigner_first_order(model, k, FIELD, lambda E: E**2, lambda E: 2 * E)
    np.testing.assert_allclose(w2, 0.5j * beta * (hx @ hy - hy @ hx), atol=1e-14)
    w3 = moyal.wigner_first_order(model, k, FIELD, lambda E: E**3, lambda E: 3 * E**2)
    c = hx @ hy - hy @ hx
    expected = 0.5j * beta * (c @ h + h @ c + hx @ h @ hy - hy @ h @ hx)
    np.testing.assert_allclose(w3, expected, atol=1e-14)


@pytest.mark.parametrize("name", list(ALL))
def test_band_window_traces(name):
    """sum_n W1(Pi_n) = 0; Tr W1(Pi_n) = -beta Omega_n^n (Eq. 15); Tr(P_n W1(Pi_n)) = -(beta/2) Omega_n^n."""
    model = ALL[name]
    k = kpoints(2)
    N = model.norbs
    F = geo.field_contraction(model, k, FIELD)
    diag = np.diagonal(F, axis1=-2, axis2=-1)
    windows = [moyal.band_window_first_order(model, k, FIELD, n) for n in range(N)]
    np.testing.assert_allclose(sum(windows), 0, atol=1e-15)
    for n, W in enumerate(windows):
        np.testing.assert_allclose(W, np.conj(np.swapaxes(W, -1, -2)), atol=1e-16)
        np.testing.assert_allclose(np.trace(W, axis1=-2, axis2=-1), -diag[..., n], atol=1e-15)
        np.testing.assert_allclose(eigenbasis(model, k, W)[..., n, n].real, -0.5 * diag[..., n], atol=1e-15)


@pytest.mark.parametrize("name", list(ALL))
def test_eq14_corrected_form_is_the_moyal_weight_and_printed_is_not(name):
    """Z_n^m - delta_nm = Tr(P_m W1(Pi_n)): corrected form to 1e-15; printed off by beta Omega_m^{n,xy}."""
    model = ALL[name]
    k = kpoints(3)
    N = model.norbs
    eye = np.eye(N)
    moyal_Z = np.stack(
        [np.diagonal(eigenbasis(model, k, moyal.band_window_first_order(model, k, FIELD, n)), axis1=-2, axis2=-1).real
         for n in range(N)],
        axis=-2,
    )  # [..., n, m] = Tr(P_m W1(Pi_n))
    Zc = pred.spectral_weights(model, k, FIELD, form="corrected") - eye
    Zp = pred.spectral_weights(model, k, FIELD, form="printed") - eye
    F = geo.field_contraction(model, k, FIELD)
    np.testing.assert_allclose(moyal_Z, Zc, atol=1e-15)
    off = ~np.eye(N, dtype=bool)
    np.testing.assert_allclose((Zp - moyal_Z)[..., off], F[..., off], atol=1e-15)
    assert np.max(np.abs(F[..., off])) > 1e-3


@pytest.mark.parametrize("name", list(ALL))
def test_eq12_energy_moment_consistency(name):
    """Tr(P_m W1(H Pi_n)) = O(beta) part of eps-bar^n Z_n^m: holds with the corrected Z, not the printed one."""
    model = ALL[name]
    k = kpoints(4)
    N = model.norbs
    eye = np.eye(N)
    eps, _ = geo.eigensystem(model, k)
    shift = pred.quasiparticle_energy(model, k, FIELD) - eps
    moment = np.stack(
        [np.diagonal(eigenbasis(model, k, moyal.band_window_first_order(model, k, FIELD, n, moment=1)), axis1=-2, axis2=-1).real
         for n in range(N)],
        axis=-2,
    )
    for form, holds in [("corrected", True), ("printed", False)]:
        Z1 = pred.spectral_weights(model, k, FIELD, form=form) - eye
        first_order = eps[..., :, None] * Z1 + eye * shift[..., :, None]
        if holds:
            np.testing.assert_allclose(moment, first_order, atol=1e-14)
        else:
            assert np.max(np.abs(moment - first_order)) > 1e-3
    # the second moment too (f = z^2 on band n): O(beta) part of eps-bar^2 Z
    m2 = np.diagonal(eigenbasis(model, k, moyal.band_window_first_order(model, k, FIELD, 0, moment=2)), axis1=-2, axis2=-1).real
    Z1 = pred.spectral_weights(model, k, FIELD, form="corrected")[..., 0, :] - eye[0]
    np.testing.assert_allclose(m2, eps[..., :1] ** 2 * Z1 + eye[0] * 2 * eps[..., :1] * shift[..., :1], atol=1e-14)


@pytest.mark.parametrize("name", list(ALL))
def test_band_density_eq19_is_the_band_projected_moyal_density(name):
    """Tr(P_n W1(f)) = O(beta) part of band_density (Eq. 19/25, f evaluated at eps-bar).

    f = E^2 and Fermi (mu = 0.1, T = 0.3); values ~1e-4, asserted to 2e-14 absolute
    (rounding floor of the extraction; ~1e-10 relative).
    """
    model = ALL[name]
    k = kpoints(5)
    for f, fp in [(lambda E: E**2, lambda E: 2 * E), (fermi, fermi_prime)]:
        W1 = moyal.wigner_first_order(model, k, SMALL, f, fp)
        ref = np.diagonal(eigenbasis(model, k, W1), axis1=-2, axis2=-1).real
        lin = linear_part(lambda fld: pred.band_density(model, k, fld, f))
        np.testing.assert_allclose(lin, ref, rtol=0, atol=2e-14)
        assert np.max(np.abs(ref)) > 1e-5


@pytest.mark.parametrize("name", list(TWO_BAND))
def test_eq26_transverse_density_holds_as_printed(name):
    """Interband part of W1(f): Bloch vector of W1 - sum_n P_n W1 P_n equals rho_perp of Eq. 26 (1e-15).

    Recorded: Eq. 26 as printed agrees with the Moyal reference (no corrected form needed).
    (For f = E^3 and the particle-hole symmetric Dirac model both sides vanish identically.)
    """
    model = TWO_BAND[name]
    k = kpoints(6)
    for f, fp in [(lambda E: E**3, lambda E: 3 * E**2), (fermi, fermi_prime)]:
        W1 = moyal.wigner_first_order(model, k, FIELD, f, fp)
        _, U = geo.eigensystem(model, k)
        P = np.einsum("...an,...bn->...nab", U, np.conj(U))
        perp = W1 - np.einsum("...nab,...bc,...ncd->...ad", P, W1, P)
        rho_perp = pred.transverse_density(model, k, FIELD, f, fp)
        np.testing.assert_allclose(bloch_vectors(perp), rho_perp, atol=1e-15)
    assert np.max(np.abs(rho_perp)) > 1e-4  # the Fermi case is a nontrivial check


@pytest.mark.parametrize("name", list(TWO_BAND))
def test_two_band_density_matrix_is_the_full_moyal_density(name):
    """Linear part of density_matrix (Eqs. 25 + 26) equals W1(f) as a full 2x2 matrix."""
    model = TWO_BAND[name]
    k = kpoints(7)
    for f, fp in [(lambda E: E**2, lambda E: 2 * E), (fermi, fermi_prime)]:
        lin = linear_part(lambda fld: pred.density_matrix(model, k, fld, f, fp))
        np.testing.assert_allclose(lin, moyal.wigner_first_order(model, k, SMALL, f, fp), rtol=0, atol=2e-14)


def test_three_band_density_matrix_misses_only_the_interband_blocks():
    """N = 3: P_n (density_matrix) P_n agrees with P_n W1 P_n; W1 also has interband blocks it omits."""
    model = ALL["three_band"]
    k = kpoints(8)
    lin = eigenbasis(model, k, linear_part(lambda fld: pred.density_matrix(model, k, fld, fermi)))
    ref = eigenbasis(model, k, moyal.fermi_first_order(model, k, SMALL, MU, TEMP))
    diag = np.eye(3, dtype=bool)
    np.testing.assert_allclose(lin[..., diag], ref[..., diag], rtol=0, atol=2e-14)
    np.testing.assert_allclose(lin[..., ~diag], 0, atol=1e-15)
    assert np.max(np.abs(ref[..., ~diag])) > 1e-6


@pytest.mark.parametrize("name", ["qwz", "haldane"])
def test_spin_density_eq28b_matches_moyal_and_eq27b_does_not(name):
    """O(beta) part of Eq. 28b = k-average of Tr(sigma W1(n_F)) on the same grid (1e-14 absolute).

    Eq. 27b (wave packet) differs at O(beta) by the k-average of
    beta Omega (f_up + f_dn) u + rho_perp; recorded nonzero here.
    """
    model = TWO_BAND[name]
    n = 32
    k = geo.reciprocal_grid(model, n)
    W1 = moyal.fermi_first_order(model, k, SMALL, MU, TEMP)
    ref = np.einsum("...ab,sba->...s", W1, gell_mann(2)).real.reshape(-1, 3).mean(0)
    lin28 = linear_part(lambda fld: pred.spin_density(model, fld, fermi, fermi_prime, n))
    lin27 = linear_part(lambda fld: pred.spin_density_wavepacket(model, fld, fermi, n))
    scale = np.max(np.abs(ref))
    assert scale > 1e-8
    np.testing.assert_allclose(lin28, ref, rtol=0, atol=1e-14)
    assert np.max(np.abs(lin27 - ref)) > 1e-2 * scale


def test_bad_input_raises():
    model = ALL["qwz"]
    with pytest.raises(ValueError, match="band must be"):
        moyal.band_window_first_order(model, kpoints(9), FIELD, 2)
    with pytest.raises(ValueError, match="moment"):
        moyal.band_window_first_order(model, kpoints(9), FIELD, 0, moment=-1)
    with pytest.raises(ValueError, match="dimension >= 2"):

        class OneD:
            dim, norbs = 1, 2

            def bloch(self, k):
                c = np.cos(k[..., 0])
                return np.stack([np.stack([c, 1 + 0 * c], -1), np.stack([1 + 0 * c, -c], -1)], -2).astype(complex)

            def bloch_derivative(self, k):
                s = -np.sin(k[..., 0])
                return np.stack([np.stack([s, 0 * s], -1), np.stack([0 * s, -s], -1)], -2)[..., None, :, :].astype(complex)

        moyal.fermi_first_order(OneD(), np.array([[0.3]]), FIELD, 0.0, 0.1)
