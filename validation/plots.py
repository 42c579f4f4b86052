"""Log-log convergence figure of one comparison, drawn from its report record (matplotlib Agg, no pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

from .records import ComparisonRecord
from .verdicts import verdict_style

__all__ = ["SWEEP_AXIS_LABELS", "plot_convergence"]

#: Axis label of each sweep variable, with its units.
SWEEP_AXIS_LABELS = {"flux": "flux (flux quanta per cell)", "E": "|qE| (energy / a)", "hbar": "hbar"}


def plot_convergence(record: ComparisonRecord, path: str | Path) -> Path:
    """Residual against the sweep variable on log-log axes, written as PNG.

    Shows the max residual of every point (points at the error floor hollow and
    grey, points of a non-perturbative onset as triangles, both excluded from the
    fit), the norm residual, the floor threshold
    (floor_factor x combined floor), the fitted power law and reference slopes
    1 and 2 anchored at the largest fitted point. The title carries the verdict
    in its colour. A comparison without points (it raised) gets a figure that
    says so, with its notes.
    """
    path = Path(path)
    style = verdict_style(record.verdict)
    fig = Figure(figsize=(6.0, 4.5), dpi=110)
    FigureCanvasAgg(fig)  # Agg canvas, no pyplot state
    ax = fig.subplots()
    title = f"{record.name}\n{record.equation}, {record.prediction_kind}: {style.glyph} {record.verdict}"
    ax.set_title(title, fontsize=9, color=style.colour)
    if not record.points:
        ax.set_axis_off()
        text = "no points: " + ("; ".join(record.notes) or "the comparison produced no sweep point")
        ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=9, transform=ax.transAxes)
        return _save(fig, path)
    pts = sorted(record.points, key=lambda p: p.sweep_value)
    x = np.array([p.sweep_value for p in pts])
    y = np.array([p.residual for p in pts])
    yn = np.array([p.norm_residual for p in pts])
    floor = np.array([record.floor_factor * p.floor for p in pts])
    at_floor = np.array([p.at_floor for p in pts])
    onset = np.array([record.in_onset(p) and not p.at_floor for p in pts])
    fitted = np.array([record.is_fitted(p) for p in pts])
    other = ~at_floor & ~onset & ~fitted  # above the floor, but no order fitted (too few points)
    tiny = np.finfo(float).tiny
    if fitted.any():
        ax.loglog(x[fitted], y[fitted], "o", color="C0", label="max residual (fitted)")
    if other.any():
        ax.loglog(x[other], y[other], "o", color="C0", mfc="none", label="max residual (not fitted)")
    if onset.any():
        ax.loglog(x[onset], y[onset], "^", color=verdict_style(record.verdict).colour,
                  label=f"non-perturbative onset from {record.onset:.3g} (not fitted)")
    if at_floor.any():
        ax.loglog(
            x[at_floor], np.maximum(y[at_floor], tiny), "o", mfc="none", color="0.5", label="at error floor (not fitted)"
        )
    ax.loglog(x, np.maximum(yn, tiny), "x", color="C2", ms=5, alpha=0.7, label="norm residual")
    if np.any(floor > 0):
        ax.loglog(x, np.where(floor > 0, floor, np.nan), "--", color="0.6", lw=1, label=f"{record.floor_factor:g}x floor")
    if record.fit is not None and fitted.any():
        fx = x[fitted]
        xs = np.geomspace(fx.min(), fx.max(), 50)
        ax.loglog(xs, record.fit(xs), "-", color="C0", lw=1.2, label=f"fit: order {record.order_text()}")
        anchor_x = fx.max()
        anchor_y = record.fit(anchor_x)
        for slope, line in ((1, ":"), (2, "-.")):
            ax.loglog(xs, anchor_y * (xs / anchor_x) ** slope, line, color="C3", lw=1, label=f"slope {slope}")
    ax.set_xlabel(SWEEP_AXIS_LABELS.get(record.sweep_variable, record.sweep_variable))
    ax.set_ylabel(f"|exact - predicted|\n({record.units})", fontsize=8)
    ax.grid(True, which="major", alpha=0.25)
    for axis in (ax.xaxis, ax.yaxis):  # plain-text labels: mathtext layout dominates the drawing time
        axis.set_major_formatter(LogFormatter())
        axis.set_minor_formatter(LogFormatter(minor_thresholds=(1, 0.4)))
    ax.legend(fontsize=7, loc="best")
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.12, top=0.88)
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    return path
