"""Gauge-invariant Wigner transform: zero-field symbols, hermiticity, batching, and the O(beta) star product."""

import numpy as np
import pytest

from keldysh import UniformB, models
from keldysh.static.patch import peierls_patch
from keldysh.wigner import wigner_from_kernel

K = np.random.default_rng(11).uniform(-np.pi, np.pi, (60, 2))


def _direct_sum(lattice_vectors, positions, cells, values, k):
    """sum_s exp(-i k.(R_s + tau_a - tau_b)) values[s, a, b], term by term (the definition)."""
    a = np.asarray(lattice_vectors, float)
    tau = np.asarray(positions, float) @ a
    s = (cells @ a)[:, None, None, :] + tau[None, :, None, :] - tau[None, None, :, :]  # (nS, N, N, d)
    return np.einsum("...sab,sab->...ab", np.exp(-1j * np.einsum("...d,sabd->...sab", k, s)), values)


@pytest.mark.parametrize(
    "model", [models.qwz(1.0), models.haldane(), models.three_band(), models.weyl()], ids=["qwz", "haldane", "three", "weyl3d"]
)
def test_separable_sum_equals_the_definition(model):
    """Random k (batched shape), a k grid (repeated k.a_d values) and a sparse cell set (gaps count as zero)."""
    rng = np.random.default_rng(1)
    d, N = model.dim, model.norbs
    box = np.stack(np.meshgrid(*[np.arange(-3, 4)] * d, indexing="ij"), -1).reshape(-1, d)
    sparse = rng.integers(-6, 7, (5, d))
    u = (np.arange(4) + 0.5) / 4
    grid = np.stack(np.meshgrid(*[u] * d, indexing="ij"), -1).reshape(-1, d) @ model.reciprocal_vectors
    for cells in (box, np.unique(sparse, axis=0)):
        values = rng.normal(size=(len(cells), N, N)) + 1j * rng.normal(size=(len(cells), N, N))
        for k in (rng.uniform(-4, 4, (3, 5, d)), grid):
            fast = wigner_from_kernel(model.lattice_vectors, model.positions, cells, values, k)
            assert fast.shape == k.shape[:-1] + (N, N)
            np.testing.assert_allclose(fast, _direct_sum(model.lattice_vectors, model.positions, cells, values, k),
                                       rtol=0, atol=1e-11)


def _power_kernel(model, field, power, radius=8, gauge="landau_x"):
    """Dressed kernel of H^power from the Peierls patch (exact: H^p has range p hops)."""
    p = peierls_patch(model, field, radius, gauge)
    n = model.norbs
    V = np.zeros((p.H.shape[0], n), dtype=complex)
    V[:n] = np.eye(n)
    for _ in range(power):
        V = p.H @ V
    return p.kernel(V, radius=power)


@pytest.mark.parametrize("model", [models.qwz(1.0, t0=0.3), models.haldane(), models.three_band()],
                         ids=["qwz", "haldane", "three_band"])
def test_zero_field_symbol_of_powers(model):
    """At zero field W(H^p)(k) = h(k)^p (actual orbital positions)."""
    cells, values = _power_kernel(model, UniformB(0.0), 3)
    W = wigner_from_kernel(model.lattice_vectors, model.positions, cells, values, K)
    h = model.bloch(K)
    np.testing.assert_allclose(W, h @ h @ h, rtol=0, atol=1e-12)


def test_hermitian_operator_has_hermitian_symbol_and_batches():
    model = models.haldane()
    cells, values = _power_kernel(model, UniformB(0.023), 2)
    k = K.reshape(3, 20, 2)
    W = wigner_from_kernel(model.lattice_vectors, model.positions, cells, values, k)
    assert W.shape == (3, 20, 2, 2)
    np.testing.assert_allclose(W, W.conj().swapaxes(-1, -2), rtol=0, atol=1e-13)
    flat = wigner_from_kernel(model.lattice_vectors, model.positions, cells, values, K)
    np.testing.assert_allclose(W.reshape(-1, 2, 2), flat, rtol=0, atol=1e-14)


@pytest.mark.parametrize("model", [models.three_band(), models.haldane()], ids=["three_band", "haldane"])
def test_star_product_sign_at_first_order(model):
    """W(H^2) = h^2 + (i beta / 2)(h_x h_y - h_y h_x) + O(beta^2): the residual has slope 2 in beta."""
    h, dh = model.bloch(K), model.bloch_derivative(K)
    comm = dh[:, 0] @ dh[:, 1] - dh[:, 1] @ dh[:, 0]
    res = {}
    for flux in (0.01, 0.005):
        beta = UniformB(flux).beta(model.cell_area)
        W = wigner_from_kernel(model.lattice_vectors, model.positions, *_power_kernel(model, UniformB(flux), 2), K)
        res[flux] = np.abs(W - h @ h - 0.5j * beta * comm).max()
        wrong = np.abs(W - h @ h + 0.5j * beta * comm).max()
        assert wrong > 10 * res[flux]
    slope = np.log(res[0.01] / res[0.005]) / np.log(2)
    assert 1.9 < slope < 2.1
