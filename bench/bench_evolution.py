"""Wall time of the exact E-field evolution: a two-band 200 x 200 k-grid through a ramp of 40 inverse gaps.

Target: <= 10 s on one core (BLAS threads are pinned to 1 below). For each
model and propagation tolerance, prints the wall time, the step, the pilot's
error estimate and the true error of the propagators on 256 k-points of the
grid (against the same propagation with a 4x finer step).

    python bench/bench_evolution.py [--grid 200] [--tol 1e-6 1e-8 1e-10]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from keldysh import models  # noqa: E402
from keldysh.dynamics.evolution import propagate  # noqa: E402
from keldysh.fields import UniformE  # noqa: E402

TARGET = 10.0
#: (label, model, smallest direct gap)
MODELS = [
    ("qwz(m=1, t0=0.3)", models.qwz(1.0, t0=0.3), 2.0),
    ("haldane(t2=0.15, phi=pi/2)", models.haldane(), 0.9 * math.sqrt(3)),
]


def bench(label: str, model, gap: float, grid: int, tol: float) -> None:
    s = np.arange(grid) / grid
    k = np.stack(np.meshgrid(s, s, indexing="ij"), axis=-1) @ model.reciprocal_vectors
    tau = 40.0 / gap
    field = UniformE(0.02 * np.array([math.cos(0.3), math.sin(0.3)]), ramp=tau, profile="erf")
    t0 = time.perf_counter()
    evo = propagate(model, field, k, [tau], tol=tol)
    wall = time.perf_counter() - t0
    sample = np.random.default_rng(0).choice(grid * grid, 256, replace=False)
    flat = k.reshape(-1, 2)[sample]
    ref = propagate(model, field, flat, [tau], dt=evo.step / 4).U
    true_error = float(np.max(np.abs(evo.U.reshape(1, -1, 2, 2)[:, sample] - ref)))
    steps = math.ceil(tau / evo.step)
    print(
        f"{label:>28} tau={tau:5.1f} tol={tol:7.0e}: {wall:5.2f} s (target {TARGET:.0f} s, ratio {wall / TARGET:.2f}), "
        f"{steps} steps, estimate {evo.error_estimate:.1e}, true error {true_error:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=200)
    parser.add_argument("--tol", type=float, nargs="+", default=[1e-6, 1e-8, 1e-10])
    args = parser.parse_args()
    print(f"{args.grid} x {args.grid} canonical k-points, ramp of 40 inverse gaps (erf), one core")
    for label, model, gap in MODELS:
        for tol in args.tol:
            bench(label, model, gap, args.grid, tol)


if __name__ == "__main__":
    main()
