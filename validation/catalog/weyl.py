"""Weyl semimetal in B along z: chiral magnetic effect (paper Eqs. 34, 36) and chiral anomaly (Eq. 33).

Model: ``keldysh.models.weyl(m=1, k0=pi/2, tilt=0.2, offset=0.2)``, nodes at
k = (0, 0, +-pi/2) with chirality -+1 at energies +-0.2 (:data:`NODE_GUESSES`).
The k_z zone is split by the planes k_z = 0 and pi into the halves
(0, pi) (node of chirality -1) and (pi, 2 pi) (node of chirality +1). Both
planes are insulators (2D Chern insulators with C_0 = 0 and C_pi = -1) for
the chemical potentials used here, so no Fermi surface crosses them; the
temperature keeps the thermal tails across their gaps negligible.

Exact side (``keldysh.layered``): per k_z slice the magnetic supercell
Hamiltonian, the velocity along B d H / d k_z, Clenshaw-Curtis integrals over
each half of the k_z zone (tolerance ``exact_tol``), and the exact evolution of
every (k, k_z) sector for the anomaly. Prediction side (``semiclassics.chiral``):
Eq. 36 by parts (BZ-slice and node terms) and Eq. 33 from the Berry flux through
the Fermi surface, whose quadrature error (slice grid :data:`GRID` against
:data:`COARSE_GRID`) is the prediction floor.

Comparisons (each description states what it tests):

- ``cme_bloch[weyl]``: the equilibrium current along B vanishes on the lattice
  (Bloch's theorem); Eq. 36 summed over both bands over the whole zone vanishes
  too, its node terms cancel between the bands. The continuum per-node values
  chi_K (mu - eps_K) / (4 pi^2) (:func:`semiclassics.chiral.node_cme`) sum to
  2 offset / (4 pi^2) instead: that regularization is not the lattice's.
- ``cme_chiral_imbalance[weyl]``: the stationary state n_F(H(kz) - mu(kz)) with
  mu = +-0.1 on the two halves. Both sides equal 2 mu5 beta (C_pi - C_0) / (4 pi^2)
  to all orders in beta (Streda counting of the insulating planes).
- ``cme_node_resolved_printed[weyl]`` / ``cme_node_resolved[weyl]``: the current
  from each half at mu = 0 against Eq. 34 on the half, printed (eps, f = n_F(eps))
  and corrected (eps-bar of Eq. 12 in the occupation, Eq. 20, and the velocity,
  Eq. 29a), which adds the orbital magnetization of the boundary planes.
- ``chiral_anomaly[weyl]`` (corrected measure dp/(2 pi hbar)^d) and
  ``chiral_anomaly_printed[weyl]`` (the printed dp/(2 pi hbar)^(d-1)): E parallel
  to B switched on at t = 0, particles pumped into the half 0 < kz < pi, against
  Eq. 33. Exactly, the pumped number is (qE t / 2 pi) [n(0) - n(pi)] with
  Streda's n = 1 - flux C of the insulating planes (unitarity fixes the trace of
  every sector), chi qE beta / (4 pi^2) per unit time and volume, up to the
  thermal occupation across the gap between mu and the nearest Landau level of
  the k_z strips that cross the planes (column ``strip_gap_over_T``).
- ``chiral_anomaly_E[weyl]``: the same experiment at fixed flux, swept in qE
  (:data:`ANOMALY_E_SWEEP`). Eq. 33 is linear in E; the exact number depends on
  the kinetic shift s = qE t only, through the equilibrium slice densities over
  the strips of width s behind the planes. It stays linear while those strips
  are insulating, and departs once they reach the Fermi pockets of the other
  half (:data:`POCKET_DISTANCE`), with their thermal tail: exponentially in s,
  not as a power of E.
- ``chiral_anomaly_regimes[weyl]``: the anomaly on :data:`QL_MODEL`
  (:data:`ANOMALY_REGIMES`) along a sweep that runs from the quantum limit
  into the semiclassical regime (columns below): Eq. 33 and the universal
  -qE beta / (4 pi^2) of the chirality -1 node in both regimes, i.e. the anomaly
  counts the flux through the insulating planes, not the Landau levels at mu.
- ``density_quantum_limit[weyl]``: particles in the half pi < kz < 2 pi of
  :data:`QL_MODEL` (mu = 0, T = 0.1) around the node at kz = -pi/2, 0.8 below
  mu (an electron pocket), exact (:func:`keldysh.layered.slab_density`) against
  Eq. 17 to first order in beta on the same slab
  (:func:`semiclassics.chiral.density_expansion`), from the quantum limit into
  the semiclassical regime.

Regime columns (:func:`node_regime`, :func:`regime_label`). Per point and per
node: ``landau_levels_at_mu``, the Landau levels crossing mu in the node's half,
counted on the exact supercell spectrum (:func:`keldysh.layered.level_crossings`:
the chiral level once, every massive level whose extremum lies beyond mu twice);
``landau_levels_formula``, the continuum count of the node's cone
(:func:`semiclassics.landau.levels_crossing`), and ``first_level_over_mu``,
eps_1 / |mu - eps_K| of the cone (> 1 in the continuum quantum limit). The
label ``regime`` ("quantum limit": only the chiral level crosses mu) comes from
the exact count; the lattice shifts the levels by O(beta) against the
continuum, so the two counts may differ where mu is close to a level.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from keldysh import models
from keldysh.fields import UniformB, UniformE
from keldysh.layered import level_crossings, level_gap, node_resolved, pumped_particles, slab_density
from semiclassics.characteristics import magnetic_strength
from semiclassics.chiral import (
    anomaly_rate,
    cme_coefficient,
    density_expansion,
    fermi_surface_flux,
    nodes_in_slab,
    slice_terms,
    weyl_nodes,
)
from semiclassics.landau import WeylCone, first_level, levels_crossing, weyl_cone

from ..comparison import Comparison
from ..registry import register
from ..sweep import ElectricField, Sweep

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
    "AnomalyExperiment",
    "ANOMALY",
    "ANOMALY_SWEEP",
    "exact_pumping_rate",
    "predicted_pumping_rate",
    "ANOMALY_FLUX",
    "E_PUMP_TIME",
    "ANOMALY_E_SWEEP",
    "POCKET_DISTANCE",
    "exact_pumping_rate_in_E",
    "predicted_pumping_rate_in_E",
    "shift_annotations",
    "anomaly_annotations",
    "ANOMALY_REGIMES",
    "REGIMES_SWEEP",
    "QL_MODEL",
    "QL_MODEL_LABEL",
    "QL_MU",
    "QL_T",
    "QL_HALF",
    "QL_SWEEP",
    "exact_node_density",
    "predicted_node_density",
    "half_cone",
    "node_regime",
    "regime_label",
    "regime_annotations",
]

MODEL = functools.partial(models.weyl, 1.0, np.pi / 2, tilt=0.2, offset=0.2)
MODEL_LABEL = "weyl(m=1, k0=pi/2, tilt=0.2, offset=0.2)"
NODE_GUESSES = ((0.0, 0.0, np.pi / 2), (0.0, 0.0, -np.pi / 2))
#: Temperature, equilibrium chemical potential, and (mu on (0, pi), mu on (pi, 2 pi)) of the imbalanced state.
T = 0.025
MU = 0.0
MU_HALVES = (0.1, -0.1)
HALVES = ((0.0, np.pi), (np.pi, 2 * np.pi))
#: Flux per xy cell 1/8 .. 1/32: small supercells, and every value exact to the 12 significant digits with
#: which the sweep engine groups fluxes (the supercell needs an exactly rational flux).
SWEEP = Sweep("flux", (1 / 8, 1 / 10, 1 / 16, 1 / 20, 1 / 25, 1 / 32))
GRID, COARSE_GRID = 96, 64
#: Chiral anomaly: force qE_z (sudden switch at t = 0) and the time at which the pumped number is read;
#: the kinetic shift qE t = 0.1 stays far below :data:`POCKET_DISTANCE`.
QE, PUMP_TIME = 0.05, 2.0
ANOMALY_SWEEP = Sweep("flux", (1 / 8, 1 / 10, 1 / 16, 1 / 20, 1 / 25))
#: Chiral anomaly swept in E: flux per xy cell, read-out time, and |qE| from deep in the linear regime
#: (kinetic shift qE t = 0.05) to the thermal tail of the Fermi pockets (qE t = 1.1).
ANOMALY_FLUX, E_PUMP_TIME = 1 / 16, 1.0
ANOMALY_E_SWEEP = Sweep("E", (0.05, 0.2, 0.5, 0.8, 0.9, 1.0, 1.1))
#: Zero-field k_z distance from a boundary plane to the nearest Fermi pocket of the neighbouring node,
#: pi/2 - |mu - eps_K| / v_z = pi/2 - 0.2 (the strips of pumped sectors reach a pocket when qE t exceeds it).
POCKET_DISTANCE = np.pi / 2 - 0.2

#: Quantum limit against the semiclassical regime: node offset 0.8 (nodes at +-0.8), mu = 0, T = 0.1;
#: the half (pi, 2 pi) holds the node at kz = -pi/2, 0.8 below mu (an electron pocket); the planes kz = 0, pi
#: stay insulators.
QL_MODEL = functools.partial(models.weyl, 1.0, np.pi / 2, tilt=0.2, offset=0.8)
QL_MODEL_LABEL = "weyl(m=1, k0=pi/2, tilt=0.2, offset=0.8), mu=0, T=0.1, half pi < kz < 2 pi"
QL_MU, QL_T = 0.0, 0.1
QL_HALF = HALVES[1]
#: Flux 1/8 .. 1/64: from the quantum limit at the largest fields into the semiclassical regime (columns).
QL_SWEEP = Sweep("flux", (1 / 8, 1 / 10, 1 / 12, 1 / 16, 1 / 20, 1 / 24, 1 / 32, 1 / 48, 1 / 64))
#: Slices of the half on which the exact Landau levels crossing mu are counted, and of each strip behind a
#: boundary plane on which the gap to mu is measured (:func:`keldysh.layered.level_gap`).
LEVEL_SLICES, STRIP_SLICES = 256, 64
QL_GRID, QL_COARSE = (48, 24), (36, 18)


@dataclass(frozen=True)
class AnomalyExperiment:
    """E parallel to B switched on at t = 0 on the equilibrium state n_F(H - mu): particles pumped into ``half``.

    Attributes
    ----------
    mu, T
        The initial state (energy units).
    qE
        Force along B (energy / a), sudden switch at t = 0.
    t
        Read-out time (1/energy, hbar = 1).
    half
        The slab (a, b) of the node whose particles are counted, cartesian k_z.
    """

    mu: float
    T: float
    qE: float
    t: float
    half: tuple[float, float] = HALVES[0]

    @property
    def shift(self) -> float:
        """Kinetic shift s = qE t of every sector at the read-out time."""
        return self.qE * self.t

    @property
    def strips(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The canonical k_z strips (a - s, a) and (b - s, b) whose sectors cross the planes by time t."""
        (a, b), s = self.half, self.shift
        return (a - s, a), (b - s, b)


#: The anomaly of :data:`MODEL` (flux sweep :data:`ANOMALY_SWEEP`; swept in E at :data:`ANOMALY_FLUX`).
ANOMALY = AnomalyExperiment(MU, T, QE, PUMP_TIME)
#: Chiral anomaly from the quantum limit into the semiclassical regime, on :data:`QL_MODEL` (nodes at +-0.8):
#: mu = 0.15 (between the node energies, nearer the hole pocket), T = 0.02 (far below the distance from mu to
#: the levels of the swept strips, column strip_gap_over_T), qE = 0.2 read at t = 0.5 (kinetic shift 0.1, far
#: from the Fermi pockets, a short propagation).
ANOMALY_REGIMES = AnomalyExperiment(0.15, 0.02, 0.2, 0.5)
#: Flux 1/8 .. 1/48: from the quantum limit at both nodes to several massive levels at mu (columns).
REGIMES_SWEEP = Sweep("flux", (1 / 8, 1 / 10, 1 / 12, 1 / 16, 1 / 20, 1 / 24, 1 / 32, 1 / 40, 1 / 48))


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


def exact_pumping_rate(model, field, *, tol: float, experiment: AnomalyExperiment = ANOMALY) -> np.ndarray:
    """Exact particles pumped into ``experiment.half`` per unit volume and time, [N(t) - N(0)] / t, shape ()."""
    e = experiment
    res = pumped_particles(model, field, UniformE((e.qE,)), e.mu, e.T, e.t, split=e.half, tol=tol * e.t,
                           propagation_tol=1e-6)
    return np.asarray(res.pumped / e.t)


def _swept_in_E(field: ElectricField) -> AnomalyExperiment:
    """:data:`ANOMALY` with |qE| = field.strength, read at :data:`E_PUMP_TIME`."""
    return replace(ANOMALY, qE=field.strength, t=E_PUMP_TIME)


def exact_pumping_rate_in_E(model, field: ElectricField, *, tol: float) -> np.ndarray:
    """Exact pumping rate into the half 0 < kz < pi at flux :data:`ANOMALY_FLUX`, |qE| = field.strength, shape ()."""
    return exact_pumping_rate(model, UniformB(ANOMALY_FLUX), tol=tol, experiment=_swept_in_E(field))


def exact_node_density(model, field, *, tol: float) -> np.ndarray:
    """Exact particles per unit volume in the half :data:`QL_HALF`, int dkz/(2 pi) Tr n_F(H(kz) - mu)/area, shape ()."""
    return np.asarray(slab_density(model, field, QL_MU, QL_T, QL_HALF, tol=tol).value)


# --- predictions -------------------------------------------------------------------


def predicted_equilibrium_current(model, field, *, grid: int = GRID) -> np.ndarray:
    """Eq. 36 over the whole zone, both bands: j_z = beta sum_n alpha_n, shape ()."""
    alpha = cme_coefficient(model, MU, T, _nodes(model), None, grid)
    return np.asarray(magnetic_strength(model, field) * alpha.total)


def predicted_imbalance_current(model, field, *, grid: int = GRID) -> np.ndarray:
    """Eq. 36 for mu(kz): beta sum over halves h of sum_n alpha_n(h, mu_h), shape ()."""
    nodes = _nodes(model)
    total = sum(cme_coefficient(model, mu, T, nodes, half, grid).total for mu, half in zip(MU_HALVES, HALVES))
    return np.asarray(magnetic_strength(model, field) * total)


def predicted_half_currents(model, field, *, form: str, grid: int = GRID) -> np.ndarray:
    """Eq. 34 along B on each half: normal term + Eq. 36 (``form`` printed: eps; corrected: eps-bar), shape (2,).

    Normal term on (a, b): (1/2 pi) [sum_n int d^2k/(2 pi)^2 G(eps_n)]_a^b, plus,
    in the corrected form, -(beta/2 pi) [sum_n int f m_n]_a^b from
    G(eps-bar) = G(eps - beta m) (orbital moment m, Eq. 12).
    """
    beta = magnetic_strength(model, field)
    nodes = _nodes(model)
    out = []
    for a, b in HALVES:
        ta, tb = slice_terms(model, a, MU, T, grid), slice_terms(model, b, MU, T, grid)
        normal = (tb.G.sum() - ta.G.sum()) / (2 * np.pi)
        if form == "corrected":
            normal -= beta * (tb.f_moment.sum() - ta.f_moment.sum()) / (2 * np.pi)
        out.append(normal + beta * cme_coefficient(model, MU, T, nodes, (a, b), grid).total)
    return np.array(out)


def predicted_pumping_rate(
    model, field, *, form: str = "corrected", grid: int = GRID, experiment: AnomalyExperiment = ANOMALY
) -> np.ndarray:
    """Eq. 33 on ``experiment.half``: -qE beta sum_n Phi_n / (2 pi)^3 (corrected measure) or / (2 pi)^2 (printed).

    Phi_n: Berry flux through the Fermi surface of the half at (mu, T) of the experiment. Shape ().
    """
    e = experiment
    flux = fermi_surface_flux(model, e.mu, e.T, _nodes(model), e.half, grid)
    return np.asarray(anomaly_rate(flux, e.qE, magnetic_strength(model, field), form=form))


def predicted_pumping_rate_in_E(model, field: ElectricField, *, grid: int = GRID) -> np.ndarray:
    """Eq. 33 (corrected measure) at flux :data:`ANOMALY_FLUX` and |qE| = field.strength: linear in E, shape ()."""
    return predicted_pumping_rate(model, UniformB(ANOMALY_FLUX), grid=grid, experiment=_swept_in_E(field))


@functools.lru_cache(maxsize=4)
def _expansion(model, grid: int, n_kz: int):
    """Eq. 17 to first order in beta on the half (per process: independent of the field)."""
    return density_expansion(model, QL_MU, QL_T, QL_HALF, _nodes(model), grid, n_kz)


def predicted_node_density(model, field, *, quadrature: tuple[int, int] = QL_GRID) -> np.ndarray:
    """Eq. 17 to first order in beta on the half :data:`QL_HALF`: n0 + beta n1, shape ()."""
    return np.asarray(_expansion(model, *quadrature).density(magnetic_strength(model, field)))


# --- regimes -----------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _exact_levels(model, flux: float, mu: float, half: tuple[float, float]) -> int:
    """Landau levels crossing mu in the half, counted on the exact spectrum (cached per process)."""
    return level_crossings(model, UniformB(flux), mu, half, n_kz=LEVEL_SLICES).levels


def _half_suffix(half: tuple[float, float]) -> str:
    """Column suffix of a half in units of pi, e.g. ``"_0_pi"``, ``"_pi_2pi"``."""
    def name(x: float) -> str:
        r = round(x / np.pi, 3)
        return "0" if r == 0 else "pi" if r == 1 else f"{r:g}pi"

    return f"_{name(half[0])}_{name(half[1])}"


def half_cone(model, half: tuple[float, float]) -> WeylCone:
    """The continuum cone (:func:`semiclassics.landau.weyl_cone`) of the one Weyl node inside the slab ``half``."""
    (node,) = nodes_in_slab(model, _nodes(model), half)
    return weyl_cone(model, node)


def node_regime(
    model, field: UniformB, mu: float, half: tuple[float, float], suffix: str = ""
) -> dict[str, float | int]:
    """Landau levels at mu of the node of ``half``: exact count, continuum count, continuum eps_1 / |mu - eps_K|.

    ``landau_levels_at_mu``: levels crossing mu in the half, counted on the exact
    supercell spectrum (:func:`keldysh.layered.level_crossings`: the chiral level once,
    every massive level whose extremum lies beyond mu twice); ``landau_levels_formula``:
    the count of the node's continuum cone (:func:`semiclassics.landau.levels_crossing`);
    ``first_level_over_mu``: eps_1 / |mu - eps_K| of that cone
    (:func:`semiclassics.landau.first_level`; > 1 in the continuum quantum limit). Keys carry ``suffix``.
    """
    cone, beta = half_cone(model, half), magnetic_strength(model, field)
    return {
        f"landau_levels_at_mu{suffix}": _exact_levels(model, float(field.flux), float(mu), tuple(map(float, half))),
        f"landau_levels_formula{suffix}": levels_crossing(cone, beta, mu),
        f"first_level_over_mu{suffix}": first_level(cone, beta) / abs(mu - cone.energy),
    }


def regime_label(levels: Iterable[int]) -> str:
    """"quantum limit" when only the chiral level crosses mu at every node, "semiclassical" when massive levels
    cross too at every node, "mixed" otherwise (Landau levels at mu per node, as counted by :func:`node_regime`)."""
    levels = list(levels)
    if all(n == 1 for n in levels):
        return "quantum limit"
    return "semiclassical" if all(n > 1 for n in levels) else "mixed"


def regime_annotations(model, field: UniformB) -> dict[str, float | int | str]:
    """Per-point regime of ``density_quantum_limit[weyl]`` (module docstring): the node of :data:`QL_HALF`.

    The columns of :func:`node_regime`, ``regime`` (:func:`regime_label`) and ``field_term``:
    the O(beta) part of the prediction, beta n1.
    """
    notes = node_regime(model, field, QL_MU, QL_HALF)
    return {
        **notes,
        "regime": regime_label([notes["landau_levels_at_mu"]]),
        "field_term": magnetic_strength(model, field) * _expansion(model, *QL_GRID).n1,
    }


def anomaly_annotations(
    model, field: UniformB, *, experiment: AnomalyExperiment = ANOMALY
) -> dict[str, float | int | str]:
    """Per-point regime of an anomaly comparison: both nodes, and how insulating the swept strips stay.

    ``regime`` (:func:`regime_label` over both halves), the columns of :func:`node_regime`
    for each half (suffixes ``_0_pi``, ``_pi_2pi``), and ``strip_gap_over_T``: the distance
    from mu to the nearest Landau level over the strips of canonical k_z that cross the
    planes by the read-out time (:func:`keldysh.layered.level_gap`) over T, the exponent of
    the thermal occupation by which those slices depart from Streda's counting (the exact
    pumping is (qE t / 2 pi) [n(0) - n(pi)] while it is large).
    """
    e = experiment
    nodes: dict[str, float | int] = {}
    for half in HALVES:
        nodes.update(node_regime(model, field, e.mu, half, _half_suffix(half)))
    levels = [nodes[f"landau_levels_at_mu{_half_suffix(half)}"] for half in HALVES]
    gap = min(level_gap(model, field, e.mu, strip, n_kz=STRIP_SLICES) for strip in e.strips)
    return {"regime": regime_label(levels), **nodes, "strip_gap_over_T": gap / e.T}


def shift_annotations(model, field: ElectricField) -> dict[str, float | int | str]:
    """Kinetic shift qE t of the E-swept anomaly (absolute, in units of :data:`POCKET_DISTANCE`) and its regime."""
    s = field.strength * E_PUMP_TIME
    regime = anomaly_annotations(model, UniformB(ANOMALY_FLUX), experiment=_swept_in_E(field))
    return {"kinetic_shift": s, "shift_over_pocket_distance": s / POCKET_DISTANCE, **regime}


# --- registration ------------------------------------------------------------------

_COMMON = dict(model=MODEL, model_label=MODEL_LABEL, sweep=SWEEP, units="particles / (time a^2)", exact_tol=1e-10)
#: What every chiral-anomaly comparison shares: Eq. 33, the pumping rate into the half 0 < kz < pi.
_ANOMALY = dict(
    equation="Eq. 33", points="integral over the half 0 < kz < pi (rate of one node)", units="particles / (time a^3)"
)

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
                "half over (2 pi)^" + ("2" if form == "printed" else "3") + ". Columns: the Landau levels crossing mu "
                "at each node (regime, landau_levels_*; the semiclassical regime is chiral_anomaly_regimes[weyl])"
                + (
                    "."
                    if form == "printed"
                    else " and strip_gap_over_T: the exact pumping equals Eq. 33 up to the thermal occupation "
                    "exp(-gap/T) across the gap between mu and the nearest Landau level of the swept strips behind "
                    "the planes."
                )
            ),
            exact=exact_pumping_rate,
            prediction=functools.partial(predicted_pumping_rate, form=form),
            prediction_coarse=functools.partial(predicted_pumping_rate, form=form, grid=COARSE_GRID),
            prediction_kind=form,
            counterpart=f"chiral_anomaly{other_suffix}[weyl]",
            difference=(
                "the momentum measure: printed dp/(2 pi hbar)^(d-1), corrected dp/(2 pi hbar)^d as in Eqs. 17, "
                "31 and 34; the printed one is 2 pi times the exact pumping rate."
            ),
            annotate=anomaly_annotations,
            model=MODEL,
            model_label=MODEL_LABEL,
            sweep=ANOMALY_SWEEP,
            exact_tol=1e-10,
            **_ANOMALY,
        )
    yield Comparison(
        name="chiral_anomaly_E[weyl]",
        description=(
            "Chiral anomaly swept in E at flux 1/16 (mu = 0): particles pumped into the half 0 < kz < pi by t = 1 "
            "after qE is switched on, exact evolution of every sector, against Eq. 33 (corrected measure), linear "
            "in E. The exact number depends on the kinetic shift s = qE t only: (1/2 pi) times the equilibrium slice "
            "densities integrated over the strips of width s behind the planes. It equals Eq. 33 up to the thermal "
            "occupation exp(-gap/T) of those strips (column strip_gap_over_T), which grows as the strips approach "
            "the Fermi pockets of the other half (column shift_over_pocket_distance): there the residual grows "
            "exponentially in s, and a fitted 'order' measures that onset, not a power of E."
        ),
        exact=exact_pumping_rate_in_E,
        prediction=predicted_pumping_rate_in_E,
        prediction_coarse=functools.partial(predicted_pumping_rate_in_E, grid=COARSE_GRID),
        annotate=shift_annotations,
        prediction_kind="corrected",
        model=MODEL,
        model_label=MODEL_LABEL + ", flux 1/16, read at t = 1",
        sweep=ANOMALY_E_SWEEP,
        exact_tol=1e-10,
        **_ANOMALY,
    )
    yield Comparison(
        name="chiral_anomaly_regimes[weyl]",
        description=(
            "Chiral anomaly from the quantum limit into the semiclassical regime: nodes at +-0.8, mu = 0.15, T = 0.02, "
            "qE = 0.2 switched on at t = 0, particles pumped into the half 0 < kz < pi by t = 0.5 (kinetic shift 0.1), "
            "exact evolution of every sector, against Eq. 33 (corrected measure). The Landau levels crossing mu, "
            "counted on the exact spectrum of each half, and the gap of the swept strips are per-point columns. The "
            "exact pumping equals Eq. 33 in both regimes, and both equal the universal -qE beta / (4 pi^2): the "
            "anomaly is topological, not a property of the levels at mu."
        ),
        exact=functools.partial(exact_pumping_rate, experiment=ANOMALY_REGIMES),
        prediction=functools.partial(predicted_pumping_rate, experiment=ANOMALY_REGIMES),
        prediction_coarse=functools.partial(predicted_pumping_rate, grid=COARSE_GRID, experiment=ANOMALY_REGIMES),
        annotate=functools.partial(anomaly_annotations, experiment=ANOMALY_REGIMES),
        prediction_kind="corrected",
        model=QL_MODEL,
        model_label="weyl(m=1, k0=pi/2, tilt=0.2, offset=0.8), mu=0.15, T=0.02, qE=0.2 read at t=0.5",
        sweep=REGIMES_SWEEP,
        exact_tol=1e-14,
        **_ANOMALY,
    )
    yield Comparison(
        name="density_quantum_limit[weyl]",
        description=(
            "Quantum limit against the semiclassical regime: particles in the half pi < kz < 2 pi around the node "
            "at kz = -pi/2, 0.8 below mu = 0 (T = 0.1), exact per-kz supercells against Eq. 17 to first order in "
            "beta on the same slab (Streda term -beta Omega^z f and orbital-moment shift -beta m f'; unexpanded, "
            "beta m diverges at the node). The sweep runs from the quantum limit (only the chiral Landau level "
            "crosses mu, counted on the exact spectrum) into the semiclassical regime; the fit uses both. Columns: "
            "the regime and field_term, the O(beta) part of the prediction."
        ),
        exact=exact_node_density,
        prediction=predicted_node_density,
        prediction_coarse=functools.partial(predicted_node_density, quadrature=QL_COARSE),
        annotate=regime_annotations,
        equation="Eq. 17",
        points="integral over the half pi < kz < 2 pi",
        model=QL_MODEL,
        model_label=QL_MODEL_LABEL,
        sweep=QL_SWEEP,
        units="particles / a^3",
        exact_tol=1e-10,
    )


register(_comparisons)
