"""The convergence engine on synthetic comparisons with known residual orders."""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest
from scipy import stats

from keldysh import models
from validation import ALL_ORDERS, ERROR, EXACT, FAILS, INCONCLUSIVE, NONPERTURBATIVE, Comparison, Sweep, run
from validation.convergence import classify, find_onset, fit_order, max_residual, norm_residual
from validation.testing import synthetic_comparison

SWEEP = Sweep.log(1e-1, 1e-4, 10)


def test_residual_definitions():
    exact = np.zeros((2, 2, 2))
    predicted = np.zeros((2, 2, 2))
    predicted[1, 0, 1] = 3.0
    predicted[0, 1, 1] = -4.0
    res, where = max_residual(exact, predicted)
    assert res == 4.0 and where == (0, 1, 1)
    # RMS over k of Frobenius norms: k=0 -> 4, k=1 -> 3
    assert norm_residual(exact, predicted, k_resolved=True) == pytest.approx(math.sqrt((16 + 9) / 2))
    assert norm_residual(exact, predicted, k_resolved=False) == pytest.approx(5.0)
    assert max_residual(np.array(1.0), np.array(1.5)) == (0.5, ())
    with pytest.raises(ValueError, match="non-finite"):
        max_residual([np.nan], [0.0])


def test_fit_recovers_power_law_exactly():
    x = np.geomspace(1e-1, 1e-4, 7)
    fit = fit_order(x, 0.3 * x**2)
    assert fit.order == pytest.approx(2.0, abs=1e-12)
    assert fit.ci[1] - fit.ci[0] == pytest.approx(0.0, abs=1e-9)
    assert fit(1e-2) == pytest.approx(0.3e-4, rel=1e-10)


def test_fit_interval_is_the_t_interval():
    rng = np.random.default_rng(3)
    x = np.geomspace(1e-1, 1e-4, 10)
    y = 2.0 * x**1.5 * np.exp(0.1 * rng.standard_normal(10))
    fit = fit_order(x, y)
    ref = stats.linregress(np.log(x), np.log(y))
    half = stats.t.ppf(0.975, 8) * ref.stderr
    assert fit.order == pytest.approx(ref.slope, rel=1e-12)
    assert fit.ci == pytest.approx((ref.slope - half, ref.slope + half), rel=1e-10)
    assert fit.ci[0] < 1.5 < fit.ci[1]


def test_fit_rejects_bad_input():
    with pytest.raises(ValueError, match=">= 3 points"):
        fit_order([1e-2, 1e-3], [1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        fit_order([1e-2, 1e-3, 1e-4], [1.0, 0.0, 2.0])


@pytest.mark.parametrize(
    "order, verdict",
    [(2.0, EXACT), (1.8, EXACT), (1.79, INCONCLUSIVE), (1.5, INCONCLUSIVE), (1.21, INCONCLUSIVE), (1.2, FAILS),
     (0.9, FAILS)],
)
def test_classify_thresholds(order, verdict):
    assert classify(order) == verdict


def _run(comparison, sweep=SWEEP):
    (result,) = run([comparison], sweep=sweep, workers=1)
    return result


def test_quadratic_residual_is_exact_to_order_hbar():
    r = _run(synthetic_comparison("quad", {2: 0.7}))
    assert r.verdict == EXACT
    assert r.fitted_order == pytest.approx(2.0, abs=1e-9)
    assert not any(p.at_floor for p in r.points)
    # residual = max over the 4 synthetic points of 0.7 x^2, x = flux * 1.75 at the last point
    assert r.max_residual == pytest.approx(0.7 * (1.75e-4) ** 2, rel=1e-6)


def test_linear_residual_fails_at_order_hbar():
    r = _run(synthetic_comparison("lin", {1: 0.05, 2: 1.0}))
    assert r.verdict == FAILS
    assert 1.0 <= r.fitted_order <= 1.2
    assert r.order_ci[0] < r.fitted_order < r.order_ci[1]


def test_crossover_is_inconclusive():
    # c1 x + c2 x^2 with the crossover inside the sweep: fitted order ~1.5
    r = _run(synthetic_comparison("cross", {1: 1e-3, 2: 1.0}))
    assert r.verdict == INCONCLUSIVE
    assert 1.2 < r.fitted_order < 1.8


def _sine(model, field, *, tol):
    return np.array(np.sin(field.flux))


def _sine_taylor(model, field):
    x = field.flux
    return np.array(x - x**3 / 6)


def test_taylor_remainder_of_sine():
    """exact sin(x), prediction x - x^3/6: residual x^5/120 - x^7/5040, far beyond O(hbar)."""
    c = Comparison(
        name="sine_taylor",
        description="sin against its cubic Taylor polynomial",
        model=functools.partial(models.qwz, 1.0),
        model_label="none",
        exact=_sine,
        prediction=_sine_taylor,
        equation="Taylor",
        exact_tol=1e-16,
    )
    r = _run(c, Sweep.log(0.5, 5e-2, 6))  # flux sweeps stop at 1/2 (the lattice problem is periodic in the flux)
    assert r.fitted_order == pytest.approx(5.0, abs=0.05)
    assert r.points[-1].residual == pytest.approx(0.05**5 / 120, rel=1e-3)
    assert r.verdict == EXACT


def test_every_point_at_floor_agrees_at_every_field():
    r = _run(synthetic_comparison("floor", {}, ripple=1e-12))
    assert r.verdict == ALL_ORDERS
    assert all(p.at_floor for p in r.points)
    assert math.isnan(r.fitted_order) and r.fit is None
    assert "no order fitted" in r.notes[0]


def test_floor_points_are_excluded_not_fitted():
    # max residual 0.5 (1.75 flux)^2 ~ 1.5 flux^2 drops below 10x the ripple floor (1e-7) for flux < 2.6e-4
    r = _run(synthetic_comparison("partial", {2: 0.5}, ripple=1e-8))
    flagged = [p for p in r.points if p.at_floor]
    assert 0 < len(flagged) < len(r.points)
    assert [p.sweep_value for p in flagged] == pytest.approx([2.154e-4, 1e-4], rel=1e-3)
    assert all(p.residual <= 10 * p.floor for p in flagged)
    assert r.fit.n_points == len(r.points) - len(flagged)
    assert r.fitted_order == pytest.approx(2.0, abs=0.02)
    assert r.verdict == EXACT


def test_too_few_points_above_floor_is_inconclusive():
    r = _run(synthetic_comparison("few", {2: 0.5}, ripple=2e-5), Sweep.log(1e-1, 1e-3, 5))
    above = [p for p in r.points if not p.at_floor]
    assert 0 < len(above) < 3
    assert r.verdict == INCONCLUSIVE and r.fit is None


@pytest.mark.slow
def test_process_pool_matches_serial():
    comparisons = [synthetic_comparison("pool_a", {2: 0.7}), synthetic_comparison("pool_b", {1: 0.05})]
    sweep = Sweep.log(1e-1, 1e-3, 4)
    serial = run(comparisons, sweep=sweep, workers=1)
    pooled = run(comparisons, sweep=sweep, workers=2)
    for s, p in zip(serial, pooled):
        assert [q.residual for q in s.points] == [q.residual for q in p.points]
        assert s.fitted_order == p.fitted_order and s.verdict == p.verdict


def test_shape_mismatch_is_an_error():
    bad = dataclasses.replace(synthetic_comparison("shapes", {2: 1.0}), prediction=_sine_taylor)
    (r,) = run([bad], sweep=Sweep.log(1e-1, 1e-2, 3), workers=1)
    assert r.verdict == ERROR and len(r.errors) == 3 and r.points == ()
    assert {e.stage for e in r.errors} == {"compare"}
    assert "exact observable has shape (4,) but the prediction has shape ()" in r.errors[0].message


def test_steep_onset_is_flagged():
    """A residual switching on like x^8 over the sweep: fitted order ~8, flagged as not an expansion order."""
    r = _run(synthetic_comparison("steep", {8: 1e8}))
    assert r.fitted_order == pytest.approx(8.0, abs=0.05) and r.verdict == EXACT
    assert any("far above the expected 2" in n for n in r.notes)
    quad = _run(synthetic_comparison("quad_no_flag", {2: 0.7}))
    assert not any("far above" in n for n in quad.notes)


# --- errors at some points -------------------------------------------------------------
def _raises_above(model, field, *, tol, limit, n=4):
    """The synthetic exact side (residual x^2), raising GapError above flux ``limit``."""
    from keldysh.errors import GapError

    if field.flux > limit:
        raise GapError(f"the field closes the gap at flux {field.flux}")
    x = field.flux * (1 + np.arange(n) / n)
    return np.sin(x) + x**2


def test_a_point_that_raises_is_named_and_the_rest_is_fitted():
    c = synthetic_comparison("raises_once", {2: 1.0}, exact=functools.partial(_raises_above, limit=0.05))
    other = synthetic_comparison("fine", {2: 1.0})
    r, fine = run([c, other], sweep=SWEEP, workers=1)
    assert fine.verdict == EXACT and not fine.errors
    assert r.verdict == ERROR and len(r.points) == 9
    (error,) = r.errors
    assert (error.name, error.lattice_variable, error.lattice_value) == ("raises_once", "flux", 0.1)
    assert error.stage == "exact"
    assert error.error == "keldysh.errors.GapError" and "closes the gap at flux 0.1" in error.message
    assert "GapError" in error.traceback
    assert error.describe() == "keldysh.errors.GapError at flux = 0.1 (in exact): the field closes the gap at flux 0.1"
    assert r.fitted_order == pytest.approx(2.0, abs=1e-6) and r.fit.n_points == 9
    assert any("fitted on the 9 points above the floor among the 9 of 10 that did not raise" in n for n in r.notes)
    assert any("would be 'exact to O(hbar)'" in n for n in r.notes)


def test_too_few_points_left_fit_nothing():
    c = synthetic_comparison("raises_mostly", {2: 1.0}, exact=functools.partial(_raises_above, limit=2.5e-4))
    (r,) = run([c], sweep=SWEEP, workers=1)
    assert r.verdict == ERROR and r.fit is None and len(r.errors) == 8 and len(r.points) == 2
    assert "2 of 10 points did not raise: too few above the floor to fit an order" in r.notes


def _nan_exact(model, field, *, tol):
    return np.full(4, np.nan)


def test_a_non_finite_residual_is_an_error_not_a_number():
    c = synthetic_comparison("nan", {2: 1.0}, exact=_nan_exact)
    (r,) = run([c], sweep=Sweep.log(1e-1, 1e-2, 3), workers=1)
    assert r.verdict == ERROR and r.points == () and math.isnan(r.max_residual)
    assert {e.stage for e in r.errors} == {"residual"} and "non-finite residual" in r.errors[0].message


# --- non-perturbative onset -------------------------------------------------------------------------
def _analysed(residual, x, floor=1e-10, expected_order=2.0):
    """analyse() of closed-form residuals r(x) at the sweep values x (exact = r, prediction = 0)."""
    from validation.convergence import analyse
    from validation.points import PointData

    sweep = Sweep("flux", tuple(x))
    c = synthetic_comparison("closed_form", {2: 1.0}, exact_tol=floor, expected_order=expected_order, sweep=sweep)
    data = [PointData(c.name, v, v, np.array([residual(v)]), np.array([0.0]), 0.0, 0.0) for v in sweep.values]
    return analyse(c, sweep, data)


#: The sweep of chiral_anomaly_E[weyl] (|qE| at t = 1), as a synthetic variable.
ONSET_X = (0.05, 0.2, 0.3, 0.4, 0.45, 0.48)


def test_find_onset_rule():
    """Steep (> 3 x expected) and growing (d ln s / d ln x >= 1/2) slopes at the large-field end."""
    x = np.geomspace(0.1, 0.5, 8)
    assert find_onset(x, x**2, 2.0) is None  # power law: constant slope
    assert find_onset(x, x**12, 2.0) is None  # a steep power law is still a power: slopes do not grow
    assert find_onset(x, x**2 + 1e-3, 2.0) is None  # power law levelling into a floor: slopes below the order
    onset = find_onset(x, np.exp(x / 0.01), 2.0)  # slope x / x0 = 10 .. 50, growing like x
    assert onset is not None and onset.start == 0
    assert onset.slopes == pytest.approx(np.diff(x / 0.01) / np.diff(np.log(x)), rel=1e-12)
    x = np.geomspace(1e-2, 0.5, 20)
    tail = find_onset(x, x**2 + 1e-7 * np.exp(x / 0.02), 2.0)  # power law, then an exponential at the end
    assert tail is not None and tail.start == 16 and len(tail.slopes) == 3 and min(tail.slopes) > 6
    assert find_onset(x[:2], np.exp(x[:2] / 0.01), 2.0) is None  # two points: no growth measured


def test_power_law_is_not_an_onset():
    r = _analysed(lambda v: 0.3 * v**2, np.geomspace(1e-1, 1e-4, 8))
    assert r.verdict == EXACT and r.onset is None and r.fitted_order == pytest.approx(2.0, abs=1e-9)


def test_power_law_with_floor_is_not_an_onset():
    r = _analysed(lambda v: 0.3 * v**2 + 3e-10, np.geomspace(1e-1, 1e-4, 8), floor=1e-9)
    assert r.verdict == EXACT and r.onset is None and any(p.at_floor for p in r.points)


def test_exponential_onset_after_the_floor():
    """Residual at the floor, then exp(x / x0): the verdict names the onset, no order is fitted."""
    r = _analysed(lambda v: 1e-15 + np.exp((v - 0.5) / 0.01), ONSET_X)  # 2e-9 at 0.3: above 10x the floor
    assert r.verdict == NONPERTURBATIVE and r.onset == 0.3 and r.fit is None and math.isnan(r.fitted_order)
    assert r.fitted_points == ()
    assert r.notes[0].startswith("non-perturbative onset at flux = 0.3: from there the residual grows faster than any")
    assert "below it the prediction agrees to within 10x the error floor at every field (up to flux = 0.2" in r.notes[1]
    assert "from flux = 0.3" in r.summary() and "onset" in r.residual_table()


def test_exponential_onset_after_a_power_law():
    """x^2 below, an exponential above: the order is fitted below the onset, the verdict names the onset."""
    x = np.geomspace(1e-2, 0.5, 20)
    r = _analysed(lambda v: v**2 + 1e-7 * np.exp(v / 0.02), x)
    assert r.verdict == NONPERTURBATIVE and r.onset == x[16]
    assert r.fitted_order == pytest.approx(2.0, abs=0.05)
    assert all(p.sweep_value < r.onset for p in r.fitted_points) and len(r.fitted_points) >= 3
    assert "below it the order fitted on" in r.notes[1] and "'exact to O(hbar)'" in r.notes[1]


def test_onset_above_a_failing_order_fails():
    x = np.geomspace(1e-2, 0.5, 20)
    r = _analysed(lambda v: v + 1e-7 * np.exp(v / 0.02), x)
    assert r.verdict == FAILS and r.onset == x[16] and r.fitted_order == pytest.approx(1.0, abs=0.05)
