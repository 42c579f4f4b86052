"""Landau levels of the lattice Dirac model (keldysh.models.dirac_lattice) at small flux 1/q.

Derivation (hbar = 1, beta = q B = 2 pi flux / A_cell). For a locally constant A the Peierls rule
<r1|H|r2> = T exp(i q int_{r2}^{r1} A.dl) gives H exp(ik.r) = exp(ik.r) h(k - qA), so H = h(pi) with
pi = p - qA and [pi_x, pi_y] = -q([p_x, A_y] + [A_x, p_y]) = i q (d_x A_y - d_y A_x) = +i beta.
Near k = 0, dirac_lattice(v, delta, r) is
    h = v (pi_x sx + pi_y sy) + (delta + r pi^2 / 2) sz + O(pi^3),   pi^2 = pi_x^2 + pi_y^2,
and v (pi_x sx + pi_y sy) = v [[0, pi_-], [pi_+, 0]] with pi_+- = pi_x +- i pi_y.

beta > 0: a = pi_+ / sqrt(2 beta) has [a, a^dag] = (1/2beta)[pi_+, pi_-] = 1, pi_- = sqrt(2 beta) a^dag,
  pi^2 = beta (2 a^dag a + 1). The spinor (|0>, 0) is annihilated by the off-diagonal part
  (a |0> = 0 in the lower row), so it is the n = 0 level with E_0 = +(delta + r beta / 2).
beta < 0: a = pi_- / sqrt(2|beta|), [a, a^dag] = -2 beta / (2|beta|) = 1, pi_+ = sqrt(2|beta|) a^dag;
  now (0, |0>) is the zero mode, E_0 = -(delta + r |beta| / 2).
So the n = 0 level sits at sign(beta) * chi * delta (chi = +1, the chirality of v(kx sx + ky sy));
the opposite chirality or the opposite charge flips it.
n >= 1: the pairs (|n>, |n-1>) (beta > 0) or (|n-1>, |n>) (beta < 0) close under h, giving
    E_n^+- = sign(beta) r |beta| / 2 +- sqrt((delta + n r |beta|)^2 + 2 n v^2 |beta|),
whose r -> 0 limit is the massive-Dirac continuum E_n = +-sqrt(delta^2 + 2 n v^2 |beta|). The
neglected terms (sin k - k ~ k^3, the k^4 part of cos k) shift the levels by O(beta^2); the Wilson
mass itself shifts them from the continuum by at most (n + 1/2) r |beta|.

At flux 1/q every Landau level contributes one magnetic band, flat to exponential accuracy, so the
spectrum of H(k = 0) suffices; the doublers at (pi, 0), (0, pi), (pi, pi) have masses >= delta + 2r
and their levels lie far above |E| ~ 0.5.
"""

import numpy as np
import pytest

from keldysh import UniformB, models
from keldysh.static.supercell import magnetic_bloch

V, DELTA, R = 1.0, 0.2, 1.0
MODEL = models.dirac_lattice(v=V, delta=DELTA, r=R)
LEVELS = np.arange(1, 4)


def landau_spectrum(flux):
    """beta and the lowest levels at k = 0: E_0, E_n^+ and E_n^- for n = 1, 2, 3."""
    field = UniformB(flux)
    beta = field.beta(MODEL.cell_area)
    E = np.linalg.eigvalsh(magnetic_bloch(MODEL, field, np.zeros(2)))
    above, below = np.sort(E[E > 0]), np.sort(E[E < 0])[::-1]
    if beta > 0:
        return beta, above[0], above[1:4], below[:3]
    return beta, below[0], above[:3], below[1:4]


@pytest.mark.slow
@pytest.mark.parametrize("q", [200, 400])
@pytest.mark.parametrize("sign", [1, -1])
def test_landau_levels(q, sign):
    beta, E0, plus, minus = landau_spectrum(sign / q)
    b = abs(beta)
    # n = 0: at +delta for beta > 0, at -delta for beta < 0, and no level near the other one
    E = np.linalg.eigvalsh(magnetic_bloch(MODEL, UniformB(sign / q), np.zeros(2)))
    assert np.sum(np.abs(E - np.sign(beta) * DELTA) < 2 * b) == 1
    assert np.sum(np.abs(E + np.sign(beta) * DELTA) < 2 * b) == 0
    assert abs(E0 - np.sign(beta) * (DELTA + R * b / 2)) < 0.1 * beta**2
    # n >= 1 against the massive-Dirac continuum: lattice (Wilson-mass) corrections O(beta)
    dirac = np.sqrt(DELTA**2 + 2 * LEVELS * V**2 * b)
    assert np.all(np.abs(plus - dirac) < (LEVELS + 0.5) * R * b)
    assert np.all(np.abs(minus + dirac) < (LEVELS + 0.5) * R * b)
    # ... and against the levels including the r pi^2 / 2 mass: O(beta^2)
    root = np.sqrt((DELTA + LEVELS * R * b) ** 2 + 2 * LEVELS * V**2 * b)
    shift = np.sign(beta) * R * b / 2
    assert np.all(np.abs(plus - (shift + root)) < 20 * beta**2)
    assert np.all(np.abs(minus - (shift - root)) < 20 * beta**2)


def test_flux_sign_mirrors_spectrum():
    """beta -> -beta maps the spectrum E -> -E exactly: sx K (K complex conjugation) takes the Peierls
    H of dirac_lattice at beta to -H at -beta, since sx h(-k)^* sx = -h(k)."""
    b1, E0p, plus_p, minus_p = landau_spectrum(1 / 200)
    b2, E0m, plus_m, minus_m = landau_spectrum(-1 / 200)
    assert b1 == -b2
    assert abs(E0p + E0m) < 1e-12
    assert np.abs(plus_p + minus_m).max() < 1e-12 and np.abs(minus_p + plus_m).max() < 1e-12
