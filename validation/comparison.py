"""Comparisons: one exact observable held against one semiclassical prediction.

A :class:`Comparison` reads like the sentence it tests: on *model*, the exact
observable (``keldysh``) is compared with the prediction of *equation*
(``semiclassics``), in its *printed* or *corrected* form, along a *sweep* of
the field, and the theory claims a residual of *expected order* in beta
(2 for a prediction exact to O(hbar)).

This module holds the value object only; comparisons are registered, looked up
and grouped into suites in :mod:`validation.registry`.

Everything a comparison holds must be picklable (module-level functions or
:func:`functools.partial` of them), because sweep points run in worker
processes.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .points import build_model
from .sweep import DEFAULT_SWEEP, Sweep

__all__ = ["PREDICTION_KINDS", "Comparison"]

PREDICTION_KINDS = ("printed", "corrected")

#: How each callable is called: (attribute, positional arguments, keyword arguments, the call as documented).
_CALLS = (
    ("model", 0, (), "model()"),
    ("exact", 2, ("tol",), "exact(model, field, *, tol)"),
    ("prediction", 2, (), "prediction(model, field)"),
    ("prediction_coarse", 2, (), "prediction_coarse(model, field)"),
    ("annotate", 2, (), "annotate(model, field)"),
)


def _signature_problem(fn: Callable[..., Any], positional: int, keywords: tuple[str, ...]) -> str | None:
    """Why ``fn`` cannot be called with ``positional`` arguments and ``keywords``; None if it can (or is opaque)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins and C callables without a signature: not checked
        return None
    try:
        signature.bind(*([None] * positional), **dict.fromkeys(keywords))
    except TypeError as exc:
        return f"its signature is {signature} ({exc})"
    return None


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
            raise ValueError(f"a comparison needs a non-empty name (a str), got {self.name!r}")
        if self.name != self.name.strip() or any(ch in self.name for ch in "\n\r\t"):
            raise ValueError(f"name must not start or end with blanks or hold line breaks or tabs, got {self.name!r}")
        for attr in ("description", "model_label", "equation", "points", "units", "difference"):
            if not isinstance(getattr(self, attr), str):
                raise TypeError(f"{self.name}: {attr} must be a str, got {type(getattr(self, attr)).__name__}")
        for attr in ("model_label", "equation", "points"):
            if not getattr(self, attr).strip():
                raise ValueError(f"{self.name}: {attr} must not be empty")
        if self.counterpart is not None and (not isinstance(self.counterpart, str) or not self.counterpart.strip()):
            raise TypeError(f"{self.name}: counterpart must be a comparison name or None, got {self.counterpart!r}")
        if self.counterpart == self.name:
            raise ValueError(f"{self.name}: counterpart must name another comparison, not itself")
        for attr, positional, keywords, call in _CALLS:
            fn = getattr(self, attr)
            if fn is None and attr in ("prediction_coarse", "annotate"):
                continue
            if not callable(fn):
                optional = " or None" if attr in ("prediction_coarse", "annotate") else ""
                raise TypeError(f"{self.name}: {attr} must be callable{optional}, got {fn!r}")
            problem = _signature_problem(fn, positional, keywords)
            if problem:
                raise TypeError(f"{self.name}: {attr} is called as {call}, but {problem}")
        if self.prediction_kind not in PREDICTION_KINDS:
            raise ValueError(
                f"{self.name}: prediction_kind must be one of {PREDICTION_KINDS}, got {self.prediction_kind!r}"
            )
        if not isinstance(self.sweep, Sweep):
            raise TypeError(f"{self.name}: sweep must be a validation.Sweep, got {type(self.sweep).__name__}")
        for attr in ("expected_order", "exact_tol"):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{self.name}: {attr} must be a real number, got {type(value).__name__} {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{self.name}: {attr} must be finite, got {value}")
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
