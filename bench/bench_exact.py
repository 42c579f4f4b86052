"""Speed of the exact solver's Chebyshev route (algorithm (b)) on the target cases.

Runs single-threaded, as the targets are stated for one core (the BLAS thread
variables default to 1 here):

    python bench/bench_exact.py

Each case starts cold (kernel and zero-field caches cleared), computes the kernel
with ``keldysh.exact.wigner_kernel`` at tol = 1e-11 and evaluates W on a 20 x 20
k grid; best of ``REPEAT`` cold runs. Printed: CPU seconds (kernel + W; CPU time
is robust to other load on the machine), wall seconds, the Chebyshev order M
(of the series left after the Matsubara poles for the metals), the largest
patch or resolvent-window radius, the kernel range S, the error estimate, and
the target. Targets (one core): gapped two-band band projector
<= 1 s at flux 1e-3 and 1e-4 (no slower at the smaller flux), three-band band
projector <= 3 s, metal at T = 0.05 <= 5 s.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core, before numpy loads BLAS
    os.environ.setdefault(_var, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from keldysh import UniformB, models  # noqa: E402
from keldysh.exact import clear_cache, wigner_kernel  # noqa: E402
from keldysh.spectral import FermiDirac, band_window  # noqa: E402

TOL = 1e-11
REPEAT = 3


def k_grid(model, n=20):
    u = (np.arange(n) + 0.5) / n
    return np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2) @ model.reciprocal_vectors


def cold(model, field, func, k):
    """(cpu, cpu of the kernel, wall, kernel) of one cold run: kernel (caches cleared), then W on k."""
    clear_cache()
    wall, cpu = time.perf_counter(), time.process_time()
    kern = wigner_kernel(model, field, func, TOL)
    t_kern = time.process_time() - cpu
    kern.wigner(k)
    return time.process_time() - cpu, t_kern, time.perf_counter() - wall, kern


def run(label, model, flux, func, target):
    """Best of REPEAT cold runs (CPU time; wall time of its own best); returns the best total CPU time."""
    runs = [cold(model, UniformB(flux), func, k_grid(model)) for _ in range(REPEAT)]
    cpu, t_kern, _, kern = min(runs, key=lambda one: one[0])
    wall = min(one[2] for one in runs)
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
