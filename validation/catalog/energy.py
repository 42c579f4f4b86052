"""Quasiparticle energies (paper Eq. 12) at generic k-points.

Exact side: the first energy moment of the band-n part of the spectral
function, normalized by its weight,

    eps-bar^n(k) = Tr W(H Pi_n)(k) / Tr W(Pi_n)(k),

exact because H and Pi_n commute (``docs/conventions.md``).
"""

from __future__ import annotations

import numpy as np

from semiclassics.predictions import quasiparticle_energy

from ..comparison import Comparison
from ..registry import register
from .common import KPOINTS_TEXT, MODEL_SWEEPS, MODELS, band_wigners, generic_kpoints

__all__ = ["exact_quasiparticle_energy"]


def exact_quasiparticle_energy(model, field, *, tol: float) -> np.ndarray:
    """Tr W(H Pi_n) / Tr W(Pi_n) at the generic k-points, shape (8, N), energy units of the model."""
    projectors, moments = band_wigners(model, field, generic_kpoints(model), tol)
    return np.trace(moments, axis1=-2, axis2=-1).real / np.trace(projectors, axis1=-2, axis2=-1).real


def predicted_quasiparticle_energy(model, field) -> np.ndarray:
    """Eq. 12 energies eps-bar^n at the generic k-points."""
    return quasiparticle_energy(model, generic_kpoints(model), field)


def _comparisons():
    for key, (factory, label) in MODELS.items():
        yield Comparison(
            name=f"quasiparticle_energy[{key}]",
            description=(
                "Quasiparticle energy of band n: the exact first moment Tr W(H Pi_n) / Tr W(Pi_n) of the "
                "band-n spectral function against Eq. 12, eps^n + (hbar/2) sum_m (Delta^n - Delta^m) Omega_m^n."
            ),
            model=factory,
            model_label=label,
            sweep=MODEL_SWEEPS[key],
            exact=exact_quasiparticle_energy,
            prediction=predicted_quasiparticle_energy,
            equation="Eq. 12",
            points=KPOINTS_TEXT,
            units="energy (hopping)",
        )


register(_comparisons)
