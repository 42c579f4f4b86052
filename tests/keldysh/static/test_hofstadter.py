"""Hofstadter model (square lattice, t = 1): Chambers' relation and the exact flux-1/2 spectrum.

Magnetic-zone labelling (landau_x gauge, supercell of q sites along x, keldysh.static.supercell):
k = (k_x, k_y) cartesian with k_x in [0, 2 pi / q), k_y in [0, 2 pi). With the orbital at the
cell corner the magnetic Bloch state is sum_r exp(i k.r) |r>, and

    H(k)_{j, j'} = -exp(+-i k_x) for j' = j +- 1 (mod q, across the boundary too; no Peierls
    phase along x),
    H(k)_{jj} = -2 cos(k_y - 2 pi p j / q)

(the phase of the hop (j, 0) -> (j, 1) is phi = Phi j (0 - 1) = -2 pi p j / q).
Chambers: det(E - H(k)) = P_{p/q}(E) + 2 (-1)^(q+1) [cos(q k_x) + cos(q k_y)], i.e. it depends
on k only through cos(q k_x) + cos(q k_y), and only its E^0 coefficient does.
At p/q = 1/2, H(k) = [[-2 cos k_y, -2 cos k_x], [-2 cos k_x, 2 cos k_y]], so
E = +-2 sqrt(cos^2 k_x + cos^2 k_y) at the same k.
"""

import numpy as np
import pytest

from keldysh import UniformB
from keldysh.lattice import TightBinding
from keldysh.static.supercell import magnetic_bloch, magnetic_kmesh, magnetic_spectrum, rational_flux

SQUARE = TightBinding({(1, 0): [[-1.0]], (0, 1): [[-1.0]]})


def char_poly(k, flux):
    """Coefficients of det(E - H(k)), highest power first, shape (..., q + 1)."""
    return np.array([np.poly(h) for h in magnetic_bloch(SQUARE, UniformB(flux), k)])


@pytest.mark.parametrize("flux", [1 / 3, 2 / 5, 1 / 4, 3 / 7, -2 / 9])
def test_chambers_relation(flux):
    _, q = rational_flux(flux)
    rng = np.random.default_rng(3)
    kx = rng.uniform(0, 2 * np.pi / q, 12)
    ky = rng.uniform(0, 2 * np.pi, 12)
    c = np.cos(q * kx) + np.cos(q * ky)
    # a second k with the same cos(q kx) + cos(q ky): new kx', then ky' solves cos(q ky') = c - cos(q kx')
    kx2 = rng.uniform(0, 2 * np.pi / q, 12)
    ok = np.abs(c - np.cos(q * kx2)) <= 1
    ky2 = np.arccos(c[ok] - np.cos(q * kx2[ok])) / q
    P1 = char_poly(np.stack([kx[ok], ky[ok]], -1), flux)
    P2 = char_poly(np.stack([kx2[ok], ky2], -1), flux)
    scale = np.abs(P1).max()
    assert ok.sum() >= 4
    assert np.abs(P1 - P2).max() < 1e-10 * scale
    assert np.abs(P1.imag).max() < 1e-10 * scale
    # when c changes only the E^0 coefficient moves, linearly with slope 2 (-1)^(q+1)
    P_all = char_poly(np.stack([kx, ky], -1), flux).real
    assert np.abs(P_all[:, :-1] - P_all[0, :-1]).max() < 1e-10 * scale
    constant = P_all[:, -1] - 2 * (-1) ** (q + 1) * c
    assert np.abs(constant - constant[0]).max() < 1e-10 * scale
    assert np.ptp(c) > 0.5


def test_half_flux_spectrum():
    field = UniformB(0.5)
    k = magnetic_kmesh(SQUARE, field, (12, 24))  # kx in [0, pi), ky in [0, 2 pi)
    E = magnetic_spectrum(SQUARE, field, (12, 24))
    e = 2 * np.sqrt(np.cos(k[..., 0]) ** 2 + np.cos(k[..., 1]) ** 2)
    assert np.abs(k[..., 0]).max() < np.pi and np.abs(k[..., 1]).max() < 2 * np.pi
    assert np.abs(E - np.stack([-e, e], axis=-1)).max() < 1e-12
