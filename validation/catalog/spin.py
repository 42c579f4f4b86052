"""(Pseudo)spin density per unit cell (paper Eqs. 27b, 28b), two-band QWZ.

Exact side: Tr(sigma_c rho_loc), with rho_loc the dressed on-site block of the
exact equilibrium density matrix n_F(H) (:func:`.common.local_occupation`)
and sigma the Pauli matrices on the two orbitals.

Predictions on a BZ grid (quadrature error from a coarser grid, as in
:mod:`validation.catalog.density`): Eq. 28b, which the paper derives from its
complete O(hbar) density matrix (Eqs. 25, 26), and Eq. 27b, the wave-packet
expression that the paper calls spurious at O(hbar).
"""

from __future__ import annotations

import functools

import numpy as np

from semiclassics.predictions import spin_density, spin_density_wavepacket

from ..comparison import Comparison
from ..registry import register
from .common import MODELS, PAULI, STATES, State, local_occupation
from .density import COARSE_GRID, GRID

__all__ = ["exact_spin_density"]


def exact_spin_density(model, field, *, tol: float, state: State) -> np.ndarray:
    """<sigma_c> per unit cell = Tr(sigma_c rho_loc) (exact), shape (3,), dimensionless."""
    rho = local_occupation(model, field, state, tol)
    return np.einsum("cab,ba->c", PAULI, rho).real


def predicted_spin_density(model, field, *, state: State, grid: int) -> np.ndarray:
    """Eq. 28b on a grid x grid BZ mesh."""
    return spin_density(model, field, state.f, state.fprime, grid)


def predicted_spin_density_wavepacket(model, field, *, state: State, grid: int) -> np.ndarray:
    """Eq. 27b on a grid x grid BZ mesh."""
    return spin_density_wavepacket(model, field, state.f, grid)


_DIFFERENCE = (
    "Eq. 27b (wave packet) has the extra term -hbar int Omega (f^up + f^dn) u, which the paper calls "
    "spurious, and lacks the transverse contribution int rho_perp of Eq. 28b."
)


def _comparisons():
    for key, (model_key, state) in STATES.items():
        if model_key != "qwz":
            continue  # Eqs. 27b and 28b are two-band formulas
        factory, label = MODELS[model_key]
        common = dict(
            model=factory,
            model_label=f"{label}, {state.describe()}",
            sweep=state.sweep,
            exact_tol=state.tol,
            exact=functools.partial(exact_spin_density, state=state),
            points=f"integral (BZ grid {GRID}x{GRID}; quadrature error from {COARSE_GRID}x{COARSE_GRID})",
            units="per cell (Pauli components)",
        )
        yield Comparison(
            name=f"spin_density[{key}]",
            description=(
                "Pseudospin density per cell: exact Tr(sigma rho_loc) against Eq. 28b, "
                "int (f^up - f^dn) u + int rho_perp."
            ),
            prediction=functools.partial(predicted_spin_density, state=state, grid=GRID),
            prediction_coarse=functools.partial(predicted_spin_density, state=state, grid=COARSE_GRID),
            equation="Eq. 28b",
            counterpart=f"spin_density_wavepacket[{key}]",
            **common,
        )
        yield Comparison(
            name=f"spin_density_wavepacket[{key}]",
            description=(
                "Pseudospin density per cell: exact Tr(sigma rho_loc) against the wave-packet Eq. 27b, "
                "int (f^up - f^dn) u - hbar int Omega (f^up + f^dn) u. The paper states that its second "
                "term is spurious, i.e. that Eq. 27b is wrong at O(hbar) (expected order 1)."
            ),
            prediction=functools.partial(predicted_spin_density_wavepacket, state=state, grid=GRID),
            prediction_coarse=functools.partial(predicted_spin_density_wavepacket, state=state, grid=COARSE_GRID),
            equation="Eq. 27b",
            expected_order=1.0,
            counterpart=f"spin_density[{key}]",
            difference=_DIFFERENCE,
            **common,
        )


register(_comparisons)
