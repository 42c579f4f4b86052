"""``keldysh-validate`` on a tiny synthetic suite, in-process: files, columns, verdicts."""

from __future__ import annotations

import csv
import math
import sys

import pytest

from validation import ALL_ORDERS, EXACT, FAILS, Sweep, register
from validation.cli import main
from validation.report import POINT_COLUMNS, SUMMARY_COLUMNS
from validation.testing import synthetic_comparison


SWEEP = Sweep.log(1e-1, 1e-4, 10)


@pytest.fixture
def synthetic_suite(isolated_registry):
    comparisons = [
        synthetic_comparison("cli_printed[synthetic]", {1: 0.05, 2: 1.0}, counterpart="cli_corrected[synthetic]",
                             difference="the linear term is gone", sweep=SWEEP),
        synthetic_comparison("cli_corrected[synthetic]", {2: 1.0}, prediction_kind="corrected",
                             counterpart="cli_printed[synthetic]", difference="the linear term is gone", sweep=SWEEP),
        synthetic_comparison("cli_floor[synthetic]", {}, ripple=1e-12, sweep=SWEEP),
    ]
    for c in comparisons:
        register(c)
    return comparisons


def _read_csv(path):
    with path.open() as fh:
        return list(csv.reader(fh))


@pytest.mark.slow
def test_run_writes_reports(synthetic_suite, tmp_path, capsys):
    out = tmp_path / "reports"
    assert main(["run", "--only", "cli_*", "--out", str(out), "--workers", "1", "--quiet"]) == 0
    rows = _read_csv(out / "summary.csv")
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    table = {r[0]: dict(zip(SUMMARY_COLUMNS, r)) for r in rows[1:]}
    assert set(table) == {c.name for c in synthetic_suite}
    assert table["cli_printed[synthetic]"]["verdict"] == FAILS
    assert table["cli_corrected[synthetic]"]["verdict"] == EXACT
    assert float(table["cli_corrected[synthetic]"]["fitted_order"]) == pytest.approx(2.0, abs=1e-6)
    floor = table["cli_floor[synthetic]"]
    assert floor["verdict"] == ALL_ORDERS and math.isnan(float(floor["fitted_order"])) and floor["order_ci"] == ""
    assert {r["sweep"] for r in table.values()} == {"flux"}
    assert table["cli_printed[synthetic]"]["prediction"] == "printed"
    lo, hi = map(float, table["cli_printed[synthetic]"]["order_ci"].strip("[]").split(","))
    assert lo < float(table["cli_printed[synthetic]"]["fitted_order"]) < hi

    points = _read_csv(out / "cli_floor-synthetic.csv")
    header = ("flux",) + POINT_COLUMNS
    assert tuple(points[0]) == header
    assert [float(p[0]) for p in points[1:]] == pytest.approx(list(SWEEP.values))
    assert len(points) == 11 and all(p[header.index("at_floor")] == "True" for p in points[1:])
    assert {p[header.index("units")] for p in points[1:]} == {"dimensionless"}
    for c in synthetic_suite:
        stem = c.name.replace("[", "-").rstrip("]")
        assert (out / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    md = (out / "index.md").read_text()
    assert md.index("## Verdicts") < md.index("## cli_printed[synthetic]")
    assert "Counterpart `cli_corrected[synthetic]`" in md and "What differs: the linear term is gone" in md
    assert "![convergence of cli_floor[synthetic]](cli_floor-synthetic.png)" in md
    html = (out / "index.html").read_text()
    assert html.index("<table>") < html.index("<h2 id='cli_printed-synthetic'>")
    assert "cli_floor[synthetic]" in capsys.readouterr().out


@pytest.mark.slow
def test_run_in_hbar(synthetic_suite, tmp_path):
    out = tmp_path / "hbar"
    main(["run", "--only", "cli_corrected[synthetic]", "--out", str(out), "--workers", "1", "--quiet",
          "--sweep-variable", "hbar"])
    rows = _read_csv(out / "summary.csv")
    assert rows[1][SUMMARY_COLUMNS.index("sweep")] == "hbar"
    assert float(rows[1][SUMMARY_COLUMNS.index("fitted_order")]) == pytest.approx(2.0, abs=1e-6)
    points = _read_csv(out / "cli_corrected-synthetic.csv")
    assert tuple(points[0]) == ("hbar", "flux") + POINT_COLUMNS
    assert float(points[1][0]) == pytest.approx(1.0) and float(points[1][1]) == pytest.approx(0.1)


def test_list_show_and_help(synthetic_suite, capsys):
    main(["list"])
    listing = capsys.readouterr().out
    assert "cli_floor[synthetic]" in listing and listing.splitlines()[0].split()[:4] == [
        "name", "equation", "prediction", "model"]
    main(["show", "cli_printed[synthetic]"])
    shown = capsys.readouterr().out
    assert "expected order:  2" in shown and "flux from 0.1 to 0.0001, 10 log-spaced points" in shown
    assert main([]) == 0
    assert "usage: keldysh-validate" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no comparison matches"):
        main(["run", "--only", "nothing_like_this*", "--workers", "1"])
    with pytest.raises(SystemExit, match="no comparison named"):
        main(["show", "nothing_like_this"])


def test_dask_without_the_extra_names_it(synthetic_suite, tmp_path, monkeypatch):
    """--dask with dask.distributed missing: a clear exit naming the extra, before anything runs."""
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(SystemExit, match=r"pip install -e '\.\[dask\]'"):
        main(["run", "--only", "cli_*", "--out", str(tmp_path / "r"), "--dask", "local", "--quiet"])
    assert not (tmp_path / "r" / "summary.csv").exists()
