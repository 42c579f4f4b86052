"""Exact evolution in a uniform E field: invariants, integrator order and error control, Bloch
oscillations, Landau-Zener, the length gauge, Wigner functions, two-time Green's functions."""

import math

import numpy as np
import pytest

from keldysh import models
from keldysh.dynamics import evolution
from keldysh.dynamics.evolution import (
    _magnus_run,
    _ShiftedBloch,
    current_density,
    initial_density,
    propagate,
    wigner_density,
    wigner_greens,
)
from keldysh.errors import ConvergenceError
from keldysh.fields import UniformE
from keldysh.lattice import TightBinding
from keldysh.spectral import FermiDirac, band_window
from keldysh.wigner import wigner_from_kernel

SZ = np.diag([1.0, -1.0]).astype(complex)
SX = np.array([[0, 1], [1, 0]], dtype=complex)


def chain(t: float = 1.0) -> TightBinding:
    """One-band chain, h(k) = -2 t cos k."""
    return TightBinding({(0,): [[0.0]], (1,): [[-t]]})


def rice_mele() -> TightBinding:
    """Two-band chain with orbitals at 0 and 0.4 and a second-neighbour term (no symmetry)."""
    return TightBinding(
        {(0,): [[0.3, 1.0], [1.0, -0.3]], (1,): [[0.0, 0.0], [0.6, 0.0]], (2,): [[0.1, 0.0], [0.0, -0.05]]},
        positions=[[0.0], [0.4]],
    )


def dagger(X):
    return np.conj(np.swapaxes(X, -1, -2))


@pytest.fixture(scope="module")
def qwz():
    return models.qwz(1.0, t0=0.3)


def random_k(n, d=2, seed=0):
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, (n, d))


@pytest.mark.slow
@pytest.mark.parametrize("model", [models.qwz(1.0, t0=0.3), models.three_band(), models.haldane()], ids=["qwz", "three_band", "haldane"])
def test_unitarity_trace_and_tolerance(model):
    field = UniformE((0.07, -0.04), ramp=6.0)
    k = random_k(40)
    times = [2.0, 6.0, 9.5]
    evo = propagate(model, field, k, times, tol=1e-9)
    N = model.norbs
    assert evo.U.shape == (3, 40, N, N)
    assert np.max(np.abs(evo.U @ dagger(evo.U) - np.eye(N))) < 1e-13
    rho0 = initial_density(model, k, FermiDirac(0.1, 0.3))
    rho = evo.density_matrix(rho0)
    np.testing.assert_allclose(np.trace(rho, axis1=-2, axis2=-1), np.broadcast_to(np.trace(rho0, axis1=-2, axis2=-1), (3, 40)), atol=1e-13)
    np.testing.assert_allclose(rho, dagger(rho), atol=1e-14)
    # the error estimate is honest: true error against a 4x finer step below 2 tol
    ref = propagate(model, field, k, times, dt=evo.step / 4)
    true_error = np.max(np.abs(evo.U - ref.U))
    assert true_error < 2e-9
    assert evo.error_estimate <= 1e-9


def test_pauli_and_matrix_steppers_agree(qwz):
    bloch = _ShiftedBloch(qwz, random_k(30))
    field = UniformE((0.1, 0.05), ramp=5.0)
    times = np.array([2.0, 7.0])
    U_pauli = _magnus_run(bloch, field, times, 0.1, pauli=True)
    U_matrix = _magnus_run(bloch, field, times, 0.1, pauli=False)
    assert np.max(np.abs(U_pauli - U_matrix)) < 1e-13


def test_magnus_is_sixth_order(qwz):
    field = UniformE((0.3, 0.2), ramp=3.0)
    k = random_k(20)
    ref = propagate(qwz, field, k, [5.0], dt=0.01).U
    errors = [np.max(np.abs(propagate(qwz, field, k, [5.0], dt=dt).U - ref)) for dt in (0.4, 0.2, 0.1)]
    orders = np.diff(np.log(errors)) / np.log(0.5)
    assert np.all((orders > 5.5) & (orders < 6.8)), (errors, orders)


def test_shifted_bloch_is_the_bloch_hamiltonian_at_kinetic_momentum():
    model = models.haldane()
    k = random_k(12)
    qA = np.array([[0.3, -0.7], [1.1, 0.2]])
    h = _ShiftedBloch(model, k)(qA)  # (N, N, nk, M)
    for m in range(2):
        np.testing.assert_allclose(np.moveaxis(h[..., m], -1, 0), model.bloch(k - qA[m]), atol=1e-13)


def test_bloch_oscillation_period():
    """One-band chain: the current of a partially filled band oscillates with period 2 pi / (q E a)."""
    model, E = chain(), 0.05
    k = 2 * np.pi * (np.arange(64) / 64)[:, None]
    times = np.linspace(0.0, 3 * 2 * np.pi / E, 601)[1:]
    evo = propagate(model, UniformE(E), k, times, tol=1e-10)
    j = current_density(model, evo, initial_density(model, k, FermiDirac(-0.5, 0.4)))[:, 0]
    # exact: each k moves rigidly, j(t) = <2 sin(k + E t)>_f
    f = FermiDirac(-0.5, 0.4)(-2 * np.cos(k[:, 0]))
    expected = (f[None] * 2 * np.sin(k[:, 0][None] + E * times[:, None])).mean(axis=1)
    np.testing.assert_allclose(j, expected, atol=1e-10)
    # period from the zero crossings (linear interpolation)
    idx = np.nonzero(np.sign(j[:-1]) != np.sign(j[1:]))[0]
    zeros = times[idx] - j[idx] * (times[idx + 1] - times[idx]) / (j[idx + 1] - j[idx])
    period = 2 * np.mean(np.diff(zeros))
    assert period == pytest.approx(2 * np.pi / E, rel=1e-4)


@pytest.mark.parametrize("E", [0.01, 0.02, 0.04])
def test_landau_zener(E):
    """h = v sin(p) sigma_z + g sigma_x: crossing at p = 0, LZ probability exp(-2 pi g^2 / |d(E1 - E2)/dt|)."""
    v, g = 1.0, 0.1
    model = TightBinding({(0,): g * SX, (1,): -0.5j * v * SZ})
    field = UniformE((E,))
    k0 = np.array([[-np.pi / 2]])
    T = np.pi / E  # p runs from -pi/2 to pi/2 through the crossing
    evo = propagate(model, field, k0, [T], tol=1e-10)
    rho0 = initial_density(model, k0, band_window(model, 0))
    rho = evo.density_matrix(rho0)[0, 0]
    upper = initial_density(model, field.kinetic_momentum(k0, T), band_window(model, 1))[0]
    p_lz = np.trace(rho @ upper).real
    predicted = math.exp(-2 * math.pi * g**2 / (2 * v * E))
    assert p_lz == pytest.approx(predicted, abs=3e-3)


def _length_gauge_chain(model, E, n_cells, occ, t):
    """Finite open chain with the field switched on suddenly as a scalar potential, H = H0 - q E x.

    rho(0) = f(H0); H is then constant, so rho(t) = exp(-iHt) rho(0) exp(iHt) exactly.
    """
    N = model.norbs
    H0 = np.zeros((n_cells * N, n_cells * N), dtype=complex)
    for R, T in model.hoppings.items():
        for c in range(max(0, -R[0]), min(n_cells, n_cells - R[0])):
            H0[c * N : (c + 1) * N, (c + R[0]) * N : (c + R[0] + 1) * N] += T
    x = (np.arange(n_cells)[:, None] + model.positions[:, 0][None, :]).ravel()
    e, V = np.linalg.eigh(H0)
    rho = (V * occ(e)) @ dagger(V)
    w, W = np.linalg.eigh(H0 - E * np.diag(x))
    U = (W * np.exp(-1j * w * t)) @ dagger(W)
    return U @ rho @ dagger(U)


def test_agrees_with_length_gauge_chain():
    """Temporal gauge (k-space, Peierls A(t)) against a scalar potential -qE x on a finite chain.

    The gauge-invariant Wigner function of the chain's density matrix at its
    centre (no vector potential, trivial Wilson line) equals rho_{k = p + qA(t)}(t).
    """
    model, occ = rice_mele(), FermiDirac(0.0, 0.3)  # T > 0: short-ranged rho, so the chain's centre is bulk
    E, t, n_cells, S = 0.08, 6.0, 90, 24
    rho = _length_gauge_chain(model, E, n_cells, occ, t)
    c, N = n_cells // 2, model.norbs
    cells = np.arange(-S, S + 1)[:, None]
    values = np.array([rho[(c + s) * N : (c + s + 1) * N, c * N : (c + 1) * N] for s in range(-S, S + 1)])
    p = np.linspace(-np.pi, np.pi, 9)[:, None]
    W_length = wigner_from_kernel(model.lattice_vectors, model.positions, cells, values, p)
    W_temporal = wigner_density(model, UniformE(E), p, t, occ, tol=1e-11)
    assert np.max(np.abs(W_length - W_temporal)) < 1e-9  # finite chain and kernel truncation
    # the shift p -> k = p + qA(t) and the sign of the field matter
    flipped = wigner_density(model, UniformE(-E), p, t, occ, tol=1e-11)
    assert np.max(np.abs(W_length - flipped)) > 1e-2


def test_two_time_greens_functions(qwz):
    field = UniformE((0.05, 0.02), ramp=3.0)
    k = random_k(10)
    times = [1.0, 2.5, 4.0]
    evo = propagate(qwz, field, k, times, tol=1e-10)
    rho0 = initial_density(qwz, k, FermiDirac(0.2, 0.1))
    G_less, G_ret = evo.lesser(rho0), evo.retarded()
    rho = evo.density_matrix(rho0)
    for i in range(3):
        np.testing.assert_allclose(G_less[i, i], 1j * rho[i], atol=1e-14)  # G^<(t, t) = i rho(t)
        np.testing.assert_allclose(G_ret[i, i], np.broadcast_to(-0.5j * np.eye(2), (10, 2, 2)), atol=1e-14)  # theta(0) = 1/2
    np.testing.assert_allclose(G_less[0, 2], -dagger(G_less[2, 0]), atol=1e-14)  # G^<(t, t')^dagger = -G^<(t', t)
    assert np.all(G_ret[0, 2] == 0)  # causality
    iGR = 1j * G_ret[2, 0]
    np.testing.assert_allclose(iGR @ dagger(iGR), np.broadcast_to(np.eye(2), (10, 2, 2)), atol=1e-13)


def test_wigner_greens_one_band_closed_form():
    """After the ramp, G^R(p; T, tau) = -i theta(tau) exp(i (4/E) cos p sin(E tau / 2)), independent of T."""
    model, E = chain(), 0.3
    field = UniformE(E, ramp=2.0)
    p = np.array([[0.4], [2.2]])
    tau = np.array([-1.0, 0.0, 0.7, 2.0, 5.0])
    occ = FermiDirac(0.0, 0.5)
    phase = np.exp(1j * (4 / E) * np.cos(p[:, 0])[None] * np.sin(E * tau / 2)[:, None])
    theta = np.where(tau > 0, 1.0, np.where(tau == 0, 0.5, 0.0))[:, None]
    for T in (5.0, 8.5):
        less, ret = wigner_greens(model, field, p, T, tau, occ, tol=1e-11)
        np.testing.assert_allclose(ret[..., 0, 0], -1j * theta * phase, atol=1e-9)
        # G^< carries the occupation of the canonical momentum k = p + q Abar
        k = p[None] + field.mean_vector_potential(T + tau / 2, T - tau / 2)[:, None, :]
        f = occ(-2 * np.cos(k[..., 0]))
        np.testing.assert_allclose(less[..., 0, 0], 1j * f * phase, atol=1e-9)
    # at tau = 0: G^< = i W_rho
    less, _ = wigner_greens(model, field, p, 5.0, [0.0], occ)
    np.testing.assert_allclose(less[0], 1j * wigner_density(model, field, p, 5.0, occ), atol=1e-9)


def test_current_of_filled_bands_vanishes(qwz):
    k = 2 * np.pi * np.stack(np.meshgrid(np.arange(12) / 12, np.arange(12) / 12, indexing="ij"), -1)
    field = UniformE((0.05, 0.0), ramp=8.0)
    evo = propagate(qwz, field, k, [8.0], tol=1e-10)
    full = np.broadcast_to(np.eye(2, dtype=complex), k.shape[:-1] + (2, 2))
    np.testing.assert_allclose(current_density(qwz, evo, full), 0.0, atol=1e-14)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: propagate(m, UniformE((0.1,)), np.zeros((2, 2)), [1.0]), "components"),
        (lambda m: propagate(m, UniformE((0.1, 0.0)), np.zeros((2, 2)), [2.0, 1.0]), "increasing"),
        (lambda m: propagate(m, UniformE((0.1, 0.0)), np.zeros((2, 2)), [-1.0]), ">= 0"),
        (lambda m: propagate(m, UniformE((0.1, 0.0)), np.zeros((2, 2)), [1.0], tol=0.0), "tol"),
        (lambda m: propagate(m, UniformE((0.1, 0.0)), np.zeros((2, 2)), [1.0], dt=-0.1), "dt"),
        (lambda m: propagate(m, UniformE((0.1, 0.0)), np.zeros((2, 3)), [1.0]), "last axis"),
        (lambda m: wigner_greens(m, UniformE((0.1, 0.0)), np.zeros((1, 2)), 1.0, [4.0], FermiDirac(0, 0.1)), "too small"),
    ],
)
def test_bad_input_raises(qwz, call, match):
    with pytest.raises(ValueError, match=match):
        call(qwz)


def test_unmet_tolerance_raises_convergence_error(qwz, monkeypatch):
    """A tolerance below the rounding of the propagator cannot be met: ConvergenceError once the refinements run out."""
    monkeypatch.setattr(evolution, "_MAX_REFINEMENTS", 2)
    with pytest.raises(ConvergenceError, match="did not reach tol=1e-30"):
        propagate(qwz, UniformE((0.1, 0.0)), np.zeros((1, 2)), [1.0], tol=1e-30)


def test_wrong_types_raise(qwz):
    with pytest.raises(TypeError, match="UniformE"):
        propagate(qwz, (0.1, 0.0), np.zeros((1, 2)), [1.0])
