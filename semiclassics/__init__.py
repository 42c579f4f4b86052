"""O(hbar) semiclassical theory of Valet & Raimondi for a Bloch model in a uniform field.

Needs only a model with ``dim``, ``norbs``, ``bloch(k)``, ``bloch_derivative(k)``
(``cell_area`` and ``lattice_vectors`` when present) and a field with
``beta(cell_area)``; it imports nothing from :mod:`keldysh`.

Modules: :mod:`.sun` (su(N) algebra), :mod:`.geometry` (Berry curvature tensor
Eq. 13, orbital moment, Chern numbers), :mod:`.predictions` (Eqs. 12, 14-17,
19, 25-28), :mod:`.moyal` (first-order gradient-expansion reference),
:mod:`.kinetics` (Eq. 29), :mod:`.efield` (Eqs. 25-26 in a uniform E),
:mod:`.transport` (Eq. 35), :mod:`.chiral` (Eqs. 33, 36), :mod:`.integrate`
(batched adaptive Runge-Kutta), :mod:`.characteristics` (the flow of Eqs. 29-30
in uniform E(t) and B), :mod:`.boltzmann` (the kinetic theory in E and B
together: Eqs. 20, 25-26, 28a, 31, 34, ablations and rival theories),
:mod:`.transverse` (Eq. 26 in uniform E and B, the one implementation behind
the three modules above), :mod:`.landau` (Landau levels of a Weyl cone).
"""

from . import (
    boltzmann,
    characteristics,
    chiral,
    efield,
    geometry,
    integrate,
    kinetics,
    landau,
    moyal,
    predictions,
    sun,
    transport,
    transverse,
)

__all__ = [
    "boltzmann",
    "characteristics",
    "chiral",
    "efield",
    "geometry",
    "integrate",
    "kinetics",
    "landau",
    "moyal",
    "predictions",
    "sun",
    "transport",
    "transverse",
]
