"""Benchmark: QWZ Chern numbers on a 400 x 400 k-grid (target < 1 s on one core).

Run with one thread for a reproducible single-core figure:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/bench_chern.py

Prints the best of 5 wall times for the curvature integration
(:func:`semiclassics.geometry.chern_numbers`) and the Fukui-Hatsugai-Suzuki
link method (:func:`semiclassics.geometry.chern_numbers_fhs`), with a breakdown
of the former (h(k) and dh/dk from the model, diagonalization, curvature).
"""

from __future__ import annotations

import os
import timeit

import numpy as np

from keldysh import models
from semiclassics import geometry as geo

N_K = 400
REPEAT = 5


def best(fun) -> float:
    return min(timeit.repeat(fun, number=1, repeat=REPEAT))


def main() -> None:
    model = models.qwz(1.0)
    threads = {v: os.environ.get(v, "unset") for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(f"QWZ m=1, {N_K} x {N_K} grid, best of {REPEAT}; threads {threads}")
    c = geo.chern_numbers(model, N_K)
    c_fhs = geo.chern_numbers_fhs(model, N_K)
    t_tensor = best(lambda: geo.chern_numbers(model, N_K))
    t_fhs = best(lambda: geo.chern_numbers_fhs(model, N_K))
    print(f"chern_numbers      (curvature integral): {t_tensor:.3f} s   C = {np.array2string(c, precision=12)}")
    print(f"chern_numbers_fhs  (link variables)    : {t_fhs:.3f} s   C = {np.array2string(c_fhs, precision=12)}")

    k = geo.reciprocal_grid(model, N_K)
    h = model.bloch(k)
    parts = {
        "model.bloch": lambda: model.bloch(k),
        "model.bloch_derivative": lambda: model.bloch_derivative(k),
        "eigh": lambda: np.linalg.eigh(h),
        "berry_curvature (total)": lambda: geo.berry_curvature(model, k),
    }
    for name, fun in parts.items():
        print(f"  {name:24s} {best(fun):.3f} s")
    print(f"target < 1 s: curvature {'met' if t_tensor < 1 else 'NOT met'}, FHS {'met' if t_fhs < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
