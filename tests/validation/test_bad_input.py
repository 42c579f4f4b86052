"""Bad input at validation's public boundary (issue 12, item 7): every message names the argument."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from validation import ResultsCache, Sweep, register, run
from validation.sweep import ElectricField
from validation.testing import assert_order, synthetic_comparison

GOOD = synthetic_comparison("bad_input[synthetic]", {2: 1.0}, sweep=Sweep.log(1e-1, 1e-2, 3))


def _two_arguments(model, field):
    return 0.0


def _no_tol(model, field):
    return 0.0


@pytest.mark.parametrize(
    "changes, error, message",
    [
        ({"name": ""}, ValueError, "non-empty name"),
        ({"name": 3}, ValueError, "non-empty name"),
        ({"name": " padded "}, ValueError, "name must not start or end with blanks"),
        ({"description": None}, TypeError, "description must be a str"),
        ({"equation": ""}, ValueError, "equation must not be empty"),
        ({"units": 1}, TypeError, "units must be a str"),
        ({"model": "qwz"}, TypeError, "model must be callable"),
        ({"exact": _no_tol}, TypeError, r"exact is called as exact\(model, field, \*, tol\), but its signature"),
        ({"prediction": len}, TypeError, r"prediction is called as prediction\(model, field\)"),
        ({"model": _two_arguments}, TypeError, r"model is called as model\(\)"),
        ({"annotate": 1.0}, TypeError, "annotate must be callable or None"),
        ({"prediction_kind": "guessed"}, ValueError, "prediction_kind must be one of"),
        ({"sweep": (1e-2, 1e-3)}, TypeError, "sweep must be a validation.Sweep"),
        ({"expected_order": "2"}, TypeError, "expected_order must be a real number"),
        ({"expected_order": math.inf}, ValueError, "expected_order must be finite"),
        ({"expected_order": -1.0}, ValueError, "expected_order must be positive"),
        ({"exact_tol": math.nan}, ValueError, "exact_tol must be finite"),
        ({"exact_tol": -1e-10}, ValueError, "exact_tol must be >= 0"),
        ({"exact_tol": True}, TypeError, "exact_tol must be a real number"),
        ({"counterpart": "bad_input[synthetic]"}, ValueError, "counterpart must name another comparison"),
        ({"counterpart": 5}, TypeError, "counterpart must be a comparison name or None"),
    ],
)
def test_comparison_fields(changes, error, message):
    with pytest.raises(error, match=message):
        dataclasses.replace(GOOD, **changes)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: Sweep("B", (1e-2, 1e-3)), ValueError, "unknown sweep variable 'B'"),
        (lambda: Sweep("flux", 0.01), TypeError, "values must be a sequence of numbers, got float"),
        (lambda: Sweep("flux", "0.01"), TypeError, "values must be a sequence of numbers, got str"),
        (lambda: Sweep("flux", (1e-2, "1e-3")), TypeError, r"values\[1\] must be a real number, got str"),
        (lambda: Sweep("flux", (1e-2, 1e-3j)), TypeError, r"values\[1\] must be a real number, got complex"),
        (lambda: Sweep("flux", (1e-2,)), ValueError, "at least 2 values"),
        (lambda: Sweep("flux", (1e-2, -1e-3)), ValueError, "finite and positive"),
        (lambda: Sweep("flux", (1e-2, math.nan)), ValueError, "finite and positive"),
        (lambda: Sweep("flux", (1e-2, 1e-2)), ValueError, "distinct"),
        (lambda: Sweep("flux", (0.1, 0.1 * (1 + 1e-14))), ValueError, "first 12 significant digits"),
        (lambda: Sweep("flux", (0.9, 0.1)), ValueError, r"flux per cell reaches 0.9 > 0.5: .*periodic in the flux"),
        (lambda: Sweep("hbar", (1.0, 0.1), flux0=0.8), ValueError, r"reaches 0.8 > 0.5.*flux = hbar \* flux0"),
        (lambda: Sweep("flux", (1e-2, 1e-3), flux0=2.0), ValueError, "flux0 only applies to an hbar sweep"),
        (lambda: Sweep("hbar", (1.0, 0.1), flux0="1"), TypeError, "flux0 must be a real number"),
        (lambda: Sweep("E", (1e-2, 1e-3), E0=0.1), ValueError, "E0 only applies to an hbar sweep"),
        (lambda: Sweep("hbar", (1.0, 0.1), E0=-1.0), ValueError, "E0 must be finite and positive"),
        (lambda: Sweep.log(1e-2, 1e-4, 2.5), TypeError, "num must be an integer"),
        (lambda: Sweep.log(1e-2, 1e-4, 1), ValueError, "num must be >= 2"),
        (lambda: Sweep.log(1e-2, math.inf, 4), ValueError, "start and stop must be finite and positive"),
        (lambda: Sweep.log(1e-2, 1e-2, 4), ValueError, "start and stop must differ"),
        (lambda: Sweep.log("1e-2", 1e-4, 4), TypeError, "start must be a real number"),
        (lambda: GOOD.sweep.shortened(1), ValueError, "num must be an integer >= 2"),
        (lambda: GOOD.sweep.shortened(3, 0.0), ValueError, "decades must be finite and positive"),
        (lambda: GOOD.sweep.as_variable("B"), ValueError, "unknown sweep variable 'B'"),
        (lambda: GOOD.sweep.as_variable("E"), ValueError, "cannot express a flux sweep in 'E': a sweep of a magnetic"),
        (lambda: ElectricField("0.1"), TypeError, "E must be a real number, got str"),
        (lambda: ElectricField(0.1, hbar=0.0), ValueError, "finite hbar > 0"),
        (lambda: ElectricField(-0.1), ValueError, "finite E > 0"),
    ],
)
def test_sweeps(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_sweep_accepts_numpy_values():
    s = Sweep("flux", np.geomspace(1e-2, 1e-3, 3))
    assert s.values == pytest.approx((1e-2, 10**-2.5, 1e-3)) and all(type(v) is float for v in s.values)
    assert Sweep.log(1e-2, 1e-3, np.int64(3)).values == s.values


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"comparisons": GOOD}, TypeError, r"a single Comparison: write run\(\[c\]\)"),
        ({"comparisons": "bad_input[synthetic]"}, TypeError, r"got a single str: write run\(\['bad_input"),
        ({"comparisons": []}, ValueError, "comparisons is empty: nothing to run"),
        ({"comparisons": 3}, TypeError, "comparisons must be an iterable"),
        ({"comparisons": [GOOD, 3]}, TypeError, r"comparisons\[1\] must be a Comparison or a registered name"),
        ({"suite": "slow"}, ValueError, "suite must be one of"),
        ({"sweep": [1e-2, 1e-3]}, TypeError, "sweep must be a validation.Sweep or None"),
        ({"variable": "B"}, ValueError, "variable must be one of"),
        ({"variable": "E"}, ValueError, r"variable='E' does not apply to the sweeps of bad_input\[synthetic\]"),
        ({"workers": 0}, ValueError, "workers must be an int >= 1 or None, got 0"),
        ({"workers": 1.5}, ValueError, "workers must be an int >= 1 or None, got 1.5"),
        ({"executor": "pool"}, TypeError, "executor must be a concurrent.futures.Executor"),
        ({"floor_factor": 0}, ValueError, "floor_factor must be a finite number > 0"),
        ({"floor_factor": "10"}, ValueError, "floor_factor must be a finite number > 0"),
        ({"cache": "cache/"}, TypeError, "cache must be a validation.ResultsCache"),
    ],
)
def test_run_arguments(kwargs, error, message):
    kwargs = {"comparisons": [GOOD], "workers": 1, **kwargs}
    with pytest.raises(error, match=message):
        run(kwargs.pop("comparisons"), **kwargs)


def test_a_suite_that_keeps_nothing_is_named():
    from functools import partial

    from keldysh import models

    weyl = dataclasses.replace(GOOD, name="bad_input_weyl", model=partial(models.weyl))
    with pytest.raises(ValueError, match=r"suite 'quick' \(two-band 2D models only.*\) keeps none of the 1 "
                                         r"comparison\(s\) given: bad_input_weyl"):
        run([weyl], suite="quick", workers=1)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"min_order": "2"}, TypeError, "min_order must be a number or None, got str"),
        ({"max_order": math.nan}, ValueError, "max_order must be finite"),
        ({"min_order": 2.5, "max_order": 1.5}, ValueError, r"min_order \(2.5\) must not exceed max_order \(1.5\)"),
        ({"verdict": "exact"}, ValueError, "verdict must be one of"),
        ({"comparison": 3}, TypeError, "comparison must be a Comparison or a registered name"),
    ],
)
def test_assert_order_arguments(kwargs, error, message):
    kwargs = {"comparison": GOOD, **kwargs}
    with pytest.raises(error, match=message):
        assert_order(**kwargs)


def test_a_name_without_file_name_characters(isolated_registry):
    nameless = dataclasses.replace(GOOD, name="[]")
    for call in (lambda: register(nameless), lambda: run([nameless], workers=1)):
        with pytest.raises(ValueError, match=r"comparison name '\[\]' gives an empty file name"):
            call()


def test_register_and_cache_arguments(isolated_registry, tmp_path):
    with pytest.raises(TypeError, match="register expects a Comparison or a function returning comparisons"):
        register("bad_input[synthetic]")
    with pytest.raises(TypeError, match="replace must be a bool"):
        register(GOOD, replace="yes")
    with pytest.raises(TypeError, match="directory must be a path"):
        ResultsCache(3)
    with pytest.raises(TypeError, match="force must be a bool"):
        ResultsCache(tmp_path, force="no")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="exists and is not a directory"):
        ResultsCache(tmp_path / "file")
