"""``keldysh-validate`` on a tiny synthetic suite, in-process: files, columns, verdicts."""

from __future__ import annotations

import csv
import math
import sys

import pytest

from validation import ALL_ORDERS, EXACT, FAILS, Sweep, register
from validation.cli import main
from validation.records import POINT_COLUMNS, SUMMARY_COLUMNS
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


# --- a report is never shrunk by accident (issue 12, item 3) -----------------------------
def _snapshot(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


@pytest.mark.slow
def test_a_narrower_run_does_not_overwrite_a_report(synthetic_suite, tmp_path):
    out = tmp_path / "reports"
    base = ["run", "--out", str(out), "--workers", "1", "--quiet"]
    assert main(base + ["--only", "cli_*"]) == 0
    before = _snapshot(out)
    with pytest.raises(SystemExit) as exc:
        main(base + ["--only", "cli_floor*"])
    message = str(exc.value)
    assert f"{out}/ holds a report of 3 comparison(s); this run would write 1 and drop 2 of them" in message
    assert "cli_printed[synthetic], cli_corrected[synthetic]" in message and "--replace" in message
    assert _snapshot(out) == before
    assert main(base + ["--only", "cli_floor*", "--replace"]) == 0
    with (out / "summary.csv").open() as fh:
        assert [row["comparison"] for row in csv.DictReader(fh)] == ["cli_floor[synthetic]"]


@pytest.mark.slow
def test_an_empty_selection_changes_nothing(synthetic_suite, tmp_path):
    """The issue's reproduction: `--suite quick --only 'cme*'` keeps nothing (3D models); it used to write an empty
    report over a full one and crash."""
    out = tmp_path / "reports"
    base = ["run", "--out", str(out), "--workers", "1", "--quiet"]
    assert main(base + ["--only", "cli_*"]) == 0
    before = _snapshot(out)
    with pytest.raises(SystemExit, match=r"the quick suite \(two-band 2D models only.*\) keeps none of the 4 "
                                         r"selected comparisons \(cme_bloch\[weyl\].*nothing was run"):
        main(base + ["--suite", "quick", "--only", "cme*"])
    assert _snapshot(out) == before


def test_check_replaces_reads_the_summary(tmp_path):
    from validation.report_guard import ReportShrinkError, check_replaces

    check_replaces(tmp_path / "nothing_here", ["a"])  # no report: nothing to protect
    (tmp_path / "summary.csv").write_text("comparison,verdict\na,x\nb,y\n")
    check_replaces(tmp_path, ["b", "a", "c"])
    with pytest.raises(ReportShrinkError, match=r"drop 1 of them \(b\)"):
        check_replaces(tmp_path, ["a"])
    check_replaces(tmp_path, ["a"], replace=True)
    (tmp_path / "summary.csv").write_bytes(b"\xff\xfe broken")
    check_replaces(tmp_path, ["a"])  # an unreadable report protects nothing


# --- arguments (issue 12, item 7) ---------------------------------------------------------------
@pytest.fixture
def mixed_suite(isolated_registry):
    register(synthetic_comparison("mixed_b[synthetic]", {2: 1.0}, sweep=Sweep.log(1e-1, 1e-3, 5)))
    register(synthetic_comparison("mixed_e[synthetic]", {2: 1.0}, sweep=Sweep.log(1e-1, 1e-3, 5, variable="E")))


@pytest.mark.slow
def test_sweep_variable_skips_sweeps_of_the_other_field(mixed_suite, tmp_path, capsys):
    """--sweep-variable flux on a mixed suite used to fail with 'cannot express a E sweep in flux'."""
    out = tmp_path / "flux"
    assert main(["run", "--only", "mixed_*", "--out", str(out), "--workers", "1", "--quiet",
                 "--sweep-variable", "flux"]) == 0
    err = capsys.readouterr().err
    assert ("--sweep-variable flux does not apply to the electric-field sweeps of 1 comparison, which are skipped: "
            "mixed_e[synthetic] (--sweep-variable hbar applies to every sweep)") in err
    with (out / "summary.csv").open() as fh:
        assert [(r["comparison"], r["sweep"]) for r in csv.DictReader(fh)] == [("mixed_b[synthetic]", "flux")]
    out = tmp_path / "hbar"
    assert main(["run", "--only", "mixed_*", "--out", str(out), "--workers", "1", "--quiet",
                 "--sweep-variable", "hbar"]) == 0
    with (out / "summary.csv").open() as fh:
        assert {r["sweep"] for r in csv.DictReader(fh)} == {"hbar"}
    with pytest.raises(SystemExit, match="--sweep-variable E applies to none of the selected comparisons"):
        main(["run", "--only", "mixed_b*", "--out", str(tmp_path / "none"), "--workers", "1", "--quiet",
              "--sweep-variable", "E"])
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--workers", "0"], "--workers must be >= 1, got 0"),
        (["--workers", "two"], "argument --workers: invalid int value: 'two'"),
        (["--only", ""], "--only needs a comparison name or a shell pattern"),
        (["--dask-timeout", "5"], "--dask-timeout applies to --dask ADDRESS"),
        (["--dask", "tcp://127.0.0.1:8786", "--dask-timeout", "-1"], "--dask-timeout must be a positive number"),
        (["--sweep-variable", "B"], "argument --sweep-variable: invalid choice: 'B'"),
        (["--suite", "slow"], "argument --suite: invalid choice: 'slow'"),
        (["--no-cache", "--force"], "--no-cache cannot be combined with --cache or --force"),
    ],
)
def test_bad_arguments_are_named(synthetic_suite, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--only", "cli_*", "--out", str(tmp_path / "r"), "--quiet", *extra])
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_out_that_is_a_file_is_named(synthetic_suite, tmp_path):
    (tmp_path / "r").write_text("not a folder")
    with pytest.raises(SystemExit, match="--out .* is a file, not a directory"):
        main(["run", "--only", "cli_*", "--out", str(tmp_path / "r"), "--workers", "1", "--quiet"])
    (tmp_path / "c").write_text("not a folder")
    with pytest.raises(SystemExit, match="--cache: results cache .* exists and is not a directory"):
        main(["run", "--only", "cli_*", "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c"),
              "--workers", "1", "--quiet"])


@pytest.mark.slow
def test_write_reports_refuses_to_shrink_a_report(tmp_path):
    from validation import run
    from validation.report import write_reports
    from validation.report_guard import ReportShrinkError

    sweep = Sweep.log(1e-1, 1e-3, 4)
    results = run([synthetic_comparison(f"shrink_{i}[synthetic]", {2: 1.0}, sweep=sweep) for i in range(2)], workers=1)
    write_reports(results, tmp_path)
    before = _snapshot(tmp_path)
    with pytest.raises(ReportShrinkError, match=r"drop 1 of them \(shrink_1\[synthetic\]\)"):
        write_reports(results[:1], tmp_path)
    with pytest.raises(ValueError, match="results is empty"):
        write_reports([], tmp_path)
    assert _snapshot(tmp_path) == before
    write_reports(results[:1], tmp_path, replace=True)
    with (tmp_path / "summary.csv").open() as fh:
        assert [row["comparison"] for row in csv.DictReader(fh)] == ["shrink_0[synthetic]"]
