"""Zero-field band data that plans the exact solver's routes (order, range, patch, spectral interval).

Nothing here is an answer: these are the inputs from which :mod:`keldysh.static.chebyshev`
chooses its expansion, its kernel range and its patch, all of which it then
checks in the field.

- :func:`band_gaps`: zero-field band edges (cached per model content).
- :func:`spectral_bounds`: an interval [lo, hi] that holds the spectrum of the
  Peierls H in the field (the map x = (E - c)/a of the Chebyshev series).
- :func:`zero_field_range` and :class:`ZeroFieldDecay`: shell l1 masses of the
  zero-field kernel K0(R) of f (FFT of f(h(k)) over the Brillouin zone) and the
  range S beyond which they sum below a budget.
- :func:`front_speed`: cells per Chebyshev step of the recursion's wave front.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg
from numpy.typing import ArrayLike, NDArray

from ..errors import ConvergenceError
from ..fields import UniformB
from ..lattice import TightBinding
from ..spectral import BandWindow, FermiDirac, band_edges
from .budget import DENSE_RATE, Budget, resolve
from .patch import peierls_patch

__all__ = [
    "ZeroFieldDecay",
    "band_gaps",
    "clear_caches",
    "front_speed",
    "group_velocity",
    "hopping_scale",
    "model_fingerprint",
    "shell_tails",
    "spectral_bounds",
    "zero_field_bands",
    "zero_field_range",
]

EPS = np.finfo(float).eps
BOUNDS_PAD = 0.01  # relative widening of the spectral interval
DENSE_BOUNDS = 200  # largest patch dimension diagonalized densely for the spectral bounds (Lanczos beyond)

_EDGES: dict[tuple, NDArray[np.float64]] = {}
_BLOCH: dict[tuple[str, int], tuple] = {}
_VELOCITY: dict[str, tuple] = {}
_RANGE: dict[tuple, tuple] = {}  # zero_field_range per (model, f, budget, max_range)
PLANNED = (BandWindow, FermiDirac)  # the functions whose zero-field range is cached


def model_fingerprint(model: TightBinding) -> str:
    """Content hash of a model (hoppings, positions, lattice vectors): a safe cache key."""
    h = hashlib.sha1()
    for R in sorted(model.hoppings):
        h.update(np.asarray(R, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(model.hoppings[R], dtype=complex).tobytes())
    h.update(np.ascontiguousarray(model.positions, dtype=float).tobytes())
    h.update(np.ascontiguousarray(model.lattice_vectors, dtype=float).tobytes())
    return h.hexdigest()


def clear_caches() -> None:
    """Forget the cached zero-field band edges, Bloch eigensystems, velocities and kernel ranges."""
    _EDGES.clear()
    _BLOCH.clear()
    _VELOCITY.clear()
    _RANGE.clear()


def hopping_scale(model: TightBinding) -> float:
    """Largest operator norm of a hopping block T_R, R != 0 (energy units)."""
    return max(float(np.linalg.norm(T, 2)) for R, T in model.hoppings.items() if any(R))


def band_gaps(model: TightBinding, bands=None) -> NDArray[np.float64]:
    """Zero-field band edges (N, 2) of :func:`keldysh.spectral.band_edges` (cached per model content).

    ``bands``: the bands whose edges must be certified (default all; see ``band_edges``).
    """
    bands = None if bands is None or set(bands) >= set(range(model.norbs)) else tuple(sorted(set(bands)))
    key = (model_fingerprint(model), bands)
    if key not in _EDGES:
        _EDGES[key] = band_edges(model, bands=bands)
    return _EDGES[key]


def zero_field_bands(model: TightBinding, n_k: int) -> tuple[NDArray, NDArray, NDArray]:
    """k (n_k^2, 2), eigenvalues and eigenvectors of h(k) on the n_k x n_k grid (last two grids cached)."""
    key = (model_fingerprint(model), n_k)
    if key not in _BLOCH:
        u = np.arange(n_k) / n_k
        k = np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2) @ model.reciprocal_vectors
        e, U = np.linalg.eigh(model.bloch(k))
        while len(_BLOCH) >= 2:
            _BLOCH.pop(next(iter(_BLOCH)))
        _BLOCH[key] = (k, e, U)
    return _BLOCH[key]


def spectral_bounds(model: TightBinding, field: UniformB, gauge: str = "landau_x") -> tuple[float, float]:
    """Interval [lo, hi] containing the spectrum of the Peierls H (energy units).

    Union of the zero-field band edges and the extreme eigenvalues of a radius-6
    patch in the field (a compression of H: its extremes lie inside the true
    ones), widened on each side by 1% of the width plus 0.5 |beta| t (t the
    largest hopping norm: room for Landau-level and orbital-moment shifts).
    """
    edges = band_gaps(model, (0, model.norbs - 1))  # the outer edges certified
    H = peierls_patch(model, field, 6, gauge).H
    if H.shape[0] <= DENSE_BOUNDS:
        e = np.linalg.eigvalsh(H.toarray())[[0, -1]]
    else:  # Lanczos: Ritz values lie inside the spectrum of the compression, like its extremes
        e = [float(scipy.sparse.linalg.eigsh(H, 1, which=w, tol=1e-6, return_eigenvectors=False)[0]) for w in ("SA", "LA")]
    lo, hi = min(edges[:, 0].min(), e[0]), max(edges[:, 1].max(), e[-1])
    pad = BOUNDS_PAD * (hi - lo) + 0.5 * abs(field.beta(model.cell_area)) * hopping_scale(model) + 1e-12
    return float(lo - pad), float(hi + pad)


def _zero_field_masses(model: TightBinding, func: Callable, n_k: int) -> NDArray[np.float64]:
    """Shell l1 masses max_{a,b} sum_{|R|_inf = rho} |K0(R)_ab| of the zero-field kernel of f (FFT, n_k^2 grid).

    Shells whose mass is at the FFT rounding level count as zero.
    """
    k, e, U = zero_field_bands(model, n_k)
    W = (U * np.asarray(func(e), dtype=float)[:, None, :]) @ U.conj().transpose(0, 2, 1)
    # W(k) e^{ik(tau_a - tau_b)} = sum_R e^{-ik.R} K0(R)  ->  K0(R) = ifft2 over the grid
    orb = np.exp(1j * (k @ (model.positions @ model.lattice_vectors).T))
    W = W * orb[:, :, None] * orb.conj()[:, None, :]
    absK = np.abs(np.fft.ifft2(W.reshape(n_k, n_k, *W.shape[1:]), axes=(0, 1)))
    R = np.abs(np.fft.fftfreq(n_k, 1.0 / n_k).astype(int))
    rho = np.maximum(R[:, None], R[None, :]).ravel()
    n = model.norbs
    masses = np.stack([np.bincount(rho, absK[..., a, b].ravel()) for a in range(n) for b in range(n)]).max(axis=0)
    noise = 20 * EPS * absK.max() * (8 * np.arange(len(masses)) + 1)  # FFT rounding per shell
    return np.where(masses > noise, masses, 0.0)


def shell_tails(masses: NDArray[np.float64]) -> NDArray[np.float64]:
    """tails[rho] = sum of masses beyond shell rho."""
    c = np.cumsum(masses[::-1])[::-1]
    return np.append(c[1:], 0.0)


@dataclass(frozen=True)
class ZeroFieldDecay:
    """Shell l1 masses of the zero-field kernel of f: measured, then (optionally) exponential.

    ``masses[rho] = max_{a,b} sum_{|R|_inf = rho} |K0(R)_ab|`` for the measured shells;
    with a finite ``rate`` the mass ``beyond`` shell ``anchor`` is spread geometrically,
    mass(rho) = beyond (1 - q) q^(rho - anchor - 1) with q = exp(-rate), so that
    tail(rho) = beyond q^(rho - anchor) for rho >= anchor; otherwise it is zero beyond
    the measured shells.
    """

    masses: NDArray[np.float64]
    rate: float = math.inf
    anchor: int = 0
    beyond: float = 0.0

    def mass(self, rho: ArrayLike) -> NDArray[np.float64]:
        rho = np.asarray(rho)
        if not math.isfinite(self.rate):
            return np.where(rho < len(self.masses), self.masses[np.minimum(rho, len(self.masses) - 1)], 0.0)
        q = math.exp(-self.rate)
        model = self.beyond * (1 - q) * q ** np.maximum(rho - self.anchor - 1, 0)
        return np.where(rho <= self.anchor, self.masses[np.clip(rho, 0, self.anchor)], model)

    def tail(self, rho: int) -> float:
        """l1 mass beyond shell rho."""
        if not math.isfinite(self.rate):
            return float(self.masses[max(rho + 1, 0) :].sum())
        measured = float(self.masses[max(rho + 1, 0) : self.anchor + 1].sum())
        return measured + self.beyond * math.exp(-self.rate * max(rho - self.anchor, 0))


def zero_field_range(
    model: TightBinding, func: Callable, budget: float, max_range: int = 2048, resources: Budget | None = None
) -> tuple[int, ZeroFieldDecay]:
    """Range S beyond which the zero-field kernel of f has l1 mass below ``budget``, and its decay.

    Measured on a 128 x 128 Brillouin-zone grid when the kernel decays inside it;
    otherwise extrapolated from the exponential decay of its tail (the l1 mass
    beyond a shell, smoother than the shell masses of an oscillating kernel)
    between shells n_k/8 and n_k/4, starting from the measured tail beyond n_k/4
    (the periodic images of the grid inflate the measured tail: conservative).
    The grid grows only for kernels that do not decay there, and only within ``resources``
    (:class:`keldysh.static.budget.Budget`; None: the module default). Cached per
    (model content, f, budget): it does not depend on the field.
    """
    # cached for the solver's own functions (value-hashed dataclasses); a fresh lambda would only fill the cache
    key = (model_fingerprint(model), func, float(budget), int(max_range)) if isinstance(func, PLANNED) else None
    if key in _RANGE:
        return _RANGE[key]
    resources = resolve(resources)
    N = model.norbs
    n_k = 128
    while True:
        resources.check(
            f"the zero-field range of {func!r} (an FFT grid of {n_k} x {n_k} k-points)",
            6 * 16.0 * n_k * n_k * N * N,
            n_k * n_k * 10.0 * N**3 / DENSE_RATE,
            cause=f"its kernel has not decayed to {budget:.2g} within {n_k // 4} cells" if n_k > 128 else "",
            advice="widen the gap or raise T, loosen tol",
        )
        masses = _zero_field_masses(model, func, n_k)
        tails = shell_tails(masses)
        if np.any(tails[: n_k // 2 - 4] <= budget) and masses[-3:].max() < 1e-2 * budget:
            return _remember(key, (int(np.argmax(tails <= budget)), ZeroFieldDecay(masses)))
        a, b = n_k // 8, n_k // 4
        rate = math.log(tails[a] / tails[b]) / (b - a) if tails[b] > 0 and tails[a] > tails[b] else 0.0
        if rate > 2e-2:
            decay = ZeroFieldDecay(masses[: b + 1], rate, b, float(tails[b]))
            S = b
            while decay.tail(S) > budget:
                S += 1
            return _remember(key, (S, decay))
        if n_k >= 2 * max_range:
            raise ConvergenceError(
                f"the zero-field kernel of {func!r} has not decayed to {budget:.2g} within {n_k // 2} cells"
            )
        n_k *= 2


def _velocities(model: TightBinding) -> tuple[NDArray, NDArray]:
    """Band energies (nk, N) and velocities along the lattice vectors (nk, N, d) on a 64 x 64 grid (cached per model)."""
    key = model_fingerprint(model)
    if key not in _VELOCITY:
        k, e, U = zero_field_bands(model, 64)
        v = (U.conj()[:, None] * (model.bloch_derivative(k) @ U[:, None])).sum(axis=-2).real.transpose(0, 2, 1)
        _VELOCITY[key] = (e, v @ model.lattice_vectors.T)
    return _VELOCITY[key]


def group_velocity(model: TightBinding) -> float:
    """Max over k, bands and lattice directions of |dE_n/dk . a_i| (cells per unit time), on a 64 x 64 grid."""
    return float(np.abs(_velocities(model)[1]).max())


def _remember(key, value):
    if key is not None:
        _RANGE[key] = value
    return value


def front_speed(model: TightBinding, center: float, halfwidth: float) -> float:
    """Max over k, bands and lattice directions of |d theta / dk . a_i|, theta = arccos((E - center)/halfwidth).

    The wave front of T_m(H~)|tau_b> moves by about this many cells per step.
    """
    e, v = _velocities(model)
    x = (e - center) / halfwidth
    return float(np.abs(v / (halfwidth * np.sqrt(1 - x**2))[..., None]).max())
