"""Algorithm (a): magnetic-supercell Bloch evolution in a uniform B and E at rational flux p/q.

At flux p/q a Landau gauge makes the Peierls Hamiltonian periodic under the
magnetic translations of a supercell of q cells along a_s (s = 1 for
``"landau_x"``, 2 for ``"landau_y"``; o the other in-plane axis), with the
orbital gauge phases g_a of :mod:`keldysh.static.supercell`. Written on the
superlattice (q a_s, a_o[, a3]) with qN orbitals (j, a) at j a_s + tau_a, it is an
ordinary tight-binding model (:func:`magnetic_supercell_model`)::

    T'_{R'}[(j, a), (j', b)] = sum_R T_R[a, b] exp(i phi(j a_s + tau_a, j a_s + R + tau_b)) exp(i m' g_b),

j + R_s = m' q + j', R' = (m', R_o[, R_3]); its convention-II Bloch matrix is the
magnetic Bloch Hamiltonian H_B(k) of :func:`keldysh.static.supercell.magnetic_bloch`.
A uniform E in the temporal gauge adds exp(i q A(t).(r1 - r2)) to every hop, so
each magnetic Bloch momentum evolves on its own (hbar = 1)::

    i dU_k/dt = H_B(k - q A(t)) U_k,   rho_k(t) = U_k n_F(H_B(k)) U_k^dagger,

which :func:`keldysh.dynamics.evolution.propagate` integrates (sixth-order Magnus,
step doubling), batched over k.

Reduced zone and mesh
---------------------
The single-cell magnetic translation along a_s commutes with H(t) at every t
and maps k to k + delta, delta = +-(p/q) b_o, by a k-independent unitary V
(j -> j + 1, exp(-i g_a) on wrapping); so rho_{k + t delta}(t) = V^t rho_k(t) V^-t
and the traces per cell (density, current) are periodic in k with b_s/q and
b_o/q. The mesh is n x n points of that reduced cell (times n_z points along b_3
in 3D), k = (i b_s + l b_o)/(n q) [+ i_z b_3 / n_z]: a torus of (n q) x (n q)
[x n_z] cells, i.e. the kernel plus its periodic images at distance n q.

Observables
-----------
- particle current per unit area (2D) or volume (3D),
  j(t) = < Tr[rho_k(t) d_k H_B(k - q A(t))] >_k / (q A_cell [c]);
- the dressed kernel X[R, a, b] = rho~(R + tau_a, tau_b; t) e^{-i q A(t).s} on the
  torus cells |R_s|, |R_o| < n q / 2 (and |R_3| < n_z / 2), by the Fourier sum

      rho(r1, r2) = (1/n_k) sum_k exp(i k.(r1 - r2)) exp(i (m1 g_a - m2 g_b)) rho_k[j1 a, j2 b]

  over the full magnetic zone (n x n q points along b_s/q, b_o; the points off the
  reduced cell from V), dressed with the Wilson lines; W(p, t) is its Fourier
  sum at the kinetic momentum p (:func:`keldysh.wigner.wigner_from_kernel`);
- two-time kernels of G^<_k(t, t') = i U_k(t) rho_k(0) U_k(t')^dagger and
  G^R_k = -i theta(t - t') U_k(t) U_k(t')^dagger the same way, with the Wilson line
  of the mean vector potential over [t', t].

Error estimates
---------------
``aliasing``: the l1 mass (max over elements) of the torus kernel beyond
radius n q / 4, an upper estimate of the periodic images (the kernel decays
monotonically on average); the mesh is doubled until it is below its share.
``propagation``: 2 q N times the propagator's element error estimate
(||delta U||_2 <= qN max |delta U_ij|, and rho = U rho0 U^dagger).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..fields import UniformB, UniformE
from ..lattice import TightBinding
from ..static.supercell import SUPERCELL_AXIS, rational_flux
from .evolution import propagate

__all__ = [
    "MagneticSupercell",
    "SupercellState",
    "magnetic_supercell",
    "magnetic_supercell_model",
    "supercell_states",
]


@dataclass(frozen=True)
class MagneticSupercell:
    """A magnetic supercell as a tight-binding model and the data of its magnetic translations.

    Attributes
    ----------
    model
        The supercell :class:`TightBinding` (qN orbitals; orbital j N + a is orbital a of cell j a_s).
    p, q
        The flux p/q per cell of the original lattice.
    axis, other
        Supercell axis s and the other in-plane axis o (0 or 1).
    g
        Orbital gauge phases g_a of the translation by q a_s, shape (N,).
    orbit_step
        delta = orbit_step b_o / q is the k shift of the translation by a_s.
    """

    model: TightBinding
    p: int
    q: int
    axis: int
    other: int
    g: NDArray[np.float64]
    orbit_step: int


def magnetic_supercell(model: TightBinding, field: UniformB, gauge: str = "landau_x") -> MagneticSupercell:
    """The magnetic supercell of ``model`` at rational flux (module docstring), with its translation data.

    Parameters
    ----------
    model
        2D model, or 3D with a1, a2 in the xy plane and a3 along z.
    field
        Uniform B along z; ``field.flux`` must be rational p/q (q <= 2000).
    gauge
        ``"landau_x"`` (supercell along a1) or ``"landau_y"`` (along a2).

    Raises
    ------
    ValueError
        Irrational flux, a gauge without a one-axis supercell, or a model of dimension < 2.
    """
    if gauge not in SUPERCELL_AXIS:
        raise ValueError(f"gauge {gauge!r} has no one-axis magnetic supercell; choose one of {tuple(SUPERCELL_AXIS)}")
    if not isinstance(model, TightBinding) or model.dim not in (2, 3):
        raise ValueError("a magnetic supercell needs a 2D or layered 3D keldysh TightBinding model")
    p, q = rational_flux(field.flux)
    s = SUPERCELL_AXIS[gauge]
    o = 1 - s
    a = model.lattice_vectors
    d, N = model.dim, model.norbs
    orient = math.copysign(1.0, a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0])
    sign = 1 if gauge == "landau_x" else -1
    g = sign * 2 * np.pi * p * orient * model.positions[:, o]
    e_s = np.eye(d, dtype=int)[s]
    hop: dict[tuple[int, ...], np.ndarray] = {}
    r1 = np.arange(q)[:, None, None] * e_s + model.positions[None]  # (q, N, d) fractional
    for R, T in model.hoppings.items():
        R = np.asarray(R)
        phi = field.phase(a, r1[:, :, None] @ a, (r1[:, None, :] + R) @ a, gauge)  # (q, N, N)
        m2, j2 = np.divmod(np.arange(q) + R[s], q)
        coef = T[None] * np.exp(1j * (phi + m2[:, None, None] * g[None, None, :]))
        for j in range(q):
            Rp = R.copy()
            Rp[s] = m2[j]
            key = tuple(int(x) for x in Rp)
            block = hop.setdefault(key, np.zeros((q * N, q * N), dtype=complex))
            block[j * N : (j + 1) * N, j2[j] * N : (j2[j] + 1) * N] += coef[j]
    A_sc = a.copy()
    A_sc[s] = q * a[s]
    pos = np.tile(model.positions, (q, 1))
    pos[:, s] = (np.repeat(np.arange(q), N) + pos[:, s]) / q
    sc = TightBinding(hop, positions=pos, lattice_vectors=A_sc)
    return MagneticSupercell(sc, p, q, s, o, g, int(sign * orient) * p)


def magnetic_supercell_model(model: TightBinding, field: UniformB, gauge: str = "landau_x") -> TightBinding:
    """The magnetic supercell as a :class:`TightBinding` whose Bloch matrix is ``magnetic_bloch(model, field, k, gauge)``."""
    return magnetic_supercell(model, field, gauge).model


def _reduced_mesh(model: TightBinding, q: int, n: int, nz: int, kz: NDArray | None = None) -> NDArray[np.float64]:
    """k = (i b_1 + l b_2)/(n q) [+ i_z b_3 / n_z or the given k_z], i, l < n, shape (n, n[, nz], d)."""
    b = model.reciprocal_vectors
    s = np.arange(n) / (n * q)
    if model.dim == 2:
        return np.stack(np.meshgrid(s, s, indexing="ij"), axis=-1) @ b
    if kz is None:
        return np.stack(np.meshgrid(s, s, np.arange(nz) / nz, indexing="ij"), axis=-1) @ b
    plane = np.stack(np.meshgrid(s, s, indexing="ij"), axis=-1) @ b[:2, :2]
    out = np.zeros((n, n, len(kz), 3))
    out[..., :2] = plane[:, :, None, :]
    out[..., 2] = np.asarray(kz)[None, None, :]
    return out


@dataclass
class SupercellState:
    """rho_k(t) (and propagators) on the reduced mesh, with what is needed to build kernels.

    Attributes
    ----------
    cell
        The :class:`MagneticSupercell`.
    k
        Reduced mesh, shape (n, n[, nz], d) (module docstring).
    times
        Output times (nt,).
    U
        Propagators U_k(t_i), shape (nt, n, n[, nz], qN, qN).
    rho0
        n_F(H_B(k)), shape (n, n[, nz], qN, qN).
    efield
        The E field (None: no field, U = 1).
    error_terms
        ``propagation`` (element error of rho from the propagator estimate).
    energies
        Magnetic bands on the mesh (n, n[, nz], qN), for gap checks.
    uniform
        False when the k_z values were given explicitly (no kernel, no current).
    """

    cell: MagneticSupercell
    k: NDArray[np.float64]
    times: NDArray[np.float64]
    U: NDArray[np.complex128]
    rho0: NDArray[np.complex128]
    efield: UniformE | None
    energies: NDArray[np.float64]
    error_terms: dict = field(default_factory=dict)
    uniform: bool = True

    @property
    def mesh(self) -> int:
        return self.k.shape[0]

    def vector_potential(self, t: ArrayLike) -> NDArray[np.float64]:
        d = self.k.shape[-1]
        t = np.asarray(t, dtype=float)
        return np.zeros(t.shape + (d,)) if self.efield is None else self.efield.vector_potential(t)

    def density(self, i: int) -> NDArray[np.complex128]:
        """rho_k(t_i) on the reduced mesh."""
        U = self.U[i]
        return U @ self.rho0 @ np.conj(np.swapaxes(U, -1, -2))

    def slice_density(self) -> NDArray[np.float64]:
        """Particles per unit area of each k_z slice, n(k_z; t_i) = <Tr rho_k(t_i)>_plane / (q A_xy), shape (nt, nkz).

        3D only; the k_z are canonical (kinetic k_z = k_z - q A_z(t)).
        """
        if self.k.ndim != 4:
            raise ValueError("slice densities need a 3D model")
        cell = self.cell.model
        area = abs(np.linalg.det(cell.lattice_vectors[:2, :2]))
        out = [np.trace(self.density(i), axis1=-2, axis2=-1).real.mean(axis=(0, 1)) for i in range(len(self.times))]
        return np.array(out) / area

    def current(self) -> NDArray[np.float64]:
        """j(t_i) per unit area (2D) or volume (3D), shape (nt, d) (module docstring)."""
        if not self.uniform:
            raise ValueError("the current needs the uniform k_z mesh")
        sc = self.cell.model
        out = []
        for i, t in enumerate(self.times):
            p = self.k - self.vector_potential(t)
            v = sc.bloch_derivative(p)  # (..., d, qN, qN)
            tr = np.einsum("...ab,...iba->...i", self.density(i), v).real
            out.append(tr.reshape(-1, tr.shape[-1]).mean(axis=0))
        return np.array(out) / sc.cell_area

    def kernel(self, F: NDArray[np.complex128], mean_A: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.complex128]]:
        """Dressed kernel (cells, values) of the operator with Bloch blocks F (reduced mesh, (..., qN, qN)).

        ``mean_A`` is the q A of the E Wilson line exp(-i q A.s) (A(t) at equal times,
        the mean over [t', t] for two-time kernels). Cells cover the torus centred on
        the home cell; values[s, a, b] = O~(R_s + tau_a, tau_b).
        """
        if not self.uniform:
            raise ValueError("kernels need the uniform k_z mesh")
        return _torus_kernel(self.cell, self.k, F, np.asarray(mean_A, dtype=float))


def _torus_kernel(cell: MagneticSupercell, k: NDArray, F: NDArray, qA: NDArray):
    """Fourier sum of the module docstring on the full magnetic zone, dressed; (cells, values)."""
    sc = cell.model
    q, s, o = cell.q, cell.axis, cell.other
    N = sc.norbs // q
    n = k.shape[0]
    threeD = k.ndim == 4
    nz = k.shape[2] if threeD else 1
    if not threeD:
        k = k[:, :, None]
        F = F[:, :, None]
    # reduced mesh axes are along (b_1, b_2): put them in (s, o) order
    if s == 1:
        k = np.swapaxes(k, 0, 1)
        F = np.swapaxes(F, 0, 1)
    base = sc.lattice_vectors.copy()
    base[s] /= q  # original lattice
    b = 2 * np.pi * np.linalg.inv(base).T
    tau = (sc.positions[:N] @ sc.lattice_vectors)  # orbital positions of cell j = 0, cartesian
    dtau = tau[:, None, :] - tau[None, :, :]  # (a, b, d)
    nq = n * q
    G = np.empty((n, nq, nz, q, N, N), dtype=complex)  # [i_s, l_o, i_z, j, a, b]
    for t in range(q):
        l = (np.arange(n) + t * cell.orbit_step * n) % nq  # o-index of k + t delta
        # F(k + t delta)[j a, 0 b] = w_t(j, a) F(k)[(j - t) a, (-t) b] conj(w_t(0, b)), w_t = e^{-i g_a [j < t]}
        src_col = (-t) % q
        block = F[..., :, src_col * N : (src_col + 1) * N].reshape(n, n, nz, q, N, N)
        block = np.roll(block, t, axis=3)
        wrap = (np.arange(q) < t)[:, None] * cell.g[None, :]  # (q, N)
        block = block * np.exp(-1j * wrap)[None, None, None, :, :, None] * np.exp(1j * cell.g * (t > 0))
        kt = k + t * cell.orbit_step / q * b[o]
        G[:, l] = block * np.exp(1j * np.einsum("...i,abi->...ab", kt, dtau))[..., None, :, :]
    # sum over l (o direction): exp(2 pi i l R_o / nq) -> ifft * nq; over i (s direction) per site j
    G = np.fft.ifft(G, axis=1) * nq  # [i, R_o, iz, j, a, b]
    if threeD:
        G = np.fft.ifft(G, axis=2) * nz  # [i, R_o, R_3, j, a, b]
    x = np.arange(nq) - nq // 2  # centred s coordinate of the row cell
    m1, j1 = np.divmod(x, q)
    tw = np.exp(2j * np.pi * np.outer(np.arange(n), x) / nq)  # (n, nq)
    vals = np.einsum("ix,iozxab->xozab", tw, G[:, :, :, j1]) / (n * nq * nz)
    vals = vals * np.exp(1j * m1[:, None, None, None, None] * cell.g[None, None, None, :, None])
    Ro = np.fft.fftfreq(nq, 1.0 / nq).astype(int)
    Rz = np.fft.fftfreq(nz, 1.0 / nz).astype(int) if threeD else np.zeros(1, dtype=int)
    d = base.shape[0]
    cells = np.zeros((nq, nq, nz, d), dtype=np.int64)
    cells[..., s] = x[:, None, None]
    cells[..., o] = Ro[None, :, None]
    if threeD:
        cells[..., 2] = Rz[None, None, :]
    cells = cells.reshape(-1, d)
    vals = vals.reshape(-1, N, N)
    # Wilson lines: B (gauge of the supercell) and E (q A . s)
    gauge = "landau_x" if s == 0 else "landau_y"
    r1 = np.broadcast_to((cells @ base)[:, None, None, :] + tau[None, :, None, :], (len(cells), N, N, d))
    r2 = np.broadcast_to(tau[None, None, :, :], r1.shape)
    phi = UniformB(cell.p / q).phase(base, r1, r2, gauge)
    svec = r1 - r2
    vals = vals * np.exp(-1j * (phi + svec @ qA))
    return cells, vals


def supercell_states(
    model: TightBinding,
    bfield: UniformB,
    efield: UniformE | None,
    occupation,
    times: ArrayLike,
    *,
    mesh: int,
    nz: int = 1,
    kz: ArrayLike | None = None,
    gauge: str = "landau_x",
    tol: float = 1e-10,
) -> SupercellState:
    """Evolve rho_k = occupation(H_B(k)) on the reduced mesh of ``mesh`` x ``mesh`` [x nz] points.

    Parameters
    ----------
    model, bfield, efield
        The model (2D or layered 3D), B at rational flux, E (or None).
    occupation
        Vectorized function of energy (FermiDirac, BandWindow).
    times
        Output times, strictly increasing, >= 0.
    mesh, nz
        Reduced-mesh size (module docstring).
    kz
        3D only: explicit cartesian k_z values instead of the uniform n_z mesh (the
        kernel then is not available; :meth:`SupercellState.slice_density` is).
    gauge
        ``"landau_x"`` or ``"landau_y"``.
    tol
        Target max element error of rho_k(t) (the propagator is held to tol / (2 qN)).
    """
    cell = magnetic_supercell(model, bfield, gauge)
    sc = cell.model
    k = _reduced_mesh(model, cell.q, mesh, nz, None if kz is None else np.atleast_1d(np.asarray(kz, dtype=float)))
    E, V = np.linalg.eigh(sc.bloch(k))
    rho0 = (V * np.asarray(occupation(E), dtype=float)[..., None, :]) @ np.conj(np.swapaxes(V, -1, -2))
    times = np.asarray(times, dtype=float)
    size = sc.norbs
    if efield is None:  # static H_B: U_k(t) = V exp(-i E t) V^dagger exactly
        phases = np.exp(-1j * E[None] * times.reshape((-1,) + (1,) * E.ndim))
        U = (V[None] * phases[..., None, :]) @ np.conj(np.swapaxes(V, -1, -2))[None]
        err = 0.0
    else:
        evo = propagate(sc, efield, k, times, tol=tol / (2 * size))
        U, err = evo.U, 2 * size * evo.error_estimate
    return SupercellState(cell, k, times, U, rho0, efield, E, {"propagation": err}, kz is None)
