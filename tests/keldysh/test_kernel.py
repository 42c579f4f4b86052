"""Separable Wigner sum of a kernel: equal to the direct sum of keldysh.wigner; sup over k by FFT."""

import numpy as np
import pytest

from keldysh import models
from keldysh.kernel import box_wigner, wigner_sup
from keldysh.patch import shell_cells
from keldysh.wigner import wigner_from_kernel


def random_kernel(model, radius, seed=0):
    rng = np.random.default_rng(seed)
    cells = shell_cells(radius)
    N = model.norbs
    return cells, rng.normal(size=(len(cells), N, N)) + 1j * rng.normal(size=(len(cells), N, N))


@pytest.mark.parametrize("model", [models.qwz(1.0), models.haldane(), models.three_band()], ids=["qwz", "haldane", "three"])
def test_box_wigner_equals_direct_sum(model):
    """Random k (shape (5, 7, 2)) and a k grid (repeated k.a2 values): same W as wigner_from_kernel."""
    cells, values = random_kernel(model, 9)
    rng = np.random.default_rng(1)
    k = rng.uniform(-4, 4, (5, 7, 2))
    u = (np.arange(6) + 0.5) / 6
    grid = np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2) @ model.reciprocal_vectors
    for kk in (k, grid):
        direct = wigner_from_kernel(model.lattice_vectors, model.positions, cells, values, kk)
        fast = box_wigner(model.lattice_vectors, model.positions, cells, values, kk)
        assert fast.shape == direct.shape == kk.shape[:-1] + (model.norbs,) * 2
        np.testing.assert_allclose(fast, direct, rtol=0, atol=1e-12)


def test_box_wigner_handles_a_sparse_cell_set():
    """Cells need not fill a box (the absent ones count as zero)."""
    model = models.haldane()
    cells = np.array([[0, 0], [3, -1], [-2, 5]])
    values = np.arange(12, dtype=complex).reshape(3, 2, 2)
    k = np.random.default_rng(2).uniform(-3, 3, (20, 2))
    np.testing.assert_allclose(
        box_wigner(model.lattice_vectors, model.positions, cells, values, k),
        wigner_from_kernel(model.lattice_vectors, model.positions, cells, values, k),
        rtol=0,
        atol=1e-13,
    )


def test_wigner_sup_bounds_the_sampled_maximum():
    """The FFT maximum is attained on its grid and is close to (at most slightly below) the true sup."""
    model = models.qwz(1.0)
    cells, values = random_kernel(model, 4, seed=3)
    values *= np.exp(-np.abs(cells).sum(axis=1))[:, None, None]
    sup = wigner_sup(cells, values)
    k = np.random.default_rng(4).uniform(-np.pi, np.pi, (20000, 2))
    sampled = np.abs(box_wigner(model.lattice_vectors, model.positions, cells, values, k)).max()
    assert 0.97 * sampled <= sup <= 1.0001 * np.abs(values).sum(axis=0).max()
    assert wigner_sup(cells, np.zeros_like(values)) == 0.0
