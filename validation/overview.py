"""The overview figure of a run: every comparison in one log-log frame, and every fitted order in one column.

Left panel: each comparison's residual against its sweep variable, both
normalised to the point at the largest sweep value (``x / x_max``,
``residual / residual(x_max)``), so that every curve starts at (1, 1) and the
slope-1 and slope-2 guides through (1, 1) compare them all: a prediction exact
to O(hbar) follows slope 2, one wrong at O(hbar) slope 1. Colour and marker
shape say the verdict; hollow markers are points at the error floor (not
fitted). A curve whose residual at x_max is zero is normalised to its largest
residual instead; points with a zero residual cannot be drawn on log axes.

Right panel: the fitted order of every comparison with its 95% interval, one
row each, grouped by equation (groups shaded alternately, the equation named
on the right), the order the theory claims marked by a grey bar. Orders beyond
the axis are drawn at its edge with their value; comparisons without an order
say why.

The plotted numbers are written beside the PNG as ``overview.csv``
(:data:`OVERVIEW_COLUMNS`, one row per plotted point; a comparison without
points has one row with empty point columns), so that the figure can be
checked, and redrawn elsewhere, from text.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatter

from .claims import by_equation
from .records import ComparisonRecord
from .verdicts import VERDICT_STYLES, verdict_style

__all__ = ["OVERVIEW_COLUMNS", "overview_figure", "overview_rows", "write_overview"]

OVERVIEW_COLUMNS = (
    "comparison", "equation", "prediction", "verdict", "row", "fitted_order", "order_lo", "order_hi",
    "expected_order", "sweep", "x", "x_rel", "residual", "residual_rel", "at_floor",
)
#: Right end of the order axis; larger orders are drawn at the edge with their value.
ORDER_AXIS_MAX = 4.0
_ROW_INCHES = 0.2


@dataclass(frozen=True)
class _Curve:
    x: np.ndarray
    x_rel: np.ndarray
    residual: np.ndarray
    residual_rel: np.ndarray  # NaN where it cannot be drawn (zero residual, or all zero)
    at_floor: np.ndarray


def _curve(record: ComparisonRecord) -> _Curve:
    pts = sorted(record.points, key=lambda p: p.sweep_value)
    x = np.array([p.sweep_value for p in pts], dtype=float)
    y = np.array([p.residual for p in pts], dtype=float)
    at_floor = np.array([p.at_floor for p in pts], dtype=bool)
    if not len(pts):
        return _Curve(x, x, y, y, at_floor)
    reference = y[-1] if y[-1] > 0 else (y.max() if y.max() > 0 else math.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(y > 0, y / reference, np.nan)
    return _Curve(x, x / x[-1], y, rel, at_floor)


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.6e}"


def overview_rows(records: Sequence[ComparisonRecord]) -> list[dict[str, str]]:
    """The overview's plotted data, one dict per point (:data:`OVERVIEW_COLUMNS`), in the figure's row order."""
    rows = []
    for i, r in enumerate(by_equation(records)):
        lo, hi = r.order_ci
        head = {
            "comparison": r.name, "equation": r.equation, "prediction": r.prediction_kind, "verdict": r.verdict,
            "row": str(i), "fitted_order": _fmt(r.fitted_order), "order_lo": _fmt(lo), "order_hi": _fmt(hi),
            "expected_order": _fmt(r.expected_order), "sweep": r.sweep_variable,
        }
        curve = _curve(r)
        if not len(curve.x):
            rows.append({**head, "x": "", "x_rel": "", "residual": "", "residual_rel": "", "at_floor": ""})
        for j in range(len(curve.x)):
            rows.append({
                **head, "x": _fmt(curve.x[j]), "x_rel": _fmt(curve.x_rel[j]), "residual": _fmt(curve.residual[j]),
                "residual_rel": _fmt(curve.residual_rel[j]), "at_floor": str(bool(curve.at_floor[j])),
            })
    return rows


def _residual_panel(ax, records: Sequence[ComparisonRecord]) -> None:
    drawn = [(r, _curve(r)) for r in records]
    # worst verdicts last, so that they lie on top
    for r, c in sorted(drawn, key=lambda rc: verdict_style(rc[0].verdict).rank):
        style = verdict_style(r.verdict)
        ok = ~np.isnan(c.residual_rel)
        if not ok.any():
            continue
        ax.loglog(c.x_rel[ok], c.residual_rel[ok], "-", color=style.colour, lw=0.8, alpha=0.55)
        fitted, floor = ok & ~c.at_floor, ok & c.at_floor
        ax.loglog(c.x_rel[fitted], c.residual_rel[fitted], style.marker, color=style.colour, ms=3.5, ls="none")
        ax.loglog(c.x_rel[floor], c.residual_rel[floor], style.marker, mec=style.colour, mfc="white", mew=0.8,
                  ms=3.5, ls="none")
    xmin = min((c.x_rel[0] for _, c in drawn if len(c.x)), default=1e-2)
    xs = np.geomspace(min(xmin, 1e-2), 1.0, 20)
    for slope, line in ((1, "--"), (2, ":")):
        ax.loglog(xs, xs**slope, line, color="black", lw=1.1)
        ax.annotate(f"slope {slope}", (xs[0], xs[0] ** slope), xytext=(4, -10 if slope == 1 else 4),
                    textcoords="offset points", fontsize=8)
    ax.set_xlabel("sweep value / largest sweep value (flux, |qE| or hbar)")
    ax.set_ylabel("residual / residual at the largest sweep value")
    ax.set_title("Residuals of every comparison, normalised at the largest field", fontsize=10)
    ax.grid(True, which="major", alpha=0.25)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(LogFormatter())


def _no_order_text(r: ComparisonRecord) -> str:
    style = verdict_style(r.verdict)
    if style.key == "all-orders":
        return "no order: every point at the floor"
    if style.key == "error":
        return "no order: the comparison raised"
    return "no order fitted (too few points above the floor)"


def _order_panel(ax, records: Sequence[ComparisonRecord]) -> None:
    n = len(records)
    los = [r.order_ci[0] for r in records if r.has_order]
    left = max(-2.0, min([-0.2, *(lo - 0.15 for lo in los)]))
    right = ORDER_AXIS_MAX + 0.3
    # alternate shading of the equation groups, equation named on the right
    centres, labels, start = [], [], 0
    for i in range(1, n + 1):
        if i == n or records[i].equation != records[start].equation:
            if len(labels) % 2 == 0:
                ax.axhspan(-(i - 0.5), -(start - 0.5), color="0.93", lw=0)
            centres.append(-(start + i - 1) / 2)
            labels.append(records[start].equation)
            start = i
    for x, line in ((1, "-"), (2, "-"), (1.2, ":"), (1.8, ":")):
        ax.axvline(x, color="0.6", lw=0.8, ls=line, zorder=0)
    for i, r in enumerate(records):
        style = verdict_style(r.verdict)
        y = -i
        if math.isfinite(r.expected_order):
            ax.plot([r.expected_order], [y], "|", color="0.45", ms=9, mew=1.5, zorder=1)
        if not r.has_order:
            ax.text(left + 0.05, y, f"{style.glyph} {_no_order_text(r)}", color=style.colour, fontsize=7, va="center")
            continue
        lo, hi = r.order_ci
        ax.plot([max(lo, left), min(hi, right)], [y, y], "-", color=style.colour, lw=1.6, zorder=2)
        if r.fitted_order > ORDER_AXIS_MAX:
            ax.plot([ORDER_AXIS_MAX + 0.15], [y], ">", color=style.colour, ms=5, zorder=3)
            ax.text(ORDER_AXIS_MAX + 0.05, y, f"{r.fitted_order:.1f}", color=style.colour, fontsize=7,
                    va="center", ha="right")
        else:
            ax.plot([r.fitted_order], [y], style.marker, color=style.colour, ms=5, zorder=3)
    ax.set_xlim(left, right)
    ax.set_ylim(-(n - 0.5), 0.5)
    ax.set_yticks([-i for i in range(n)], [r.name for r in records], fontsize=7.5)
    ax.tick_params(axis="y", length=0)
    eq_axis = ax.secondary_yaxis("right")
    eq_axis.set_yticks(centres, labels, fontsize=7.5, fontweight="bold")
    eq_axis.tick_params(length=0)
    ax.set_xlabel("fitted order (95% interval); grey bar: order the theory claims")
    ax.set_title("Fitted orders, grouped by equation", fontsize=10)


def _legend_handles(records: Sequence[ComparisonRecord]) -> list[Line2D]:
    counts = Counter(verdict_style(r.verdict).key for r in records)
    handles = [
        Line2D([], [], color=s.colour, marker=s.marker, ls="-", lw=0.8, ms=5, label=f"{s.label} ({counts[s.key]})")
        for s in VERDICT_STYLES if counts[s.key]
    ]
    if counts["other"]:
        style = next(verdict_style(r.verdict) for r in records if verdict_style(r.verdict).key == "other")
        handles.append(Line2D([], [], color=style.colour, marker=style.marker, label=f"other verdicts ({counts['other']})"))
    return handles + [
        Line2D([], [], color="0.3", marker="o", mfc="0.3", ls="none", label="point above the error floor (fitted)"),
        Line2D([], [], color="0.3", marker="o", mfc="white", ls="none", label="point at the error floor (not fitted)"),
        Line2D([], [], color="black", ls="--", label="slope 1 (wrong at O(hbar))"),
        Line2D([], [], color="black", ls=":", label="slope 2 (exact to O(hbar))"),
    ]


def overview_figure(records: Sequence[ComparisonRecord], title: str = "") -> Figure:
    """The overview figure (Agg canvas, not saved): residual panel and legend left, order panel right.

    Sizes in inches: a fixed width; the order panel gets a fixed height per
    comparison, the residual panel grows with it up to its width, and the figure
    is as tall as the taller column.
    """
    records = by_equation(records)
    n = max(len(records), 1)
    handles = _legend_handles(records)
    names_w = 0.055 * max((len(r.name) for r in records), default=10) + 0.25  # the order panel's row labels
    width, margin, left_w, gap, eq_w, bottom = 12.8, 0.8, 5.2, 0.6, 0.95, 0.75
    order_w = width - (margin + left_w + gap + names_w + eq_w)
    top = 0.55 + (0.3 if title else 0)
    order_h = n * _ROW_INCHES + 0.2
    residual_h = min(max(4.6, 0.5 * order_h), 6.5)
    legend_h = 0.65 + 0.19 * (len(handles) + 1)
    height = top + max(order_h + bottom, residual_h + legend_h + 0.2)
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    residual_ax = fig.add_axes((margin / width, 1 - (top + residual_h) / height, left_w / width, residual_h / height))
    order_ax = fig.add_axes(((margin + left_w + gap + names_w) / width, 1 - (top + order_h) / height,
                             order_w / width, order_h / height))
    _residual_panel(residual_ax, records)
    _order_panel(order_ax, records)
    fig.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, title="verdict (count)",
               title_fontsize=8, alignment="left", bbox_to_anchor=(margin / width, 1 - (top + residual_h + 0.65) / height))
    if title:
        fig.suptitle(title.replace("`", ""), x=margin / width, y=1 - 0.15 / height, ha="left", va="top", fontsize=11)
    return fig


def write_overview(records: Sequence[ComparisonRecord], directory: str | Path, title: str = "") -> tuple[Path, Path]:
    """Write ``overview.png`` and its data ``overview.csv`` into ``directory``; returns both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "overview.csv"
    with data.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=OVERVIEW_COLUMNS)
        writer.writeheader()
        writer.writerows(overview_rows(records))
    png = directory / "overview.png"
    overview_figure(records, title).savefig(png, metadata={"Software": None})
    return png, data
