"""Layered 3D models in B along z: k_z slices, per-k_z supercells, Bloch's theorem, node-resolved currents."""

import numpy as np
import pytest

from keldysh import TightBinding, UniformB, models
from keldysh.fields import UniformE
from keldysh.layered import (
    LayeredSupercell,
    clenshaw_curtis,
    equilibrium_current,
    kz_slice,
    level_crossings,
    level_gap,
    node_resolved,
    pumped_particles,
    reduced_kmesh,
    slab_density,
    slice_spectrum,
)
from keldysh.spectral import FermiDirac
from keldysh.static.supercell import magnetic_bloch

WEYL = models.weyl(1.0, np.pi / 2, tilt=0.2, offset=0.2)
RNG = np.random.default_rng(11)


def stacked_model() -> TightBinding:
    """Two orbitals at different heights (tau_z = 0, 0.3 c), c = 1.7, oblique in-plane lattice, hops with R3 = 0, 1, 2."""
    a = np.array([[1.0, 0.0, 0.0], [0.4, 0.9, 0.0], [0.0, 0.0, 1.7]])
    pos = np.array([[0.1, 0.2, 0.0], [0.6, 0.5, 0.3]])
    hop = {
        (0, 0, 0): np.array([[0.3, 0.5 - 0.2j], [0.5 + 0.2j, -0.4]]),
        (1, 0, 0): np.array([[0.2, 0.1j], [0.3, -0.1]]),
        (0, 1, 0): np.array([[0.1, 0.2], [0.05j, 0.3]]),
        (0, 0, 1): np.array([[0.4, 0.1], [0.2j, -0.3]]),
        (1, -1, 1): np.array([[0.1j, 0.0], [0.15, 0.05]]),
        (0, 0, 2): np.array([[0.05, 0.02], [0.0, 0.07]]),
    }
    return TightBinding(hop, positions=pos, lattice_vectors=a)


# --- k_z slices --------------------------------------------------------------------------


@pytest.mark.parametrize("model", [WEYL, stacked_model()], ids=["weyl", "stacked"])
def test_slice_is_the_bloch_hamiltonian_at_fixed_kz(model):
    kz = 0.73
    k2 = RNG.uniform(-np.pi, np.pi, size=(12, 2))
    k3 = np.concatenate([k2, np.full((12, 1), kz)], axis=1)
    assert np.abs(kz_slice(model, kz).bloch(k2) - model.bloch(k3)).max() < 1e-13
    assert np.abs(kz_slice(model, kz, order=1).bloch(k2) - model.bloch_derivative(k3)[:, 2]).max() < 1e-13


@pytest.mark.parametrize("model", [WEYL, stacked_model()], ids=["weyl", "stacked"])
def test_layered_supercell_is_the_3d_supercell(model):
    """The layer expansion reproduces the 3D magnetic supercell (up to the diagonal kz phase of the z offsets)."""
    field = UniformB(2 / 5)
    cell = LayeredSupercell(model, field, mesh=2)
    kz = np.array([-2.1, 0.4, 1.3])
    H = cell.hamiltonian(kz)
    tau = np.tile(model.positions[:, 2] * model.lattice_vectors[2, 2], 5)
    for i, z in enumerate(kz):
        k3 = np.concatenate([cell.k, np.full((len(cell.k), 1), z)], axis=1)
        D = np.exp(1j * z * tau)
        direct = D[:, None] * magnetic_bloch(model, field, k3) * D.conj()[None, :]
        assert np.abs(H[i] - direct).max() < 1e-13
    step = 1e-5
    fd = (cell.hamiltonian(kz + step) - cell.hamiltonian(kz - step)) / (2 * step)
    assert np.abs(cell.hamiltonian(kz, order=1) - fd).max() < 1e-8


def test_velocities_are_energy_derivatives():
    """<i|dH/dkz|i> = dE_i/dkz (Hellmann-Feynman), away from degeneracies."""
    field = UniformB(1 / 6)
    kz, step = np.array([0.37, 2.2]), 1e-6
    sp = slice_spectrum(WEYL, field, kz)
    dE = (slice_spectrum(WEYL, field, kz + step).energies - slice_spectrum(WEYL, field, kz - step).energies) / (2 * step)
    assert np.abs(sp.velocities - dE).max() < 1e-6


def test_reduced_mesh_samples_a_q_by_q_torus():
    """One reduced-zone point equals the average over q points ky = 2 pi j / q of the magnetic zone."""
    field, q = UniformB(2 / 7), 7
    occ = FermiDirac(0.1, 0.2)
    sp = slice_spectrum(WEYL, field, [0.3, 1.9], mesh=1)
    k = np.stack([np.zeros(q), 2 * np.pi * np.arange(q) / q], axis=1)
    for i, z in enumerate([0.3, 1.9]):
        E, U = np.linalg.eigh(magnetic_bloch(kz_slice(WEYL, z), field, k))
        V = np.einsum("kai,kab,kbi->ki", U.conj(), magnetic_bloch(kz_slice(WEYL, z, 1), field, k), U).real
        assert abs(sp.current(occ)[i] - (occ(E) * V).sum() / q**2) < 1e-13
        assert abs(sp.density(occ)[i] - occ(E).sum() / q**2) < 1e-13
    assert reduced_kmesh(WEYL, field, 3).shape == (9, 2)


# --- Bloch's theorem -----------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0.0, 0.2], ids=["no-offset", "offset"])
@pytest.mark.parametrize("flux", [1 / 8, -2 / 9])
def test_blochs_theorem_no_equilibrium_current(offset, flux):
    """The exact equilibrium current along B vanishes to 1e-10 at T > 0, with and without a node-energy offset.

    The k_z grid starts at a generic origin, so no slice has a mirror partner
    at -k_z: the zero is the total-derivative structure j(kz) = d Omega/d kz,
    not a pairwise cancellation, while the slices carry currents of order 0.1.
    """
    model = models.weyl(1.0, np.pi / 2, tilt=0.3, offset=offset)
    res = equilibrium_current(model, UniformB(flux), 0.05, 0.05, tol=1e-12, origin=0.1234)
    assert abs(res.value) < 1e-10
    assert res.change < 1e-12
    per_slice = slice_spectrum(model, UniformB(flux), np.array([0.4, 2.0])).current(FermiDirac(0.05, 0.05))
    assert np.abs(per_slice).max() > 0.1


def test_equilibrium_current_halves_cancel():
    """The two halves carry opposite currents of order 0.25 that cancel to 1e-10."""
    res = node_resolved(WEYL, UniformB(1 / 8), 0.0, 0.05, tol=1e-10)
    assert np.abs(res.current).min() > 0.2
    assert abs(res.total_current) < 1e-10
    assert res.change.max() < 1e-10


# --- node-resolved integrals ----------------------------------------------------------------


def grand_potential(model, field, kz, mu, T):
    """Omega(kz) = sum_i -T ln(1 + exp(-(E_i - mu)/T)) per unit area (eigenvalues only)."""
    sp = slice_spectrum(model, field, [kz])
    return float(np.sum(-T * np.logaddexp(0.0, -(sp.energies - mu) / T)) * sp.weight)


def test_half_current_is_grand_potential_difference():
    """int_half dkz/(2 pi) Tr[f dH/dkz] = [Omega(b) - Omega(a)] / (2 pi): the velocity route against eigenvalues alone."""
    field, mu, T = UniformB(1 / 10), (0.1, -0.1), 0.04
    res = node_resolved(WEYL, field, mu, T, tol=1e-11)
    for h, ((a, b), m) in enumerate(zip(res.bounds, mu)):
        expected = (grand_potential(WEYL, field, b, m, T) - grand_potential(WEYL, field, a, m, T)) / (2 * np.pi)
        assert abs(res.current[h] - expected) < 1e-10


@pytest.mark.slow
def test_chiral_imbalance_current_is_streda_quantized():
    """J = -(mu+ - mu-) [n(pi) - n(0)] / (2 pi) with Streda's n = 1 - flux C: 2 mu5 beta (C_pi - C_0) / (4 pi^2).

    Both planes are insulators with mu+- in their gap; C_pi - C_0 = -1 (the
    half 0 < kz < pi holds the node of chirality -1).
    """
    flux, mu5, T = 1 / 16, 0.1, 0.025
    res = node_resolved(WEYL, UniformB(flux), (mu5, -mu5), T, tol=1e-11)
    beta = 2 * np.pi * flux
    assert abs(res.total_current - 2 * mu5 * beta * (-1) / (4 * np.pi**2)) < 1e-12
    sp = slice_spectrum(WEYL, UniformB(flux), [0.0, np.pi])
    n0, npi = sp.density(FermiDirac(0.0, T))
    assert abs(n0 - 1.0) < 1e-12 and abs(npi - (1 + flux)) < 1e-12  # C_0 = 0, C_pi = -1


# --- slab densities and Landau levels crossing mu -----------------------------------------------


def test_slab_density_is_the_node_resolved_density():
    """The density of each half from slab_density equals node_resolved's (same nested rule) to 1e-12."""
    field, T = UniformB(1 / 8), 0.025
    res = node_resolved(WEYL, field, 0.0, T, tol=1e-11)
    for h, bounds in enumerate(res.bounds):
        assert slab_density(WEYL, field, 0.0, T, bounds, tol=1e-11).value == pytest.approx(res.density[h], abs=1e-12)


@pytest.mark.parametrize("flux", [1 / 8, 1 / 16])
def test_slab_density_is_streda_in_an_insulating_slab(flux):
    """2.6 < kz < 3.1 holds no Fermi surface (lower band filled, Chern number -1): N = (b - a)(1 + flux)/(2 pi)."""
    a, b = 2.6, 3.1
    res = slab_density(WEYL, UniformB(flux), 0.0, 0.01, (a, b), tol=1e-12)
    assert res.value == pytest.approx((b - a) * (1 + flux) / (2 * np.pi), abs=1e-12)


OFFSET_WEYL = models.weyl(1.0, np.pi / 2, tilt=0.2, offset=0.8)  # node at kz = -pi/2, energy -0.8, tilt 0.2


@pytest.mark.slow
@pytest.mark.parametrize("distance, levels", [(0.30, 1), (0.52, 2), (0.69, 3), (0.80, 4)])
def test_level_crossings_follow_the_continuum_landau_levels(distance, levels):
    """Flux 1/64 around the node at (0, 0, -pi/2), mu = eps_K + distance (an electron pocket): the count on the
    exact spectrum equals 1 + #{n >= 1 : sqrt(2 n beta) (1 - t^2)^(3/4) < mu - eps_K} (v = 1, tilt t = 0.2;
    levels 0.43, 0.61, 0.74, 0.86), the chiral level crossing once and each massive level twice. The
    distances sit between consecutive levels (the lattice shifts them by <= 0.04 at this field)."""
    field = UniformB(1 / 64)
    spacing = np.sqrt(2 * 2 * np.pi * field.flux) * (1 - 0.2**2) ** 0.75
    assert 1 + int(np.floor((distance / spacing) ** 2)) == levels  # the formula's count
    res = level_crossings(OFFSET_WEYL, field, -0.8 + distance, (-np.pi / 2 - 0.8, -np.pi / 2 + 0.8), n_kz=160)
    assert (res.net, res.pairs, res.levels) == (1, levels - 1, levels)


def test_level_crossings_count_whole_levels_at_flux_p_over_q():
    """At flux p/q every Landau level is p magnetic bands of the supercell: flux -2/33 counts like -1/16."""
    bounds = (-np.pi / 2 - 1.2, -np.pi / 2 + 1.2)
    one = level_crossings(OFFSET_WEYL, UniformB(-1 / 16), 0.1, bounds, n_kz=240)
    two = level_crossings(OFFSET_WEYL, UniformB(-2 / 33), 0.1, bounds, n_kz=240)
    assert one == two and one.levels == 2


def test_level_gap_is_the_distance_to_the_nearest_level():
    """level_gap = min over the same slices of |E_i - energy| from slice_spectrum; ~0 on a slab that crosses a pocket."""
    field = UniformB(1 / 16)
    bounds, mu = (2.7, 3.4), 0.0  # around the insulating pi plane
    gap = level_gap(OFFSET_WEYL, field, mu, bounds, n_kz=20)
    spectrum = slice_spectrum(OFFSET_WEYL, field, np.linspace(*bounds, 21))
    assert gap == pytest.approx(np.abs(spectrum.energies[:, 0] - mu).min(), abs=1e-12)
    assert gap > 0.25  # no level near mu on the strip around the insulating plane (0.30 here)
    crossing = level_gap(OFFSET_WEYL, field, -0.5, (-np.pi / 2 - 0.8, -np.pi / 2 + 0.8), n_kz=400)
    assert crossing < 0.02  # a level crosses -0.5 inside the node's pocket


# --- chiral anomaly: pumping by E parallel to B ---------------------------------------------------


@pytest.mark.parametrize("qE, t", [(0.05, 2.0), (0.02, 2.0), (-0.05, 1.0)])
def test_pumping_is_streda_quantized_and_linear_in_E(qE, t):
    """N_half(t) - N_half(0) = (s / 2 pi) [n(0) - n(pi)] = -s flux / (2 pi), s = qE t, while s stays off the pockets.

    Exact evolution of every sector (unitary Magnus steps): the traces are
    conserved to rounding, and the pumped number is linear in E and t with the
    universal node value chi qE beta / (4 pi^2) per unit time (chi = -1 here).
    """
    flux = 1 / 8
    res = pumped_particles(WEYL, UniformB(flux), UniformE((qE,)), 0.0, 0.025, t, tol=1e-11, propagation_tol=1e-6)
    assert res.shift == pytest.approx(qE * t)
    assert res.pumped == pytest.approx(-qE * t * flux / (2 * np.pi), abs=1e-11)
    assert res.trace_drift < 1e-12
    assert res.propagation_error < 1e-6


@pytest.mark.slow
def test_pumping_beyond_the_linear_regime_follows_the_slice_densities():
    """For a shift that reaches the Fermi pocket the pumped number is no longer linear in t; exactly, it is
    (1/2 pi) [int_{-s}^{0} n(kz) - int_{pi-s}^{pi} n(kz)] dkz with the equilibrium slice densities n(kz)."""
    field, T, s = UniformB(1 / 8), 0.025, 1.5
    res = pumped_particles(WEYL, field, UniformE((0.75,)), 0.0, T, 2.0, tol=1e-9, propagation_tol=1e-6)
    x, w = clenshaw_curtis(128)
    occ = FermiDirac(0.0, T)
    expected = 0.0
    for lo, hi, sign in ((-s, 0.0, 1), (np.pi - s, np.pi, -1)):
        kz = 0.5 * (lo + hi) + 0.5 * (hi - lo) * x
        expected += sign * 0.5 * (hi - lo) * (w @ slice_spectrum(WEYL, field, kz).density(occ)) / (2 * np.pi)
    assert res.pumped == pytest.approx(expected, abs=1e-9)
    linear = -s * field.flux / (2 * np.pi)
    assert abs(res.pumped - linear) > 1e-3  # the slices near the node are not insulators with Streda filling


def test_clenshaw_curtis_rule():
    x, w = clenshaw_curtis(8)
    for p in range(9):
        assert abs(w @ x**p - (1 + (-1) ** p) / (p + 1)) < 1e-14
    x16, _ = clenshaw_curtis(16)
    assert np.allclose(x16[::2], x)  # nested under doubling


# --- bad input ------------------------------------------------------------------------------


def test_bad_input_raises():
    with pytest.raises(ValueError, match="3D model"):
        kz_slice(models.qwz(1.0), 0.1)
    tilted = TightBinding({(0, 0, 0): np.eye(1), (0, 0, 1): np.eye(1)}, lattice_vectors=[[1, 0, 0], [0, 1, 0], [0.5, 0, 1]])
    with pytest.raises(ValueError, match="a3 along z"):
        kz_slice(tilted, 0.1)
    with pytest.raises(ValueError, match="order"):
        kz_slice(WEYL, 0.1, order=2)
    with pytest.raises(ValueError, match="not a rational"):
        slice_spectrum(WEYL, UniformB(1 / (2 * np.pi)), [0.1])
    with pytest.raises(ValueError, match="split planes"):
        node_resolved(WEYL, UniformB(1 / 8), 0.0, 0.05, split=(1.0, 1.0))
    with pytest.raises(ValueError, match="mu must be"):
        node_resolved(WEYL, UniformB(1 / 8), (0.0, 0.1, 0.2), 0.05)
    with pytest.raises(RuntimeError, match="not converged"):
        equilibrium_current(WEYL, UniformB(1 / 4), 0.0, 0.002, tol=1e-14, max_kz=32)
    with pytest.raises(ValueError, match="one component"):
        pumped_particles(WEYL, UniformB(1 / 8), UniformE((0.1, 0.0, 0.0)), 0.0, 0.05, 1.0)
    with pytest.raises(ValueError, match="shorter time"):
        pumped_particles(WEYL, UniformB(1 / 8), UniformE((1.0,)), 0.0, 0.05, 4.0)
    with pytest.raises(ValueError, match="bounds"):
        slab_density(WEYL, UniformB(1 / 8), 0.0, 0.05, (1.0, 1.0))
    with pytest.raises(ValueError, match="bounds"):
        level_crossings(WEYL, UniformB(1 / 8), 0.0, (0.0, 7.0))
    with pytest.raises(ValueError, match="n_kz"):
        level_crossings(WEYL, UniformB(1 / 8), 0.0, (0.0, 1.0), n_kz=1)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: level_crossings(OFFSET_WEYL, UniformB(1 / 8), 0.0, (0.0, 1.0), n_kz=1), "n_kz must be an integer >= 2"),
        (lambda: level_gap(OFFSET_WEYL, UniformB(1 / 8), 0.0, (1.0, 1.0)), "bounds must satisfy"),
        (lambda: level_gap(OFFSET_WEYL, UniformB(1 / 8), float("nan"), (0.0, 1.0)), "energy must be finite"),
    ],
)
def test_level_counting_refuses_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
