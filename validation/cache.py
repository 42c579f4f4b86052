"""Results cache: every finished sweep point on disk, so that an interrupted run loses nothing.

Layout of the cache directory (one pair of files per comparison)::

    <slug>.csv    one row per evaluated point (columns :data:`ROW_COLUMNS`)
    <slug>.json   metadata: comparison parameters, identity, versions, git commit, timings

A row holds the raw outcome of one comparison at one lattice field: the exact
and predicted arrays (``.npy`` bytes, base64, so they round-trip bit for bit),
the prediction's quadrature floor, the annotations, and the seconds the point
took. The point is keyed by the lattice field (flux per cell or |q E|, 12
significant digits), so a flux sweep and an hbar sweep of the same lattice
problems share their points.

A row is reused only while the comparison's identity is unchanged: the sha256
of its pickled definition (model factory, exact and prediction functions with
their parameters, exact tolerance) and of the source code that computes it
(:func:`validation.provenance.code_fingerprint`). Any change of either makes
the cached rows stale; they are then recomputed and replaced.

Writes are atomic: a file is written under a temporary name in the same
directory, flushed to disk, then renamed over the old one
(:func:`os.replace`), so a run killed at any moment leaves either the old or
the new file, never a torn one (the temporary file of a write cut short is
removed when the cache is next opened). One run at a time should use a cache
directory (two concurrent writers of the same comparison would each keep
only their own rows).
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import hashlib
import io
import json
import os
import pickle
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .naming import slug
from .points import PointData
from .provenance import code_fingerprint, comparison_parameters, environment
from .sweep import Sweep, lattice_key

if TYPE_CHECKING:
    from .comparison import Comparison

__all__ = ["ROW_COLUMNS", "ResultsCache", "comparison_identity"]

ROW_COLUMNS = (
    "lattice_variable",
    "lattice_value",
    "identity",
    "seconds",
    "prediction_floor",
    "annotations",
    "exact",
    "predicted",
    "computed_at",
)


def comparison_identity(comparison: Comparison) -> str | None:
    """sha256 of the comparison's definition and of the code that computes it; None if it cannot be pickled."""
    try:
        definition = pickle.dumps(
            (
                comparison.model,
                comparison.exact,
                comparison.prediction,
                comparison.prediction_coarse,
                comparison.annotate,
                comparison.exact_tol,
            ),
            protocol=4,
        )
    except Exception:  # lambdas and other local objects: such a comparison is not cached
        return None
    return hashlib.sha256(definition + code_fingerprint(comparison).encode()).hexdigest()


def _encode(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _decode(text: str) -> np.ndarray:
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file, fsync, rename)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultsCache:
    """Finished sweep points of comparisons, on disk (module docstring).

    Parameters
    ----------
    directory
        Where the cache lives (created if missing).
    force
        Ignore what is cached (every point is recomputed and overwrites the
        old row).
    """

    def __init__(self, directory: str | os.PathLike, force: bool = False) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        for stale in self.directory.glob(".*.tmp"):  # left by a run killed while writing
            stale.unlink(missing_ok=True)
        self.force = force
        self._identity: dict[str, str | None] = {}
        self._warned: set[str] = set()
        #: Points read back by :meth:`load` and points written by :meth:`store` in this run.
        self.reused = 0
        self.stored = 0

    def _paths(self, comparison: Comparison) -> tuple[Path, Path]:
        stem = slug(comparison.name)
        return self.directory / f"{stem}.csv", self.directory / f"{stem}.json"

    def identity(self, comparison: Comparison) -> str | None:
        """:func:`comparison_identity`, computed once per comparison name."""
        if comparison.name not in self._identity:
            self._identity[comparison.name] = comparison_identity(comparison)
            if self._identity[comparison.name] is None and comparison.name not in self._warned:
                self._warned.add(comparison.name)
                warnings.warn(
                    f"{comparison.name}: the comparison cannot be pickled, so its points are not cached",
                    stacklevel=2,
                )
        return self._identity[comparison.name]

    def _read_rows(self, comparison: Comparison) -> list[dict[str, str]]:
        table, _ = self._paths(comparison)
        if not table.exists():
            return []
        with table.open(newline="") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != ROW_COLUMNS:
                raise ValueError(f"{table}: not a results-cache table (columns {reader.fieldnames})")
            return list(reader)

    def load(self, comparison: Comparison, sweep: Sweep) -> dict[float, PointData]:
        """Cached points of ``comparison`` on ``sweep``: ``{sweep value: PointData}`` (empty with ``force``)."""
        identity = self.identity(comparison)
        if self.force or identity is None:
            return {}
        rows = {
            (r["lattice_variable"], r["lattice_value"]): r
            for r in self._read_rows(comparison)
            if r["identity"] == identity
        }
        found: dict[float, PointData] = {}
        for value in sweep.values:
            row = rows.get((sweep.lattice_variable, lattice_key(sweep.lattice_value(value))))
            if row is None:
                continue
            found[value] = PointData(
                name=comparison.name,
                sweep_value=value,
                lattice_value=sweep.lattice_value(value),
                exact=_decode(row["exact"]),
                predicted=_decode(row["predicted"]),
                prediction_floor=float(row["prediction_floor"]),
                seconds=float(row["seconds"]),
                annotations=json.loads(row["annotations"]),
            )
        self.reused += len(found)
        return found

    def store(self, comparison: Comparison, sweep: Sweep, points: Iterable[PointData]) -> None:
        """Write finished points of ``comparison`` (atomically replacing its table and metadata)."""
        identity = self.identity(comparison)
        points = list(points)
        if identity is None or not points:
            return
        table, meta = self._paths(comparison)
        rows = {
            (r["lattice_variable"], r["lattice_value"]): r
            for r in self._read_rows(comparison)
            if r["identity"] == identity
        }
        stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        for p in points:
            key = (sweep.lattice_variable, lattice_key(p.lattice_value))
            rows[key] = {
                "lattice_variable": key[0],
                "lattice_value": key[1],
                "identity": identity,
                "seconds": repr(float(p.seconds)),
                "prediction_floor": repr(float(p.prediction_floor)),
                "annotations": json.dumps(p.annotations, sort_keys=True),
                "exact": _encode(p.exact),
                "predicted": _encode(p.predicted),
                "computed_at": stamp,
            }
        ordered = sorted(rows.values(), key=lambda r: (r["lattice_variable"], -float(r["lattice_value"])))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ROW_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(ordered)
        _atomic_write(table, buffer.getvalue())
        metadata = {
            "comparison": comparison_parameters(comparison, sweep),
            "identity": identity,
            "environment": environment(),
            "updated": stamp,
            "points": len(ordered),
            "seconds": {f"{r['lattice_variable']}={r['lattice_value']}": float(r["seconds"]) for r in ordered},
            "total_seconds": sum(float(r["seconds"]) for r in ordered),
        }
        _atomic_write(meta, json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        self.stored += len(points)
