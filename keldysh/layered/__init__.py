"""Layered 3D lattices in a uniform B along z: k_z slices, magnetic supercells per k_z, currents along B.

A 3D model with a3 along z and a1, a2 in the xy plane keeps k_z as a good
quantum number in a field B along z (the vector potential of every gauge of
:mod:`keldysh.fields` lies in the plane and depends on x, y only). At fixed k_z
the model is the 2D tight-binding model (the *slice*)

    h_kz(kx, ky) = h(kx, ky, kz),
    T^{kz}_{(R1, R2)}[a, b] = sum_{R3} T_{(R1, R2, R3)}[a, b] exp(i kz (R3 c + tau_b^z - tau_a^z)),

(c = |a3|, tau^z the z coordinate of the orbitals), and the Peierls phase of a
3D hop equals the 2D Peierls phase of its projection on the plane, so the
exact Hamiltonian is the direct sum over k_z of the magnetic supercell
Hamiltonians H(k; kz) of the slices (:func:`keldysh.static.supercell.magnetic_bloch`).
The velocity along B is d H / d kz, the supercell Hamiltonian of the slice
d h_kz / d kz (it carries the same Peierls phases: no extra phase appears
because A has no z component).

Reduced magnetic zone
---------------------
At flux p/q the magnetic translation by one cell along the supercell axis
maps H(k) to a unitarily equivalent H(k + (p/q) b_o) (b_o the reciprocal
vector of the other in-plane axis); with gcd(p, q) = 1 the spectrum, and the
diagonal of any operator that commutes with the magnetic translations (here
d H / d kz), are periodic in k with period b_s / q and b_o / q. An n x n mesh
of that reduced cell is therefore a torus of (n q) x (n q) cells: one k-point
already samples a q x q torus. Its error is the aliasing of f(H) by periodic
images at distance n q (exponentially small in n q / xi, xi the range of
f(H): the magnetic length or v / (pi T), whichever is larger).

Observables (hbar = 1, q folded into the fields, per unit volume)
-----------------------------------------------------------------
For a stationary state rho = direct sum over k_z of f_kz(H(kz)) (f may depend
on k_z, e.g. different chemical potentials on the two halves of the k_z zone):

- particles per unit area of the slice, n(kz) = Tr f(H) / (area);
- particle current along z per unit area of the slice,
  j(kz) = Tr[f(H) dH/dkz] / (area); multiply by q for the charge current;
- volume densities: N = int dkz/(2 pi) n(kz), J = int dkz/(2 pi) j(kz).

For an occupation that is the same function of energy at every k_z,
j(kz) = d Omega(kz) / d kz with Omega the grand potential of the slice
(Hellmann-Feynman), so J over the whole zone vanishes exactly on the lattice
(Bloch's theorem: no equilibrium current), for any field and any mesh.

Node-resolved quantities
------------------------
The planes k_z = split[0], split[1] (default 0 and pi/c, for nodes at +-k0)
cut the zone into two halves, one per node. :func:`node_resolved` integrates
n(kz) and j(kz) over each half (nested Clenshaw-Curtis rules; the planes are
nodes of the rule), for one chemical potential or one per half (chiral
imbalance). The half integrals telescope: int_half j = [Omega(b) - Omega(a)]
/ (2 pi), so with insulating planes and both chemical potentials in their gaps
the imbalanced current is 2 mu5 beta (C_b - C_a)/(4 pi^2) by Streda's
counting n = 1 - flux C, to all orders in the field (tested).

Slab densities and Landau levels
--------------------------------
:func:`slab_density` integrates n(kz) over any slab (a, b) (the charge of a
node's region when no Fermi surface crosses its planes); :func:`level_crossings`
counts the magnetic bands that cross an energy along k_z in a slab (for a Weyl
node: its chiral level once, each massive Landau level whose extremum lies
beyond the energy twice), which tells the quantum limit (only the chiral
level crosses mu) from the semiclassical regime on the exact spectrum;
:func:`level_gap` is the distance from an energy to the nearest band over a slab
(how well the slices of an insulating slab obey Streda's counting at T > 0).

Chiral anomaly
--------------
:func:`pumped_particles` switches on E along z and evolves every (k, kz)
sector exactly (:mod:`keldysh.dynamics.evolution`, the 1D model along z of each point
of the reduced magnetic zone); the particles in a half change only through
the sectors whose kinetic k_z crosses its planes.
"""

from __future__ import annotations

from .equilibrium import NodeResolved, equilibrium_current, node_resolved, slab_density
from .levels import LevelCrossings, level_crossings, level_gap
from .pumping import Pumping, pumped_particles
from .quadrature import KzIntegral, clenshaw_curtis
from .slices import LayeredSupercell, SliceSpectrum, kz_slice, reduced_kmesh, slice_spectrum

__all__ = [
    "kz_slice",
    "reduced_kmesh",
    "SliceSpectrum",
    "LayeredSupercell",
    "slice_spectrum",
    "KzIntegral",
    "clenshaw_curtis",
    "equilibrium_current",
    "NodeResolved",
    "node_resolved",
    "slab_density",
    "LevelCrossings",
    "level_crossings",
    "level_gap",
    "Pumping",
    "pumped_particles",
]
