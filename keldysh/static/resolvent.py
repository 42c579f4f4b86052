"""Resolvent columns (H - z)^{-1}|tau_b> of the Peierls H on the infinite 2D lattice, by direct solves.

In the ``"landau_x"`` gauge of :mod:`keldysh.fields` (q A / hbar = Phi u1 grad u2)
the Peierls Hamiltonian commutes with the plain translation by a2, for any flux.
On a cylinder of circumference P cells along a2 it is therefore block diagonal
in k2 = 2 pi j / P, and each block is a chain along a1 (cells u1 = -L..L, open
ends) with hoppings of range r cells::

    H_k2(u1 a; u1' b) = sum_{d2} T_(u1' - u1, d2)[a, b] exp(i phi(r1, r2)) exp(i k2 d2),
    r1 = (u1, 0) + tau_a,  r2 = (u1', d2) + tau_b,

so (H - z)^{-1} e_(0, b) is one banded LU for all P chains at once (LAPACK
gbtrf/gbtrs, bandwidth N (r + 1) - 1) followed by an inverse FFT over k2:
G(u1, u2) = (1/P) sum_j exp(i k2_j u2) g_j(u1). The cost is linear in the
window area, independent of |Im z|; the result is dressed with the Wilson line
into the kernel format of :mod:`keldysh.wigner`.

Error bound (a posteriori)
--------------------------
Let v be the computed column on the window W = (|u1| <= L) x (one period of
u2), zero outside. On the infinite lattice its residual rho = (H - z) v - e_0
lives on the rim of W (sites within r cells of its edge, and their outer
neighbours): ||rho||_1 <= 2 h1 ||v|_rim||_1 with h1 = max_b sum_{R,a} |T_R[a, b]|
(the l1 column norm of H). Then G(z) - v = G(z) rho, and every entry of the
kernel error, summed over the output cells |R_s|_inf <= S (hence also max_k of
its Wigner transform), is at most g_d ||rho||_1, where g_d = max_b sum_{|R|_inf >= d, a} |G~(R)_ab|
is the l1 mass of the resolvent kernel beyond the distance d = L - r + 1 - S
from the rim to the output cells (all of it when the window is smaller than the
output range), measured on the computed kernel (which its own error changes
negligibly; the mass beyond the window is at the rim level). The window
grows, from the decay measured on the previous one, until the bound meets the
budget.

Roundoff: the banded solve is refined once (residual in working precision) and
the dressed kernel of that correction is returned; its Wigner transform
estimates the roundoff error of W (the inverse FFT spreads the rounding of the
chains over every u2, so an l1 sum over the cells would overstate it by the
square root of their number).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.linalg.blas
from numpy.typing import ArrayLike, NDArray

from ..errors import ConvergenceError
from ..fields import UniformB
from ..lattice import TightBinding
from .patch import _check_model, dress, hopping_range, shell_cells

__all__ = ["resolvent_columns", "strip_resolvent"]

GAUGE = "landau_x"  # the gauge with plain translation symmetry along a2


def _hops(model: TightBinding) -> list[tuple[int, int, NDArray]]:
    return [(int(R[0]), int(R[1]), np.asarray(T)) for R, T in model.hoppings.items() if np.any(T != 0)]


def column_norm(model: TightBinding) -> float:
    """h1 = max_b sum_{R != 0, a} |T_R[a, b]|: l1 column norm of the hoppings between cells (any field).

    Only these cross the edge of a window of whole cells (the on-site block T_0 never does).
    """
    return float(sum(np.abs(T).sum(axis=0) for d1, d2, T in _hops(model) if (d1, d2) != (0, 0)).max())


def _chain(model: TightBinding, field: UniformB) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """The hoppings of the k2 chains: (d1, d2, amplitude, slope), one entry per nonzero T_(d1, d2).

    ``amplitude[i] = T_(d1, d2) exp(i phi)`` at u1 = 0 and ``slope[i] = d phi / d u1`` (both (n, N, N)):
    in the landau_x gauge the Peierls phase of a bond is affine in its starting cell u1 (checked at u1 = 2).
    """
    a, tau = model.lattice_vectors, model.positions
    N = model.norbs
    hops = _hops(model)
    R = np.array([[d1, d2] for d1, d2, _ in hops], dtype=float)  # (n, 2)
    T = np.array([T for _, _, T in hops])
    r1 = np.broadcast_to((tau @ a)[None, :, None, :], (len(hops), N, N, 2))
    r2 = ((R[:, None, :] + tau[None]) @ a)[:, None, :, :]
    shift = a[0]
    p0, p1, p2 = (field.phase(a, r1 + u * shift, r2 + u * shift, GAUGE) for u in (0.0, 1.0, 2.0))
    if not np.allclose(p2 - p0, 2 * (p1 - p0), rtol=0, atol=1e-12):  # pragma: no cover - the gauge is linear
        raise ValueError("the landau_x Peierls phase is not affine in u1")
    return R[:, 0].astype(int), R[:, 1].astype(int), T * np.exp(1j * p0), p1 - p0


#: Smallest slab (unknowns per chain block): narrow slabs of few orbitals cost more in Python than in flops.
MIN_SLAB = 16


def cylinder_geometry(model: TightBinding, half_width: int) -> tuple[int, int, int]:
    """(nx, P, w) of the cylinder window of half-width L: cells u1 = -L .. -L + nx - 1, circumference P.

    The chain is cut into slabs of w cells, w the smallest multiple of the hopping range r1 along
    a1 (at least 1) with w N >= MIN_SLAB, so nx is 2 L + 1 rounded up to a multiple of w;
    P = next_fast_len(2 L + 1) (at least 2 r2 + 1).
    """
    hops = _hops(model)
    r1 = max(1, max(abs(d1) for d1, _, _ in hops))
    w = r1 * max(1, math.ceil(MIN_SLAB / (r1 * model.norbs)))
    r2 = max(abs(d2) for _, d2, _ in hops)
    L = int(half_width)
    return w * math.ceil((2 * L + 1) / w), scipy.fft.next_fast_len(max(2 * L + 1, 2 * r2 + 1)), w


class Workspace:
    """Reusable buffers for a sequence of cylinder solves (the block storage of the elimination).

    Fresh memory is faulted in page by page; a sequence of solves that reuses one set of buffers
    touches it once. :meth:`array` returns a view of a flat buffer that grows when needed.
    """

    def __init__(self) -> None:
        self._flat: dict[str, NDArray] = {}

    def array(self, name: str, shape: tuple[int, ...]) -> NDArray:
        size = math.prod(shape)
        buf = self._flat.get(name)
        if buf is None or buf.size < size:
            buf = self._flat[name] = np.empty(size, dtype=complex)
        return buf[:size].reshape(shape)

    def reserve(self, model: TightBinding, half_width: int) -> None:
        """Allocate the buffers of a solve on the window of this half-width at once."""
        nx, P, w = cylinder_geometry(model, half_width)
        m = w * model.norbs
        for name in ("diag", "upper", "inverse"):
            self.array(name, (nx // w, P, m, m))


def _solve_cylinder(
    model: TightBinding,
    field: UniformB,
    z: complex,
    half_width: int,
    refine_above: float = 0.0,
    chain=None,
    workspace: Workspace | None = None,
) -> tuple[NDArray, NDArray | None, float]:
    """Columns (H_cyl - z)^{-1} e_(0, b) in k2 space by block elimination of the slab-tridiagonal chains.

    Each k2 chain, cut into slabs of w cells (m = w N unknowns), is block tridiagonal:
    diagonal blocks A_i - z, upper blocks U_i, lower blocks U_i^dagger. Forward elimination
    S_i = A_i - z - U_{i-1}^dagger S_{i-1}^{-1} U_{i-1} and back substitution, batched over the P chains.
    S_i^{-1} is the slab block of the resolvent of the chain cut after slab i, so its norm is at
    most 1/|Im z|: no pivoting across slabs is needed. Returns the columns g (P, nx, N, N) in k2
    space, refined once when that bound exceeds ``refine_above`` (0: always), the refinement
    correction (or None) and a bound on the l1 norm of the rounding error of a real-space column
    from its residual rho: sqrt(nx P N) ||rho||_2 / (|Im z| sqrt(P)) (Parseval,
    ||(H_cyl - z)^{-1}|| <= 1/|Im z|, Cauchy-Schwarz).
    """
    N, L = model.norbs, int(half_width)
    d1s, d2s, amp, slope = _chain(model, field) if chain is None else chain
    nx, P, w = cylinder_geometry(model, L)
    nb, m = nx // w, w * N
    k2 = 2 * np.pi * np.arange(P) / P
    steps = [(d1, np.nonzero(d1s == d1)[0]) for d1 in np.unique(d1s)]
    waves = {d1: np.exp(1j * np.outer(k2, d2s[idx])) for d1, idx in steps}  # (P, n_d1)
    ws = Workspace() if workspace is None else workspace
    diag, upper, inverse = (ws.array(name, (nb, P, m, m)) for name in ("diag", "upper", "inverse"))

    def blocks(i: int) -> None:
        """diag[i] = A_i - z and upper[i] = U_i (P, m, m) of slab i (cells u1 = -L + i w + j, j < w)."""
        u = (-L + i * w + np.arange(w)).astype(float)
        F = amp[None] * np.exp(1j * u[:, None, None, None] * slope[None])  # (w, n, N, N)
        A = diag[i].reshape(P, w, N, w, N)
        U = upper[i].reshape(P, w, N, w, N)
        A[...] = 0
        U[...] = 0
        for d1, idx in steps:
            # <u_j, a| H_k2 |u_j + d1, b> for the w cells of the slab: (P, w, N, N)
            C = (waves[d1] @ F[:, idx].transpose(1, 0, 2, 3).reshape(len(idx), -1)).reshape(P, w, N, N)
            for j in range(w):
                jj = j + d1
                if 0 <= jj < w:
                    A[:, j, :, jj, :] = C[:, j]
                elif w <= jj < 2 * w:
                    U[:, j, :, jj - w, :] = C[:, j]
        diag[i][:, np.arange(m), np.arange(m)] -= z

    def lower(i: int, v: NDArray, out: NDArray | None = None) -> NDArray:
        """U_i^dagger v (the block below the diagonal) = conj(U_i^T conj(v)), without a conjugated copy of U_i."""
        out = np.matmul(upper[i].transpose(0, 2, 1), v.conj(), out=out)
        return np.conjugate(out, out=out)

    X, S = ws.array("X", (P, m, m)), ws.array("S", (P, m, m))
    for i in range(nb):
        blocks(i)
        if i:
            np.subtract(diag[i], lower(i - 1, X, out=S), out=S)
        inverse[i] = np.linalg.inv(S if i else diag[i])
        np.matmul(inverse[i], upper[i], out=X)

    def solve(rhs: Callable[[int], NDArray | None], first: int, out: NDArray) -> NDArray:
        """Block forward/back substitution into ``out`` (P, nb, m, N); ``rhs(i)`` (P, m, N) or None (zero).

        No right-hand side before slab ``first``; ``out[:, i]`` holds S_i^{-1} y_i after the forward sweep.
        """
        for i in range(first, nb):
            y = rhs(i) if i == first else -lower(i - 1, out[:, i - 1])
            if i > first:
                extra = rhs(i)
                if extra is not None:
                    y += extra
            out[:, i] = inverse[i] @ y
        for i in range(nb - 2, -1, -1):
            back = inverse[i] @ (upper[i] @ out[:, i + 1])
            if i >= first:
                out[:, i] -= back
            else:
                np.negative(back, out=out[:, i])
        return out

    i0, j0 = divmod(L, w)  # the home cell u1 = 0 is cell L of the chain
    e = np.zeros((P, m, N), dtype=complex)
    e[:, j0 * N + np.arange(N), np.arange(N)] = 1.0
    g = solve(lambda i: e if i == i0 else None, i0, np.empty((P, nb, m, N), dtype=complex))

    def residual(i: int) -> NDArray:
        v = diag[i] @ g[:, i]
        if i:
            v += lower(i - 1, g[:, i - 1])
        if i < nb - 1:
            v += upper[i] @ g[:, i + 1]
        np.negative(v, out=v)
        if i == i0:
            v += e
        return v

    rho2 = sum((np.abs(residual(i)) ** 2).sum(axis=(0, 1)) for i in range(nb))  # per column b, summed over k2
    bound = float(np.sqrt(nx * N * rho2.max()) / abs(z.imag))
    if bound <= refine_above:
        return g.reshape(P, nx, N, N), None, bound
    correction = solve(residual, 0, np.empty_like(g))
    g += correction
    return g.reshape(P, nx, N, N), correction.reshape(P, nx, N, N), bound


def strip_resolvent(
    model: TightBinding, field: UniformB, z: complex, half_width: int
) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """Bare columns (H - z)^{-1} e_(0, b) on the cylinder window (landau_x gauge), with their roundoff.

    Parameters
    ----------
    model, field
        2D tight-binding model and uniform B (Peierls phases in the ``"landau_x"`` gauge).
    z
        Complex energy, Im z != 0.
    half_width
        L: chain cells u1 = -L .. -L + nx - 1 (nx = 2 L + 1, rounded up to a multiple of the hopping
        range along a1); the circumference P is ``next_fast_len(2 L + 1)`` (:func:`cylinder_geometry`).

    Returns
    -------
    G, correction
        ``G[u2 mod P, u1 + L, a, b] = <(u1, u2) + tau_a|(H_cyl - z)^{-1}|tau_b>``, shape
        (P, nx, N, N), after one step of iterative refinement, and that step's correction
        (same shape: an estimate of the roundoff error of the unrefined columns).
    """
    _check_model(model)
    if complex(z).imag == 0:
        raise ValueError(f"the resolvent needs Im z != 0, got z={z}")
    g, correction, _ = _solve_cylinder(model, field, complex(z), int(half_width))
    return scipy.fft.ifft(g, axis=0), scipy.fft.ifft(correction, axis=0)


def _column_mass(G: NDArray) -> NDArray[np.float64]:
    """sum_a |G[..., a, b]|: the l1 mass of each column per window cell, shape (P, nx, N_b)."""
    mass = np.abs(G[:, :, 0])
    for a in range(1, G.shape[2]):
        mass += np.abs(G[:, :, a])
    return mass


def _rim_mass(mass: NDArray, r: int) -> NDArray[np.float64]:
    """l1 mass per column b of the window cells within r of its edges (u1 edges and both ends of the period)."""
    P, nx = mass.shape[:2]
    rim = np.zeros((P, nx), dtype=bool)
    rim[:, :r] = rim[:, nx - r :] = True
    half = P // 2  # the window is u2 = -half .. P - 1 - half: its edges sit around P - 1 - half and -half
    rim[(np.arange(-r, r) + P - half) % P] = True
    return (mass * rim[..., None]).sum(axis=(0, 1))


def _window_cells(shape: tuple[int, ...], L: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Lattice coordinates (u1, u2) of the cells of a window (P, nx, ...) of half-width L (u2 in the centred period)."""
    P, nx = shape[:2]
    return np.arange(-L, -L + nx), (np.arange(P) + P // 2) % P - P // 2


def _distance(shape: tuple[int, ...], L: int) -> NDArray[np.int64]:
    """Max-norm |(u1, u2)|_inf of every window cell, shape (P, nx)."""
    u1, u2 = _window_cells(shape, L)
    return np.maximum(np.abs(u2)[:, None], np.abs(u1)[None, :])


def _shell_profile(mass: NDArray, L: int) -> NDArray[np.float64]:
    """max_b l1 mass of the window per max-norm shell |(u1, u2)|_inf."""
    rho = _distance(mass.shape, L).ravel()
    return np.stack([np.bincount(rho, mass[..., b].ravel()) for b in range(mass.shape[-1])]).max(axis=0)


def _decay_rate(profile: NDArray[np.float64], L: int, r: int) -> float:
    """Exponential decay rate per cell of a shell profile between shells L/2 and L - r (0 if not decaying)."""
    a, b = L // 2, L - r
    if b <= a or not (profile[b] > 0 and profile[a] > profile[b]):
        return 0.0
    return math.log(profile[a] / profile[b]) / (b - a)


#: Half-width of the first (probe) window of each energy: its measured decay plans the final window.
PROBE = 8
#: The probe's decay rate is taken this much slower when the final window is planned (a short window
#: over-estimates the asymptotic rate slightly; a third solve costs more than a margin).
RATE_SAFETY = 0.9


@dataclass
class _Attempt:
    """One cylinder solve with its window bound (see the module docstring)."""

    L: int
    G: NDArray
    delta: NDArray | None
    roundoff: float
    mass: NDArray
    profile: NDArray
    rim: float
    reach: float
    error: float


def _attempt(model, field, z, L, S, h1, r, refine_above, chain, workspace) -> _Attempt:
    g, delta, roundoff = _solve_cylinder(model, field, z, L, refine_above, chain, workspace)
    G = scipy.fft.ifft(g, axis=0, overwrite_x=True)
    mass = _column_mass(G)
    profile = _shell_profile(mass, L)
    # l1 mass of G~ beyond the rim-to-box distance (all of it for the whole lattice, S = None)
    reach = float(profile[max(L - r + 1 - S, 0) :].sum() if S is not None else profile.sum())
    rim = float(_rim_mass(mass, r).max())
    delta = None if delta is None else scipy.fft.ifft(delta, axis=0, overwrite_x=True)
    return _Attempt(L, G, delta, roundoff, mass, profile, rim, reach, 2 * h1 * rim * reach)


def _add_window(grid: NDArray, weights: NDArray, G: NDArray, L: int) -> None:
    """grid[s, u2 + S, u1 + S] += weights[s] G(u1, u2) for the window cells within the box |u|_inf <= S.

    Row by row along u2 with BLAS axpy on contiguous slices (no temporary of the window's size).
    """
    S = (grid.shape[1] - 1) // 2
    u1, u2 = _window_cells(G.shape, L)
    c0, c1 = max(-L, -S), min(-L + len(u1) - 1, S)
    if c1 < c0:
        return
    axpy = scipy.linalg.blas.get_blas_funcs("axpy", dtype=np.dtype(complex))
    for row, y in enumerate(u2):
        if abs(y) > S:
            continue
        x = G[row, c0 + L : c1 + L + 1].reshape(-1)
        for s, w in enumerate(weights):
            if w != 0:
                axpy(x, grid[s, y + S, c0 + S : c1 + S + 1].reshape(-1), a=w)


def _next_window(a: _Attempt, S: int | None, budget: float, r: int, max_radius: int) -> int:
    """The window where the bound of ``a``, extrapolated with its measured decay, meets the budget.

    rim(L) ~ rim e^{-kappa (L - L_a)} and, for an output box S, reach(L) ~ mass e^{-kappa (L - r + 1 - S)};
    kappa is the measured rate times RATE_SAFETY. Without a measurable decay the window doubles.
    """
    kappa = RATE_SAFETY * _decay_rate(a.profile, a.L, r)
    if kappa <= 1e-3:
        return min(2 * a.L, max_radius)
    mass = float(a.profile.sum())
    L = a.L
    while L < max_radius:
        L += 1
        reach = a.reach if S is None else min(a.reach, mass * math.exp(-kappa * max(L - r + 1 - S, 0)))
        if 2 * a.error / a.reach * math.exp(-kappa * (L - a.L)) * reach <= budget:
            break
    return max(L, a.L + a.L // 8 + 1) if L < max_radius else max_radius


def resolvent_columns(
    model: TightBinding,
    field: UniformB,
    zs: ArrayLike,
    out_radius: int | None,
    budgets: ArrayLike,
    max_radius: int = 1000,
    weights: ArrayLike | None = None,
    roundoff_budgets: ArrayLike | None = None,
    approve: Callable[[NDArray[np.int64]], None] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.complex128], dict]:
    """Dressed kernels G~(z; R_s + tau_a, tau_b) of (H - z)^{-1} on the infinite lattice, |R_s|_inf <= out_radius.

    Each energy is first solved on a probe window of half-width PROBE; unless that already meets
    its budget, the measured decay plans the final window, which grows further (by the measured
    decay, at least 1/8) while the bound misses the budget.

    Parameters
    ----------
    model, field
        2D tight-binding model and uniform B (any flux).
    zs
        Complex energies (Im z != 0), energy units.
    out_radius
        Output range S (cells); the bound covers the errors of the entries |R_s|_inf <= S. None: the
        bound covers every cell of the lattice, and the output range is the largest window.
    budgets
        Per z, the target of the a-posteriori bound on sum_s |error of the kernel entry (s, a, b)|
        (hence on max_k of the error of its Wigner function); see the module docstring.
    max_radius
        Largest window half-width allowed.
    weights
        Optional weights: shape (n_z,) keeps only sum_l w_l G~(z_l), shape (nS, N, N); shape
        (n_sets, n_z) keeps n_sets such sums, shape (n_sets, nS, N, N). Memory then does not grow
        with the number of energies.
    roundoff_budgets
        None: every solve is refined once and its correction returned (``info["correction"]``).
        Otherwise, per z: a solve whose residual bound (``info["roundoff"]``) is within its budget is
        not refined (and contributes nothing to ``correction``).
    approve
        Called with the planned window half-widths (per z) after the probe solves and before the
        final ones (a resource check that may raise).

    Returns
    -------
    cells, values, info
        ``cells`` (nS, 2) in shell order, ``values`` (n_z, nS, N, N) dressed kernels (inverse energy units),
        ``info`` with, per z, ``error`` (the window bound), ``radius`` (the window half-width L),
        ``mass`` (the l1 mass of a column, max over b), ``dropped`` (the l1 mass of a column on window
        cells beyond the output range), ``roundoff`` (the residual bound on the l1 rounding error of a
        column, 0 where the solve was refined), and ``correction`` (like ``values``): the dressed
        kernels of the refinement corrections, whose Wigner transforms estimate the roundoff of the
        refined solves. With ``weights`` the z axis of ``values`` and ``correction`` is summed with
        those weights.

    Raises
    ------
    ValueError
        A real energy, or weights of the wrong shape.
    ConvergenceError
        The bound needs a window wider than ``max_radius``.
    """
    _check_model(model)
    zs = np.atleast_1d(np.asarray(zs, dtype=complex))
    if np.any(zs.imag == 0):
        raise ValueError(f"the resolvent needs Im z != 0, got z={zs[zs.imag == 0][0]}")
    budgets = np.broadcast_to(np.asarray(budgets, dtype=float), zs.shape)
    refine_above = (
        np.zeros(zs.shape)
        if roundoff_budgets is None
        else np.broadcast_to(np.asarray(roundoff_budgets, dtype=float), zs.shape)
    )
    N, r = model.norbs, hopping_range(model)
    box = None if out_radius is None else int(out_radius)
    h1 = column_norm(model)
    chain = _chain(model, field)
    workspace = Workspace()
    if weights is None:
        sets = np.eye(len(zs), dtype=complex)
    else:
        sets = np.atleast_2d(np.asarray(weights, dtype=complex))
        if sets.shape[1] != len(zs):
            raise ValueError(f"weights must have a last axis of length {len(zs)}, got shape {np.shape(weights)}")
    probes = [
        _attempt(
            model, field, complex(z), min(max(PROBE, 2 * r), max_radius), box, h1, r, refine_above[i], chain, workspace
        )
        for i, z in enumerate(zs)
    ]
    plans = [p.L if p.error <= b else _next_window(p, box, b, r, max_radius) for p, b in zip(probes, budgets)]
    if approve is not None:
        approve(np.array(plans))
    workspace.reserve(model, max(plans))
    S = box if box is not None else max(plans)
    grid = np.zeros((len(sets), 2 * S + 1, 2 * S + 1, N, N), dtype=complex)  # [set, u2 + S, u1 + S, a, b]
    corrections = None
    out = {key: np.zeros(len(zs)) for key in ("error", "radius", "mass", "dropped", "roundoff")}
    for i, (z, budget) in enumerate(zip(zs, budgets)):
        a, L = probes[i], plans[i]
        probes[i] = None
        while a.error > budget:
            if a.L >= max_radius:
                raise ConvergenceError(
                    f"the resolvent at z={complex(z):.6g} needs a window wider than max_radius={max_radius} "
                    f"(error bound {a.error:.2g} > {budget:.2g})"
                )
            a = _attempt(model, field, complex(z), L, box, h1, r, refine_above[i], chain, workspace)
            L = _next_window(a, box, budget, r, max_radius)
        L = a.L
        _add_window(grid, sets[:, i], a.G, L)
        out["dropped"][i] = float((a.mass * (_distance(a.mass.shape, L) > S)[..., None]).sum(axis=(0, 1)).max())
        if a.delta is not None:
            if corrections is None:
                corrections = np.zeros_like(grid)
            _add_window(corrections, sets[:, i], a.delta, L)
        out["roundoff"][i] = 0.0 if a.delta is not None else a.roundoff
        out["error"][i], out["radius"][i], out["mass"][i] = a.error, L, float(a.profile.sum())
        del a
    cells = shell_cells(S)
    wilson = dress(field, GAUGE, model.lattice_vectors, model.positions, cells, np.ones((len(cells), N, N)))
    values = grid[:, cells[:, 1] + S, cells[:, 0] + S]
    del grid
    values *= wilson
    if corrections is None:
        correction = np.zeros_like(values)
    else:
        correction = corrections[:, cells[:, 1] + S, cells[:, 0] + S] * wilson
    if weights is not None and np.ndim(weights) == 1:
        values, correction = values[0], correction[0]
    info = dict(out, radius=out["radius"].astype(int), correction=correction)
    return cells, values, info
