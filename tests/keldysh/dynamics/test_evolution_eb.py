"""Evolution from equilibrium in a uniform B under a uniform E: invariants of the exact solver.

Two independent algorithms (the dressed-kernel evolution on a box, any flux; magnetic Bloch
sectors at rational flux) must agree within their error estimates; each must keep the
particle number, leave the equilibrium alone when E = 0, reduce to the B = 0 evolution at
zero flux and to the static solver at t = 0, and not depend on the gauge of B.
"""

import numpy as np
import pytest

from keldysh import models
from keldysh.exact import (
    band_wigner,
    evolved_current,
    evolved_greens,
    evolved_state,
    evolved_wigner,
    fermi_wigner,
    local_density_matrix,
)
from keldysh.fields import UniformB, UniformE

QWZ = models.qwz(1.0, t0=0.3)
B = UniformB(1 / 8)
E = UniformE((0.04, -0.03), ramp=1.5)
METAL = (-1.6, 0.5)  # mu in the lower band, T
TIMES = [1.0, 3.0]
TOL = 1e-8
P = np.random.default_rng(7).uniform(-np.pi, np.pi, (6, 2))


@pytest.fixture(scope="module")
def kernel():
    return evolved_state(QWZ, (B, E), *METAL, TIMES, TOL, method="kernel")


@pytest.fixture(scope="module")
def supercell():
    return evolved_state(QWZ, (B, E), *METAL, TIMES, TOL, method="supercell")


@pytest.mark.slow
def test_error_estimates_meet_the_tolerance(kernel, supercell):
    for state in (kernel, supercell):
        assert np.all(state.wigner_error <= TOL) and np.all(state.current_error <= TOL)


@pytest.mark.slow
def test_the_two_algorithms_agree(kernel, supercell):
    """W(p, t) and j(t) of the two routes agree within the sum of their estimates (measured: ~1e-11)."""
    dW = np.abs(kernel.wigner(P) - supercell.wigner(P)).max(axis=(1, 2, 3))
    assert np.all(dW <= kernel.wigner_error + supercell.wigner_error)
    dj = np.abs(kernel.current - supercell.current).max(axis=1)
    assert np.all(dj <= kernel.current_error + supercell.current_error)
    assert np.abs(kernel.current).max() > 1e3 * dj.max()  # a current that is not just noise


@pytest.mark.slow
def test_particle_number_is_conserved(kernel, supercell):
    n0 = np.trace(local_density_matrix(QWZ, B, *METAL)).real
    for state in (kernel, supercell):
        assert np.abs(state.density() - n0).max() < 1e-12 + state.wigner_error.max()
    assert max(kernel.info["norm_drift"]) < 1e-12  # the Hilbert-Schmidt norm per cell: unitarity


@pytest.mark.slow
def test_initial_wigner_function_is_the_static_one():
    """At t = 0 (field switched on, nothing happened yet) W is fermi_wigner / band_wigner of the static solver."""
    for method in ("kernel", "supercell"):
        W = evolved_wigner(QWZ, (B, E), *METAL, [0.0], P, TOL, method=method)[0]
        assert np.abs(W - fermi_wigner(QWZ, B, *METAL, P, tol=1e-10)).max() < TOL
        W = evolved_wigner(QWZ, (B, E), None, None, [0.0], P, TOL, method=method, band=0)[0]
        assert np.abs(W - band_wigner(QWZ, B, 0, P, tol=1e-10)).max() < TOL


@pytest.mark.slow
def test_zero_electric_field_leaves_the_state_stationary():
    """E = 0 (a UniformE of zero strength with a ramp): W(t) = W(0) and no current (Bloch's theorem).

    The supercell route starts from the exact n_F(H_B(k)) and must stay put to rounding; the kernel
    route starts from a Chebyshev approximant, whose error (only) may move, within its estimate.
    """
    still = UniformE((0.0, 0.0), ramp=1.0)
    for method, bound in (("supercell", 1e-12), ("kernel", None)):
        state = evolved_state(QWZ, (B, still), *METAL, [0.0, 2.5], TOL, method=method)
        W = state.wigner(P)
        assert np.abs(W[1] - W[0]).max() < (bound or state.wigner_error.max())
        assert np.abs(state.current).max() <= state.current_error.max()


@pytest.mark.slow
def test_zero_flux_reproduces_the_bloch_evolution():
    """At flux 0 both routes give the B = 0 evolution of keldysh.dynamics.evolution (E alone)."""
    reference = evolved_state(QWZ, E, *METAL, TIMES, TOL)
    assert reference.method == "bloch"
    W_ref = reference.wigner(P)
    for method in ("kernel", "supercell"):
        state = evolved_state(QWZ, (UniformB(0.0), E), *METAL, TIMES, TOL, method=method)
        assert np.abs(state.wigner(P) - W_ref).max() < TOL
        assert np.abs(state.current - reference.current).max() < TOL
        assert np.abs(state.density() - reference.density()).max() < TOL


@pytest.mark.slow
def test_results_do_not_depend_on_the_gauge_of_B(kernel, supercell):
    """Kernel route: initial kernels from the Landau-x, Landau-y and symmetric patches; supercell route:
    supercells along a1 and along a2."""
    W0, j0 = kernel.wigner(P), kernel.current
    for gauge in ("landau_y", "symmetric"):
        state = evolved_state(QWZ, (B, E), *METAL, TIMES, TOL, method="kernel", gauge=gauge)
        assert np.abs(state.wigner(P) - W0).max() < 2 * kernel.wigner_error.max()
        assert np.abs(state.current - j0).max() < 2 * kernel.current_error.max()
    state = evolved_state(QWZ, (B, E), *METAL, TIMES, TOL, method="supercell", gauge="landau_y")
    assert np.abs(state.wigner(P) - supercell.wigner(P)).max() < 2 * supercell.wigner_error.max()


@pytest.mark.slow
def test_single_fields_reduce_to_the_existing_solvers():
    """B alone: the stationary equilibrium of the static solver at every time; E alone: the B = 0 evolution."""
    W = evolved_wigner(QWZ, B, *METAL, [0.0, 5.0], P, TOL)
    assert np.abs(W - fermi_wigner(QWZ, B, *METAL, P, tol=1e-10)[None]).max() < TOL
    j = evolved_current(QWZ, B, *METAL, [0.0, 5.0], TOL)
    assert np.abs(j).max() < TOL
    assert evolved_state(QWZ, E, *METAL, TIMES, TOL).method == "bloch"


@pytest.mark.slow
def test_two_time_greens_functions():
    """G^<(t, t) = i W(t); G^R(t, t) = -i/2; the two routes agree on G^<(T + tau/2, T - tau/2) and G^R."""
    tau = np.array([-1.2, 0.0, 0.8])
    T_mean = 1.5
    out = {}
    for method in ("kernel", "supercell"):
        out[method] = evolved_greens(QWZ, (B, E), *METAL, T_mean, tau, P[:3], TOL, method=method)
    (Lk, Rk), (Ls, Rs) = out["kernel"], out["supercell"]
    assert np.abs(Lk - Ls).max() < 10 * TOL and np.abs(Rk - Rs).max() < 10 * TOL
    W = evolved_wigner(QWZ, (B, E), *METAL, [T_mean], P[:3], TOL, method="kernel")[0]
    assert np.abs(Lk[1] - 1j * W).max() < TOL
    assert np.abs(Rk[1] + 0.5j * np.eye(2)).max() < 1e-12 and np.abs(Rk[0]).max() == 0
    assert np.abs(Rk[2]).max() > 0.1
    # B alone: the equilibrium Green's functions, exp(-i H_B tau) on both routes
    (Lk, Rk), (Ls, Rs) = (evolved_greens(QWZ, B, *METAL, T_mean, tau, P[:3], TOL, method=m) for m in ("kernel", "supercell"))
    assert np.abs(Lk - Ls).max() < TOL and np.abs(Rk - Rs).max() < TOL and np.abs(Rk[2]).max() > 0.1
