"""External fields and their gauges.

Units (``shared/notes/conventions.md``): hbar = a = 1 and the signed charge q is
folded into the field. A uniform B along z is given by its flux per unit cell
of the xy lattice in units of the flux quantum h/q, so that

    beta = q B_z / hbar = 2 pi flux / A_cell,

with A_cell the cell area (1 for the square lattice). The Peierls substitution
and the Wilson line of the gauge-invariant Wigner transform both use the phase

    phi(r1, r2) = (q / hbar) * integral_{r2}^{r1} A . dl

along the straight segment from r2 to r1:
``<r1|H|r2> = T_{r2 - r1} exp(+i phi(r1, r2))`` and
``O~(r1, r2) = O(r1, r2) exp(-i phi(r1, r2))``.

Gauges are written in the fractional coordinates u = (u1, u2) of the in-plane
lattice vectors a1, a2 (r = u1 a1 + u2 a2 + ...), so that every gauge has a
magnetic translation symmetry of the lattice. With Phi = 2 pi flux * sign(a1 x a2):

- ``"landau_x"``: q A / hbar = Phi u1 grad u2 (square lattice: A = (0, B x, 0)),
  invariant under translation by a2;
- ``"landau_y"``: q A / hbar = -Phi u2 grad u1 (square lattice: A = (-B y, 0, 0)),
  invariant under translation by a1;
- ``"symmetric"``: the average of the two (square lattice: A = B (-y, x, 0)/2).

All three have curl B_z = beta. For 3D models a1, a2 must lie in the xy plane
and a3 along z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["UniformB", "GAUGES"]

GAUGES = ("landau_x", "landau_y", "symmetric")


@dataclass(frozen=True)
class UniformB:
    """Uniform static magnetic field along z (in the xy plane for 3D models).

    Parameters
    ----------
    flux
        Flux per unit cell of the xy lattice, in units of the flux quantum h/q,
        sign included: positive flux means q B_z > 0, i.e. beta > 0.
    """

    flux: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.flux):
            raise ValueError(f"flux must be finite, got {self.flux}")

    def beta(self, cell_area: float = 1.0) -> float:
        """beta = q B_z / hbar = 2 pi flux / cell_area, units 1/a^2."""
        return 2 * math.pi * self.flux / cell_area

    def phase(
        self,
        lattice_vectors: ArrayLike,
        r1: ArrayLike,
        r2: ArrayLike,
        gauge: str = "landau_x",
    ) -> NDArray[np.float64]:
        """phi(r1, r2) = (q/hbar) int_{r2}^{r1} A . dl along the straight segment (radians).

        Parameters
        ----------
        lattice_vectors
            (d, d) array, rows are the cartesian lattice vectors.
        r1, r2
            Cartesian end and start points, shape (..., d), broadcast together.
        gauge
            One of :data:`GAUGES`.
        """
        if gauge not in GAUGES:
            raise ValueError(f"unknown gauge {gauge!r}; choose one of {GAUGES}")
        a = np.asarray(lattice_vectors, dtype=float)
        d = a.shape[0]
        if d < 2:
            raise ValueError("a magnetic field along z needs a lattice of dimension >= 2")
        if d == 3 and (np.any(np.abs(a[:2, 2]) > 1e-12) or np.any(np.abs(a[2, :2]) > 1e-12)):
            raise ValueError("for 3D models B is along z: a1, a2 must lie in the xy plane and a3 along z")
        orient = math.copysign(1.0, a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0])
        Phi = 2 * math.pi * self.flux * orient
        inv = np.linalg.inv(a)
        u1 = np.asarray(r1, dtype=float) @ inv
        u2 = np.asarray(r2, dtype=float) @ inv
        x_mid = 0.5 * (u1[..., 0] + u2[..., 0])
        y_mid = 0.5 * (u1[..., 1] + u2[..., 1])
        dx = u1[..., 0] - u2[..., 0]
        dy = u1[..., 1] - u2[..., 1]
        lx = Phi * x_mid * dy
        ly = -Phi * y_mid * dx
        if gauge == "landau_x":
            return lx
        if gauge == "landau_y":
            return ly
        return 0.5 * (lx + ly)
