"""The registry of comparisons: register, look up, list, load plugins; and the suites.

Every source of comparisons is an entry point of the group
``keldysh_validation.comparisons``, the built-in catalog included. This
project's own ``pyproject.toml`` declares::

    [project.entry-points."keldysh_validation.comparisons"]
    builtin = "validation.catalog"

and a third-party package declares its own module the same way, with no edit
of this package::

    [project.entry-points."keldysh_validation.comparisons"]
    my_comparisons = "my_package.comparisons"

An entry point loads a module that registers on import (with :func:`register`),
a :class:`~validation.comparison.Comparison`, or a callable that registers or
returns comparisons. :func:`available` and :func:`get` load every entry point
once per process (:func:`load_plugins`).

A plugin that fails to load (its module raises on import, its callable raises,
or it yields something that is not a comparison) does not stop the others:
:func:`load_plugins` warns (:class:`PluginLoadWarning`) and records the failure
(:func:`plugin_failures`), and ``keldysh-validate run`` reports it as a row
with the verdict ``error``. :func:`plugins` describes every entry point loaded
(distribution, version, module and its file, the comparisons it registered)
for the provenance of a run.

The registry never imports the catalog (the catalog imports the registry to
register), so the built-ins are found through the installed distribution's
metadata only. **The package must be installed** (``pip install -e .`` in a
source checkout): used from a bare checkout on ``PYTHONPATH``, or from an
install whose metadata predates the ``builtin`` entry point, the group holds no
entry point of this distribution and :func:`load_plugins` raises
:class:`NotInstalledError` saying so, instead of yielding a registry without
the built-in comparisons. :func:`register` and :func:`validation.run` on
:class:`~validation.comparison.Comparison` objects need no metadata.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import re
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .comparison import Comparison
from .naming import slug
from .points import PointError
from .provenance import DISTRIBUTION, module_record
from .sweep import Sweep

__all__ = [
    "ENTRY_POINT_GROUP",
    "SUITES",
    "NotInstalledError",
    "PluginFailure",
    "PluginLoadWarning",
    "available",
    "get",
    "load_plugins",
    "plugin_failures",
    "plugins",
    "register",
    "suite_jobs",
    "unregister",
]

ENTRY_POINT_GROUP = "keldysh_validation.comparisons"


class NotInstalledError(RuntimeError):
    """The distribution's entry points are missing: the package runs without being installed."""


class PluginLoadWarning(UserWarning):
    """An entry point of the comparisons' group failed to load; the others are loaded."""


@dataclass(frozen=True)
class PluginFailure:
    """An entry point that failed to load: which one, from which distribution, and the error."""

    entry_point: str
    value: str
    distribution: str | None
    version: str | None
    error: PointError

    @property
    def label(self) -> str:
        """The name of its row in a report: ``plugin <entry point> (<value>)``."""
        return f"plugin {self.entry_point} ({self.value})"


_REGISTRY: dict[str, Comparison] = {}
_PLUGINS_LOADED = False
#: (name, value) of every entry point loaded in this process -> name of the distribution declaring it.
_LOADED_ENTRY_POINTS: dict[tuple[str, str], str | None] = {}
#: (name, value) -> provenance of the entry point (distribution, version, module, file, comparisons, error).
_PLUGIN_RECORDS: dict[tuple[str, str], dict[str, Any]] = {}
#: (name, value) -> the failure of an entry point that did not load.
_FAILURES: dict[tuple[str, str], PluginFailure] = {}
#: Comparison name -> the module that registered it (for the plugins' provenance).
_ORIGINS: dict[str, str | None] = {}


def _caller_module() -> str | None:
    """Name of the module that called into the registry (the first frame outside this module)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return None if frame is None else frame.f_globals.get("__name__")


def _add(comparison: Comparison, replace: bool, origin: str | None) -> None:
    if not isinstance(comparison, Comparison):
        raise TypeError(f"only Comparison objects can be registered, got {type(comparison).__name__}")
    slug(comparison.name)  # ValueError if nothing of the name survives as a file name (reports, cache)
    existing = _REGISTRY.get(comparison.name)
    if existing is not None and existing is not comparison and not replace:
        raise ValueError(f"a comparison named {comparison.name!r} is already registered (pass replace=True)")
    _REGISTRY[comparison.name] = comparison
    _ORIGINS[comparison.name] = origin


def _as_comparisons(made: Any) -> list[Comparison]:
    """A Comparison or an iterable of them, as a list."""
    if isinstance(made, Comparison):
        return [made]
    try:
        return list(made)
    except TypeError:
        raise TypeError(f"expected a Comparison or an iterable of them, got {made!r}") from None


def register(obj: Any = None, *, replace: bool = False) -> Any:
    """Register comparisons; usable as ``register(c)``, ``@register`` or ``@register(replace=True)``.

    ``obj`` may be a :class:`Comparison`, or a zero-argument function returning
    one comparison or an iterable of them (the function is called once, at
    decoration time, and returned unchanged).

    Raises
    ------
    ValueError
        If another comparison already holds the name and ``replace`` is False.
    """
    if not isinstance(replace, bool):
        raise TypeError(f"replace must be a bool, got {type(replace).__name__}")
    if obj is None:
        return lambda f: register(f, replace=replace)
    origin = _caller_module()
    if isinstance(obj, Comparison):
        _add(obj, replace, origin)
        return obj
    if callable(obj):
        for comparison in _as_comparisons(obj()):
            _add(comparison, replace, origin)
        return obj
    raise TypeError(f"register expects a Comparison or a function returning comparisons, got {obj!r}")


def unregister(name: str) -> Comparison:
    """Remove and return a registered comparison."""
    try:
        return _REGISTRY.pop(name)
    except KeyError:
        raise KeyError(f"no comparison named {name!r} is registered") from None


def _load_entry_point(ep: importlib.metadata.EntryPoint) -> None:
    loaded = ep.load()
    module = ep.value.split(":")[0].strip()
    if isinstance(loaded, ModuleType):
        return  # importing the module registered its comparisons
    if isinstance(loaded, Comparison):
        _add(loaded, False, module)
        return
    if callable(loaded):
        made = loaded()
        if made is None:
            return  # the callable registered by itself
        for comparison in _as_comparisons(made):
            _add(comparison, False, module)
        return
    raise TypeError(f"entry point {ep.name!r} loaded {loaded!r}: expected a module, a Comparison or a callable")


def _normalized(name: str | None) -> str | None:
    """A distribution name as packaging compares them (PEP 503)."""
    return None if name is None else re.sub(r"[-_.]+", "-", name).lower()


def load_plugins(force: bool = False) -> None:
    """Load every entry point of ``keldysh_validation.comparisons`` (the built-in catalog and plugins).

    Runs once per process; ``force=True`` scans the entry points again and
    loads those not loaded yet (each entry point is loaded at most once).

    An entry point that fails to load is skipped with a
    :class:`PluginLoadWarning` and recorded (:func:`plugin_failures`).

    Raises
    ------
    NotInstalledError
        If no entry point of this distribution was found (module docstring).
    """
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED and not force:
        return
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        key = (ep.name, ep.value)
        if key in _LOADED_ENTRY_POINTS:
            continue
        dist = ep.dist.name if ep.dist is not None else None
        version = ep.dist.version if ep.dist is not None else None
        try:
            _load_entry_point(ep)
        except Exception as exc:  # one broken plugin must not take the others down
            error = PointError.from_exception(exc, f"entry point {ep.name}", "plugin")
            _FAILURES[key] = PluginFailure(ep.name, ep.value, dist, version, error)
            warnings.warn(
                f"entry point {ep.name!r} ({ep.value}) of group {ENTRY_POINT_GROUP!r}, distribution {dist!r}, failed "
                f"to load and is skipped: {error.error}: {error.message}",
                PluginLoadWarning,
                stacklevel=2,
            )
        _LOADED_ENTRY_POINTS[key] = _normalized(dist)
        module = ep.value.split(":")[0].strip()
        _PLUGIN_RECORDS[key] = {
            "entry_point": ep.name,
            "value": ep.value,
            "distribution": dist,
            "version": version,
            **module_record(module, imported=sys.modules.get(module)),
            "error": None if key not in _FAILURES else _FAILURES[key].error.describe(),
        }
    if _normalized(DISTRIBUTION) not in _LOADED_ENTRY_POINTS.values():
        raise NotInstalledError(
            f"no entry point of the distribution {DISTRIBUTION!r} in the group {ENTRY_POINT_GROUP!r}, so the "
            "built-in comparisons are not registered: the package is used without being installed (or its "
            "metadata is out of date). Install it from the source checkout with `pip install -e .`"
        )
    _PLUGINS_LOADED = True


def plugins() -> list[dict[str, Any]]:
    """Provenance of every entry point loaded: distribution and version, module and its file, comparisons.

    One dict per entry point, JSON-ready: ``entry_point``, ``value``,
    ``distribution``, ``version``, ``module``, ``path``, ``comparisons`` (the
    names it registered) and ``error`` (None, or the load failure).
    """
    load_plugins()
    out = []
    for record in _PLUGIN_RECORDS.values():
        module = record["module"]
        names = [n for n in _REGISTRY if (o := _ORIGINS.get(n)) and (o == module or o.startswith(module + "."))]
        out.append({**record, "comparisons": names})
    return out


def plugin_failures() -> list[PluginFailure]:
    """The entry points that failed to load in this process (each also warned about once)."""
    load_plugins()
    return list(_FAILURES.values())


def available() -> list[str]:
    """Names of all comparisons (built-in catalog and plugins), in registration order."""
    load_plugins()
    return list(_REGISTRY)


def get(name: str) -> Comparison:
    """The comparison registered as ``name`` (built-ins and plugins are loaded first)."""
    load_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `keldysh-validate list`"
        raise KeyError(f"no comparison named {name!r}{hint}") from None


# --- suites ------------------------------------------------------------------
#: Suite name -> description. ``default``: every comparison on its own sweep;
#: ``quick``: comparisons on two-band, two-dimensional models only, on at most 5 of
#: their sweep points within the lowest two decades (:meth:`Sweep.shortened`).
SUITES = {
    "default": "every registered comparison on its own sweep",
    "quick": "two-band 2D models only, at most 5 points of each sweep within its lowest two decades",
}


def suite_jobs(suite: str, comparisons: Iterable[Comparison]) -> list[tuple[Comparison, Sweep]]:
    """(comparison, sweep) pairs of a suite."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose one of {sorted(SUITES)}")
    comparisons = list(comparisons)
    if suite == "default":
        return [(c, c.sweep) for c in comparisons]
    return [(c, c.sweep.shortened(5, 2.0)) for c in comparisons if _two_band_2d(c)]


def _two_band_2d(comparison: Comparison) -> bool:
    """Whether the quick suite keeps ``comparison``; True if its model cannot be built (the run reports the error)."""
    try:
        model = comparison.build_model()
        return int(model.norbs) == 2 and int(model.dim) == 2
    except Exception:  # the model factory raises: keep it, so that its points report the error
        return True
