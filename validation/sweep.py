"""Sweep variables, the executor that evaluates sweep points, and point grouping.

A comparison is evaluated at a sequence of fields; its residual is then fitted
against the sweep variable (:mod:`validation.convergence`). Two sweep
variables exist:

``flux``
    The flux per unit cell in flux quanta h/q (``keldysh.UniformB(flux)``), at
    fixed lattice constant and hbar = 1. The field strength is
    beta = q B / hbar = 2 pi flux / A_cell, so a residual O(beta^p) has slope p
    in flux.

``E``
    The strength |q E| (energy / a) of a uniform electric field; the comparison
    receives an :class:`ElectricField` point and builds its own time-dependent
    lattice field from it (ramp, observation time).

``hbar``
    The semiclassical expansion parameter itself. Scale the lattice constant
    with hbar, a = hbar a0, so that the Bloch Hamiltonian as a function of the
    momentum p = hbar k stays fixed: k.a = (p/hbar).(hbar a0) = p.a0, and h(p)
    is the same function for every hbar. In a fixed field B the flux per
    plaquette is then::

        flux = q B a^2 / (2 pi hbar) = hbar * (q B a0^2 / (2 pi)) = hbar * flux0,

    with flux0 the flux at hbar = 1. So an hbar sweep is the same lattice
    problem evaluated at flux = hbar * flux0, with the same k.a at every point;
    observables per unit cell and functions of k.a compare unchanged. The
    residual is reported against hbar; since flux is proportional to hbar the
    fitted order is the same as in the flux sweep. For an electric field
    (``E0`` given) the same scaling, with times in units of hbar, gives the
    lattice problem at |q E| = hbar * E0.

Evaluation: the points of all comparisons are grouped by (lattice field,
model), and one task evaluates every (comparison, sweep value) pair of that group, so the
exact side's per-process kernel cache (``keldysh.exact``) computes each
(model, flux, function) kernel once and every comparison that needs it reuses
it. Tasks run through a :class:`concurrent.futures.Executor`: by default a
``ProcessPoolExecutor`` (spawned workers with BLAS threads limited to 1, one
worker per core), or serially in-process for ``workers=1``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from keldysh.fields import UniformB

if TYPE_CHECKING:
    from .cache import ResultsCache
    from .comparison import Comparison

__all__ = [
    "SWEEP_VARIABLES",
    "ElectricField",
    "Sweep",
    "PointData",
    "DEFAULT_SWEEP",
    "QUICK_SWEEP",
    "evaluate_points",
    "group_points",
    "lattice_key",
    "make_executor",
]

SWEEP_VARIABLES = ("flux", "hbar", "E")

#: Environment variables that cap the BLAS / OpenMP thread pools of a worker.
BLAS_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


@dataclass(frozen=True)
class ElectricField:
    """A point of an electric-field sweep, handed to the comparison as its ``field``.

    Parameters
    ----------
    E
        Field strength |q E| (energy / a) at hbar = 1.
    hbar
        Expansion parameter of an hbar sweep (1 for an E sweep). With a = hbar a0
        and times in units of hbar, the lattice problem is the one at
        |q E| = hbar * E (:attr:`strength`), the same relabelling as
        flux = hbar * flux0 for B (module docstring). How the comparison turns
        the point into a time-dependent lattice field is its own business.
    """

    E: float
    hbar: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.E) and math.isfinite(self.hbar) and self.E > 0 and self.hbar > 0):
            raise ValueError(f"an electric-field point needs finite E > 0 and hbar > 0, got E={self.E}, hbar={self.hbar}")

    @property
    def strength(self) -> float:
        """|q E| of the lattice problem: hbar * E."""
        return self.hbar * self.E


@dataclass(frozen=True)
class Sweep:
    """The values of the sweep variable at which a comparison is evaluated.

    Parameters
    ----------
    variable
        ``"flux"`` (flux per unit cell, flux quanta), ``"E"`` (|q E|, energy / a)
        or ``"hbar"`` (module docstring: flux = hbar * flux0, or |q E| = hbar * E0,
        at fixed k.a).
    values
        Positive sweep values (any order; stored as given).
    flux0
        For an hbar sweep of a magnetic field: the flux per unit cell at
        hbar = 1. Must stay 1 otherwise.
    E0
        For an hbar sweep of an electric field: |q E| at hbar = 1 (then the
        sweep is an electric one). None otherwise.
    """

    variable: str = "flux"
    values: tuple[float, ...] = ()
    flux0: float = 1.0
    E0: float | None = None

    def __post_init__(self) -> None:
        if self.variable not in SWEEP_VARIABLES:
            raise ValueError(f"unknown sweep variable {self.variable!r}; choose one of {SWEEP_VARIABLES}")
        values = tuple(float(v) for v in self.values)
        object.__setattr__(self, "values", values)
        if len(values) < 2:
            raise ValueError(f"a sweep needs at least 2 values, got {len(values)}")
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"sweep values must be finite and positive, got {values}")
        if len(set(values)) != len(values):
            raise ValueError(f"sweep values must be distinct, got {values}")
        if not (math.isfinite(self.flux0) and self.flux0 > 0):
            raise ValueError(f"flux0 must be finite and positive, got {self.flux0}")
        if self.flux0 != 1.0 and (self.variable != "hbar" or self.E0 is not None):
            raise ValueError("flux0 only applies to an hbar sweep of a magnetic field")
        if self.E0 is not None:
            if self.variable != "hbar":
                raise ValueError("E0 only applies to an hbar sweep (an E sweep gives E itself)")
            if not (math.isfinite(self.E0) and self.E0 > 0):
                raise ValueError(f"E0 must be finite and positive, got {self.E0}")

    @classmethod
    def log(
        cls,
        start: float = 1e-1,
        stop: float = 1e-4,
        num: int = 10,
        variable: str = "flux",
        flux0: float = 1.0,
        E0: float | None = None,
    ) -> Sweep:
        """``num`` log-spaced values from ``start`` to ``stop`` (both included)."""
        if num < 2:
            raise ValueError(f"num must be >= 2, got {num}")
        if not (start > 0 and stop > 0):
            raise ValueError(f"start and stop must be positive, got {start}, {stop}")
        return cls(variable, tuple(np.geomspace(start, stop, num)), flux0, E0)

    @property
    def electric(self) -> bool:
        """True for a sweep of an electric field (``E``, or ``hbar`` with E0)."""
        return self.variable == "E" or self.E0 is not None

    @property
    def lattice_variable(self) -> str:
        """Name of the field parameter of the lattice problem: ``"flux"`` or ``"E"``."""
        return "E" if self.electric else "flux"

    def lattice_value(self, value: float) -> float:
        """The lattice problem's flux per unit cell, or |q E|, at sweep value ``value``."""
        value = float(value)
        if self.variable == "hbar":
            return value * (self.E0 if self.electric else self.flux0)
        return value

    def flux(self, value: float) -> float:
        """Flux per unit cell (flux quanta) at sweep value ``value`` (magnetic sweeps only)."""
        if self.electric:
            raise ValueError("an electric-field sweep has no flux")
        return self.lattice_value(value)

    def field(self, value: float) -> UniformB | ElectricField:
        """The field handed to the comparison at sweep value ``value``.

        ``UniformB(flux)`` for a magnetic sweep; ``ElectricField(E)`` for an E
        sweep, ``ElectricField(E0, hbar)`` for an hbar sweep of an electric field.
        """
        if not self.electric:
            return UniformB(self.flux(value))
        return ElectricField(float(value)) if self.variable == "E" else ElectricField(self.E0, float(value))

    @property
    def decades(self) -> float:
        """log10(max / min) of the sweep values."""
        return math.log10(max(self.values) / min(self.values))

    def shortened(self, num: int = 5, decades: float = 2.0) -> Sweep:
        """At most ``num`` of this sweep's own values, spread evenly (in order) over its lowest ``decades``.

        The values are kept exactly (e.g. rational fluxes that a supercell
        needs), descending, and the lowest value is always included.
        """
        lo = min(self.values)
        inside = sorted(v for v in self.values if v <= lo * 10**decades * (1 + 1e-12))
        if len(inside) > num:
            inside = [inside[i] for i in np.unique(np.round(np.linspace(0, len(inside) - 1, num)).astype(int))]
        return Sweep(self.variable, tuple(reversed(inside)), self.flux0, self.E0)

    def as_variable(self, variable: str) -> Sweep:
        """The same lattice problems expressed in another sweep variable.

        ``"hbar"`` takes the largest lattice value as flux0 (or E0), so hbar runs
        from 1 down; ``"flux"`` / ``"E"`` go back to the lattice variable.
        Converting between magnetic and electric sweeps raises ValueError.
        """
        if variable == self.variable:
            return self
        lattice = tuple(self.lattice_value(v) for v in self.values)
        if variable == "hbar":
            scale = max(lattice)
            values = tuple(v / scale for v in lattice)
            return Sweep("hbar", values, E0=scale) if self.electric else Sweep("hbar", values, scale)
        if variable in SWEEP_VARIABLES and variable == self.lattice_variable:
            return Sweep(variable, lattice)
        raise ValueError(f"cannot express a {self.lattice_variable} sweep in {variable!r}")

    def describe(self) -> str:
        """One line: variable, range, number of points."""
        text = (
            f"{self.variable} from {max(self.values):.3g} to {min(self.values):.3g}, "
            f"{len(self.values)} log-spaced points ({self.decades:.2g} decades)"
        )
        if self.variable == "hbar":
            text += f"; |qE| = hbar * {self.E0:.3g}" if self.electric else f"; flux = hbar * {self.flux0:.3g}"
        return text


#: The default sweep: flux per cell from 1e-2 down to 1e-4, 8 log-spaced points.
#: Larger fluxes are out of reach or out of scope for the built-in models: at
#: flux 0.1 the exact band windows of qwz(1, t0=0.3) fail (the field fills the
#: gap margin), above ~0.02 the exact kernels of the three-band model cost
#: minutes, and in the T = 0.1 metal the de Haas-van Alphen oscillations
#: (~exp(-2 pi^2 T / omega_c), non-perturbative in beta) show above ~0.01.
DEFAULT_SWEEP = Sweep.log(1e-2, 1e-4, 8)
#: The quick sweep: 5 of its 8 points, over the same two decades.
QUICK_SWEEP = DEFAULT_SWEEP.shortened(5, 2.0)


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


def _model_key(factory: Callable[[], Any]) -> bytes:
    """Identity of a model factory across processes: its pickle (its id if it cannot be pickled)."""
    try:
        return pickle.dumps(factory)
    except Exception:  # e.g. a lambda in a script: only usable in-process anyway
        return repr(("id", id(factory))).encode()


def build_model(factory: Callable[[], Any]) -> Any:
    """``factory()``, built once per process per (pickled) factory."""
    key = _model_key(factory)
    model = _MODELS.get(key)
    if model is None:
        model = _MODELS[key] = factory()
    return model


def _evaluate_group(items: Sequence[tuple[Comparison, Sweep, float]]) -> list[PointData]:
    """Evaluate every (comparison, sweep, value) of one task (one model, one lattice field)."""
    out = []
    for comparison, sweep, value in items:
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
        out.append(PointData(comparison.name, value, sweep.lattice_value(value), exact, predicted, floor, seconds, notes))
    return out


TaskKey = tuple[str, float, bytes]


def lattice_key(value: float) -> str:
    """A lattice field (flux per cell or |q E|) as a key: 12 significant digits.

    Points whose lattice fields agree to 12 digits are the same lattice problem
    (e.g. hbar * flux0 and the same flux of a flux sweep).
    """
    return f"{float(value):.12g}"


def group_points(jobs: Iterable[tuple[Comparison, Sweep]]) -> dict[TaskKey, list[tuple[Comparison, Sweep, float]]]:
    """{(lattice variable, lattice value, model key): [(comparison, sweep, value), ...]}, largest field first.

    One task per model and lattice field (flux, or |q E|): the exact side's
    kernels belong to one (model, field), so every comparison of a task shares
    them and no two tasks need the same kernel. Lattice values are rounded to 12
    significant digits, so that e.g. hbar * flux0 and the same flux of a flux
    sweep share one task.
    """
    return _group_items((c, s, v) for c, s in jobs for v in s.values)


def _group_items(items: Iterable[tuple[Comparison, Sweep, float]]) -> dict[TaskKey, list[tuple[Comparison, Sweep, float]]]:
    """:func:`group_points` of individual (comparison, sweep, value) items."""
    groups: dict[TaskKey, list[tuple[Comparison, Sweep, float]]] = {}
    keys: dict[str, bytes] = {}
    for comparison, sweep, value in items:
        if comparison.name not in keys:
            keys[comparison.name] = _model_key(comparison.model)
        key_model = keys[comparison.name]
        key = (sweep.lattice_variable, float(lattice_key(sweep.lattice_value(value))), key_model)
        groups.setdefault(key, []).append((comparison, sweep, value))
    return dict(sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][1])))


@contextmanager
def _single_threaded_blas_environment() -> Iterator[None]:
    """Set the BLAS thread variables to 1 while workers are spawned (they inherit it)."""
    saved = {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}
    os.environ.update({name: "1" for name in BLAS_THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _SingleThreadedProcessPool(ProcessPoolExecutor):
    """A spawning process pool whose workers start with single-threaded BLAS.

    Workers are spawned lazily at submit time, so the thread variables are set
    around every submit (the child reads them when it loads BLAS).
    """

    def submit(self, fn, /, *args, **kwargs) -> Future:  # noqa: D102
        with _single_threaded_blas_environment():
            return super().submit(fn, *args, **kwargs)


class SerialExecutor(Executor):
    """Runs every task in the calling process at submit time (the ``workers=1`` path)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:  # noqa: D102
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, as a pool would
            future.set_exception(exc)
        return future


def make_executor(workers: int | None = None) -> Executor:
    """An executor for sweep points.

    ``workers=None`` uses one process per core; ``workers=1`` runs serially in
    the calling process. Worker processes are spawned (not forked) with the
    BLAS thread variables set to 1, so each worker runs single-threaded BLAS,
    and exit by themselves if the calling process dies (e.g. SIGKILL).
    The caller shuts it down (:func:`evaluate_points` does, for the executors
    it creates itself).
    """
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        return SerialExecutor()
    return _SingleThreadedProcessPool(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )


def _exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """Worker initializer: a daemon thread that ends the worker when the parent process is gone.

    A pool's workers outlive a parent killed with SIGKILL (they would finish
    their queued tasks for nobody and then wait forever); this checks the
    parent every ``interval`` seconds and exits at once when it changed.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@dataclass
class _Progress:
    """A one-line progress bar on stderr."""

    total: int
    enabled: bool = True
    width: int = 30
    done: int = 0
    start: float = field(default_factory=time.perf_counter)

    def step(self, label: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        filled = int(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} (field, model) tasks {elapsed:6.1f} s {label:<18}")
        if self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def evaluate_points(
    jobs: Iterable[tuple[Comparison, Sweep]],
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool = False,
    cache: ResultsCache | None = None,
) -> dict[str, list[PointData]]:
    """Evaluate every comparison at every point of its sweep.

    Parameters
    ----------
    jobs
        (comparison, sweep) pairs.
    workers
        Number of worker processes (None: all cores; 1: serial, in-process).
        Ignored when ``executor`` is given.
    executor
        An executor to use instead of creating one (it is not shut down), e.g.
        a Dask cluster's (:func:`validation.distributed.dask_executor`).
    progress
        Draw a progress bar on stderr.
    cache
        A :class:`validation.cache.ResultsCache`: points found there are read
        back instead of computed, and every task's points are written to it as
        soon as the task finishes, so an interrupted run loses no finished task.

    Returns
    -------
    dict
        ``{comparison name: [PointData in sweep order]}``.
    """
    jobs = list(jobs)
    names = [c.name for c, _ in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate comparison names in one run: {sorted({n for n in names if names.count(n) > 1})}")
    results: dict[str, dict[float, PointData]] = {name: {} for name in names}
    if cache is not None:
        for c, s in jobs:
            results[c.name].update(cache.load(c, s))
    groups = _group_items((c, s, v) for c, s in jobs for v in s.values if v not in results[c.name])
    by_name = {c.name: (c, s) for c, s in jobs}
    own = executor is None and bool(groups)
    pool = make_executor(workers) if own else executor
    bar = _Progress(len(groups), enabled=progress and bool(groups))

    def collect(future: Future, label: str) -> None:
        done: dict[str, list[PointData]] = {}
        for point in future.result():
            results[point.name][point.sweep_value] = point
            done.setdefault(point.name, []).append(point)
        if cache is not None:
            for name, points in done.items():
                cache.store(*by_name[name], points)
        bar.step(label)

    try:
        pending = {}
        for (variable, value, _), items in groups.items():
            future = pool.submit(_evaluate_group, items)
            label = f"{variable} {value:.3g}"
            if future.done():  # the serial executor finishes at submit: report progress as it goes
                collect(future, label)
            else:
                pending[future] = label
        for future in as_completed(pending):
            collect(future, pending[future])
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    return {c.name: [results[c.name][v] for v in s.values] for c, s in jobs}
