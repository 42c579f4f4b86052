"""Weyl semimetal in B along z: chiral magnetic effect (paper Eqs. 34, 36) and chiral anomaly (Eq. 33).

Model: ``keldysh.models.weyl(m=1, k0=pi/2, tilt=0.2, offset=0.2)``, nodes at
k = (0, 0, +-pi/2) with chirality -+1 at energies +-0.2 (:data:`NODE_GUESSES`).
The k_z zone is split by the planes k_z = 0 and pi into the halves
(0, pi) (node of chirality -1) and (pi, 2 pi) (node of chirality +1). Both
planes are insulators for every chemical potential used here (zero-field gap
of the pi plane (-0.8, 0.8), in field its lower edge is the zeroth Landau
level near -(1 - beta/2), i.e. -0.53 at flux 1/8, and near +(1 - beta/2) for
the reversed field): no Fermi surface crosses them for |mu| <= 0.1. T = 0.025
keeps the thermal tails across the plane gaps at ~2e-11 at flux 1/8 (they fall
off like exp(-(0.5 - |mu|)/T) there, and faster at weaker field).

Exact side (``keldysh.layered``): per k_z slice the magnetic supercell
Hamiltonian, the velocity along B d H / d k_z, Clenshaw-Curtis integrals over
each half of the k_z zone (tolerance ``exact_tol``). Prediction side
(``semiclassics.chiral``): Eq. 36 by parts (BZ-slice and node terms), whose
quadrature error (slice grid 96 against 64) is the prediction floor.

Comparisons (flux 1/8 .. 1/32, :data:`SWEEP`):

- ``cme_bloch[weyl]``: equilibrium, mu = 0 between the node energies. The
  exact current along B vanishes (Bloch's theorem); Eq. 36 summed over both
  bands over the whole zone vanishes too (its node terms cancel between the
  bands). The continuum per-node values chi_K (mu - eps_K) / (4 pi^2) do not
  vanish (their sum is 2 * offset / (4 pi^2) per beta): that regularization is
  not the lattice's.
- ``cme_chiral_imbalance[weyl]``: stationary state n_F(H(kz) - mu(kz)) with
  mu = 0.1 on (0, pi) and -0.1 on (pi, 2 pi) (mu5 = 0.1). The exact current,
  antisymmetrized in B, against Eq. 36 for the same distribution: both equal
  2 mu5 beta (C_pi - C_0) / (4 pi^2) to all orders in beta (Streda counting of
  the two insulating planes), so every point sits at the error floor.
- ``cme_node_resolved_printed[weyl]`` / ``cme_node_resolved[weyl]``: current
  along B from each half of the zone at mu = 0, exact against Eq. 34 on the
  half: the normal term int f dE/dkz plus Eq. 36 on the half. Printed: with
  eps and f = n_F(eps); corrected: with eps-bar of Eq. 12 (f = n_F(eps-bar),
  Eq. 20, and v = grad eps-bar, Eq. 29a), which adds the orbital
  magnetization of the boundary planes. The printed form misses it at O(beta).
- ``chiral_anomaly[weyl]`` (corrected measure) and ``chiral_anomaly_printed[weyl]``
  (the printed dp/(2 pi hbar)^(d-1), 2 pi too large): E parallel to B switched on at t = 0 (qE = 0.05),
  mu = 0: particles pumped into the half 0 < kz < pi by t = 2 from the exact
  evolution of the sectors, against Eq. 33 (Fermi-surface Berry flux of the
  half). Both equal chi qE beta / (4 pi^2) = -qE beta / (4 pi^2): exactly, the
  pumped number is (qE t / 2 pi) [n(0) - n(pi)] with Streda's n = 1 - flux C of
  the insulating planes (unitarity fixes the trace of every sector), so the
  points sit at the error floor at every field (flux 1/8 .. 1/25).
"""

from __future__ import annotations

import functools

import numpy as np

from keldysh import models
from keldysh.efield import UniformE
from keldysh.layered import node_resolved, pumped_particles
from semiclassics.chiral import anomaly_rate, cme_coefficient, fermi_surface_flux, slice_terms, weyl_nodes

from ..comparison import Comparison, register
from ..sweep import Sweep

__all__ = [
    "MODEL",
    "MODEL_LABEL",
    "NODE_GUESSES",
    "T",
    "MU",
    "MU_HALVES",
    "HALVES",
    "SWEEP",
    "exact_equilibrium_current",
    "predicted_equilibrium_current",
    "exact_imbalance_current",
    "predicted_imbalance_current",
    "exact_half_currents",
    "predicted_half_currents",
    "QE",
    "PUMP_TIME",
    "ANOMALY_SWEEP",
    "exact_pumping_rate",
    "predicted_pumping_rate",
]

MODEL = functools.partial(models.weyl, 1.0, np.pi / 2, tilt=0.2, offset=0.2)
MODEL_LABEL = "weyl(m=1, k0=pi/2, tilt=0.2, offset=0.2)"
NODE_GUESSES = ((0.0, 0.0, np.pi / 2), (0.0, 0.0, -np.pi / 2))
#: Temperature, equilibrium chemical potential, and (mu on (0, pi), mu on (pi, 2 pi)) of the imbalanced state.
T = 0.025
MU = 0.0
MU_HALVES = (0.1, -0.1)
HALVES = ((0.0, np.pi), (np.pi, 2 * np.pi))
#: Flux per xy cell 1/8 .. 1/32: supercells of 8 .. 32 cells keep the whole set to a few seconds, and
#: every value is exact to the 12 significant digits with which the sweep engine groups fluxes
#: (the supercell needs an exactly rational flux).
SWEEP = Sweep("flux", (1 / 8, 1 / 10, 1 / 16, 1 / 20, 1 / 25, 1 / 32))
GRID, COARSE_GRID = 96, 64
#: Chiral anomaly: force qE_z (sudden switch at t = 0) and the time at which the pumped number is read;
#: the kinetic shift qE t = 0.1 stays far from the Fermi pockets (distance ~1.3 from either plane).
QE, PUMP_TIME = 0.05, 2.0
ANOMALY_SWEEP = Sweep("flux", (1 / 8, 1 / 10, 1 / 16, 1 / 20, 1 / 25))


def _beta(model, field) -> float:
    """beta = q B_z = 2 pi flux / (area of the xy cell)."""
    return field.beta(abs(float(np.linalg.det(model.lattice_vectors[:2, :2]))))


def _nodes(model):
    return weyl_nodes(model, NODE_GUESSES)


def _negated(field):
    return type(field)(-field.flux)


# --- exact side -------------------------------------------------------------------


def exact_equilibrium_current(model, field, *, tol: float) -> np.ndarray:
    """Exact particle current along B in equilibrium (mu = MU), both halves summed, shape ()."""
    return np.asarray(node_resolved(model, field, MU, T, tol=tol).total_current)


def exact_imbalance_current(model, field, *, tol: float) -> np.ndarray:
    """Exact current of the chirally imbalanced state, odd part in B: [J(B) - J(-B)] / 2, shape ()."""
    plus = node_resolved(model, field, MU_HALVES, T, tol=tol).total_current
    minus = node_resolved(model, _negated(field), MU_HALVES, T, tol=tol).total_current
    return np.asarray(0.5 * (plus - minus))


def exact_half_currents(model, field, *, tol: float) -> np.ndarray:
    """Exact particle current along B from each half of the k_z zone at mu = MU, shape (2,)."""
    return node_resolved(model, field, MU, T, tol=tol).current


def exact_pumping_rate(model, field, *, tol: float) -> np.ndarray:
    """Exact particles pumped into the half 0 < kz < pi per unit volume and time, [N(t) - N(0)] / t, shape ()."""
    res = pumped_particles(model, field, UniformE((QE,)), MU, T, PUMP_TIME, split=HALVES[0], tol=tol * PUMP_TIME,
                           propagation_tol=1e-6)
    return np.asarray(res.pumped / PUMP_TIME)


# --- predictions -------------------------------------------------------------------


def predicted_equilibrium_current(model, field, *, grid: int = GRID) -> np.ndarray:
    """Eq. 36 over the whole zone, both bands: j_z = beta sum_n alpha_n, shape ()."""
    alpha = cme_coefficient(model, MU, T, _nodes(model), None, grid)
    return np.asarray(_beta(model, field) * alpha.total)


def predicted_imbalance_current(model, field, *, grid: int = GRID) -> np.ndarray:
    """Eq. 36 for mu(kz): beta sum over halves h of sum_n alpha_n(h, mu_h), shape ()."""
    nodes = _nodes(model)
    total = sum(cme_coefficient(model, mu, T, nodes, half, grid).total for mu, half in zip(MU_HALVES, HALVES))
    return np.asarray(_beta(model, field) * total)


def predicted_half_currents(model, field, *, form: str, grid: int = GRID) -> np.ndarray:
    """Eq. 34 along B on each half: normal term + Eq. 36 (``form`` printed: eps; corrected: eps-bar), shape (2,).

    Normal term on (a, b): (1/2 pi) [sum_n int d^2k/(2 pi)^2 G(eps_n)]_a^b, plus,
    in the corrected form, -(beta/2 pi) [sum_n int f m_n]_a^b from
    G(eps-bar) = G(eps - beta m) (orbital moment m, Eq. 12).
    """
    beta = _beta(model, field)
    nodes = _nodes(model)
    out = []
    for a, b in HALVES:
        ta, tb = slice_terms(model, a, MU, T, grid), slice_terms(model, b, MU, T, grid)
        normal = (tb.G.sum() - ta.G.sum()) / (2 * np.pi)
        if form == "corrected":
            normal -= beta * (tb.f_moment.sum() - ta.f_moment.sum()) / (2 * np.pi)
        out.append(normal + beta * cme_coefficient(model, MU, T, nodes, (a, b), grid).total)
    return np.array(out)


def predicted_pumping_rate(model, field, *, form: str = "corrected", grid: int = GRID) -> np.ndarray:
    """Eq. 33: -qE beta sum_n Phi_n / (2 pi)^3 (corrected measure) or / (2 pi)^2 (printed), shape ()."""
    flux = fermi_surface_flux(model, MU, T, _nodes(model), HALVES[0], grid)
    return np.asarray(anomaly_rate(flux, QE, _beta(model, field), form=form))


# --- registration ------------------------------------------------------------------

_COMMON = dict(model=MODEL, model_label=MODEL_LABEL, sweep=SWEEP, units="particles / (time a^2)", exact_tol=1e-10)

_HALF_DIFFERENCE = (
    "the normal current int f dE/dkz of Eq. 34's first line: printed with eps and f = n_F(eps); corrected "
    "with the Berry-curvature corrected energy eps-bar = eps - beta m of Eq. 12, as the equilibrium "
    "occupation f = n_F(eps-bar) (Eq. 20) and the velocity grad eps-bar (Eq. 29a) require. The difference "
    "is a total k_z derivative: it vanishes over the whole zone (so Eq. 36 is unaffected) but not on a half, "
    "where it is the orbital magnetization of the boundary planes."
)


def _comparisons():
    yield Comparison(
        name="cme_bloch[weyl]",
        description=(
            "Equilibrium current along B (mu = 0, nodes at +-0.2): exact Tr[n_F(H) dH/dkz] over the k_z zone, "
            "zero by Bloch's theorem, against Eq. 36 summed over both bands over the whole zone."
        ),
        exact=exact_equilibrium_current,
        prediction=predicted_equilibrium_current,
        prediction_coarse=functools.partial(predicted_equilibrium_current, grid=COARSE_GRID),
        equation="Eq. 36",
        points="integral over the Brillouin zone (both bands)",
        **_COMMON,
    )
    yield Comparison(
        name="cme_chiral_imbalance[weyl]",
        description=(
            "Chiral magnetic effect of the stationary state n_F(H - mu(kz)), mu = 0.1 on 0 < kz < pi and -0.1 on "
            "pi < kz < 2 pi: exact current along B, odd part in B, against Eq. 36 for the same distribution."
        ),
        exact=exact_imbalance_current,
        prediction=predicted_imbalance_current,
        prediction_coarse=functools.partial(predicted_imbalance_current, grid=COARSE_GRID),
        equation="Eq. 36",
        points="integral over the Brillouin zone (both bands, mu5 = 0.1)",
        **_COMMON,
    )
    for form in ("printed", "corrected"):
        other = "corrected" if form == "printed" else "printed"
        suffix = "_printed" if form == "printed" else ""
        other_suffix = "_printed" if other == "printed" else ""
        yield Comparison(
            name=f"cme_node_resolved{suffix}[weyl]",
            description=(
                "Node-resolved current along B (mu = 0): exact current from each half of the k_z zone "
                f"(0 < kz < pi, pi < kz < 2 pi) against Eq. 34 on the half ({form}: normal term + Eq. 36)."
            ),
            exact=exact_half_currents,
            prediction=functools.partial(predicted_half_currents, form=form),
            prediction_coarse=functools.partial(predicted_half_currents, form=form, grid=COARSE_GRID),
            equation="Eqs. 34, 36",
            prediction_kind=form,
            points="integral over each half of the k_z zone (2 values)",
            counterpart=f"cme_node_resolved{other_suffix}[weyl]",
            difference=_HALF_DIFFERENCE,
            **_COMMON,
        )


    for form in ("printed", "corrected"):
        suffix = "_printed" if form == "printed" else ""
        other_suffix = "" if form == "printed" else "_printed"
        yield Comparison(
            name=f"chiral_anomaly{suffix}[weyl]",
            description=(
                "Chiral anomaly, E parallel to B (qE = 0.05 switched on at t = 0, mu = 0): particles pumped into the "
                "half 0 < kz < pi (node of chirality -1) by t = 2, from the exact evolution of every (k, kz) sector, "
                f"against Eq. 33 ({form} measure): -qE beta times the Berry flux through the Fermi surface of the "
                "half over (2 pi)^" + ("2" if form == "printed" else "3") + "."
            ),
            exact=exact_pumping_rate,
            prediction=functools.partial(predicted_pumping_rate, form=form),
            prediction_coarse=functools.partial(predicted_pumping_rate, form=form, grid=COARSE_GRID),
            equation="Eq. 33",
            prediction_kind=form,
            points="integral over the half 0 < kz < pi (rate of one node)",
            counterpart=f"chiral_anomaly{other_suffix}[weyl]",
            difference=(
                "the momentum measure: printed dp/(2 pi hbar)^(d-1), corrected dp/(2 pi hbar)^d as in Eqs. 17, "
                "31 and 34; the printed one is 2 pi times the exact pumping rate."
            ),
            model=MODEL,
            model_label=MODEL_LABEL,
            sweep=ANOMALY_SWEEP,
            units="particles / (time a^3)",
            exact_tol=1e-10,
        )


register(_comparisons)
