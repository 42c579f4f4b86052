"""validation.read_report: a report directory in pandas, checked against the results it was written from and against
the report's own reader (validation.records.read_run)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from validation import Report, Sweep, read_report, run
from validation.records import read_run, write_run_files
from validation.testing import synthetic_comparison

SWEEP = Sweep.log(1e-1, 1e-3, 5)


def complex_exact(model, field, *, tol):
    """A (3, 2) complex observable: the prediction plus (1 + 2j) beta^2 on one element, so the worst is [2, 1]."""
    beta = field.beta(1.0)
    out = np.outer([1.0, 2.0, 3.0], [0.5, -1.0]) * (1 - 0.5j)
    out[2, 1] += (1 + 2j) * beta**2
    return out


def complex_prediction(model, field):
    return np.outer([1.0, 2.0, 3.0], [0.5, -1.0]) * (1 - 0.5j)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    comparisons = [
        synthetic_comparison("res_annotated[synthetic]", {2: 1.0}, sweep=SWEEP, annotated=True),
        synthetic_comparison("res_floor[synthetic]", {}, ripple=1e-12, sweep=SWEEP),
        synthetic_comparison("res_hbar[synthetic]", {1: 1.0}, sweep=SWEEP.as_variable("hbar")),
        synthetic_comparison("res_complex[synthetic]", {}, sweep=SWEEP, exact=complex_exact,
                             prediction=complex_prediction, exact_tol=1e-14),
    ]
    results = run(comparisons, workers=1)
    out = tmp_path_factory.mktemp("report")
    write_run_files(results, out, "read_report test", [])  # the data files of a report (keldysh-validate run)
    return results, out


def test_summary_and_points_match_the_results(written):
    results, out = written
    report = read_report(out)
    assert isinstance(report, Report) and isinstance(report.summary, pd.DataFrame)
    assert list(report.summary.index) == [r.name for r in results] == list(report.points)
    for r in results:
        row = report.summary.loc[r.name]
        assert row["verdict"] == r.verdict and row["units"] == r.comparison.units
        if r.fit is None:
            assert math.isnan(row["fitted_order"]) and math.isnan(row["order_lo"]) and math.isnan(row["order_hi"])
        else:
            assert row["fitted_order"] == pytest.approx(r.fitted_order, abs=5e-5)
            assert (row["order_lo"], row["order_hi"]) == pytest.approx(r.order_ci, abs=5e-5)
        frame = report.points[r.name]
        assert frame.attrs["units"] == r.comparison.units and "units" not in frame.columns
        assert frame.attrs["sweep_variable"] == r.sweep.variable == frame.columns[0]
        assert frame.attrs["lattice_variable"] == r.sweep.lattice_variable
        assert len(frame) == len(r.points)
        for (_, row), p in zip(frame.iterrows(), r.points):
            assert row[r.sweep.lattice_variable] == p.lattice_value and row[r.sweep.variable] == p.sweep_value
            assert row["exact"] == pytest.approx(p.exact_at_max, rel=1e-14, abs=1e-300)
            assert row["predicted"] == pytest.approx(p.predicted_at_max, rel=1e-14, abs=1e-300)
            assert row["residual"] == pytest.approx(p.residual, rel=1e-6) and row["floor"] == pytest.approx(p.floor, rel=1e-3)
            assert row["at_floor"] == p.at_floor and row["element"] == p.element
            for key, value in p.annotations.items():
                assert row[key] == (pytest.approx(value, rel=1e-5) if isinstance(value, float) else value)
    assert report.run["comparisons"].keys() == {r.name for r in results}


def test_types_are_restored(written):
    _, out = written
    report = read_report(out / "summary.csv")  # the file works as well as its directory
    complex_points = report.points["res_complex[synthetic]"]
    assert complex_points["exact"].dtype == complex and all(e == (2, 1) for e in complex_points["element"])
    assert report.points["res_hbar[synthetic]"].columns[:2].tolist() == ["hbar", "flux"]
    assert report.points["res_annotated[synthetic]"]["at_floor"].dtype == bool
    assert report.points["res_floor[synthetic]"]["at_floor"].all()


def test_agrees_with_the_report_reader(written):
    """The same numbers as validation.records.read_run, which draws the report pages."""
    _, out = written
    report, record = read_report(out), read_run(out)
    for c in record.comparisons:
        frame = report.points[c.name]
        np.testing.assert_array_equal(frame["residual"], [p.residual for p in c.points])
        np.testing.assert_array_equal(frame[c.sweep_columns[0]], [p.sweep_value for p in c.points])
        assert report.summary.loc[c.name, "max_residual"] == c.max_residual or math.isnan(c.max_residual)


def test_read_only_and_partial_directories(written, tmp_path):
    """Nothing is written; a directory with summary.csv alone gives the summary and no points; no summary raises."""
    _, out = written
    before = {p: p.stat().st_mtime_ns for p in out.iterdir()}
    read_report(out)
    assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == before
    (tmp_path / "summary.csv").write_text((out / "summary.csv").read_text())
    partial = read_report(tmp_path)
    assert len(partial.summary) == 4 and partial.points == {} and partial.run == {}
    with pytest.raises(FileNotFoundError, match="no summary.csv"):
        read_report(tmp_path / "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "summary.csv").write_text("name,order\nx,1\n")
    with pytest.raises(ValueError, match="columns"):
        read_report(tmp_path / "bad")
