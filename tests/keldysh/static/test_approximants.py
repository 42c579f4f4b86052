"""Approximants of f on the spectrum: near-minimax gapped steps, Matsubara split of a low-temperature metal."""

import numpy as np
import pytest
from numpy.polynomial import chebyshev as cheb

from keldysh import UniformB, models
from keldysh.spectral import FermiDirac
from keldysh.static.approximants import MatsubaraSplit, _gapped, approximate, truncated
from keldysh.static.bands import spectral_bounds

QWZ = models.qwz(1.0, t0=0.3)  # bands [-2.4, -1.0] and [0.4, 3.6]


def scaled_map(model=QWZ, field=UniformB(0.0)):
    lo, hi = spectral_bounds(model, field)
    return (lo + hi) / 2, (hi - lo) / 2


def evaluate(a, E, center, halfwidth):
    """p((E - c)/a) + sum_l 2 Re[w_l / (E - z_l)]: the function an approximant stands for."""
    poles = sum((2 * (w / (E - z)).real for z, w in a.poles), np.zeros_like(E))
    return cheb.chebval((E - center) / halfwidth, a.coeffs) + poles


@pytest.mark.slow
@pytest.mark.parametrize("x0, delta", [(0.0, 0.2), (-0.3, 0.1), (0.6, 0.05)])
def test_gapped_polynomial_error_bound_and_optimal_order(x0, delta):
    """The least-squares step equals theta(x0 - x) to its stated error outside the transition region,
    at close to the optimal order log(1/eps) sqrt(1 - x0^2) / delta, and stays bounded inside it."""
    eps = 1e-12
    coeffs, err = _gapped(lambda x: (x < x0).astype(float), [(x0, delta)], eps, 20000)
    x = np.concatenate([np.linspace(-1, x0 - delta, 20001), np.linspace(x0 + delta, 1, 20001)])
    assert np.abs(cheb.chebval(x, coeffs) - (x < x0)).max() <= 1.01 * err <= 1.01 * eps
    assert len(coeffs) - 1 < 1.2 * np.log(4 / eps) * np.sqrt(1 - x0**2) / delta
    assert np.abs(cheb.chebval(np.linspace(x0 - delta, x0 + delta, 2001), coeffs)).max() < 1.1


@pytest.mark.parametrize("mu, T, n", [(-1.5, 0.05, 2), (2.0, 0.05, 3), (0.0, 0.01, 7)])
def test_matsubara_split_is_exact(mu, T, n):
    """n_F = sum_{l<n} [w_l/(E - z_l) + c.c.] + remainder, z_l = mu + i (2l + 1) pi T, w_l = -T, to rounding."""
    split = MatsubaraSplit(FermiDirac(mu, T), n)
    z = np.array([p[0] for p in split.poles])
    np.testing.assert_allclose(z.imag, (2 * np.arange(n) + 1) * np.pi * T, rtol=1e-15)
    assert np.all(z.real == mu) and all(w == -T for _, w in split.poles)
    E = np.linspace(-4, 4, 4001)
    poles = sum(2 * (w / (E - zz)).real for zz, w in split.poles)
    np.testing.assert_allclose(poles + split(E), FermiDirac(mu, T)(E), rtol=0, atol=1e-15)


@pytest.mark.parametrize("mu", [-1.5, 2.0])
def test_split_cuts_the_order_by_about_2n_plus_1(mu):
    """The remainder is analytic within w_n of the real axis: its order is ~ (2n + 1) times lower than n_F's,
    and p + poles reproduces n_F to the stated error on the whole interval."""
    f, (c, a), eps = FermiDirac(mu, 0.05), scaled_map(), 2e-12
    split = approximate(f, QWZ, UniformB(0.0), c, a, eps)
    plain = approximate(lambda E: f(E), QWZ, UniformB(0.0), c, a, eps)  # a generic callable: no split
    n = len(split.poles)
    assert n >= 2 and not plain.poles and isinstance(split.target, MatsubaraSplit)
    assert plain.order > 0.8 * (2 * n + 1) * split.order
    E = c + a * np.linspace(-1, 1, 40001)
    assert np.abs(evaluate(split, E, c, a) - f(E)).max() <= 1.01 * split.error <= 1.01 * eps
    shadow = truncated(split, c, a, 4 * eps, 20000)
    assert shadow.poles == split.poles and shadow.order < split.order
    assert np.abs(evaluate(shadow, E, c, a) - f(E)).max() <= 1.01 * shadow.error <= 4.04 * eps


def test_no_split_when_the_poles_are_far():
    c, a = scaled_map()
    assert MatsubaraSplit.for_spectrum(FermiDirac(-1.5, 0.5), c, a) is None
    assert not approximate(FermiDirac(-1.5, 0.5), QWZ, UniformB(0.0), c, a, 1e-12).poles
    # the number of split poles grows like 1/T
    counts = [MatsubaraSplit.for_spectrum(FermiDirac(-1.5, T), c, a).n_poles for T in (0.04, 0.02, 0.01)]
    assert counts[0] < counts[1] < counts[2] and counts[2] >= 3.5 * counts[0]
    with pytest.raises(ValueError, match="T > 0"):
        MatsubaraSplit(FermiDirac(0.0, 0.0), 2)
