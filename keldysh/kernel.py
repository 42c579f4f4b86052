"""The solver's result: a dressed kernel of f(H) with its error estimate, and its Wigner function.

W(k) = sum_s exp(-i k.s) O~(r0 + s, r0) (:mod:`keldysh.wigner`, same conventions) is
summed separably: the kernel is scattered on its bounding box of cells
(n1, n2) and exp(-i k.R) = exp(-i (k.a1) R1) exp(-i (k.a2) R2) is applied one
lattice direction at a time, a matrix product over R2 (for the distinct values
of k.a2 only: a k grid has few) and then a batched contraction over R1. It
costs about n_k n1 n2 N^2 multiply-adds without the (n_k, nS) phase table that
:func:`keldysh.wigner.wigner_from_kernel` builds, which dominates for the long
kernels of metals at low temperature (nS ~ 2e5 cells).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike, NDArray

__all__ = ["WignerKernel", "box_wigner", "wigner_sup"]

CHUNK = 1 << 22  # complex entries per block of the intermediate (k, R1, N^2) array


def box_wigner(
    lattice_vectors: ArrayLike, positions: ArrayLike, cells: ArrayLike, values: ArrayLike, k: ArrayLike
) -> NDArray[np.complex128]:
    """W(k) = sum_s exp(-i k.(R_s + tau_a - tau_b)) values[s, a, b] for a 2D kernel, summed separably.

    Same arguments and result as :func:`keldysh.wigner.wigner_from_kernel` (2D cells
    only): ``cells`` (nS, 2), ``values`` (nS, N, N), ``k`` (..., 2) cartesian.
    """
    a = np.asarray(lattice_vectors, dtype=float)
    tau = np.asarray(positions, dtype=float) @ a
    cells = np.asarray(cells, dtype=np.int64)
    vals = np.asarray(values, dtype=complex)
    k = np.asarray(k, dtype=float)
    if cells.ndim != 2 or cells.shape[1] != 2 or a.shape != (2, 2):
        raise ValueError(f"box_wigner needs 2D cells (nS, 2) and 2x2 lattice vectors, got {cells.shape}, {a.shape}")
    N = vals.shape[-1]
    shape = k.shape[:-1]
    kf = k.reshape(-1, 2)
    lo = cells.min(axis=0)
    n1, n2 = cells.max(axis=0) - lo + 1
    box = np.zeros((n2, n1, N * N), dtype=complex)
    box[cells[:, 1] - lo[1], cells[:, 0] - lo[0]] = vals.reshape(-1, N * N)
    ka = kf @ a.T  # (nk, 2): k.a1, k.a2
    q2, which = np.unique(ka[:, 1], return_inverse=True)
    out = np.empty((len(kf), N * N), dtype=complex)
    step = max(1, CHUNK // (n1 * N * N))
    for start in range(0, len(q2), step):  # sum over R2 for distinct k.a2, then over R1 for each k
        part = q2[start : start + step]
        phase2 = np.exp(-1j * part[:, None] * np.arange(lo[1], lo[1] + n2))  # (nq, n2)
        partial = (phase2 @ box.reshape(n2, -1)).reshape(len(part), n1, N * N)
        mine = np.nonzero((which >= start) & (which < start + step))[0]
        phase1 = np.exp(-1j * ka[mine, 0, None] * np.arange(lo[0], lo[0] + n1))  # (nk', n1)
        out[mine] = np.einsum("ki,kic->kc", phase1, partial[which[mine] - start])
    orb = np.exp(-1j * (kf @ tau.T))  # (nk, N)
    w = out.reshape(-1, N, N) * orb[:, :, None] * orb.conj()[:, None, :]
    return w.reshape(*shape, N, N)


def wigner_sup(cells: ArrayLike, values: ArrayLike) -> float:
    """max over k and (a, b) of |W(k)_ab| of a 2D kernel, on a k grid twice as fine as its support.

    By FFT; the orbital phases exp(-i k.(tau_a - tau_b)) do not change |W_ab|.
    Empty outer shells of a shell-ordered kernel are trimmed first.
    """
    cells = np.asarray(cells, dtype=np.int64)
    values = np.asarray(values)
    used = np.any(values != 0, axis=(1, 2))
    if not used.any():
        return 0.0
    cells, values = cells[used], values[used]
    lo = cells.min(axis=0)
    n = scipy.fft.next_fast_len(2 * int((cells.max(axis=0) - lo).max() + 1))
    grid = np.zeros((n, n) + values.shape[1:], dtype=complex)
    grid[cells[:, 0] - lo[0], cells[:, 1] - lo[1]] = values
    return float(np.abs(scipy.fft.fft2(grid, axes=(0, 1))).max())


@dataclass(frozen=True)
class WignerKernel:
    """A dressed kernel O~(R_s + tau_a, tau_b) of f(H) and how it was obtained.

    Attributes
    ----------
    cells, values
        (nS, 2) cell offsets R_s (shell order, ``cells[0] = 0``) and (nS, N, N)
        ``values[s, a, b] = O~(R_s + tau_a, tau_b)`` (:mod:`keldysh.wigner` format).
    lattice_vectors, positions
        Of the model, for :meth:`wigner`.
    order
        Chebyshev order M (0 for the supercell route).
    radius
        Largest patch radius used by the recursion, or resolvent window half-width for
        the Matsubara poles of a metal (cells).
    range
        Kernel range S: ``cells`` holds every |R_s|_inf <= S.
    error
        A-priori estimate of max over k and elements of |W(k) - W_exact(k)|.
    error_terms
        Its parts (see :mod:`keldysh.chebyshev`).
    method
        ``"chebyshev"`` or ``"supercell"``.
    check
        Idempotency residual max_b |Pi_bb - sum |Pi_ab|^2| for a projector, else None.
    """

    cells: NDArray[np.int64]
    values: NDArray[np.complex128]
    lattice_vectors: NDArray[np.float64]
    positions: NDArray[np.float64]
    order: int
    radius: int
    range: int
    error: float
    error_terms: dict = dataclass_field(default_factory=dict)
    method: str = "chebyshev"
    check: float | None = None

    def wigner(self, k: ArrayLike) -> NDArray[np.complex128]:
        """W(k) = sum_s exp(-i k.s) O~(r0 + s, r0), shape (..., N, N), k cartesian."""
        return box_wigner(self.lattice_vectors, self.positions, self.cells, self.values, k)
