"""Eq. 35: intrinsic anomalous Hall conductivity; its sign against Streda and against the exact current."""

import functools
import math

import numpy as np
import pytest

from keldysh import models
from keldysh.dynamics.evolution import current_density, initial_density, propagate
from keldysh.fields import UniformB, UniformE
from keldysh.spectral import FermiDirac
from semiclassics.geometry import chern_numbers, reciprocal_grid
from semiclassics.predictions import equilibrium_density, fermi
from semiclassics.transport import hall_conductivity

E_HAT = np.array([math.cos(0.3), math.sin(0.3)])


def occupation(mu, T=0.0):
    return functools.partial(fermi, mu=mu, T=T)


@pytest.mark.parametrize(
    "model, mu",
    [
        (models.qwz(1.0), 0.0),
        (models.qwz(-1.0), 0.0),
        (models.qwz(3.0), 0.0),
        (models.haldane(), 0.0),
        (models.haldane(phi=-np.pi / 2), 0.0),
        (models.haldane(M=1.5), 0.0),
        (models.three_band(), -0.55),
        (models.three_band(), 0.5),
    ],
    ids=["qwz+1", "qwz-1", "qwz-trivial", "haldane", "haldane-reversed", "haldane-trivial", "three_band-1", "three_band-2"],
)
def test_gap_is_minus_the_chern_number_of_the_filled_bands(model, mu):
    """With mu in a gap, sigma^xy = -sum_filled C_n in units of q^2/h (per band: -C_n)."""
    sigma = hall_conductivity(model, occupation(mu), 48)
    C = chern_numbers(model, 48)
    filled = np.linalg.eigvalsh(model.bloch(np.zeros(2))) < mu
    np.testing.assert_allclose(sigma, np.where(filled, -C, 0.0), atol=1e-6)
    assert sigma.sum() == pytest.approx(round(sigma.sum()), abs=1e-6)


def test_metal_quadrature_converges(qwz=models.qwz(1.0, t0=0.3)):
    f = occupation(0.8, 0.1)
    fine, finer = hall_conductivity(qwz, f, 64).sum(), hall_conductivity(qwz, f, 128).sum()
    assert abs(fine - finer) < 1e-10
    assert 0.1 < fine < 0.9  # a partially filled upper band reduces the quantized value 1


def test_sign_agrees_with_streda():
    """sigma^xy = q dn/dB at fixed mu, i.e. in units of q^2/h d(electrons per cell)/d(flux) (Eq. 17)."""
    for model, mu in [(models.qwz(1.0, t0=0.3), -0.3), (models.haldane(), 0.0)]:
        flux = 1e-3
        dn = equilibrium_density(model, UniformB(flux), mu, 0.0, 64) - equilibrium_density(model, UniformB(-flux), mu, 0.0, 64)
        assert hall_conductivity(model, occupation(mu), 64).sum() == pytest.approx(dn / (2 * flux), abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name, model, mu, grid", [("qwz", models.qwz(1.0, t0=0.3), -0.3, 32), ("haldane", models.haldane(), 0.0, 24)])
def test_exact_hall_current_after_the_ramp(name, model, mu, grid):
    """The arbiter: the current of the evolved lattice at the end of a slow ramp is sigma^xy E in the gap
    (quantized, including its sign) to 1e-7; the E sweep is the registered comparison hall_current[...]."""
    k = reciprocal_grid(model, grid)
    rho0 = initial_density(model, k, FermiDirac(mu, 0.0))
    sigma = hall_conductivity(model, occupation(mu), grid).sum()
    perp = np.array([E_HAT[1], -E_HAT[0]])  # e_hat x z
    E = 0.02
    field = UniformE(E * E_HAT, ramp=120.0 / 1.56, profile="erf")
    evo = propagate(model, field, k, [field.ramp], tol=1e-10)
    j = current_density(model, evo, rho0)[0]
    assert 2 * np.pi * (j @ perp) / E == pytest.approx(sigma, abs=1e-7)
    assert abs(j @ E_HAT) < 1e-9  # no longitudinal current in an insulator
    assert sigma == pytest.approx(-chern_numbers(model, 48)[0], abs=1e-7)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="2D"):
        hall_conductivity(models.weyl(), occupation(0.0), 8)
