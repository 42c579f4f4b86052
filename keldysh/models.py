"""Reference tight-binding models (hbar = a = 1, energies in units of the hopping).

Every factory returns a :class:`keldysh.lattice.TightBinding`; each docstring
gives h(k) in the convention ``h(k) = sum_R T_R exp(i k.(R + tau_b - tau_a))``.
"""

from __future__ import annotations

import itertools

import numpy as np

from .lattice import TightBinding

__all__ = ["qwz", "haldane", "dirac_lattice", "weyl", "three_band", "spin_one_matrices"]

S0 = np.eye(2, dtype=complex)
SX = np.array([[0, 1], [1, 0]], dtype=complex)
SY = np.array([[0, -1j], [1j, 0]], dtype=complex)
SZ = np.array([[1, 0], [0, -1]], dtype=complex)


def _cos_sin_hoppings(onsite, cos_terms, sin_terms, dim):
    """Hoppings for h(k) = onsite + sum_i cos(k_i) C_i + sum_i sin(k_i) S_i (nearest neighbours).

    cos k = (e^{ik} + e^{-ik})/2 and sin k = (e^{ik} - e^{-ik})/(2i), so the
    hopping along +e_i is T = C_i/2 - i S_i/2 (its partner T^dagger is completed).
    """
    hop = {(0,) * dim: np.asarray(onsite, dtype=complex)}
    for i in range(dim):
        R = tuple(1 if j == i else 0 for j in range(dim))
        hop[R] = 0.5 * np.asarray(cos_terms[i], dtype=complex) - 0.5j * np.asarray(sin_terms[i], dtype=complex)
    return hop


def qwz(m: float, t0: float = 0.0) -> TightBinding:
    """Qi-Wu-Zhang model on the square lattice.

    h(k) = sin kx sx + sin ky sy + (m + cos kx + cos ky) sz + t0 (cos kx + cos ky) s0.

    Gapped for m not in {-2, 0, 2}; Chern number of the lower band is
    -1 for 0 < m < 2, +1 for -2 < m < 0, 0 for |m| > 2 (Berry connection
    A = i<u|grad u>, Omega = dA_y/dk_x - dA_x/dk_y). A nonzero t0 breaks
    particle-hole symmetry; the gap stays open while |t0| is small enough.
    """
    return TightBinding(
        _cos_sin_hoppings(m * SZ, [SZ + t0 * S0, SZ + t0 * S0], [SX, SY], 2)
    )


def dirac_lattice(v: float = 1.0, delta: float = 0.2, r: float = 1.0) -> TightBinding:
    """Lattice-regularized massive Dirac model (one Dirac point at k = 0).

    h(k) = v sin kx sx + v sin ky sy + (delta + r (2 - cos kx - cos ky)) sz.

    Near k = 0 it reduces to Eq. 37, h = v p.sigma + delta sz; the Wilson mass
    r > 0 gaps the doublers at (pi,0), (0,pi), (pi,pi) by at least 2r + delta.
    """
    return TightBinding(
        _cos_sin_hoppings((delta + 2 * r) * SZ, [-r * SZ, -r * SZ], [v * SX, v * SY], 2)
    )


def weyl(m: float = 1.0, k0: float = np.pi / 2, tilt: float = 0.0, offset: float = 0.0) -> TightBinding:
    """Cubic-lattice Weyl semimetal with two nodes at k = (0, 0, +-k0).

    h(k) = sin kx sx + sin ky sy + (cos kz - cos k0 + m (2 - cos kx - cos ky)) sz
           + (tilt sin kx + offset sin kz / sin k0) s0.

    ``tilt`` tilts both cones along x; ``offset`` puts the node at +k0 at energy
    +offset and the node at -k0 at -offset (for k0 = pi/2 without tilting them
    along z). Only two nodes exist for m > (1 + |cos k0|)/2.
    """
    if not 0 < k0 < np.pi:
        raise ValueError(f"k0 must lie in (0, pi), got {k0}")
    onsite = (2 * m - np.cos(k0)) * SZ
    cos_terms = [-m * SZ, -m * SZ, SZ]
    sin_terms = [SX + tilt * S0, SY, offset / np.sin(k0) * S0]
    return TightBinding(_cos_sin_hoppings(onsite, cos_terms, sin_terms, 3))


def spin_one_matrices() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spin-1 matrices (Sx, Sy, Sz) in the basis m = +1, 0, -1."""
    s = 1 / np.sqrt(2)
    sx = np.array([[0, s, 0], [s, 0, s], [0, s, 0]], dtype=complex)
    sy = np.array([[0, -1j * s, 0], [1j * s, 0, -1j * s], [0, 1j * s, 0]], dtype=complex)
    sz = np.diag([1.0, 0.0, -1.0]).astype(complex)
    return sx, sy, sz


def three_band(m: float = 1.0, lam: float = 0.3, t0: float = 0.0) -> TightBinding:
    """Three-band (N = 3) spin-1 Qi-Wu-Zhang model with three isolated bands.

    h(k) = sin kx Sx + sin ky Sy + (m + cos kx + cos ky) Sz
           + lam (Sz^2 - 2/3) + t0 (cos kx + cos ky) 1,

    with S the spin-1 matrices. At lam = 0 the bands are -|d|, 0, +|d| with
    d = (sin kx, sin ky, m + cos kx + cos ky); a small lam keeps the three bands
    separated by global gaps (for the defaults the two gaps are 0.70 and 0.86)
    while breaking the particle-hole symmetry, so the interband curvatures
    Omega_m^n (n != m) are all nonzero and distinct.
    """
    sx, sy, sz = spin_one_matrices()
    eye = np.eye(3, dtype=complex)
    onsite = m * sz + lam * (sz @ sz - 2.0 / 3.0 * eye)
    return TightBinding(_cos_sin_hoppings(onsite, [sz + t0 * eye, sz + t0 * eye], [sx, sy], 2))


def haldane(t1: float = 1.0, t2: float = 0.15, phi: float = np.pi / 2, M: float = 0.0) -> TightBinding:
    """Haldane model on the honeycomb lattice with the real orbital positions.

    Lattice vectors a1 = (1, 0), a2 = (1/2, sqrt(3)/2) (second-neighbour distance 1,
    cell area sqrt(3)/2); orbital A at (1/3, 1/3), B at (2/3, 2/3) in fractional
    coordinates (nearest-neighbour distance 1/sqrt(3)).

    H = t1 sum_<ij> c_i^dag c_j + t2 sum_<<ij>> exp(i nu_ij phi) c_i^dag c_j
        + M sum_i xi_i c_i^dag c_i,

    xi = +1 on A and -1 on B; nu_ij = sign[(d1 x d2)_z] for the path i -> k -> j
    through the common nearest neighbour k (d1 = r_k - r_i, d2 = r_j - r_k).
    The bands are gapped unless |M| = 3 sqrt(3) |t2 sin phi|; inside that bound
    the lower band carries Chern number +-1 (sign of sin phi), outside 0.
    """
    a = np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    tau_frac = np.array([[1 / 3, 1 / 3], [2 / 3, 2 / 3]])
    tau = tau_frac @ a
    nn = 1 / np.sqrt(3)
    hop: dict[tuple[int, int], np.ndarray] = {}

    def site(R, o):
        return np.asarray(R) @ a + tau[o]

    cells = list(itertools.product(range(-2, 3), repeat=2))
    for R in cells:
        T = np.zeros((2, 2), dtype=complex)
        for o1, o2 in itertools.product(range(2), repeat=2):
            ri, rj = site((0, 0), o1), site(R, o2)
            dist = np.linalg.norm(rj - ri)
            if abs(dist - nn) < 1e-9:
                T[o1, o2] += t1
            elif abs(dist - 1.0) < 1e-9 and o1 == o2:
                # common nearest neighbour of the other sublattice
                for Rk in cells:
                    rk = site(Rk, 1 - o1)
                    if abs(np.linalg.norm(rk - ri) - nn) < 1e-9 and abs(np.linalg.norm(rj - rk) - nn) < 1e-9:
                        d1, d2 = rk - ri, rj - rk
                        nu = np.sign(d1[0] * d2[1] - d1[1] * d2[0])
                        T[o1, o2] += t2 * np.exp(1j * nu * phi)
                        break
        if R == (0, 0):
            T += np.diag([M, -M])
        if np.any(T != 0):
            hop[R] = T
    return TightBinding(hop, positions=tau_frac, lattice_vectors=a)
