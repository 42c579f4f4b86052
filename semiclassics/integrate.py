"""Batched adaptive Runge-Kutta integration of many ODE trajectories that start at different times.

The semiclassical characteristics (:mod:`semiclassics.characteristics`) are
integrated backwards in time from every requested observation time t_i to the
switch-on time t = 0, for every momentum of a grid at once. All trajectories
share one real time axis, so a field E(t) is evaluated once per stage: the
integration sweeps from the largest t_i down to the end time, and the batch of
trajectories that start at t_i joins the state when the sweep reaches t_i
(its right-hand side is never evaluated before). The work is therefore
proportional to sum_i t_i, not to len(times) * max(t_i).

Method: the explicit Runge-Kutta pair of Dormand and Prince of order 8 with
error estimators of orders 5 and 3 (DOP853, Hairer, Norsett and Wanner,
*Solving ODEs I*, Sec. II.10; the Butcher tableau is read from
:class:`scipy.integrate.DOP853`), one common step for the whole batch, with
the local error measured in the max norm over every component,
``max_i |err_i| / (tol * (1 + |y_i|))`` (scipy's ``solve_ivp`` uses an RMS
norm, which would let a few trajectories of a large batch run with a larger
error than asked). Steps end exactly on every start time and breakpoint (e.g.
the end of a field ramp, where E(t) has a kink).

Error estimate: the local control does not bound the global error; callers
estimate it from a second integration at a looser tolerance
(:data:`LOOSE_FACTOR` x tol): the difference bounds the error of the
tighter run for a method whose global error grows with the tolerance (tested
on closed-form cases).

A right-hand side may raise :class:`StepRejected` when a trial stage leaves the
region where it is defined (e.g. a momentum at which two bands touch); the
step is then retried with a quarter of the length, and once the step is below
``MIN_STEP_FRACTION`` of the integration interval the exception's ``error``
is raised.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["StepRejected", "sweep_backward", "LOOSE_FACTOR"]

#: Tolerance ratio of the second integration that estimates the global error.
LOOSE_FACTOR = 16.0
#: Smallest step, relative to the whole integration interval, before a rejected stage is an error.
MIN_STEP_FRACTION = 1e-12
#: Upper bound on the number of steps (accepted and rejected) of one sweep.
MAX_STEPS = 200_000

_STAGES = 12
_ORDER = 7  # order of the error estimator: the step-size control exponent is 1 / (7 + 1)


@functools.cache
def _tableau() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(A, B, C, E3, E5) of DOP853 from scipy (imported on first use: scipy.integrate takes ~0.7 s to import)."""
    from scipy.integrate import DOP853

    if DOP853.n_stages != _STAGES or DOP853.error_estimator_order != _ORDER:
        raise RuntimeError("unexpected DOP853 tableau in this scipy version")
    n = DOP853.n_stages
    return (
        np.asarray(DOP853.A)[:n, :n],
        np.asarray(DOP853.B),
        np.asarray(DOP853.C)[:n],
        np.asarray(DOP853.E3),
        np.asarray(DOP853.E5),
    )


class StepRejected(Exception):
    """Raised by a right-hand side whose argument is outside its domain; ``error`` is raised if the step cannot shrink."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _step(rhs, t: float, y: np.ndarray, f0: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray, float]:
    """One DOP853 step: (y_new, f_new, scaled max-norm error / tol)."""
    _A, _B, _C, _E3, _E5 = _tableau()
    K = np.empty((_STAGES + 1,) + y.shape)
    K[0] = f0
    for s in range(1, _STAGES):
        dy = np.tensordot(_A[s, :s], K[:s], axes=1) * h
        K[s] = rhs(t + _C[s] * h, y + dy)
    y_new = y + h * np.tensordot(_B, K[:_STAGES], axes=1)
    K[_STAGES] = rhs(t + h, y_new)
    err5 = np.tensordot(_E5, K, axes=1)
    err3 = np.tensordot(_E3, K, axes=1)
    denom = np.hypot(np.abs(err5), 0.1 * np.abs(err3))
    err = np.abs(h) * np.where(denom > 0, err5**2 / np.where(denom > 0, denom, 1.0), 0.0)
    return y_new, K[_STAGES], err


def sweep_backward(
    rhs: Callable[[float, np.ndarray], np.ndarray],
    starts: Sequence[float],
    initial: np.ndarray,
    end: float = 0.0,
    breakpoints: Sequence[float] = (),
    tol: float = 1e-10,
    max_step: Callable[[float, np.ndarray], float] | None = None,
) -> NDArray[np.float64]:
    """Integrate dy/dt = rhs(t, y) backwards from every start time to ``end``, batched.

    Parameters
    ----------
    rhs
        ``rhs(t, y)`` for a stacked state y of shape (m,) + initial.shape[1:]
        (the m trajectories that have started), vectorized; may raise
        :class:`StepRejected`.
    starts
        Start times t_i >= end, one per trajectory block.
    initial
        y(t_i) of each block, shape (len(starts), ...).
    end
        Common final time (earlier than every start).
    breakpoints
        Times in (end, max(starts)) where rhs is not smooth; steps end on them.
    tol
        Local error tolerance per step, max norm, relative to 1 + |y|.
    max_step
        Optional ``max_step(t, y) -> float``: the longest step allowed from an
        accepted state (e.g. so that no step jumps over a singularity of rhs).

    Returns
    -------
    ndarray, shape initial.shape: y(end) of every block, in the order of ``starts``.

    Raises
    ------
    ValueError
        For a start before ``end``, a non-positive tolerance or a state of the wrong shape.
    RuntimeError
        If the sweep needs more than :data:`MAX_STEPS` steps.
    """
    starts = np.asarray(starts, dtype=float)
    initial = np.asarray(initial, dtype=float)
    if starts.ndim != 1 or initial.shape[:1] != starts.shape:
        raise ValueError(f"initial must have shape (len(starts), ...), got {initial.shape} for {starts.size} starts")
    if np.any(starts < end) or not np.all(np.isfinite(starts)):
        raise ValueError(f"every start time must be finite and >= end = {end}, got {starts.tolist()}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be positive, got {tol}")
    order = np.argsort(-starts, kind="stable")
    span = float(starts.max() - end) if starts.size else 0.0
    nodes = np.unique(np.concatenate([starts, [b for b in breakpoints if end < b < starts.max()], [end]]))[::-1]
    y = initial[order[:0]]
    joined = 0
    h_next: float | None = None
    steps = 0
    out = np.empty_like(initial)
    for t0, t1 in itertools.pairwise(nodes):
        while joined < len(order) and starts[order[joined]] >= t0:
            y = np.concatenate([y, initial[order[joined]][None]], axis=0)
            joined += 1
        if y.shape[0] == 0:
            continue
        t = float(t0)
        try:
            f = rhs(t, y)
        except StepRejected as exc:  # at a start point or an accepted point: nothing to shrink
            raise exc.error from None
        interval = float(t0 - t1)
        h = interval if h_next is None else min(h_next, interval)
        limit = np.inf if max_step is None else max_step(t, y)
        while t > t1:
            h = min(h, limit)
            last = h >= (t - t1) * (1.0 - 1e-12)
            if last:
                h = t - t1
            steps += 1
            if steps > MAX_STEPS:
                raise RuntimeError(f"backward sweep needs more than {MAX_STEPS} steps (tol={tol:g})")
            try:
                y_new, f_new, err = _step(rhs, t, y, f, -h)
            except StepRejected as exc:
                h *= 0.25
                if h < MIN_STEP_FRACTION * span:
                    raise exc.error from None
                continue
            ratio = float(np.max(err / (tol * (1.0 + np.maximum(np.abs(y), np.abs(y_new))))))
            if not np.isfinite(ratio):
                raise FloatingPointError(f"non-finite error estimate at t = {t:.6g} (step {h:.3g})")
            grow = 10.0 if ratio == 0 else 0.9 * ratio ** (-1.0 / (_ORDER + 1))
            if ratio <= 1.0:
                t = float(t1) if last else t - h
                y, f = y_new, f_new
                h_next = h * min(10.0, grow)
                h = h_next
                if max_step is not None and t > t1:
                    limit = max_step(t, y)
            else:
                h *= max(0.2, grow)
    if joined:
        out[order[:joined]] = y
    out[order[joined:]] = initial[order[joined:]]  # blocks that start at `end` (nothing to integrate)
    return out
