"""Sweep points on a Dask distributed cluster (the optional extra ``pip install -e '.[dask]'``).

:func:`dask_executor` yields a :class:`concurrent.futures.Executor` backed by a
``dask.distributed`` client, which :func:`validation.convergence.run` (and
``keldysh-validate run --dask ADDRESS``) uses exactly like the local process
pool: the comparisons, the tasks and the results are the same, only where the
tasks run differs.

- ``"local"`` starts a ``LocalCluster`` of single-threaded worker processes
  on this machine (one per core unless ``workers`` says otherwise). Its
  nannies start the workers with the BLAS thread variables set to 1
  (:data:`WORKER_ENVIRONMENT`, as Dask's ``distributed.nanny.pre-spawn-environ``),
  so BLAS does not oversubscribe the cores.
- ``"tcp://HOST:PORT"`` connects to a running scheduler. Its workers must
  have this package (and any plugin defining the comparisons) installed, and
  should be started with one thread each and the BLAS variables above set to
  1 (``OMP_NUM_THREADS=1 dask worker tcp://HOST:PORT --nthreads 1``);
  :func:`worker_blas_threads` reports what they have.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

from .executor import BLAS_THREAD_VARIABLES

__all__ = ["WORKER_ENVIRONMENT", "dask_executor", "require_distributed", "worker_blas_threads"]

#: Environment of the local cluster's workers: single-threaded BLAS, and glibc's own malloc
#: trimming (Dask's default MALLOC_TRIM_THRESHOLD_ = 65536 sends every large temporary array
#: through mmap / munmap: the sweep ran 1.4x slower, with 7x the system time).
WORKER_ENVIRONMENT = {name: "1" for name in BLAS_THREAD_VARIABLES}


def require_distributed() -> Any:
    """The ``distributed`` module; ImportError naming the extra to install if it is missing."""
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as exc:
        raise ImportError(
            "running on a Dask cluster needs dask.distributed, an optional extra of this package: "
            "pip install -e '.[dask]'"
        ) from exc
    return distributed


def _blas_environment() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}


def worker_blas_threads(executor: Executor) -> dict[str, dict[str, str | None]]:
    """``{worker address: {BLAS thread variable: value}}`` as each worker behind ``executor`` sees it.

    ``executor`` is one yielded by :func:`dask_executor`.
    """
    return executor._client.run(_blas_environment)


@contextmanager
def dask_executor(address: str = "local", workers: int | None = None) -> Iterator[Executor]:
    """A ``concurrent.futures.Executor`` on a Dask cluster, closed on exit.

    Parameters
    ----------
    address
        ``"local"`` (start a ``LocalCluster`` here) or the scheduler address,
        e.g. ``"tcp://10.0.0.5:8786"``.
    workers
        Worker processes of the local cluster (default: one per core); ignored
        for a remote scheduler.

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed (the ``dask`` extra).
    ValueError
        If ``workers`` < 1 or the address is neither ``"local"`` nor a URL.
    OSError
        If no scheduler answers at ``address`` (Dask's own timeout error).
    """
    distributed = require_distributed()
    import dask
    if address == "local":
        n = workers if workers is not None else os.cpu_count() or 1
        if n < 1:
            raise ValueError(f"workers must be >= 1, got {n}")
        with dask.config.set({"distributed.nanny.pre-spawn-environ": WORKER_ENVIRONMENT}):
            cluster = distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
            )
        client = distributed.Client(cluster)
    else:
        if "://" not in address:
            raise ValueError(f"a Dask scheduler address looks like tcp://HOST:PORT (or 'local'), got {address!r}")
        cluster = None
        client = distributed.Client(address, timeout="30s")
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
