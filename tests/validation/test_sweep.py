"""Sweeps (flux, hbar, E), grouping of points by lattice field, executors."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from keldysh import UniformB, models
from validation import DEFAULT_SWEEP, QUICK_SWEEP, Sweep, run
from validation.executor import group_points, make_executor
from validation.points import build_model
from validation.sweep import ElectricField
from validation.testing import synthetic_comparison


def test_default_and_quick_sweeps():
    assert DEFAULT_SWEEP.variable == "flux"
    assert len(DEFAULT_SWEEP.values) >= 8 and DEFAULT_SWEEP.decades >= 2
    assert max(DEFAULT_SWEEP.values) == pytest.approx(1e-2) and min(DEFAULT_SWEEP.values) == pytest.approx(1e-4)
    ratios = np.diff(np.log(DEFAULT_SWEEP.values))
    assert np.allclose(ratios, ratios[0])  # log-spaced
    assert len(QUICK_SWEEP.values) == 5 and QUICK_SWEEP.decades == pytest.approx(2.0)
    assert set(QUICK_SWEEP.values) <= set(DEFAULT_SWEEP.values)  # a subset: the values are kept exactly


def test_shortened_keeps_exact_values():
    rational = Sweep("flux", (1 / 8, 1 / 10, 1 / 16, 1 / 20, 1 / 25, 1 / 32))
    assert rational.shortened(5, 2.0).values == (1 / 8, 1 / 10, 1 / 20, 1 / 25, 1 / 32)
    assert rational.shortened(3, 0.31).values == (1 / 16, 1 / 20, 1 / 32)  # lowest 0.31 decades: 1/16 .. 1/32
    assert DEFAULT_SWEEP.shortened(3, 1.0).values == pytest.approx((7.197e-4, 3.728e-4, 1e-4), rel=1e-3)


def _lattice(sweep):
    return [sweep.lattice_value(v) for v in sweep.values]


def test_hbar_sweep_is_flux_times_flux0():
    s = Sweep.log(1.0, 1e-3, 4, variable="hbar", flux0=0.1)
    assert _lattice(s) == pytest.approx([0.1, 0.01, 0.001, 0.0001])
    assert s.field(0.5) == UniformB(0.05) and s.lattice_variable == "flux"
    back = s.as_variable("flux")
    assert back.variable == "flux" and back.values == pytest.approx(tuple(_lattice(s)))
    assert _lattice(DEFAULT_SWEEP.as_variable("hbar")) == pytest.approx(_lattice(DEFAULT_SWEEP))
    assert max(DEFAULT_SWEEP.as_variable("hbar").values) == pytest.approx(1.0)


def test_electric_sweeps_hand_out_field_points():
    e = Sweep.log(0.04, 0.004, 5, variable="E")
    assert e.electric and e.lattice_variable == "E"
    assert e.field(0.01) == ElectricField(0.01) and e.field(0.01).strength == pytest.approx(0.01)
    h = Sweep.log(1.0, 0.1, 5, variable="hbar", E0=0.04)
    assert h.field(0.5) == ElectricField(0.04, hbar=0.5) and h.field(0.5).strength == pytest.approx(0.02)
    assert _lattice(h) == pytest.approx(_lattice(e))  # the same lattice problems
    assert h.as_variable("E").values == pytest.approx(e.values)
    assert e.as_variable("hbar").E0 == pytest.approx(0.04)
    with pytest.raises(ValueError, match="no flux"):
        e.flux(0.01)
    with pytest.raises(ValueError, match="cannot express"):
        e.as_variable("flux")


def test_hbar_and_flux_sweeps_give_the_same_order():
    c = synthetic_comparison("hbar_vs_flux", {1: 0.02, 2: 1.0})
    by_flux, by_hbar = run([c], workers=1), run([c], workers=1, variable="hbar")
    assert by_hbar[0].sweep.variable == "hbar"
    assert by_hbar[0].fitted_order == pytest.approx(by_flux[0].fitted_order, abs=1e-12)
    assert [p.residual for p in by_hbar[0].points] == [p.residual for p in by_flux[0].points]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(values=(1e-2,)), "at least 2"),
        (dict(values=(1e-2, -1e-3)), "positive"),
        (dict(values=(1e-2, 1e-2)), "distinct"),
        (dict(variable="B", values=(1e-2, 1e-3)), "unknown sweep variable"),
        (dict(values=(1e-2, 1e-3), flux0=0.5), "flux0 only applies"),
        (dict(variable="E", values=(1e-2, 1e-3), E0=0.5), "E0 only applies"),
        (dict(variable="hbar", values=(1.0, 0.5), E0=-1.0), "E0 must be"),
    ],
)
def test_bad_sweeps_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Sweep(**kwargs)


def test_points_are_grouped_by_flux():
    a = synthetic_comparison("group_a", {2: 1.0}, sweep=Sweep.log(1e-1, 1e-3, 3))
    b = synthetic_comparison("group_b", {2: 1.0}, sweep=Sweep.log(1e-1, 1e-2, 2))
    h = synthetic_comparison("group_h", {2: 1.0}, sweep=Sweep("hbar", (1.0, 0.01), flux0=0.1))
    t = dataclasses.replace(a, name="group_three_band", model=functools.partial(models.three_band))
    groups = group_points([(c, c.sweep) for c in (a, b, h, t)])
    # one task per (flux, model), largest flux first; the hbar points land on the flux points
    assert [variable for variable, _, _ in groups] == ["flux"] * 6
    assert [flux for _, flux, _ in groups] == pytest.approx([1e-1, 1e-1, 1e-2, 1e-2, 1e-3, 1e-3])
    assert [sorted(c.name for c, _, _ in items) for items in groups.values()][::2] == [
        ["group_a", "group_b", "group_h"], ["group_a", "group_b"], ["group_a", "group_h"]]
    assert all([c.name for c, _, _ in items] == ["group_three_band"] for items in list(groups.values())[1::2])


def test_model_is_built_once_per_process():
    c = synthetic_comparison("model_cache", {2: 1.0})
    assert build_model(c.model) is build_model(dataclasses.replace(c, name="other").model)
    assert c.norbs == 2


def test_worker_count_is_validated():
    with pytest.raises(ValueError, match="workers"):
        make_executor(0)


def _blas_threads(_):
    import os

    return {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


@pytest.mark.slow
def test_workers_run_single_threaded_blas():
    import os

    before = os.environ.get("OPENBLAS_NUM_THREADS")
    executor = make_executor(2)
    try:
        seen = list(executor.map(_blas_threads, range(2)))
    finally:
        executor.shutdown()
    assert all(set(env.values()) == {"1"} for env in seen)
    assert os.environ.get("OPENBLAS_NUM_THREADS") == before  # the parent's environment is restored


def test_electric_sweep_runs_through_the_engine():
    e = synthetic_comparison("e_sweep", {1: 0.02, 2: 1.0}, sweep=Sweep.log(0.04, 0.0004, 6, variable="E"))
    h = dataclasses.replace(e, name="e_sweep_hbar", sweep=Sweep.log(1.0, 0.01, 6, variable="hbar", E0=0.04))
    assert len(group_points([(e, e.sweep), (h, h.sweep)])) == 6  # both land on the same lattice problems
    by_e, by_h = run([e, h], workers=1)
    assert by_e.fitted_order == pytest.approx(by_h.fitted_order, abs=1e-12)
    assert [p.lattice_value for p in by_h.points] == pytest.approx(list(e.sweep.values))
