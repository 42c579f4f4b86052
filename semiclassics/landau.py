"""Landau levels of a Weyl cone in a uniform B along z (the continuum limit at a node).

Units and signs (``docs/conventions.md``): hbar = a = 1, beta = q B_z (1/a^2),
energies in the units of the model.

Near a node K of a two-band model h = d_0 + d . sigma (:class:`semiclassics.chiral.WeylNode`),

    h(K + q) = eps_K + w . q + sum_ij q_i J_ij sigma_j + O(q^2),   w = grad d_0,  J_ij = d d_j / d k_i.

This module treats cones whose in-plane and out-of-plane parts separate
(J_xz = J_yz = J_zx = J_zy = 0) and that are not tilted along B (w_z = 0). In
the field the in-plane momenta no longer commute, [q_x, q_y] = +-i beta. The
map p = J_xy^T q turns the in-plane part into an isotropic cone of unit
velocity with tilt vector t = J_xy^-1 w_xy in the field beta det J_xy. So the
cone has

    in-plane velocity   v = sqrt|det J_xy|,      tilt   t = |J_xy^-1 w_xy|   (t < 1: type I),

and, at the node's k_z, the Landau levels of a tilted cone

    eps_K +- sqrt(n) eps_1,   eps_1 = sqrt(2 v^2 |beta|) (1 - t^2)^(3/4),   n = 1, 2, ...,

plus the chiral (n = 0) level, which disperses linearly through eps_K along
k_z. Away from the node's k_z the mass m = J_zz q_z gives

    eps_K +- sqrt(1 - t^2) sqrt(m^2 + n eps_1^2 / (1 - t^2)),

(and the chiral level eps_K +- sqrt(1 - t^2) m), so the extrema of the massive
levels along k_z sit at the node:
in a slab of k_z that holds the node and no other level crossing, the chiral
level crosses an energy mu once and every massive level with
sqrt(n) eps_1 < |mu - eps_K| twice. Only the chiral level crosses mu when
eps_1 > |mu - eps_K| (the quantum limit).

The formula is the leading term at small beta. A lattice adds corrections of
order beta to the level energies, which are small against the level spacing
(of order sqrt(beta)) only at small enough fields; the exact count is
:func:`keldysh.layered.level_crossings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .chiral import PAULI, WeylNode

__all__ = ["WeylCone", "first_level", "landau_level", "levels_crossing", "weyl_cone"]

#: Relative size (against the cone's velocities) of the couplings between the in-plane and out-of-plane parts,
#: and of a tilt along B, below which they count as zero (rounding of the node position).
DECOUPLED = 1e-9


@dataclass(frozen=True)
class WeylCone:
    """The linearized cone at a Weyl node, as it enters its Landau levels (module docstring).

    Attributes
    ----------
    energy
        eps_K (energy units).
    chirality
        chi = sign det J.
    velocity
        In-plane velocity v = sqrt|det J_xy| (energy x a).
    tilt
        In-plane tilt t = |J_xy^-1 w_xy| (dimensionless; < 1 for a type-I cone).
    """

    energy: float
    chirality: int
    velocity: float
    tilt: float


def weyl_cone(model: Any, node: WeylNode) -> WeylCone:
    """The cone of ``model`` at ``node`` (from ``bloch_derivative`` at the node; module docstring).

    Raises
    ------
    ValueError
        For a model that is not two-band 3D, a type-II cone (t >= 1), or a cone whose in-plane and
        out-of-plane parts do not separate or that is tilted along B (not treated here).
    """
    if model.dim != 3 or model.norbs != 2:
        raise ValueError(f"Weyl-cone Landau levels need a 3D two-band model, got dim={model.dim}, N={model.norbs}")
    J = 0.5 * np.einsum("jab,iba->ij", PAULI, model.bloch_derivative(node.k)).real
    w = np.asarray(node.velocity, dtype=float)
    scale = float(np.abs(J).max())
    coupling = max(float(np.abs(J[:2, 2]).max()), float(np.abs(J[2, :2]).max()), abs(float(w[2])))
    if coupling > DECOUPLED * scale:
        raise ValueError(
            f"the cone at k = {np.asarray(node.k).tolist()} couples in-plane and out-of-plane momenta or is tilted along "
            f"B (J = {J.tolist()}, w = {w.tolist()}); its Landau levels are not implemented"
        )
    v = float(np.sqrt(abs(np.linalg.det(J[:2, :2]))))
    t = float(np.linalg.norm(np.linalg.solve(J[:2, :2], w[:2])))
    if t >= 1:
        raise ValueError(f"a type-II cone (tilt {t:.3g} >= 1) has no Landau levels in a field along z")
    return WeylCone(float(node.energy), int(node.chirality), v, t)


def first_level(cone: WeylCone, beta: float) -> float:
    """eps_1 = sqrt(2 v^2 |beta|) (1 - t^2)^(3/4): the first massive level's distance from eps_K (energy units)."""
    return float(np.sqrt(2 * cone.velocity**2 * abs(beta)) * (1 - cone.tilt**2) ** 0.75)


def landau_level(cone: WeylCone, beta: float, n: int) -> float:
    """Energy of the massive level n at the node's k_z: eps_K + sign(n) sqrt(|n|) eps_1 (n = +-1, +-2, ...)."""
    if int(n) != n or n == 0:
        raise ValueError(f"n must be a nonzero integer (the chiral level disperses through eps_K), got {n!r}")
    return cone.energy + float(np.sign(n)) * float(np.sqrt(abs(n))) * first_level(cone, beta)


def levels_crossing(cone: WeylCone, beta: float, energy: float) -> int:
    """Levels of the cone that cross ``energy`` along k_z: 1 (chiral) + #{n >= 1 : sqrt(n) eps_1 < |energy - eps_K|}.

    A level that touches the energy exactly does not count.
    """
    x = (abs(energy - cone.energy) / first_level(cone, beta)) ** 2
    return 1 + max(int(np.ceil(x)) - 1, 0)
