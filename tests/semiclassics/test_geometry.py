"""Quantum geometry (paper Eqs. 4, 13, 38): Berry curvature tensor, sum rules, orbital moment, Chern numbers.

Independent references used here: finite-difference eigenprojectors / Bloch
vectors (central differences, step H = 1e-5, truncation ~H^2 and rounding
~1e-16/H, observed errors ~1e-10 against values of order 1, asserted to 1e-8),
the Kubo sum written out with explicit loops, the continuum Dirac curvature of
Eq. 38 and the integer Chern numbers of the QWZ and Haldane phase diagrams.
"""

import numpy as np
import pytest

from keldysh import UniformB, models
from semiclassics import geometry as geo
from semiclassics.sun import bloch_vectors, cross

H = 1e-5  # finite-difference step
FD_TOL = 1e-8


class RandomModel:
    """Duck-typed N-band 2D model h(k) = A0 + sum_i (A_i e^{i k_i} + h.c.) + (B e^{i(kx+ky)} + h.c.).

    No cell_area / lattice_vectors attributes: exercises the defaults.
    """

    dim = 2

    def __init__(self, N, seed):
        rng = np.random.default_rng(seed)
        self.norbs = N
        A = rng.normal(size=(4, N, N)) + 1j * rng.normal(size=(4, N, N))
        self.A0 = A[0] + A[0].conj().T
        self.A = A[1:]
        self.R = np.array([[1, 0], [0, 1], [1, 1]])

    def bloch(self, k):
        ph = np.exp(1j * np.asarray(k) @ self.R.T)  # (..., 3)
        T = np.einsum("...r,rab->...ab", ph, self.A)
        return self.A0 + T + np.conj(np.swapaxes(T, -1, -2))

    def bloch_derivative(self, k):
        ph = np.exp(1j * np.asarray(k) @ self.R.T)
        T = 1j * np.einsum("...r,ri,rab->...iab", ph, self.R, self.A)
        return T + np.conj(np.swapaxes(T, -1, -2))


MODELS = {
    "qwz": models.qwz(1.0, t0=0.3),
    "haldane": models.haldane(t2=0.15, phi=0.7, M=0.2),  # real orbital positions (convention II)
    "dirac": models.dirac_lattice(v=1.0, delta=0.2),
    "three_band": models.three_band(m=1.0, lam=0.3, t0=0.2),
    "random4": RandomModel(4, seed=7),
}


def kpoints(seed, n=6):
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, size=(n, 2))


def projectors(model, k):
    _, U = np.linalg.eigh(model.bloch(k))
    return np.einsum("...an,...bn->...nab", U, np.conj(U))


def fd_gradient(fun, k):
    """Central differences, stacked as (..., [n,] d, ...) right after the band axis for projectors."""
    k = np.asarray(k, dtype=float)
    out = []
    for i in range(k.shape[-1]):
        dk = np.zeros(k.shape[-1])
        dk[i] = H
        out.append((fun(k + dk) - fun(k - dk)) / (2 * H))
    return out


def fd_projector_gradient(model, k):
    """(..., N, d, N, N) finite-difference d_i P_n."""
    return np.stack(fd_gradient(lambda q: projectors(model, q), k), axis=-3)


# ---------------------------------------------------------------- eigen-data


@pytest.mark.parametrize("name", list(MODELS))
def test_velocity_matrix_is_dh_in_eigenbasis_with_band_velocities_on_diagonal(name):
    model = MODELS[name]
    k = kpoints(1)
    V, eps, U = geo.velocity_matrix(model, k)
    dh = model.bloch_derivative(k)
    np.testing.assert_allclose(U[..., None, :, :] @ V @ np.conj(np.swapaxes(U, -1, -2))[..., None, :, :], dh, atol=1e-12)
    d_eps = np.stack(fd_gradient(lambda q: np.linalg.eigvalsh(model.bloch(q)), k), axis=-2)
    np.testing.assert_allclose(np.diagonal(V, axis1=-2, axis2=-1).real, d_eps, atol=FD_TOL)


@pytest.mark.parametrize("name", list(MODELS))
def test_projector_gradient_matches_finite_differences(name):
    model = MODELS[name]
    k = kpoints(2)
    np.testing.assert_allclose(geo.projector_gradient(model, k), fd_projector_gradient(model, k), atol=FD_TOL)


# ---------------------------------------------------------------- Eq. 13


@pytest.mark.parametrize("name", list(MODELS))
def test_berry_tensor_equals_bloch_vector_form_of_eq13(name):
    """Omega_m^{n,ij} = -(1/2) b_n . (d_i b_m x d_j b_m), finite-difference Bloch vectors, tol 1e-8."""
    model = MODELS[name]
    k = kpoints(3)
    b = bloch_vectors(projectors(model, k))  # (..., N, N^2-1)
    db = bloch_vectors(fd_projector_gradient(model, k))  # (..., N, d, N^2-1)
    d = model.dim
    expected = np.empty(b.shape[:-1] + (b.shape[-2], d, d))
    for i in range(d):
        for j in range(d):
            expected[..., i, j] = -0.5 * np.einsum("...na,...ma->...nm", b, cross(db[..., i, :], db[..., j, :]))
    np.testing.assert_allclose(geo.berry_tensor(model, k), expected, atol=FD_TOL)


@pytest.mark.parametrize("name", list(MODELS))
def test_berry_tensor_equals_projector_form_of_eq13(name):
    """Omega_m^{n,ij} = i Tr(P_n [d_i P_m, d_j P_m]), finite-difference projectors, tol 1e-8."""
    model = MODELS[name]
    k = kpoints(4)
    P = projectors(model, k)
    dP = fd_projector_gradient(model, k)
    prod = np.einsum("...nab,...mibc,...mjca->...nmij", P, dP, dP)
    expected = 1j * (prod - np.swapaxes(prod, -1, -2))
    np.testing.assert_allclose(expected.imag, 0, atol=1e-12)
    np.testing.assert_allclose(geo.berry_tensor(model, k), expected.real, atol=FD_TOL)


@pytest.mark.parametrize("name", list(MODELS))
def test_diagonal_is_kubo_berry_curvature(name):
    """Omega_n^{n,xy} = -2 Im sum_{l != n} V^x_nl V^y_ln / (eps_n - eps_l)^2 (explicit loops)."""
    model = MODELS[name]
    k = kpoints(5, n=3)
    V, eps, _ = geo.velocity_matrix(model, k)
    N = model.norbs
    kubo = np.zeros(eps.shape)
    for p in range(len(k)):
        for n in range(N):
            for l in range(N):
                if l != n:
                    kubo[p, n] += -2 * np.imag(V[p, 0, n, l] * V[p, 1, l, n]) / (eps[p, n] - eps[p, l]) ** 2
    np.testing.assert_allclose(geo.berry_curvature(model, k), kubo, rtol=1e-12, atol=1e-14)
    T = geo.berry_tensor(model, k)
    np.testing.assert_allclose(np.diagonal(T[..., 0, 1], axis1=-2, axis2=-1), kubo, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(T, -np.swapaxes(T, -1, -2), atol=0)


@pytest.mark.parametrize("name", ["qwz", "haldane", "three_band", "random4"])
def test_sum_rules_and_which_index_placement_holds(name):
    """Sum rules of the tensor of Eq. 13 AS PRINTED (indices [n, m] = Omega_m^n).

    What holds (asserted to 1e-12):
      * sum over the LOWER index:  sum_{m != n} Omega_m^n = +Omega_n^n;
      * sum over the UPPER index:  sum_{n != m} Omega_m^n = -Omega_m^m;
      * Omega_n^m = -Omega_m^n for n != m, and sum_n Omega_n^n = 0.
    The paper prints sum_{m != n} Omega_m^n = -Omega_n^n (lower index): with
    Eq. 13 as printed that rule has the OPPOSITE sign; the test asserts it fails
    by 2 |Omega_n^n|. (It would hold for the transposed tensor; the paper's own
    two-band statement Omega_sigma^sigma = Omega_{-sigma}^sigma agrees with the
    + sign, see the next test.)
    """
    model = MODELS[name]
    T = geo.berry_tensor(model, kpoints(6))
    N = model.norbs
    off = ~np.eye(N, dtype=bool)
    diag = np.diagonal(T, axis1=-4, axis2=-3)  # (..., d, d, N): Omega_n^n
    diag = np.moveaxis(diag, -1, -3)  # (..., N, d, d)
    lower_sum = np.einsum("...nmij,nm->...nij", T, off)
    upper_sum = np.einsum("...nmij,nm->...mij", T, off)
    np.testing.assert_allclose(lower_sum, diag, atol=1e-12)
    np.testing.assert_allclose(upper_sum, -diag, atol=1e-12)
    np.testing.assert_allclose(diag.sum(axis=-3), 0, atol=1e-12)
    offT = T[..., off, :, :]
    offTt = np.swapaxes(T, -4, -3)[..., off, :, :]
    np.testing.assert_allclose(offTt, -offT, atol=0)
    # the printed lower-index rule fails by 2 |Omega_n^n| (nonzero here)
    violation = np.abs(lower_sum + diag)[..., 0, 1]
    np.testing.assert_allclose(violation, 2 * np.abs(diag[..., 0, 1]), atol=1e-12)
    assert np.min(np.abs(diag[..., 0, 1])) > 1e-4


@pytest.mark.parametrize("name", ["qwz", "haldane", "dirac"])
def test_two_band_relations_of_the_paper_hold(name):
    """Omega_sigma^sigma = Omega_{-sigma}^sigma = sigma Omega (text after Eq. 20), Omega = Omega_up^up."""
    T = geo.berry_tensor(MODELS[name], kpoints(7))[..., 0, 1]
    omega = T[..., 1, 1]
    for s, sigma in [(1, +1), (0, -1)]:
        np.testing.assert_allclose(T[..., s, s], sigma * omega, atol=1e-13)
        np.testing.assert_allclose(T[..., s, 1 - s], sigma * omega, atol=1e-13)


def test_dirac_curvature_reproduces_eq38_near_k0():
    """Eq. 38: Omega_up^{up,xy}(p) = -v^2 delta / (2 (v^2 p^2 + delta^2)^{3/2}) at small p.

    dirac_lattice has d = (v sin kx, v sin ky, delta + r(2 - cos kx - cos ky)); the
    exact lattice value is -(v^2/2)(d_z cos kx cos ky - r sin^2 kx cos ky
    - r sin^2 ky cos kx)/|d|^3 (asserted to 1e-12 relative). Its deviation from
    the continuum Eq. 38 is a lattice correction: expanding at v p << delta, the
    relative deviation is -(1/2 + 2 r/delta) p^2 (= -10.5 p^2 here; cos kx cos ky
    gives 1/2, the Wilson mass r p^2/2 in d_z gives r/(2 delta) in the numerator
    and 3 r/(2 delta) in |d|^-3). Asserted: below 1.05 (1/2 + 2 r/delta) p^2 for
    p <= 0.04, prefactor within 1 % at p = 0.005, fitted log-log slope 2 +- 0.05,
    exact at p = 0 (-1/(2 delta)).
    """
    v, delta, r = 1.3, 0.2, 1.0
    model = models.dirac_lattice(v=v, delta=delta, r=r)
    p = np.array([0.0, 0.005, 0.01, 0.02, 0.04])
    theta = 0.37
    k = np.stack([p * np.cos(theta), p * np.sin(theta)], axis=-1)
    omega_up = geo.berry_curvature(model, k)[:, 1]
    kx, ky = k[:, 0], k[:, 1]
    dz = delta + r * (2 - np.cos(kx) - np.cos(ky))
    dnorm = np.sqrt(v**2 * (np.sin(kx) ** 2 + np.sin(ky) ** 2) + dz**2)
    lattice = -0.5 * v**2 * (
        dz * np.cos(kx) * np.cos(ky) - r * np.sin(kx) ** 2 * np.cos(ky) - r * np.sin(ky) ** 2 * np.cos(kx)
    ) / dnorm**3
    np.testing.assert_allclose(omega_up, lattice, rtol=1e-12)
    eq38 = -(v**2) * delta / (2 * (v**2 * p**2 + delta**2) ** 1.5)
    rel = np.abs(omega_up / eq38 - 1)
    assert rel[0] < 1e-13
    coeff = 0.5 + 2 * r / delta
    assert np.all(rel[1:] < 1.05 * coeff * p[1:] ** 2)
    assert rel[1] / p[1] ** 2 == pytest.approx(coeff, rel=1e-2)
    slope = np.polyfit(np.log(p[1:]), np.log(rel[1:]), 1)[0]
    assert abs(slope - 2) < 0.05
    # lower band: opposite curvature
    np.testing.assert_allclose(geo.berry_curvature(model, k)[:, 0], -omega_up, rtol=1e-12)


# ---------------------------------------------------------------- contractions


def test_axial_curvature_and_field_contraction():
    model = MODELS["haldane"]
    k = kpoints(8)
    T = geo.berry_tensor(model, k)
    ax = geo.axial_curvature(T)
    np.testing.assert_array_equal(ax[..., :2], 0)
    np.testing.assert_array_equal(ax[..., 2], T[..., 0, 1])
    field = UniformB(0.013)
    beta = 2 * np.pi * 0.013 / (np.sqrt(3) / 2)  # honeycomb cell area sqrt(3)/2
    np.testing.assert_allclose(geo.field_contraction(model, k, field), beta * T[..., 0, 1], rtol=1e-13)
    # 3D (Weyl): (Omega)_c = (1/2) eps_abc Omega^{ab}
    weyl = models.weyl(m=1.0)
    k3 = np.random.default_rng(9).uniform(-1, 1, size=(4, 3)) + np.array([0.3, 0.2, 0.1])
    T3 = geo.berry_tensor(weyl, k3)
    ax3 = geo.axial_curvature(T3)
    np.testing.assert_array_equal(ax3[..., 0], T3[..., 1, 2])
    np.testing.assert_array_equal(ax3[..., 1], T3[..., 2, 0])
    np.testing.assert_array_equal(ax3[..., 2], T3[..., 0, 1])
    assert np.all(np.abs(ax3[..., 1, 1, :]) > 1e-4)
    with pytest.raises(ValueError, match="shape"):
        geo.axial_curvature(np.zeros((2, 2, 4, 4)))


@pytest.mark.parametrize("name", ["qwz", "haldane", "three_band", "random4"])
def test_orbital_moment_matches_finite_difference_projector_formula(name):
    """m_n = (i/2) Tr(P_n [d_x P_n (h - eps_n) d_y P_n - (x <-> y)]) with FD projectors, tol 1e-8."""
    model = MODELS[name]
    k = kpoints(10)
    eps = np.linalg.eigvalsh(model.bloch(k))
    P = projectors(model, k)
    dP = fd_projector_gradient(model, k)
    N = model.norbs
    hm = model.bloch(k)[..., None, :, :] - eps[..., :, None, None] * np.eye(N)  # (..., N, N, N): h - eps_n
    t = np.einsum("...nab,...nbc,...ncd,...nde->...nae", P, dP[..., 0, :, :], hm, dP[..., 1, :, :])
    expected = 0.5j * np.trace(t - np.conj(np.swapaxes(t, -1, -2)), axis1=-2, axis2=-1)
    # (P dxP M dyP)^dagger = dyP M dxP P, same trace as P dyP M dxP
    np.testing.assert_allclose(expected.imag, 0, atol=1e-12)
    np.testing.assert_allclose(geo.orbital_moment(model, k), expected.real, atol=FD_TOL)


# ---------------------------------------------------------------- Chern numbers


@pytest.mark.parametrize("m", [-3.0, -1.5, -0.5, 0.5, 1.5, 3.0])
def test_qwz_chern_numbers_tensor_vs_fhs(m):
    """QWZ, t0 = 0.3: lower band C = +1 for -2 < m < 0, -1 for 0 < m < 2, 0 for |m| > 2 (A = i<u|grad u>).

    Tensor integration (n_k = 48) to 1e-6, FHS (n_k = 24) to 1e-10.
    """
    model = models.qwz(m, t0=0.3)
    expected_lower = 0.0 if abs(m) > 2 else (1.0 if m < 0 else -1.0)
    expected = np.array([expected_lower, -expected_lower])
    np.testing.assert_allclose(geo.chern_numbers(model, 48), expected, atol=1e-6)
    np.testing.assert_allclose(geo.chern_numbers_fhs(model, 24), expected, atol=1e-10)


@pytest.mark.parametrize("phi", [np.pi / 2, np.pi / 3, -np.pi / 2, -np.pi / 3])
@pytest.mark.parametrize("M", [0.0, 0.35, 1.1])
def test_haldane_phase_diagram(phi, M):
    """Lower band |C| = 1 inside |M| < 3 sqrt3 |t2 sin phi| (sign of sin phi), 0 outside; phi -> -phi flips it."""
    t2 = 0.15
    model = models.haldane(t2=t2, phi=phi, M=M)
    inside = abs(M) < 3 * np.sqrt(3) * abs(t2 * np.sin(phi))
    lower = np.sign(np.sin(phi)) if inside else 0.0
    expected = np.array([lower, -lower])
    np.testing.assert_allclose(geo.chern_numbers(model, 72), expected, atol=1e-6)
    np.testing.assert_allclose(geo.chern_numbers_fhs(model, 36), expected, atol=1e-10)


def test_three_band_chern_numbers_agree_and_sum_to_zero():
    model = MODELS["three_band"]
    c_fhs = geo.chern_numbers_fhs(model, 40)
    np.testing.assert_allclose(c_fhs, np.rint(c_fhs), atol=1e-10)
    np.testing.assert_allclose(geo.chern_numbers(model, 80), c_fhs, atol=1e-6)
    assert c_fhs.sum() == pytest.approx(0, abs=1e-10)
    assert np.any(np.rint(c_fhs) != 0)


def test_chern_numbers_do_not_depend_on_cell_orientation():
    """Same h(k), lattice vectors listed in the opposite orientation (det < 0): same Chern numbers."""

    class Swapped:
        dim, norbs = 2, 2
        lattice_vectors = np.array([[0.0, 1.0], [1.0, 0.0]])

        def __init__(self, inner):
            self.inner = inner

        def bloch(self, k):
            return self.inner.bloch(k)

        def bloch_derivative(self, k):
            return self.inner.bloch_derivative(k)

    model = models.qwz(1.0, t0=0.3)
    np.testing.assert_allclose(geo.chern_numbers_fhs(Swapped(model), 24), geo.chern_numbers_fhs(model, 24), atol=1e-10)
    np.testing.assert_allclose(geo.chern_numbers(Swapped(model), 48), geo.chern_numbers(model, 48), atol=1e-12)


# ---------------------------------------------------------------- bad input


def test_degenerate_bands_raise():
    with pytest.raises(ValueError, match=r"bands 0 and 1 are degenerate at k=\[3.14159"):
        geo.berry_tensor(models.qwz(0.0), np.array([np.pi, 0.0]))
    with pytest.raises(ValueError, match=r"degenerate at k=\[0.0, 0.0\].*curvature undefined"):
        geo.berry_curvature(models.dirac_lattice(delta=0.0), np.zeros(2))
    with pytest.raises(ValueError, match="degenerate"):
        geo.chern_numbers(models.qwz(0.0), 8)  # the grid contains (pi, 0)
    with pytest.raises(ValueError, match="degenerate"):
        geo.chern_numbers_fhs(models.qwz(2.0), 8)  # gap closes at (pi, pi)


def test_wrong_k_shape_raises():
    model = MODELS["qwz"]
    with pytest.raises(ValueError, match="shape"):
        geo.berry_tensor(model, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="shape"):
        geo.eigensystem(model, 0.1)
    with pytest.raises(ValueError, match="non-finite"):
        geo.orbital_moment(model, [np.nan, 0.0])
    with pytest.raises(ValueError, match="2D"):
        geo.chern_numbers(models.weyl(), 4)
    with pytest.raises(ValueError, match="positive integer"):
        geo.reciprocal_grid(model, 0)


def test_reciprocal_grid_covers_the_honeycomb_cell():
    model = MODELS["haldane"]
    k = geo.reciprocal_grid(model, 5)
    assert k.shape == (5, 5, 2)
    frac = k @ np.asarray(model.lattice_vectors).T / (2 * np.pi)  # k . a_j / 2 pi
    s = np.arange(5) / 5
    np.testing.assert_allclose(frac[..., 0], s[:, None] + 0 * s[None, :], atol=1e-14)
    np.testing.assert_allclose(frac[..., 1], s[None, :] + 0 * s[:, None], atol=1e-14)
