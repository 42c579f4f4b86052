"""Landau levels of a layered model along k_z: crossings of an energy in a slab, distance to the nearest level."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..fields import UniformB
from ..lattice import TightBinding
from ..static.supercell import rational_flux
from .slices import _CHUNK_BYTES, LayeredSupercell, _check_layered

__all__ = ["LevelCrossings", "level_crossings", "level_gap"]


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
