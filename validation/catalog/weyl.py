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
  points sit at the error floor at every field (flux 1/8 .. 1/25). Every point
  is in the quantum limit at both nodes (:func:`anomaly_annotations`: only the
  chiral level crosses mu on either half, eps_1 / |mu - eps_K| = 6.1 .. 3.4).
  What residual there is (1.2e-9 .. 4e-13 relative) is the thermal occupation
  across the gap between mu and the nearest Landau level of the swept strips:
  0.67 .. 0.69 exp(-gap/T) at every point (gap/T = 20.2 .. 28.2, column
  ``strip_gap_over_T``; the pi plane's zeroth level approaches mu as beta grows).
- ``chiral_anomaly_E[weyl]``: the same experiment at flux 1/16, read at t = 1,
  swept in qE = 0.05 .. 1.1 (:data:`ANOMALY_E_SWEEP`): Eq. 33 is linear in E,
  the exact pumped number is (1/2 pi) [int_{-s}^0 n(kz) - int_{pi-s}^pi n(kz)] dkz
  of the equilibrium slice densities at the kinetic shift s = qE t. Linear (at
  the error floor) while s stays off the Fermi pockets of the other half (zero-field
  distance from the planes pi/2 - 0.2 = 1.37): relative residual <= 1e-10 up to
  s = 0.5, at the floor up to 0.8; the deviation then sets in with the thermal
  tail of the pockets, exponentially in s (x23 .. x37 per 0.1), not as a power of E.
  Quantum limit at every point (flux 1/16); the relative residual stays below
  exp(-gap/T) of the strips, whose gap/T falls from 26.8 (s = 0.05) to 3.2 (s = 1.1).
- ``chiral_anomaly_regimes[weyl]``: the anomaly from the quantum limit into the
  semiclassical regime (:data:`ANOMALY_REGIMES` on :data:`QL_MODEL`, nodes at
  +-0.8, mu = 0.15, T = 0.02, qE = 0.2 read at t = 0.5; flux 1/8 .. 1/48,
  :data:`REGIMES_SWEEP`). Landau levels at mu on the exact spectrum (0 < kz < pi |
  pi < kz < 2 pi): 1|1 at flux 1/8 .. 1/12 (quantum limit), 2|1 at 1/16 (mixed),
  2|2, 2|2, 2|3, 2|3, 3|4 at 1/20 .. 1/48 (semiclassical). The planes stay
  insulating: Streda's n(0) = 1, n(pi) = 1 + flux (C_0 = 0, C_pi = -1) hold to
  2e-14 on the strips, whose gap to mu is >= 29.7 T. Verdict: the exact pumping
  equals Eq. 33 in both regimes, at the rounding level (|residual| <= 7e-17,
  relative 9e-15 .. 5e-14, the same in both regimes, no trend with the field), and
  both equal the universal -qE beta / (4 pi^2) of the node of chirality -1: the
  anomaly is topological (the pumped number counts the flux through the insulating
  planes), not a property of the Landau levels at mu.

Quantum limit against the semiclassical regime, ``density_quantum_limit[weyl]``
(:data:`QL_MODEL`: node offset 0.8, mu = 0, T = 0.1). The half pi < kz < 2 pi
holds the node at kz = -pi/2 (chirality +1), 0.8 below mu: an electron pocket.
Exact particles in the half, int dkz/(2 pi) Tr n_F(H(kz) - mu) / area
(:func:`keldysh.layered.slab_density`), against Eq. 17 to first order in beta
on the same slab (:func:`semiclassics.chiral.density_expansion`), flux 1/8 ..
1/64 (:data:`QL_SWEEP`). Each point carries its regime
(:func:`regime_annotations`, :func:`node_regime`): the Landau levels crossing mu counted on the exact
spectrum of the half (:func:`keldysh.layered.level_crossings`: the chiral level
crosses once, every massive level whose extremum lies beyond mu twice), the
count of the continuum formula eps_n = sqrt(2 n v^2 |beta|) (1 - t^2)^(3/4) for a
cone of in-plane velocity v and tilt t (in units of v) perpendicular to B
(:func:`landau_levels_formula`), the label "quantum limit" (only the chiral level
crosses mu) or "semiclassical", the continuum eps_1 / |mu - eps_K| (> 1 in the
quantum limit) and the O(beta) term of the prediction. On this half the exact
count follows the formula to within one flux step; on the other half (or with B
reversed) the lattice shifts the massive levels' extremum in k_z by ~ beta/2 and
lifts it by up to ~0.5 at flux 1/8, so that the n = 1 level still crosses mu there.
Measured on the exact spectrum of :data:`QL_MODEL` (flux 1/8 .. 1/64, the value of mu
at which the count changes), the extremum of the first massive level sits 0.55 .. 0.60
beta above the continuum value at the hole pocket (0 < kz < pi), the second 0.66 ..
0.72 beta; at the electron pocket 0.27 .. 0.40 beta and 0.0 .. 0.28 beta (the Wilson
mass m (2 - cos kx - cos ky) shifts the levels by m beta / 2, the curvature of the
bands adds O(beta^2)). Every massive level is lifted by 0 .. 0.72 beta, so the exact
count lies between the continuum counts at mu and at mu - 0.75 beta
(:data:`LATTICE_LIFT`), and equals the continuum count where those two coincide.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from keldysh import models
from keldysh.fields import UniformB, UniformE
from keldysh.layered import level_crossings, level_gap, node_resolved, pumped_particles, slab_density
from semiclassics.chiral import (
    WeylNode,
    anomaly_rate,
    cme_coefficient,
    density_expansion,
    fermi_surface_flux,
    slice_terms,
    weyl_nodes,
)

from ..comparison import Comparison
from ..registry import register
from ..sweep import ElectricField, Sweep
from .common import PAULI

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
    "first_level_over_mu",
    "landau_levels_formula",
    "LATTICE_LIFT",
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
#: Flux per xy cell 1/8 .. 1/32: supercells of 8 .. 32 cells keep the whole set to a few seconds, and
#: every value is exact to the 12 significant digits with which the sweep engine groups fluxes
#: (the supercell needs an exactly rational flux).
SWEEP = Sweep("flux", (1 / 8, 1 / 10, 1 / 16, 1 / 20, 1 / 25, 1 / 32))
GRID, COARSE_GRID = 96, 64
#: Chiral anomaly: force qE_z (sudden switch at t = 0) and the time at which the pumped number is read;
#: the kinetic shift qE t = 0.1 stays far from the Fermi pockets (distance ~1.3 from either plane).
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
#: the half (pi, 2 pi) holds the node at kz = -pi/2, 0.8 below mu (an electron pocket). The planes kz = 0, pi
#: stay insulators: the level nearest mu is the pi plane's zeroth Landau level, at -0.53 at flux 1/8 and -0.77
#: at 1/64 (the slab pi < kz < pi + 0.5 departs from Streda counting by 2e-5 at flux 1/8, 0.2% of the residual).
QL_MODEL = functools.partial(models.weyl, 1.0, np.pi / 2, tilt=0.2, offset=0.8)
QL_MODEL_LABEL = "weyl(m=1, k0=pi/2, tilt=0.2, offset=0.8), mu=0, T=0.1, half pi < kz < 2 pi"
QL_MU, QL_T = 0.0, 0.1
QL_HALF = HALVES[1]
#: Flux 1/8 .. 1/20: only the chiral level crosses mu (quantum limit, exact count); 1/24 .. 1/64: 2 .. 4 levels.
QL_SWEEP = Sweep("flux", (1 / 8, 1 / 10, 1 / 12, 1 / 16, 1 / 20, 1 / 24, 1 / 32, 1 / 48, 1 / 64))
#: Slices of the half on which the exact Landau levels crossing mu are counted, and of each strip behind a
#: boundary plane on which the gap to mu is measured (:func:`keldysh.layered.level_gap`).
LEVEL_SLICES, STRIP_SLICES = 256, 64
#: Upper bound, in units of beta, of the measured lift of the massive Landau levels of :data:`QL_MODEL` above
#: their continuum energies eps_K +- sqrt(n) eps_1 (n = 1, 2; module docstring).
LATTICE_LIFT = 0.75
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
#: mu = 0.15 puts both nodes in the quantum limit at flux 1/8 .. 1/12 (the lattice lifts the massive levels of
#: the hole pocket on 0 < kz < pi towards mu by ~ beta/2, so mu = 0 would leave one there at every field);
#: T = 0.02 keeps the thermal occupation across the plane gaps (>= 0.6 from mu in the strips) at ~1e-14;
#: qE = 0.2 read at t = 0.5 (kinetic shift 0.1, 0.8 from the Fermi pockets) keeps the propagation cheap.
ANOMALY_REGIMES = AnomalyExperiment(0.15, 0.02, 0.2, 0.5)
#: Flux 1/8 .. 1/48: quantum limit on both halves at 1/8 .. 1/12, mixed at 1/16, chiral + 1 .. 3 massive
#: levels on both halves at 1/20 .. 1/48 (supercells of 96 orbitals at 1/48: ~2.5 CPU s, the whole sweep ~7).
REGIMES_SWEEP = Sweep("flux", (1 / 8, 1 / 10, 1 / 12, 1 / 16, 1 / 20, 1 / 24, 1 / 32, 1 / 40, 1 / 48))


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


def predicted_pumping_rate(
    model, field, *, form: str = "corrected", grid: int = GRID, experiment: AnomalyExperiment = ANOMALY
) -> np.ndarray:
    """Eq. 33 on ``experiment.half``: -qE beta sum_n Phi_n / (2 pi)^3 (corrected measure) or / (2 pi)^2 (printed).

    Phi_n: Berry flux through the Fermi surface of the half at (mu, T) of the experiment. Shape ().
    """
    e = experiment
    flux = fermi_surface_flux(model, e.mu, e.T, _nodes(model), e.half, grid)
    return np.asarray(anomaly_rate(flux, e.qE, _beta(model, field), form=form))


def predicted_pumping_rate_in_E(model, field: ElectricField, *, grid: int = GRID) -> np.ndarray:
    """Eq. 33 (corrected measure) at flux :data:`ANOMALY_FLUX` and |qE| = field.strength: linear in E, shape ()."""
    return predicted_pumping_rate(model, UniformB(ANOMALY_FLUX), grid=grid, experiment=_swept_in_E(field))


@functools.lru_cache(maxsize=4)
def _expansion(model, grid: int, n_kz: int):
    """Eq. 17 to first order in beta on the half (per process: independent of the field)."""
    return density_expansion(model, QL_MU, QL_T, QL_HALF, _nodes(model), grid, n_kz)


def predicted_node_density(model, field, *, quadrature: tuple[int, int] = QL_GRID) -> np.ndarray:
    """Eq. 17 to first order in beta on the half :data:`QL_HALF`: n0 + beta n1, shape ()."""
    return np.asarray(_expansion(model, *quadrature).density(_beta(model, field)))


# --- regimes -----------------------------------------------------------------------


def _cone(model, node: WeylNode) -> tuple[float, float]:
    """(v, t) of the cone at a node: in-plane velocity sqrt|det J_xy| (J_ij = d d_j / d k_i), tilt |w_xy| / v."""
    J = 0.5 * np.einsum("jab,iba->ij", PAULI, model.bloch_derivative(node.k)).real
    v = float(np.sqrt(abs(np.linalg.det(J[:2, :2]))))
    return v, float(np.linalg.norm(node.velocity[:2]) / v)


def first_level_over_mu(model, field: UniformB, mu: float, node: WeylNode) -> float:
    """Continuum eps_1 / |mu - eps_K|, eps_1 = sqrt(2 v^2 |beta|) (1 - t^2)^(3/4): > 1 in the quantum limit.

    Landau levels of a cone of in-plane velocity v and tilt t (in units of v)
    perpendicular to B along z: eps_K +- sqrt(2 n v^2 |beta|) (1 - t^2)^(3/4), n >= 1
    at the node's k_z, plus the chiral level.
    """
    v, t = _cone(model, node)
    if t >= 1:
        raise ValueError(f"a type-II cone (tilt {t:.3g} >= 1) has no Landau levels in a field along z")
    return float(np.sqrt(2 * v**2 * abs(_beta(model, field))) * (1 - t**2) ** 0.75 / abs(mu - node.energy))


def landau_levels_formula(model, field: UniformB, mu: float, node: WeylNode) -> int:
    """Continuum count of the Landau levels crossing mu: 1 + #{n >= 1 : sqrt(n) eps_1 < |mu - eps_K|}."""
    return 1 + int(np.floor(first_level_over_mu(model, field, mu, node) ** -2 * (1 - 1e-12)))


@functools.lru_cache(maxsize=64)
def _exact_levels(model, flux: float, mu: float, half: tuple[float, float]) -> int:
    """Landau levels crossing mu in the half, counted on the exact spectrum (cached per process)."""
    return level_crossings(model, UniformB(flux), mu, half, n_kz=LEVEL_SLICES).levels


def _half_node(model, half: tuple[float, float]) -> WeylNode:
    """The Weyl node inside the slab ``half`` (exactly one)."""
    (node,) = [n for n in _nodes(model) if half[0] < half[0] + (n.k[2] - half[0]) % (2 * np.pi) < half[1]]
    return node


def _half_suffix(half: tuple[float, float]) -> str:
    """Column suffix of a half in units of pi, e.g. ``"_0_pi"``, ``"_pi_2pi"``."""
    def name(x: float) -> str:
        r = round(x / np.pi, 3)
        return "0" if r == 0 else "pi" if r == 1 else f"{r:g}pi"

    return f"_{name(half[0])}_{name(half[1])}"


def node_regime(
    model, field: UniformB, mu: float, half: tuple[float, float], suffix: str = ""
) -> dict[str, float | int]:
    """Landau levels at mu of the node of ``half``: exact count, continuum count, continuum eps_1 / |mu - eps_K|.

    ``landau_levels_at_mu``: levels crossing mu in the half, counted on the exact
    supercell spectrum (:func:`keldysh.layered.level_crossings`: the chiral level once,
    every massive level whose extremum lies beyond mu twice); ``landau_levels_formula``:
    its continuum counterpart (:func:`landau_levels_formula`); ``first_level_over_mu``
    (:func:`first_level_over_mu`, > 1 in the continuum quantum limit). Keys carry ``suffix``.
    """
    node = _half_node(model, half)
    return {
        f"landau_levels_at_mu{suffix}": _exact_levels(model, float(field.flux), float(mu), tuple(map(float, half))),
        f"landau_levels_formula{suffix}": landau_levels_formula(model, field, mu, node),
        f"first_level_over_mu{suffix}": first_level_over_mu(model, field, mu, node),
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
        "field_term": _beta(model, field) * _expansion(model, *QL_GRID).n1,
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
                "half over (2 pi)^" + ("2" if form == "printed" else "3") + ". Every point is in the quantum limit "
                "(only the chiral Landau level crosses mu, at both nodes: eps_1 / |mu - eps_K| = 6.1 .. 3.4; columns "
                "regime, landau_levels_*); the semiclassical regime is chiral_anomaly_regimes[weyl]."
                + (
                    ""
                    if form == "printed"
                    else " The residual (1.2e-9 .. 4e-13 relative) is the thermal occupation across the gap between "
                    "mu and the nearest Landau level of the swept strips behind the planes: 0.67 .. 0.69 exp(-gap/T) "
                    "at every point (column strip_gap_over_T = 20.2 .. 28.2)."
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
            "densities integrated over the strips of width s behind the planes. Linear to 1e-10 relative up to "
            "s = 0.5 and at the error floor (5e-8 relative) up to s = 0.8; then the strips reach the thermal tail "
            "of the Fermi pockets (zero-field distance 1.37 from the planes) and the residual grows exponentially "
            "in s, x23, x30, x37 per 0.1 of shift (exp(v s / T) with T = 0.025, v ~ 0.85), 1e-3 relative at "
            "s = 1.1. The fitted 'order' of these last three points measures that onset, not a power of E. Quantum "
            "limit at every point; the relative residual stays below exp(-gap/T), gap the distance from mu to the "
            "nearest Landau level of the swept strips (column strip_gap_over_T: 26.8 at s = 0.05 .. 3.2 at s = 1.1)."
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
            "exact evolution of every sector, against Eq. 33 (corrected measure). Landau levels at mu on the exact "
            "spectrum (0 < kz < pi | pi < kz < 2 pi): 1|1 at flux 1/8 .. 1/12 (quantum limit), 2|1 at 1/16 (mixed), "
            "2|2 .. 3|4 at 1/20 .. 1/48 (semiclassical); see the per-point columns. The planes stay insulating (gap to "
            "mu >= 29.7 T on the swept strips, Streda counting to 2e-14). The exact pumping equals Eq. 33 in both "
            "regimes at the rounding level (relative 9e-15 .. 5e-14, no trend with the field), and both equal the "
            "universal -qE beta / (4 pi^2): the anomaly is topological, not a property of the levels at mu."
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
            "beta m diverges at the node). Only the chiral Landau level crosses mu at flux 1/8 .. 1/20 (quantum "
            "limit, counted on the exact spectrum), 2 .. 4 levels at 1/24 .. 1/64 (see the per-point columns). "
            "The fit uses both regimes. Semiclassical points: residual 0.0141 beta^2 (+-1%; order 2.01 fitted on "
            "them alone), 0.15 .. 0.06 of the O(beta) term (column field_term), falling like beta. Quantum-limit "
            "points: 0.0147 .. 0.0187 beta^2, not monotonic in the field (local slopes 1.6 .. 2.6), 0.19 .. 0.55 of "
            "the O(beta) term; they raise the fitted order from 2.01 to 2.14."
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
