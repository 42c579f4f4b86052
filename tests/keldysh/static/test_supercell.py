"""Magnetic-supercell route (a): Bloch Hamiltonian, dressed kernels, invariances, bad input."""

import itertools

import numpy as np
import pytest

from keldysh import TightBinding, UniformB, models
from keldysh.spectral import FermiDirac, band_window
from keldysh.static.supercell import (
    ConvergenceError,
    converged_kernel,
    magnetic_bloch,
    magnetic_kmesh,
    magnetic_spectrum,
    rational_flux,
    supercell_kernel,
)
from keldysh.wigner import wigner_from_kernel

MODELS = {"qwz": models.qwz(1.0, 0.3), "haldane": models.haldane(), "three_band": models.three_band()}
RNG = np.random.default_rng(7)
K = RNG.uniform(-np.pi, np.pi, size=(16, 2))


def box(radius: int) -> np.ndarray:
    """All cells with |R_i| <= radius, the home cell first."""
    cells = sorted(itertools.product(range(-radius, radius + 1), repeat=2), key=lambda R: R != (0, 0))
    return np.array(cells)


def wigner(model, cells, values, k=K):
    return wigner_from_kernel(model.lattice_vectors, model.positions, cells, values, k)


def band_projector(model, k, n):
    _, u = np.linalg.eigh(model.bloch(k))
    return u[..., :, n, None] * u[..., :, n].conj()[..., None, :]


# --- rational flux -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "flux, pq", [(1 / 7, (1, 7)), (-2 / 31, (-2, 31)), (0.0, (0, 1)), (3 / 5, (3, 5)), (1.25, (5, 4))]
)
def test_rational_flux(flux, pq):
    assert rational_flux(flux) == pq


@pytest.mark.parametrize("flux", [1 / (2 * np.pi), np.sqrt(2) / 10])
def test_irrational_flux_raises(flux):
    with pytest.raises(ValueError, match="not a rational p/q"):
        rational_flux(flux)
    with pytest.raises(ValueError, match="not a rational p/q"):
        magnetic_bloch(MODELS["qwz"], UniformB(flux), K)


def test_denominator_limit():
    assert rational_flux(1 / 2001, max_denominator=2001) == (1, 2001)
    with pytest.raises(ValueError, match="q <= 2000"):
        rational_flux(1 / 2001)


# --- the Bloch Hamiltonian -----------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("flux", [1 / 7, -2 / 31, 3 / 5])
@pytest.mark.parametrize("gauge", ["landau_x", "landau_y"])
def test_bloch_hermitian(name, flux, gauge):
    """Hermiticity across the supercell boundary needs the translation phases g_a (honeycomb: g_a != 0)."""
    H = magnetic_bloch(MODELS[name], UniformB(flux), K, gauge)
    p, q = rational_flux(flux)
    assert H.shape == (len(K), q * MODELS[name].norbs, q * MODELS[name].norbs)
    assert np.abs(H - H.conj().swapaxes(-1, -2)).max() < 1e-13  # phases O(q) rad, rounded independently


@pytest.mark.parametrize("name", MODELS)
def test_zero_flux_spectrum_is_band_structure(name):
    model = MODELS[name]
    E = magnetic_spectrum(model, UniformB(0.0), 6)
    k = magnetic_kmesh(model, UniformB(0.0), 6)
    assert np.abs(E - np.linalg.eigvalsh(model.bloch(k))).max() < 1e-13


@pytest.mark.parametrize("name", MODELS)
def test_spectrum_periodic_in_magnetic_zone(name):
    """H(k + B_i) is unitarily equivalent to H(k) for the magnetic reciprocal vectors B_i."""
    model, field = MODELS[name], UniformB(2 / 5)
    B = magnetic_kmesh(model, field, (2, 2))[[1, 0], [0, 1]] * 2  # B_1 = b_1 / q and B_2 = b_2
    for Bi in B:
        E0 = np.linalg.eigvalsh(magnetic_bloch(model, field, K))
        E1 = np.linalg.eigvalsh(magnetic_bloch(model, field, K + Bi))
        assert np.abs(E1 - E0).max() < 1e-12


# --- kernels -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("flux", [1 / 7, -1 / 11, 2 / 31, 3 / 5])
def test_wigner_of_hamiltonian_is_bloch(name, flux):
    """W(H)(k) = h(k): the dressed kernel of the Peierls H is T_{-R}, whatever the flux."""
    model = MODELS[name]
    cells = np.array(list(model.hoppings))
    res = converged_kernel(model, UniformB(flux), lambda E: E, cells)
    assert np.abs(wigner(model, cells, res.values) - model.bloch(K)).max() < 1e-13


@pytest.mark.slow
@pytest.mark.parametrize("name", ["qwz", "haldane"])
def test_zero_flux_band_window_is_projector(name):
    """At flux 0, W(Pi_n)(k) = P_n(k) (kernel truncated at |R_i| <= 34, where it is ~ 1e-14)."""
    model = MODELS[name]
    cells = box(34)
    for n in range(model.norbs):
        values = supercell_kernel(model, UniformB(0.0), band_window(model, n), cells)
        assert np.abs(wigner(model, cells, values) - band_projector(model, K, n)).max() < 1e-11


# (model, flux, radius of the cell box beyond which sum |Pi|^2 < 1e-13)
PROJECTOR_CASES = [
    pytest.param(("qwz", 1 / 7, 16), id="qwz-1/7"),
    pytest.param(("haldane", -1 / 11, 16), id="haldane--1/11"),
    pytest.param(("three_band", -1 / 23, 20), id="three_band--1/23"),
]


@pytest.fixture(scope="module", params=PROJECTOR_CASES)
def projectors(request):
    """Kernels of every band window of an isolated-band case, on a box of cells."""
    name, flux, radius = request.param
    model, cells = MODELS[name], box(radius)
    values = [supercell_kernel(model, UniformB(flux), band_window(model, n), cells) for n in range(model.norbs)]
    return model, cells, values


@pytest.mark.slow
def test_band_windows_sum_to_identity(projectors):
    model, cells, values = projectors
    W = wigner(model, cells, sum(values))
    assert np.abs(W - np.eye(model.norbs)).max() < 1e-12


@pytest.mark.slow
def test_band_windows_are_hermitian(projectors):
    """Pi~(-R + tau_b, tau_a) = conj Pi~(R + tau_a, tau_b) (Hermiticity plus magnetic translation invariance)."""
    model, cells, values = projectors
    minus = [np.flatnonzero((cells == -R).all(axis=1))[0] for R in cells]
    for v in values:
        assert np.abs(v[minus].swapaxes(-1, -2).conj() - v).max() < 1e-12


@pytest.mark.slow
def test_band_windows_are_idempotent(projectors):
    """(Pi Pi)(tau_b, tau_b) = sum_{s,a} |Pi(R_s + tau_a, tau_b)|^2 = Pi(tau_b, tau_b)."""
    model, cells, values = projectors
    for v in values:
        lhs = np.einsum("sab,sab->b", v.conj(), v).real
        assert np.abs(lhs - np.diag(v[0]).real).max() < 1e-11


@pytest.mark.slow
@pytest.mark.parametrize("name, flux", [("haldane", 1 / 7), ("haldane", -2 / 31), ("qwz", -1 / 11)])
def test_kernel_independent_of_home_cell_and_gauge(name, flux):
    """Magnetic translation invariance (home cell a1, a2, q a1 + 2 a2, ...) and gauge invariance of O~."""
    model, field, cells = MODELS[name], UniformB(flux), box(5)
    _, q = rational_flux(flux)
    band = band_window(model, 0)
    ref = supercell_kernel(model, field, band, cells)
    for home in [(1, 0), (0, 1), (q, 2), (-q - 3, -1)]:
        shifted = supercell_kernel(model, field, band, cells, home=np.array(home))
        assert np.abs(shifted - ref).max() < 1e-12, home
    assert np.abs(supercell_kernel(model, field, band, cells, gauge="landau_y") - ref).max() < 1e-12
    occupation = FermiDirac(mu=0.0, T=0.2)
    assert np.abs(
        supercell_kernel(model, field, occupation, cells, gauge="landau_y")
        - supercell_kernel(model, field, occupation, cells)
    ).max() < 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("gauge", ["landau_x", "landau_y"])
def test_left_handed_lattice_vectors(gauge):
    """Swapping a1 <-> a2 (sign(a1 x a2) = -1) describes the same crystal in the same field B_z:
    the dressed kernel, indexed by the swapped cells, is unchanged (tests the orientation signs
    in g_a and in the translation orbit)."""
    h = MODELS["haldane"]
    hoppings = {R[::-1]: T for R, T in h.hoppings.items()}
    swapped = TightBinding(hoppings, positions=h.positions[:, ::-1], lattice_vectors=h.lattice_vectors[::-1])
    cells = box(4)
    for flux in [1 / 7, -2 / 9]:
        ref = supercell_kernel(h, UniformB(flux), band_window(h, 0), cells, gauge=gauge)
        other = supercell_kernel(swapped, UniformB(flux), band_window(swapped, 0), cells[:, ::-1], gauge=gauge)
        assert np.abs(other - ref).max() < 1e-12


def test_reported_mesh_puts_images_far():
    """The final mesh leaves >= 2 (2 max|R| + 8) cells between images, and the last change is below tol."""
    model, cells = MODELS["qwz"], box(4)
    res = converged_kernel(model, UniformB(1 / 7), band_window(model, 0), cells, tol=1e-11)
    assert res.change < 1e-11
    assert res.mesh[1] >= 2 * 16 and res.mesh[0] * 7 >= 2 * 16


# --- bad input -----------------------------------------------------------------------------


def test_gapless_window_raises_convergence_error():
    """T = 0 occupation with mu inside a magnetic band: f(H) is long-ranged, no mesh converges."""
    model, field = MODELS["qwz"], UniformB(1 / 7)
    E = magnetic_spectrum(model, field, 8).reshape(-1, 14)
    widest = np.argmax(E.max(axis=0) - E.min(axis=0))
    mu = 0.5 * (E[:, widest].max() + E[:, widest].min())
    with pytest.raises(ConvergenceError, match="not converged"):
        supercell_kernel(model, field, FermiDirac(mu=mu, T=0.0), box(2), max_kpoints=5000)
    assert issubclass(ConvergenceError, RuntimeError)


def test_band_not_isolated_raises():
    model = models.qwz(1.0, t0=1.5)
    with pytest.raises(ValueError, match="not isolated"):
        supercell_kernel(model, UniformB(1 / 7), band_window(model, 0), box(2))


def test_bad_arguments_raise():
    model, field = MODELS["qwz"], UniformB(1 / 7)
    with pytest.raises(ValueError, match="one-axis magnetic supercell"):
        magnetic_bloch(model, field, K, gauge="symmetric")
    with pytest.raises(ValueError, match="cells must be an integer array"):
        supercell_kernel(model, field, band_window(model, 0), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="last axis of length d=2"):
        magnetic_bloch(model, field, np.zeros((4, 3)))
