"""k_z slices of a layered model and their magnetic supercells: spectra and velocities along B per k_z."""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..fields import UniformB
from ..lattice import TightBinding
from ..static.supercell import SUPERCELL_AXIS, magnetic_bloch, rational_flux

__all__ = ["kz_slice", "reduced_kmesh", "SliceSpectrum", "LayeredSupercell", "slice_spectrum"]

_CHUNK_BYTES = 64 * 2**20  # memory budget of one batch of supercell matrices
_CACHE_SIZE = 4  # slice caches kept per process (one per model, flux, mesh, gauge)
_CACHES: dict = {}


def _check_layered(model: TightBinding) -> float:
    """c = a3_z for a 3D model with a1, a2 in the xy plane and a3 along z; raises otherwise."""
    if not isinstance(model, TightBinding):
        raise TypeError(f"need a keldysh TightBinding, got {type(model).__name__}")
    if model.dim != 3:
        raise ValueError(f"k_z slices need a 3D model, got dim={model.dim}")
    a = model.lattice_vectors
    if np.any(np.abs(a[:2, 2]) > 1e-12) or np.any(np.abs(a[2, :2]) > 1e-12):
        raise ValueError("a layered model needs a1, a2 in the xy plane and a3 along z")
    return float(a[2, 2])


def kz_slice(model: TightBinding, kz: float, order: int = 0) -> TightBinding:
    """The 2D slice of a 3D model at fixed k_z, or its k_z derivative (module docstring).

    Parameters
    ----------
    model
        3D tight-binding model, a1 and a2 in the xy plane, a3 along z.
    kz
        Cartesian k_z (units 1/a).
    order
        0 for h_kz(kx, ky) = h(kx, ky, kz); 1 for d h / d kz (the velocity along z).

    Returns
    -------
    TightBinding
        2D model with lattice vectors a1, a2 (their xy parts) and the in-plane
        orbital positions; h_2D(kx, ky) equals h(kx, ky, kz) (order 0) or
        d h(kx, ky, kz)/d kz (order 1) in convention II.
    """
    c = _check_layered(model)
    if order not in (0, 1):
        raise ValueError(f"order must be 0 or 1, got {order}")
    if not math.isfinite(kz):
        raise ValueError(f"kz must be finite, got {kz}")
    tau_z = model.positions[:, 2] * c
    dz_orb = tau_z[None, :] - tau_z[:, None]  # tau_b^z - tau_a^z, (N, N)
    hop: dict[tuple[int, int], np.ndarray] = {}
    for R, T in model.hoppings.items():
        dz = R[2] * c + dz_orb
        term = T * np.exp(1j * kz * dz) * (1j * dz) ** order
        key = (R[0], R[1])
        hop[key] = hop.get(key, 0) + term
    return TightBinding(hop, positions=model.positions[:, :2], lattice_vectors=model.lattice_vectors[:2, :2])


def reduced_kmesh(model: TightBinding, field: UniformB, mesh: int, gauge: str = "landau_x") -> NDArray[np.float64]:
    """Cartesian in-plane k = (i b_1 + j b_2) / (q mesh), i, j = 0..mesh-1: the reduced magnetic cell.

    See the module docstring: at flux p/q the supercell spectrum is periodic
    with b_1/q and b_2/q, so this mesh of mesh^2 points samples a torus of
    (q mesh)^2 cells. Shape (mesh^2, 2).
    """
    if gauge not in SUPERCELL_AXIS:
        raise ValueError(f"gauge {gauge!r} has no magnetic supercell; choose one of {tuple(SUPERCELL_AXIS)}")
    if int(mesh) != mesh or mesh < 1:
        raise ValueError(f"mesh must be a positive integer, got {mesh!r}")
    _, q = rational_flux(field.flux)
    a2 = model.lattice_vectors[:2, :2]
    b = 2 * np.pi * np.linalg.inv(a2).T
    s = np.arange(mesh) / (mesh * q)
    frac = np.stack(np.meshgrid(s, s, indexing="ij"), axis=-1).reshape(-1, 2)
    return frac @ b


@dataclass(frozen=True)
class SliceSpectrum:
    """Exact supercell eigenvalues and diagonal velocities along B of a set of k_z slices.

    Attributes
    ----------
    kz
        The k_z values, shape (nz,).
    energies
        E_i(k; kz), shape (nz, nk, qN), ascending per (kz, k), units of the hopping.
    velocities
        <i| dH/dkz |i> = d E_i / d kz, same shape (units energy x a).
    weight
        1 / (nk q A_cell): a sum over (k, i) times weight is a trace per unit area.
    """

    kz: NDArray[np.float64]
    energies: NDArray[np.float64]
    velocities: NDArray[np.float64]
    weight: float

    def density(self, occupation: Callable[[np.ndarray], np.ndarray]) -> NDArray[np.float64]:
        """n(kz) = Tr f(H(kz)) per unit area, shape (nz,)."""
        return np.sum(np.asarray(occupation(self.energies)), axis=(1, 2)) * self.weight

    def current(self, occupation: Callable[[np.ndarray], np.ndarray]) -> NDArray[np.float64]:
        """j(kz) = Tr[f(H(kz)) dH/dkz] per unit area (particle current along z), shape (nz,)."""
        return np.sum(np.asarray(occupation(self.energies)) * self.velocities, axis=(1, 2)) * self.weight


class LayeredSupercell:
    """Magnetic supercell Hamiltonians H(k; kz) of a layered model on the reduced mesh, for any k_z.

    H(k; kz) is a trigonometric polynomial in kz: with the orbital z offsets
    tau^z moved into a diagonal unitary D(kz) = diag exp(i kz tau^z),

        H(k; kz) = D(kz)^dagger [sum_{R3} exp(i kz R3 c) H_{R3}(k)] D(kz),

    and the layer matrices H_{R3}(k) are obtained exactly from the slices at
    2 max|R3| + 1 values of kz (discrete Fourier transform). D drops out of
    the spectrum and of the diagonal velocities <i|dH/dkz|i> = dE_i/dkz, so
    evaluating a slice costs one linear combination and one diagonalization.

    Parameters
    ----------
    model
        Layered 3D model (:func:`kz_slice`).
    field
        Uniform B along z at rational flux p/q per xy cell.
    mesh
        Points per axis of the reduced magnetic cell (:func:`reduced_kmesh`).
    gauge
        ``"landau_x"`` or ``"landau_y"`` (observables are gauge invariant).
    workers
        Threads that diagonalize batches of slices concurrently (LAPACK releases
        the GIL; use single-threaded BLAS, e.g. ``OPENBLAS_NUM_THREADS=1``, with
        workers > 1: multithreaded BLAS is far slower on these batched eigh).
    """

    def __init__(
        self, model: TightBinding, field: UniformB, mesh: int = 1, gauge: str = "landau_x", workers: int = 1
    ) -> None:
        if int(workers) != workers or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.workers = int(workers)
        self.c = _check_layered(model)
        self.model, self.field = model, field
        self.k = reduced_kmesh(model, field, mesh, gauge)
        _, self.q = rational_flux(field.flux)
        self.size = self.q * model.norbs
        self.weight = 1.0 / (len(self.k) * self.q * model.cell_area / self.c)
        self.R3 = np.array(sorted({R[2] for R in model.hoppings}))
        M = 2 * int(np.abs(self.R3).max()) + 1
        zs = 2 * np.pi * np.arange(M) / (M * self.c)
        tau = np.tile(model.positions[:, 2] * self.c, self.q)  # z offset of every supercell orbital
        slices = []
        for z in zs:
            D = np.exp(1j * z * tau)
            H = magnetic_bloch(kz_slice(model, float(z)), field, self.k, gauge)
            slices.append(D[:, None] * H * D.conj()[None, :])
        slices = np.array(slices)  # (M, nk, S, S)
        phase = np.exp(-1j * np.outer(self.R3, zs) * self.c) / M  # (nR3, M)
        self.layers = np.einsum("rm,mkab->rkab", phase, slices)  # H_{R3}(k)

    def hamiltonian(self, kz: ArrayLike, order: int = 0) -> NDArray[np.complex128]:
        """sum_{R3} (i R3 c)^order exp(i kz R3 c) H_{R3}(k): D H D^dagger (order 0) or its kz derivative (order 1).

        Shape (nz, nk, qN, qN).
        """
        kz = np.atleast_1d(np.asarray(kz, dtype=float))
        coef = np.exp(1j * np.outer(kz, self.R3) * self.c) * (1j * self.R3 * self.c) ** order
        return np.einsum("zr,rkab->zkab", coef, self.layers)

    def spectrum(self, kz: ArrayLike) -> SliceSpectrum:
        """Eigenvalues and diagonal velocities of every slice, batched (no loop over k-points)."""
        kz = np.atleast_1d(np.asarray(kz, dtype=float))
        if kz.ndim != 1 or not np.all(np.isfinite(kz)):
            raise ValueError(f"kz must be a finite 1D array, got shape {kz.shape}")
        nk = len(self.k)
        E = np.empty((len(kz), nk, self.size))
        V = np.empty_like(E)
        per_chunk = max(1, _CHUNK_BYTES // (48 * self.size**2 * nk))
        if self.workers > 1:
            per_chunk = max(1, min(per_chunk, -(-len(kz) // self.workers)))

        def run(s: int) -> None:
            part = kz[s : s + per_chunk]
            e, U = np.linalg.eigh(self.hamiltonian(part))
            D = self.hamiltonian(part, order=1)
            E[s : s + len(part)] = e
            V[s : s + len(part)] = np.einsum("...ai,...ab,...bi->...i", U.conj(), D, U, optimize=True).real

        starts = range(0, len(kz), per_chunk)
        if self.workers > 1:
            with ThreadPoolExecutor(self.workers) as pool:  # LAPACK releases the GIL
                list(pool.map(run, starts))
        else:
            for s in starts:
                run(s)
        return SliceSpectrum(kz, E, V, self.weight)


def slice_spectrum(
    model: TightBinding,
    field: UniformB,
    kz: ArrayLike,
    mesh: int = 1,
    gauge: str = "landau_x",
) -> SliceSpectrum:
    """Diagonalize the magnetic supercell Hamiltonian of every k_z slice on the reduced mesh.

    Parameters
    ----------
    model
        Layered 3D model (:func:`kz_slice`).
    field
        Uniform B along z at rational flux p/q per xy cell.
    kz
        k_z values, shape (nz,), cartesian (1/a).
    mesh
        Points per axis of the reduced magnetic cell (:func:`reduced_kmesh`).
    gauge
        ``"landau_x"`` or ``"landau_y"`` (observables are gauge invariant).

    Returns
    -------
    SliceSpectrum
    """
    return LayeredSupercell(model, field, mesh, gauge).spectrum(kz)


def _slice_cache(model: TightBinding, field: UniformB, mesh: int, gauge: str, workers: int = 1) -> _SliceCache:
    """The per-process slice cache of (model, flux, mesh, gauge), so that every observable of a state reuses it.

    Keeps the most recent :data:`_CACHE_SIZE` entries; a model is matched by identity.
    """
    key = (id(model), float(field.flux), int(mesh), gauge)
    entry = _CACHES.pop(key, None)
    if entry is None or entry.cell.model is not model:
        entry = _SliceCache(model, field, mesh, gauge)
    entry.cell.workers = int(workers)
    _CACHES[key] = entry
    while len(_CACHES) > _CACHE_SIZE:
        _CACHES.pop(next(iter(_CACHES)))
    return entry


class _SliceCache:
    """Memoized slice spectra per k_z, so that nested rules reuse their slices."""

    def __init__(self, model: TightBinding, field: UniformB, mesh: int, gauge: str) -> None:
        self.cell = LayeredSupercell(model, field, mesh, gauge)
        self.cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, kz: np.ndarray) -> SliceSpectrum:
        new = np.array([z for z in np.unique(kz) if float(z) not in self.cache])
        if len(new):
            sp = self.cell.spectrum(new)
            self.cache.update({float(z): (sp.energies[i], sp.velocities[i]) for i, z in enumerate(new)})
        E = np.stack([self.cache[float(z)][0] for z in kz])
        V = np.stack([self.cache[float(z)][1] for z in kz])
        return SliceSpectrum(np.asarray(kz), E, V, self.cell.weight)
