"""Report contents: annotation columns, per-point tables, provenance, the HTML page read by a parser, the overview
figure and its data, the claims table, and the rebuild of every figure and page from the files alone."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from validation import ERROR, VERDICTS, Sweep, run
from validation.convergence import ConvergenceResult
from validation.naming import slug
from validation.overview import OVERVIEW_COLUMNS, overview_figure
from validation.provenance import git_state
from validation.records import POINT_COLUMNS, ComparisonRecord, read_run
from validation.report import claims_markdown, short_model, write_reports
from validation.testing import synthetic_comparison
from validation.verdicts import VERDICT_STYLES, verdict_rank, verdict_style

SWEEP = Sweep.log(1e-1, 1e-3, 5)


@pytest.fixture(scope="module")
def results():
    return run(
        [
            synthetic_comparison("rep_annotated[synthetic]", {2: 1.0}, sweep=SWEEP, annotated=True),
            synthetic_comparison("rep_plain[synthetic]", {1: 1.0}, sweep=SWEEP, counterpart="rep_annotated[synthetic]",
                                 difference="a linear term"),
            synthetic_comparison("rep_floor[synthetic]", {}, ripple=1e-12, sweep=SWEEP, equation="Eq. 3"),
        ],
        workers=1,
    )


@pytest.fixture(scope="module")
def report(results, tmp_path_factory):
    """A report directory with the three synthetic comparisons and one that raised (no points, verdict error)."""
    out = tmp_path_factory.mktemp("report")
    raised = ConvergenceResult(
        synthetic_comparison("rep_raised[synthetic]", {2: 1.0}, sweep=SWEEP, equation="Eq. 3"), SWEEP, (), None, ERROR,
        notes=("GapError at flux 0.1: the gap closes",),
    )
    write_reports([*results, raised], out, context=["Suite `test`."], run_info={"executed_on": "1 process (in-process)"})
    return out


@pytest.mark.slow
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


@pytest.mark.slow
def test_provenance_is_recorded(report, results):
    record = json.loads((report / "run.json").read_text())
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
    assert c["fit"]["intercept"] == pytest.approx(results[0].fit.intercept, rel=0, abs=0)  # kept to the last bit
    md = (report / "index.md").read_text()
    provenance = md.split("## Provenance")[1]
    assert f"numpy {versions['numpy']}" in provenance and "Executed on: 1 process (in-process)" in provenance
    assert "| rep_annotated[synthetic] | 5 |" in provenance
    html = (report / "index.html").read_text()
    assert "<h2 id='Provenance'>Provenance</h2>" in html and "run.json" in html


# --- the HTML page, read by a parser -------------------------------------------------------------------------------
class _Page(HTMLParser):
    """Sections of comparisons (with their ids, images and verdict classes), verdict cells, external references."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.current: str | None = None
        self.depth = 0
        self.verdict_cells: list[tuple[str, str]] = []  # (class, text) of every <td class='verdict ...'>
        self.cell: str | None = None
        self.tags: set[str] = set()
        self.references: list[str] = []
        self.style = ""
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        self.references += [a[k] for k in ("src", "href") if k in a]
        classes = (a.get("class") or "").split()
        if tag == "section" and "comparison" in classes:
            self.current = a["data-comparison"]
            self.sections[self.current] = {"ids": [], "images": [], "verdicts": []}
        if self.current is not None:
            if tag == "section":
                self.depth += 1
            section = self.sections[self.current]
            if "id" in a:
                section["ids"].append(a["id"])
            if tag == "img":
                section["images"].append(a["src"])
            section["verdicts"] += [c[2:] for c in classes if c.startswith("v-")]
        if tag == "td" and "verdict" in classes:
            self.cell = next(c for c in classes if c.startswith("v-"))
            self.verdict_cells.append((self.cell, ""))
        self.in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "section" and self.current is not None:
            self.depth -= 1
            if self.depth == 0:
                self.current = None
        if tag == "td":
            self.cell = None
        self.in_style = False

    def handle_data(self, data):
        if self.cell is not None:
            cls, text = self.verdict_cells[-1]
            self.verdict_cells[-1] = (cls, text + data)
        if self.in_style:
            self.style += data


def _summary(report: Path) -> list[dict[str, str]]:
    with (report / "summary.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_html_has_a_section_an_image_and_a_verdict_class_per_comparison(report):
    page = _Page()
    page.feed((report / "index.html").read_text())
    summary = _summary(report)
    assert [row["comparison"] for row in summary] == list(page.sections)
    for row in summary:
        name, key = row["comparison"], verdict_style(row["verdict"]).key
        section = page.sections[name]
        assert slug(name) in section["ids"]
        assert section["images"] == [f"{slug(name)}.png"] and (report / f"{slug(name)}.png").stat().st_size > 0
        assert section["verdicts"][0] == key, name  # the section's own verdict chip comes first (then a counterpart's)
    assert verdict_style(ERROR).key == "error" and "error" in page.sections["rep_raised[synthetic]"]["verdicts"]
    # every verdict cell says its verdict in words too (a page printed in grey keeps it), and its class matches it
    assert page.verdict_cells and all(text.split(" ", 1)[1] in VERDICTS for _, text in page.verdict_cells)
    assert all(cls == f"v-{verdict_style(text.split(' ', 1)[1]).key}" for cls, text in page.verdict_cells)
    assert {f"v-{verdict_style(r['verdict']).key}" for r in summary} <= {cls for cls, _ in page.verdict_cells}
    # offline: no scripts, no stylesheets or fonts fetched, only files of the report directory referenced
    assert not page.tags & {"script", "link", "iframe"}
    assert "url(" not in page.style and "@import" not in page.style
    assert "overview.png" in page.references
    local = [r for r in page.references if not r.startswith("#")]
    assert all("://" not in r and (report / r).is_file() for r in local), local
    # the verdict table's head and first column stay in view
    assert "position:sticky;top:0" in page.style and "td:first-child{position:sticky;left:0" in page.style


def test_verdict_styles_order_and_tell_verdicts_apart():
    """Every verdict of convergence has its own style; ranks follow the documented order best -> worst."""
    styles = [verdict_style(v) for v in VERDICTS]
    assert all(s.key != "other" for s in styles)
    documented = ["agrees at every field", "exact to O(hbar)", "non-perturbative onset", "inconclusive",
                  "fails at O(hbar)", "error"]
    assert sorted(VERDICTS) == sorted(documented)
    assert [verdict_rank(v) for v in documented] == sorted(verdict_rank(v) for v in documented)
    assert len({verdict_rank(v) for v in documented}) == len(documented)
    assert verdict_rank(documented[-2]) < verdict_rank("a verdict added later") < verdict_rank(ERROR)
    for attr in ("key", "glyph", "marker", "colour", "tint"):
        assert len({getattr(s, attr) for s in VERDICT_STYLES}) == len(VERDICT_STYLES), attr


# --- the overview figure and its data ------------------------------------------------------------------------------
@pytest.mark.slow
def test_overview_lists_every_comparison_with_its_data(report):
    summary = _summary(report)
    with (report / "overview.csv").open() as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == OVERVIEW_COLUMNS
        rows = list(reader)
    assert (report / "overview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {r["comparison"] for r in rows} == {s["comparison"] for s in summary}
    order = {r["comparison"]: int(r["row"]) for r in rows}
    assert sorted(order.values()) == list(range(len(summary)))
    # grouped by equation: rows of one equation are contiguous, the paper's equations in order, then the rest
    equations = [next(r["equation"] for r in rows if r["comparison"] == n) for n in sorted(order, key=order.get)]
    assert equations == ["Eq. 3", "Eq. 3", "synthetic", "synthetic"]
    # the plotted points are the point CSV's, each normalised to the point at the largest sweep value
    for s in summary:
        with (report / f"{slug(s['comparison'])}.csv").open() as fh:
            points = sorted((float(p["flux"]), float(p["residual"]), p["at_floor"]) for p in csv.DictReader(fh))
        plotted = [r for r in rows if r["comparison"] == s["comparison"]]
        if not points:
            assert len(plotted) == 1 and plotted[0]["x"] == ""
            continue
        x_max, y_ref = points[-1][0], points[-1][1]
        assert [float(r["x_rel"]) for r in plotted] == pytest.approx([x / x_max for x, _, _ in points], rel=1e-6)
        assert [float(r["residual_rel"]) for r in plotted] == pytest.approx([y / y_ref for _, y, _ in points], rel=1e-6)
        assert [r["at_floor"] for r in plotted] == [f for _, _, f in points]
        assert all(r["verdict"] == s["verdict"] for r in plotted)
    # slope 2 of the exact comparison: residual_rel = x_rel^2 (closed form of the synthetic residual)
    exact = [r for r in rows if r["comparison"] == "rep_annotated[synthetic]"]
    assert [float(r["residual_rel"]) for r in exact] == pytest.approx([float(r["x_rel"]) ** 2 for r in exact], rel=1e-5)
    # the order panel names every comparison, one row each, in the CSV's row order
    figure = overview_figure(read_run(report).comparisons)
    order_axis = figure.axes[1]
    labels = [t.get_text() for t in order_axis.get_yticklabels()]
    assert labels == sorted(order, key=order.get)


# --- the paper's claims ----------------------------------------------------------------------------------------------
def _record(name, equation, kind, verdict, order, difference="", counterpart=None, expected=2.0):
    ci = (order - 0.01, order + 0.01) if not math.isnan(order) else (math.nan, math.nan)
    return ComparisonRecord(name, "m", kind, equation, "flux", order, ci, verdict, 1e-6, "1",
                            difference=difference, counterpart=counterpart, expected_order=expected)


def test_claims_show_every_form_and_what_differs_from_the_comparisons_own_texts():
    records = [
        _record("b_printed[m]", "Eq. 7", "printed", "fails at O(hbar)", 1.0, counterpart="b_corrected[m]"),
        _record("b_corrected[m]", "Eq. 7", "corrected", "exact to O(hbar)", 2.0, difference="indices transposed"),
        _record("b_ablation[m]", "Eq. 7", "ablation: no orbital moment", "fails at O(hbar)", 1.0),
        _record("b_rival[m]", "Eq. 7", "rival: wave packet", "inconclusive", 1.5),
        _record("a[m]", "Eq. 2", "printed", "exact to O(hbar)", 2.0, difference="never shown: the printed form holds"),
        _record("c[m]", "Eq. 12b", "printed", "fails at O(hbar)", 1.0, difference="a spurious term", expected=1.0),
    ]
    md = claims_markdown(records)
    table = [[c.strip() for c in line.strip("|").split(" | ")] for line in md.splitlines() if line.startswith("| ")][1:]
    assert [row[0] for row in table] == ["Eq. 2", "Eq. 7", "", "", "", "Eq. 12b"]  # one group of rows per equation
    forms = [row[1] for row in table]
    assert forms == ["printed", "printed", "corrected", "ablation: no orbital moment", "rival: wave packet", "printed"]
    assert "▼ fails at O(hbar) | `b_printed[m]` 1.00" in md and "◆ inconclusive | `b_rival[m]` 1.50" in md
    differs = [line for line in md.splitlines() if line.startswith("- ")]
    assert len(differs) == 2  # printed forms that fail only; ablations and rivals are expected to
    assert "**Eq. 7**" in differs[0] and differs[0].endswith("indices transposed")  # taken from the counterpart
    assert "as the theory expects: order 1" in differs[1] and differs[1].endswith("a spurious term")
    assert "never shown" not in md


def test_short_model_keeps_the_model_and_the_state():
    assert short_model("qwz(m=1, t0=0.3)") == "qwz(m=1, t0=0.3)"
    long = "qwz(m=1, t0=0.3), qE along (cos 0.3, sin 0.3), erf ramp tau=50, mu=-0.3, T=0 (mu in a gap)"
    assert short_model(long) == "qwz(\u2026), \u2026, mu=-0.3, T=0 (mu in a gap)"
    assert all(len(short_model(label)) <= 40 for label in (long, "x" * 80, "a(b=1), " + "c" * 60))


# --- rebuilt from the files alone ----------------------------------------------------------------------------------
_REBUILD = textwrap.dedent(
    """
    import sys
    sys.modules["semiclassics"] = None          # no prediction can be computed
    sys.modules["validation.catalog"] = None    # no built-in comparison can be registered
    import validation.convergence, validation.executor, validation.points, validation.registry

    def physics(*args, **kwargs):
        raise AssertionError("physics entry point called while rebuilding a report")

    for module, name in [(validation.points, "evaluate_point"), (validation.points, "evaluate_task"),
                         (validation.executor, "evaluate_points"), (validation.convergence, "run"),
                         (validation.convergence, "analyse"), (validation.registry, "get"),
                         (validation.registry, "available"), (validation.registry, "load_plugins")]:
        setattr(module, name, physics)
    from validation.cli import main
    status = main(["report", sys.argv[1]])
    assert not any(m.startswith(("semiclassics", "validation.catalog")) for m in sys.modules if sys.modules[m])
    sys.exit(status)
    """
)


@pytest.mark.slow
def test_report_rebuilds_every_figure_and_page_from_the_files_without_physics(report, tmp_path):
    drawn = sorted(p.name for p in report.iterdir() if p.suffix in (".png", ".md", ".html") or p.name == "overview.csv")
    assert len(drawn) == 4 + 3 + 1  # per-comparison PNGs, overview.png, index.md, index.html, overview.csv
    before = {name: (report / name).read_bytes() for name in drawn}
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in report.iterdir():
        if p.name not in before:
            (copy / p.name).write_bytes(p.read_bytes())
    done = subprocess.run([sys.executable, "-c", _REBUILD, str(copy)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "4 comparisons: figures and pages redrawn" in done.stdout
    assert {name: (copy / name).read_bytes() for name in drawn} == before  # byte for byte what the run drew
