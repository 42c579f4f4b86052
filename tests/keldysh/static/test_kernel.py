"""The sup over k of a kernel's Wigner function by FFT."""

import numpy as np

from keldysh import models
from keldysh.static.kernel import wigner_sup
from keldysh.static.patch import shell_cells
from keldysh.wigner import wigner_from_kernel


def random_kernel(model, radius, seed=0):
    rng = np.random.default_rng(seed)
    cells = shell_cells(radius)
    N = model.norbs
    return cells, rng.normal(size=(len(cells), N, N)) + 1j * rng.normal(size=(len(cells), N, N))


def test_wigner_sup_bounds_the_sampled_maximum():
    """The FFT maximum is attained on its grid and is close to (at most slightly below) the true sup."""
    model = models.qwz(1.0)
    cells, values = random_kernel(model, 4, seed=3)
    values *= np.exp(-np.abs(cells).sum(axis=1))[:, None, None]
    sup = wigner_sup(cells, values)
    k = np.random.default_rng(4).uniform(-np.pi, np.pi, (20000, 2))
    sampled = np.abs(wigner_from_kernel(model.lattice_vectors, model.positions, cells, values, k)).max()
    assert 0.97 * sampled <= sup <= 1.0001 * np.abs(values).sum(axis=0).max()
    assert wigner_sup(cells, np.zeros_like(values)) == 0.0
