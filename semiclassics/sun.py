"""The su(N) algebra: generalized Gell-Mann matrices, structure constants, Bloch vectors.

Conventions (paper Eq. 4, ``docs/conventions.md``):

- generators g_a, a = 1 .. N^2 - 1, are the generalized Gell-Mann matrices of
  Bertlmann and Krammer (paper ref. [45]) in their order: first the symmetric
  ones u_jk = |j><k| + |k><j|, then the antisymmetric ones
  v_jk = -i (|j><k| - |k><j|) (both for j < k, lexicographic), then the
  diagonal ones w_l = sqrt(2 / (l (l + 1))) (sum_{j<=l} |j><j| - l |l+1><l+1|);
  Tr(g_a g_b) = 2 delta_ab, and for N = 2 they are the Pauli matrices;
- structure constants: [g_a, g_b] = 2i f_abc g_c, f real and totally antisymmetric;
- cross product on R^(N^2 - 1): (a x b)_c = f_abc a_a b_b;
- a rank-one projector is P = 1/N + (1/2) b . g with Bloch vector b = Tr(P g),
  |b|^2 = 2 (N - 1) / N.

The matrices and constants are cached per N and returned read-only.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["gell_mann", "structure_constants", "cross", "bloch_vectors", "projector_from_bloch", "dimension_from_length"]


def _check_n(N: int) -> int:
    if int(N) != N or N < 2:
        raise ValueError(f"su(N) needs an integer N >= 2, got {N!r}")
    return int(N)


@functools.lru_cache(maxsize=None)
def _gell_mann(N: int) -> np.ndarray:
    sym, asym, diag = [], [], []
    for j in range(N):
        for k in range(j + 1, N):
            u = np.zeros((N, N), dtype=complex)
            u[j, k] = u[k, j] = 1.0
            v = np.zeros((N, N), dtype=complex)
            v[j, k], v[k, j] = -1j, 1j
            sym.append(u)
            asym.append(v)
    for l in range(1, N):
        w = np.zeros((N, N), dtype=complex)
        w[np.arange(l), np.arange(l)] = 1.0
        w[l, l] = -l
        diag.append(np.sqrt(2.0 / (l * (l + 1))) * w)
    g = np.array(sym + asym + diag)
    g.setflags(write=False)
    return g


def gell_mann(N: int) -> NDArray[np.complex128]:
    """Generalized Gell-Mann matrices (paper Eq. 4, ref. [45]).

    Parameters
    ----------
    N
        Dimension of the internal Hilbert space (number of bands), N >= 2.

    Returns
    -------
    ndarray, shape (N^2 - 1, N, N), read-only
        Symmetric, antisymmetric, then diagonal generators; Tr(g_a g_b) = 2 delta_ab.
    """
    return _gell_mann(_check_n(N))


@functools.lru_cache(maxsize=None)
def _structure_constants(N: int) -> np.ndarray:
    g = _gell_mann(N)
    comm = np.einsum("aij,bjk->abik", g, g)
    comm = comm - np.swapaxes(comm, 0, 1)
    # [g_a, g_b] = 2i f_abc g_c  =>  f_abc = Tr([g_a, g_b] g_c) / (4i)
    f = np.einsum("abij,cji->abc", comm, g) / 4j
    f = np.ascontiguousarray(f.real)
    f[np.abs(f) < 1e-14] = 0.0
    f.setflags(write=False)
    return f


def structure_constants(N: int) -> NDArray[np.float64]:
    """Real, totally antisymmetric f_abc with [g_a, g_b] = 2i f_abc g_c.

    Returns
    -------
    ndarray, shape (N^2 - 1,) * 3, read-only (cached per N).
    """
    return _structure_constants(_check_n(N))


def dimension_from_length(length: int) -> int:
    """N such that N^2 - 1 == length (the su(N) of a Bloch vector); ValueError otherwise."""
    N = math.isqrt(int(length) + 1)
    if N < 2 or N * N - 1 != length:
        raise ValueError(f"a Bloch vector has length N^2 - 1 (3, 8, 15, ...), got {length}")
    return N


def cross(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """su(N) cross product (a x b)_c = f_abc a_a b_b (paper Eq. 13).

    Broadcasts over leading axes; N is inferred from the last axis length N^2 - 1.
    For N = 2 this is the ordinary vector product.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape[-1:] != b.shape[-1:]:
        raise ValueError(f"cross product of vectors of different lengths {a.shape[-1:]} and {b.shape[-1:]}")
    f = structure_constants(dimension_from_length(a.shape[-1]))
    return np.einsum("abc,...a,...b->...c", f, a, b)


def bloch_vectors(P: ArrayLike) -> NDArray[np.float64]:
    """Generalized Bloch vectors b = Tr(P g) (paper Eq. 4).

    Parameters
    ----------
    P
        Hermitian matrices, shape (..., N, N) (typically eigenprojectors P_n).

    Returns
    -------
    ndarray, shape (..., N^2 - 1), real.

    Raises
    ------
    ValueError
        If P is not square or not Hermitian (the Bloch vector would be complex).
    """
    P = np.asarray(P)
    if P.ndim < 2 or P.shape[-1] != P.shape[-2]:
        raise ValueError(f"P must have shape (..., N, N), got {P.shape}")
    g = gell_mann(P.shape[-1])
    b = np.einsum("...ij,aji->...a", P, g)
    scale = max(1.0, float(np.max(np.abs(P), initial=0.0)))
    if np.iscomplexobj(b) and np.max(np.abs(b.imag), initial=0.0) > 1e-10 * scale:
        raise ValueError("P is not Hermitian: its Bloch vector Tr(P g) is complex")
    return np.ascontiguousarray(b.real)


def projector_from_bloch(b: ArrayLike) -> NDArray[np.complex128]:
    """P = 1/N + (1/2) b . g (paper Eq. 4), shape (..., N, N) for b of shape (..., N^2 - 1)."""
    b = np.asarray(b, dtype=float)
    N = dimension_from_length(b.shape[-1])
    g = gell_mann(N)
    return np.eye(N) / N + 0.5 * np.einsum("...a,aij->...ij", b, g)
