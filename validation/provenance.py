"""Provenance of a run: package versions, git commit, code fingerprint, comparison parameters.

Everything here is recorded with the results (the results cache's JSON
metadata and the report's ``run.json`` / Provenance section), so that a reader
can tell which code and which parameters produced a number, and rerun it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import inspect
import math
import numbers
import platform
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .comparison import Comparison
    from .sweep import Sweep

__all__ = [
    "DISTRIBUTION",
    "FINGERPRINTED_SOURCES",
    "code_fingerprint",
    "comparison_parameters",
    "describe_callable",
    "environment",
    "fingerprinted_files",
    "git_state",
    "module_record",
    "package_version",
    "qualified_name",
]

#: Name of this project's distribution (pyproject.toml).
DISTRIBUTION = "keldysh-validation"
#: Packages whose versions are recorded.
RECORDED_PACKAGES = ("numpy", "scipy", "mpmath", "pandas", "matplotlib", "dask", "distributed")
_ROOT = Path(__file__).resolve().parent.parent
#: The source that determines the numbers of a comparison (paths relative to the directory holding
#: the packages; a directory stands for every ``*.py`` below it, subpackages included): the exact
#: solver, the theory, the built-in catalog, and the validation modules a point's numbers pass
#: through: the sweep values, the Comparison object (prediction floor, annotations) and the point
#: evaluation. Scheduling, caching, fitting, reporting and the CLI are left out: editing them changes
#: no cached number, so it must not invalidate the results cache.
FINGERPRINTED_SOURCES = (
    "keldysh",
    "semiclassics",
    "validation/catalog",
    "validation/sweep.py",
    "validation/comparison.py",
    "validation/points.py",
)


def package_version() -> str:
    """Installed version of this project (``"unknown"`` when it is not installed)."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def git_state() -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout holding this package."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(status.strip())}


def environment() -> dict[str, Any]:
    """Versions (this project, Python, numerical packages), git state, platform and command line."""
    versions = {DISTRIBUTION: package_version(), "python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "versions": versions,
        "git": git_state(),
        "platform": platform.platform(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else "",
    }


def fingerprinted_files() -> list[Path]:
    """The files of :data:`FINGERPRINTED_SOURCES`, directories walked recursively, in a fixed order.

    Raises
    ------
    FileNotFoundError
        If one of the sources does not exist (a module renamed without updating the list).
    """
    files: list[Path] = []
    for rel in FINGERPRINTED_SOURCES:
        path = _ROOT / rel
        if path.is_dir():
            files += sorted(path.rglob("*.py"))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"fingerprinted source {rel!r} not found under {_ROOT}")
    return files


@functools.cache
def _physics_digest() -> str:
    digest = hashlib.sha256()
    for path in fingerprinted_files():
        digest.update(path.relative_to(_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _callable_sources(comparison: Comparison) -> list[Path]:
    """Source files of the comparison's callables that lie outside the physics packages (plugins)."""
    files = set()
    for attr in ("model", "exact", "prediction", "prediction_coarse", "annotate"):
        fn = getattr(comparison, attr)
        while isinstance(fn, functools.partial):
            fn = fn.func
        try:
            source = inspect.getsourcefile(fn) if fn is not None else None
        except TypeError:
            source = None
        if source:
            path = Path(source).resolve()
            if not any(path.is_relative_to(_ROOT / rel) for rel in FINGERPRINTED_SOURCES):
                files.add(path)
    return sorted(files)


def code_fingerprint(comparison: Comparison) -> str:
    """sha256 of the source that computes the comparison's numbers.

    The files of :data:`FINGERPRINTED_SOURCES` (``keldysh``, ``semiclassics``
    and ``validation/catalog`` with their subpackages, ``validation/sweep.py``,
    ``validation/comparison.py``, ``validation/points.py``) and, for plugin
    comparisons, the files defining the comparison's callables. Any edit there
    changes the fingerprint, so a cached point is never reused by different
    code; an edit of the executor, cache, report or CLI code changes nothing.
    """
    digest = hashlib.sha256(_physics_digest().encode())
    for path in _callable_sources(comparison):
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def module_record(module: str, imported: ModuleType | None = None) -> dict[str, Any]:
    """``{"module": name, "path": its file or None}``: where a plugin's module lives (not imported here)."""
    path = getattr(imported, "__file__", None)
    if path is None:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        path = spec.origin if spec is not None and spec.has_location else None
    return {"module": module, "path": None if path is None else str(Path(path).resolve())}


def qualified_name(obj: Any) -> str:
    """``module:qualname`` of a function, class or method (``module:<lambda>`` for a lambda)."""
    module = getattr(obj, "__module__", None) or "?"
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__qualname__
    return f"{module}:{qualname}"


#: ``<... at 0x7f...>``: a repr that names a memory address (it changes from run to run).
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _describe_value(value: Any) -> Any:
    """A JSON-ready, run-independent description of an argument of a partial (no memory addresses)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, numbers.Complex):
        return {"complex": [_describe_value(value.real), _describe_value(value.imag)]}
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        digest = hashlib.sha256(data.tobytes()).hexdigest()
        return {"array": list(data.shape), "dtype": str(data.dtype), "sha256": digest}
    if isinstance(value, (list, tuple)):
        return [_describe_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _describe_value(value[k]) for k in sorted(value, key=str)}
    if callable(value):
        return describe_callable(value)
    text = repr(value)
    return f"<{qualified_name(type(value))} instance>" if _ADDRESS.search(text) else text


def describe_callable(fn: Any) -> Any:
    """A callable as its qualified name (``module:qualname``), never as a repr with a memory address.

    A :func:`functools.partial` becomes ``{"function": ..., "args": [...],
    "keywords": {...}}`` (arguments described the same way, keywords sorted;
    arrays by shape, dtype and sha256); a bound method, ``{"method": ...,
    "bound_to": ...}``; an instance with ``__call__``, ``{"callable": <its
    class>, "value": <repr, or the class if the repr names an address>}``.
    The result is JSON-ready and the same in every run.
    """
    if fn is None:
        return None
    if isinstance(fn, functools.partial):
        return {
            "function": describe_callable(fn.func),
            "args": [_describe_value(a) for a in fn.args],
            "keywords": {k: _describe_value(fn.keywords[k]) for k in sorted(fn.keywords)},
        }
    if inspect.ismethod(fn):
        return {"method": qualified_name(fn.__func__), "bound_to": _describe_value(fn.__self__)}
    if inspect.isfunction(fn) or inspect.isbuiltin(fn) or inspect.isclass(fn):
        return qualified_name(fn)
    text = repr(fn)
    return {"callable": qualified_name(type(fn)), "value": None if _ADDRESS.search(text) else text}


def comparison_parameters(comparison: Comparison, sweep: Sweep) -> dict[str, Any]:
    """What defines a comparison's numbers, as JSON-ready values (the same in every run: no memory addresses).

    Functions are given by their qualified names (:func:`describe_callable`).
    """
    return {
        "name": comparison.name,
        "equation": comparison.equation,
        "prediction_kind": comparison.prediction_kind,
        "model": comparison.model_label,
        "model_factory": describe_callable(comparison.model),
        "exact": describe_callable(comparison.exact),
        "prediction": describe_callable(comparison.prediction),
        "prediction_coarse": describe_callable(comparison.prediction_coarse),
        "annotate": describe_callable(comparison.annotate),
        "exact_tol": comparison.exact_tol,
        "expected_order": comparison.expected_order,
        "points": comparison.points,
        "units": comparison.units,
        "sweep": {
            "variable": sweep.variable,
            "values": list(sweep.values),
            "lattice_variable": sweep.lattice_variable,
            "lattice_values": [sweep.lattice_value(v) for v in sweep.values],
            "describe": sweep.describe(),
        },
    }
