"""The von Neumann generator on dressed kernels in a uniform B and E, and its Chebyshev exponential.

Every operator O that commutes with the magnetic translations (the Peierls H in
a uniform B, the Fermi function of it, the density matrix evolved in a uniform
E) is fixed by its *dressed kernel* on the home-cell columns (format of
:mod:`keldysh.wigner`)::

    X[R, a, b] = O~(R + tau_a, tau_b) = O(R + tau_a, tau_b) exp(-i phi(R + tau_a, tau_b)),

phi the straight-line Peierls phase, and the dressed kernel of a product is a
*twisted convolution* that involves no gauge at all::

    (A B)~(r1, r2) = sum_r3 A~(r1, r3) B~(r3, r2) exp(i beta area(r2, r3, r1)),

with area(x0, x1, x2) = (x1 - x0) x (x2 - x0) / 2 the signed area of the
triangle (the flux of the closed straight path r2 -> r3 -> r1 -> r2) and
beta = q B / hbar = 2 pi flux / A_cell. This module assembles, on the box of
cells |R|_inf <= S, the generator of the gauge-invariant density matrix in the
fields (hbar = 1)::

    i dX/dt = L X,   L X = c_L K * X - c_R X * K - (F . s) X,     s_ab(R) = R + tau_a - tau_b,

where K is a magnetic-translation-invariant Hamiltonian kernel (the model's
hoppings, <r|K|r + d> = K_d), F = q E(t) the force and ``*`` the twisted
product; (c_L, c_R) = (1, 1) is the commutator (the density matrix, von
Neumann equation in the length gauge), (1, 0) the left product alone (a
propagator applied to a kernel: two-time Green's functions). The E-field term
is diagonal because the fully dressed kernel (B and E Wilson lines; temporal
gauge A(t): X = rho~_B exp(-i q A(t).s)) obeys exactly the length-gauge
equation [H_B - F.r, rho](r1, r2) = [H_B, rho](r1, r2) - F.(r1 - r2) rho(r1, r2).

Outside the box X is zero (open boundary in kernel space). The truncated
generator P L P is Hermitian in the l2 norm of the kernel entries (the
Hilbert-Schmidt norm per cell), so the truncated evolution is unitary in that
norm and its error is the leakage through the box edge (Duhamel):
||X_exact(t) - X_box(t)||_2 <= int_0^t ||Q L P X_box(t')||_2 dt'
<= c_edge int_0^t ||X_box(t') on the outer r shells||_2 dt', c_edge the
:attr:`Generator.edge_norm` bound of the hops that leave the box.

The generator is a CSR matrix on the flattened box ``X.reshape(-1)`` of layout
(N, N, 2S + 1, 2S + 1) (row orbital, column orbital, R_1 + S, R_2 + S): every
row has one slot per hop and orbital of the left and of the right product
(18 for QWZ), empty where the hop leaves the box; the diagonal E term is
applied separately from ``force_dot_s``. :meth:`Generator.matrix` scales the
off-diagonal part (the commutator-free Magnus steps use g L_B).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.special import jv

__all__ = ["Generator", "bessel_coefficients", "box_cells", "chebyshev_exponential", "shell_of_box"]

#: Relative size of a dropped Chebyshev-Bessel tail of the exponential.
SERIES_EPS = 1e-16


def _cross(x: NDArray, y: NDArray) -> NDArray:
    """z-component of x times y for cartesian 2-vectors (last axis)."""
    return x[..., 0] * y[..., 1] - x[..., 1] * y[..., 0]


def box_cells(S: int) -> NDArray[np.int64]:
    """Cells (n, n, 2) of the box |R|_inf <= S in array order (R_1 + S, R_2 + S)."""
    r = np.arange(-S, S + 1)
    return np.stack(np.meshgrid(r, r, indexing="ij"), axis=-1)


def shell_of_box(S: int) -> NDArray[np.int64]:
    """Max-norm shell |R|_inf of every cell of the box, shape (2S + 1, 2S + 1)."""
    return np.abs(box_cells(S)).max(axis=-1)


class Generator:
    """The generator L of :mod:`keldysh.dynamics.liouvillian` on the box |R|_inf <= S.

    Parameters
    ----------
    hoppings
        ``{d: K_d}`` with d a tuple of two integers and K_d an N x N block,
        ``<r|K|r + d> = K_d`` (the model convention); K must be Hermitian
        (K_{-d} = K_d^dagger, both given).
    positions, lattice_vectors
        Orbital positions (N, 2) in fractional coordinates and the (2, 2) cartesian lattice vectors.
    beta
        q B / hbar = 2 pi flux / A_cell (units 1/a^2).
    S
        Box radius (cells).
    left, right
        Coefficients c_L, c_R of the left and right products.
    force
        The force F = q E (after the ramp), shape (2,): the diagonal is -f (F.s),
        ``force_dot_s`` holds F.s on the box.
    """

    def __init__(
        self,
        hoppings: dict,
        positions: ArrayLike,
        lattice_vectors: ArrayLike,
        beta: float,
        S: int,
        left: float = 1.0,
        right: float = 1.0,
        force: ArrayLike = (0.0, 0.0),
    ) -> None:
        A = np.asarray(lattice_vectors, dtype=float)
        tau = np.asarray(positions, dtype=float) @ A
        self.N = N = tau.shape[0]
        self.S = S = int(S)
        self.n = n = 2 * S + 1
        self.size = N * N * n * n
        self.force = F = np.asarray(force, dtype=float)
        hops = {tuple(int(x) for x in d): np.asarray(T, dtype=complex) for d, T in hoppings.items()}
        hops = {d: T for d, T in hops.items() if np.any(T != 0)}
        u = box_cells(S) @ A  # (n, n, 2) cartesian R
        itype = np.int32 if self.size < 2**31 else np.int64
        cell = np.arange(n * n, dtype=itype).reshape(n, n)
        shifted = {}  # number of the cell R + d, -1 where it leaves the box
        for d in hops:
            shifted[d] = np.full((n, n), -1, dtype=itype)
            src = tuple(slice(max(0, x), n + min(0, x)) for x in d)
            dst = tuple(slice(max(0, -x), n - max(0, x)) for x in d)
            shifted[d][dst] = cell[src]

        def slots(a, b):
            """(d, c, side) of the nonzero terms of the rows (a, b, R): side +1 left, -1 right."""
            out = []
            for d, T in hops.items():
                for c in range(N):
                    if left and T[a, c] != 0:
                        out.append((d, c, 1))
                    if right and T[c, b] != 0:
                        out.append((d, c, -1))
            return out

        # every row (a, b, R) has the same slots; a slot is empty where R + d leaves the box, so the
        # number of entries is known beforehand and the CSR arrays are filled block by block
        total = sum((n - abs(d[0])) * (n - abs(d[1])) for a in range(N) for b in range(N) for d, _, _ in slots(a, b))
        self._cols = np.empty(total, dtype=itype)
        self._coef = np.empty(total, dtype=complex)
        counts = np.empty((N, N, n * n), dtype=itype)
        at = 0
        for a in range(N):
            for b in range(N):
                sl = slots(a, b)
                data = np.empty((n, n, len(sl)), dtype=complex)
                cols = np.empty((n, n, len(sl)), dtype=itype)
                for k, (d, c, side) in enumerate(sl):
                    T, dc = hops[d], np.asarray(d, dtype=float) @ A
                    if side > 0:
                        # sum_c K_d[a, c] X[R + d, c, b]: flux of the triangle (tau_b, R + d + tau_c, R + tau_a)
                        area = _cross(u, tau[a] - tau[c] - dc) + _cross(dc + tau[c] - tau[b], tau[a] - tau[b])
                        data[..., k] = left * T[a, c] * np.exp(0.5j * beta * area)
                        cols[..., k] = np.where(shifted[d] >= 0, (c * N + b) * n * n + shifted[d], -1)
                    else:
                        # sum_c X[R + d, a, c] K_d[c, b]: flux of the triangle (tau_b, -d + tau_c, R + tau_a)
                        w = -dc + tau[c] - tau[b]
                        area = -_cross(u, w) + _cross(w, tau[a] - tau[b])
                        data[..., k] = -right * T[c, b] * np.exp(0.5j * beta * area)
                        cols[..., k] = np.where(shifted[d] >= 0, (a * N + c) * n * n + shifted[d], -1)
                valid = cols >= 0  # row-major order of (R, slot) is the CSR order of the rows (a, b, R)
                m = int(valid.sum())
                self._cols[at : at + m] = cols[valid]
                self._coef[at : at + m] = data[valid]
                counts[a, b] = valid.sum(axis=-1).ravel()
                at += m
        self._indptr = np.concatenate([[0], np.cumsum(counts.ravel())]).astype(itype)
        s = u[None, None] + (tau[:, None, :] - tau[None, :, :])[:, :, None, None, :]  # s_ab(R)
        self.force_dot_s = (s @ F).ravel()  # (size,)
        self.max_s = float(np.sqrt((s**2).sum(axis=-1)).max())
        self.edge_norm = float((left != 0) + (right != 0)) * float(
            sum(np.linalg.norm(T, 2) for d, T in hops.items() if any(d))
        )
        self.range = max((max(abs(x) for x in d) for d in hops), default=0)
        self.left, self.right = float(left), float(right)

    @property
    def nnz(self) -> int:
        """Stored off-diagonal entries (memory ~ 20 bytes each)."""
        return len(self._cols)

    def matrix(self, scale: float = 1.0) -> sp.csr_matrix:
        """CSR of ``scale`` (c_L K * X - c_R X * K), the off-diagonal part of the generator."""
        data = self._coef if scale == 1.0 else scale * self._coef
        M = sp.csr_matrix((data, self._cols, self._indptr), shape=(self.size, self.size), copy=False)
        M.has_sorted_indices = False
        return M

    def embed(self, X: NDArray, S_old: int) -> NDArray[np.complex128]:
        """A box array of radius ``S_old`` (N, N, n_old, n_old) zero-padded to this box."""
        pad = self.S - S_old
        if pad < 0:
            raise ValueError("cannot embed a larger box into a smaller one")
        return np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def bessel_coefficients(x: float, eps: float = SERIES_EPS) -> tuple[NDArray[np.complex128], float]:
    """Chebyshev coefficients of exp(-i x y) on y in [-1, 1] and the l1 norm of the dropped tail.

    exp(-i x y) = J_0(x) + 2 sum_{m>=1} (-i)^m J_m(x) T_m(y) (Jacobi-Anger); the
    series is cut where the remaining sum of |coefficients| is below ``eps``.
    """
    M = int(abs(x) + 12.0 * max(1.0, abs(x)) ** (1.0 / 3.0) + 40)
    m = np.arange(M + 1)
    J = jv(m, abs(x))
    c = 2.0 * (-1j * math.copysign(1.0, x) if x else 1.0) ** m * J
    c[0] = J[0]
    tail = np.append(np.cumsum(np.abs(c[::-1]))[::-1], 0.0)
    keep = int(np.argmax(tail <= eps))
    if tail[keep] > eps:
        raise ValueError(f"Bessel series of exp(-i {x} y) not converged within {M} terms")
    return c[: max(keep, 1)], float(tail[max(keep, 1)])


def chebyshev_exponential(
    apply, center: float, halfwidth: float, dt: float, x: NDArray[np.complex128]
) -> tuple[NDArray[np.complex128], float, int]:
    """exp(-i dt L) x by the Chebyshev-Bessel series, for a Hermitian L with spectrum in center +- halfwidth.

    Parameters
    ----------
    apply
        y = L x for flat complex vectors.
    center, halfwidth
        The spectrum of L lies in [center - halfwidth, center + halfwidth].
    dt
        Time step (any sign; units 1/energy).
    x
        Flat vector.

    Returns
    -------
    y, tail, order
        The result, the l2 bound ``tail * ||x||`` of the dropped terms, and the order used.
    """
    c, tail = bessel_coefficients(halfwidth * dt)
    inv = 1.0 / halfwidth

    def scaled(v):
        out = apply(v)
        if center:
            out -= center * v
        out *= inv
        return out

    y0 = x
    acc = c[0] * y0
    if len(c) > 1:
        y1 = scaled(y0)
        acc += c[1] * y1
        for m in range(2, len(c)):
            y2 = scaled(y1)
            y2 *= 2.0
            y2 -= y0
            acc += c[m] * y2
            y0, y1 = y1, y2
    if center:
        acc *= np.exp(-1j * center * dt)
    return acc, tail * float(np.linalg.norm(x)), len(c) - 1
