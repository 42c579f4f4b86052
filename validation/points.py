"""One sweep point: how it is computed (:func:`evaluate_point`) and what it yields (:class:`PointData`).

A point that raises yields a :class:`PointError` instead (:func:`evaluate_task`
catches every ``Exception`` point by point), which names the comparison, the
field point, the stage that raised (model, exact, prediction, ...) and the
exception; the other points of the task are still computed.

This is the whole of the validation layer's own arithmetic on the way to a
cached number: build the model (once per process), hand the comparison its
field, call the exact side and the prediction, estimate the prediction's own
error and collect the point's annotations. Together with :mod:`validation.sweep`,
:mod:`validation.comparison` and the catalog it is part of the results cache's
code fingerprint (:func:`validation.provenance.code_fingerprint`); scheduling
(:mod:`validation.executor`) is not, because it does not change a number.
"""

from __future__ import annotations

import pickle
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .sweep import Sweep

if TYPE_CHECKING:
    from .comparison import Comparison

__all__ = [
    "PointData",
    "PointError",
    "build_model",
    "evaluate_point",
    "evaluate_task",
    "model_key",
    "pickling_problem",
]


@dataclass(frozen=True)
class PointData:
    """Raw outcome of one comparison at one sweep point.

    ``lattice_value`` is the lattice problem's flux per cell or |q E|.
    ``exact`` and ``predicted`` have the comparison's observable shape (leading
    k-point axis for k-resolved comparisons). ``prediction_floor`` is the
    estimated error of the prediction itself (e.g. BZ quadrature), 0 if it is
    evaluated pointwise. ``annotations`` are the comparison's extra facts about
    the point (:attr:`Comparison.annotate`). ``seconds`` is the time the point
    took to evaluate (in the run that computed it).
    """

    name: str
    sweep_value: float
    lattice_value: float
    exact: np.ndarray
    predicted: np.ndarray
    prediction_floor: float
    seconds: float
    annotations: dict[str, float | int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class PointError:
    """A comparison that raised, at one sweep point or before any point (``sweep_value`` None).

    ``stage`` says what was running: ``"model"`` (the model factory),
    ``"exact"``, ``"prediction"``, ``"prediction_floor"``, ``"annotate"``,
    ``"compare"`` (shapes of the two sides), ``"worker"`` (the task never
    returned: a worker died, or the task could not be sent), ``"setup"`` (before
    any point: picklability, the suite's model check) or ``"plugin"`` (the
    plugin module defining it failed to load). ``error`` is the exception's
    qualified class name, ``message`` its text and ``traceback`` the formatted
    traceback (empty when there is none).
    """

    name: str
    sweep_value: float | None
    lattice_variable: str | None
    lattice_value: float | None
    stage: str
    error: str
    message: str
    traceback: str = ""

    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        name: str,
        stage: str,
        sweep: Sweep | None = None,
        value: float | None = None,
    ) -> PointError:
        """The record of ``exc``, raised by ``name`` at ``stage`` (at sweep value ``value`` of ``sweep``)."""
        kind = type(exc)
        module = kind.__module__
        qualified = kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
        where = {} if sweep is None or value is None else {
            "sweep_value": float(value),
            "lattice_variable": sweep.lattice_variable,
            "lattice_value": sweep.lattice_value(value),
        }
        return cls(
            name=name,
            sweep_value=where.get("sweep_value"),
            lattice_variable=where.get("lattice_variable"),
            lattice_value=where.get("lattice_value"),
            stage=stage,
            error=qualified,
            message=str(exc) or repr(exc),
            traceback="".join(traceback.format_exception(exc)),
        )

    @property
    def where(self) -> str:
        """``"at flux = 0.01"`` (the lattice field), ``"while loading the plugin"`` or ``"before any point"``."""
        if self.stage == "plugin":
            return "while loading the plugin"
        if self.lattice_value is None:
            return "before any point"
        return f"at {self.lattice_variable} = {self.lattice_value:.6g}"

    def describe(self) -> str:
        """One line: exception, where and in which stage, message."""
        stage = "" if self.stage == "plugin" else f" (in {self.stage})"
        return f"{self.error} {self.where}{stage}: {self.message}"


def pickling_problem(comparison: Comparison) -> str | None:
    """Why ``comparison`` cannot be sent to a worker process, naming the attribute; None if it can.

    Worker processes (``workers > 1``, Dask) and the results cache need the
    comparison's callables pickled by reference: module-level functions or
    :func:`functools.partial` of them. A lambda, a function defined inside
    another function or in an interactive session is not.
    """
    try:
        pickle.dumps(comparison, protocol=4)
        return None
    except Exception as whole:  # pickling raises many kinds (PicklingError, AttributeError, TypeError)
        first = whole
    from dataclasses import fields

    for f in fields(comparison):
        value = getattr(comparison, f.name)
        try:
            pickle.dumps(value, protocol=4)
        except Exception as exc:
            what = f"{getattr(value, '__module__', None) or '?'}:{getattr(value, '__qualname__', type(value).__name__)}"
            return (
                f"{comparison.name}: attribute {f.name!r} ({what}) cannot be pickled ({type(exc).__name__}: "
                f"{exc}). Worker processes (workers > 1, Dask) and the results cache need module-level "
                "functions or functools.partial of them, not lambdas or local functions; define it at module "
                "level, or run with workers=1 (in-process, not cached)"
            )
    return f"{comparison.name}: the comparison cannot be pickled ({type(first).__name__}: {first})"


# --- per-process model cache -------------------------------------------------
# The exact side caches its kernels per (model, flux, function, tol); building
# each model once per process lets every comparison on that model hit the cache.
_MODELS: dict[bytes, Any] = {}


def model_key(factory: Callable[[], Any]) -> bytes:
    """Identity of a model factory across processes: its pickle (its id if it cannot be pickled)."""
    try:
        return pickle.dumps(factory)
    except Exception:  # e.g. a lambda in a script: only usable in-process anyway
        return repr(("id", id(factory))).encode()


def build_model(factory: Callable[[], Any]) -> Any:
    """``factory()``, built once per process per (pickled) factory."""
    key = model_key(factory)
    model = _MODELS.get(key)
    if model is None:
        model = _MODELS[key] = factory()
    return model


class _Stage:
    """The stage of :func:`evaluate_point` that is running (read when it raises)."""

    name = "model"


def evaluate_point(comparison: Comparison, sweep: Sweep, value: float, stage: _Stage | None = None) -> PointData:
    """The exact observable and the prediction of ``comparison`` at sweep value ``value``.

    ``stage``, if given, is updated as the evaluation proceeds, so that a caller
    catching an exception can tell which part raised (:func:`evaluate_task`).

    Raises
    ------
    ValueError
        If the exact observable and the prediction differ in shape.
    """
    stage = stage or _Stage()
    t0 = time.perf_counter()
    stage.name = "model"
    model = build_model(comparison.model)
    fld = sweep.field(value)
    stage.name = "exact"
    exact = np.asarray(comparison.exact(model, fld, tol=comparison.exact_tol))
    stage.name = "prediction"
    predicted = np.asarray(comparison.prediction(model, fld))
    stage.name = "compare"
    if exact.shape != predicted.shape:
        raise ValueError(
            f"{comparison.name}: exact observable has shape {exact.shape} but the prediction "
            f"has shape {predicted.shape}"
        )
    stage.name = "prediction_floor"
    floor = comparison.prediction_floor(model, fld, predicted)
    stage.name = "annotate"
    notes = comparison.annotations(model, fld)
    seconds = time.perf_counter() - t0
    return PointData(comparison.name, value, sweep.lattice_value(value), exact, predicted, floor, seconds, notes)


def evaluate_task(items: Sequence[tuple[Comparison, Sweep, float]]) -> list[PointData | PointError]:
    """:func:`evaluate_point` of every (comparison, sweep, value) of one task, in order.

    A task is the unit an executor runs (:func:`validation.executor.group_points`:
    one model, one lattice field), so the comparisons in it share the exact
    side's kernels in the worker's cache. A point that raises an ``Exception``
    gives a :class:`PointError` in its place and the task goes on
    (KeyboardInterrupt and SystemExit propagate).
    """
    out: list[PointData | PointError] = []
    for comparison, sweep, value in items:
        stage = _Stage()
        try:
            out.append(evaluate_point(comparison, sweep, value, stage))
        except Exception as exc:
            out.append(PointError.from_exception(exc, comparison.name, stage.name, sweep, value))
    return out
