"""Gauge-invariant lattice Wigner transform in a uniform field.

For a one-body operator O on the lattice in a uniform B, dress the kernel with
the straight-line Wilson line (``docs/conventions.md``)::

    O~(r1, r2) = O(r1, r2) exp(-i phi(r1, r2)),   phi = (q/hbar) int_{r2}^{r1} A.dl,

which in a uniform field does not depend on the reference point r0 of
``O~(r0 + s, r0)`` (magnetic translation invariance). The phase-space function
compared with the semiclassical theory is::

    W_O(k) = sum_s exp(-i k.s) O~(r0 + s, r0).

A *kernel* stores the columns of O~ that start on the orbitals of one home
cell: ``cells`` (nS, d) integer cell offsets R_s and ``values`` (nS, N, N) with
``values[s, a, b] = O~(R_s + tau_a, tau_b)`` (row orbital a in cell R_s, column
orbital b in the home cell), so that s = R_s + tau_a - tau_b in cartesian units.
For O = H (the Peierls Hamiltonian) this gives W_H(k) = h(k) exactly; at zero
field W_{f(H)}(k) = f(h(k)).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .lattice import check_momenta

__all__ = ["wigner_from_kernel"]


#: Complex entries per block of the intermediate (k, cells of the first d - 1 directions, N^2) array.
CHUNK = 1 << 22


def wigner_from_kernel(
    lattice_vectors: ArrayLike,
    positions: ArrayLike,
    cells: ArrayLike,
    values: ArrayLike,
    k: ArrayLike,
) -> NDArray[np.complex128]:
    """W_O(k) = sum_s exp(-i k.s) O~(r0 + s, r0) from a dressed kernel.

    Summed separably: the kernel is scattered on the bounding box of its cells
    (absent cells count as zero), and exp(-i k.R) = prod_i exp(-i (k.a_i) R_i)
    is applied one lattice direction at a time: the last direction as one
    matrix product for the distinct values of k.a_d (a k grid has few), the
    others as batched contractions per k. Cost ~ n_k x (box size) x N^2, with no
    (n_k, nS) phase table (which dominates for the long kernels of metals at
    low temperature, nS ~ 2e5 cells).

    Parameters
    ----------
    lattice_vectors
        (d, d), rows are the cartesian lattice vectors.
    positions
        (N, d) orbital positions, fractional coordinates.
    cells
        (nS, d) integer cell offsets R_s.
    values
        (nS, N, N) dressed kernel, ``values[s, a, b] = O~(R_s + tau_a, tau_b)``.
    k
        (..., d) cartesian momenta (units 1/a).

    Returns
    -------
    ndarray, shape (..., N, N)
        The Wigner function (same units as O).
    """
    a = np.asarray(lattice_vectors, dtype=float)
    tau = np.asarray(positions, dtype=float) @ a
    cells = np.asarray(cells, dtype=np.int64)
    vals = np.asarray(values, dtype=complex)
    d = a.shape[0]
    k = check_momenta(k, d)
    if cells.ndim != 2 or cells.shape[1] != d or vals.shape[0] != len(cells):
        raise ValueError(f"cells must be (nS, {d}) and values (nS, N, N), got {cells.shape} and {vals.shape}")
    N = vals.shape[-1]
    C = N * N
    kf = k.reshape(-1, d)
    ka = kf @ a.T  # (nk, d): k.a_i
    lo = cells.min(axis=0)
    n = cells.max(axis=0) - lo + 1
    box = np.zeros((*n, C), dtype=complex)
    box[tuple((cells - lo).T)] = vals.reshape(-1, C)
    # Last direction: one product for the distinct k.a_d -> (nq, n_1, ..., n_{d-1}, C).
    q, which = np.unique(ka[:, -1], return_inverse=True)
    phase = np.exp(-1j * q[:, None] * np.arange(lo[-1], lo[-1] + n[-1]))  # (nq, n_d)
    partial = np.moveaxis(np.tensordot(box, phase, axes=([d - 1], [1])), -1, 0)
    front = int(np.prod(n[:-1]))
    out = np.empty((len(kf), C), dtype=complex)
    step = max(1, CHUNK // (front * C))
    for start in range(0, len(kf), step):  # the other directions, last to first, per k
        sel = slice(start, start + step)
        acc = partial[which[sel]].reshape(-1, front, C)
        for i in reversed(range(d - 1)):
            inner = int(np.prod(n[:i]))
            ph = np.exp(-1j * ka[sel, i, None] * np.arange(lo[i], lo[i] + n[i]))  # (nk', n_i)
            acc = np.einsum("kmic,ki->kmc", acc.reshape(len(ph), inner, n[i], C), ph)
        out[sel] = acc.reshape(-1, C)
    orb = np.exp(-1j * (kf @ tau.T))  # (nk, N)
    w = out.reshape(-1, N, N) * orb[:, :, None] * orb.conj()[:, None, :]
    return w.reshape(*k.shape[:-1], N, N)
