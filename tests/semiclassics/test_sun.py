"""su(N) algebra (paper Eq. 4): generators, structure constants, cross product, Bloch vectors."""

import numpy as np
import pytest

from semiclassics.sun import bloch_vectors, cross, gell_mann, projector_from_bloch, structure_constants

PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])


def levi_civita():
    e = np.zeros((3, 3, 3))
    for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        e[a, b, c], e[b, a, c] = 1.0, -1.0
    return e


def random_hermitian(rng, N, batch=()):
    A = rng.normal(size=batch + (N, N)) + 1j * rng.normal(size=batch + (N, N))
    return A + np.conj(np.swapaxes(A, -1, -2))


def test_two_band_case_is_pauli_and_levi_civita():
    np.testing.assert_array_equal(gell_mann(2), PAULI)
    np.testing.assert_allclose(structure_constants(2), levi_civita(), atol=1e-15)
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 7, 3))
    np.testing.assert_allclose(cross(a, b), np.cross(a, b), atol=1e-14)


def test_su3_is_standard_gell_mann_in_bertlmann_krammer_order():
    """N = 3: symmetric (l1, l4, l6), antisymmetric (l2, l5, l7), diagonal (l3, l8)."""
    g = gell_mann(3)
    l1 = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    l2 = np.array([[0, -1j, 0], [1j, 0, 0], [0, 0, 0]])
    l5 = np.array([[0, 0, -1j], [0, 0, 0], [1j, 0, 0]])
    l8 = np.diag([1, 1, -2]) / np.sqrt(3)
    np.testing.assert_allclose(g[0], l1)
    np.testing.assert_allclose(g[3], l2)
    np.testing.assert_allclose(g[4], l5)
    np.testing.assert_allclose(g[7], l8, atol=1e-15)


@pytest.mark.parametrize("N", [2, 3, 4, 5])
def test_generators_hermitian_traceless_orthonormal(N):
    g = gell_mann(N)
    assert g.shape == (N * N - 1, N, N)
    np.testing.assert_allclose(g, np.conj(np.swapaxes(g, -1, -2)), atol=0)
    np.testing.assert_allclose(np.trace(g, axis1=-2, axis2=-1), 0, atol=1e-14)
    np.testing.assert_allclose(np.einsum("aij,bji->ab", g, g), 2 * np.eye(N * N - 1), atol=1e-14)


@pytest.mark.parametrize("N", [2, 3, 4])
def test_structure_constants_define_the_commutator(N):
    g, f = gell_mann(N), structure_constants(N)
    comm = np.einsum("aij,bjk->abik", g, g) - np.einsum("bij,ajk->abik", g, g)
    np.testing.assert_allclose(comm, 2j * np.einsum("abc,cij->abij", f, g), atol=1e-13)
    assert f.dtype == np.float64


@pytest.mark.parametrize("N", [2, 3, 4])
def test_structure_constants_totally_antisymmetric(N):
    f = structure_constants(N)
    np.testing.assert_allclose(f, -np.swapaxes(f, 0, 1), atol=1e-15)
    np.testing.assert_allclose(f, -np.swapaxes(f, 1, 2), atol=1e-15)
    np.testing.assert_allclose(f, -np.swapaxes(f, 0, 2), atol=1e-15)


@pytest.mark.parametrize("N", [2, 3, 4])
def test_jacobi_identity(N):
    f = structure_constants(N)
    jac = (
        np.einsum("abe,ecd->abcd", f, f)
        + np.einsum("bce,ead->abcd", f, f)
        + np.einsum("cae,ebd->abcd", f, f)
    )
    np.testing.assert_allclose(jac, 0, atol=1e-13)


@pytest.mark.parametrize("N", [2, 3, 4, 5])
def test_bloch_vectors_of_eigenprojectors(N):
    """For a random Hermitian h: sum_n b_n = 0, |b_n|^2 = 2(N-1)/N, b_n.b_m = -2/N, round trip."""
    rng = np.random.default_rng(N)
    _, U = np.linalg.eigh(random_hermitian(rng, N, (6,)))
    P = np.einsum("...an,...bn->...nab", U, np.conj(U))  # (6, N, N, N)
    b = bloch_vectors(P)
    assert b.shape == (6, N, N * N - 1)
    np.testing.assert_allclose(b.sum(axis=-2), 0, atol=1e-13)
    gram = np.einsum("...na,...ma->...nm", b, b)
    expected = np.where(np.eye(N, dtype=bool), 2 * (N - 1) / N, -2 / N)
    np.testing.assert_allclose(gram, np.broadcast_to(expected, gram.shape), atol=1e-13)
    np.testing.assert_allclose(projector_from_bloch(b), P, atol=1e-13)


def test_cross_broadcasts_and_is_antisymmetric():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 1, 8))
    b = rng.normal(size=(5, 8))
    c = cross(a, b)
    assert c.shape == (4, 5, 8)
    np.testing.assert_allclose(c, -cross(b, a), atol=1e-14)
    np.testing.assert_allclose(np.einsum("...a,...a", c, a), 0, atol=1e-13)  # f totally antisymmetric


def test_bad_input_raises():
    with pytest.raises(ValueError, match="N >= 2"):
        gell_mann(1)
    with pytest.raises(ValueError, match="N\\^2 - 1"):
        cross(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="different lengths"):
        cross(np.ones(3), np.ones(8))
    with pytest.raises(ValueError, match="not Hermitian"):
        bloch_vectors(np.array([[0, 1], [0, 0]]))
    with pytest.raises(ValueError, match="N\\^2 - 1"):
        projector_from_bloch(np.ones(4))
