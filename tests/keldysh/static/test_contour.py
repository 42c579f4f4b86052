"""The contour route: Zolotarev's rational filter, agreement with the Chebyshev route, honest quadrature
bounds against the magnetic supercell route, the choice of method="auto", and its failures."""

from pathlib import Path

import numpy as np
import pytest

from keldysh import UniformB, models
from keldysh.errors import ConvergenceError, GapError
from keldysh.exact import wigner_kernel
from keldysh.io import read_hr
from keldysh.spectral import BandWindow, FermiDirac, band_edges, band_window
from keldysh.static import contour, resolvent
from keldysh.static.budget import Budget, BudgetError
from keldysh.static.chebyshev import chebyshev_kernels
from keldysh.static.contour import (
    Partition,
    RationalFilter,
    contour_kernels,
    partition,
    work_per_cell,
    zolotarev,
    zolotarev_estimate,
)
from keldysh.static.kernel import wigner_sup
from keldysh.static.patch import shell_cells

QWZ = models.qwz(1.0, t0=0.3)  # bands [-2.4, -1.0] and [0.4, 3.6]
DATA = Path(__file__).parents[2] / "data"
K = np.random.default_rng(11).uniform(-np.pi, np.pi, (200, 2))


def chern8():
    return read_hr(DATA / "chern8_hr.dat", lattice_vectors=np.eye(2), dims=2, centres=DATA / "chern8_centres.xyz")


def exact_zero_field(model, f, k=K):
    e, U = np.linalg.eigh(model.bloch(k))
    return np.einsum("kab,kb,kcb->kac", U, f(e), U.conj())


def w_distance(a, b) -> float:
    """max over k and elements of |W_a(k) - W_b(k)| of two kernels (missing cells count as zero)."""
    S = max(a.range, b.range)
    cells = shell_cells(S)
    diff = np.zeros((len(cells),) + a.values.shape[1:], dtype=complex)
    diff[: len(a.values)] += a.values
    diff[: len(b.values)] -= b.values
    return wigner_sup(cells, diff)


# --------------------------------------------------------------------------- the filter


@pytest.mark.parametrize("ell", [0.05, 0.2, 0.5])
def test_zolotarev_error_follows_the_elliptic_rate(ell):
    """The equioscillation error falls like 4 exp(-2 pi r K(l) / K(l')) (Zolotarev), within 30%."""
    for r in (2, 4, 6):
        _, _, err = zolotarev(ell, r)
        if err > 1e-13:
            assert err == pytest.approx(zolotarev_estimate(ell, r), rel=0.3)


def test_filter_is_the_moebius_image_of_zolotarev_and_nests():
    """phi(E) in pole form = (1 + Z(T(E))) / 2 evaluated directly; r / 3 of the poles are the r = 3 rule's."""
    part = Partition((-2.46, -0.93, 0.33, 3.66), (-2.46, 3.66), "qwz band 0")
    rule = RationalFilter.zolotarev(part, 9)
    gamma, a, _ = zolotarev(part.ell, 9)
    (al, be), (ga, de) = part.mobius
    E = np.linspace(-6, 8, 3001)
    w = (al * E + be) / (ga * E + de)
    Z = (a * w[:, None] / (w[:, None] ** 2 + gamma**2)).sum(axis=1)
    assert np.abs(rule(E) - (1 + Z) / 2).max() < 1e-13
    # the map sends the four points to l, 1, -1, -l
    T = (al * np.array(part.points) + be) / (ga * np.array(part.points) + de)
    assert np.allclose(T, [part.ell, 1, -1, -part.ell], atol=1e-13)
    small, index = rule.nested()
    assert small.order == 3 and np.allclose(rule.poles[index], small.poles, rtol=1e-12, atol=1e-12)
    # moments: E^m phi(E) from the pole weights and the polynomial part
    for m in (1, 2):
        assert np.abs(rule(E, m) - E**m * rule(E)).max() < 1e-11 * np.abs(E).max() ** m


def test_filter_error_is_the_zolotarev_error_on_the_spectral_set():
    """On the whole arcs the filter error is half Zolotarev's; the poles stay off the real axis."""
    part = Partition((-2.46, -0.93, 0.33, 3.66), (-2.46, 3.66), "qwz band 0")
    for r in (3, 6):
        rule = RationalFilter.zolotarev(part, r)
        assert rule.error(0) == pytest.approx(rule.zolotarev_error / 2, rel=1e-3)
        assert np.all(rule.poles.imag > 0.01)


# --------------------------------------------------------------------------- zero field and the two routes


@pytest.mark.parametrize("band, moment", [(0, 0), (1, 1)])
def test_zero_field_projector_and_moment_are_exact(band, moment):
    """W(H^m Pi_n)(k) = h(k)^m P_n(k) at zero field, within the estimate, the estimate within tol."""
    f = band_window(QWZ, band, moment)
    kern = contour_kernels(QWZ, UniformB(0.0), [f], tol=1e-10)[0]
    assert kern.method == "contour"
    assert np.abs(kern.wigner(K) - exact_zero_field(QWZ, f)).max() <= kern.error <= 1e-10


CASES = {  # model, band, tol (the 8-orbital model's Chebyshev recursion is long: a looser tol)
    "qwz": (lambda: QWZ, 0, 1e-9),
    "three_band": (models.three_band, 1, 1e-9),
    "haldane": (models.haldane, 0, 1e-9),
    "chern8": (chern8, 3, 1e-5),
}


@pytest.mark.slow
@pytest.mark.parametrize("flux", [1e-3, 0.0137])
@pytest.mark.parametrize("name", list(CASES))
def test_contour_and_chebyshev_routes_agree(name, flux):
    """Projector and first moment: the two routes differ in W by less than the sum of their estimates."""
    factory, band, tol = CASES[name]
    model = factory()
    field = UniformB(flux)
    funcs = [band_window(model, band, 0), band_window(model, band, 1)]
    a = contour_kernels(model, field, funcs, tol=tol)
    b = chebyshev_kernels(model, field, funcs, tol=tol)
    for ka, kb in zip(a, b):
        assert ka.error <= tol and kb.error <= tol
        assert w_distance(ka, kb) <= ka.error + kb.error


def test_zero_temperature_fermi_projector_is_the_lower_band():
    """n_F at T = 0 with mu in the gap = Pi_0, both by the contour route (qwz, flux 1e-3)."""
    field = UniformB(1e-3)
    a = contour_kernels(QWZ, field, [FermiDirac(-0.3, 0.0)], tol=1e-9)[0]
    b = contour_kernels(QWZ, field, [band_window(QWZ, 0)], tol=1e-9)[0]
    assert w_distance(a, b) <= a.error + b.error


@pytest.mark.slow
def test_cold_fermi_function_in_a_gap_matches_the_chebyshev_route():
    """T = 0.02 with mu in the gap (tails ~ e^-25): the projector plus the tail term, against n_F by Chebyshev."""
    field, f = UniformB(1e-3), FermiDirac(-0.3, 0.02)
    a = contour_kernels(QWZ, field, [f], tol=1e-9)[0]
    b = wigner_kernel(QWZ, field, f, tol=1e-9, method="chebyshev")
    assert w_distance(a, b) <= a.error + b.error


# --------------------------------------------------------------------------- honest estimates


@pytest.mark.slow
@pytest.mark.parametrize(
    "factory, band, flux",
    [(lambda: QWZ, 0, 1 / 20), (models.three_band, 1, 1 / 40), (models.haldane, 1, 1 / 30)],
    ids=["qwz 1/20", "three_band 1/40", "haldane 1/30"],
)
def test_quadrature_bound_is_honest_against_the_supercell_route(factory, band, flux):
    """A deliberately short rule (r = 3, filter error ~1e-4): its W error against the supercell route at rational
    flux stays below the estimate, which the quadrature term dominates and overstates by less than 100x."""
    model = factory()
    field = UniformB(flux)
    for moment in (0, 1):
        f = band_window(model, band, moment)
        ref = wigner_kernel(model, field, f, tol=1e-11, method="supercell")
        rule = RationalFilter.zolotarev(partition(f, model, field), 3)
        kern = contour._kernels(model, field, [f], rule, 0.0, 1e-9, 1000, Budget.unlimited())[0]
        actual = np.abs(kern.wigner(K) - ref.wigner(K)).max()
        others = kern.error - kern.error_terms["function"]
        assert kern.error_terms["function"] > 100 * (others + ref.error)
        assert actual <= kern.error
        assert actual > 0.01 * kern.error


@pytest.mark.slow
def test_full_tolerance_estimate_is_honest_against_the_supercell_route():
    """method="contour" at tol 1e-8 (qwz, flux 1/20): actual W error <= estimate <= tol."""
    field = UniformB(1 / 20)
    for f in (band_window(QWZ, 1, 0), band_window(QWZ, 1, 1)):
        ref = wigner_kernel(QWZ, field, f, tol=1e-12, method="supercell")
        kern = wigner_kernel(QWZ, field, f, tol=1e-8, method="contour")
        assert np.abs(kern.wigner(K) - ref.wigner(K)).max() <= kern.error <= 1e-8


def test_whole_lattice_window_bound_is_honest():
    """resolvent_columns without an output box: the l1 error over every cell stays below the window bound."""
    field, z = UniformB(0.0137), 0.2 + 0.3j
    cells, loose, info = resolvent.resolvent_columns(QWZ, field, [z], None, 1e-5)
    _, tight, tight_info = resolvent.resolvent_columns(QWZ, field, [z], None, 1e-14)
    n = len(cells)
    actual = np.abs(loose[0] - tight[0, :n]).sum(axis=(0, 1)).max() + np.abs(tight[0, n:]).sum(axis=(0, 1)).max()
    assert 1e-12 < actual <= info["error"][0] <= 1e-5
    assert info["radius"][0] < tight_info["radius"][0]


def test_residual_roundoff_bound_covers_the_refinement():
    """The unrefined solve's residual bound covers its actual rounding (the refined solve's correction)."""
    field, z = UniformB(0.0137), -0.4 + 0.05j
    _, correction, bound = resolvent._solve_cylinder(models.three_band(), field, z, 20)
    l1 = np.abs(np.fft.ifft(correction, axis=0)).sum(axis=(0, 1, 2)).max()
    assert 0 < l1 <= bound < 1e-10


# --------------------------------------------------------------------------- method="auto"


def test_auto_keeps_the_chebyshev_route_for_few_orbitals_and_takes_the_contour_for_many():
    """The rule of keldysh.exact: the smaller estimated work per cell (the default-suite models stay on Chebyshev)."""
    field = UniformB(2.7e-3)
    for model, band in ((QWZ, 0), (models.three_band(), 1)):
        cheb, cont = work_per_cell(band_window(model, band, 1), model, field, 1e-10)
        assert cheb < cont
    rng = np.random.default_rng(0)
    N = 8
    hop = {(0, 0): np.diag(1.2 * np.arange(N)).astype(complex)}
    for R in [(1, 0), (0, 1), (1, 1), (1, -1), (2, 0), (0, 2)]:
        hop[R] = 0.02 * (rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N)))
    from keldysh import TightBinding

    many = TightBinding(hop)
    window = band_window(many, 0, edges=band_edges(many, certify=False))  # a plan needs no certified edges
    cheb, cont = work_per_cell(window, many, field, 1e-9)
    assert cont < cheb / 3
    # a metal is not a projector: the contour route does not apply
    assert work_per_cell(FermiDirac(0.8, 0.1), QWZ, field, 1e-10)[1] == np.inf


# --------------------------------------------------------------------------- failures


def test_no_room_for_a_contour_names_the_band_and_the_gap():
    """A strong field on a small gap (qwz near m = 2): GapError before any solve, naming the band and its gap."""
    model = models.qwz(1.9)
    f = band_window(model, 0)
    with pytest.raises(GapError, match=r"band 0, upper gap \(") as err:
        contour_kernels(model, UniformB(0.2), [f], tol=1e-8)
    assert "no room" in str(err.value)


@pytest.mark.slow
def test_spectrum_in_the_transition_region_is_reported(monkeypatch):
    """Margins too thin for the field (patched to 0.1% of the gap): Landau levels enter the transition region,
    the idempotency check fails after widening twice, GapError naming the band and the gap."""
    monkeypatch.setattr(contour, "GAP_MARGIN", 0.001)
    monkeypatch.setattr(contour, "FIELD_SHIFT", 0.0)
    model = models.qwz(1.9)
    with pytest.raises(GapError, match=r"band 0, upper gap .*idempotency check failed"):
        contour_kernels(model, UniformB(0.02), [band_window(model, 0)], tol=1e-8)


def test_functions_outside_the_route_are_refused():
    field = UniformB(1e-3)
    with pytest.raises(ValueError, match="mu=0.8 lies in band 1"):
        contour_kernels(QWZ, field, [FermiDirac(0.8, 0.1)], tol=1e-9)
    with pytest.raises(ValueError, match="thermal tails"):
        contour_kernels(QWZ, field, [FermiDirac(-0.3, 0.3)], tol=1e-9)
    with pytest.raises(ValueError, match="band windows and Fermi functions"):
        contour_kernels(QWZ, field, [np.cos], tol=1e-9)
    with pytest.raises(ValueError, match="no gap"):
        contour_kernels(QWZ, field, [BandWindow(None, None, 1, 0)], tol=1e-9)
    with pytest.raises(ConvergenceError, match="roundoff floor"):
        contour_kernels(QWZ, field, [band_window(QWZ, 0)], tol=1e-30)


def test_budget_overrun_is_refused_before_any_solve(monkeypatch):
    calls = []
    real = resolvent._solve_cylinder
    monkeypatch.setattr(resolvent, "_solve_cylinder", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.raises(BudgetError, match="contour route"):
        contour_kernels(QWZ, UniformB(1e-3), [band_window(QWZ, 0)], tol=1e-9, budget=Budget(memory_gb=1e-6))
    assert not calls
    with pytest.raises(BudgetError, match="contour route"):  # the probes fit, the planned windows do not
        contour_kernels(QWZ, UniformB(1e-3), [band_window(QWZ, 0)], tol=1e-9, budget=Budget(seconds=1e-4))
