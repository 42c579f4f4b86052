"""Report contents: annotation columns, per-point tables, provenance (run.json and its section)."""

from __future__ import annotations

import csv
import json
import re

import pytest

from validation import Sweep, run
from validation.provenance import git_state
from validation.report import POINT_COLUMNS, write_reports
from validation.testing import synthetic_comparison

SWEEP = Sweep.log(1e-1, 1e-3, 5)


@pytest.fixture(scope="module")
def results():
    return run(
        [
            synthetic_comparison("rep_annotated[synthetic]", {2: 1.0}, sweep=SWEEP, annotated=True),
            synthetic_comparison("rep_plain[synthetic]", {1: 1.0}, sweep=SWEEP),
        ],
        workers=1,
    )


def test_annotations_become_columns(results, tmp_path):
    write_reports(results, tmp_path)
    with (tmp_path / "rep_annotated-synthetic.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == ("flux", *POINT_COLUMNS, "field", "regime")
    regimes = [r[-1] for r in rows[1:]]
    fields = [float(r[-2]) for r in rows[1:]]
    assert fields == pytest.approx(list(SWEEP.values))
    assert regimes == ["strong" if f > 1e-2 else "weak" for f in SWEEP.values]
    with (tmp_path / "rep_plain-synthetic.csv").open() as fh:
        assert tuple(next(csv.reader(fh))) == ("flux", *POINT_COLUMNS)
    md = (tmp_path / "index.md").read_text()
    assert "| flux | max residual | floor | fitted | field | regime |" in md
    assert md.count("| weak |") == sum(f <= 1e-2 for f in SWEEP.values)


def test_provenance_is_recorded(results, tmp_path):
    paths = write_reports(results, tmp_path, run_info={"executed_on": "1 process (in-process)"})
    record = json.loads(paths.provenance.read_text())
    versions = record["environment"]["versions"]
    assert {"keldysh-validation", "python", "numpy", "scipy", "matplotlib"} <= set(versions)
    commit = record["environment"]["git"]["commit"]
    assert commit == git_state()["commit"]
    if commit is not None:
        assert re.fullmatch(r"[0-9a-f]{40}", commit)
    c = record["comparisons"]["rep_annotated[synthetic]"]
    assert c["sweep"]["values"] == list(SWEEP.values) and c["exact_tol"] == 0.0
    assert len(c["seconds"]) == len(SWEEP.values) and all(s >= 0 for s in c["seconds"])
    assert c["fitted_order"] == pytest.approx(2.0, abs=1e-3) and c["verdict"] == results[0].verdict
    md = (tmp_path / "index.md").read_text()
    provenance = md.split("## Provenance")[1]
    assert f"numpy {versions['numpy']}" in provenance and "Executed on: 1 process (in-process)" in provenance
    assert "| rep_annotated[synthetic] | 5 |" in provenance
    html = (tmp_path / "index.html").read_text()
    assert "<h2 id='Provenance'>Provenance</h2>" in html and "run.json" in html


def _bad_annotations(model, field):
    return [("regime", "weak")]


def _array_annotations(model, field):
    return {"levels": [1, 2]}


@pytest.mark.parametrize("annotate, message", [(_bad_annotations, "must return a dict"),
                                               (_array_annotations, "must be a str, int or float")])
def test_bad_annotations_are_refused(annotate, message):
    c = synthetic_comparison("rep_bad[synthetic]", {2: 1.0}, sweep=SWEEP, annotate=annotate)
    with pytest.raises(TypeError, match=message):
        run([c], workers=1)
