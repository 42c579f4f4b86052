"""Chiral anomaly, exact side: particles pumped between the halves of the k_z zone by E parallel to B."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..dynamics.evolution import propagate
from ..fields import UniformB, UniformE
from ..lattice import TightBinding
from ..spectral import FermiDirac
from .quadrature import _check_tol, clenshaw_curtis, nested_rule
from .slices import LayeredSupercell, _check_layered, _slice_cache

__all__ = ["Pumping", "pumped_particles"]


@dataclass(frozen=True)
class Pumping:
    """Particles pumped into the first half of the k_z zone by E parallel to B (exact time evolution).

    Attributes
    ----------
    shift
        Kinetic displacement s = -q A_z(t) of every sector at time t (s = qE t for a sudden switch).
    pumped
        N_half(t) - N_half(0), particles per unit volume.
    change
        Error estimate of ``pumped``: the last change of the nested strip rule.
    trace_drift
        max over the propagated sectors of |Tr rho_k(t) - Tr rho_k(0)| per unit area (unitarity check).
    propagation_error
        Largest error estimate of the propagator elements (``keldysh.dynamics.evolution``).
    """

    shift: float
    pumped: float
    change: float
    trace_drift: float
    propagation_error: float


def _sector_models(cell: LayeredSupercell) -> list[TightBinding]:
    """One 1D model along z per reduced-mesh point: hoppings {R3: H_R3(k)}, qN orbitals, lattice constant c."""
    size = cell.size
    out = []
    for i in range(len(cell.k)):
        hop = {(int(r),): cell.layers[j, i] for j, r in enumerate(cell.R3)}
        out.append(TightBinding(hop, positions=np.zeros((size, 1)), lattice_vectors=[[cell.c]]))
    return out


def pumped_particles(
    model: TightBinding,
    field: UniformB,
    efield: UniformE,
    mu: float,
    T: float,
    t: float,
    *,
    split: tuple[float, float] = (0.0, math.pi),
    mesh: int = 1,
    tol: float = 1e-10,
    propagation_tol: float = 1e-8,
    n_strip: int = 8,
    max_strip: int = 256,
) -> Pumping:
    """Chiral anomaly, exact side: particles pumped into the half (split[0], split[1]) of the k_z zone.

    The state n_F(H - mu) is prepared before a uniform E along z (``efield``,
    one component: the force qE_z, any ramp) is switched on at t = 0. Every
    (k, kz) sector evolves on its own under H(k; kz - q A_z(t)) (temporal gauge,
    :func:`keldysh.dynamics.evolution.propagate` on the 1D model along z of each point of
    the reduced magnetic zone), so a sector of canonical kz has kinetic
    momentum kz + s, s = -q A_z(t). The half counts the sectors whose kinetic
    momentum lies in it; those that cross a boundary plane by time t are the
    canonical strips (a - s, a) (entering) and (b - s, b) (leaving) for s > 0:

        N(t) - N(0) = (1/2 pi) [int_{a-s}^{a} - int_{b-s}^{b}] dkz Tr rho_kz(t) / area

    (the sectors that stay inside keep their trace: unitarity, which the
    returned ``trace_drift`` checks on the propagated sectors). The strips are
    integrated with nested Clenshaw-Curtis rules. Paper Eq. 33 predicts
    N(t) - N(0) = rate * t for shifts s smaller than the distance from the
    planes to the Fermi pockets.

    Parameters
    ----------
    model, field, mesh
        As in :func:`node_resolved` (B along z at rational flux).
    efield
        :class:`keldysh.fields.UniformE` with one component (qE_z), energy / a.
    mu, T
        The initial equilibrium state.
    t
        Time (1/energy, hbar = 1) at which the pumped number is evaluated.
    split
        Cartesian k_z of the planes bounding the half.
    tol
        Target of the nested strip rule (particles per unit volume).
    propagation_tol
        Error target of the propagators (:func:`keldysh.dynamics.evolution.propagate`).
        The pumped number depends on the evolution only through the traces,
        which every (exactly unitary) Magnus step conserves; the tolerance
        controls the accuracy of the evolved state itself.

    Returns
    -------
    Pumping
    """
    if not isinstance(efield, UniformE) or efield.dim != 1:
        raise ValueError("efield must be a keldysh UniformE with one component (qE along z)")
    _check_tol(tol, max_strip)
    if not t > 0:
        raise ValueError(f"t must be positive, got {t}")
    c = _check_layered(model)
    a, b = float(split[0]), float(split[1])
    if not 0 < b - a < 2 * np.pi / c:
        raise ValueError(f"split planes must satisfy 0 < split[1] - split[0] < 2 pi / c, got {split}")
    s = float(-efield.vector_potential(t)[0])
    if abs(s) >= min(b - a, 2 * np.pi / c - (b - a)):
        raise ValueError(f"kinetic shift {s:.3g} at t={t} crosses a whole half: choose a shorter time")
    cell = _slice_cache(model, field, mesh, "landau_x").cell
    sectors = _sector_models(cell)
    occ = FermiDirac(mu, T)

    done: dict[float, tuple[float, float, float]] = {}

    def traces(kz: np.ndarray) -> tuple[np.ndarray, float, float]:
        """Tr rho_kz(t) per unit area summed over the reduced mesh, worst trace drift, propagator error."""
        new = np.array([z for z in kz if float(z) not in done])
        if len(new):
            done.update(zip(map(float, new), zip(*_evolved_traces(new))))
        vals = np.array([done[float(z)] for z in kz])
        return vals[:, 0], float(vals[:, 1].max()), float(vals[:, 2].max())

    def _evolved_traces(kz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        total, drift, err = np.zeros(len(kz)), np.zeros(len(kz)), np.zeros(len(kz))
        for sector in sectors:
            evo = propagate(sector, efield, kz[:, None], [t], tol=propagation_tol)
            E, U = np.linalg.eigh(sector.bloch(kz[:, None]))
            rho0 = (U * occ(E)[:, None, :]) @ U.conj().swapaxes(-1, -2)
            tr_t = np.trace(evo.density_matrix(rho0)[0], axis1=-2, axis2=-1).real
            tr_0 = occ(E).sum(axis=-1)
            total += tr_t
            drift = np.maximum(drift, np.abs(tr_t - tr_0))
            err = np.maximum(err, evo.error_estimate)
        return total * cell.weight, drift * cell.weight, err

    # strips of canonical kz that crossed the planes: entering at a, leaving at b (orientation by the sign of s)
    strips = ((a - s, a, +1.0), (b - s, b, -1.0))
    checks = {"drift": 0.0, "error": 0.0}  # of the latest rule

    def rule(n: int) -> float:
        x, w = clenshaw_curtis(n)
        value, checks["drift"], checks["error"] = 0.0, 0.0, 0.0
        for lo, hi, sign in strips:
            tr, d, e = traces(0.5 * (lo + hi) + 0.5 * (hi - lo) * x)
            value += sign * 0.5 * (hi - lo) * (w @ tr) / (2 * np.pi)
            checks["drift"], checks["error"] = max(checks["drift"], d), max(checks["error"], e)
        return value

    value, _, change = nested_rule(rule, n_strip, max_strip, tol, "pumped particles")
    return Pumping(s, float(value), float(change), checks["drift"], checks["error"])
