"""One sweep point: how it is computed (:func:`evaluate_point`) and what it yields (:class:`PointData`).

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .sweep import Sweep

if TYPE_CHECKING:
    from .comparison import Comparison

__all__ = ["PointData", "build_model", "evaluate_point", "evaluate_task", "model_key"]


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


def evaluate_point(comparison: Comparison, sweep: Sweep, value: float) -> PointData:
    """The exact observable and the prediction of ``comparison`` at sweep value ``value``.

    Raises
    ------
    ValueError
        If the exact observable and the prediction differ in shape.
    """
    t0 = time.perf_counter()
    model = build_model(comparison.model)
    fld = sweep.field(value)
    exact = np.asarray(comparison.exact(model, fld, tol=comparison.exact_tol))
    predicted = np.asarray(comparison.prediction(model, fld))
    if exact.shape != predicted.shape:
        raise ValueError(
            f"{comparison.name}: exact observable has shape {exact.shape} but the prediction "
            f"has shape {predicted.shape}"
        )
    floor = comparison.prediction_floor(model, fld, predicted)
    notes = comparison.annotations(model, fld)
    seconds = time.perf_counter() - t0
    return PointData(comparison.name, value, sweep.lattice_value(value), exact, predicted, floor, seconds, notes)


def evaluate_task(items: Sequence[tuple[Comparison, Sweep, float]]) -> list[PointData]:
    """:func:`evaluate_point` of every (comparison, sweep, value) of one task, in order.

    A task is the unit an executor runs (:func:`validation.executor.group_points`:
    one model, one lattice field), so the comparisons in it share the exact
    side's kernels in the worker's cache.
    """
    return [evaluate_point(comparison, sweep, value) for comparison, sweep, value in items]
