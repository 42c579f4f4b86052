"""Where and in which order sweep points run: tasks, local executors, progress, the results cache.

The points of all comparisons are grouped by (lattice field, model)
(:func:`group_points`), and one task evaluates every (comparison, sweep value)
pair of its group (:func:`validation.points.evaluate_task`), so the exact
side's per-process kernel cache (``keldysh.exact``) computes each (model,
field, function) kernel once and every comparison that needs it reuses it.
Tasks run through a :class:`concurrent.futures.Executor` (:func:`make_executor`):
a ``ProcessPoolExecutor`` of spawned workers with BLAS threads limited to 1,
one worker per core, which exit when the calling process dies; serially
in-process for ``workers=1``; or a Dask cluster's (:mod:`validation.cluster`).

Nothing here changes a number: a serial, a process-pool and a Dask run give
identical points, and this module is outside the results cache's code
fingerprint (:func:`validation.provenance.code_fingerprint`).

Faults are isolated: a point that raises comes back as a
:class:`validation.points.PointError`, and so does every point of a task that
never returns (a worker killed or out of memory, a task that cannot be sent).
Before anything runs in other processes, every comparison is checked to pickle
(:func:`validation.points.pickling_problem`: a comparison that does not gets
errors naming the attribute, whatever the number of workers), and a script
that would start worker processes without the ``if __name__ == "__main__":``
guard is stopped with a message saying so (:func:`check_main_guard`).
"""

from __future__ import annotations

import ast
import multiprocessing
import numbers
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .points import PointData, PointError, evaluate_task, model_key, pickling_problem
from .sweep import Sweep, lattice_key

if TYPE_CHECKING:
    from .cache import ResultsCache
    from .comparison import Comparison

__all__ = [
    "BLAS_THREAD_VARIABLES",
    "SerialExecutor",
    "TaskKey",
    "check_main_guard",
    "evaluate_points",
    "group_points",
    "make_executor",
]

#: Environment variables that cap the BLAS / OpenMP thread pools of a worker.
BLAS_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

#: A task: (lattice variable, lattice value rounded by :func:`validation.sweep.lattice_key`, model key).
TaskKey = tuple[str, float, bytes]


def group_points(jobs: Iterable[tuple[Comparison, Sweep]]) -> dict[TaskKey, list[tuple[Comparison, Sweep, float]]]:
    """{(lattice variable, lattice value, model key): [(comparison, sweep, value), ...]}, largest field first.

    One task per model and lattice field (flux, or |q E|): the exact side's
    kernels belong to one (model, field), so every comparison of a task shares
    them and no two tasks need the same kernel. Lattice values are rounded to 12
    significant digits, so that e.g. hbar * flux0 and the same flux of a flux
    sweep share one task.
    """
    return _group_items((c, s, v) for c, s in jobs for v in s.values)


def _group_items(
    items: Iterable[tuple[Comparison, Sweep, float]],
) -> dict[TaskKey, list[tuple[Comparison, Sweep, float]]]:
    """:func:`group_points` of individual (comparison, sweep, value) items."""
    groups: dict[TaskKey, list[tuple[Comparison, Sweep, float]]] = {}
    keys: dict[str, bytes] = {}
    for comparison, sweep, value in items:
        if comparison.name not in keys:
            keys[comparison.name] = model_key(comparison.model)
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


def _main_guard_problem() -> str | None:
    """Why spawning workers from here would re-run the calling script; None if it would not (see check_main_guard)."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        return (
            "worker processes are being started while this process is itself starting up as a worker: the main "
            "script runs the validation at import"
        )
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path or not os.path.isfile(path):
        return None  # interactive session, python -c, or a frozen entry point: nothing is re-imported
    outer = None
    frame = sys._getframe(1)
    while frame is not None:  # the outermost frame running the main script's own top-level code
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            outer = frame
        frame = frame.f_back
    if outer is None:
        return None
    line = outer.f_lineno
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    for stmt in tree.body:
        if not stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
            continue
        if isinstance(stmt, ast.If) and _is_main_test(stmt.test):
            return None
        return f"the call at {path}:{line} is not inside `if __name__ == \"__main__\":`"
    return None


def _is_main_test(test: ast.expr) -> bool:
    """True for ``__name__ == "__main__"`` (either order)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    consts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and consts == ["__main__"]


def check_main_guard() -> None:
    """Raise if starting worker processes now would run the calling script again in every worker.

    Worker processes are spawned: each imports the main script afresh (as
    ``__mp_main__``), so a script whose top-level code calls ``run(workers > 1)``
    outside ``if __name__ == "__main__":`` would start the run again in every
    worker (which Python refuses, and the pool breaks without saying why).

    Raises
    ------
    RuntimeError
        Naming the script and line, and what to change.
    """
    problem = _main_guard_problem()
    if problem:
        raise RuntimeError(
            f"worker processes (workers > 1) are spawned, and each imports the main script again: {problem}. "
            "Put the script's top-level code under `if __name__ == \"__main__\":` (see the multiprocessing "
            "guide, 'Safe importing of main module'), or run in-process with workers=1"
        )


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
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral):
        raise TypeError(f"workers must be an int >= 1 or None, got {workers!r}")
    workers = int(workers)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        return SerialExecutor()
    check_main_guard()
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


def _worker_failure(exc: BaseException) -> BaseException:
    """The exception of a task that never returned, with what it most likely means."""
    if isinstance(exc, BrokenProcessPool):
        return RuntimeError(
            "a worker process died while this task was queued or running (killed, out of memory, or a crash "
            f"in native code); the pool is broken and its remaining tasks fail too ({exc})"
        )
    return exc


def evaluate_points(
    jobs: Iterable[tuple[Comparison, Sweep]],
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool = False,
    cache: ResultsCache | None = None,
) -> dict[str, list[PointData | PointError]]:
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
        a Dask cluster's (:func:`validation.cluster.dask_executor`).
    progress
        Draw a progress bar on stderr.
    cache
        A :class:`validation.cache.ResultsCache`: points found there are read
        back instead of computed, and every task's points are written to it as
        soon as the task finishes, so an interrupted run loses no finished task.

    Returns
    -------
    dict
        ``{comparison name: [PointData or PointError, in sweep order]}``. A
        point that raised, or whose task never returned, is a
        :class:`~validation.points.PointError`; a comparison that cannot run at
        all (it does not pickle, for worker processes) has one PointError in
        place of every point.
    """
    jobs = list(jobs)
    names = [c.name for c, _ in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate comparison names in one run: {sorted({n for n in names if names.count(n) > 1})}")
    results: dict[str, dict[float, PointData | PointError]] = {name: {} for name in names}
    in_process = executor is None and (workers == 1 or (workers is None and (os.cpu_count() or 1) == 1))
    in_process = in_process or isinstance(executor, SerialExecutor)
    runnable = []
    for c, s in jobs:
        problem = None if in_process else pickling_problem(c)
        if problem is not None:  # checked here, so the message is the same at any worker count
            error = PointError(c.name, None, None, None, "setup", "PicklingError", problem)
            results[c.name].update({v: error for v in s.values})
            continue
        runnable.append((c, s))
        if cache is not None:
            results[c.name].update(cache.load(c, s))
    groups = _group_items((c, s, v) for c, s in runnable for v in s.values if v not in results[c.name])
    by_name = {c.name: (c, s) for c, s in jobs}
    own = executor is None and bool(groups)
    pool = make_executor(workers) if own else executor
    bar = _Progress(len(groups), enabled=progress and bool(groups))

    def collect(future: Future, items: list[tuple[Comparison, Sweep, float]], label: str) -> None:
        try:
            outcome = future.result()
        except Exception as exc:  # the task never returned: every point of it is an error
            failure = _worker_failure(exc)
            outcome = [PointError.from_exception(failure, c.name, "worker", s, v) for c, s, v in items]
        done: dict[str, list[PointData]] = {}
        for point in outcome:
            results[point.name][point.sweep_value] = point
            if isinstance(point, PointData):
                done.setdefault(point.name, []).append(point)
        if cache is not None:
            for name, points in done.items():
                cache.store(*by_name[name], points)
        bar.step(label)

    try:
        pending = {}
        for (variable, value, _), items in groups.items():
            label = f"{variable} {value:.3g}"
            try:
                future = pool.submit(evaluate_task, items)
            except Exception as exc:  # e.g. a Dask client that cannot serialize the task
                future = Future()
                future.set_exception(exc)
            if future.done():  # the serial executor finishes at submit: report progress as it goes
                collect(future, items, label)
            else:
                pending[future] = (items, label)
        for future in as_completed(pending):
            collect(future, *pending[future])
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    return {c.name: [results[c.name][v] for v in s.values] for c, s in jobs}
