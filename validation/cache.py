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

Integrity: the last column of every row is the sha256 of all its other fields
(:func:`row_checksum`), so a flipped bit anywhere in a row (a value, the floor,
an annotation, the timing) is detected. A row that fails the check or does not
decode (a non-numeric field, a broken array), and a table that is truncated,
unparsable or of foreign columns, is reported with a
:class:`CacheIntegrityWarning` naming the file and the row, never used, and
its points are recomputed and written afresh (:attr:`ResultsCache.rejected`
counts such rows). A table of the format before checksums (the same columns
without ``checksum``) is stale, as after a change of identity: it is recomputed
and replaced without a warning.

A row is reused only while the comparison's identity is unchanged: the sha256
of its pickled definition (model factory, exact and prediction functions with
their parameters, exact tolerance) and of the source code that computes it
(:func:`validation.provenance.code_fingerprint`). Any change of either makes
the cached rows stale; they are then recomputed and replaced.

Writes are atomic: a file is written under a temporary name in the same
directory (``.<file>.<host>-<pid>.<random>.tmp``), flushed to disk, then
renamed over the old one (:func:`os.replace`), so a run killed at any moment
leaves either the old or the new file, never a torn one. Opening a cache
removes only the temporary files of processes of this host that are gone.

Several runs may share a cache directory at once (two terminals, a batch of
jobs): each write of a comparison's table holds an exclusive lock on the
directory (``flock``, POSIX) while it reads the table again, merges its points
into it and replaces it, so no run deletes another's files or loses its
points. Runs do not wait for each other otherwise; a point that two runs both
compute is written twice with the same numbers.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import datetime as _dt
import hashlib
import io
import json
import math
import os
import pickle
import re
import secrets
import socket
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .naming import slug
from .points import PointData
from .provenance import code_fingerprint, comparison_parameters, environment
from .sweep import Sweep, lattice_key

try:
    import fcntl
except ImportError:  # not POSIX: writes stay atomic, but concurrent runs are not serialized
    fcntl = None

if TYPE_CHECKING:
    from .comparison import Comparison

__all__ = ["ROW_COLUMNS", "CacheIntegrityWarning", "ResultsCache", "comparison_identity", "row_checksum"]

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
    "checksum",
)
#: The fields a row's checksum covers: every column but the checksum itself.
_PAYLOAD = ROW_COLUMNS[:-1]
#: Where csv puts the fields of a row that has more than the header's.
_EXTRA = "\0extra"


class CacheIntegrityWarning(UserWarning):
    """A cached row or table failed its integrity check: it is ignored and its points recomputed."""


def row_checksum(row: dict[str, str]) -> str:
    """sha256 of a row's payload: every column of :data:`ROW_COLUMNS` but ``checksum``, in order."""
    digest = hashlib.sha256()
    for column in _PAYLOAD:
        value = row.get(column)
        if value is None:
            raise ValueError(f"missing field {column!r}")
        digest.update(column.encode())
        digest.update(b"\x1f")
        digest.update(value.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


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
    array = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    if array.dtype.kind not in "biufc":
        raise ValueError(f"array of dtype {array.dtype} is not numeric")
    return array


def _finite(text: str, what: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{what} is not finite: {text!r}")
    return value


_HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"
#: ``.<file>.<host>-<pid>.<random>.tmp``: the temporary file of a write in progress.
_TEMPORARY = re.compile(r"^\.(?P<file>.+)\.(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (per-process temporary file, fsync, rename)."""
    tmp = path.parent / f".{path.name}.{_HOST}-{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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

    Raises
    ------
    TypeError
        If ``directory`` is not a path or ``force`` not a bool.
    NotADirectoryError
        If ``directory`` exists and is not a directory.
    """

    def __init__(self, directory: str | os.PathLike, force: bool = False) -> None:
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"directory must be a path, got {type(directory).__name__}")
        if not isinstance(force, bool):
            raise TypeError(f"force must be a bool, got {type(force).__name__}")
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise NotADirectoryError(f"results cache {self.directory} exists and is not a directory")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._remove_orphaned_temporaries()
        self.force = force
        self._identity: dict[str, str | None] = {}
        self._warned: set[object] = set()
        #: Points read back by :meth:`load` and points written by :meth:`store` in this run.
        self.reused = 0
        self.stored = 0
        #: Rows (or whole tables, counted once) that failed the integrity check in this run.
        self.rejected = 0

    def _remove_orphaned_temporaries(self) -> None:
        """Remove temporary files left by processes of this host that are gone (a write cut short)."""
        for stale in self.directory.glob(".*.tmp"):
            match = _TEMPORARY.match(stale.name)
            if match and match["host"] == _HOST and not _process_alive(int(match["pid"])):
                stale.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on the cache directory (a no-op where flock is missing)."""
        if fcntl is None:
            yield
            return
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _paths(self, comparison: Comparison) -> tuple[Path, Path]:
        stem = slug(comparison.name)
        return self.directory / f"{stem}.csv", self.directory / f"{stem}.json"

    def identity(self, comparison: Comparison) -> str | None:
        """:func:`comparison_identity`, computed once per comparison name."""
        if comparison.name not in self._identity:
            self._identity[comparison.name] = comparison_identity(comparison)
            if self._identity[comparison.name] is None and comparison.name not in self._warned:
                self._warned.add(comparison.name)
                from .points import pickling_problem

                warnings.warn(
                    f"{pickling_problem(comparison) or comparison.name}; its points are not cached",
                    stacklevel=2,
                )
        return self._identity[comparison.name]

    def _reject(self, key: object, message: str) -> None:
        """Warn once about a row or table that is not used, and count it."""
        if key in self._warned:
            return
        self._warned.add(key)
        self.rejected += 1
        warnings.warn(
            f"results cache: {message}; it is not used, and its points are recomputed",
            CacheIntegrityWarning,
            stacklevel=3,
        )

    def _read_rows(self, comparison: Comparison) -> dict[tuple[str, str], dict[str, str]]:
        """Rows of the comparison's table that pass the integrity check, by (lattice variable, value).

        A table that cannot be read at all, or a row that fails the check, is
        reported (:class:`CacheIntegrityWarning`) and left out.
        """
        table, _ = self._paths(comparison)
        if not table.exists():
            return {}
        try:
            text = table.read_bytes().decode("utf-8")
            if "\0" in text:
                raise ValueError("it contains NUL bytes")
            reader = csv.DictReader(io.StringIO(text, newline=""), restkey=_EXTRA)
            if tuple(reader.fieldnames or ()) == _PAYLOAD:  # the format before checksums: stale (changed identity)
                return {}
            if tuple(reader.fieldnames or ()) != ROW_COLUMNS:
                raise ValueError(f"its columns are {reader.fieldnames}, not those of a results-cache table")
            raw = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
            self._reject((table, _file_state(table)), f"{table} cannot be read ({exc})")
            return {}
        rows: dict[tuple[str, str], dict[str, str]] = {}
        for number, row in enumerate(raw, start=2):  # line 1 is the header
            where = f"{table}, row {number - 1} (line {number}"
            where += f", {row.get('lattice_variable')} = {row.get('lattice_value')})"
            problem = _row_problem(row)
            if problem:
                self._reject((table, number, problem, row.get("checksum")), f"{where}: {problem}")
                continue
            rows[(row["lattice_variable"], row["lattice_value"])] = row
        return rows

    def load(self, comparison: Comparison, sweep: Sweep) -> dict[float, PointData]:
        """Cached points of ``comparison`` on ``sweep``: ``{sweep value: PointData}`` (empty with ``force``).

        Only rows that pass the integrity check and decode are returned; the
        others are reported (:class:`CacheIntegrityWarning`) and left to be
        recomputed.
        """
        identity = self.identity(comparison)
        if self.force or identity is None:
            return {}
        table, _ = self._paths(comparison)
        rows = {key: r for key, r in self._read_rows(comparison).items() if r["identity"] == identity}
        found: dict[float, PointData] = {}
        for value in sweep.values:
            key = (sweep.lattice_variable, lattice_key(sweep.lattice_value(value)))
            row = rows.get(key)
            if row is None:
                continue
            try:
                point = PointData(
                    name=comparison.name,
                    sweep_value=value,
                    lattice_value=sweep.lattice_value(value),
                    exact=_decode(row["exact"]),
                    predicted=_decode(row["predicted"]),
                    prediction_floor=_finite(row["prediction_floor"], "prediction_floor"),
                    seconds=_finite(row["seconds"], "seconds"),
                    annotations=_annotations(row["annotations"]),
                )
            except (ValueError, TypeError, binascii.Error, EOFError) as exc:
                self._reject((table, key, "decode"), f"{table}, {key[0]} = {key[1]}: the row does not decode ({exc})")
                continue
            found[value] = point
        self.reused += len(found)
        return found

    def store(self, comparison: Comparison, sweep: Sweep, points: Iterable[PointData]) -> None:
        """Merge finished points of ``comparison`` into its table (atomically, under the directory lock)."""
        identity = self.identity(comparison)
        points = list(points)
        if identity is None or not points:
            return
        table, meta = self._paths(comparison)
        stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        new = {}
        for p in points:
            key = (sweep.lattice_variable, lattice_key(p.lattice_value))
            row = {
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
            row["checksum"] = row_checksum(row)
            new[key] = row
        with self._locked():  # read again under the lock: rows another run stored meanwhile are kept
            rows = {key: r for key, r in self._read_rows(comparison).items() if r["identity"] == identity}
            rows.update(new)
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


def _file_state(path: Path) -> tuple[int, int] | None:
    """(size, mtime) of a file, so that a table rewritten since a warning is checked (and reported) again."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _row_problem(row: dict[str, str | None]) -> str | None:
    """Why a parsed row cannot be trusted (None if its checksum matches)."""
    if _EXTRA in row:
        return f"it has {len(ROW_COLUMNS) + len(row[_EXTRA])} fields, not {len(ROW_COLUMNS)}"
    missing = [c for c in ROW_COLUMNS if row.get(c) is None]
    if missing:
        return f"it is cut short (no {', '.join(missing)}): a truncated table"
    if row["checksum"] != row_checksum(row):
        return "its checksum does not match its contents (the row was altered or damaged after it was written)"
    return None


def _annotations(text: str) -> dict[str, float | int | str]:
    value = json.loads(text)
    if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) for v in value.values()):
        raise ValueError("annotations are not a JSON object of scalars")
    return value
