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
import threading
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

from .executor import BLAS_THREAD_VARIABLES

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "WORKER_ENVIRONMENT",
    "SchedulerUnreachable",
    "check_address",
    "dask_executor",
    "require_distributed",
    "worker_blas_threads",
]

#: Seconds to wait for a remote scheduler to answer (``keldysh-validate run --dask-timeout``).
DEFAULT_CONNECT_TIMEOUT = 10.0


class SchedulerUnreachable(OSError):
    """No Dask scheduler answered at the address within the connect timeout."""


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


def check_address(address: str) -> str:
    """``address`` if it is ``"local"`` or a scheduler address Dask can parse (scheme://host:port).

    Raises
    ------
    TypeError
        If ``address`` is not a str.
    ValueError
        Naming the address and what a valid one looks like.
    """
    if not isinstance(address, str):
        raise TypeError(f"address must be a str ('local' or tcp://HOST:PORT), got {type(address).__name__}")
    if address == "local":
        return address
    hint = "a Dask scheduler address looks like tcp://HOST:PORT (or 'local')"
    if "://" not in address:
        raise ValueError(f"{hint}, got {address!r}")
    distributed = require_distributed()
    from distributed.comm.addressing import parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = distributed.comm.parse_address(address)
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme!r}, known: {sorted(backends)}")
        if scheme in ("tcp", "tls", "ws", "wss"):
            host, port = parse_host_port(location)
            if not host or not 0 < int(port) < 65536:
                raise ValueError(f"host {host!r}, port {port!r}")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{hint}, got {address!r} ({exc})") from None
    return address


def _connect(distributed: Any, address: str, timeout: float) -> Any:
    """A Client of the scheduler at ``address``, or SchedulerUnreachable within about ``timeout`` seconds.

    Dask's own timeout covers the TCP connection but not the handshake: a
    server that accepts the connection and never answers (not a Dask
    scheduler) would hold the caller forever. The client is therefore made in
    a daemon thread, and abandoned if it has not connected by the deadline.
    """
    outcome: dict[str, Any] = {}

    def connect() -> None:
        try:
            outcome["client"] = distributed.Client(address, timeout=f"{timeout}s", set_as_default=False)
        except BaseException as exc:  # delivered to the caller
            outcome["error"] = exc

    thread = threading.Thread(target=connect, name="dask-connect", daemon=True)
    thread.start()
    thread.join(timeout + 2.0)
    if "client" in outcome:
        return outcome["client"]
    if thread.is_alive():
        raise SchedulerUnreachable(
            f"{address} accepted the connection but did not answer as a Dask scheduler within {timeout:g} s "
            "(is it a Dask scheduler's address and port?)"
        )
    error = outcome.get("error")
    reason = str(error).splitlines()[0] if error is not None and str(error) else type(error).__name__
    raise SchedulerUnreachable(
        f"no Dask scheduler answered at {address} within {timeout:g} s ({reason}); start one with "
        "`dask scheduler`, or check the address and the connect timeout"
    ) from None


@contextmanager
def dask_executor(
    address: str = "local", workers: int | None = None, timeout: float = DEFAULT_CONNECT_TIMEOUT
) -> Iterator[Executor]:
    """A ``concurrent.futures.Executor`` on a Dask cluster, closed on exit.

    Parameters
    ----------
    address
        ``"local"`` (start a ``LocalCluster`` here) or the scheduler address,
        e.g. ``"tcp://10.0.0.5:8786"``.
    workers
        Worker processes of the local cluster (default: one per core); ignored
        for a remote scheduler.
    timeout
        Seconds to wait for a remote scheduler to answer.

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed (the ``dask`` extra).
    ValueError
        If ``workers`` < 1, ``timeout`` is not positive, or the address is
        neither ``"local"`` nor a scheduler address (:func:`check_address`).
    SchedulerUnreachable
        An OSError, if no Dask scheduler answers at ``address`` within
        ``timeout`` seconds (refused, unknown host, or a server that is not a
        Dask scheduler).
    """
    distributed = require_distributed()
    import dask

    check_address(address)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if address == "local":
        n = workers if workers is not None else os.cpu_count() or 1
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"workers must be an int >= 1, got {n!r}")
        with dask.config.set({"distributed.nanny.pre-spawn-environ": WORKER_ENVIRONMENT}):
            cluster = distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
            )
        client = distributed.Client(cluster)
    else:
        cluster = None
        client = _connect(distributed, address, float(timeout))
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
