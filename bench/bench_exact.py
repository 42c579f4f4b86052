"""Speed of the exact solver's Chebyshev route (algorithm (b)) on the target cases.

Run single-threaded, as the targets are stated for one core:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/bench_exact.py

Each case starts cold (kernel and zero-field caches cleared), computes the kernel
with ``keldysh.exact.wigner_kernel`` at tol = 1e-11 and evaluates W on a 20 x 20
k grid. Printed: CPU seconds (kernel + W; CPU time is robust to other load on
the machine), wall seconds, the Chebyshev order M, the largest patch radius,
the kernel range S, the error estimate, and the target. Targets (one core): gapped two-band band projector
<= 1 s at flux 1e-3 and 1e-4 (no slower at the smaller flux), three-band band
projector <= 3 s, metal at T = 0.05 <= 5 s.
"""

from __future__ import annotations

import time

import numpy as np

from keldysh import UniformB, models
from keldysh.exact import clear_cache, wigner_kernel
from keldysh.spectral import FermiDirac, band_window

TOL = 1e-11


def k_grid(model, n=20):
    u = (np.arange(n) + 0.5) / n
    return np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2) @ model.reciprocal_vectors


def run(label, model, flux, func, target):
    """Cold kernel (cache cleared), then W on the k grid; returns the total CPU time."""
    clear_cache()
    k = k_grid(model)
    field = UniformB(flux)
    wall, cpu = time.perf_counter(), time.process_time()
    kern = wigner_kernel(model, field, func, TOL)
    t_kern = time.process_time() - cpu
    kern.wigner(k)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    ok = "ok" if cpu <= target else "SLOW"
    print(
        f"{label:<32} flux {flux:<7g} cpu {cpu:6.2f} s (kernel {t_kern:5.2f} + W {cpu - t_kern:4.2f}) "
        f"wall {wall:6.2f} s  target {target:g} s {ok:4}  "
        f"M {kern.order:4d}  radius {kern.radius:4d}  S {kern.range:4d}  error {kern.error:.1e}"
    )
    return cpu


def main() -> None:
    qwz = models.qwz(1.0, t0=0.3)
    three = models.three_band()
    times = {flux: run("qwz(1, t0=0.3) band 0 projector", qwz, flux, band_window(qwz, 0), 1.0) for flux in (1e-3, 1e-4)}
    print(f"  ratio cpu(1e-4) / cpu(1e-3) = {times[1e-4] / times[1e-3]:.2f} (target <= 1, up to timing noise)")
    for band in (1, 0):
        run(f"three_band band {band} projector", three, 1e-3, band_window(three, band), 3.0)
    run("qwz metal mu=-1.5 T=0.05", qwz, 1e-3, FermiDirac(-1.5, 0.05), 5.0)
    run("qwz metal mu=2.0 T=0.05", qwz, 1e-3, FermiDirac(2.0, 0.05), 5.0)


if __name__ == "__main__":
    main()
