"""Log-log convergence figures (matplotlib Agg canvas, no pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

from .convergence import ConvergenceResult

__all__ = ["plot_convergence"]


def plot_convergence(result: ConvergenceResult, path: str | Path) -> Path:
    """Residual against the sweep variable on log-log axes, written as PNG.

    Shows the max residual of every point (points at the error floor hollow and
    grey, excluded from the fit), the norm residual, the floor threshold
    (floor_factor x combined floor), the fitted power law and reference slopes
    1 and 2 anchored at the largest fitted point.
    """
    path = Path(path)
    pts = sorted(result.points, key=lambda p: p.sweep_value)
    x = np.array([p.sweep_value for p in pts])
    y = np.array([p.residual for p in pts])
    yn = np.array([p.norm_residual for p in pts])
    floor = np.array([result.floor_factor * p.floor for p in pts])
    at_floor = np.array([p.at_floor for p in pts])
    tiny = np.finfo(float).tiny

    fig = Figure(figsize=(6.0, 4.5), dpi=110)
    FigureCanvasAgg(fig)  # Agg canvas, no pyplot state
    ax = fig.subplots()
    if not at_floor.all():
        ax.loglog(x[~at_floor], y[~at_floor], "o", color="C0", label="max residual (fitted)")
    if at_floor.any():
        ax.loglog(
            x[at_floor], np.maximum(y[at_floor], tiny), "o", mfc="none", color="0.5", label="at error floor (not fitted)"
        )
    ax.loglog(x, np.maximum(yn, tiny), "x", color="C2", ms=5, alpha=0.7, label="norm residual")
    if np.any(floor > 0):
        ax.loglog(x, np.where(floor > 0, floor, np.nan), "--", color="0.6", lw=1, label=f"{result.floor_factor:g}x floor")
    if result.fit is not None:
        fx = np.array([p.sweep_value for p in result.fitted_points])
        xs = np.geomspace(fx.min(), fx.max(), 50)
        lo, hi = result.order_ci
        ax.loglog(xs, result.fit(xs), "-", color="C0", lw=1.2, label=f"fit: order {result.fitted_order:.2f} [{lo:.2f}, {hi:.2f}]")
        anchor_x = fx.max()
        anchor_y = result.fit(anchor_x)
        for slope, style in ((1, ":"), (2, "-.")):
            ax.loglog(xs, anchor_y * (xs / anchor_x) ** slope, style, color="C3", lw=1, label=f"slope {slope}")
    units = {"flux": " (flux quanta per cell)", "E": " (|qE|, energy / a)", "hbar": ""}
    ax.set_xlabel(result.sweep.variable + units[result.sweep.variable])
    ax.set_ylabel(f"|exact - predicted|\n({result.comparison.units})", fontsize=8)
    ax.set_title(f"{result.name}\n{result.comparison.equation}, {result.comparison.prediction_kind}: {result.verdict}", fontsize=9)
    ax.grid(True, which="major", alpha=0.25)
    for axis in (ax.xaxis, ax.yaxis):  # plain-text labels: mathtext layout dominates the drawing time
        axis.set_major_formatter(LogFormatter())
        axis.set_minor_formatter(LogFormatter(minor_thresholds=(1, 0.4)))
    ax.legend(fontsize=7, loc="best")
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.12, top=0.88)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
