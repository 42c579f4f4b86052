"""A report directory's data files: written from a run's results, read back as records.

A run writes three kinds of data file (:func:`write_run_files`):

- ``summary.csv``: one row per comparison, columns :data:`SUMMARY_COLUMNS`
  (``max_residual`` is the max over k-points and matrix elements at the
  smallest sweep value; ``order_ci`` is the 95% interval ``[lo, hi]``, empty
  when no order was fitted);
- ``<slug>.csv``: every point of one comparison: the sweep value (column
  ``hbar``, for an hbar sweep), the lattice field (column ``flux`` or ``E``),
  then :data:`POINT_COLUMNS` (``exact`` / ``predicted`` are the values at
  ``element``, where the residual is largest), then the comparison's
  annotation columns, if any (:attr:`Comparison.annotate`);
- ``run.json``: provenance (package versions, git commit, platform, command
  line, how the run was executed, the seconds each point took), the report's
  title and context, and per comparison its parameters, the texts that
  describe it (description, counterpart, difference), the fit (order, 95%
  interval, intercept) and the notes of the analysis.

Every figure and page of a report is drawn from these files alone
(:func:`read_run` gives :class:`RunRecord`), so ``keldysh-validate report DIR``
rebuilds them without computing any physics, and a run and a rebuild write the
same bytes. Nothing here imports the exact solver or the theory.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .naming import slug
from .provenance import comparison_parameters, environment

if TYPE_CHECKING:
    from .convergence import ConvergenceResult

__all__ = [
    "POINT_COLUMNS",
    "SUMMARY_COLUMNS",
    "ComparisonRecord",
    "FitRecord",
    "PointRecord",
    "RunRecord",
    "read_run",
    "read_summary",
    "write_run_files",
]

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


# --- writing ----------------------------------------------------------------------------
def _num(x: complex, fmt: str = ".6e") -> str:
    if isinstance(x, complex):
        if x.imag == 0:
            x = x.real
        else:
            return f"{x.real:{fmt}}{x.imag:+{fmt}}j"
    return "nan" if math.isnan(x) else f"{x:{fmt}}"


def _ci_text(ci: tuple[float, float] | None, fmt: str) -> str:
    return "" if ci is None else f"[{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def _max_residual(result: ConvergenceResult) -> float:
    """Max residual at the smallest sweep value (NaN for a comparison without points)."""
    return min(result.points, key=lambda p: p.sweep_value).residual if result.points else math.nan


def _summary_row(result: ConvergenceResult) -> dict[str, str]:
    c = result.comparison
    return {
        "comparison": c.name,
        "model": c.model_label,
        "prediction": c.prediction_kind,
        "equation": c.equation,
        "sweep": result.sweep.variable,
        "fitted_order": _num(result.fitted_order, ".4f"),
        "order_ci": _ci_text(None if result.fit is None else result.order_ci, ".4f"),
        "verdict": result.verdict,
        "max_residual": _num(_max_residual(result), ".4e"),
        "units": c.units,
    }


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


def _write_points(result: ConvergenceResult, path: Path) -> None:
    keys = _annotation_keys(result)
    sweep = result.sweep
    lead = (sweep.lattice_variable,) if sweep.variable == sweep.lattice_variable else (sweep.variable, sweep.lattice_variable)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(lead + POINT_COLUMNS + tuple(keys))
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
            if len(lead) == 2:
                row.insert(0, repr(p.sweep_value))
            writer.writerow(row + [_annotation_text(p.annotations.get(k)) for k in keys])


def _comparison_entry(result: ConvergenceResult) -> dict[str, Any]:
    """run.json's record of one comparison: parameters, texts, fit, notes, timings."""
    c = result.comparison
    fit = result.fit
    return {
        **comparison_parameters(c, result.sweep),
        "description": c.description,
        "counterpart": c.counterpart,
        "difference": c.difference,
        "verdict": result.verdict,
        "fitted_order": None if fit is None else fit.order,
        "fit": None if fit is None else {
            "order": fit.order, "ci": list(fit.ci), "intercept": fit.intercept,
            "points": fit.n_points, "confidence": fit.confidence,
        },
        "floor_factor": result.floor_factor,
        "notes": list(result.notes),
        # issue 12 (being added to ConvergenceResult): the onset threshold of a non-perturbative verdict, and
        # the exceptions of a comparison that raised, with the field point where they happened
        "onset": result.onset,
        "errors": [e.describe() for e in result.errors],
        "seconds": [p.seconds for p in result.points],
    }


def write_run_files(
    results: Sequence[ConvergenceResult],
    out: Path,
    title: str,
    context: Sequence[str],
    run_info: dict[str, object] | None = None,
) -> dict[str, Path]:
    """Write summary.csv, one ``<slug>.csv`` per comparison and run.json into ``out``.

    Returns
    -------
    ``{"summary": path, "provenance": path, <comparison name>: points path, ...}``

    Raises
    ------
    ValueError
        If two comparison names give the same file name.
    """
    stems = [slug(r.name) for r in results]
    if len(set(stems)) != len(stems):
        raise ValueError(f"comparison names collide as file names: {stems}")
    out.mkdir(parents=True, exist_ok=True)
    paths = {"summary": out / "summary.csv", "provenance": out / "run.json"}
    with paths["summary"].open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        for r in results:
            writer.writerow(_summary_row(r))
    for r, stem in zip(results, stems):
        paths[r.name] = out / f"{stem}.csv"
        _write_points(r, paths[r.name])
    record = {
        "generated": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "environment": environment(),
        "run": dict(run_info or {}),
        "report": {"title": title, "context": list(context)},
        "comparisons": {r.name: _comparison_entry(r) for r in results},
    }
    paths["provenance"].write_text(json.dumps(record, indent=2) + "\n")
    return paths


# --- reading ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PointRecord:
    """One sweep point as the point CSV holds it (annotations as their CSV text)."""

    sweep_value: float
    lattice_value: float
    residual: float
    norm_residual: float
    floor: float
    at_floor: bool
    annotations: tuple[str, ...] = ()


@dataclass(frozen=True)
class FitRecord:
    """The fitted power law residual = exp(intercept) x^order, with its interval."""

    order: float
    ci: tuple[float, float]
    intercept: float
    points: int
    confidence: float

    def __call__(self, x: Any) -> Any:
        return math.exp(self.intercept) * x**self.order


@dataclass(frozen=True)
class ComparisonRecord:
    """One comparison of a finished run: its summary row, its texts and fit (run.json), its points.

    ``fitted_order`` and ``order_ci`` are those of summary.csv (NaN without a
    fit); ``fit`` adds the intercept for drawing the fitted line. ``points`` is
    empty when the record was read without its point file.
    """

    name: str
    model: str
    prediction_kind: str
    equation: str
    sweep_variable: str
    fitted_order: float
    order_ci: tuple[float, float]
    verdict: str
    max_residual: float
    units: str
    description: str = ""
    counterpart: str | None = None
    difference: str = ""
    where: str = ""
    expected_order: float = math.nan
    exact_tol: float = math.nan
    sweep_text: str = ""
    sweep_values: tuple[float, ...] = ()
    lattice_variable: str = ""
    floor_factor: float = math.nan
    fit: FitRecord | None = None
    notes: tuple[str, ...] = ()
    onset: float | None = None
    errors: tuple[str, ...] = ()
    points: tuple[PointRecord, ...] = ()
    annotation_columns: tuple[str, ...] = ()

    @property
    def stem(self) -> str:
        """File stem of the comparison's CSV and PNG."""
        return slug(self.name)

    def in_onset(self, point: PointRecord) -> bool:
        """True for a point at or beyond the non-perturbative onset (never fitted)."""
        return self.onset is not None and point.sweep_value >= self.onset

    def is_fitted(self, point: PointRecord) -> bool:
        """True for a point the order was fitted on: a fit exists, the point is above the floor, below any onset."""
        return self.fit is not None and not point.at_floor and not self.in_onset(point)

    @property
    def has_order(self) -> bool:
        return not math.isnan(self.fitted_order)

    def order_text(self, fmt: str = ".2f") -> str:
        """``"1.99 [1.98, 2.00]"``, or ``"not fitted"``."""
        if not self.has_order:
            return "not fitted"
        lo, hi = self.order_ci
        return f"{self.fitted_order:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"

    @property
    def sweep_range(self) -> str:
        """``"flux 0.01 to 0.0001 (8)"``: sweep variable, largest and smallest value, number of points."""
        if not self.sweep_values:
            return self.sweep_variable
        values = self.sweep_values
        return f"{self.sweep_variable} {max(values):.3g} to {min(values):.3g} ({len(values)})"

    @property
    def sweep_columns(self) -> tuple[str, ...]:
        """Leading columns of the point CSV: the sweep variable (if not the lattice one), then the lattice one."""
        if self.sweep_variable == self.lattice_variable:
            return (self.lattice_variable,)
        return (self.sweep_variable, self.lattice_variable)


@dataclass(frozen=True)
class RunRecord:
    """A finished run read back from its directory."""

    directory: Path
    comparisons: tuple[ComparisonRecord, ...]
    provenance: dict[str, Any]

    @property
    def title(self) -> str:
        return self.provenance["report"]["title"]

    @property
    def context(self) -> tuple[str, ...]:
        return tuple(self.provenance["report"]["context"])

    def __getitem__(self, name: str) -> ComparisonRecord:
        for c in self.comparisons:
            if c.name == name:
                return c
        raise KeyError(f"no comparison {name!r} in {self.directory}")


def _float(text: str) -> float:
    return math.nan if text in ("", "nan") else float(text)


def _parse_ci(text: str) -> tuple[float, float]:
    if not text:
        return (math.nan, math.nan)
    match = re.fullmatch(r"\[\s*(\S+),\s*(\S+)\s*\]", text)
    if not match:
        raise ValueError(f"order_ci {text!r} is not of the form [lo, hi]")
    return (float(match.group(1)), float(match.group(2)))


def _summary_file(path: str | Path) -> Path:
    path = Path(path)
    summary = path / "summary.csv" if path.is_dir() else path
    if not summary.is_file():
        raise FileNotFoundError(f"no summary.csv in {path} (is it a report directory written by keldysh-validate run?)")
    return summary


def read_summary(path: str | Path) -> list[ComparisonRecord]:
    """The rows of a report's summary.csv (``path``: the report directory or the file) as records without points."""
    summary = _summary_file(path)
    with summary.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(SUMMARY_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{summary}: columns {sorted(missing)} missing (expected {', '.join(SUMMARY_COLUMNS)})")
        rows = list(reader)
    return [
        ComparisonRecord(
            name=row["comparison"],
            model=row["model"],
            prediction_kind=row["prediction"],
            equation=row["equation"],
            sweep_variable=row["sweep"],
            fitted_order=_float(row["fitted_order"]),
            order_ci=_parse_ci(row["order_ci"]),
            verdict=row["verdict"],
            max_residual=_float(row["max_residual"]),
            units=row["units"],
        )
        for row in rows
    ]


def _read_points(path: Path, sweep_columns: tuple[str, ...]) -> tuple[tuple[PointRecord, ...], tuple[str, ...]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"{path} is empty")
    header = tuple(rows[0])
    if header[: len(sweep_columns) + len(POINT_COLUMNS)] != sweep_columns + POINT_COLUMNS:
        raise ValueError(f"{path}: header {header} does not start with {sweep_columns + POINT_COLUMNS}")
    col = {name: i for i, name in enumerate(header)}
    extra = header[len(sweep_columns) + len(POINT_COLUMNS):]
    points = tuple(
        PointRecord(
            sweep_value=float(row[0]),
            lattice_value=float(row[len(sweep_columns) - 1]),
            residual=float(row[col["residual"]]),
            norm_residual=float(row[col["norm_residual"]]),
            floor=float(row[col["floor"]]),
            at_floor=row[col["at_floor"]] == "True",
            annotations=tuple(row[len(header) - len(extra):]),
        )
        for row in rows[1:]
    )
    return points, extra


def _with_run_entry(record: ComparisonRecord, entry: dict[str, Any]) -> ComparisonRecord:
    """The summary row completed by its run.json entry."""
    fit = entry["fit"]
    sweep = entry["sweep"]
    return replace(
        record,
        description=entry["description"],
        counterpart=entry["counterpart"],
        difference=entry["difference"],
        where=entry["points"],
        expected_order=float(entry["expected_order"]),
        exact_tol=float(entry["exact_tol"]),
        sweep_text=sweep["describe"],
        sweep_values=tuple(float(v) for v in sweep["values"]),
        lattice_variable=sweep["lattice_variable"],
        floor_factor=float(entry["floor_factor"]),
        fit=None if fit is None else FitRecord(
            float(fit["order"]), (float(fit["ci"][0]), float(fit["ci"][1])), float(fit["intercept"]),
            int(fit["points"]), float(fit["confidence"]),
        ),
        notes=tuple(entry["notes"]),
        onset=None if entry["onset"] is None else float(entry["onset"]),
        errors=tuple(entry["errors"]),
    )


def read_run(directory: str | Path, points: bool = True) -> RunRecord:
    """Read a report directory: summary.csv, run.json and (``points=True``) every comparison's point CSV.

    Raises
    ------
    FileNotFoundError
        If summary.csv, run.json or a point file is missing.
    ValueError
        If run.json lacks a comparison of summary.csv, or was written before
        reports were drawn from the files (rerun ``keldysh-validate run``: the
        points come back from the results cache).
    """
    directory = Path(directory)
    summary = read_summary(directory)
    provenance_path = directory / "run.json"
    if not provenance_path.is_file():
        raise FileNotFoundError(f"no run.json in {directory}")
    provenance = json.loads(provenance_path.read_text())
    entries = provenance.get("comparisons", {})
    if "report" not in provenance:
        raise ValueError(
            f"{provenance_path} lacks the report's texts and fits (written by an older version); "
            "rerun `keldysh-validate run` with the same options: the points come back from the results cache"
        )
    records = []
    for row in summary:
        if row.name not in entries:
            raise ValueError(f"{provenance_path} has no entry for comparison {row.name!r} of summary.csv")
        try:
            record = _with_run_entry(row, entries[row.name])
        except KeyError as exc:
            raise ValueError(f"{provenance_path}: the entry of {row.name!r} lacks {exc.args[0]!r}") from None
        if points:
            path = directory / f"{record.stem}.csv"
            if not path.is_file():
                raise FileNotFoundError(f"point file {path.name} of comparison {record.name!r} missing in {directory}")
            pts, extra = _read_points(path, record.sweep_columns)
            record = replace(record, points=pts, annotation_columns=extra)
        records.append(record)
    return RunRecord(directory, tuple(records), provenance)
