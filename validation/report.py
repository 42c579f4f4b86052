"""Reports of a validation run: CSV tables, log-log figures, Markdown and HTML index.

Layout of ``out/``:

- ``summary.csv``: one row per comparison, columns :data:`SUMMARY_COLUMNS`
  (``max_residual`` is the max over k-points and matrix elements at the
  smallest sweep value; ``order_ci`` is the 95% interval ``[lo, hi]``, empty
  when no order was fitted);
- ``<slug>.csv``: every point of one comparison: the sweep value (column
  ``hbar``, for an hbar sweep), the lattice field (column ``flux`` or ``E``),
  then :data:`POINT_COLUMNS` (``exact`` / ``predicted`` are the values at
  ``element``, where the residual is largest), then the comparison's
  annotation columns, if any (:attr:`Comparison.annotate`);
- ``<slug>.png``: the log-log convergence figure;
- ``run.json``: provenance: package versions, git commit, platform, command
  line, how the run was executed, and per comparison its parameters and the
  seconds each point took;
- ``index.md`` and ``index.html``: the verdict table, one section per
  comparison (with its point table), and a closing Provenance section.

Everything except ``run.json`` and the Provenance section depends only on the
numbers, so two runs of the same code on different executors (serial, process
pool, Dask) write identical CSV files and identical reports above that section.
"""

from __future__ import annotations

import csv
import datetime as _dt
import html
import json
import math
import re
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from .convergence import FAILS, INCONCLUSIVE, ConvergenceResult
from .naming import slug
from .provenance import comparison_parameters, environment

__all__ = ["SUMMARY_COLUMNS", "POINT_COLUMNS", "ReportPaths", "write_reports"]

SUMMARY_COLUMNS = (
    "comparison",
    "model",
    "prediction",
    "equation",
    "sweep",
    "fitted_order",
    "order_ci",
    "verdict",
    "max_residual",
    "units",
)
POINT_COLUMNS = ("exact", "predicted", "residual", "norm_residual", "floor", "at_floor", "element", "units")


def _num(x: float | complex, fmt: str = ".6e") -> str:
    if isinstance(x, complex):
        if x.imag == 0:
            x = x.real
        else:
            return f"{x.real:{fmt}}{x.imag:+{fmt}}j"
    return "nan" if math.isnan(x) else f"{x:{fmt}}"


def _ci(result: ConvergenceResult, fmt: str = ".3f") -> str:
    if result.fit is None:
        return ""
    lo, hi = result.order_ci
    return f"[{lo:{fmt}}, {hi:{fmt}}]"


def _summary_row(result: ConvergenceResult) -> dict[str, str]:
    c = result.comparison
    return {
        "comparison": c.name,
        "model": c.model_label,
        "prediction": c.prediction_kind,
        "equation": c.equation,
        "sweep": result.sweep.variable,
        "fitted_order": _num(result.fitted_order, ".4f"),
        "order_ci": _ci(result, ".4f"),
        "verdict": result.verdict,
        "max_residual": _num(result.max_residual, ".4e"),
        "units": c.units,
    }


def _write_summary(results: Sequence[ConvergenceResult], path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        for r in results:
            writer.writerow(_summary_row(r))


def _annotation_keys(result: ConvergenceResult) -> list[str]:
    """Annotation columns of a comparison, in order of first appearance."""
    keys: dict[str, None] = {}
    for p in result.points:
        keys.update(dict.fromkeys(p.annotations))
    return list(keys)


def _annotation_text(value: object) -> str:
    if isinstance(value, float):
        return _num(value, ".6g")
    return "" if value is None else str(value)


def _sweep_columns(result: ConvergenceResult) -> tuple[str, ...]:
    """Sweep variable (if it is not the lattice one), then the lattice variable (flux or E)."""
    sweep = result.sweep
    return (sweep.lattice_variable,) if sweep.variable == sweep.lattice_variable else (sweep.variable, sweep.lattice_variable)


def _point_header(result: ConvergenceResult) -> tuple[str, ...]:
    """Sweep columns, POINT_COLUMNS, then the annotation columns."""
    return _sweep_columns(result) + POINT_COLUMNS + tuple(_annotation_keys(result))


def _write_points(result: ConvergenceResult, path: Path) -> None:
    keys = _annotation_keys(result)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(_point_header(result))
        for p in result.points:
            row = [
                repr(p.lattice_value),
                _num(p.exact_at_max, ".15e"),
                _num(p.predicted_at_max, ".15e"),
                _num(p.residual),
                _num(p.norm_residual),
                _num(p.floor, ".3e"),
                str(p.at_floor),
                "[" + ",".join(map(str, p.element)) + "]",
                result.comparison.units,
            ]
            if result.sweep.variable != result.sweep.lattice_variable:
                row.insert(0, repr(p.sweep_value))
            writer.writerow(row + [_annotation_text(p.annotations.get(k)) for k in keys])


# --- index documents: one block list rendered as Markdown and as HTML ---------------
@dataclass(frozen=True)
class _Block:
    kind: str  # "h1" | "h2" | "p" | "ul" | "table" | "img"
    content: object
    link: bool = False  # a table whose first column names a section (linked in HTML)


def _order_text(result: ConvergenceResult) -> str:
    if result.fit is None:
        return "not fitted"
    return f"{result.fitted_order:.2f} {_ci(result, '.2f')}"


def _counterpart(result: ConvergenceResult, by_name: dict[str, ConvergenceResult]) -> ConvergenceResult | None:
    name = result.comparison.counterpart
    return by_name.get(name) if name else None


def _blocks(results: Sequence[ConvergenceResult], title: str, context: Sequence[str]) -> list[_Block]:
    by_name = {r.name: r for r in results}
    header = ["comparison", "model", "prediction", "equation", "sweep", "order [95% CI]", "verdict", "max residual", "units"]
    rows = [
        [
            r.name,
            r.comparison.model_label,
            r.comparison.prediction_kind,
            r.comparison.equation,
            r.sweep.variable,
            _order_text(r),
            r.verdict,
            _num(r.max_residual, ".2e"),
            r.comparison.units,
        ]
        for r in results
    ]
    blocks = [
        _Block("h1", title),
        _Block("p", " ".join(context)),
        _Block("h2", "Verdicts"),
        _Block("table", (header, rows), link=True),
        _Block(
            "p",
            "Order: least-squares slope of log(max residual) against log(sweep variable), 95% interval "
            "from the t distribution. Verdicts: order >= 1.8 'exact to O(hbar)', <= 1.2 'fails at O(hbar)', "
            "else 'inconclusive'; points within 10x the error floor (exact tolerance + the prediction's "
            "quadrature error) are not fitted, and when every point is at the floor the verdict is "
            "'agrees at every field'. Max residual: at the smallest sweep value.",
        ),
    ]
    for r in results:
        c = r.comparison
        blocks.append(_Block("h2", r.name))
        blocks.append(_Block("p", c.description))
        items = [
            f"Equation: {c.equation} ({c.prediction_kind})",
            f"Model: {c.model_label}",
            f"Where: {c.points}",
            f"Expected order (theory): {c.expected_order:g}",
            f"Sweep: {r.sweep.describe()}",
            f"Exact solver tolerance: {c.exact_tol:.1e}; units: {c.units}",
            f"Fitted order: {_order_text(r)} from {len(r.fitted_points)} of {len(r.points)} points; verdict: **{r.verdict}**",
            *r.notes,
        ]
        other = _counterpart(r, by_name)
        if c.counterpart and (r.verdict in (FAILS, INCONCLUSIVE) or c.prediction_kind == "corrected"):
            if other is not None:
                items.append(
                    f"Counterpart `{other.name}` ({other.comparison.prediction_kind}, {other.comparison.equation}): "
                    f"order {_order_text(other)}, verdict **{other.verdict}**"
                )
            else:
                items.append(f"Counterpart `{c.counterpart}` was not part of this run")
            if c.difference:
                items.append(f"What differs: {c.difference}")
        blocks.append(_Block("ul", items))
        blocks.append(_Block("img", (f"{slug(r.name)}.png", f"convergence of {r.name}")))
        blocks.append(_Block("table", _point_table(r)))
        blocks.append(_Block("p", f"Points: [{slug(r.name)}.csv]({slug(r.name)}.csv)"))
    return blocks


def _point_table(result: ConvergenceResult) -> tuple[list[str], list[list[str]]]:
    """Per-point table of a comparison section: sweep columns, residual, floor, fitted, annotations."""
    keys = _annotation_keys(result)
    header = [*_sweep_columns(result), "max residual", "floor", "fitted", *keys]
    rows = []
    for p in result.points:
        lead = [_num(p.lattice_value, ".4g")]
        if result.sweep.variable != result.sweep.lattice_variable:
            lead.insert(0, _num(p.sweep_value, ".4g"))
        fitted = "no (at floor)" if p.at_floor else ("yes" if result.fit is not None else "no")
        rows.append(
            [*lead, _num(p.residual, ".3e"), _num(p.floor, ".1e"), fitted,
             *(_annotation_text(p.annotations.get(k)) for k in keys)]
        )
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


def _markdown(blocks: Sequence[_Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind == "h1":
            out.append(f"# {b.content}\n")
        elif b.kind == "h2":
            out.append(f"## {b.content}\n")
        elif b.kind == "p":
            out.append(f"{b.content}\n")
        elif b.kind == "ul":
            out.append("\n".join(f"- {item}" for item in b.content) + "\n")
        elif b.kind == "img":
            src, alt = b.content
            out.append(f"![{alt}]({src})\n")
        elif b.kind == "table":
            header, rows = b.content
            esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in rows]
            out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def _inline_html(text: str) -> str:
    """Escape, then render **bold**, `code` and [text](href) as the Markdown does."""
    s = html.escape(str(text), quote=False)
    s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
    s = re.sub(r"`(.+?)`", r"<code>\1</code>", s)
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', s)


def _html(blocks: Sequence[_Block], title: str) -> str:
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #bbb;padding:2px 6px}"
        "th{background:#eee}img{max-width:40em}code{background:#f4f4f4}"
    )
    out = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
           f"<style>{style}</style></head><body>"]
    for b in blocks:
        if b.kind in ("h1", "h2"):
            anchor = slug(str(b.content))
            out.append(f"<{b.kind} id='{anchor}'>{html.escape(str(b.content))}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{_inline_html(b.content)}</p>")
        elif b.kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in b.content) + "</ul>")
        elif b.kind == "img":
            src, alt = b.content
            out.append(f"<p><img src='{html.escape(src)}' alt='{html.escape(alt)}'></p>")
        elif b.kind == "table":
            header, rows = b.content
            out.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
            for row in rows:
                cells = [html.escape(str(v)) for v in row]
                if b.link:
                    cells[0] = f"<a href='#{slug(row[0])}'>{cells[0]}</a>"
                out.append("<tr>" + "".join(f"<td>{v}</td>" for v in cells) + "</tr>")
            out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)


@dataclass(frozen=True)
class ReportPaths:
    """Files written by :func:`write_reports`."""

    summary: Path
    points: dict[str, Path]
    plots: dict[str, Path]
    markdown: Path
    html: Path
    provenance: Path


def write_reports(
    results: Sequence[ConvergenceResult],
    out: str | Path = "reports",
    context: Sequence[str] = (),
    title: str = "Validation of the O(hbar) semiclassical theory against the exact lattice solver",
    executor: Executor | None = None,
    run_info: dict[str, object] | None = None,
) -> ReportPaths:
    """Write summary.csv, one CSV and one PNG per comparison, run.json, index.md and index.html into ``out``.

    ``context`` lines (suite, number of comparisons) go under the title; they
    should depend only on what was computed. ``run_info`` (how the run was
    executed: workers or cluster, wall time, cache use) goes to run.json and
    the Provenance section. The figures are drawn through ``executor`` if
    given (e.g. the worker pool of the run; it must share this filesystem),
    else in this process.
    """
    from .plots import plot_convergence  # matplotlib is imported only where figures are drawn

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stems = [slug(r.name) for r in results]
    if len(set(stems)) != len(stems):
        raise ValueError(f"comparison names collide as file names: {stems}")
    summary = out / "summary.csv"
    _write_summary(results, summary)
    points = {}
    for r, stem in zip(results, stems):
        points[r.name] = out / f"{stem}.csv"
        _write_points(r, points[r.name])
    figures = [out / f"{stem}.png" for stem in stems]
    drawn = executor.map(plot_convergence, results, figures) if executor else map(plot_convergence, results, figures)
    plots = {r.name: path for r, path in zip(results, drawn)}
    record = {
        "generated": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "environment": environment(),
        "run": dict(run_info or {}),
        "comparisons": {
            r.name: {
                **comparison_parameters(r.comparison, r.sweep),
                "verdict": r.verdict,
                "fitted_order": None if r.fit is None else r.fitted_order,
                "seconds": [p.seconds for p in r.points],
            }
            for r in results
        },
    }
    provenance = out / "run.json"
    provenance.write_text(json.dumps(record, indent=2) + "\n")
    blocks = _blocks(results, title, context) + _provenance_blocks(record)
    md = out / "index.md"
    md.write_text(_markdown(blocks))
    page = out / "index.html"
    page.write_text(_html(blocks, title))
    return ReportPaths(summary, points, plots, md, page, provenance)
