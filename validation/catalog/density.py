"""Equilibrium density and density matrix (paper Eqs. 17, 19, 25, 26).

Exact side, for the equilibrium state rho = n_F(H) of the exact H in the field:

- electrons per cell: Tr of the dressed on-site block of rho
  (:func:`.common.local_occupation`), against Eq. 17 on a BZ grid;
- band-projected density matrix: rho^n(k) = Tr(P_n(k) W(n_F(H))(k)) at generic
  k-points (:func:`.common.occupation_wigner`), against Eq. 25 (two bands) or the
  energy-integrated Eq. 19 (N bands) with f = n_F(eps-bar) (Eq. 20);
- transverse part (two bands): rho_perp_c(k) = Tr(sigma_c (W - sum_n P_n W P_n)),
  the interband part of W = W(n_F(H)) written as (1/2) rho_perp . sigma, against Eq. 26.

BZ-grid predictions carry a quadrature-error estimate: the same prediction on a
coarser grid (:data:`GRID` vs :data:`COARSE_GRID`), whose difference bounds the
error of the fine grid (the integrands are analytic: in a gap at T = 0, and at
T > 0 through the Fermi function, so the error decays exponentially with the grid).
"""

from __future__ import annotations

import functools

import numpy as np

from semiclassics.predictions import band_density, equilibrium_density, transverse_density

from ..comparison import Comparison
from ..registry import register
from .common import (
    KPOINTS_TEXT,
    MODELS,
    STATES,
    State,
    eigenprojectors,
    generic_kpoints,
    interband_pauli,
    local_occupation,
    occupation_wigner,
)

__all__ = ["GRID", "COARSE_GRID", "exact_electron_density", "exact_band_density", "exact_transverse_density"]

#: BZ grid (GRID x GRID) of the integrated predictions, and the coarser grid of their error estimate.
GRID = 64
COARSE_GRID = 48


def exact_electron_density(model, field, *, tol: float, state: State) -> np.ndarray:
    """Electrons per unit cell, Tr of the on-site block of n_F(H) (exact), shape ()."""
    return np.asarray(np.trace(local_occupation(model, field, state, tol)).real)


def predicted_electron_density(model, field, *, state: State, grid: int) -> np.ndarray:
    """Eq. 17 on a grid x grid BZ mesh, electrons per unit cell, shape ()."""
    return np.asarray(equilibrium_density(model, field, state.mu, state.T, grid))


def exact_band_density(model, field, *, tol: float, state: State) -> np.ndarray:
    """rho^n(k) = Tr(P_n W(n_F(H))) at the generic k-points, shape (8, N), dimensionless."""
    k = generic_kpoints(model)
    W = occupation_wigner(model, field, state, k, tol)
    return np.einsum("knab,kba->kn", eigenprojectors(model, k), W).real


def predicted_band_density(model, field, *, state: State) -> np.ndarray:
    """Eq. 19 / Eq. 25 band densities with f = n_F at the Eq. 12 energies."""
    return band_density(model, generic_kpoints(model), field, state.f)


def exact_transverse_density(model, field, *, tol: float, state: State) -> np.ndarray:
    """rho_perp_c(k) = Tr(sigma_c (W - sum_n P_n W P_n)), W = W(n_F(H)), shape (8, 3), dimensionless."""
    k = generic_kpoints(model)
    return interband_pauli(model, k, occupation_wigner(model, field, state, k, tol))


def predicted_transverse_density(model, field, *, state: State) -> np.ndarray:
    """Eq. 26 rho_perp at the generic k-points."""
    return transverse_density(model, generic_kpoints(model), field, state.f, state.fprime)


def _equilibrium_density_comparisons():
    for key, (model_key, state) in STATES.items():
        factory, label = MODELS[model_key]
        gap = state.T == 0
        yield Comparison(
            name=f"equilibrium_density[{key}]",
            description=(
                "Electrons per unit cell in equilibrium: exact Tr of the on-site block of n_F(H) against Eq. 17, "
                "sum_n int (1 - hbar e B.Omega_n^n) n_F(eps-bar^n)"
                + (" (mu in a gap: Streda counting, 1 - flux C per filled band)." if gap else " (a metal at T > 0).")
            ),
            model=factory,
            model_label=f"{label}, {state.describe()}",
            sweep=state.sweep,
            exact_tol=state.tol,
            exact=functools.partial(exact_electron_density, state=state),
            prediction=functools.partial(predicted_electron_density, state=state, grid=GRID),
            prediction_coarse=functools.partial(predicted_electron_density, state=state, grid=COARSE_GRID),
            equation="Eq. 17",
            points=f"integral (BZ grid {GRID}x{GRID}; quadrature error from {COARSE_GRID}x{COARSE_GRID})",
            units="electrons per cell",
        )


def _band_density_comparisons():
    for key, (model_key, state) in STATES.items():
        factory, label = MODELS[model_key]
        two_band = model_key == "qwz"
        yield Comparison(
            name=f"band_density[{key}]",
            description=(
                "Band-projected equilibrium density matrix rho^n(k): exact Tr(P_n W(n_F(H))) against "
                + ("Eq. 25, (1 - sigma hbar Omega/2) f^sigma + sigma (hbar/2) Omega f^-sigma"
                   if two_band else "Eq. 19 energy-integrated, (1 - hbar Omega_n^n/2) f^n + (hbar/2) sum_m Omega_m^n f^m")
                + ", f = n_F(eps-bar) (Eq. 20)."
            ),
            model=factory,
            model_label=f"{label}, {state.describe()}",
            sweep=state.sweep,
            exact_tol=state.tol,
            exact=functools.partial(exact_band_density, state=state),
            prediction=functools.partial(predicted_band_density, state=state),
            equation="Eq. 25" if two_band else "Eq. 19",
            points=KPOINTS_TEXT,
            units="dimensionless (occupation per k and band)",
        )


def _transverse_density_comparisons():
    for key, (model_key, state) in STATES.items():
        if model_key != "qwz":
            continue  # Eq. 26 is a two-band formula
        factory, label = MODELS[model_key]
        yield Comparison(
            name=f"transverse_density[{key}]",
            description=(
                "Interband (transverse) part of the equilibrium density matrix: exact "
                "Tr(sigma_c (W - sum_n P_n W P_n)) with W = W(n_F(H)), against Eq. 26, "
                "-(hbar/2) u x [{lambda^0, u}(f^up - f^dn)/Delta + {f^up + f^dn, u}]."
            ),
            model=factory,
            model_label=f"{label}, {state.describe()}",
            sweep=state.sweep,
            exact_tol=state.tol,
            exact=functools.partial(exact_transverse_density, state=state),
            prediction=functools.partial(predicted_transverse_density, state=state),
            equation="Eq. 26",
            points=KPOINTS_TEXT,
            units="dimensionless (Pauli components)",
        )


register(_equilibrium_density_comparisons)
register(_band_density_comparisons)
register(_transverse_density_comparisons)
