"""The Weyl-semimetal comparisons (Eqs. 17, 33, 34, 36) of :mod:`validation.catalog.weyl`: what each one tests.

Orders: a formula exact to O(hbar) leaves residuals of order 2, one wrong at O(hbar) of order 1, and an
identity that holds to all orders (Bloch's theorem, Streda counting of the insulating boundary planes)
leaves every point at the error floor. Beyond orders, each test asserts the physics the comparison
stands for: the anomaly is linear in E and topological (the universal -qE beta / (4 pi^2) of one node)
up to the thermal occupation exp(-gap / T) of the k_z strips that cross the planes, and the regime
columns follow the Landau levels counted on the exact spectrum, which approach the continuum levels
of the node's cone (:mod:`semiclassics.landau`) as beta shrinks.
"""

from __future__ import annotations

import numpy as np
import pytest

from keldysh.fields import UniformB
from keldysh.layered import level_crossings, level_gap, slice_spectrum
from keldysh.spectral import FermiDirac
from semiclassics.characteristics import magnetic_strength
from semiclassics.chiral import nodes_in_slab, weyl_nodes
from semiclassics.landau import first_level, levels_crossing, weyl_cone
from validation import ALL_ORDERS, EXACT, FAILS, get
from validation.catalog import weyl
from validation.convergence import EXACT_MIN_ORDER, fit_order
from validation.testing import assert_order

NAMES = [
    "cme_bloch[weyl]",
    "cme_chiral_imbalance[weyl]",
    "cme_node_resolved_printed[weyl]",
    "cme_node_resolved[weyl]",
    "chiral_anomaly_printed[weyl]",
    "chiral_anomaly[weyl]",
    "chiral_anomaly_E[weyl]",
    "chiral_anomaly_regimes[weyl]",
    "density_quantum_limit[weyl]",
]


@pytest.fixture(scope="module")
def weyl_results(validation_run):
    return validation_run.many(NAMES, workers=None)


def _relative(p) -> float:
    return p.residual / abs(p.exact_at_max)


def _thermal(p) -> float:
    """exp(-gap / T): the Boltzmann factor across the gap between mu and the levels of the swept strips."""
    return float(np.exp(-p.annotations["strip_gap_over_T"]))


# --- orders -------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["cme_bloch[weyl]", "cme_chiral_imbalance[weyl]", "chiral_anomaly[weyl]", "chiral_anomaly_regimes[weyl]"]
)
def test_agrees_at_every_field(weyl_results, name):
    assert_order(name, verdict=ALL_ORDERS, workers=None)


@pytest.mark.slow
def test_node_resolved_printed_fails_at_order_hbar(weyl_results):
    assert_order("cme_node_resolved_printed[weyl]", min_order=0.8, max_order=1.2, verdict=FAILS, workers=None)


@pytest.mark.slow
def test_node_resolved_with_eps_bar_is_exact_to_order_hbar(weyl_results):
    assert_order("cme_node_resolved[weyl]", min_order=EXACT_MIN_ORDER, max_order=2.5, verdict=EXACT, workers=None)


@pytest.mark.slow
def test_anomaly_printed_measure_is_2_pi_times_the_exact_rate(weyl_results):
    """The printed measure dp/(2 pi hbar)^(d-1) gives 2 pi times the rate: a residual (2 pi - 1) |exact|, linear in B."""
    result = assert_order("chiral_anomaly_printed[weyl]", min_order=0.8, max_order=1.2, verdict=FAILS, workers=None)
    for p in result.points:
        assert p.predicted_at_max / p.exact_at_max == pytest.approx(2 * np.pi, rel=1e-6)


# --- the anomaly: linear in E, topological, up to the thermal tail of the strips --------------------------------


@pytest.mark.slow
def test_anomaly_residual_is_the_thermal_tail_of_the_strips(weyl_results):
    """chiral_anomaly[weyl]: relative residual <= exp(-gap/T) at every field, with the same prefactor (within a factor
    2) while the Boltzmann factor itself changes by orders of magnitude: the residual is that thermal occupation."""
    points = weyl_results["chiral_anomaly[weyl]"].points
    ratios = np.array([_relative(p) / _thermal(p) for p in points])
    thermal = np.array([_thermal(p) for p in points])
    assert thermal.max() / thermal.min() > 100, thermal  # the test spans a range of gaps
    assert np.all(ratios <= 1) and ratios.max() / ratios.min() < 2, ratios


@pytest.mark.slow
def test_anomaly_is_linear_in_E_until_the_strips_reach_the_pockets(weyl_results):
    """chiral_anomaly_E[weyl]: Eq. 33 is linear in E; the exact number departs from it only by the thermal
    occupation of the strips, relative residual <= exp(-gap/T), and that factor grows as the kinetic shift
    approaches the Fermi pockets. The points above the floor rise much faster than any term of an expansion in
    E (log-log slope > 5): an exponential onset in qE t, not an order."""
    points = sorted(weyl_results["chiral_anomaly_E[weyl]"].points, key=lambda p: p.sweep_value)
    gaps = [p.annotations["strip_gap_over_T"] for p in points]
    assert np.all(np.diff(gaps) < 0), gaps
    assert points[-1].annotations["shift_over_pocket_distance"] < 1
    for p in points:
        assert _relative(p) <= _thermal(p), (p.sweep_value, _relative(p), _thermal(p))
    above = [p for p in points if not p.at_floor]
    assert points[0].at_floor and len(above) >= 3, [p.at_floor for p in points]
    assert fit_order([p.sweep_value for p in above], [p.residual for p in above]).order > 5


@pytest.mark.slow
def test_anomaly_is_topological_in_both_regimes(weyl_results):
    """chiral_anomaly_regimes[weyl]: at every point, from the quantum limit into the semiclassical regime, the exact
    rate equals the universal -qE beta / (4 pi^2) of the chirality -1 node within the solver's tolerance; the strips
    are insulating enough that their thermal occupation stays below that tolerance."""
    comparison = get("chiral_anomaly_regimes[weyl]")
    result = weyl_results[comparison.name]
    assert result.verdict == ALL_ORDERS, result.summary()
    e = weyl.ANOMALY_REGIMES
    for p in result.points:
        universal = -e.qE * UniformB(p.lattice_value).beta() / (4 * np.pi**2)
        assert _thermal(p) * abs(universal) < comparison.exact_tol, p.annotations
        assert abs(p.exact_at_max - universal) <= 2 * comparison.exact_tol, (p.lattice_value, p.exact_at_max, universal)
        assert abs(p.predicted_at_max - universal) <= p.floor, (p.lattice_value, p.predicted_at_max, universal)
    assert {"quantum limit", "semiclassical"} <= {p.annotations["regime"] for p in result.points}


@pytest.mark.parametrize("flux", [1 / 8, 1 / 48])
def test_anomaly_regimes_strips_obey_streda_counting(flux):
    """The slices that cross the planes by the read-out time (kz in [-s, 0] and [pi - s, pi], s = qE t) hold
    Streda's n = 1 - flux C (C_0 = 0, C_pi = -1) up to the thermal occupation across their gap to mu."""
    e, model, field = weyl.ANOMALY_REGIMES, weyl.QL_MODEL(), UniformB(flux)
    (lo, zero), (pi_lo, pi) = e.strips
    kz = np.concatenate([np.linspace(lo, zero, 5), np.linspace(pi_lo, pi, 5)])
    n = slice_spectrum(model, field, kz).density(FermiDirac(e.mu, e.T))
    gap = min(level_gap(model, field, e.mu, strip, n_kz=8) for strip in e.strips)
    np.testing.assert_allclose(n, np.repeat([1.0, 1.0 + flux], 5), rtol=0, atol=np.exp(-gap / e.T) + 1e-14)


# --- density of a node's half: Eq. 17 to first order in beta ------------------------------------------------


@pytest.mark.slow
def test_density_is_exact_to_order_hbar_in_both_regimes(weyl_results):
    """density_quantum_limit[weyl]: exact to O(hbar) over the sweep, and on its semiclassical points alone; the
    first-order term is right at every point (the residual is smaller than the O(beta) term itself), and on the
    semiclassical points the residual falls faster than that term."""
    result = weyl_results["density_quantum_limit[weyl]"]
    assert result.verdict == EXACT, result.summary()
    points = sorted(result.points, key=lambda p: -p.lattice_value)
    for p in points:
        assert p.residual < abs(p.annotations["field_term"]), (p.lattice_value, p.residual, p.annotations)
    semiclassical = [p for p in points if p.annotations["regime"] == "semiclassical"]
    assert len(semiclassical) >= 3
    relative = [p.residual / abs(p.annotations["field_term"]) for p in semiclassical]
    assert np.all(np.diff(relative) < 0), relative
    fit = fit_order([p.lattice_value for p in semiclassical], [p.residual for p in semiclassical])
    assert fit.order >= EXACT_MIN_ORDER, fit


# --- regime columns ------------------------------------------------------------------------------------------


def _check_regime_columns(points, suffixes):
    """The label follows the exact counts; the counts never fall as the field falls (the levels sink with sqrt(beta))."""
    points = sorted(points, key=lambda p: -p.lattice_value)
    for p in points:
        levels = [p.annotations["landau_levels_at_mu" + s] for s in suffixes]
        assert p.annotations["regime"] == weyl.regime_label(levels), p.annotations
    for s in suffixes:
        counts = [p.annotations["landau_levels_at_mu" + s] for p in points]
        assert np.all(np.diff(counts) >= 0), (s, counts)
    return points


@pytest.mark.slow
def test_density_sweep_runs_from_the_quantum_limit_into_the_semiclassical_regime(weyl_results):
    points = _check_regime_columns(weyl_results["density_quantum_limit[weyl]"].points, [""])
    assert points[0].annotations["regime"] == "quantum limit" and points[-1].annotations["regime"] == "semiclassical"


@pytest.mark.slow
def test_anomaly_regimes_sweep_spans_both_regimes(weyl_results):
    points = _check_regime_columns(weyl_results["chiral_anomaly_regimes[weyl]"].points, ["_0_pi", "_pi_2pi"])
    assert points[0].annotations["regime"] == "quantum limit" and points[-1].annotations["regime"] == "semiclassical"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["chiral_anomaly[weyl]", "chiral_anomaly_printed[weyl]", "chiral_anomaly_E[weyl]"])
def test_anomaly_of_the_offset_model_is_in_the_quantum_limit(weyl_results, name):
    """Nodes at +-0.2, mu = 0: the first massive level of each cone lies beyond mu (continuum eps_1 > |mu - eps_K|) and
    only the chiral level crosses mu on the exact spectrum of either half."""
    points = _check_regime_columns(weyl_results[name].points, ["_0_pi", "_pi_2pi"])
    for p in points:
        assert p.annotations["regime"] == "quantum limit", p.annotations
        for s in ("_0_pi", "_pi_2pi"):
            assert p.annotations["first_level_over_mu" + s] > 1
            assert p.annotations["landau_levels_at_mu" + s] == p.annotations["landau_levels_formula" + s] == 1


@pytest.mark.parametrize("flux", [1 / 48, 1 / 64])
@pytest.mark.parametrize("half", weyl.HALVES, ids=["hole pocket", "electron pocket"])
def test_exact_landau_levels_approach_the_continuum_cone(flux, half):
    """At energies halfway (in level index) between the continuum levels n and n + 1 of the node's cone,
    eps_K +- sqrt(n + 1/2) eps_1 on the side of mu (inside the plane gaps), the levels counted on the exact
    spectrum are the continuum count n + 1. The lattice shifts the levels by O(beta) (e.g. the Wilson mass
    m (2 - cos kx - cos ky) ~ m k^2 / 2 by about m beta / 2), against a level spacing of order sqrt(beta): the
    counts agree once sqrt(beta) is small, here for n = 0, 1 at these fluxes of the catalog's QL_MODEL."""
    model, field = weyl.QL_MODEL(), UniformB(flux)
    beta = magnetic_strength(model, field)
    (node,) = nodes_in_slab(model, weyl_nodes(model, weyl.NODE_GUESSES), half)
    cone = weyl_cone(model, node)
    side = -np.sign(cone.energy)  # towards mu = 0, between the node energies
    slab = (node.k[2] % (2 * np.pi) - 1.2, node.k[2] % (2 * np.pi) + 1.2)
    for n in (0, 1):
        energy = cone.energy + side * np.sqrt(n + 0.5) * first_level(cone, beta)
        assert levels_crossing(cone, beta, energy) == n + 1
        exact = level_crossings(model, field, energy, slab, n_kz=48)
        assert (exact.net, exact.pairs) == (1, n), (flux, half, n, exact)


def test_regime_label():
    assert weyl.regime_label([1]) == weyl.regime_label([1, 1]) == "quantum limit"
    assert weyl.regime_label([2, 3]) == "semiclassical"
    assert weyl.regime_label([1, 2]) == weyl.regime_label([3, 1]) == "mixed"
