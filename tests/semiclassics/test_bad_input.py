"""Bad input at the public boundary of semiclassics: the exception type, and a message that names the argument.

The semiclassical side takes any Bloch model (``dim``, ``norbs``, ``bloch``, ``bloch_derivative``)
and any static field with ``beta(cell_area)``; these tests use small stand-ins, not keldysh.
"""

from dataclasses import dataclass

import numpy as np
import pytest

from semiclassics import efield, geometry, kinetics, moyal, predictions

SX = np.array([[0, 1], [1, 0]], dtype=complex)
SY = np.array([[0, -1j], [1j, 0]])
SZ = np.diag([1.0, -1.0]).astype(complex)


class QWZ:
    """h(k) = sin kx sx + sin ky sy + (m + cos kx + cos ky) sz (square lattice, a = 1)."""

    dim, norbs, m = 2, 2, 1.0

    def bloch(self, k):
        k = np.asarray(k, dtype=float)
        s, c = np.sin(k), np.cos(k)
        return s[..., 0, None, None] * SX + s[..., 1, None, None] * SY + (self.m + c.sum(-1))[..., None, None] * SZ

    def bloch_derivative(self, k):
        k = np.asarray(k, dtype=float)
        s, c = np.sin(k), np.cos(k)
        return np.stack([c[..., 0, None, None] * SX - s[..., 0, None, None] * SZ,
                         c[..., 1, None, None] * SY - s[..., 1, None, None] * SZ], axis=-3)


@dataclass(frozen=True)
class Flux:
    flux: float

    def beta(self, cell_area=1.0):
        return 2 * np.pi * self.flux / cell_area


class ElectricOnly:
    """A field without beta (a uniform E): wrong kind where a static B is needed."""

    E = (0.1, 0.0)


MODEL, FIELD, K = QWZ(), Flux(1e-3), np.array([[0.3, 0.4], [1.0, -0.2]])


def fermi(E):
    return predictions.fermi(E, 0.0, 0.1)


def dfermi(E):
    return predictions.fermi_derivative(E, 0.0, 0.1)


CASES = [
    ("k wrong last axis", lambda: geometry.berry_curvature(MODEL, np.zeros((3, 3))), ValueError, r"k must have shape \(\.\.\., d\) with d = model.dim = 2"),
    ("k scalar", lambda: geometry.eigensystem(MODEL, 0.3), ValueError, r"k must have shape"),
    ("k NaN", lambda: geometry.orbital_moment(MODEL, [[np.nan, 0.0]]), ValueError, r"k contains non-finite"),
    ("k complex", lambda: geometry.berry_tensor(MODEL, K * 1j), TypeError, r"k must be real"),
    ("k strings", lambda: geometry.velocity_matrix(MODEL, [["a", "b"]]), TypeError, r"k must be a real numeric array"),
    ("p wrong axis (E field)", lambda: efield.transverse_density(MODEL, np.zeros((2, 3)), (0.1, 0.0), [1.0, 0.0]), ValueError, r"p must have shape"),
    ("model of the wrong kind", lambda: geometry.berry_curvature("qwz", K), TypeError, r"model must provide dim, norbs, bloch, bloch_derivative"),
    ("model without derivative", lambda: predictions.quasiparticle_energy(type("M", (), {"dim": 2, "norbs": 2, "bloch": MODEL.bloch})(), K, FIELD), TypeError, r"model must provide .* lacks bloch_derivative"),
    ("field of the wrong kind", lambda: predictions.quasiparticle_energy(MODEL, K, ElectricOnly()), TypeError, r"field must be a uniform B"),
    ("field non-finite", lambda: predictions.spectral_weights(MODEL, K, Flux(np.inf)), ValueError, r"field gives a non-finite beta"),
    ("field in moyal", lambda: moyal.band_window_first_order(MODEL, K, 1e-3, 0), TypeError, r"field must be a uniform B"),
    ("spectral weight form", lambda: predictions.spectral_weights(MODEL, K, FIELD, form="typo"), ValueError, r"form"),
    ("T negative", lambda: predictions.fermi(np.zeros(2), 0.0, -0.1), ValueError, r"T must satisfy T >= 0"),
    ("mu NaN", lambda: predictions.fermi(np.zeros(2), np.nan, 0.1), ValueError, r"mu must be finite"),
    ("T string", lambda: predictions.fermi_derivative(np.zeros(2), 0.0, "hot"), TypeError, r"T must be a real number"),
    ("degenerate bands", lambda: geometry.berry_curvature(type("Flat", (QWZ,), {"m": 0.0})(), [[np.pi, 0.0]]), ValueError, r"bands 0 and 1 are degenerate at k=\[3.14"),
    ("Chern grid", lambda: geometry.chern_numbers(MODEL, 0), ValueError, r"n_k must be a positive integer"),
    ("band velocity k", lambda: kinetics.band_velocity(MODEL, np.zeros(3)), ValueError, r"k must have shape"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_stand_in_model_is_the_qwz_model():
    """The stand-in is right: its derivative matches finite differences and its gap is 2 min |d| = 2 |m| (m = 1)."""
    h = 1e-6
    k = np.array([0.3, -1.1])
    num = np.stack([(MODEL.bloch(k + h * e) - MODEL.bloch(k - h * e)) / (2 * h) for e in np.eye(2)])
    assert np.abs(MODEL.bloch_derivative(k) - num).max() < 1e-9
    grid = geometry.reciprocal_grid(MODEL, 64).reshape(-1, 2)
    eps, _ = geometry.eigensystem(MODEL, grid)
    assert (eps[:, 1] - eps[:, 0]).min() == pytest.approx(2.0)
