"""Uniform external fields and their gauges: UniformB (static, Peierls phases) and UniformE (temporal gauge).

Uniform B
---------
Units (see ``docs/conventions.md``): hbar = a = 1 and the signed charge q is
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

Uniform E
---------
Uniform electric field in the temporal gauge, switched on by a smooth ramp.
Units and signs: hbar = a = 1 and the signed
charge q is folded into the field, so the parameter ``E`` of :class:`UniformE`
is the force q E (energy per lattice constant). The field is uniform and has
no scalar potential (temporal gauge)::

    E(t) = E s(t / tau),        q A(t) = -int_0^t E(t') dt',

and a state of canonical momentum k has kinetic momentum

    p(t) = k - q A(t),          dp/dt = q E(t).

The Peierls phase of a hop of cartesian length d = r1 - r2 is
phi(r1, r2) = q A(t).(r1 - r2), so the Bloch Hamiltonian at canonical k is
h(k - q A(t)) = h(p(t)).

Ramp profiles s(x), x = t / tau (s = 0 for x <= 0 and s = 1 for x >= 1):

``"erf"`` (default)
    s(x) = erfc(-2 x0 (x - 1/2)) / 2 with x0 = 5.9, cut to exactly 0 and 1
    outside (0, 1) (the jumps, 3.6e-17, are below double precision), so it
    is C-infinity to machine precision and dE/dt is a Gaussian of width
    w = tau / (2 x0). The non-adiabatic remnant left by the switch-on
    (interband coherence oscillating at the gap frequency omega) is the
    Fourier transform of dE/dt at omega, ~ exp(-(omega w)^2 / 4): it decays
    faster than any power of tau * omega, and fastest of the three.
``"smooth"``
    s(x) = 1 / (1 + exp(1/x - 1/(1 - x))), C-infinity with every derivative
    vanishing at both ends (compact support); the remnant decays faster than
    any power of tau * omega too, but only like exp(-c sqrt(tau * omega)).
``"sin2"``
    s(x) = sin^2(pi x / 2). Only C^1 at the ends (s'' jumps), so the
    remnant decays as a power law, ~ 1 / (tau * omega)^2 relative to the
    O(E) response. Kept to exhibit the difference.

All three satisfy s(x) + s(1 - x) = 1, so q A(t) = -q E (t - tau/2) after the
ramp. ``ramp = 0`` switches the field on suddenly at t = 0 (profile ignored).

The integrals of s needed for A(t) and for its mean over an interval (the
straight-line Wilson line of the two-time Wigner transform) use 64-point
Gauss-Legendre quadrature, accurate to ~1e-16 for every profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import erfc, expit

__all__ = ["UniformB", "UniformE", "GAUGES", "RAMP_PROFILES"]

GAUGES = ("landau_x", "landau_y", "symmetric")


def _real(value: object, name: str, unit: str) -> float:
    """``value`` as a float; a TypeError naming ``name`` for anything that is not a real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number ({unit}), got {value!r}")
    return float(value)


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
        flux = _real(self.flux, "flux", "flux quanta per cell")
        if not math.isfinite(flux):
            raise ValueError(f"flux must be finite, got {self.flux}")
        object.__setattr__(self, "flux", flux)

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


# --------------------------------------------------------------------------- uniform E

RAMP_PROFILES = ("erf", "smooth", "sin2")

#: Half-width of the erf ramp in units of its width: erfc(5.9) / 2 < 1e-16.
_ERF_HALF_WIDTH = 5.9

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)


def _profile(x: np.ndarray, profile: str) -> np.ndarray:
    """s(x) of the named profile, clipped to 0 below x = 0 and 1 above x = 1."""
    xc = np.clip(x, 0.0, 1.0)
    if profile == "sin2":
        return np.sin(0.5 * np.pi * xc) ** 2
    if profile == "erf":
        inner = (xc > 0) & (xc < 1)
        return np.where(inner, 0.5 * erfc(-2 * _ERF_HALF_WIDTH * (xc - 0.5)), np.where(xc >= 1, 1.0, 0.0))
    inner = (xc > 0) & (xc < 1)
    safe = np.where(inner, xc, 0.5)
    s = expit(1.0 / (1.0 - safe) - 1.0 / safe)
    return np.where(inner, s, np.where(xc >= 1, 1.0, 0.0))


def _ramp_integrals(x: np.ndarray, profile: str) -> tuple[np.ndarray, np.ndarray]:
    """I1(x) = int_0^x s, I2(x) = int_0^x (x - y) s(y) dy for 0 <= x <= 1 (Gauss-Legendre)."""
    y = 0.5 * (_NODES + 1.0) * x[..., None]
    w = 0.5 * _WEIGHTS * x[..., None]
    s = _profile(y, profile)
    return np.sum(w * s, axis=-1), np.sum(w * (x[..., None] - y) * s, axis=-1)


@dataclass(frozen=True)
class UniformE:
    """Uniform electric field switched on at t = 0, temporal gauge.

    Parameters
    ----------
    E
        The force q E (cartesian, one entry per lattice dimension; a scalar is
        accepted for a 1D lattice). Units energy / a (hbar = a = 1).
    ramp
        Switch-on duration tau >= 0 (units 1/energy); 0 means a sudden switch.
    profile
        Ramp shape, one of :data:`RAMP_PROFILES` (see the module docstring).

    Raises
    ------
    ValueError
        For non-finite E, a negative or non-finite ramp, or an unknown profile.
    """

    E: tuple[float, ...]
    ramp: float = 0.0
    profile: str = "erf"

    def __post_init__(self) -> None:
        try:
            E = np.atleast_1d(np.asarray(self.E, dtype=float))
        except (TypeError, ValueError):
            raise TypeError(f"E must be a real number or a vector of them (the force qE, energy / a), got {self.E!r}") from None
        if E.ndim != 1 or E.size == 0:
            raise ValueError(f"E must be a scalar or a 1D vector, got shape {E.shape}")
        if not np.all(np.isfinite(E)):
            raise ValueError(f"E must be finite, got {E}")
        ramp = _real(self.ramp, "ramp", "duration, 1/energy")
        if not (math.isfinite(ramp) and ramp >= 0):
            raise ValueError(f"ramp duration must be finite and >= 0, got {self.ramp}")
        object.__setattr__(self, "ramp", ramp)
        if self.profile not in RAMP_PROFILES:
            raise ValueError(f"unknown ramp profile {self.profile!r}; choose one of {RAMP_PROFILES}")
        object.__setattr__(self, "E", tuple(float(e) for e in E))

    @property
    def dim(self) -> int:
        """Number of cartesian components of E."""
        return len(self.E)

    @property
    def vector(self) -> NDArray[np.float64]:
        """q E as an array of shape (d,)."""
        return np.array(self.E)

    @property
    def strength(self) -> float:
        """|q E|."""
        return float(np.linalg.norm(self.E))

    def switch(self, t: ArrayLike) -> NDArray[np.float64]:
        """s(t / tau) in [0, 1] (0 before t = 0); same shape as t."""
        t = np.asarray(t, dtype=float)
        if self.ramp == 0:
            return np.where(t >= 0, 1.0, 0.0)
        return _profile(t / self.ramp, self.profile)

    def field(self, t: ArrayLike) -> NDArray[np.float64]:
        """q E(t) = q E s(t / tau), shape t.shape + (d,)."""
        return self.switch(t)[..., None] * self.vector

    def _primitives(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """S1(t) = int_0^t s, S2(t) = int_0^t S1 (zero for t <= 0)."""
        t = np.maximum(t, 0.0)
        tau = self.ramp
        if tau == 0:
            return t, 0.5 * t**2
        x = np.minimum(t / tau, 1.0)
        i1, i2 = _ramp_integrals(x, self.profile)
        late = np.maximum(t - tau, 0.0)
        # beyond the ramp s = 1: S1 grows linearly from S1(tau) = tau I1(1) = tau / 2
        s1 = tau * i1 + late
        s2 = tau**2 * i2 + tau * i1 * late + 0.5 * late**2
        return s1, s2

    def vector_potential(self, t: ArrayLike) -> NDArray[np.float64]:
        """q A(t) = -int_0^t q E(t') dt', shape t.shape + (d,)."""
        s1, _ = self._primitives(np.asarray(t, dtype=float))
        return -s1[..., None] * self.vector

    def mean_vector_potential(self, t1: ArrayLike, t2: ArrayLike) -> NDArray[np.float64]:
        """Mean of q A over [t2, t1] (q A(t1) where t1 == t2), shape broadcast(t1, t2) + (d,).

        The straight spacetime Wilson line from (t2, r2) to (t1, r1) in the
        temporal gauge is exp(i q Abar . (r1 - r2)) with this mean Abar.
        """
        t1, t2 = np.broadcast_arrays(np.asarray(t1, dtype=float), np.asarray(t2, dtype=float))
        a1, b1 = self._primitives(t1)
        _, b2 = self._primitives(t2)
        dt = t1 - t2
        same = np.abs(dt) <= 1e-12 * np.maximum(1.0, np.abs(t1))
        mean = np.where(same, a1, (b1 - b2) / np.where(same, 1.0, dt))
        return -mean[..., None] * self.vector

    def _check_k(self, k: ArrayLike) -> np.ndarray:
        k = np.asarray(k, dtype=float)
        if k.shape[-1:] != (self.dim,):
            raise ValueError(f"momenta must have last axis {self.dim} (the dimension of E), got shape {k.shape}")
        return k

    def kinetic_momentum(self, k: ArrayLike, t: float) -> NDArray[np.float64]:
        """p = k - q A(t) for canonical momenta k of shape (..., d) at one time t."""
        return self._check_k(k) - self.vector_potential(t)

    def canonical_momentum(self, p: ArrayLike, t: float) -> NDArray[np.float64]:
        """k = p + q A(t) for kinetic momenta p of shape (..., d) at one time t."""
        return self._check_k(p) + self.vector_potential(t)
