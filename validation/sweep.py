"""Sweeps: the values of the field (or of hbar) at which a comparison is evaluated.

A comparison is evaluated at a sequence of fields; its residual is then fitted
against the sweep variable (:mod:`validation.convergence`). Three sweep
variables exist:

``flux``
    The flux per unit cell in flux quanta h/q (``keldysh.UniformB(flux)``), at
    fixed lattice constant and hbar = 1. The field strength is
    beta = q B / hbar = 2 pi flux / A_cell, so a residual O(beta^p) has slope p
    in flux.

``E``
    The strength |q E| (energy / a) of a uniform electric field; the comparison
    receives an :class:`ElectricField` point and builds its own time-dependent
    lattice field from it (ramp, observation time).

``hbar``
    The semiclassical expansion parameter itself. Scale the lattice constant
    with hbar, a = hbar a0, so that the Bloch Hamiltonian as a function of the
    momentum p = hbar k stays fixed: k.a = (p/hbar).(hbar a0) = p.a0, and h(p)
    is the same function for every hbar. In a fixed field B the flux per
    plaquette is then::

        flux = q B a^2 / (2 pi hbar) = hbar * (q B a0^2 / (2 pi)) = hbar * flux0,

    with flux0 the flux at hbar = 1. So an hbar sweep is the same lattice
    problem evaluated at flux = hbar * flux0, with the same k.a at every point;
    observables per unit cell and functions of k.a compare unchanged. The
    residual is reported against hbar; since flux is proportional to hbar the
    fitted order is the same as in the flux sweep. For an electric field
    (``E0`` given) the same scaling, with times in units of hbar, gives the
    lattice problem at |q E| = hbar * E0.

This module holds values only: what a sweep is, the field handed to a
comparison at each sweep value, and the key under which a lattice field is
cached. How one point is computed is :mod:`validation.points`; where and in
which order the points run is :mod:`validation.executor`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from keldysh.fields import UniformB

__all__ = [
    "DEFAULT_SWEEP",
    "QUICK_SWEEP",
    "SWEEP_VARIABLES",
    "ElectricField",
    "Sweep",
    "lattice_key",
]

#: The quantities a sweep can run over (module docstring).
SWEEP_VARIABLES = ("flux", "hbar", "E")
#: Largest flux per unit cell a sweep may reach: the lattice problem is periodic in the flux with period 1
#: and flux 1 - f is the field -f, so above 1/2 a "small field" expansion has no meaning.
MAX_FLUX = 0.5


def lattice_key(value: float) -> str:
    """A lattice field (flux per cell or |q E|) as a key: 12 significant digits.

    Points whose lattice fields agree to 12 digits are the same lattice problem
    (e.g. hbar * flux0 and the same flux of a flux sweep).
    """
    return f"{float(value):.12g}"


def _real(value: object, name: str) -> float:
    """``value`` as a float, if it is a real number (not a bool, a string or a complex); TypeError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


@dataclass(frozen=True)
class ElectricField:
    """A point of an electric-field sweep, handed to the comparison as its ``field``.

    Parameters
    ----------
    E
        Field strength |q E| (energy / a) at hbar = 1.
    hbar
        Expansion parameter of an hbar sweep (1 for an E sweep). With a = hbar a0
        and times in units of hbar, the lattice problem is the one at
        |q E| = hbar * E (:attr:`strength`), the same relabelling as
        flux = hbar * flux0 for B (module docstring). How the comparison turns
        the point into a time-dependent lattice field is its own business.
    """

    E: float
    hbar: float = 1.0

    def __post_init__(self) -> None:
        for name in ("E", "hbar"):
            value = _real(getattr(self, name), name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"an electric-field point needs a finite {name} > 0, got {name}={value}")
            object.__setattr__(self, name, value)

    @property
    def strength(self) -> float:
        """|q E| of the lattice problem: hbar * E."""
        return self.hbar * self.E


@dataclass(frozen=True)
class Sweep:
    """The values of the sweep variable at which a comparison is evaluated.

    Parameters
    ----------
    variable
        ``"flux"`` (flux per unit cell, flux quanta), ``"E"`` (|q E|, energy / a)
        or ``"hbar"`` (module docstring: flux = hbar * flux0, or |q E| = hbar * E0,
        at fixed k.a).
    values
        Positive sweep values (any order; stored as given).
    flux0
        For an hbar sweep of a magnetic field: the flux per unit cell at
        hbar = 1. Must stay 1 otherwise.
    E0
        For an hbar sweep of an electric field: |q E| at hbar = 1 (then the
        sweep is an electric one). None otherwise.
    """

    variable: str = "flux"
    values: tuple[float, ...] = ()
    flux0: float = 1.0
    E0: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.variable, str) or self.variable not in SWEEP_VARIABLES:
            raise ValueError(f"unknown sweep variable {self.variable!r}; choose one of {SWEEP_VARIABLES}")
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Iterable):
            raise TypeError(f"values must be a sequence of numbers, got {type(self.values).__name__} {self.values!r}")
        values = tuple(_real(v, f"values[{i}]") for i, v in enumerate(self.values))
        object.__setattr__(self, "values", values)
        if len(values) < 2:
            raise ValueError(f"a sweep needs at least 2 values, got {len(values)}")
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"sweep values must be finite and positive, got {values}")
        if len(set(values)) != len(values):
            raise ValueError(f"sweep values must be distinct, got {values}")
        object.__setattr__(self, "flux0", _real(self.flux0, "flux0"))
        if not (math.isfinite(self.flux0) and self.flux0 > 0):
            raise ValueError(f"flux0 must be finite and positive, got {self.flux0}")
        if self.flux0 != 1.0 and (self.variable != "hbar" or self.E0 is not None):
            raise ValueError("flux0 only applies to an hbar sweep of a magnetic field")
        if self.E0 is not None:
            object.__setattr__(self, "E0", _real(self.E0, "E0"))
            if self.variable != "hbar":
                raise ValueError("E0 only applies to an hbar sweep (an E sweep gives E itself)")
            if not (math.isfinite(self.E0) and self.E0 > 0):
                raise ValueError(f"E0 must be finite and positive, got {self.E0}")
        keys = [lattice_key(self.lattice_value(v)) for v in values]
        if len(set(keys)) != len(keys):
            raise ValueError(
                f"sweep values must differ in the first 12 significant digits of their lattice field (they key the "
                f"lattice problem and the results cache), got {values}"
            )
        if not self.electric and max(self.lattice_value(v) for v in values) > MAX_FLUX:
            raise ValueError(
                f"the flux per cell reaches {max(self.lattice_value(v) for v in values):.6g} > {MAX_FLUX}: the lattice "
                "problem is periodic in the flux (period 1) and flux 1 - f is the field -f, so a sweep toward small "
                "fields must stay below 1/2" + (" (flux = hbar * flux0)" if self.variable == "hbar" else "")
            )

    @classmethod
    def log(
        cls,
        start: float = 1e-1,
        stop: float = 1e-4,
        num: int = 10,
        variable: str = "flux",
        flux0: float = 1.0,
        E0: float | None = None,
    ) -> Sweep:
        """``num`` log-spaced values from ``start`` to ``stop`` (both included)."""
        if isinstance(num, bool) or not isinstance(num, numbers.Integral):
            raise TypeError(f"num must be an integer, got {type(num).__name__} {num!r}")
        if num < 2:
            raise ValueError(f"num must be >= 2, got {num}")
        start, stop = _real(start, "start"), _real(stop, "stop")
        if not (math.isfinite(start) and math.isfinite(stop) and start > 0 and stop > 0):
            raise ValueError(f"start and stop must be finite and positive, got start={start}, stop={stop}")
        if start == stop:
            raise ValueError(f"start and stop must differ, got {start} for both")
        return cls(variable, tuple(np.geomspace(start, stop, int(num))), flux0, E0)

    @property
    def electric(self) -> bool:
        """True for a sweep of an electric field (``E``, or ``hbar`` with E0)."""
        return self.variable == "E" or self.E0 is not None

    @property
    def lattice_variable(self) -> str:
        """Name of the field parameter of the lattice problem: ``"flux"`` or ``"E"``."""
        return "E" if self.electric else "flux"

    def lattice_value(self, value: float) -> float:
        """The lattice problem's flux per unit cell, or |q E|, at sweep value ``value``."""
        value = float(value)
        if self.variable == "hbar":
            return value * (self.E0 if self.electric else self.flux0)
        return value

    def flux(self, value: float) -> float:
        """Flux per unit cell (flux quanta) at sweep value ``value`` (magnetic sweeps only)."""
        if self.electric:
            raise ValueError("an electric-field sweep has no flux")
        return self.lattice_value(value)

    def field(self, value: float) -> UniformB | ElectricField:
        """The field handed to the comparison at sweep value ``value``.

        ``UniformB(flux)`` for a magnetic sweep; ``ElectricField(E)`` for an E
        sweep, ``ElectricField(E0, hbar)`` for an hbar sweep of an electric field.
        """
        if not self.electric:
            return UniformB(self.flux(value))
        return ElectricField(float(value)) if self.variable == "E" else ElectricField(self.E0, float(value))

    @property
    def decades(self) -> float:
        """log10(max / min) of the sweep values."""
        return math.log10(max(self.values) / min(self.values))

    def shortened(self, num: int = 5, decades: float = 2.0) -> Sweep:
        """At most ``num`` of this sweep's own values, spread evenly (in order) over its lowest ``decades``.

        The values are kept exactly (e.g. rational fluxes that a supercell
        needs), descending, and the lowest value is always included.
        """
        if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 2:
            raise ValueError(f"num must be an integer >= 2, got {num!r}")
        decades = _real(decades, "decades")
        if not (math.isfinite(decades) and decades > 0):
            raise ValueError(f"decades must be finite and positive, got {decades}")
        lo = min(self.values)
        inside = sorted(v for v in self.values if v <= lo * 10**decades * (1 + 1e-12))
        if len(inside) > num:
            inside = [inside[i] for i in np.unique(np.round(np.linspace(0, len(inside) - 1, num)).astype(int))]
        return Sweep(self.variable, tuple(reversed(inside)), self.flux0, self.E0)

    def can_express(self, variable: str) -> bool:
        """Whether :meth:`as_variable` can express this sweep in ``variable`` (hbar always; else its own variable)."""
        return variable in ("hbar", self.variable, self.lattice_variable)

    def as_variable(self, variable: str) -> Sweep:
        """The same lattice problems expressed in another sweep variable.

        ``"hbar"`` takes the largest lattice value as flux0 (or E0), so hbar runs
        from 1 down; ``"flux"`` / ``"E"`` go back to the lattice variable.
        Converting between magnetic and electric sweeps raises ValueError.
        """
        if variable not in SWEEP_VARIABLES:
            raise ValueError(f"unknown sweep variable {variable!r}; choose one of {SWEEP_VARIABLES}")
        if variable == self.variable:
            return self
        lattice = tuple(self.lattice_value(v) for v in self.values)
        if variable == "hbar":
            scale = max(lattice)
            values = tuple(v / scale for v in lattice)
            return Sweep("hbar", values, E0=scale) if self.electric else Sweep("hbar", values, scale)
        if variable in SWEEP_VARIABLES and variable == self.lattice_variable:
            return Sweep(variable, lattice)
        raise ValueError(
            f"cannot express a {self.lattice_variable} sweep in {variable!r}: a sweep of "
            f"{'an electric' if self.electric else 'a magnetic'} field is expressed in "
            f"{self.lattice_variable!r} or 'hbar'"
        )

    def describe(self) -> str:
        """One line: variable, range, number of points."""
        text = (
            f"{self.variable} from {max(self.values):.3g} to {min(self.values):.3g}, "
            f"{len(self.values)} log-spaced points ({self.decades:.2g} decade{'' if self.decades == 1 else 's'})"
        )
        if self.variable == "hbar":
            text += f"; |qE| = hbar * {self.E0:.3g}" if self.electric else f"; flux = hbar * {self.flux0:.3g}"
        return text


#: The default sweep: flux per cell from 1e-2 down to 1e-4, 8 log-spaced points.
#: Larger fluxes are out of reach or out of scope for the built-in models: at
#: flux 0.1 the exact band windows of qwz(1, t0=0.3) fail (the field fills the
#: gap margin), above ~0.02 the exact kernels of the three-band model cost
#: minutes, and in the T = 0.1 metal the de Haas-van Alphen oscillations
#: (~exp(-2 pi^2 T / omega_c), non-perturbative in beta) show above ~0.01.
DEFAULT_SWEEP = Sweep.log(1e-2, 1e-4, 8)
#: The quick sweep: 5 of its 8 points, over the same two decades.
QUICK_SWEEP = DEFAULT_SWEEP.shortened(5, 2.0)

