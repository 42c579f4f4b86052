"""Functions of the Hamiltonian that the exact solver evaluates: f(H).

Two families, both vectorized callables of real energies (units of the hopping):

- :class:`BandWindow`: E^moment times the indicator of an energy window that
  isolates one band; its edges lie in global spectral gaps, so f(H) is the band
  projector Pi_n (moment 0) or the energy moment H^j Pi_n.
- :class:`FermiDirac`: the occupation n_F(E) = 1 / (exp((E - mu)/T) + 1),
  T in energy units (k_B = 1); T = 0 is the step theta(mu - E), allowed only
  when mu lies in a gap (otherwise f(H) is not defined by a smooth function).

:func:`band_window` finds the window of band n from the zero-field band
structure and raises when no global gap isolates the band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["BandWindow", "FermiDirac", "band_edges", "band_window"]


@dataclass(frozen=True)
class BandWindow:
    """E^moment on the window (lower, upper), zero elsewhere.

    Parameters
    ----------
    lower_gap, upper_gap
        The global gaps (E_below_top, E_band_bottom) and (E_band_top, E_above_bottom)
        that bound the band, or None for the lowest / highest band.
    moment
        Power j of the energy moment H^j Pi_n.
    band
        Index of the band (ascending energy order), for messages.
    """

    lower_gap: tuple[float, float] | None
    upper_gap: tuple[float, float] | None
    moment: int = 0
    band: int = 0

    @property
    def lower(self) -> float:
        """Window edge below the band (middle of the lower gap; -inf for the lowest band)."""
        return -np.inf if self.lower_gap is None else 0.5 * sum(self.lower_gap)

    @property
    def upper(self) -> float:
        """Window edge above the band (middle of the upper gap; +inf for the highest band)."""
        return np.inf if self.upper_gap is None else 0.5 * sum(self.upper_gap)

    def __call__(self, E: ArrayLike) -> NDArray[np.float64]:
        E = np.asarray(E, dtype=float)
        inside = (E > self.lower) & (E < self.upper)
        return np.where(inside, E**self.moment, 0.0)


@dataclass(frozen=True)
class FermiDirac:
    """Fermi-Dirac occupation n_F(E) at chemical potential mu and temperature T (k_B = 1)."""

    mu: float
    T: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.mu) and np.isfinite(self.T)) or self.T < 0:
            raise ValueError(f"need finite mu and T >= 0, got mu={self.mu}, T={self.T}")

    def __call__(self, E: ArrayLike) -> NDArray[np.float64]:
        E = np.asarray(E, dtype=float)
        if self.T == 0:
            return np.where(E < self.mu, 1.0, np.where(E > self.mu, 0.0, 0.5))
        x = (E - self.mu) / self.T
        return 0.5 * (1.0 - np.tanh(0.5 * x))


def band_edges(model, n_k: int = 96) -> NDArray[np.float64]:
    """Zero-field band minima and maxima, shape (N, 2), from a uniform grid over the Brillouin zone.

    The grid includes the high-symmetry points k = 0 and the zone boundary for
    even ``n_k``; edges are refined by nothing else, so ``band_window`` keeps a
    margin from them.
    """
    d = model.dim
    u = np.arange(n_k) / n_k
    grids = np.meshgrid(*([u] * d), indexing="ij")
    frac = np.stack([g.ravel() for g in grids], axis=-1)
    k = frac @ model.reciprocal_vectors
    e = np.linalg.eigvalsh(model.bloch(k))
    return np.stack([e.min(axis=0), e.max(axis=0)], axis=-1)


def band_window(model, band: int, moment: int = 0, n_k: int = 96) -> BandWindow:
    """The energy window that isolates ``band`` (ascending order) of the zero-field spectrum.

    Raises
    ------
    ValueError
        If ``band`` is out of range or no global gap separates it from its
        neighbours (the message gives the overlapping band edges).
    """
    n = model.norbs
    if not 0 <= band < n:
        raise ValueError(f"band index {band} out of range for a {n}-band model")
    edges = band_edges(model, n_k)
    lower_gap = upper_gap = None
    if band > 0:
        lower_gap = (float(edges[band - 1, 1]), float(edges[band, 0]))
        if lower_gap[1] <= lower_gap[0]:
            raise ValueError(
                f"band {band} is not isolated: band {band - 1} reaches up to {lower_gap[0]:.6g} "
                f"while band {band} starts at {lower_gap[1]:.6g} (no global gap)"
            )
    if band < n - 1:
        upper_gap = (float(edges[band, 1]), float(edges[band + 1, 0]))
        if upper_gap[1] <= upper_gap[0]:
            raise ValueError(
                f"band {band} is not isolated: band {band} reaches up to {upper_gap[0]:.6g} "
                f"while band {band + 1} starts at {upper_gap[1]:.6g} (no global gap)"
            )
    return BandWindow(lower_gap, upper_gap, moment, band)
