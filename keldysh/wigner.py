"""Gauge-invariant lattice Wigner transform in a uniform field.

For a one-body operator O on the lattice in a uniform B, dress the kernel with
the straight-line Wilson line (``shared/notes/conventions.md``)::

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

__all__ = ["wigner_from_kernel"]


def wigner_from_kernel(
    lattice_vectors: ArrayLike,
    positions: ArrayLike,
    cells: ArrayLike,
    values: ArrayLike,
    k: ArrayLike,
) -> NDArray[np.complex128]:
    """W_O(k) = sum_s exp(-i k.s) O~(r0 + s, r0) from a dressed kernel.

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
    cells = np.asarray(cells, dtype=int)
    vals = np.asarray(values, dtype=complex)
    k = np.asarray(k, dtype=float)
    # Split the phase: exp(-ik.(R + tau_a - tau_b)) = exp(-ik.R) exp(-ik.tau_a) exp(+ik.tau_b),
    # and exp(-ik.R) = prod_i exp(-i (k.a_i) R_i) from one phase table per lattice direction.
    ka = k @ a.T
    lo = cells.min(axis=0)
    cell_phase: np.ndarray | float = 1.0
    for i in range(a.shape[0]):
        table = np.exp(-1j * ka[..., i, None] * np.arange(lo[i], cells[:, i].max() + 1))
        cell_phase = cell_phase * table[..., cells[:, i] - lo[i]]  # (..., nS)
    w = np.tensordot(cell_phase, vals, axes=([-1], [0]))  # (..., N, N)
    orb = np.exp(-1j * (k @ tau.T))  # (..., N)
    return w * orb[..., :, None] * orb.conj()[..., None, :]
