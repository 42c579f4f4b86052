"""Layered 3D lattices in a uniform B along z: k_z slices, magnetic supercells per k_z, currents along B.

A 3D model with a3 along z and a1, a2 in the xy plane keeps k_z as a good
quantum number in a field B along z (the vector potential of every gauge of
:mod:`keldysh.fields` lies in the plane and depends on x, y only). At fixed k_z
the model is the 2D tight-binding model (the *slice*)

    h_kz(kx, ky) = h(kx, ky, kz),
    T^{kz}_{(R1, R2)}[a, b] = sum_{R3} T_{(R1, R2, R3)}[a, b] exp(i kz (R3 c + tau_b^z - tau_a^z)),

(c = |a3|, tau^z the z coordinate of the orbitals), and the Peierls phase of a
3D hop equals the 2D Peierls phase of its projection on the plane, so the
exact Hamiltonian is the direct sum over k_z of the magnetic supercell
Hamiltonians H(k; kz) of the slices (:func:`keldysh.supercell.magnetic_bloch`).
The velocity along B is d H / d kz, the supercell Hamiltonian of the slice
d h_kz / d kz (it carries the same Peierls phases: no extra phase appears
because A has no z component).

Reduced magnetic zone
---------------------
At flux p/q the magnetic translation by one cell along the supercell axis
maps H(k) to a unitarily equivalent H(k + (p/q) b_o) (b_o the reciprocal
vector of the other in-plane axis); with gcd(p, q) = 1 the spectrum, and the
diagonal of any operator that commutes with the magnetic translations (here
d H / d kz), are periodic in k with period b_s / q and b_o / q. An n x n mesh
of that reduced cell is therefore a torus of (n q) x (n q) cells: one k-point
already samples a q x q torus. Its error is the aliasing of f(H) by periodic
images at distance n q (exponentially small in n q / xi, xi the range of
f(H): the magnetic length or v / (pi T), whichever is larger).

Observables (hbar = 1, q folded into the fields, per unit volume)
-----------------------------------------------------------------
For a stationary state rho = direct sum over k_z of f_kz(H(kz)) (f may depend
on k_z, e.g. different chemical potentials on the two halves of the k_z zone):

- particles per unit area of the slice, n(kz) = Tr f(H) / (area);
- particle current along z per unit area of the slice,
  j(kz) = Tr[f(H) dH/dkz] / (area); multiply by q for the charge current;
- volume densities: N = int dkz/(2 pi) n(kz), J = int dkz/(2 pi) j(kz).

For an occupation that is the same function of energy at every k_z,
j(kz) = d Omega(kz) / d kz with Omega the grand potential of the slice
(Hellmann-Feynman), so J over the whole zone vanishes exactly on the lattice
(Bloch's theorem: no equilibrium current), for any field and any mesh.

Node-resolved quantities
------------------------
The planes k_z = split[0], split[1] (default 0 and pi/c, for nodes at +-k0)
cut the zone into two halves, one per node. :func:`node_resolved` integrates
n(kz) and j(kz) over each half (nested Clenshaw-Curtis rules; the planes are
nodes of the rule), for one chemical potential or one per half (chiral
imbalance). The half integrals telescope: int_half j = [Omega(b) - Omega(a)]
/ (2 pi), so with insulating planes and both chemical potentials in their gaps
the imbalanced current is 2 mu5 beta (C_b - C_a)/(4 pi^2) by Streda's
counting n = 1 - flux C, to all orders in the field (tested).

Slab densities and Landau levels
--------------------------------
:func:`slab_density` integrates n(kz) over any slab (a, b) (the charge of a
node's region when no Fermi surface crosses its planes); :func:`level_crossings`
counts the magnetic bands that cross an energy along k_z in a slab (for a Weyl
node: its chiral level once, each massive Landau level whose extremum lies
beyond the energy twice), which tells the quantum limit (only the chiral
level crosses mu) from the semiclassical regime on the exact spectrum;
:func:`level_gap` is the distance from an energy to the nearest band over a slab
(how well the slices of an insulating slab obey Streda's counting at T > 0).

Chiral anomaly
--------------
:func:`pumped_particles` switches on E along z and evolves every (k, kz)
sector exactly (:mod:`keldysh.evolution`, the 1D model along z of each point
of the reduced magnetic zone); the particles in a half change only through
the sectors whose kinetic k_z crosses its planes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .efield import UniformE
from .evolution import propagate
from .fields import UniformB
from .lattice import TightBinding
from .spectral import FermiDirac
from .supercell import SUPERCELL_AXIS, magnetic_bloch, rational_flux

__all__ = [
    "kz_slice",
    "reduced_kmesh",
    "SliceSpectrum",
    "LayeredSupercell",
    "slice_spectrum",
    "KzIntegral",
    "clenshaw_curtis",
    "equilibrium_current",
    "NodeResolved",
    "node_resolved",
    "slab_density",
    "LevelCrossings",
    "level_crossings",
    "level_gap",
    "Pumping",
    "pumped_particles",
]

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


@dataclass(frozen=True)
class KzIntegral:
    """A k_z integral int dkz/(2 pi) g(kz) and how it was converged.

    Attributes
    ----------
    value
        The integral (units of g per unit length along z).
    n_kz
        Number of k_z slices of the final rule.
    change
        |difference| between the last two (nested) rules: an error estimate of
        the coarser one, so a conservative estimate for ``value``.
    """

    value: float
    n_kz: int
    change: float


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


def _check_tol(tol: float, max_kz: int) -> None:
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    if max_kz < 4:
        raise ValueError(f"max_kz must be >= 4, got {max_kz}")


def equilibrium_current(
    model: TightBinding,
    field: UniformB,
    mu: float,
    T: float,
    *,
    mesh: int = 1,
    tol: float = 1e-10,
    gauge: str = "landau_x",
    n_kz: int = 16,
    max_kz: int = 4096,
    origin: float | None = None,
    workers: int = 1,
) -> KzIntegral:
    """Exact equilibrium particle current along B, J = int dkz/(2 pi) Tr[n_F(H) dH/dkz] / area.

    The state is rho = n_F(H) of the exact Hamiltonian in the field; the k_z
    integral is the periodic trapezoid rule on k_z = origin + 2 pi j / (n c),
    doubled (nested) until two rules differ by less than ``tol``. Bloch's
    theorem makes the exact value zero (module docstring); the returned value
    measures how well the k_z rule resolves a total derivative, which
    converges exponentially at T > 0 (rate ~ pi T / v_z).

    Parameters
    ----------
    model, field, mesh, gauge
        As in :func:`slice_spectrum`.
    mu, T
        Chemical potential and temperature (energy units, k_B = 1).
    tol
        Target for the change between nested rules (particles / (time area)).
    n_kz
        Slices of the first rule.
    max_kz
        Largest rule to try.
    origin
        First k_z of the rule (default -pi/c). A generic origin breaks any
        kz -> -kz symmetry of the grid, so that a zero result is not a mere
        cancellation between mirror slices.
    workers
        Threads diagonalizing slices concurrently (:class:`LayeredSupercell`).

    Returns
    -------
    KzIntegral
        Particle current per unit volume (multiply by q for the charge current).

    Raises
    ------
    RuntimeError
        If the rule with ``max_kz`` slices has not converged to ``tol``.
    """
    _check_tol(tol, max_kz)
    c = _check_layered(model)
    occ = FermiDirac(mu, T)
    spectra = _slice_cache(model, field, mesh, gauge, workers)
    start = -np.pi / c if origin is None else float(origin)
    n, prev = int(n_kz), None
    while n <= max_kz:
        kz = start + 2 * np.pi * np.arange(n) / (n * c)
        value = float(np.mean(spectra(kz).current(occ))) / c
        if prev is not None and abs(value - prev) < tol:
            return KzIntegral(value, n, abs(value - prev))
        prev, n = value, 2 * n
    raise RuntimeError(f"equilibrium current not converged to tol={tol:g} with {max_kz} k_z slices")


def clenshaw_curtis(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nodes x_j = cos(pi j / n), j = 0..n, and weights of the Clenshaw-Curtis rule on [-1, 1] (n even).

    Nested under doubling (the nodes of n are among those of 2 n); exact for
    polynomials of degree n, and exponentially convergent for analytic integrands.
    """
    if n < 2 or n % 2:
        raise ValueError(f"Clenshaw-Curtis needs an even n >= 2, got {n}")
    theta = np.pi * np.arange(n + 1) / n
    x = np.cos(theta)
    k = np.arange(1, n // 2 + 1)
    b = np.where(k == n // 2, 1.0, 2.0)
    w = 1.0 - np.sum(b[None, :] * np.cos(2 * k[None, :] * theta[:, None]) / (4 * k[None, :] ** 2 - 1), axis=1)
    c = np.full(n + 1, 2.0)
    c[0] = c[-1] = 1.0
    return x, c * w / n


@dataclass(frozen=True)
class NodeResolved:
    """Particles and current along B on each half of the k_z zone (exact, per unit volume).

    Attributes
    ----------
    bounds
        The halves (kz_lo, kz_hi), cartesian; the second wraps through the zone edge.
    mu
        Chemical potential of each half.
    density
        Particles per unit volume on each half, int_half dkz/(2 pi) n(kz), shape (2,).
    current
        Particle current along z per unit volume from each half, shape (2,).
    change
        Error estimate of each entry of (density, current), shape (2, 2).
    n_kz
        Slices per half of the final Clenshaw-Curtis rule (n + 1 nodes).
    """

    bounds: tuple[tuple[float, float], tuple[float, float]]
    mu: tuple[float, float]
    density: NDArray[np.float64]
    current: NDArray[np.float64]
    change: NDArray[np.float64]
    n_kz: int

    @property
    def total_current(self) -> float:
        """J summed over both halves (zero in equilibrium, by Bloch's theorem)."""
        return float(self.current.sum())


def node_resolved(
    model: TightBinding,
    field: UniformB,
    mu: float | Sequence[float],
    T: float,
    *,
    split: tuple[float, float] = (0.0, math.pi),
    mesh: int = 1,
    tol: float = 1e-10,
    gauge: str = "landau_x",
    n_kz: int = 8,
    max_kz: int = 1024,
) -> NodeResolved:
    """Exact node-resolved stationary state: density and current along B on each half of the k_z zone.

    The state is rho = direct sum over k_z of n_F(H(kz) - mu(kz)) with mu(kz) =
    mu[0] on the half (split[0], split[1]) and mu[1] on the other half
    (split[1], split[0] + 2 pi / c); it commutes with H, so it is stationary
    (for mu[0] != mu[1] it is the chirally imbalanced state of the chiral
    magnetic effect, paper Eq. 36). The split planes should be chosen where no
    Fermi surface crosses them (both chemical potentials in the gap of the
    slices at the planes), so that the state is unambiguous there.

    Each half is integrated with nested Clenshaw-Curtis rules (the planes are
    nodes of the rule and are evaluated once for both halves), doubled until
    every entry changes by less than ``tol``.

    Parameters
    ----------
    mu
        One chemical potential (equilibrium) or a pair (mu on the first half, on the second).
    T
        Temperature (energy units, k_B = 1).
    split
        Cartesian k_z of the two planes bounding the halves; default (0, pi/c)
        for nodes at +-k0.

    Returns
    -------
    NodeResolved

    Raises
    ------
    RuntimeError
        If the rule with ``max_kz`` slices per half has not converged.
    """
    _check_tol(tol, max_kz)
    c = _check_layered(model)
    mus = (float(mu), float(mu)) if np.ndim(mu) == 0 else tuple(float(m) for m in mu)
    if len(mus) != 2:
        raise ValueError(f"mu must be a number or a pair, got {mu!r}")
    lo, hi = float(split[0]), float(split[1])
    if not 0 < hi - lo < 2 * np.pi / c:
        raise ValueError(f"split planes must satisfy 0 < split[1] - split[0] < 2 pi / c, got {split}")
    bounds = ((lo, hi), (hi, lo + 2 * np.pi / c))
    occs = [FermiDirac(m, T) for m in mus]
    spectra = _slice_cache(model, field, mesh, gauge)
    n, prev = int(n_kz), None
    while n <= max_kz:
        x, w = clenshaw_curtis(n)
        out = np.empty((2, 2))
        for h, ((a, b), occ) in enumerate(zip(bounds, occs)):
            kz = 0.5 * (a + b) + 0.5 * (b - a) * x
            sp = spectra(kz)
            scale = 0.5 * (b - a) / (2 * np.pi)
            out[:, h] = scale * np.array([w @ sp.density(occ), w @ sp.current(occ)])
        if prev is not None:
            change = np.abs(out - prev)
            if change.max() < tol:
                return NodeResolved(bounds, mus, out[0], out[1], change.T, n)
        prev, n = out, 2 * n
    raise RuntimeError(f"node-resolved integrals not converged to tol={tol:g} with {max_kz} k_z slices per half")


def slab_density(
    model: TightBinding,
    field: UniformB,
    mu: float,
    T: float,
    bounds: tuple[float, float],
    *,
    mesh: int = 1,
    tol: float = 1e-10,
    gauge: str = "landau_x",
    n_kz: int = 8,
    max_kz: int = 1024,
) -> KzIntegral:
    """Exact equilibrium particles per unit volume in the slab bounds[0] < kz < bounds[1].

    N = int_a^b dkz/(2 pi) Tr n_F(H(kz) - mu) / area for the state n_F(H - mu)
    of the exact Hamiltonian in the field (module docstring), with nested
    Clenshaw-Curtis rules on (a, b), doubled until two rules differ by less
    than ``tol``. For a slab between planes where no Fermi surface crosses,
    e.g. one half of the zone around a node, it is the charge of that node's
    region (compare paper Eq. 17 on the same slab).

    Parameters
    ----------
    model, field, mesh, gauge
        As in :func:`slice_spectrum`.
    mu, T
        Chemical potential and temperature (energy units, k_B = 1).
    bounds
        Cartesian (a, b), 0 < b - a <= 2 pi / c.
    tol
        Target for the change between nested rules (particles per unit volume).

    Returns
    -------
    KzIntegral
        ``n_kz`` counts the intervals of the final rule (n_kz + 1 slices).

    Raises
    ------
    RuntimeError
        If the rule with ``max_kz`` intervals has not converged to ``tol``.
    """
    _check_tol(tol, max_kz)
    c = _check_layered(model)
    a, b = float(bounds[0]), float(bounds[1])
    if not 0 < b - a <= 2 * np.pi / c:
        raise ValueError(f"bounds must satisfy 0 < b - a <= 2 pi / c, got {bounds}")
    occ = FermiDirac(mu, T)
    spectra = _slice_cache(model, field, mesh, gauge)
    n, prev = int(n_kz), None
    while n <= max_kz:
        x, w = clenshaw_curtis(n)
        value = 0.5 * (b - a) * float(w @ spectra(0.5 * (a + b) + 0.5 * (b - a) * x).density(occ)) / (2 * np.pi)
        if prev is not None and abs(value - prev) < tol:
            return KzIntegral(value, n, abs(value - prev))
        prev, n = value, 2 * n
    raise RuntimeError(f"slab density not converged to tol={tol:g} with {max_kz} k_z intervals")


@dataclass(frozen=True)
class LevelCrossings:
    """Magnetic bands crossing an energy along k_z in a slab (exact supercell spectrum).

    Attributes
    ----------
    net
        |N(b) - N(a)|: levels crossing once (N(kz) = magnetic bands below the energy at
        one point of the reduced zone, per flux quantum of the supercell); for a Weyl
        node between insulating planes, its chiral Landau level.
    pairs
        Levels crossing twice, (total crossings - net) / 2: the massive Landau levels
        whose extremum along k_z lies beyond the energy.
    """

    net: int
    pairs: int

    @property
    def levels(self) -> int:
        """net + pairs: the number of levels crossing the energy."""
        return self.net + self.pairs


def level_crossings(
    model: TightBinding,
    field: UniformB,
    energy: float,
    bounds: tuple[float, float],
    *,
    n_kz: int = 400,
    gauge: str = "landau_x",
) -> LevelCrossings:
    """Count the magnetic bands (Landau levels) crossing ``energy`` as functions of k_z in a slab.

    N(kz) = #{eigenvalues of H(k; kz) below ``energy``} at one point of the reduced
    magnetic zone (mesh 1: every Landau level of flux p/q gives p eigenvalues, flat
    to exponential accuracy), on n_kz + 1 equally spaced slices of [a, b]. Each
    crossing changes N by p; a level that crosses and comes back (a massive Landau
    level of a Weyl node, extremal near the node's k_z) contributes two. A level
    whose extremum lies within ~ (v h)^2 / (8 E) of the energy (h = (b - a) / n_kz,
    v its k_z velocity at the crossings, E its distance from the node) may be
    missed: refine n_kz to resolve it.

    Returns
    -------
    LevelCrossings

    Raises
    ------
    ValueError
        For bad bounds or n_kz < 2, or a total number of crossings of the wrong parity.
    """
    p, _ = rational_flux(field.flux)
    below = (_slab_levels(model, field, energy, bounds, n_kz, gauge, min_kz=2) < energy).sum(axis=-1)
    net, total = abs(int(below[-1] - below[0])), int(np.abs(np.diff(below)).sum())
    if (total - net) % (2 * abs(p)) or net % abs(p):
        raise ValueError(f"{total} crossings with net {net} at flux {field.flux}: not whole levels; refine n_kz")
    return LevelCrossings(net // abs(p), (total - net) // (2 * abs(p)))


def _slab_levels(
    model: TightBinding,
    field: UniformB,
    energy: float,
    bounds: tuple[float, float],
    n_kz: int,
    gauge: str,
    min_kz: int,
) -> NDArray[np.float64]:
    """Eigenvalues of H(k0; kz) on n_kz + 1 equally spaced slices of [a, b], k0 the first reduced-mesh point.

    Checks the arguments of :func:`level_crossings` / :func:`level_gap` (n_kz >= ``min_kz``).
    Batched in chunks of :data:`_CHUNK_BYTES`; shape (n_kz + 1, qN), ascending per slice.
    """
    c = _check_layered(model)
    a, b = float(bounds[0]), float(bounds[1])
    if not 0 < b - a <= 2 * np.pi / c:
        raise ValueError(f"bounds must satisfy 0 < b - a <= 2 pi / c, got {bounds}")
    if int(n_kz) != n_kz or n_kz < min_kz:
        raise ValueError(f"n_kz must be an integer >= {min_kz}, got {n_kz!r}")
    if not math.isfinite(energy):
        raise ValueError(f"energy must be finite, got {energy}")
    cell = LayeredSupercell(model, field, 1, gauge)
    kz = np.linspace(a, b, int(n_kz) + 1)
    per = max(1, _CHUNK_BYTES // (16 * cell.size**2))
    chunks = np.split(kz, range(per, len(kz), per))
    return np.concatenate([np.linalg.eigvalsh(cell.hamiltonian(z)[:, 0]) for z in chunks])


def level_gap(
    model: TightBinding,
    field: UniformB,
    energy: float,
    bounds: tuple[float, float],
    *,
    n_kz: int = 64,
    gauge: str = "landau_x",
) -> float:
    """Distance from ``energy`` to the nearest magnetic band (Landau level) over the slab a <= kz <= b.

    min over n_kz + 1 equally spaced slices (both planes included) of
    min_i |E_i(k0; kz) - energy|, at one point k0 of the reduced magnetic zone (the
    bands of flux p/q are flat in k0 to exponential accuracy), energy units. When
    no band crosses the energy in the slab, a slice of it holds n_F(H - mu) =
    Streda's count up to thermal occupation across this gap, ~ exp(-gap / T); a
    band crossing the energy gives a gap of order (its k_z velocity) x (b - a) / n_kz.

    Parameters
    ----------
    model, field, gauge
        As in :func:`level_crossings`.
    energy
        The energy (e.g. the chemical potential).
    bounds
        Cartesian (a, b), 0 < b - a <= 2 pi / c (any position: a strip behind a plane may start below 0).
    n_kz
        Intervals of the slice grid (>= 1).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For bad bounds or n_kz < 1.
    """
    return float(np.abs(_slab_levels(model, field, energy, bounds, n_kz, gauge, min_kz=1) - energy).min())


@dataclass(frozen=True)
class Pumping:
    """Particles pumped into the first half of the k_z zone by E parallel to B (exact time evolution).

    Attributes
    ----------
    shift
        Kinetic displacement s = -q A_z(t) of every sector at time t (s = qE t for a sudden switch).
    pumped
        N_half(t) - N_half(0), particles per unit volume.
    change
        Error estimate of ``pumped``: the last change of the nested strip rule.
    trace_drift
        max over the propagated sectors of |Tr rho_k(t) - Tr rho_k(0)| per unit area (unitarity check).
    propagation_error
        Largest error estimate of the propagator elements (``keldysh.evolution``).
    """

    shift: float
    pumped: float
    change: float
    trace_drift: float
    propagation_error: float


def _sector_models(cell: LayeredSupercell) -> list[TightBinding]:
    """One 1D model along z per reduced-mesh point: hoppings {R3: H_R3(k)}, qN orbitals, lattice constant c."""
    size = cell.size
    out = []
    for i in range(len(cell.k)):
        hop = {(int(r),): cell.layers[j, i] for j, r in enumerate(cell.R3)}
        out.append(TightBinding(hop, positions=np.zeros((size, 1)), lattice_vectors=[[cell.c]]))
    return out


def pumped_particles(
    model: TightBinding,
    field: UniformB,
    efield: UniformE,
    mu: float,
    T: float,
    t: float,
    *,
    split: tuple[float, float] = (0.0, math.pi),
    mesh: int = 1,
    tol: float = 1e-10,
    propagation_tol: float = 1e-8,
    n_strip: int = 8,
    max_strip: int = 256,
) -> Pumping:
    """Chiral anomaly, exact side: particles pumped into the half (split[0], split[1]) of the k_z zone.

    The state n_F(H - mu) is prepared before a uniform E along z (``efield``,
    one component: the force qE_z, any ramp) is switched on at t = 0. Every
    (k, kz) sector evolves on its own under H(k; kz - q A_z(t)) (temporal gauge,
    :func:`keldysh.evolution.propagate` on the 1D model along z of each point of
    the reduced magnetic zone), so a sector of canonical kz has kinetic
    momentum kz + s, s = -q A_z(t). The half counts the sectors whose kinetic
    momentum lies in it; those that cross a boundary plane by time t are the
    canonical strips (a - s, a) (entering) and (b - s, b) (leaving) for s > 0:

        N(t) - N(0) = (1/2 pi) [int_{a-s}^{a} - int_{b-s}^{b}] dkz Tr rho_kz(t) / area

    (the sectors that stay inside keep their trace: unitarity, which the
    returned ``trace_drift`` checks on the propagated sectors). The strips are
    integrated with nested Clenshaw-Curtis rules. Paper Eq. 33 predicts
    N(t) - N(0) = rate * t for shifts s smaller than the distance from the
    planes to the Fermi pockets.

    Parameters
    ----------
    model, field, mesh
        As in :func:`node_resolved` (B along z at rational flux).
    efield
        :class:`keldysh.efield.UniformE` with one component (qE_z), energy / a.
    mu, T
        The initial equilibrium state.
    t
        Time (1/energy, hbar = 1) at which the pumped number is evaluated.
    split
        Cartesian k_z of the planes bounding the half.
    tol
        Target of the nested strip rule (particles per unit volume).
    propagation_tol
        Error target of the propagators (:func:`keldysh.evolution.propagate`).
        The pumped number depends on the evolution only through the traces,
        which every (exactly unitary) Magnus step conserves; the tolerance
        controls the accuracy of the evolved state itself.

    Returns
    -------
    Pumping
    """
    if not isinstance(efield, UniformE) or efield.dim != 1:
        raise ValueError("efield must be a keldysh UniformE with one component (qE along z)")
    _check_tol(tol, max_strip)
    if not t > 0:
        raise ValueError(f"t must be positive, got {t}")
    c = _check_layered(model)
    a, b = float(split[0]), float(split[1])
    if not 0 < b - a < 2 * np.pi / c:
        raise ValueError(f"split planes must satisfy 0 < split[1] - split[0] < 2 pi / c, got {split}")
    s = float(-efield.vector_potential(t)[0])
    if abs(s) >= min(b - a, 2 * np.pi / c - (b - a)):
        raise ValueError(f"kinetic shift {s:.3g} at t={t} crosses a whole half: choose a shorter time")
    cell = _slice_cache(model, field, mesh, "landau_x").cell
    sectors = _sector_models(cell)
    occ = FermiDirac(mu, T)

    done: dict[float, tuple[float, float, float]] = {}

    def traces(kz: np.ndarray) -> tuple[np.ndarray, float, float]:
        """Tr rho_kz(t) per unit area summed over the reduced mesh, worst trace drift, propagator error."""
        new = np.array([z for z in kz if float(z) not in done])
        if len(new):
            done.update(zip(map(float, new), zip(*_evolved_traces(new))))
        vals = np.array([done[float(z)] for z in kz])
        return vals[:, 0], float(vals[:, 1].max()), float(vals[:, 2].max())

    def _evolved_traces(kz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        total, drift, err = np.zeros(len(kz)), np.zeros(len(kz)), np.zeros(len(kz))
        for sector in sectors:
            evo = propagate(sector, efield, kz[:, None], [t], tol=propagation_tol)
            E, U = np.linalg.eigh(sector.bloch(kz[:, None]))
            rho0 = (U * occ(E)[:, None, :]) @ U.conj().swapaxes(-1, -2)
            tr_t = np.trace(evo.density_matrix(rho0)[0], axis1=-2, axis2=-1).real
            tr_0 = occ(E).sum(axis=-1)
            total += tr_t
            drift = np.maximum(drift, np.abs(tr_t - tr_0))
            err = np.maximum(err, evo.error_estimate)
        return total * cell.weight, drift * cell.weight, err

    # strips of canonical kz that crossed the planes: entering at a, leaving at b (orientation by the sign of s)
    strips = ((a - s, a, +1.0), (b - s, b, -1.0))
    n, prev = int(n_strip), None
    while n <= max_strip:
        x, w = clenshaw_curtis(n)
        value, drift, perr = 0.0, 0.0, 0.0
        for lo, hi, sign in strips:
            kz = 0.5 * (lo + hi) + 0.5 * (hi - lo) * x
            tr, d, e = traces(kz)
            value += sign * 0.5 * (hi - lo) * (w @ tr) / (2 * np.pi)
            drift, perr = max(drift, d), max(perr, e)
        if prev is not None and abs(value - prev) < tol:
            return Pumping(s, value, abs(value - prev), drift, perr)
        prev, n = value, 2 * n
    raise RuntimeError(f"pumped particles not converged to tol={tol:g} with {max_strip} k_z points per strip")
