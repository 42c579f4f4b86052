"""The Fermi-function approximant of keldysh.static.approximants against a high-precision reference (mpmath).

The Chebyshev route evaluates n_F(H) as a Chebyshev series of the Fermi function in the scaled energy
x = (E - center) / halfwidth, with the Matsubara poles nearest the real axis split off exactly. Here the
series plus its poles is compared with n_F evaluated in 30-digit arithmetic on a dense grid of the whole
spectral interval (the claimed error must bound the true one), and the leading Chebyshev coefficients of the
expanded remainder with their definition, c_m = (2 - delta_m0)/pi int_0^pi r(cos theta) cos(m theta) dtheta,
integrated by mpmath's adaptive quadrature (an algorithm independent of the DCT used by the code).
"""

import functools

import mpmath
import numpy as np
import pytest

from keldysh import UniformB, models
from keldysh.spectral import FermiDirac
from keldysh.static.approximants import approximate

CENTER, HALFWIDTH = 0.6, 3.1  # spectrum of qwz(1, t0=0.3): [-2.4, 3.6] inside [-2.5, 3.7]


def _nf(E, mu, T):
    return 1 / (mpmath.exp((E - mu) / T) + 1)


def _clenshaw(coeffs, x):
    """sum_m c_m T_m(x) in mpmath arithmetic."""
    b1 = b2 = mpmath.mpf(0)
    for c in reversed([mpmath.mpf(float(c)) for c in coeffs[1:]]):
        b1, b2 = 2 * x * b1 - b2 + c, b1
    return x * b1 - b2 + mpmath.mpf(float(coeffs[0]))


@pytest.fixture
def digits30():
    with mpmath.workdps(30):
        yield


@pytest.mark.slow
@pytest.mark.parametrize("T", [0.1, 0.02])  # 2 and 8 Matsubara poles
def test_fermi_approximant_against_a_30_digit_reference(T, digits30):
    mu, eps = 0.8, 1e-12
    a = approximate(FermiDirac(mu, T), models.qwz(1.0, t0=0.3), UniformB(0.0), CENTER, HALFWIDTH, eps)
    assert a.smooth and a.poles and a.error <= eps  # a metal at T > 0: smooth remainder plus Matsubara poles
    xs = np.concatenate([np.cos(np.pi * np.arange(81) / 80), np.linspace(-1, 1, 81)])
    worst = mpmath.mpf(0)
    for x in xs:
        E = mpmath.mpf(CENTER) + mpmath.mpf(HALFWIDTH) * mpmath.mpf(x)
        value = _clenshaw(a.coeffs, mpmath.mpf(x))
        for z, w in a.poles:
            pole = mpmath.mpc(w) / (E - mpmath.mpc(z))
            value += 2 * pole.real  # w / (E - z) + conj(w) / (E - conj(z))
        worst = max(worst, abs(value - _nf(E, mu, T)))
    assert float(worst) <= a.error + 1e-15, (float(worst), a.error)
    assert float(worst) > 1e-3 * a.error  # the claimed error is not a gross overestimate either

    def remainder(theta, *, m):
        E = CENTER + HALFWIDTH * mpmath.cos(theta)
        r = _nf(E, mu, T) + 2 * T * sum((E - mu) / ((E - mu) ** 2 + mpmath.im(z) ** 2) for z, _ in a.poles)
        return r * mpmath.cos(m * theta)

    for m in (0, 1, 7):
        c = (2 - (m == 0)) / mpmath.pi * mpmath.quad(functools.partial(remainder, m=m), np.linspace(0, np.pi, 5).tolist())
        assert a.coeffs[m] == pytest.approx(float(c), abs=1e-15), m
