"""Reports of a validation run: data files, figures, and the Markdown and HTML pages.

:func:`write_reports` writes a run's data files (:mod:`validation.records`:
summary.csv, one CSV per comparison, run.json) and then :func:`render_reports`
draws everything else from those files alone:

- ``<slug>.png``: the log-log convergence figure of each comparison (:mod:`validation.plots`);
- ``overview.png`` and its plotted data ``overview.csv``: every comparison in
  one frame and every fitted order in one column (:mod:`validation.overview`);
- ``index.md`` and ``index.html``: the run at a glance (verdict counts), the
  paper's claims (one group of rows per equation: each form registered, its
  verdict and orders, then what differs where a printed form fails), the
  overview figure, the verdict table, one section per comparison (texts,
  figure, point table) and a closing Provenance section.

``keldysh-validate report DIR`` calls :func:`render_reports` on a finished
run: it computes no physics, and rewrites the same bytes a run wrote. The HTML
page is self-contained apart from its PNGs: inline CSS, no scripts, no network
fonts. Everything except run.json and the Provenance section depends only on
the numbers, so two runs of the same code on different executors (serial,
process pool, Dask) write identical CSV files and identical pages above that
section.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .claims import claim_groups, differences
from .naming import slug
from .records import ComparisonRecord, RunRecord, read_run, write_run_files
from .report_guard import check_replaces
from .verdicts import VERDICT_STYLES, is_failure, verdict_style

if TYPE_CHECKING:
    from .convergence import ConvergenceResult

__all__ = [
    "ReportPaths",
    "claims_markdown",
    "count_markdown",
    "render_reports",
    "short_model",
    "verdicts_markdown",
    "write_reports",
]

DEFAULT_TITLE = "Validation of the O(hbar) semiclassical theory against the exact lattice solver"
#: Longest model text in the verdict table before it is cut (the full text is in each section).
SHORT_MODEL_LENGTH = 40


# --- a small document model, rendered as Markdown and as HTML ------------------------------------------------------
@dataclass(frozen=True)
class _Text:
    """Inline text with its Markdown form and, when it differs, its HTML form (already escaped)."""

    md: str
    html: str | None = None
    cls: str = ""  # HTML class of the table cell holding it
    title: str = ""  # HTML tooltip of that cell

    def as_html(self) -> str:
        return self.html if self.html is not None else _inline_html(self.md)


#: A table cell that continues the one above it (a row span in HTML, an empty cell in Markdown).
_CONTINUED = _Text("")


@dataclass(frozen=True)
class _Block:
    kind: str  # "h1" | "h2" | "p" | "ul" | "table" | "img" | "open" | "close"
    content: object = None
    link: bool = False  # a table whose first column names a section (linked in HTML)
    cls: str = ""  # HTML class (tables, sections, the scrolling box)


def _inline_html(text: str) -> str:
    """Escape, then render **bold**, `code` and [text](href) as the Markdown does."""
    s = html.escape(str(text), quote=False)
    s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
    s = re.sub(r"`(.+?)`", r"<code>\1</code>", s)
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', s)


def _as_text(value: object) -> _Text:
    return value if isinstance(value, _Text) else _Text(str(value))


def _verdict_text(verdict: str, bold: bool = False) -> _Text:
    """A verdict as glyph + text (Markdown), or as a cell / chip of its class (HTML)."""
    style = verdict_style(verdict)
    md = f"{style.glyph} {verdict}"
    return _Text(f"**{md}**" if bold else md, html.escape(md), cls=f"verdict v-{style.key}", title=style.label)


def _verdict_chip(verdict: str) -> _Text:
    """A verdict inside running text: bold in Markdown, a coloured span in HTML."""
    style = verdict_style(verdict)
    md = f"{style.glyph} {verdict}"
    return _Text(f"**{md}**", f"<span class='chip v-{style.key}'>{html.escape(md)}</span>")


def _markdown(blocks: Sequence[_Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind == "h1":
            out.append(f"# {b.content}\n")
        elif b.kind == "h2":
            out.append(f"## {b.content}\n")
        elif b.kind == "p":
            out.append(f"{_as_text(b.content).md}\n")
        elif b.kind == "ul":
            out.append("\n".join(f"- {_as_text(item).md}" for item in b.content) + "\n")
        elif b.kind == "img":
            src, alt = b.content
            out.append(f"![{alt}]({src})\n")
        elif b.kind == "table":
            header, rows = b.content
            esc = lambda s: str(s).replace("|", "\\|")
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(esc(_as_text(v).md) for v in row) + " |" for row in rows]
            out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def _html_table(block: _Block) -> str:
    header, rows = block.content
    cells = [[_as_text(v) for v in row] for row in rows]
    spans = [[1] * len(row) for row in cells]
    for j in range(len(header)):
        for i in range(len(cells) - 1, 0, -1):
            if cells[i][j] is _CONTINUED:
                spans[i - 1][j] += spans[i][j]
    cls = f" class='{block.cls}'" if block.cls else ""
    out = [f"<table{cls}>" if cls else "<table>",
           "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for i, row in enumerate(cells):
        tds = []
        for j, cell in enumerate(row):
            if cell is _CONTINUED:
                continue
            content = cell.as_html()
            if block.link and j == 0:
                content = f"<a href='#{slug(cell.md)}'>{content}</a>"
            attrs = (f" class='{cell.cls}'" if cell.cls else "") + (
                f" title='{html.escape(cell.title)}'" if cell.title else "") + (
                f" rowspan='{spans[i][j]}'" if spans[i][j] > 1 else "")
            tds.append(f"<td{attrs}>{content}</td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _style() -> str:
    verdicts = "".join(
        f".v-{s.key}{{background:{s.tint};border-left-color:{s.colour}}}" for s in (*VERDICT_STYLES, verdict_style("?"))
    )
    return (
        "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;"
        "max-width:80em;margin:1.5em auto;padding:0 1em;line-height:1.4;color:#111}"
        "h2{margin-top:1.6em;border-bottom:1px solid #ccc}"
        "table{border-collapse:separate;border-spacing:0;font-size:88%;margin:.5em 0}"
        "td,th{border-bottom:1px solid #ccc;border-right:1px solid #e2e2e2;padding:2px 6px;text-align:left;"
        "vertical-align:top}"
        "th{background:#eee}code{background:#f2f2f2}"
        ".scroll{max-height:80vh;overflow:auto;border:1px solid #bbb}"
        ".scroll table{margin:0}"
        ".scroll thead th{position:sticky;top:0;z-index:2}"
        ".scroll tbody td:first-child{position:sticky;left:0;z-index:1;background:#fff;white-space:nowrap}"
        ".scroll thead th:first-child{left:0;z-index:3}"
        "td.verdict{white-space:nowrap;font-weight:600;border-left:6px solid}"
        ".chip{padding:0 .4em;border-left:5px solid;border-radius:2px;font-weight:600;white-space:nowrap}"
        "td.form{white-space:nowrap}td.eq{font-weight:600;white-space:nowrap}"
        "img{max-width:100%}section.comparison img{max-width:42em}"
        f"{verdicts}"
        "@media print{*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
        ".scroll{max-height:none;overflow:visible}}"
    )


def _html(blocks: Sequence[_Block], title: str) -> str:
    out = [f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
           f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_style()}</style></head><body>"]
    for b in blocks:
        if b.kind in ("h1", "h2"):
            out.append(f"<{b.kind} id='{slug(str(b.content))}'>{html.escape(str(b.content))}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{_as_text(b.content).as_html()}</p>")
        elif b.kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_as_text(i).as_html()}</li>" for i in b.content) + "</ul>")
        elif b.kind == "img":
            src, alt = b.content
            out.append(f"<p><img src='{html.escape(src)}' alt='{html.escape(alt)}'></p>")
        elif b.kind == "table":
            out.append(_html_table(b))
        elif b.kind == "open":
            data = f" data-comparison='{html.escape(str(b.content))}'" if b.content else ""
            out.append(f"<{'section' if b.cls.startswith('comparison') else 'div'} class='{b.cls}'{data}>")
        elif b.kind == "close":
            out.append(f"</{b.content}>")
    out.append("</body></html>\n")
    return "\n".join(out)


# --- contents ---------------------------------------------------------------------------------------------------
def short_model(label: str, limit: int = SHORT_MODEL_LENGTH) -> str:
    """A model label for a table cell: if longer than ``limit``, parameter lists elided, then middle parts.

    ``"qwz(m=1, t0=0.3), mu=-0.3, T=0 (mu in a gap)"`` -> ``"qwz(…), mu=-0.3, T=0 (mu in a gap)"``.
    """
    if len(label) <= limit:
        return label
    text = re.sub(r"\(([^()]*=[^()]*)\)", "(\u2026)", label)
    if len(text) <= limit:
        return text
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    tail: list[str] = []  # the state (mu, T, regime) comes last in a label: keep the end, elide the middle
    for part in reversed(parts[1:]):
        if len(parts[0]) + len(", \u2026,") + sum(len(p) + 1 for p in [part, *tail]) > limit:
            break
        tail.insert(0, part)
    short = ",".join([parts[0], *tail]) if len(tail) == len(parts) - 1 else ",".join([parts[0], " \u2026", *tail])
    return short if len(short) <= limit else short[: limit - 1] + "\u2026"


def _name_link(name: str) -> _Text:
    return _Text(f"`{name}`", f"<a href='#{slug(name)}'>{html.escape(name)}</a>")


def _order_of(r: ComparisonRecord) -> str:
    if r.onset is not None:
        return f"onset above {r.sweep_variable} = {r.onset:.3g}"
    return f"{r.fitted_order:.2f}" if r.has_order else "no order"


def _count_line(records: Sequence[ComparisonRecord]) -> _Text:
    counts = Counter(r.verdict for r in records)
    order = sorted(counts, key=lambda v: (verdict_style(v).rank, v))
    md = [f"{counts[v]} **{verdict_style(v).glyph} {v}**" for v in order]
    chips = [f"{counts[v]} {_verdict_chip(v).html}" for v in order]
    n = len(records)
    lead = f"{n} comparison{'s' if n != 1 else ''}: "
    return _Text(lead + ", ".join(md) + ".", html.escape(lead) + ", ".join(chips) + ".")


def _claims_blocks(records: Sequence[ComparisonRecord], heading: bool = True) -> list[_Block]:
    """The paper's claims: per equation, each registered form with its verdict and orders; then what differs."""
    header = ["equation", "form", "expected order", "verdict", "comparisons (fitted order)"]
    rows = []
    for eq, forms in claim_groups(records):
        first_eq = True
        for kind, by_verdict in forms:
            first_kind = True
            for verdict, members in by_verdict:
                expected = ", ".join(sorted({f"{m.expected_order:g}" for m in members}))
                names_md = "; ".join(f"`{m.name}` {_order_of(m)}" for m in members)
                names_html = "; ".join(f"{_name_link(m.name).html} {_order_of(m)}" for m in members)
                rows.append([
                    _Text(eq, cls="eq") if first_eq else _CONTINUED,
                    _Text(kind, cls="form") if first_kind else _CONTINUED,
                    expected,
                    _verdict_text(verdict),
                    _Text(names_md, names_html),
                ])
                first_eq = first_kind = False
    items = []
    for diff in differences(records):
        names = ", ".join(f"`{n}`" for n in diff.failing)
        names_html = ", ".join(_name_link(n).html for n in diff.failing)
        lead = f"**{diff.equation}**, {diff.kind} form, {diff.verdict}"
        if diff.expected:
            lead += f" (as the theory expects: order {diff.expected})"
        text = diff.text or "no difference recorded (the comparison's `difference` is empty)"
        items.append(_Text(f"{lead} ({names}): {text}", f"{_inline_html(lead)} ({names_html}): {_inline_html(text)}"))
    blocks = [
        _Block("h2", "The paper's claims"),
        _Block("p", "One group of rows per equation of the paper: every form registered for it (as printed, "
                    "corrected, ablations, rival theories), with its verdict and the fitted order of each comparison. "
                    "Expected order: what the theory claims for that form (2: exact to O(hbar))."),
    ] if heading else []
    blocks.append(_Block("table", (header, rows), cls="claims"))
    if items:
        blocks += [_Block("p", "What differs where a printed form does not hold:"), _Block("ul", items)]
    return blocks


def _verdict_rows(records: Sequence[ComparisonRecord], model: bool = True) -> tuple[list[str], list[list[object]]]:
    """The verdict table: one row per comparison (``model``: with the shortened model label)."""
    header = ["comparison", "equation", "form", *(["model"] if model else []), "sweep", "order [95% CI]", "verdict",
              "max residual", "units"]
    rows = [
        [
            r.name,
            r.equation,
            r.prediction_kind,
            *([_Text(short_model(r.model), title=r.model)] if model else []),
            r.sweep_range,
            r.order_text(),
            _verdict_text(r.verdict),
            "nan" if math.isnan(r.max_residual) else f"{r.max_residual:.2e}",
            r.units,
        ]
        for r in records
    ]
    return header, rows


def _verdict_table(records: Sequence[ComparisonRecord]) -> list[_Block]:
    legend = "; ".join(f"{s.glyph} {s.label}" for s in VERDICT_STYLES)
    return [
        _Block("h2", "Verdicts"),
        _Block("open", cls="scroll"),
        _Block("table", _verdict_rows(records), link=True),
        _Block("close", "div"),
        _Block(
            "p",
            "Order: least-squares slope of log(max residual) against log(sweep variable), 95% interval "
            "from the t distribution. Verdicts: order >= 1.8 'exact to O(hbar)', <= 1.2 'fails at O(hbar)', "
            "else 'inconclusive'; points within 10x the error floor (exact tolerance + the prediction's "
            "quadrature error) are not fitted, and when every point is at the floor the verdict is "
            "'agrees at every field'. Max residual: at the smallest sweep value. Model parameters are elided "
            "here and given in full in each comparison's section.",
        ),
        _Block("p", f"Verdicts from best to worst: {legend}."),
    ]


def _section(r: ComparisonRecord, by_name: dict[str, ComparisonRecord]) -> list[_Block]:
    verdict = _verdict_chip(r.verdict)
    fitted = sum(r.is_fitted(p) for p in r.points)
    items: list[object] = [
        f"Equation: {r.equation} ({r.prediction_kind})",
        f"Model: {r.model}",
        f"Where: {r.where}",
        f"Expected order (theory): {r.expected_order:g}",
        f"Sweep: {r.sweep_text}",
        f"Exact solver tolerance: {r.exact_tol:.1e}; units: {r.units}",
        _Text(
            f"Fitted order: {r.order_text()} from {fitted} of {len(r.points)} points; verdict: {verdict.md}",
            _inline_html(f"Fitted order: {r.order_text()} from {fitted} of {len(r.points)} points; verdict: ")
            + verdict.html,
        ),
        *r.notes,
        *(f"Non-perturbative onset: agrees below {r.sweep_variable} = {r.onset:.3g}, then the residual grows faster "
          "than any power of the field" for _ in [r.onset] if r.onset is not None),
        *(f"Error: {e}" for e in r.errors),
    ]
    other = by_name.get(r.counterpart) if r.counterpart else None
    if r.counterpart and (is_failure(r.verdict) or r.prediction_kind == "corrected"):
        if other is not None:
            chip = _verdict_chip(other.verdict)
            lead = f"Counterpart `{other.name}` ({other.prediction_kind}, {other.equation}): order {other.order_text()}, verdict "
            items.append(_Text(lead + chip.md, _inline_html(lead) + chip.html))
        else:
            items.append(f"Counterpart `{r.counterpart}` was not part of this run")
        if r.difference:
            items.append(f"What differs: {r.difference}")
    return [
        _Block("open", r.name, cls="comparison"),
        _Block("h2", r.name),
        _Block("p", r.description),
        _Block("ul", items),
        _Block("img", (f"{r.stem}.png", f"convergence of {r.name}")),
        _Block("table", _point_table(r)),
        _Block("p", f"Points: [{r.stem}.csv]({r.stem}.csv)"),
        _Block("close", "section"),
    ]


def _point_table(r: ComparisonRecord) -> tuple[list[str], list[list[str]]]:
    """Per-point table of a comparison section: sweep columns, residual, floor, fitted, annotations."""
    header = [*r.sweep_columns, "max residual", "floor", "fitted", *r.annotation_columns]
    rows = []
    for p in r.points:
        lead = [f"{p.lattice_value:.4g}"]
        if len(r.sweep_columns) == 2:
            lead.insert(0, f"{p.sweep_value:.4g}")
        fitted = "no (at floor)" if p.at_floor else "no (onset)" if r.in_onset(p) else "yes" if r.is_fitted(p) else "no"
        rows.append([*lead, f"{p.residual:.3e}", f"{p.floor:.1e}", fitted, *p.annotations])
    return header, rows


def _provenance_blocks(record: dict) -> list[_Block]:
    """The closing Provenance section: when, which code, how it ran, seconds per comparison."""
    env = record["environment"]
    git = env["git"]
    commit = git["commit"] or "unknown (not a git checkout)"
    if git["dirty"]:
        commit += " (with uncommitted changes)"
    items = [
        f"Generated {record['generated']}",
        f"Code: git commit {commit}",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()),
        f"Platform: {env['platform']}",
    ]
    if env["command"]:
        items.append(f"Command: `{env['command']}`")
    items += [f"{k.replace('_', ' ').capitalize()}: {v}" for k, v in record["run"].items()]
    header = ["comparison", "points", "seconds (sum over points)"]
    rows = [
        [name, str(len(c["seconds"])), f"{sum(c['seconds']):.2f}"] for name, c in record["comparisons"].items()
    ]
    return [
        _Block("h2", "Provenance"),
        _Block("ul", items),
        _Block("p", "Seconds to evaluate each comparison's points, as measured when each point was computed "
                    "(points read back from the results cache keep their original timing); all parameters "
                    "and per-point timings are in [run.json](run.json)."),
        _Block("table", (header, rows)),
    ]


def _blocks(run: RunRecord) -> list[_Block]:
    records = run.comparisons
    by_name = {r.name: r for r in records}
    blocks = [
        _Block("h1", run.title),
        _Block("p", " ".join(run.context)),
        _Block("p", _count_line(records)),
        *_claims_blocks(records),
        _Block("h2", "Overview"),
        _Block("img", ("overview.png", "overview: normalised residuals of every comparison and their fitted orders")),
        _Block("p", "Left: each comparison's residual against its sweep variable, both divided by their values at "
                    "the largest sweep value, so that all curves start at (1, 1); a prediction exact to O(hbar) "
                    "follows the slope-2 guide, one wrong at O(hbar) the slope-1 guide. Colour and marker shape: the "
                    "verdict; hollow markers: points at the error floor. Right: fitted orders with their 95% "
                    "intervals, grouped by equation, the grey bar at the order the theory claims. The plotted "
                    "numbers: [overview.csv](overview.csv)."),
        *_verdict_table(records),
    ]
    for r in records:
        blocks += _section(r, by_name)
    return blocks


def claims_markdown(records: Sequence[ComparisonRecord]) -> str:
    """The claims table and the what-differs list as Markdown (no heading), as in index.md."""
    return _markdown(_claims_blocks(records, heading=False))


def verdicts_markdown(records: Sequence[ComparisonRecord]) -> str:
    """The verdict table as Markdown, without the model column (the names carry the model keys)."""
    return _markdown([_Block("table", _verdict_rows(records, model=False))])


def count_markdown(records: Sequence[ComparisonRecord]) -> str:
    """``"38 comparisons: 8 **■ agrees at every field**, ..."``."""
    return _count_line(records).md


@dataclass(frozen=True)
class ReportPaths:
    """Files of a report directory."""

    summary: Path
    points: dict[str, Path]
    plots: dict[str, Path]
    markdown: Path
    html: Path
    provenance: Path
    overview: Path
    overview_data: Path


def render_reports(directory: str | Path, executor: Executor | None = None) -> ReportPaths:
    """Draw every figure and page of a report directory from its data files alone.

    Reads summary.csv, run.json and the point CSVs (:func:`validation.records.read_run`)
    and writes the per-comparison PNGs, overview.png / overview.csv, index.md and
    index.html. No physics is computed. The per-comparison figures are drawn
    through ``executor`` if given (it must share this filesystem), else here.
    """
    from .overview import write_overview  # matplotlib is imported only where figures are drawn
    from .plots import plot_convergence

    directory = Path(directory)
    run = read_run(directory)
    records = run.comparisons
    figures = [directory / f"{r.stem}.png" for r in records]
    drawn = executor.map(plot_convergence, records, figures) if executor else map(plot_convergence, records, figures)
    plots = {r.name: path for r, path in zip(records, drawn)}
    overview, overview_data = write_overview(records, directory, title=" ".join(run.context))
    blocks = _blocks(run) + _provenance_blocks(run.provenance)
    md = directory / "index.md"
    md.write_text(_markdown(blocks))
    page = directory / "index.html"
    page.write_text(_html(blocks, run.title))
    return ReportPaths(
        directory / "summary.csv", {r.name: directory / f"{r.stem}.csv" for r in records}, plots, md, page,
        directory / "run.json", overview, overview_data,
    )


def write_reports(
    results: Sequence[ConvergenceResult],
    out: str | Path = "reports",
    context: Sequence[str] = (),
    title: str = DEFAULT_TITLE,
    executor: Executor | None = None,
    run_info: dict[str, object] | None = None,
    replace: bool = False,
) -> ReportPaths:
    """Write a run's data files (summary.csv, one CSV per comparison, run.json), then its figures and pages.

    ``context`` lines (suite, number of comparisons) go under the title; they
    should depend only on what was computed. ``run_info`` (how the run was
    executed: workers or cluster, wall time, cache use) goes to run.json and
    the Provenance section. The figures and pages are drawn from the files just
    written (:func:`render_reports`), through ``executor`` if given. A report in
    ``out`` that lists comparisons not in ``results`` is not overwritten unless
    ``replace`` (:func:`validation.report_guard.check_replaces` raises
    ``ReportShrinkError``); no results raise ValueError.
    """
    if not results:
        raise ValueError("results is empty: an empty report is not written")
    check_replaces(out, [r.name for r in results], replace)
    out = Path(out)
    write_run_files(results, out, title, context, run_info)
    return render_reports(out, executor=executor)
