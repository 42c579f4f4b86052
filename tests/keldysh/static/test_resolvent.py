"""Resolvent columns by banded solves on a cylinder: exact against a patch solve, zero-field symbol, honest bounds."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from keldysh import ConvergenceError, UniformB, models
from keldysh.static.patch import peierls_patch, shell_index
from keldysh.static.resolvent import resolvent_columns, strip_resolvent
from keldysh.wigner import wigner_from_kernel

MODELS = {
    "qwz": lambda: models.qwz(1.0, t0=0.3),
    "haldane": lambda: models.haldane(),
    "three_band": lambda: models.three_band(),
}
FLUX = 0.0137  # no supercell structure
ZS = [0.3 + 0.8j, -1.0 + 1.2j]


def patch_resolvent(model, field, z, radius, out_radius, gauge):
    """Dressed kernel of (H - z)^{-1} from a sparse direct solve on a patch (another algorithm, another gauge)."""
    p = peierls_patch(model, field, radius, gauge)
    N = model.norbs
    E = np.zeros((p.H.shape[0], N), dtype=complex)
    E[:N] = np.eye(N)
    X = spla.spsolve((p.H - z * sp.identity(p.H.shape[0])).tocsc(), E)
    return p.kernel(X, out_radius)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_strip_resolvent_equals_patch_solve_in_another_gauge(name):
    """Cylinder + banded LU (landau_x) = sparse LU on a square patch (symmetric gauge), to 1e-13, within the bound."""
    model, field = MODELS[name](), UniformB(FLUX)
    cells, values, info = resolvent_columns(model, field, ZS, 12, 1e-13)
    assert np.all(info["error"] <= 1e-13)
    for i, z in enumerate(ZS):
        ref_cells, ref = patch_resolvent(model, field, z, 40, 12, "symmetric")  # patch error ~ exp(-0.8 * 28)
        assert np.array_equal(ref_cells, cells)
        assert np.abs(values[i] - ref).max() < 1e-13
        assert np.abs(values[i]).max() > 0.1


def test_zero_field_symbol_is_the_bloch_resolvent():
    """At zero field W(G(z))(k) = (h(k) - z)^{-1} (haldane: orbital positions inside the cell)."""
    model, z = models.haldane(), 0.4 + 0.3j
    cells, values, info = resolvent_columns(model, UniformB(0.0), [z], 80, 1e-13)
    k = np.random.default_rng(3).uniform(-np.pi, np.pi, (100, 2))
    exact = np.linalg.inv(model.bloch(k) - z * np.eye(2))
    # beyond |R| = 80 the kernel is below exp(-80 * 0.3 / v): negligible next to 1e-12
    err = np.abs(wigner_from_kernel(model.lattice_vectors, model.positions, cells, values[0], k) - exact).max()
    assert err < 1e-12
    assert info["error"][0] <= 1e-13


def test_conjugate_energy_is_the_flipped_kernel():
    """G(conj z) = G(z)^dagger: G~(conj z; R + tau_a, tau_b) = conj(G~(z; -R + tau_b, tau_a)) in a field."""
    model = models.three_band()
    z = 0.2 + 0.4j
    cells, values, _ = resolvent_columns(model, UniformB(FLUX), [z, np.conj(z)], 10, 1e-13)
    flipped = values[0][shell_index(-cells)].conj().swapaxes(-1, -2)
    assert np.abs(values[1] - flipped).max() < 1e-13


def test_window_bound_is_honest():
    """A loose budget gives a small window; the actual error against a wide window stays below the bound."""
    model, field, z = models.qwz(1.0, t0=0.3), UniformB(FLUX), 2.0 + 0.5j
    cells, loose, info = resolvent_columns(model, field, [z], 20, 1e-5)
    _, tight, tight_info = resolvent_columns(model, field, [z], 20, 1e-13)
    assert info["radius"][0] < tight_info["radius"][0]
    actual = np.abs(loose[0] - tight[0]).sum(axis=(0, 1)).max()  # l1 over cells, worst column entry
    assert 1e-11 < actual <= info["error"][0] <= 1e-5


def test_refinement_correction_is_at_roundoff_level():
    G, correction = strip_resolvent(models.qwz(1.0, t0=0.3), UniformB(FLUX), 0.5 + 0.3j, 30)
    assert np.abs(correction).max() < 1e-14 * np.abs(G).max()


def test_bad_requests():
    model = models.qwz(1.0)
    with pytest.raises(ValueError, match="Im z"):
        strip_resolvent(model, UniformB(FLUX), 0.5 + 0j, 10)
    with pytest.raises(ValueError, match="Im z"):
        resolvent_columns(model, UniformB(FLUX), [0.5 + 0.1j, 0.5], 10, 1e-13)
    with pytest.raises(ConvergenceError, match="max_radius"):
        resolvent_columns(model, UniformB(FLUX), [0.1 + 0.01j], 10, 1e-13, max_radius=20)
