"""A finished run in pandas: :func:`read_report` reads a report directory's CSV files (and run.json) as DataFrames.

Read-only: the files are those written by ``keldysh-validate run`` (layout in
:mod:`validation.records`); nothing is computed or written. pandas is imported
when a report is read, not when :mod:`validation` is.

Columns, as written, with their types restored:

- ``summary``: one row per comparison, indexed by ``comparison``; ``fitted_order``
  (NaN when no order was fitted), the 95% interval ``order_ci`` split into the
  floats ``order_lo`` and ``order_hi``, ``verdict``, ``max_residual`` (at the
  smallest sweep value) and ``units`` (the units of the residuals and values).
- ``points[name]``: one row per sweep point of comparison ``name``: the sweep
  value (column ``hbar`` for an hbar sweep) and the lattice field (``flux`` or
  ``E``), ``exact`` and ``predicted`` at the worst element (complex where the
  file has complex numbers), ``residual``, ``norm_residual``, ``floor``,
  ``at_floor`` (bool), ``element`` (tuple of ints: the index of the worst element
  in the observable, ``()`` for a scalar), then the comparison's annotation
  columns. The units column of the file is constant per comparison and moves to
  ``frame.attrs["units"]``; ``frame.attrs`` also holds ``sweep_variable`` and
  ``lattice_variable``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .naming import slug

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Report", "read_report"]

_LATTICE_VARIABLES = ("flux", "E")


@dataclass(frozen=True)
class Report:
    """A finished run: the summary, every comparison's points, and the provenance record.

    Attributes
    ----------
    summary
        One row per comparison, indexed by comparison name (module docstring).
    points
        {comparison name: one row per sweep point}; a comparison whose point file
        is absent (e.g. a README snapshot that keeps summary.csv and run.json only) is left out.
    run
        run.json as a dict ({} if the directory has none).
    directory
        The report directory.
    """

    summary: pd.DataFrame
    points: dict[str, pd.DataFrame]
    run: dict[str, Any] = field(default_factory=dict)
    directory: Path = Path(".")


def _interval(text: Any) -> tuple[float, float]:
    if not isinstance(text, str) or not text.strip():
        return (math.nan, math.nan)
    lo, hi = text.strip().strip("[]").split(",")
    return (float(lo), float(hi))


def _element(text: Any) -> tuple[int, ...]:
    inner = str(text).strip().strip("[]").strip()
    return tuple(int(i) for i in inner.split(",")) if inner else ()


def _values(pd, column: pd.Series) -> pd.Series:
    """Floats as read; a column with complex numbers ("a+bj") as complex."""
    if pd.api.types.is_numeric_dtype(column):
        return column
    return pd.Series([complex(str(v)) for v in column], index=column.index, name=column.name, dtype=complex)


def _read_summary(pd, path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"order_ci": str}, keep_default_na=False, na_values=["nan", ""])
    missing = {"comparison", "fitted_order", "order_ci", "verdict", "max_residual", "units"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: columns {sorted(missing)} missing: not a summary.csv of keldysh-validate run")
    lo_hi = frame.pop("order_ci").map(_interval)
    at = frame.columns.get_loc("fitted_order") + 1
    frame.insert(at, "order_lo", [lo for lo, _ in lo_hi])
    frame.insert(at + 1, "order_hi", [hi for _, hi in lo_hi])
    return frame.set_index("comparison")


def _read_points(pd, path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"element": str, "units": str})
    if "element" not in frame.columns or "residual" not in frame.columns:
        raise ValueError(f"{path}: not a point file of keldysh-validate run (no element or residual column)")
    lattice = next((c for c in frame.columns[:2] if c in _LATTICE_VARIABLES), None)
    if lattice is None:
        raise ValueError(f"{path}: the first columns {list(frame.columns[:2])} hold no lattice field (flux or E)")
    units = frame.pop("units")
    frame["exact"], frame["predicted"] = _values(pd, frame["exact"]), _values(pd, frame["predicted"])
    frame["at_floor"] = frame["at_floor"].astype(bool)
    frame["element"] = frame["element"].map(_element)
    frame.attrs.update(
        units=str(units.iloc[0]) if len(units) else "",
        sweep_variable=str(frame.columns[0]),
        lattice_variable=lattice,
    )
    return frame


def read_report(path: str | Path) -> Report:
    """Read a report directory written by ``keldysh-validate run`` into pandas (module docstring).

    Parameters
    ----------
    path
        The report directory (or its summary.csv).

    Returns
    -------
    Report

    Raises
    ------
    FileNotFoundError
        If there is no summary.csv.
    ValueError
        If a file is not in the format ``keldysh-validate run`` writes.

    Examples
    --------
    >>> report = read_report("reports")  # doctest: +SKIP
    >>> report.summary.loc["spectral_weights_printed[qwz]", "fitted_order"]  # doctest: +SKIP
    >>> report.points["spectral_weights_printed[qwz]"][["flux", "residual", "at_floor"]]  # doctest: +SKIP
    """
    import pandas as pd

    path = Path(path)
    directory = path.parent if path.name == "summary.csv" and not path.is_dir() else path
    summary_path = directory / "summary.csv"
    if not summary_path.is_file():
        raise FileNotFoundError(f"no summary.csv in {directory} (is it a report directory of keldysh-validate run?)")
    summary = _read_summary(pd, summary_path)
    points = {}
    for name in summary.index:
        file = directory / f"{slug(name)}.csv"
        if file.is_file():
            points[name] = _read_points(pd, file)
    run_path = directory / "run.json"
    run = json.loads(run_path.read_text()) if run_path.is_file() else {}
    return Report(summary, points, run, directory)
