"""Algorithm (a): magnetic-supercell Bloch diagonalization at rational flux p/q.

At flux p/q per unit cell the Peierls Hamiltonian of ``keldysh.fields`` in a
Landau gauge is periodic under magnetic translations of a supercell of q cells,
so f(H) follows from dense diagonalization of qN x qN Bloch matrices on a mesh
of the magnetic Brillouin zone (MBZ) and a Fourier sum.

Magnetic translations (derivation)
----------------------------------
Write sites r = R + tau_a with fractional coordinates u(r), and let s be the
supercell axis and o the other in-plane axis: (s, o) = (1, 2) for the gauge
``"landau_x"`` and (2, 1) for ``"landau_y"`` (a 3D model keeps ordinary Bloch
periodicity along a3). With Phi = 2 pi flux sign(a1 x a2) the straight-line
phase of :meth:`keldysh.fields.UniformB.phase` is

    landau_x:  phi(r1, r2) =  Phi (u1(r1) + u1(r2))/2 (u2(r1) - u2(r2)),
    landau_y:  phi(r1, r2) = -Phi (u2(r1) + u2(r2))/2 (u1(r1) - u1(r2)).

It is invariant under a common translation along a_o, while a common
translation by a_s shifts it by a pure gauge term,

    phi(r1 + a_s, r2 + a_s) = phi(r1, r2) + c(r1) - c(r2),
    c(r) = +Phi u2(r) (landau_x),  c(r) = -Phi u1(r) (landau_y).

Hence ``<r1|H|r2> = T exp(i phi)`` obeys
H(r1 + q a_s, r2 + q a_s) = exp(i g(r1)) H(r1, r2) exp(-i g(r2)) with
g = q c = +-2 pi p sign(a1 x a2) u_o(r). Because q Phi = 2 pi p sign(a1 x a2),
exp(i g) depends only on the orbital, g_a = +-2 pi p sign(a1 x a2) tau_{a,o}
mod 2 pi: trivial for orbitals on the cell corners (square lattice) but a
nontrivial site-dependent phase for the honeycomb (tau_o = 1/3, 2/3). The
magnetic translation (M psi)(r) = exp(i g(r)) psi(r - q a_s) and the ordinary
translation by a_o commute with H and with each other, so the eigenstates are
combinations of the magnetic Bloch states (supercell index m along a_s, sites
labelled by j = 0..q-1 along a_s and the orbital a)

    <r | k, j, a> = N_sc^{-1/2} exp(i k.r) exp(i m(r) g_a),   r = (m q + j) a_s + R_o a_o + tau_a,

with k in the MBZ spanned by b_s / q and b_o (the b_i are the reciprocal
vectors of the lattice). In this basis (actual positions, "convention II" of
the supercell)

    H_{ja, j'b}(k) = sum_R T_R[a, b] exp(i phi(j a_s + tau_a, j a_s + R + tau_b))
                     exp(i k.(R + tau_b - tau_a)) exp(i m' g_b),

with j + R_s = m' q + j' (the hop leaves the home supercell m' times). The
kernel of f(H) on the magnetic Bravais torus of the k-mesh (n_k points) is

    <r1|f(H)|r2> = n_k^{-1} sum_k exp(i k.(r1 - r2)) exp(i (m1 g_a - m2 g_b))
                   [U f(E) U^dagger]_{j1 a, j2 b}(k),

which equals the kernel on the infinite lattice up to its periodic images at
distance n_s q a_s and n_o a_o (aliasing). :func:`supercell_kernel` refines the
mesh until the requested entries change by less than ``tol`` and dresses them
with the Wilson line of ``keldysh.wigner``: O~ = O exp(-i phi(r1, r2)).

Only one k in q needs a diagonalization. The single-cell magnetic translation
(T psi)(r) = exp(i c(r)) psi(r - a_s) also commutes with H, and
exp(i c(r)) = exp(i delta.r) with delta = +-(p/q) sign(a1 x a2) b_o exactly
(c is linear in u_o). Acting on |k, j, a> it gives |k + delta, j + 1, a>, with
an extra exp(-i g_a) when j + 1 wraps to 0, so H(k + delta) = V H(k) V^dagger
with that permutation-with-phases V; as gcd(p, q) = 1 the orbit k + t delta,
t = 0..q-1, covers every b_o/q-shift of k. The kernel meshes therefore have
q n points along b_o and diagonalize only the first n.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ConvergenceError
from ..fields import UniformB
from ..lattice import TightBinding

__all__ = [
    "ConvergenceError",
    "SupercellKernel",
    "converged_kernel",
    "magnetic_bloch",
    "magnetic_kmesh",
    "magnetic_spectrum",
    "rational_flux",
    "supercell_kernel",
]

SUPERCELL_AXIS = {"landau_x": 0, "landau_y": 1}
_CHUNK_BYTES = 64 * 2**20  # memory budget of one batch of supercell Bloch matrices


def rational_flux(flux: float, max_denominator: int = 2000) -> tuple[int, int]:
    """(p, q) with flux = p/q, q > 0, gcd(p, q) = 1.

    Raises
    ------
    ValueError
        If no p/q with q <= ``max_denominator`` equals ``flux`` to 1e-14
        (irrational or too fine a flux: use the Chebyshev route instead).
    """
    if not math.isfinite(flux):
        raise ValueError(f"flux must be finite, got {flux}")
    frac = Fraction(flux).limit_denominator(max_denominator)
    if abs(frac.numerator / frac.denominator - flux) > 1e-14:
        raise ValueError(
            f"flux {flux!r} is not a rational p/q with q <= {max_denominator} (to 1e-14; "
            f"closest {frac.numerator}/{frac.denominator}); the magnetic supercell needs a rational flux"
        )
    return frac.numerator, frac.denominator


class _MagneticCell:
    """Magnetic supercell of ``model`` at rational flux: the precomputed pieces of H(k).

    For every hopping R it stores the supercell matrix entries (rows, cols) and
    the k-independent coefficients T_R exp(i phi) exp(i m' g_b); H(k) adds them
    times exp(i k.(R + tau_b - tau_a)).
    """

    def __init__(self, model: TightBinding, field: UniformB, gauge: str = "landau_x") -> None:
        if gauge not in SUPERCELL_AXIS:
            raise ValueError(
                f"gauge {gauge!r} has no one-axis magnetic supercell; choose one of {tuple(SUPERCELL_AXIS)}"
            )
        if model.dim < 2:
            raise ValueError("a magnetic field along z needs a model of dimension >= 2")
        self.p, self.q = rational_flux(field.flux)
        self.axis = SUPERCELL_AXIS[gauge]
        self.dim = model.dim
        self.n_orb = model.norbs
        self.lattice_vectors = model.lattice_vectors
        self.tau = model.positions @ model.lattice_vectors  # cartesian (N, d)
        a = model.lattice_vectors
        orient = math.copysign(1.0, a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0])
        self.other = 1 - self.axis
        sign = 1 if gauge == "landau_x" else -1
        # g_a = q c(tau_a) mod 2 pi, the gauge phase of the translation by q a_s (module docstring)
        self.g = sign * 2 * np.pi * self.p * orient * model.positions[:, self.other]
        # the translation by a_s shifts k by delta = orbit_step b_o / q
        self.orbit_step = int(sign * orient) * self.p
        self.delta = self.orbit_step / self.q * 2 * np.pi * np.linalg.inv(a).T[self.other]

        q, n = self.q, self.n_orb
        j = np.arange(q)
        e_s = np.eye(self.dim)[self.axis]
        r1 = j[:, None, None] * e_s + model.positions[None]  # (q, N, d) fractional
        orb = np.arange(n)
        self._terms = []
        for R, T in model.hoppings.items():
            R = np.asarray(R)
            r2 = r1 + R
            phi = field.phase(a, r1[:, :, None] @ a, r2[:, None, :] @ a, gauge)  # (q, N, N)
            jj = j + R[self.axis]
            m2, j2 = np.divmod(jj, q)
            coef = T[None] * np.exp(1j * (phi + m2[:, None, None] * self.g[None, None, :]))
            rows = np.broadcast_to(j[:, None, None] * n + orb[None, :, None], coef.shape)
            cols = np.broadcast_to(j2[:, None, None] * n + orb[None, None, :], coef.shape)
            disp = (R @ a)[None, None, :] + self.tau[None, :, :] - self.tau[:, None, :]  # (N, N, d)
            self._terms.append((rows.ravel(), cols.ravel(), coef, disp))

    @property
    def size(self) -> int:
        return self.q * self.n_orb

    def bloch(self, k: NDArray[np.float64]) -> NDArray[np.complex128]:
        """Supercell Bloch Hamiltonian H(k), shape (..., qN, qN)."""
        H = np.zeros(k.shape[:-1] + (self.size, self.size), dtype=complex)
        for rows, cols, coef, disp in self._terms:
            ph = np.exp(1j * np.einsum("...i,abi->...ab", k, disp))  # (..., N, N)
            vals = coef * ph[..., None, :, :]  # (..., q, N, N)
            H[..., rows, cols] += vals.reshape(k.shape[:-1] + (-1,))
        return H

    def reciprocal_vectors(self) -> NDArray[np.float64]:
        """Rows B_i of the magnetic reciprocal lattice: b_s / q and the other b_i."""
        B = 2 * np.pi * np.linalg.inv(self.lattice_vectors).T
        B[self.axis] /= self.q
        return B

    def kmesh(self, mesh: tuple[int, ...]) -> NDArray[np.float64]:
        """Cartesian k = sum_i (n_i / mesh_i) B_i on the unshifted MBZ mesh, shape mesh + (d,)."""
        grids = np.meshgrid(*[np.arange(m) / m for m in mesh], indexing="ij")
        frac = np.stack(grids, axis=-1)
        return frac @ self.reciprocal_vectors()

    def chunk(self) -> int:
        """Number of k-points per batch of dense eigendecompositions."""
        return max(1, _CHUNK_BYTES // (16 * self.size**2))


def _check_mesh(mesh: int | tuple[int, ...], dim: int) -> tuple[int, ...]:
    mesh = (mesh,) * dim if np.ndim(mesh) == 0 else tuple(int(m) for m in mesh)
    if len(mesh) != dim or min(mesh) < 1:
        raise ValueError(f"mesh must be a positive int or {dim} positive ints, got {mesh}")
    return mesh


def magnetic_bloch(
    model: TightBinding, field: UniformB, k: ArrayLike, gauge: str = "landau_x"
) -> NDArray[np.complex128]:
    """Magnetic-supercell Bloch Hamiltonian H(k) at rational flux p/q (module docstring).

    Parameters
    ----------
    model
        Tight-binding model (dimension >= 2; a 3D model must have a1, a2 in the xy plane).
    field
        Uniform B; ``field.flux`` must be rational (:func:`rational_flux`).
    k
        Cartesian momenta in the magnetic Brillouin zone, shape (..., d), units 1/a.
    gauge
        ``"landau_x"`` (supercell of q cells along a1) or ``"landau_y"`` (along a2).

    Returns
    -------
    ndarray, shape (..., qN, qN)
        Hermitian; basis index j N + a for orbital a in cell j a_s of the supercell.
        Energies in units of the hoppings.
    """
    cell = _MagneticCell(model, field, gauge)
    k = np.asarray(k, dtype=float)
    if k.shape[-1:] != (model.dim,):
        raise ValueError(f"k must have last axis of length d={model.dim}, got shape {k.shape}")
    return cell.bloch(k)


def magnetic_kmesh(
    model: TightBinding, field: UniformB, mesh: int | tuple[int, ...], gauge: str = "landau_x"
) -> NDArray[np.float64]:
    """The MBZ mesh k = sum_i (n_i / mesh_i) B_i, n_i = 0..mesh_i - 1, shape mesh + (d,).

    B_s = b_s / q along the supercell axis s, B_i = b_i otherwise (b the
    reciprocal vectors of the lattice); cartesian, units 1/a.
    """
    return _MagneticCell(model, field, gauge).kmesh(_check_mesh(mesh, model.dim))


def magnetic_spectrum(
    model: TightBinding, field: UniformB, n_k: int | tuple[int, ...], gauge: str = "landau_x"
) -> NDArray[np.float64]:
    """Eigenvalues of H(k) on the mesh :func:`magnetic_kmesh` (``mesh = n_k``), shape mesh + (qN,), ascending."""
    cell = _MagneticCell(model, field, gauge)
    k = cell.kmesh(_check_mesh(n_k, model.dim))
    flat = k.reshape(-1, model.dim)
    c = cell.chunk()
    E = np.concatenate([np.linalg.eigvalsh(cell.bloch(flat[i : i + c])) for i in range(0, len(flat), c)])
    return E.reshape(k.shape[:-1] + (cell.size,))


@dataclass(frozen=True)
class SupercellKernel:
    """A converged dressed kernel and how it was obtained.

    Attributes
    ----------
    values
        (nS, N, N), ``values[s, a, b] = O~(R0 + R_s + tau_a, R0 + tau_b)``.
    mesh
        Final MBZ mesh (n_1, ..., n_d); periodic images sit at n_s q a_s and n_i a_i.
    change
        Largest change of any entry between the last two meshes (an error
        estimate of the previous mesh; the final one is more accurate).
    """

    values: NDArray[np.complex128]
    mesh: tuple[int, ...]
    change: float


def _mesh_for_range(L: int, L0: int, cell: _MagneticCell) -> tuple[int, ...]:
    """Smallest mesh in the nested family that puts every periodic image at least L cells away.

    Along a_s and a_o the mesh is (n, q n) with n = ceil(L0 / q) 2^t (images at
    n q a_s and q n a_o; q n points along b_o make the mesh invariant under the
    magnetic translation by a_s); along a3 (3D) it is L0 2^t.
    """
    n = math.ceil(L0 / cell.q)
    while n * cell.q < L:
        n *= 2
    n3 = L0
    while n3 < L:
        n3 *= 2
    return tuple(n if i == cell.axis else cell.q * n if i == cell.other else n3 for i in range(cell.dim))


def _new_points(old: tuple[int, ...] | None, new: tuple[int, ...]) -> NDArray[np.bool_]:
    """Mask of the points of mesh ``new`` that are not on the nested coarser mesh ``old``."""
    if old is None:
        return np.ones(new, dtype=bool)
    idx = np.meshgrid(*[np.arange(n) for n in new], indexing="ij")
    on_old = np.ones(new, dtype=bool)
    for i, n, o in zip(idx, new, old):
        on_old &= i % (n // o) == 0
    return ~on_old


def converged_kernel(
    model: TightBinding,
    field: UniformB,
    func: Callable[[NDArray[np.float64]], ArrayLike],
    cells: ArrayLike,
    tol: float = 1e-11,
    gauge: str = "landau_x",
    home: ArrayLike | None = None,
    max_kpoints: int = 2**20,
) -> SupercellKernel:
    """Dressed kernel of f(H) at rational flux by magnetic-supercell diagonalization, with its mesh.

    The exact counterpart of the paper's band-resolved quantities (Eqs. 14-19):
    for a :class:`keldysh.spectral.BandWindow` f(H) is the band projector Pi_n
    (or H^j Pi_n), for :class:`keldysh.spectral.FermiDirac` the equilibrium
    density matrix. The Fourier sum over an MBZ mesh gives the kernel on a
    magnetic torus, i.e. the lattice kernel plus its periodic images; the mesh
    is doubled (nested, so earlier k-points are reused) until no requested
    entry changes by ``tol`` or more. Only one k-point in q is diagonalized:
    the magnetic translation by a_s maps H(k) to H(k + delta),
    delta = +-(p/q) sign(a1 x a2) b_o, by a known unitary (module docstring).

    Parameters
    ----------
    model, field
        As in :func:`magnetic_bloch`.
    func
        Vectorized real function of energy (units of the hoppings).
    cells
        (nS, d) integer cell offsets R_s of the requested kernel entries.
    tol
        Absolute tolerance on every entry (units of f).
    gauge
        ``"landau_x"`` or ``"landau_y"``; the dressed kernel is gauge invariant.
    home
        Cell R0 whose orbitals are the columns (default 0); the dressed kernel
        does not depend on it (magnetic translation invariance).
    max_kpoints
        Largest MBZ mesh (number of k-points, of which 1/q are diagonalized) to try.

    Returns
    -------
    SupercellKernel
        ``values[s, a, b] = O~(R0 + R_s + tau_a, R0 + tau_b)
        = <R0 + R_s + tau_a| f(H) |R0 + tau_b> exp(-i phi(r1, r2))``.

    Raises
    ------
    ConvergenceError
        If the entries do not settle to ``tol`` within ``max_kpoints`` k-points
        (f(H) is not short-ranged: a window edge or the chemical potential of a
        T = 0 occupation inside the spectrum at this flux).
    """
    cell = _MagneticCell(model, field, gauge)
    d, n, q, ax, ot = cell.dim, cell.n_orb, cell.q, cell.axis, cell.other
    cells = np.asarray(cells)
    if cells.ndim != 2 or cells.shape[1] != d or not np.issubdtype(cells.dtype, np.integer):
        raise ValueError(f"cells must be an integer array of shape (nS, {d}), got {cells.dtype} {cells.shape}")
    home = np.zeros(d, dtype=int) if home is None else np.asarray(home)
    if home.shape != (d,) or not np.issubdtype(home.dtype, np.integer):
        raise ValueError(f"home must be {d} integers, got {home!r}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")

    a = cell.lattice_vectors
    m0, j0 = divmod(int(home[ax]), q)
    m1, j1 = np.divmod(home[ax] + cells[:, ax], q)
    r2 = home @ a + cell.tau  # (N, d)
    r1 = (home + cells) @ a  # (nS, d)
    phi = field.phase(a, r1[:, None, None, :] + cell.tau[None, :, None, :], r2[None, None, :, :], gauge)
    # m-phases of the magnetic Bloch states and the Wilson-line dressing, k-independent
    post = np.exp(1j * (m1[:, None, None] * cell.g[None, :, None] - m0 * cell.g[None, None, :] - phi))
    sites, site_of = np.unique(j1, return_inverse=True)  # supercell sites j1 the cells need
    R_o, R_o_of = np.unique(cells[:, ot], return_inverse=True)

    L = L0 = max(16, 2 * int(np.abs(cells).max(initial=0)) + 8)
    mesh_old, S, prev, change = None, None, None, math.inf
    while True:
        mesh = _mesh_for_range(L, L0, cell)
        if math.prod(mesh) > max_kpoints:
            raise ConvergenceError(
                f"supercell kernel not converged to tol={tol:g} within max_kpoints={max_kpoints} "
                f"(last change {change:.3g}, last mesh {mesh_old}); "
                "f(H) is not short-ranged at this flux (window edge or chemical potential inside the spectrum?)"
            )
        # S: unnormalized sums over b_o, indexed by the other mesh axes, of exp(i k.a_o R_o) G(k)
        S_new = np.zeros(tuple(m for i, m in enumerate(mesh) if i != ot) + (len(R_o), len(sites), n, n), complex)
        if S is not None:  # the coarser mesh is nested: keep its sums
            S_new[tuple(slice(None, None, m // o) for i, (m, o) in enumerate(zip(mesh, mesh_old)) if i != ot)] = S
        S = S_new
        reps = _new_points(mesh_old, mesh)
        reps[(slice(None),) * ot + (slice(mesh[ot] // q, None),)] = False  # one k per translation orbit
        _add_orbit_sums(cell, func, mesh, np.argwhere(reps), j0, sites, R_o, S)
        values = _fourier_sum(cell, mesh, S, cells, R_o_of, site_of) * post
        if prev is not None:
            change = float(np.abs(values - prev).max())
            if change < tol:
                return SupercellKernel(values, mesh, change)
        mesh_old, prev = mesh, values
        L = 2 * min(m * q if i == ax else m for i, m in enumerate(mesh))  # twice the image distance


def _add_orbit_sums(
    cell: _MagneticCell,
    func: Callable[[NDArray[np.float64]], ArrayLike],
    mesh: tuple[int, ...],
    reps: NDArray[np.int_],
    j0: int,
    sites: NDArray[np.int_],
    R_o: NDArray[np.int_],
    S: NDArray[np.complex128],
) -> None:
    """Add sum_t exp(i k_t.a_o R_o) G(k_t) over the translation orbits k_t = k + t delta of ``reps`` to S.

    G(k)[j, a, b] = exp(i k.(tau_a - tau_b)) [U f(E) U^dagger]_{j a, j0 b}(k). One
    eigendecomposition at k gives the whole orbit: with V the magnetic
    translation by a_s in the Bloch basis (j -> j + 1, exp(-i g_a) on wrapping),
    F(k + t delta) = V^t F(k) V^-t, i.e.
    F(k + t delta)_{j a, j0 b} = w_t(j, a) F(k)_{(j-t) a, (j0-t) b} conj(w_t(j0, b)),
    w_t(j, a) = exp(-i g_a [j < t]) (indices mod q).
    """
    n, q, ot = cell.n_orb, cell.q, cell.other
    t = np.arange(q)
    src_rows = (sites[None, :] - t[:, None]) % q  # (q, nj)
    src_col = (j0 - t) % q  # (q,)
    w = np.exp(-1j * cell.g[None, None, :] * (sites[None, :, None] < t[:, None, None]))  # (q, nj, N)
    w_home = np.exp(-1j * cell.g[None, :] * (j0 < t)[:, None])  # (q, N)
    shift = cell.orbit_step * (mesh[ot] // q)  # o-index step of delta on this mesh
    k_all = cell.kmesh(mesh)
    c = cell.chunk()
    for i in range(0, len(reps), c):
        idx = reps[i : i + c]
        k = k_all[tuple(idx.T)]
        E, U = np.linalg.eigh(cell.bloch(k))
        F = ((U * np.asarray(func(E))[:, None, :]) @ U.conj().transpose(0, 2, 1)).reshape(len(k), q, n, q, n)
        G = np.moveaxis(F[:, src_rows, :, src_col[:, None], :], 2, 0)  # (c, q, nj, N, N)
        eo = np.exp(1j * (k[:, None, :] + t[None, :, None] * cell.delta) @ cell.tau.T)  # (c, q, N)
        G = G * (w[None, :, :, :, None] * w_home.conj()[None, :, None, None, :])
        G = G * eo[:, :, None, :, None] * eo.conj()[:, :, None, None, :]
        n_o = (idx[:, ot, None] + t[None, :] * shift) % mesh[ot]  # (c, q)
        phase = _dft_phases(n_o, mesh[ot], R_o)  # (c, q, nR_o)
        rest = tuple(idx[:, j] for j in range(cell.dim) if j != ot)
        np.add.at(S, rest, np.einsum("ctr,ctjab->crjab", phase, G))


def _fourier_sum(
    cell: _MagneticCell,
    mesh: tuple[int, ...],
    S: NDArray[np.complex128],
    cells: NDArray[np.int_],
    R_o_of: NDArray[np.int_],
    site_of: NDArray[np.int_],
) -> NDArray[np.complex128]:
    """Mesh average of exp(i k.R_s) G(k)[j1_s] for every requested cell, shape (nS, N, N).

    S holds the sums over the a_o direction; the remaining axes are summed
    here, k.a_i R_i = 2 pi n_i R_i / (mesh_i q_i) with q_s = q, q_3 = 1.
    """
    T = S[(Ellipsis, R_o_of, site_of, slice(None), slice(None))]  # (mesh_s[, mesh_3], nS, N, N)
    for i in range(cell.dim):
        if i == cell.other:
            continue
        qi = cell.q if i == cell.axis else 1
        E = _dft_phases(np.arange(mesh[i]), mesh[i] * qi, cells[:, i])  # (mesh_i, nS)
        T = np.einsum("ms,m...sab->...sab", E, T)
    return T / math.prod(mesh)


def _dft_phases(n: NDArray[np.int_], period: int, R: NDArray[np.int_]) -> NDArray[np.complex128]:
    """exp(2 pi i n R / period), shape n.shape + (len(R),), argument reduced exactly."""
    return np.exp(2j * np.pi * ((n[..., None] * R) % period) / period)


def supercell_kernel(
    model: TightBinding,
    field: UniformB,
    func: Callable[[NDArray[np.float64]], ArrayLike],
    cells: ArrayLike,
    tol: float = 1e-11,
    gauge: str = "landau_x",
    home: ArrayLike | None = None,
    max_kpoints: int = 2**20,
) -> NDArray[np.complex128]:
    """``values`` (nS, N, N) of :func:`converged_kernel`: O~(R0 + R_s + tau_a, R0 + tau_b) of f(H).

    Feed to :func:`keldysh.wigner.wigner_from_kernel` for W_{f(H)}(k).
    """
    return converged_kernel(model, field, func, cells, tol, gauge, home, max_kpoints).values
