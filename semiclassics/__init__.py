"""O(hbar) semiclassical theory of Valet & Raimondi for a Bloch model in a uniform field.

Needs only a model with ``dim``, ``norbs``, ``bloch(k)``, ``bloch_derivative(k)``
(``cell_area`` and ``lattice_vectors`` when present) and a field with
``beta(cell_area)``; it imports nothing from :mod:`keldysh`.

Modules: :mod:`.sun` (su(N) algebra), :mod:`.geometry` (Berry curvature tensor
Eq. 13, orbital moment, Chern numbers), :mod:`.predictions` (Eqs. 12, 14-17,
19, 25-28), :mod:`.moyal` (first-order gradient-expansion reference).
"""

from . import geometry, moyal, predictions, sun

__all__ = ["geometry", "moyal", "predictions", "sun"]
