"""Wall time of ``keldysh-validate run`` for the quick and default suites, and its scaling with workers.

Targets (2 cores): default suite <= 90 s, quick suite <= 20 s, from the shell
command to the last report file (interpreter start, worker spawn, evaluation,
results cache, figures), on an empty results cache. Prints per run the wall
time, the ratio to the target, the task count, the CPU time of the run and its
workers (CPU / workers estimates the wall time on an otherwise idle machine)
and the load average before the run (the machine may be shared; a load above
zero inflates the wall time). Every run, the in-process one included, uses one
BLAS thread per process, so one worker means one core. With several ``--workers`` values it prints the
scaling efficiency T(1) / (n T(n)) of each n against one worker; ``--dask``
adds a run on a local Dask cluster with the largest worker count.

    python bench/bench_suite.py [--suite quick|default|both] [--workers N [N ...]] [--dask]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

TARGETS = {"quick": 20.0, "default": 90.0}


def bench(suite: str, workers: int, dask: bool = False) -> float:
    """Run the CLI once in a fresh interpreter (empty cache); print and return the wall time (s)."""
    from validation import available, get
    from validation.executor import BLAS_THREAD_VARIABLES, group_points
    from validation.registry import suite_jobs

    tasks = len(group_points(suite_jobs(suite, [get(n) for n in available()])))
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "validation.cli", "run", "--suite", suite, "--out", out,
               "--workers", str(workers), "--quiet"] + (["--dask", "local"] if dask else [])
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        env = {**os.environ, **{name: "1" for name in BLAS_THREAD_VARIABLES}}  # 1 worker = 1 core, as every worker
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    where = f"{workers} Dask workers" if dask else f"{workers} worker(s)"
    print(
        f"{suite:>7}: {wall:6.1f} s wall for {tasks} (field, model) tasks on {where}; "
        f"target {TARGETS[suite]:.0f} s, ratio {wall / TARGETS[suite]:.2f}; "
        f"CPU {cpu:.1f} s (CPU / workers = {cpu / workers:.1f} s); load average before {load:.2f}"
    )
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=["quick", "default", "both"], default="both")
    parser.add_argument("--workers", type=int, nargs="+", default=[os.cpu_count() or 1])
    parser.add_argument("--dask", action="store_true", help="also run on a local Dask cluster")
    args = parser.parse_args()
    for suite in ("quick", "default") if args.suite == "both" else (args.suite,):
        walls = {n: bench(suite, n) for n in args.workers}
        if args.dask:
            bench(suite, max(args.workers), dask=True)
        if 1 in walls:
            for n, wall in walls.items():
                if n > 1:
                    print(f"{suite:>7}: scaling 1 -> {n} workers: speed-up {walls[1] / wall:.2f}, "
                          f"efficiency {walls[1] / (n * wall):.2f}")


if __name__ == "__main__":
    main()
