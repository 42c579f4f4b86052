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

import numpy as np
import scipy.fft
import scipy.linalg.lapack
from numpy.typing import ArrayLike, NDArray

from ..errors import ConvergenceError
from ..fields import UniformB
from ..lattice import TightBinding
from .bands import zero_field_range
from .patch import _check_model, dress, hopping_range, shell_cells

__all__ = ["resolvent_columns", "strip_resolvent"]

GAUGE = "landau_x"  # the gauge with plain translation symmetry along a2


def _hops(model: TightBinding) -> list[tuple[int, int, NDArray]]:
    return [(int(R[0]), int(R[1]), np.asarray(T)) for R, T in model.hoppings.items() if np.any(T != 0)]


def column_norm(model: TightBinding) -> float:
    """h1 = max_b sum_{R,a} |T_R[a, b]|: the l1 column norm of the Peierls H (any field)."""
    return float(sum(np.abs(T).sum(axis=0) for _, _, T in _hops(model)).max())


def _band_product(band: NDArray, lo: int, up: int, x: NDArray) -> NDArray:
    """A @ x for A in LAPACK band storage (A[i, j] = band[up + i - j, j]), x of shape (n, k)."""
    n = band.shape[1]
    y = np.zeros_like(x)
    for row in range(lo + up + 1):
        d = up - row  # j - i on this diagonal
        if d >= 0:
            y[: n - d] += band[row, d:, None] * x[d:]
        else:
            y[-d:] += band[row, : n + d, None] * x[: n + d]
    return y


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
        L: chain cells u1 = -L..L; the circumference P is ``next_fast_len(2 L + 1)``.

    Returns
    -------
    G, correction
        ``G[u2 mod P, u1 + L, a, b] = <(u1, u2) + tau_a|(H_cyl - z)^{-1}|tau_b>``, shape
        (P, 2 L + 1, N, N), after one step of iterative refinement, and that step's correction
        (same shape: an estimate of the roundoff error of the unrefined columns).
    """
    _check_model(model)
    if z.imag == 0:
        raise ValueError(f"the resolvent needs Im z != 0, got z={z}")
    N, L = model.norbs, int(half_width)
    hops = _hops(model)
    r = max(abs(d1) for d1, _, _ in hops)
    P = scipy.fft.next_fast_len(max(2 * L + 1, 2 * max(abs(d2) for _, d2, _ in hops) + 1))
    nx = 2 * L + 1
    x = np.arange(-L, L + 1)
    k2 = 2 * np.pi * np.arange(P) / P
    lo = up = r * N + N - 1  # band below / above the diagonal for the (k2, u1, a) ordering
    n = P * nx * N
    ab = np.zeros((2 * lo + up + 1, n), dtype=complex, order="F")  # LAPACK gbtrf storage: lo rows of fill
    a_vec, tau = model.lattice_vectors, model.positions
    for d1, d2, T in hops:
        src = slice(max(0, -d1), nx - max(0, d1))  # chain cells u1 whose neighbour u1 + d1 is on the chain
        dst = slice(max(0, d1), nx - max(0, -d1))
        for a, b in zip(*np.nonzero(T)):
            r1 = (np.stack([x, np.zeros_like(x)], -1) + tau[a]) @ a_vec
            r2 = (np.stack([x + d1, np.full_like(x, d2)], -1) + tau[b]) @ a_vec
            hop = T[a, b] * np.exp(1j * field.phase(a_vec, r1, r2, GAUGE))[src]
            # A[(k2, u1, a), (k2, u1 + d1, b)] sits on one diagonal of the band storage, indexed by the column
            diagonal = ab[lo + up + a - d1 * N - b].reshape(P, nx, N)
            diagonal[:, dst, b] += np.exp(1j * k2 * d2)[:, None] * hop[None, :]
    ab[lo + up] -= z
    band = ab[lo:].copy()
    rhs = np.zeros((P, nx, N, N), dtype=complex)
    rhs[:, L, np.arange(N), np.arange(N)] = 1.0  # e_(u1 = 0, b) in every k2 block
    rhs = rhs.reshape(n, N)
    lu, piv, info = scipy.linalg.lapack.zgbtrf(ab, lo, up, overwrite_ab=1)
    if info != 0:  # pragma: no cover - H - z is invertible for Im z != 0
        raise np.linalg.LinAlgError(f"banded LU of H - z failed (info={info})")
    g, _ = scipy.linalg.lapack.zgbtrs(lu, lo, up, rhs, piv)
    correction, _ = scipy.linalg.lapack.zgbtrs(lu, lo, up, rhs - _band_product(band, lo, up, g), piv)
    G = scipy.fft.ifft((g + correction).reshape(P, nx, N, N), axis=0)
    return G, scipy.fft.ifft(correction.reshape(P, nx, N, N), axis=0)


def _rim_mass(G: NDArray, r: int) -> NDArray[np.float64]:
    """l1 mass per column b of the window cells within r of its edges (u1 edges and both ends of the period)."""
    P, nx = G.shape[:2]
    absG = np.abs(G).sum(axis=2)  # (P, nx, N_b)
    rim = np.zeros((P, nx), dtype=bool)
    rim[:, :r] = rim[:, nx - r :] = True
    half = P // 2  # the window is u2 = -half .. P - 1 - half: its edges sit around P - 1 - half and -half
    rim[(np.arange(-r, r) + P - half) % P] = True
    return (absG * rim[..., None]).sum(axis=(0, 1))


def _shell_profile(G: NDArray) -> NDArray[np.float64]:
    """max_b l1 mass of the window per max-norm shell |(u1, u2)| (u2 taken in the centred period)."""
    P, nx = G.shape[:2]
    L = nx // 2
    u2 = (np.arange(P) + P // 2) % P - P // 2
    rho = np.maximum(np.abs(u2)[:, None], np.abs(np.arange(-L, L + 1))[None, :])
    mass = np.abs(G).sum(axis=2)  # (P, nx, N_b)
    return np.stack([np.bincount(rho.ravel(), mass[..., b].ravel()) for b in range(G.shape[-1])]).max(axis=0)


def _window(model: TightBinding, z: complex, out_radius: int, budget: float, h1: float, limit: int) -> int:
    """A-priori window half-width: where the zero-field resolvent kernel makes the rim bound meet ``budget``.

    The zero-field shell masses of Re and Im (E - z)^{-1} (FFT over the Brillouin zone,
    :func:`keldysh.static.bands.zero_field_range`) estimate the rim mass at L (their shells
    L - r + 1 .. L) and the reach of the resolvent from the rim to the output box (their
    tail beyond L - r - S, at most their total). At most ``limit``.
    """
    r, N = hopping_range(model), model.norbs
    parts = [lambda E: np.real(1 / (E - z)), lambda E: np.imag(1 / (E - z))]
    try:
        decays = [zero_field_range(model, f, budget)[1] for f in parts]
    except ConvergenceError as err:
        raise ConvergenceError(f"the resolvent at z={z:.6g} decays too slowly: {err}") from None

    def rim(L):
        return N * sum(float(d.mass(np.arange(L - r + 1, L + 1)).sum()) for d in decays)

    def reach(rho):
        return N * sum(d.tail(rho) if rho >= 0 else float(d.masses.sum()) for d in decays)

    L = 2 * r
    while L < limit and 2 * h1 * rim(L) * reach(L - r - out_radius) > budget:
        L += 1
    return L


def resolvent_columns(
    model: TightBinding,
    field: UniformB,
    zs: ArrayLike,
    out_radius: int,
    budgets: ArrayLike,
    max_radius: int = 1000,
    weights: ArrayLike | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.complex128], dict]:
    """Dressed kernels G~(z; R_s + tau_a, tau_b) of (H - z)^{-1} on the infinite lattice, |R_s|_inf <= out_radius.

    Parameters
    ----------
    model, field
        2D tight-binding model and uniform B (any flux).
    zs
        Complex energies (Im z != 0), energy units.
    out_radius
        Output range S (cells).
    budgets
        Per z, the target of the a-posteriori bound on sum_s |error of the kernel entry (s, a, b)|
        (hence on max_k of the error of its Wigner function); see the module docstring.
    max_radius
        Largest window half-width allowed.
    weights
        Optional w_l per z: then only the weighted sums sum_l w_l G~(z_l) (and of the corrections)
        are kept, shape (nS, N, N), so memory does not grow with the number of energies.

    Returns
    -------
    cells, values, info
        ``cells`` (nS, 2) in shell order, ``values`` (n_z, nS, N, N) dressed kernels (inverse energy units),
        ``info`` with ``error`` (per z, the window bound), ``radius`` (per z, the window half-width L)
        and ``correction`` (n_z, nS, N, N): the dressed kernels of the refinement corrections, whose
        Wigner transforms estimate the roundoff. With ``weights`` the z axis of ``values`` and
        ``correction`` is summed with those weights.

    Raises
    ------
    ValueError
        A real energy.
    ConvergenceError
        The bound needs a window wider than ``max_radius``.
    """
    _check_model(model)
    zs = np.atleast_1d(np.asarray(zs, dtype=complex))
    if np.any(zs.imag == 0):
        raise ValueError(f"the resolvent needs Im z != 0, got z={zs[zs.imag == 0][0]}")
    budgets = np.broadcast_to(np.asarray(budgets, dtype=float), zs.shape)
    S, N, r = int(out_radius), model.norbs, hopping_range(model)
    h1 = column_norm(model)
    cells = shell_cells(S)
    summed = weights is not None
    if summed:
        weights = np.broadcast_to(np.asarray(weights, dtype=complex), zs.shape)
    values = np.zeros(((1 if summed else len(zs)), len(cells), N, N), dtype=complex)
    correction = np.zeros_like(values)
    errors, radii = [], []
    for i, (z, budget) in enumerate(zip(zs, budgets)):
        L = _window(model, complex(z), S, budget, h1, max_radius)
        while True:
            G, delta = strip_resolvent(model, field, complex(z), L)
            profile = _shell_profile(G)[: L + 1]
            reach = float(profile[max(L - r + 1 - S, 0) :].sum())  # l1 mass of G~ beyond the rim-to-box distance
            error = 2 * h1 * float(_rim_mass(G, r).max()) * reach
            if error <= budget:
                break
            if L >= max_radius:
                raise ConvergenceError(
                    f"the resolvent at z={z:.6g} needs a window wider than max_radius={max_radius} "
                    f"(error bound {error:.2g} > {budget:.2g})"
                )
            a, b = L // 2, L - r
            rate = math.log(profile[a] / profile[b]) / (b - a) if profile[b] > 0 and profile[a] > profile[b] else 0
            grow = math.ceil(1.1 * math.log(error / budget) / rate) + 2 * r if rate > 1e-3 else L
            L = min(L + max(grow, L // 8 + 1), max_radius)
        P = G.shape[0]
        x, y = cells[:, 0], cells[:, 1]
        ok = (np.abs(x) <= L) & (y >= -(P // 2)) & (y <= P - 1 - P // 2)
        w, j = (weights[i], 0) if summed else (1.0, i)
        values[j, ok] += w * G[y[ok] % P, x[ok] + L]
        correction[j, ok] += w * delta[y[ok] % P, x[ok] + L]
        del G, delta
        errors.append(error)
        radii.append(L)
    wilson = dress(field, GAUGE, model.lattice_vectors, model.positions, cells, np.ones((len(cells), N, N)))
    if summed:
        values, correction = values[0], correction[0]
    info = {"error": np.array(errors), "radius": np.array(radii), "correction": correction * wilson}
    return cells, values * wilson, info
