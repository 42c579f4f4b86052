"""Physics of the uniform-E-and-B solver held against independent exact results (slow).

- mu in a gap: after an adiabatic ramp the Hall current is the Streda / TKNN value of the filled
  magnetic subbands, sigma_xy = -C q^2/h with -C = dn/dflux at fixed mu (the project's sign);
- layered 3D, E along B: the particles pumped into half of the k_z zone equal
  keldysh.layered.pumped_particles (the existing anomaly code, an independent propagation);
- layered 3D, E perpendicular to B: the magnetic-supercell route in 3D equals the kernel route on
  the 2D slice at the same k_z (k_z is conserved);
- the honeycomb lattice (Haldane, orbitals inside the cell): the two algorithms agree.
"""

import numpy as np
import pytest

from keldysh import models
from keldysh.dynamics.uniform_fields import slice_density
from keldysh.exact import evolved_state, local_density_matrix
from keldysh.fields import UniformB, UniformE
from keldysh.layered import clenshaw_curtis, kz_slice, pumped_particles

pytestmark = pytest.mark.slow

QWZ = models.qwz(1.0, t0=0.3)
WEYL = models.weyl(1.0, np.pi / 2, tilt=0.2, offset=0.2)


def test_hall_current_is_the_streda_value_of_the_filled_magnetic_subbands():
    """QWZ at flux 1/8, T = 0, mu = -0.3 in the gap (-0.83, 0.97) of the magnetic spectrum.

    Streda: n(flux) = s + t flux in the gap, t = dn/dflux from the static solver at fluxes 1/8 and
    1/9 (t = 1 = -C for the lower band's C = -1). After an erf ramp of 40 (adiabatic to
    exp(-(Delta w)^2 / 4) ~ 1e-5 for the gap Delta = 1.8) the current is j = (t / 2 pi) (F_y, -F_x),
    i.e. sigma_xy = t q^2/h, and there is no longitudinal current.
    """
    n = {f: np.trace(local_density_matrix(QWZ, UniformB(f), -0.3, 0.0)).real for f in (1 / 8, 1 / 9)}
    t = (n[1 / 8] - n[1 / 9]) / (1 / 8 - 1 / 9)
    assert abs(t - round(t)) < 1e-9
    F = np.array([0.02, 0.01])
    state = evolved_state(QWZ, (UniformB(1 / 8), UniformE(tuple(F), ramp=40.0)), -0.3, 0.0, [40.0, 50.0], 1e-6)
    hall = t / (2 * np.pi) * np.array([F[1], -F[0]])
    assert np.abs(state.current / hall - 1).max() < 1e-4  # measured: 1.3e-5
    assert np.abs(state.current @ F).max() < 1e-4 * np.abs(hall).max() * np.linalg.norm(F)


def test_pumping_along_B_equals_the_layered_anomaly_code():
    """Weyl model, flux 1/8, T = 0.1, qE = 0.3 along z for t = 2: the change of the particles whose kinetic
    k_z lies in (0, pi), from the slice densities of the supercell evolution (Clenshaw-Curtis, 128 points),
    equals keldysh.layered.pumped_particles (measured agreement 5e-15)."""
    B, qE, t = UniformB(1 / 8), 0.3, 2.0
    reference = pumped_particles(WEYL, B, UniformE((qE,)), 0.0, 0.1, t, tol=1e-11, propagation_tol=1e-10)
    x, w = clenshaw_curtis(128)
    kz = 0.5 * np.pi * (1 + x)
    n = slice_density(WEYL, (B, UniformE((0.0, 0.0, qE))), 0.0, 0.1, [0.0, t], kz, tol=1e-11)
    pumped = 0.5 * np.pi * (w @ (n[1] - n[0])) / (2 * np.pi)
    assert pumped == pytest.approx(reference.pumped, abs=1e-10)
    assert abs(reference.pumped) > 1e-3


def test_layered_model_with_E_perpendicular_to_B_matches_its_slice():
    """k_z is conserved when E lies in the plane: W of the 3D supercell evolution at p_z equals W of the
    2D kernel evolution of the slice h(kx, ky, p_z) (measured 1e-9, within the 3D estimate)."""
    B, pz, T = UniformB(1 / 8), 0.7, 1.0
    state = evolved_state(WEYL, (B, UniformE((0.04, 0.03, 0.0), ramp=2.0)), 0.0, T, [2.0], 1e-5)
    p = np.array([[0.3, -1.1, pz], [2.0, 0.4, pz]])
    slice_state = evolved_state(kz_slice(WEYL, pz), (B, UniformE((0.04, 0.03), ramp=2.0)), 0.0, T, [2.0], 1e-8)
    assert np.abs(state.wigner(p) - slice_state.wigner(p[:, :2])).max() <= state.wigner_error.max()
    assert np.abs(state.current[0, :2]).max() > 1e-3


def test_the_two_algorithms_agree_on_the_honeycomb_lattice():
    """Haldane model (non-square cell, orbitals at 1/3 and 2/3): kernel and supercell routes agree on W and j."""
    model = models.haldane()
    fields = (UniformB(1 / 6), UniformE((0.03, -0.02), ramp=1.5))
    p = np.random.default_rng(2).uniform(-3, 3, (5, 2))
    states = [evolved_state(model, fields, 0.3, 0.5, [1.0, 2.5], 1e-7, method=m) for m in ("kernel", "supercell")]
    dW = np.abs(states[0].wigner(p) - states[1].wigner(p)).max(axis=(1, 2, 3))
    assert np.all(dW <= states[0].wigner_error + states[1].wigner_error)
    dj = np.abs(states[0].current - states[1].current).max(axis=1)
    assert np.all(dj <= states[0].current_error + states[1].current_error)
    assert np.abs(states[0].current).max() > 1e3 * dj.max()
