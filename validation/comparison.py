"""Comparisons: one exact observable held against one semiclassical prediction.

A :class:`Comparison` reads like the sentence it tests: on *model*, the exact
observable (``keldysh``) is compared with the prediction of *equation*
(``semiclassics``), in its *printed* or *corrected* form, along a *sweep* of
the field, and the theory claims a residual of *expected order* in beta
(2 for a prediction exact to O(hbar)).

Comparisons live in a registry. Built-in ones are registered by importing
:mod:`validation.catalog`; third-party packages register theirs through the
entry-point group ``keldysh_validation.comparisons`` (each entry point loads a
module that registers on import, a :class:`Comparison`, or a callable that
registers or returns comparisons), so no edit of this package is needed::

    [project.entry-points."keldysh_validation.comparisons"]
    my_comparisons = "my_package.comparisons"

Everything a comparison holds must be picklable (module-level functions or
:func:`functools.partial` of them), because sweep points run in worker
processes.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .sweep import DEFAULT_SWEEP, Sweep, build_model

__all__ = [
    "Comparison",
    "ENTRY_POINT_GROUP",
    "PREDICTION_KINDS",
    "SUITES",
    "available",
    "get",
    "load_plugins",
    "register",
    "suite_jobs",
    "unregister",
]

ENTRY_POINT_GROUP = "keldysh_validation.comparisons"
PREDICTION_KINDS = ("printed", "corrected")


@dataclass(frozen=True)
class Comparison:
    """An exact observable against a semiclassical prediction along a field sweep.

    Parameters
    ----------
    name
        Registry key, e.g. ``"spectral_weights_printed[qwz]"``.
    description
        What is compared, in a sentence or two (exact side, prediction, where).
    model
        Zero-argument factory returning the model (a ``keldysh`` TightBinding),
        e.g. ``functools.partial(keldysh.models.qwz, 1.0, t0=0.3)``.
    model_label
        Human-readable model and state, e.g. ``"qwz(m=1, t0=0.3), mu=-0.3, T=0"``.
    exact
        ``exact(model, field, *, tol) -> ndarray``: the exact observable from
        ``keldysh`` at the field (a ``keldysh.UniformB``, or a
        :class:`validation.sweep.ElectricField` point), solver tolerance ``tol``.
    prediction
        ``prediction(model, field) -> ndarray``: the semiclassical prediction,
        same shape as the exact observable.
    equation
        The paper's equation label, e.g. ``"Eq. 14"``.
    prediction_kind
        ``"printed"`` (the formula as printed in the paper) or ``"corrected"``.
    sweep
        The field sweep (default :data:`validation.sweep.DEFAULT_SWEEP`: flux 1e-2 to 1e-4, 8 points).
    points
        Where the comparison is made: a description of the k-points (the
        leading axis of the observable), or text starting with ``"integral"``
        for a BZ integral (no k axis).
    expected_order
        Order in beta of the residual that the theory claims (2 for a
        prediction exact to O(hbar)).
    units
        Units of the observable and residual.
    exact_tol
        Tolerance passed to the exact solver; counts in the error floor.
    prediction_coarse
        Optional ``prediction_coarse(model, field) -> ndarray``: the same
        prediction at a coarser quadrature. max|prediction - coarse| estimates
        (conservatively) the prediction's own quadrature error, which counts in
        the error floor. None for predictions evaluated pointwise in k.
    counterpart
        Name of the comparison with the other prediction kind of the same
        formula (the corrected form for a printed one, and vice versa).
    difference
        What the corrected form changes relative to the printed one.
    annotate
        Optional ``annotate(model, field) -> dict``: extra facts about each sweep
        point (e.g. the number of Landau levels at the Fermi energy, or the
        regime the field puts the system in), ``{column: float | int | str}``.
        They become extra columns of the comparison's point table in the report;
        they never enter the residual or the verdict.
    """

    name: str
    description: str
    model: Callable[[], Any]
    model_label: str
    exact: Callable[..., Any]
    prediction: Callable[..., Any]
    equation: str
    prediction_kind: str = "printed"
    sweep: Sweep = DEFAULT_SWEEP
    points: str = "integral"
    expected_order: float = 2.0
    units: str = "dimensionless"
    exact_tol: float = 1e-10
    prediction_coarse: Callable[..., Any] | None = None
    counterpart: str | None = None
    difference: str = ""
    annotate: Callable[..., dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a comparison needs a non-empty name")
        for attr in ("model", "exact", "prediction"):
            if not callable(getattr(self, attr)):
                raise TypeError(f"{self.name}: {attr} must be callable, got {getattr(self, attr)!r}")
        for attr in ("prediction_coarse", "annotate"):
            if getattr(self, attr) is not None and not callable(getattr(self, attr)):
                raise TypeError(f"{self.name}: {attr} must be callable or None")
        if self.prediction_kind not in PREDICTION_KINDS:
            raise ValueError(
                f"{self.name}: prediction_kind must be one of {PREDICTION_KINDS}, got {self.prediction_kind!r}"
            )
        if not isinstance(self.sweep, Sweep):
            raise TypeError(f"{self.name}: sweep must be a validation.Sweep, got {type(self.sweep).__name__}")
        if not self.expected_order > 0:
            raise ValueError(f"{self.name}: expected_order must be positive, got {self.expected_order}")
        if not self.exact_tol >= 0:
            raise ValueError(f"{self.name}: exact_tol must be >= 0, got {self.exact_tol}")

    @property
    def k_resolved(self) -> bool:
        """True if the observable has a leading k-point axis (``points`` does not start with "integral")."""
        return not self.points.startswith("integral")

    def build_model(self) -> Any:
        """The model (built once per process)."""
        return build_model(self.model)

    @property
    def norbs(self) -> int:
        """Number of bands of the model."""
        return int(self.build_model().norbs)

    def annotations(self, model: Any, field: Any) -> dict[str, float | int | str]:
        """The point's annotations (``annotate``), checked: string keys, scalar values ({} without ``annotate``)."""
        if self.annotate is None:
            return {}
        notes = self.annotate(model, field)
        if not isinstance(notes, dict):
            raise TypeError(f"{self.name}: annotate must return a dict, got {type(notes).__name__}")
        checked: dict[str, float | int | str] = {}
        for key, value in notes.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"{self.name}: annotation keys must be non-empty strings, got {key!r}")
            if isinstance(value, np.generic):
                value = value.item()
            if not isinstance(value, (str, int, float)):
                raise TypeError(f"{self.name}: annotation {key!r} must be a str, int or float, got {value!r}")
            checked[key] = value
        return checked

    def prediction_floor(self, model: Any, field: Any, predicted: np.ndarray | None = None) -> float:
        """Estimated error of the prediction itself: max|prediction - coarse prediction| (0 if pointwise)."""
        if self.prediction_coarse is None:
            return 0.0
        if predicted is None:
            predicted = np.asarray(self.prediction(model, field))
        coarse = np.asarray(self.prediction_coarse(model, field))
        return float(np.max(np.abs(predicted - coarse)))


# --- registry ----------------------------------------------------------------
_REGISTRY: dict[str, Comparison] = {}
_PLUGINS_LOADED = False
_LOADED_ENTRY_POINTS: set[tuple[str, str]] = set()


def _add(comparison: Comparison, replace: bool) -> None:
    if not isinstance(comparison, Comparison):
        raise TypeError(f"only Comparison objects can be registered, got {type(comparison).__name__}")
    existing = _REGISTRY.get(comparison.name)
    if existing is not None and existing is not comparison and not replace:
        raise ValueError(f"a comparison named {comparison.name!r} is already registered (pass replace=True)")
    _REGISTRY[comparison.name] = comparison


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
    if obj is None:
        return lambda f: register(f, replace=replace)
    if isinstance(obj, Comparison):
        _add(obj, replace)
        return obj
    if callable(obj):
        for comparison in _as_comparisons(obj()):
            _add(comparison, replace)
        return obj
    raise TypeError(f"register expects a Comparison or a function returning comparisons, got {obj!r}")


def unregister(name: str) -> Comparison:
    """Remove and return a registered comparison."""
    try:
        return _REGISTRY.pop(name)
    except KeyError:
        raise KeyError(f"no comparison named {name!r} is registered") from None


def _load_entry_point(ep: Any) -> None:
    try:
        loaded = ep.load()
    except Exception as exc:
        raise RuntimeError(f"entry point {ep.name!r} of group {ENTRY_POINT_GROUP!r} failed to load: {exc}") from exc
    if isinstance(loaded, ModuleType):
        return  # importing the module registered its comparisons
    if isinstance(loaded, Comparison):
        register(loaded)
        return
    if callable(loaded):
        made = loaded()
        if made is None:
            return  # the callable registered by itself
        for comparison in _as_comparisons(made):
            register(comparison)
        return
    raise TypeError(f"entry point {ep.name!r} loaded {loaded!r}: expected a module, a Comparison or a callable")


def load_plugins(force: bool = False) -> None:
    """Load the built-in catalog and every entry point of ``keldysh_validation.comparisons``.

    Runs once per process; ``force=True`` scans the entry points again and
    loads those not loaded yet (each entry point is loaded at most once).
    """
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED and not force:
        return
    importlib.import_module("validation.catalog")
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        key = (ep.name, ep.value)
        if key not in _LOADED_ENTRY_POINTS:
            _load_entry_point(ep)
            _LOADED_ENTRY_POINTS.add(key)
    _PLUGINS_LOADED = True


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
    return [(c, c.sweep.shortened(5, 2.0)) for c in comparisons if c.norbs == 2 and c.build_model().dim == 2]
