"""Kinetic observables in uniform E(t) and B (semiclassics.boltzmann): Eqs. 19-20, 24-28, 31, 34, 35.

Independent references: the E-only Vlasov solution and current (semiclassics.efield,
kinetics), the static B predictions (Eqs. 17, 25, 26, 27b, 28b in semiclassics.predictions),
the Moyal first-order Wigner function, Chern numbers (Eq. 35, FHS), Liouville's theorem
for the flow, and integration by parts on the zone.
"""

import functools
import math

import numpy as np
import pytest

from keldysh import models
from keldysh.fields import UniformB, UniformE
from semiclassics import boltzmann as bz
from semiclassics import efield, moyal
from semiclassics import predictions as pred
from semiclassics.characteristics import ABLATIONS, CLASSICAL, FULL, BandDegeneracyError, kinematics
from semiclassics.geometry import chern_numbers_fhs, reciprocal_grid
from semiclassics.kinetics import velocity
from semiclassics.sun import bloch_vectors, gell_mann
from semiclassics.transport import hall_conductivity

E_HAT = np.array([math.cos(0.3), math.sin(0.3)])
#: A metal: mu in the upper band of qwz(1, t0=0.3) (bottom 0.4), its thermal window clear of the saddle energy 1.0.
MU, T = 0.6, 0.08
#: mu in the gap (-1, 0.4).
MU_GAP = -0.3
FRACTIONS = np.array([[0.113, 0.377], [0.271, 0.842], [0.409, 0.155], [0.694, 0.218]])


@pytest.fixture(scope="module")
def qwz():
    return models.qwz(1.0, t0=0.3)


def kpoints(model):
    return FRACTIONS @ model.reciprocal_vectors


def log_slope(x, residual):
    """Least-squares slope of log(residual) against log(x): p for a residual ~ x^p."""
    return float(np.polyfit(np.log(x), np.log(residual), 1)[0])


def fermi(E):
    return pred.fermi(E, MU, T)


def grid_points(model, n):
    return reciprocal_grid(model, n).reshape(-1, model.dim)


# --- limits -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_no_electric_field_leaves_the_equilibrium_stationary(qwz):
    """E = 0: the flow keeps eps-bar, so f-bar(p, t) = n_F(eps-bar(p)) (Eq. 20) and d f-bar = n_F' d eps-bar at all t."""
    k = kpoints(qwz)
    flux = 0.02
    occ = bz.occupations(qwz, flux, None, MU, T, [0.0, 30.0, 90.0], k, gradient=True)
    kin = kinematics(qwz, k, 2 * math.pi * flux)
    np.testing.assert_allclose(occ.fbar, np.broadcast_to(fermi(kin.eps_bar), occ.fbar.shape), atol=1e-12)
    grad = pred.fermi_derivative(kin.eps_bar, MU, T)[..., None] * kin.grad_bar[..., :2]
    np.testing.assert_allclose(occ.gradient, np.broadcast_to(grad, occ.gradient.shape), atol=1e-8)
    assert occ.integration_error < 1e-10


@pytest.mark.slow
def test_zero_magnetic_field_reduces_to_the_e_field_vlasov_solution_and_current(qwz):
    """B = 0: f-bar = f0(eps(p - Delta p)) (semiclassics.efield) and both current forms equal
    sum_n int f_n (d eps_n - qE x Omega_n) (Eq. 29a with kinetics.velocity), on the keldysh erf ramp."""
    field = UniformE(0.03 * E_HAT, ramp=10.0)
    times = np.array([4.0, 10.0, 17.0])
    k = kpoints(qwz)
    occ = bz.occupations(qwz, 0.0, field, MU, T, times, k)
    for i, t in enumerate(times):
        np.testing.assert_allclose(
            occ.fbar[i], efield.accelerated_occupations(qwz, k, -field.vector_potential(t), fermi), atol=1e-11
        )
    grid = 16
    kg = grid_points(qwz, grid)
    for form in bz.CURRENT_FORMS:
        j = bz.predicted_current(qwz, 0.0, field, MU, T, times, form=form, grid=grid)
        for i, t in enumerate(times):
            f = efield.accelerated_occupations(qwz, kg, -field.vector_potential(t), fermi)
            ref = (f[..., None] * velocity(qwz, kg, E=field.field(t))).sum(axis=1).mean(axis=0) / qwz.cell_area
            np.testing.assert_allclose(j[i], ref, atol=1e-11)


def test_density_at_the_switch_on_is_eq17(qwz):
    flux = 0.02
    n = bz.density(qwz, flux, 0.01 * E_HAT, MU, T, [0.0], grid=24)
    assert n.value[0] == pytest.approx(
        pred.equilibrium_density(qwz, UniformB(flux), MU, T, 24) / qwz.cell_area, abs=1e-14
    )
    assert n.quadrature_error < 1e-6


def test_hall_current_in_a_gap_is_the_chern_value(qwz):
    """mu in the gap at T = 0: nothing moves. Eq. 34 gives the quantized Hall current -qE x z C / 2 pi of Eq. 35
    exactly (C from the FHS lattice field strength); Eq. 31 differs by the O(hbar^2) term beta E x int Omega^2 (and a
    longitudinal O(beta^2) part), i.e. relatively by O(beta)."""
    C = chern_numbers_fhs(qwz, 24)
    assert C[0] == pytest.approx(-1.0, abs=1e-10)
    E = 0.01 * E_HAT
    perp = np.array([E_HAT[1], -E_HAT[0]])  # e_hat x z
    sigma = hall_conductivity(qwz, lambda e: pred.fermi(e, MU_GAP, 0.0), 32).sum()  # Eq. 35, units q^2/h
    assert sigma == pytest.approx(-C[0], abs=1e-8)
    deviations = []
    for flux in (0.01, 0.005):
        j34 = bz.predicted_current(qwz, flux, E, MU_GAP, 0.0, [0.0, 50.0], form="eq34", grid=32)
        np.testing.assert_allclose(j34 @ perp, sigma * 0.01 / (2 * math.pi), rtol=1e-12)
        np.testing.assert_allclose(j34 @ E_HAT, 0.0, atol=1e-15)
        j31 = bz.predicted_current(qwz, flux, E, MU_GAP, 0.0, [50.0], grid=32)
        deviations.append(np.abs(j31[0] - j34[1]).max() / np.abs(j34[1]).max())
    assert 1e-4 < deviations[0] < 0.1
    assert deviations[0] / deviations[1] == pytest.approx(2.0, rel=0.05)  # O(beta) relative: the O(hbar^2) term


@pytest.mark.slow
def test_grid_offset_and_nodes_on_the_grid():
    """A shifted grid integrates the same periodic integrand (to its exponentially small quadrature error); a 3D
    Weyl node on the unshifted grid stops the calculation, the offset grid steps around it."""
    qwz = models.qwz(1.0, t0=0.3)
    args = (qwz, 0.01, 0.01 * E_HAT, MU_GAP, 0.0, [10.0])
    np.testing.assert_allclose(
        bz.predicted_current(*args, grid=32, offset=0.5), bz.predicted_current(*args, grid=32), atol=1e-12
    )
    weyl = models.weyl(tilt=0.2)
    with pytest.raises(BandDegeneracyError, match="bands 0 and 1"):
        bz.predicted_density(weyl, 0.005, None, 0.05, 0.1, [0.0], grid=8)
    n = bz.predicted_density(weyl, 0.005, [0.0, 0.0, 0.002], 0.05, 0.1, [0.0, 5.0], grid=8, offset=0.5)
    assert n[0] == pytest.approx(n[1], abs=1e-6)  # no net pumping over the whole zone (the two nodes cancel)


# --- the density matrix --------------------------------------------------------------------------------
def test_transverse_n_band_is_eq26_and_reduces_to_the_single_field_forms(qwz):
    """The derived N-band interband density equals Eq. 26 (two bands) for arbitrary occupations and gradients, the
    E-only form of semiclassics.efield and the B-only form of semiclassics.predictions."""
    k = kpoints(qwz)
    rng = np.random.default_rng(1)
    f, g = rng.random((4, 2)), rng.normal(size=(4, 2, 2))
    E, beta = np.array([0.03, -0.02]), 0.05
    eq26 = bz.transverse_two_band(qwz, k, E, beta, f, g)
    np.testing.assert_allclose(
        bz.transverse_n_band(qwz, k, E, beta, f, g), 0.5 * np.einsum("kc,cab->kab", eq26, gell_mann(2)), atol=1e-16
    )
    _, U = np.linalg.eigh(qwz.bloch(k))
    u = bloch_vectors(U[..., :, 1, None] * np.conj(U[..., None, :, 1]))
    np.testing.assert_allclose((eq26 * u).sum(-1), 0.0, atol=1e-16)
    np.testing.assert_allclose(
        bz.transverse_two_band(qwz, k, E, 0.0, f, g), efield.transverse_density(qwz, k, E, f), atol=1e-16
    )
    kin = kinematics(qwz, k, 0.0)
    fp = functools.partial(pred.fermi_derivative, mu=MU, T=T)
    feq, geq = fermi(kin.eps), fp(kin.eps)[..., None] * kin.grad_eps[..., :2]
    np.testing.assert_allclose(
        bz.transverse_two_band(qwz, k, np.zeros(2), beta, feq, geq),
        pred.transverse_density(qwz, k, UniformB(beta / (2 * math.pi)), fermi, fp),
        atol=1e-16,
    )


def test_transverse_n_band_in_equilibrium_is_the_interband_moyal_part():
    """Three bands (no formula in the paper): in a static B the derived rho_perp equals the interband part of the
    first-order gradient expansion of n_F(H)."""
    model = models.three_band()
    k = kpoints(model)
    beta = 0.07
    fp = functools.partial(pred.fermi_derivative, mu=0.2, T=0.1)
    f = functools.partial(pred.fermi, mu=0.2, T=0.1)
    kin = kinematics(model, k, 0.0)
    W1 = moyal.wigner_first_order(model, k, UniformB(beta / (2 * math.pi)), f, fp)
    U, Uh = kin.U, np.conj(np.swapaxes(kin.U, -1, -2))
    interband = U @ ((Uh @ W1 @ U) * (1 - np.eye(3))) @ Uh
    perp = bz.transverse_n_band(model, k, np.zeros(2), beta, f(kin.eps), fp(kin.eps)[..., None] * kin.grad_eps[..., :2])
    np.testing.assert_allclose(perp, interband, atol=1e-15)
    assert np.abs(interband).max() > 1e-3


@pytest.mark.slow
def test_wigner_structure_and_the_static_limit(qwz):
    """Hermitian; Tr W = sum_n (1 - beta Omega_n) f-bar_n (Eq. 19 summed = the Eq. 28a integrand); with E = 0 it is
    the static Eqs. 25-26 of semiclassics.predictions up to O(beta^2) (those use n_F(eps) in the bracket)."""
    k = kpoints(qwz)
    flux = 0.01
    beta = 2 * math.pi * flux
    W = bz.predicted_wigner(qwz, flux, 0.01 * E_HAT, MU, T, [0.0, 40.0], k)
    np.testing.assert_allclose(W, np.conj(np.swapaxes(W, -1, -2)), atol=1e-16)
    occ = bz.occupations(qwz, flux, 0.01 * E_HAT, MU, T, [0.0, 40.0], k, estimate_error=False)
    omega = kinematics(qwz, k, beta).omega[..., 2]
    np.testing.assert_allclose(
        np.trace(W, axis1=-2, axis2=-1).real, ((1 - beta * omega) * occ.fbar).sum(-1), atol=1e-14
    )
    fp = functools.partial(pred.fermi_derivative, mu=MU, T=T)
    residual = []
    for flux in (0.004, 0.002):
        static = pred.density_matrix(qwz, k, UniformB(flux), fermi, fp)
        residual.append(np.abs(bz.predicted_wigner(qwz, flux, None, MU, T, [25.0], k)[0] - static).max())
    assert residual[0] / residual[1] == pytest.approx(4.0, rel=0.05)


@pytest.mark.slow
def test_rival_density_matrices(qwz):
    """Wave packet (Eq. 24): the same trace (Eqs. 27a = 28a), other band densities. Eq. 21 without its interband
    couplings: not stationary in equilibrium (E = 0) at O(beta), where the paper's W is. Without the constraint
    equation the band densities start as n_F(eps-bar) instead of Eq. 25."""
    k = kpoints(qwz)
    flux = 0.01
    beta = 2 * math.pi * flux
    E = 0.01 * E_HAT
    paper = bz.predicted_wigner(qwz, flux, E, MU, T, [30.0], k)
    wp = bz.predicted_wigner_wavepacket(qwz, flux, E, MU, T, [30.0], k)
    trace = functools.partial(np.trace, axis1=-2, axis2=-1)
    np.testing.assert_allclose(trace(wp), trace(paper), atol=1e-14)
    assert np.abs(wp - paper).max() > 1e-3
    still = bz.predicted_wigner(qwz, flux, None, MU, T, [0.0, 60.0], k)
    np.testing.assert_allclose(still[1], still[0], atol=1e-12)
    kin = kinematics(qwz, k, beta)
    band = lambda W: np.real(np.einsum("kan,kab,kbn->kn", np.conj(kin.U), W, kin.U))
    f0 = fermi(kin.eps_bar)
    mixing = band(still[0]) - f0  # Eq. 25: -sigma (beta Omega / 2)(f_sigma - f_-sigma)
    np.testing.assert_allclose(mixing[:, 1], -0.5 * beta * kin.omega[:, 1, 2] * (f0[:, 1] - f0[:, 0]), atol=1e-14)
    uncoupled = bz.predicted_wigner_uncoupled(qwz, flux, None, MU, T, [0.0, 60.0], k)
    np.testing.assert_allclose(uncoupled[0], still[0], atol=1e-14)
    assert np.abs(uncoupled[1] - uncoupled[0]).max() > 0.05 * np.abs(mixing).max()
    nc = bz.predicted_wigner_no_constraint(qwz, flux, None, MU, T, [0.0], k)[0]
    assert np.abs(band(nc) - f0).max() < 0.1 * np.abs(mixing).max()  # n_F(eps-bar) up to O(beta^2)


# --- spin density ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_spin_density(qwz):
    """t = 0: Eq. 28b and Eq. 27b of the static predictions (per unit area). Out of equilibrium: the gradient term
    of Eq. 26 integrates by parts to -(1/2) int u x {F, u} = -2 beta int F Omega u (F = f_up + f_dn,
    d_x u x d_y u = -2 Omega u), a check of d f-bar / dp from the variational equations."""
    flux, grid = 0.01, 16
    beta = 2 * math.pi * flux
    fp = functools.partial(pred.fermi_derivative, mu=MU, T=T)
    wp = bz.predicted_spin_density_wavepacket(qwz, flux, None, MU, T, [0.0], grid=grid)
    np.testing.assert_allclose(wp[0], pred.spin_density_wavepacket(qwz, UniformB(flux), fermi, grid), atol=1e-15)
    paper = bz.predicted_spin_density(qwz, flux, None, MU, T, [0.0], grid=grid)
    assert np.abs(paper[0] - pred.spin_density(qwz, UniformB(flux), fermi, fp, grid)).max() < beta**2
    E, times, grid = 0.02 * E_HAT, np.array([25.0]), 24
    spin = bz.predicted_spin_density(qwz, flux, E, MU, T, times, grid=grid)[0]
    k = grid_points(qwz, grid)
    f = bz.occupations(qwz, flux, E, MU, T, times, k, estimate_error=False).fbar[0]
    kin = kinematics(qwz, k, beta)
    u = bloch_vectors(kin.U[..., :, 1, None] * np.conj(kin.U[..., None, :, 1]))
    no_gradient = bz.transverse_two_band(qwz, k, E, beta, f, np.zeros((len(k), 2, 2)))
    gradient_term = -2 * beta * (f.sum(-1) * kin.omega[:, 1, 2])[:, None] * u
    by_parts = (f[:, 1] - f[:, 0])[:, None] * u + no_gradient + gradient_term
    # the trapezoid rule integrates by parts up to its (exponentially small) quadrature error: 8e-8 on this grid
    np.testing.assert_allclose(spin, by_parts.mean(0), atol=5e-7)
    assert np.abs(gradient_term.mean(0)).max() > 2e-3


# --- conservation and the terms of the theory (slow) ----------------------------------------------------------
@pytest.mark.slow
def test_particle_conservation(qwz):
    """2D, E in the plane: the flow preserves dp / (1 + beta Omega_n) exactly, so int f-bar / (1 + beta Omega) is
    constant (to the integration and quadrature floors); Eq. 28a's weight 1 - beta Omega equals it only to O(hbar),
    so its drift is O(lambda^2) (flux, E ~ lambda at fixed lambda t). Without the anomalous velocity, or without
    Omega x (v x B) and Z_c, the density is not conserved at O(lambda)."""
    grid = 32
    k = grid_points(qwz, grid)
    lams = np.array([0.04, 0.02, 0.01])
    drift28, invariant = [], []
    for lam in lams:
        beta = 2 * math.pi * lam
        omega = kinematics(qwz, k, beta).omega[..., 2]
        f = bz.occupations(qwz, lam, lam * E_HAT, MU, T, [0.0, 0.5 / lam], k, estimate_error=False).fbar
        inv = (f / (1 + beta * omega)).mean(1).sum(-1)
        n = ((1 - beta * omega) * f).mean(1).sum(-1) / qwz.cell_area
        invariant.append(abs(inv[1] - inv[0]))
        drift28.append(abs(n[1] - n[0]))
    np.testing.assert_allclose(
        bz.predicted_density(qwz, lams[-1], lams[-1] * E_HAT, MU, T, [0.0, 0.5 / lams[-1]], grid=grid), n, atol=1e-15
    )
    assert max(invariant) < 5e-8  # the quadrature floor of this grid
    assert all(inv < 0.1 * drift for inv, drift in zip(invariant, drift28))
    assert log_slope(lams, drift28) == pytest.approx(2.0, abs=0.3)
    lam = 0.02
    for name in ("no_anomalous_velocity", "no_phase_space"):
        n = bz.density(
            qwz, lam, lam * E_HAT, MU, T, [0.0, 0.5 / lam], terms=ABLATIONS[name], grid=grid, estimate_error=False
        ).value
        assert abs(n[1] - n[0]) > 10 * drift28[1]


@pytest.mark.slow
def test_terms_of_the_theory_act_at_first_order(qwz):
    """At fixed lambda t (flux, E ~ lambda): each ablation moves the current by O(lambda); Eq. 31 agrees with the
    current of the paper's own density matrix, int Tr(W d_p h) with W of Eqs. 25-26, to O(lambda^2); Eq. 34 as
    printed (unbarred eps with the evolved f-bar) does not."""
    grid = 16
    k = grid_points(qwz, grid)
    lams = np.array([0.04, 0.02, 0.01])
    diffs = {name: [] for name in [*ABLATIONS, "eq34", "trace"]}
    for lam in lams:
        times = [0.5 / lam]
        args = (qwz, lam, lam * E_HAT, MU, T, times)
        full = bz.predicted_current(*args, grid=grid)[0]
        for name, terms in ABLATIONS.items():
            diffs[name].append(np.abs(bz.predicted_current(*args, terms=terms, grid=grid)[0] - full).max())
        diffs["eq34"].append(np.abs(bz.predicted_current_eq34(*args, grid=grid)[0] - full).max())
        W = bz.predicted_wigner(*args, k)[0]
        trace = np.einsum("kab,kiba->ki", W, qwz.bloch_derivative(k)).real.mean(0) / qwz.cell_area
        diffs["trace"].append(np.abs(trace - full).max())
    for name in ABLATIONS:
        assert log_slope(lams, diffs[name]) == pytest.approx(1.0, abs=0.25), name
    assert log_slope(lams, diffs["trace"]) == pytest.approx(2.0, abs=0.25)
    assert log_slope(lams, diffs["eq34"]) < 1.5
    assert diffs["eq34"][-1] > 3 * diffs["trace"][-1]
    assert CLASSICAL.label == "classical" and FULL.label == "full"


# --- bad input ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_bad_input_names_the_argument(qwz):
    k = kpoints(qwz)
    with pytest.raises(ValueError, match="k must have shape"):
        bz.occupations(qwz, 0.01, None, MU, T, [1.0], k[:, :1])
    with pytest.raises(ValueError, match="times"):
        bz.predicted_current(qwz, 0.01, None, MU, T, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="mu"):
        bz.predicted_density(qwz, 0.01, None, np.nan, T, [1.0])
    with pytest.raises(ValueError, match="grid"):
        bz.predicted_current(qwz, 0.01, None, MU, T, [1.0], grid=4)
    with pytest.raises(ValueError, match="form"):
        bz.predicted_current(qwz, 0.01, None, MU, T, [1.0], form="eq35")
    with pytest.raises(ValueError, match="form"):
        bz.predicted_wigner(qwz, 0.01, None, MU, T, [1.0], k, form="moyal")
    with pytest.raises(TypeError, match="terms"):
        bz.predicted_current(qwz, 0.01, None, MU, T, [1.0], terms="classical")
    with pytest.raises(ValueError, match="E must be"):
        bz.predicted_wigner(qwz, 0.01, [0.1, 0.2, 0.3], MU, T, [1.0], k)
    with pytest.raises(ValueError, match="two bands"):
        bz.predicted_spin_density(models.three_band(), 0.01, None, MU, T, [1.0])
    with pytest.raises(ValueError, match="positions"):
        bz.predicted_spin_density(models.haldane(), 0.01, None, 0.0, T, [1.0])
    with pytest.raises(ValueError, match="T > 0"):
        bz.predicted_spin_density(qwz, 0.01, 0.01 * E_HAT, MU, 0.0, [1.0])
    with pytest.raises(ValueError, match="d = 2, 3; got dim=1"):
        bz.occupations(models.TightBinding({(1,): np.eye(2)}), 0.0, None, MU, T, [1.0], np.zeros((1, 1)))
    with pytest.raises(BandDegeneracyError, match="band"):
        bz.predicted_wigner(models.qwz(2.0), 0.0, [0.1, 0.0], 0.0, T, [1.0], np.array([[math.pi + 0.05, math.pi]]))
