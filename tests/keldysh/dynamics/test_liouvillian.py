"""The twisted von Neumann generator on dressed kernels against dense matrices on a Peierls patch.

The generator never sees a gauge: it acts on the gauge-invariant kernel with the flux of
each triangle. Dense products of the Peierls matrices in a chosen gauge, dressed afterwards,
must give the same kernel (square lattice and the honeycomb with orbitals inside the cell).
"""

import numpy as np
import pytest
import scipy.linalg as sla

from keldysh import models
from keldysh.dynamics.kernel_evolution import box_from_kernel
from keldysh.dynamics.liouvillian import Generator, bessel_coefficients, chebyshev_exponential
from keldysh.fields import UniformB
from keldysh.static.patch import peierls_patch

CASES = [("qwz", models.qwz(1.0, t0=0.3), 9, 4), ("haldane", models.haldane(), 8, 3)]


def _kernel(patch, columns, S):
    cells, values = patch.kernel(columns[:, : patch.norbs], S)
    return box_from_kernel(cells, values, S)


@pytest.mark.slow
@pytest.mark.parametrize("name, model, radius, S", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("gauge", ["landau_y", "symmetric"])
def test_generator_is_the_dressed_commutator_and_left_product(name, model, radius, S, gauge):
    """L X = dressed [H - F.r, O] (c_L = c_R = 1) and dressed (H - F.r) O - (F.tau_b) O (c_R = 0), to rounding.

    O is a smooth function of the patch H (so its kernel is magnetic-translation invariant away from
    the patch edge); entries whose neighbours lie beyond the kernel box are excluded (the box is open).
    """
    field, F = UniformB(0.061), np.array([0.07, -0.03])
    patch = peierls_patch(model, field, radius, gauge)
    H = patch.H.toarray()
    r = patch.site_positions(patch.cells).reshape(-1, 2)
    # a magnetic-translation-invariant O: a function of H (its kernel is what the generator acts on)
    e, U = np.linalg.eigh(H)
    O = (U * np.cos(1.3 * e + 0.2) * np.exp(-0.3 * e**2)) @ U.conj().T
    X = _kernel(patch, O, S)
    H_len = H - np.diag(r @ F)
    beta = field.beta(model.cell_area)
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    both = Generator(model.hoppings, model.positions, model.lattice_vectors, beta, S, force=F)
    LX = both.matrix() @ X.ravel() - both.force_dot_s * X.ravel()
    ref = _kernel(patch, H_len @ O - O @ H_len, S)
    assert np.abs(LX.reshape(X.shape) - ref)[inner].max() < 1e-12 * max(1.0, np.abs(ref).max())
    left = Generator(model.hoppings, model.positions, model.lattice_vectors, beta, S, right=0.0, force=F)
    LX = left.matrix() @ X.ravel() - left.force_dot_s * X.ravel()
    tau = model.positions @ model.lattice_vectors
    ref = _kernel(patch, H_len @ O, S) + (tau @ F)[None, :, None, None] * X  # -F.r1 = -F.s - F.tau_b
    assert np.abs(LX.reshape(X.shape) - ref)[inner].max() < 1e-12


def test_generator_is_hermitian_on_the_box():
    """The truncated generator P L P is Hermitian in the l2 norm of the kernel: the box evolution is unitary."""
    model = models.haldane()
    for right in (1.0, 0.0):
        gen = Generator(model.hoppings, model.positions, model.lattice_vectors, 0.3, 3, right=right, force=(0.05, 0.08))
        M = gen.matrix(0.7).toarray() - np.diag(0.4 * gen.force_dot_s)
        assert np.abs(M - M.conj().T).max() < 1e-14


def test_chebyshev_exponential_matches_expm():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(40, 40)) + 1j * rng.normal(size=(40, 40))
    A = A + A.conj().T
    e = np.linalg.eigvalsh(A)
    x = rng.normal(size=40) + 0j
    for dt in (0.37, -2.5):
        center, half = 0.5 * (e[0] + e[-1]) + 0.3, 0.5 * (e[-1] - e[0]) + 1.0
        y, tail, order = chebyshev_exponential(lambda v: A @ v, center, half, dt, x)
        assert np.abs(y - sla.expm(-1j * dt * A) @ x).max() < 1e-12
        assert tail <= 1e-16 * np.linalg.norm(x) and order >= half * abs(dt)
    c, tail = bessel_coefficients(0.0)
    assert len(c) == 1 and c[0] == 1 and tail == 0
