"""The solver's result: a dressed kernel of f(H) with its error estimate, and its Wigner function.

W(k) = sum_s exp(-i k.s) O~(r0 + s, r0) is :func:`keldysh.wigner.wigner_from_kernel`
(same conventions); :func:`wigner_sup` bounds max_k |W(k)| by FFT.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike, NDArray

from ..wigner import wigner_from_kernel
from .patch import ball_size

__all__ = ["WignerKernel", "projector_residual", "shell_masses", "wigner_sup"]


def wigner_sup(cells: ArrayLike, values: ArrayLike) -> float:
    """max over k and (a, b) of |W(k)_ab| of a 2D kernel, on a k grid twice as fine as its support.

    By FFT, one row a at a time; the orbital phases exp(-i k.(tau_a - tau_b)) do not change |W_ab|.
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
    best = 0.0
    for a in range(values.shape[1]):
        grid = np.zeros((n, n, values.shape[2]), dtype=complex)
        grid[cells[:, 0] - lo[0], cells[:, 1] - lo[1]] = values[:, a]
        best = max(best, float(np.abs(scipy.fft.fft2(grid, axes=(0, 1), overwrite_x=True)).max()))
    return best


def shell_masses(values: NDArray) -> NDArray[np.float64]:
    """max_{a,b} sum over shell rho of |values[s, a, b]|, rho = 0..S, for a kernel in shell order."""
    S = round((np.sqrt(values.shape[0]) - 1) / 2)
    starts = np.concatenate([[0], ball_size(np.arange(S))])
    return np.add.reduceat(np.abs(values), starts, axis=0).max(axis=(1, 2))


def projector_residual(values: NDArray) -> float:
    """max_b |Pi(tau_b, tau_b) - sum_{s,a} |Pi(R_s + tau_a, tau_b)|^2| (idempotency of a projector column)."""
    diag = np.real(np.diagonal(values[0]))
    return float(np.abs(diag - (np.abs(values) ** 2).sum(axis=(0, 1))).max())


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
        Its parts (see :mod:`keldysh.static.chebyshev`).
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
        return wigner_from_kernel(self.lattice_vectors, self.positions, self.cells, self.values, k)
