"""Peierls patch: hermiticity, plaquette fluxes in every gauge, W(H) = h(k), magnetic translation and gauge."""

import numpy as np
import pytest

from keldysh import UniformB, models
from keldysh.fields import GAUGES
from keldysh.static.patch import ball_size, peierls_patch, shell_cells, shell_index
from keldysh.wigner import wigner_from_kernel

MODELS = {
    "square (qwz)": lambda: models.qwz(1.0, t0=0.3),
    "honeycomb (haldane)": lambda: models.haldane(),
    "three_band": lambda: models.three_band(),
}
FLUX = 0.0137  # irrational-looking, no supercell structure


@pytest.fixture(params=list(MODELS), scope="module")
def model(request):
    return MODELS[request.param]()


def test_shell_order_is_a_bijection_with_ball_prefixes():
    p = peierls_patch(models.qwz(1.0), UniformB(0.0), 6)
    assert np.array_equal(p.cells[0], [0, 0])
    assert np.array_equal(np.sort(shell_index(p.cells)), np.arange(ball_size(6)))
    for rho in range(7):  # the ball of radius rho is a prefix of the ordering
        assert np.abs(p.cells[: ball_size(rho)]).max() == rho
    assert np.array_equal(p.index(p.cells, 1), np.arange(p.ncells) * 2 + 1)
    with pytest.raises(ValueError, match="outside the patch"):
        p.index([7, 0], 0)


def test_shell_cells_inverts_shell_index():
    """shell_cells(rho) lists the ball in shell order without building a patch (the patch uses it too)."""
    for rho in (0, 1, 5):
        cells = shell_cells(rho)
        assert cells.shape == (ball_size(rho), 2) and np.abs(cells).max() == rho
        assert np.array_equal(shell_index(cells), np.arange(ball_size(rho)))
    assert np.array_equal(shell_cells(3), shell_cells(7)[: ball_size(3)])


@pytest.mark.parametrize("gauge", GAUGES)
def test_hamiltonian_is_hermitian(model, gauge):
    H = peierls_patch(model, UniformB(FLUX), 5, gauge).H
    assert H.shape == (ball_size(5) * model.norbs,) * 2
    assert abs(H - H.conj().T).max() < 1e-15


def _bond_phase(p, p0, cell_to, orb_to, cell_from, orb_from):
    """exp(i phi(r_to, r_from)) from <r_to|H|r_from> / (its zero-field value)."""
    i, j = p.index(cell_to, orb_to), p.index(cell_from, orb_from)
    return np.asarray(p.H[i, j]).ravel() / np.asarray(p0.H[i, j]).ravel()


@pytest.mark.parametrize("gauge", GAUGES)
def test_plaquette_flux_every_gauge(model, gauge):
    """Phase product around every plaquette of the patch = exp(2 pi i flux) (one plaquette per cell)."""
    L = 4
    p = peierls_patch(model, UniformB(FLUX), L, gauge)
    p0 = peierls_patch(model, UniformB(0.0), L, gauge)
    g = np.arange(-L, L)
    c = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)  # lower-left corners
    if model.lattice_vectors[0, 1] == 0 and model.lattice_vectors[1, 0] == 0 and np.all(model.positions == 0):
        # square lattice, orbital 0: c -> c + x -> c + x + y -> c + y -> c (counterclockwise)
        loop = [c, c + [1, 0], c + [1, 1], c + [0, 1], c]
        orbs = [0] * 5
    else:
        # honeycomb: the 6 nearest-neighbour bonds around the hexagon centred on lattice point c + (1, 1)
        a = model.lattice_vectors
        tau = model.positions @ a
        cand = [(np.array(d), o) for d in np.ndindex(3, 3) for o in range(2)]
        centre = np.array([1.0, 1.0]) @ a
        dist = [np.linalg.norm(np.array(d) @ a + tau[o] - centre) for d, o in cand]
        verts = [v for v, r in zip(cand, dist) if abs(r - 1 / np.sqrt(3)) < 1e-9]
        assert len(verts) == 6
        verts.sort(key=lambda v: np.arctan2(*(v[0] @ a + tau[v[1]] - centre)[::-1]))  # counterclockwise
        verts.append(verts[0])
        loop = [c + d for d, _ in verts]
        orbs = [o for _, o in verts]
        inside = np.all([np.abs(x).max(axis=1) <= L for x in loop], axis=0)
        c = c[inside]
        loop = [x[inside] for x in loop]
    prod = np.ones(len(c), dtype=complex)
    for (c1, o1), (c2, o2) in zip(zip(loop[:-1], orbs[:-1]), zip(loop[1:], orbs[1:])):
        prod *= _bond_phase(p, p0, c2, o2, c1, o1)  # hop c1 -> c2
    assert len(c) > 20
    np.testing.assert_allclose(prod, np.exp(2j * np.pi * FLUX), rtol=0, atol=1e-12)


@pytest.mark.parametrize("gauge", GAUGES)
def test_wigner_of_peierls_hamiltonian_is_bloch(model, gauge):
    """The dressed kernel of H itself gives W_H(k) = h(k) exactly (conventions, machine precision)."""
    p = peierls_patch(model, UniformB(FLUX), 6, gauge)
    n = model.norbs
    home = np.array([1, -2])
    columns = p.H[:, p.index(home, np.arange(n))].toarray()
    cells, values = p.kernel(columns, radius=2, home=home)
    k = np.random.default_rng(1).uniform(-4, 4, (50, 2))
    W = wigner_from_kernel(model.lattice_vectors, model.positions, cells, values, k)
    np.testing.assert_allclose(W, model.bloch(k), rtol=0, atol=1e-13)


def _cube_kernel(p, home):
    n = p.norbs
    E = np.zeros((p.H.shape[0], n), dtype=complex)
    E[p.index(np.asarray(home), np.arange(n)), np.arange(n)] = 1
    return p.kernel(p.H @ (p.H @ (p.H @ E)), radius=3, home=home)[1]


def test_dressed_kernel_is_translation_and_gauge_invariant(model):
    """O~(r0 + s, r0) of f(H) = H^3 is the same for two home cells and in all three gauges."""
    field = UniformB(FLUX)
    kernels = {g: peierls_patch(model, field, 9, g) for g in GAUGES}
    ref = _cube_kernel(kernels["landau_x"], (0, 0))
    assert np.abs(ref).max() > 0.1
    np.testing.assert_allclose(_cube_kernel(kernels["landau_x"], (4, -3)), ref, rtol=0, atol=1e-12)
    for g in ("landau_y", "symmetric"):
        np.testing.assert_allclose(_cube_kernel(kernels[g], (0, 0)), ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(_cube_kernel(kernels[g], (-2, 5)), ref, rtol=0, atol=1e-12)


def test_three_dimensional_model_is_not_supported_yet():
    with pytest.raises(NotImplementedError, match="conserved k_z is handled per k_z"):
        peierls_patch(models.weyl(), UniformB(0.01), 3)
