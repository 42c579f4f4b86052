"""Spectral weights (paper Eqs. 14, 15) at generic k-points.

Exact side: the gauge-invariant Wigner function W(Pi_n)(k) of the exact
spectral projector Pi_n of band n in the field (``keldysh.exact.band_wigner``).
Energy-integrating Eq. 14 over the band-n quasiparticle peak gives the
spectral weight of that quasiparticle on the zero-field eigenprojector P_m,

    Z_n^m(k) = Tr(P_m(k) W(Pi_n)(k)),        Z_tot^n(k) = Tr W(Pi_n)(k)  (Eq. 15).
"""

from __future__ import annotations

import functools

import numpy as np

from semiclassics.predictions import spectral_weights, total_spectral_weight

from ..comparison import Comparison
from ..registry import register
from .common import KPOINTS_TEXT, MODEL_SWEEPS, MODELS, band_wigners, eigenprojectors, generic_kpoints

__all__ = ["exact_spectral_weights", "exact_total_weight"]


def exact_spectral_weights(model, field, *, tol: float) -> np.ndarray:
    """Z_n^m(k) = Tr(P_m(k) W(Pi_n)(k)) at the generic k-points, shape (8, N, N) [k, n, m], dimensionless."""
    k = generic_kpoints(model)
    W, _ = band_wigners(model, field, k, tol)
    return np.einsum("kmab,knba->knm", eigenprojectors(model, k), W).real


def exact_total_weight(model, field, *, tol: float) -> np.ndarray:
    """Z_tot^n(k) = Tr W(Pi_n)(k) at the generic k-points, shape (8, N), dimensionless."""
    W, _ = band_wigners(model, field, generic_kpoints(model), tol)
    return np.trace(W, axis1=-2, axis2=-1).real


def predicted_spectral_weights(model, field, *, form: str) -> np.ndarray:
    """Eq. 14 weights Z_n^m at the generic k-points (``form`` printed or corrected)."""
    return spectral_weights(model, generic_kpoints(model), field, form=form)


def predicted_total_weight(model, field) -> np.ndarray:
    """Eq. 15 total weights 1 - beta Omega_n^{n,xy} at the generic k-points."""
    return total_spectral_weight(model, generic_kpoints(model), field)


_DIFFERENCE = (
    "the interband weights: as printed, Eq. 14 gives the band-n quasiparticle the weight "
    "(hbar/2) Omega_m^n on P_m; the corrected form transposes the band indices, (hbar/2) Omega_n^m = "
    "-(hbar/2) Omega_m^n, as Eq. 16 (the band projection of Eq. 14 itself) and the sum rule "
    "sum_n Z_n^m = 1 (the Pi_n add up to 1) require. The diagonal 1 - (hbar/2) Omega_n^n is the same."
)


def _spectral_weight_comparisons():
    for key, (factory, label) in MODELS.items():
        for form in ("printed", "corrected"):
            other = "corrected" if form == "printed" else "printed"
            yield Comparison(
                name=f"spectral_weights_{form}[{key}]",
                description=(
                    "Spectral weight Z_n^m of the band-n quasiparticle on the eigenprojector P_m: exact "
                    "Tr(P_m W(Pi_n)) from the Wigner function of the exact band projector, against Eq. 14 "
                    f"({form}), every (n, m)."
                ),
                model=factory,
                model_label=label,
                sweep=MODEL_SWEEPS[key],
                exact=exact_spectral_weights,
                prediction=functools.partial(predicted_spectral_weights, form=form),
                equation="Eq. 14",
                prediction_kind=form,
                points=KPOINTS_TEXT,
                units="dimensionless",
                counterpart=f"spectral_weights_{other}[{key}]",
                difference=_DIFFERENCE,
            )


def _total_weight_comparisons():
    for key, (factory, label) in MODELS.items():
        yield Comparison(
            name=f"total_spectral_weight[{key}]",
            description=(
                "Total spectral weight of the band-n quasiparticle: exact Tr W(Pi_n) against Eq. 15, "
                "Z_tot^n = 1 - hbar Omega_n^n."
            ),
            model=factory,
            model_label=label,
            sweep=MODEL_SWEEPS[key],
            exact=exact_total_weight,
            prediction=predicted_total_weight,
            equation="Eq. 15",
            points=KPOINTS_TEXT,
            units="dimensionless",
        )


register(_spectral_weight_comparisons)
register(_total_weight_comparisons)
