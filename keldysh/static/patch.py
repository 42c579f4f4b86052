"""A finite patch of a 2D lattice in a uniform B: the Peierls Hamiltonian as a sparse matrix.

The patch holds every cell R with ``max(|R_1|, |R_2|) <= radius`` (max-norm in
lattice coordinates) around the home cell R = 0, with open boundaries. Its
Hamiltonian is the Peierls substitution of ``docs/conventions.md``::

    <r1|H|r2> = T_{R2 - R1}[a, b] exp(+i phi(r1, r2)),   r1 = R1 + tau_a, r2 = R2 + tau_b,

with phi = :meth:`keldysh.fields.UniformB.phase` evaluated at the actual
(cartesian) orbital positions, so non-square lattices with orbitals inside the
cell (Haldane) need no special treatment.

Sites are ordered shell by shell: row ``N * c + a`` is orbital a of cell number
c, and cells are numbered by their max-norm distance rho from the home cell
(cell 0), counterclockwise around each square ring. Hence the ball of radius
rho is the prefix of the first ``N (2 rho + 1)^2`` rows, the numbering does not
depend on the patch radius, and a vector supported near the home cell lives in
a short prefix: this is what the light-cone-restricted recursion of
:mod:`keldysh.static.chebyshev` exploits.

Only 2D lattices are supported: for a 3D model in B along z the conserved k_z
makes the problem a family of 2D ones (handled per k_z in a later issue).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from ..fields import UniformB
from ..lattice import TightBinding

__all__ = ["PeierlsPatch", "peierls_patch", "shell_index", "shell_cells", "ball_size", "hopping_range"]


def ball_size(radius):
    """Number of cells with max-norm distance <= ``radius`` from the home cell: (2 radius + 1)^2 (int or array)."""
    out = (2 * np.asarray(radius, dtype=np.int64) + 1) ** 2
    return int(out) if out.ndim == 0 else out


def shell_index(cells: ArrayLike) -> NDArray[np.int64]:
    """Shell-ordered number of each cell (shape (..., 2) integer -> (...)).

    Shell rho = max(|x|, |y|) occupies numbers (2 rho - 1)^2 ... (2 rho + 1)^2 - 1,
    walked counterclockwise from (rho, -rho + 1): right edge, top, left, bottom.
    """
    c = np.asarray(cells, dtype=np.int64)
    x, y = c[..., 0], c[..., 1]
    rho = np.maximum(np.abs(x), np.abs(y))
    right = (x == rho) & (y > -rho)
    top = (y == rho) & (x < rho)
    left = (x == -rho) & (y < rho)
    pos = np.select(
        [right, top, left],
        [y + rho - 1, 2 * rho + rho - 1 - x, 4 * rho + rho - 1 - y],
        6 * rho + x + rho - 1,  # bottom edge y = -rho, x > -rho
    )
    return np.where(rho == 0, 0, (2 * rho - 1) ** 2 + pos)


def shell_cells(radius: int) -> NDArray[np.int64]:
    """The cells |R|_inf <= ``radius`` in shell order, shape ((2 radius + 1)^2, 2): ``shell_index`` inverted."""
    L = np.arange(-int(radius), int(radius) + 1)
    grid = np.stack(np.meshgrid(L, L, indexing="ij"), -1).reshape(-1, 2)
    out = np.empty_like(grid)
    out[shell_index(grid)] = grid
    return out


def hopping_range(model: TightBinding) -> int:
    """Largest max-norm |R|_inf of a nonzero hopping: the light-cone speed (cells per power of H)."""
    return max(int(np.abs(R).max()) for R, T in model.hoppings.items() if np.any(T != 0))


def _check_model(model: TightBinding) -> None:
    if not isinstance(model, TightBinding):
        raise TypeError(f"model must be a keldysh.TightBinding, got {type(model).__name__}")
    if model.dim == 3:
        raise NotImplementedError(
            "model is 3D: B along z with conserved k_z is handled per k_z in a later issue; "
            "the finite patch supports 2D lattices only"
        )
    if model.dim != 2:
        raise ValueError(f"model: a magnetic field along z needs a 2D lattice, got dim={model.dim}")
    if not any(np.any(T != 0) for R, T in model.hoppings.items() if any(R)):
        raise ValueError(
            "model has no nonzero hopping between cells (only T_0): H is a sum of identical on-site "
            "blocks, untouched by the field; use f(T_0) directly"
        )


class PeierlsPatch:
    """Peierls Hamiltonian of a square patch of cells (see the module docstring).

    Attributes
    ----------
    H
        ``scipy.sparse`` CSR matrix of dimension ``ncells * N`` (energy units of
        the hoppings), row ``N * c + a`` = orbital a of cell ``cells[c]``.
    cells
        (ncells, 2) integer cell coordinates in shell order; ``cells[0] = (0, 0)``.
    center
        Number of the home cell (0).
    radius, norbs, field, gauge, lattice_vectors, positions
        As constructed.
    """

    center = 0

    def __init__(self, model: TightBinding, field: UniformB, radius: int, gauge: str) -> None:
        _check_model(model)
        if int(radius) != radius or radius < 0:
            raise ValueError(f"patch radius must be a non-negative integer, got {radius}")
        self.radius = int(radius)
        self.norbs = model.norbs
        self.field = field
        self.gauge = gauge
        self.lattice_vectors = model.lattice_vectors
        self.positions = model.positions
        self.cells = shell_cells(self.radius)
        self.H = self._hamiltonian(model)

    @property
    def ncells(self) -> int:
        return len(self.cells)

    def cell_index(self, cells: ArrayLike) -> NDArray[np.int64]:
        """Number of each cell (shape (..., 2)) in the patch; ValueError if outside."""
        c = np.asarray(cells, dtype=np.int64)
        if c.shape[-1:] != (2,):
            raise ValueError(f"cells must have a last axis of length 2, got shape {c.shape}")
        if np.any(np.abs(c) > self.radius):
            raise ValueError(f"cell outside the patch of radius {self.radius}")
        return shell_index(c)

    def index(self, cells: ArrayLike, orb: ArrayLike) -> NDArray[np.int64]:
        """Row of orbital ``orb`` in cell ``cells`` (broadcast together)."""
        orb = np.asarray(orb)
        if np.any((orb < 0) | (orb >= self.norbs)):
            raise ValueError(f"orbital index out of range for N={self.norbs}")
        return self.cell_index(cells) * self.norbs + orb

    def rows(self, radius: int) -> int:
        """Number of rows of the ball of max-norm radius ``radius`` (a prefix of the ordering)."""
        return self.norbs * ball_size(min(radius, self.radius))

    def site_positions(self, cells: ArrayLike) -> NDArray[np.float64]:
        """Cartesian positions R + tau_a, shape (..., N, 2), of the orbitals of ``cells`` (..., 2)."""
        frac = np.asarray(cells, dtype=float)[..., None, :] + self.positions
        return frac @ self.lattice_vectors

    def _hamiltonian(self, model: TightBinding) -> sp.csr_matrix:
        """Assemble H row by row in CSR form, vectorized over cells and hopping slots.

        Row (c, a) has one slot per (R, b) with T_R[a, b] != 0; a slot is dropped
        when c + R lies outside the patch (open boundary). In a uniform field every
        gauge of :mod:`keldysh.fields` is linear in r, so the phase of a bond with
        fixed (R, a, b) is affine in the cell c: phi(c) = phi(0) + c . g. It is
        evaluated with ``UniformB.phase`` at c = 0, a1, a2 and checked at a1 + a2
        before being extended to all cells.
        """
        n = self.norbs
        hops = [(np.asarray(R, dtype=np.int64), T) for R, T in model.hoppings.items() if np.any(T != 0) or not any(R)]
        # slots of orbital a: (hop number, b), padded to a common count K; the diagonal is always stored
        # (a structural entry even where T_0[a, a] = 0, so that a shift of H changes values, not structure)
        slots = [
            [(h, b) for h, (R, T) in enumerate(hops) for b in np.nonzero((T[a] != 0) | ((np.arange(n) == a) & ~R.any()))[0]]
            for a in range(n)
        ]
        K = max(len(x) for x in slots)
        hop_of = np.zeros((n, K), dtype=np.int64)
        b_of = np.zeros((n, K), dtype=np.int64)
        used = np.zeros((n, K), dtype=bool)
        for a, x in enumerate(slots):
            hop_of[a, : len(x)] = [h for h, _ in x]
            b_of[a, : len(x)] = [b for _, b in x]
            used[a, : len(x)] = True
        a_of = np.broadcast_to(np.arange(n)[:, None], (n, K))
        Rs = np.array([R for R, _ in hops])  # (nR, 2)
        Ts = np.array([T for _, T in hops])  # (nR, N, N)
        # affine Peierls phases per slot
        ref = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
        c = ref[:, None, None, :]
        r1 = (c + self.positions[a_of]) @ self.lattice_vectors  # (4, N, K, 2)
        r2 = (c + Rs[hop_of] + self.positions[b_of]) @ self.lattice_vectors
        phi = self.field.phase(self.lattice_vectors, r1, r2, self.gauge)  # (4, N, K)
        g = phi[1:3] - phi[0]  # (2, N, K)
        if not np.allclose(phi[3], phi[0] + g[0] + g[1], rtol=0, atol=1e-12):
            raise ValueError(f"gauge {self.gauge!r} is not linear in r: Peierls phases are not affine in the cell")
        amp = Ts[hop_of, a_of, b_of] * np.exp(1j * phi[0])  # (N, K)
        # neighbour cell numbers for every hop, -1 outside the patch (via a grid -> number map)
        L, pad = self.radius, int(np.abs(Rs).max())
        number = np.full((2 * (L + pad) + 1,) * 2, -1, dtype=np.int32)
        number[self.cells[:, 0] + L + pad, self.cells[:, 1] + L + pad] = np.arange(self.ncells, dtype=np.int32)
        nbr = np.stack([number[self.cells[:, 0] + L + pad + R[0], self.cells[:, 1] + L + pad + R[1]] for R in Rs], -1)
        dst = nbr[:, hop_of]  # (ncells, N, K), row-major = CSR row order
        valid = (dst >= 0) & used
        # exp(i c.g) = exp(i c1 g1) exp(i c2 g2) from one table per lattice direction (skipped where g = 0)
        line = np.arange(-L, L + 1)[:, None]
        vals = np.broadcast_to(amp, dst.shape).astype(complex)
        for i, gi in enumerate(g):
            if np.any(gi != 0):
                vals *= np.exp(1j * line * gi.reshape(1, -1))[self.cells[:, i] + L].reshape(dst.shape)
        cols = dst * np.int32(n) + b_of.astype(np.int32)
        indptr = np.concatenate([[0], np.cumsum(valid.reshape(-1, K).sum(axis=1))])
        dim = self.ncells * n
        return sp.csr_matrix((vals[valid], cols[valid], indptr), shape=(dim, dim))

    def kernel(
        self, columns: ArrayLike, radius: int, home: ArrayLike = (0, 0)
    ) -> tuple[NDArray[np.int64], NDArray[np.complex128]]:
        """Dressed kernel of an operator O from its columns on the orbitals of one home cell.

        Parameters
        ----------
        columns
            (dim, N): column b is O|R0 + tau_b> on the patch (R0 = ``home``).
        radius
            Keep the cells R_s with |R_s|_inf <= radius.
        home
            The home cell R0 (must lie at least ``radius`` inside the patch).

        Returns
        -------
        cells, values
            ``cells`` (nS, 2) in shell order and ``values[s, a, b] =
            O~(R0 + R_s + tau_a, R0 + tau_b) = O(...) exp(-i phi(R0 + R_s + tau_a, R0 + tau_b))``,
            the format of :func:`keldysh.wigner.wigner_from_kernel`.
        """
        columns = np.asarray(columns)
        n = self.norbs
        home = np.asarray(home, dtype=np.int64)
        rel = self.cells[: ball_size(radius)]
        vals = columns[self.index(home + rel[:, None, :], np.arange(n))]  # (nS, N_a, N_b)
        return rel, dress(self.field, self.gauge, self.lattice_vectors, self.positions, rel, vals, home)


def dress(
    field: UniformB,
    gauge: str,
    lattice_vectors: ArrayLike,
    positions: ArrayLike,
    cells: ArrayLike,
    values: ArrayLike,
    home: ArrayLike = (0, 0),
) -> NDArray[np.complex128]:
    """Wilson-line dressing values[s, a, b] * exp(-i phi(R0 + R_s + tau_a, R0 + tau_b)).

    ``values[s, a, b] = O(R0 + R_s + tau_a, R0 + tau_b)`` (bare kernel, column b on
    the home cell R0); returns the gauge-invariant O~ of ``keldysh.wigner``.
    """
    a = np.asarray(lattice_vectors, dtype=float)
    tau = np.asarray(positions, dtype=float)
    home = np.asarray(home, dtype=float)
    r1 = (home + np.asarray(cells, dtype=float)[:, None, None, :] + tau[None, :, None, :]) @ a
    r2 = (home + tau[None, None, :, :]) @ a
    phi = field.phase(a, r1, r2, gauge)
    return np.asarray(values, dtype=complex) * np.exp(-1j * phi)


def peierls_patch(model: TightBinding, field: UniformB, radius: int, gauge: str = "landau_x") -> PeierlsPatch:
    """Peierls Hamiltonian of the patch |R|_inf <= ``radius`` around cell 0 (open boundaries).

    Parameters
    ----------
    model
        A 2D :class:`keldysh.TightBinding` (``<r|H|r+R> = T_R``).
    field
        Uniform B along z, :class:`keldysh.UniformB` (flux per unit cell).
    radius
        Patch half-width in cells (max-norm in lattice coordinates).
    gauge
        One of :data:`keldysh.fields.GAUGES`.

    Raises
    ------
    NotImplementedError
        For 3D models (B along z with conserved k_z: handled per k_z in a later issue).
    """
    return PeierlsPatch(model, field, radius, gauge)
