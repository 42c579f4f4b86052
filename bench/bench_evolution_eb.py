"""CPU time and peak memory of the exact evolution in uniform E and B together, swept towards hbar -> 0.

The scaling of issue 11 (part 3): B, E, T and the physical time are held fixed as hbar -> 0, so on
the lattice the flux per cell and the potential drop per cell are proportional to lambda (= hbar)
and the evolution time in lattice units to 1/lambda. Here lambda is the flux per cell itself:

    flux = lambda,   qE = lambda (cos 0.3, sin 0.3) / 2,   ramp = 0.1 T_c,   times = (1/4, 1/2, 3/4, 1) T_c,

with T_c = 2 pi m_c / beta the cyclotron period of the Fermi contour (m_c = (1/2 pi) dA/d eps from the
zero-field band), for the QWZ metal qwz(m=1, t0=0.3), mu = -2.0 in the lower band (a pocket around
k = 0), at temperature T. For each point the script prints the CPU seconds of the process
(time.process_time, one BLAS thread) and the peak of the memory allocated by numpy/scipy during it
(tracemalloc), with the box radius (kernel route) or reduced mesh (supercell route) and the error
estimates of the current and of W.

    python bench/bench_evolution_eb.py                       # kernel route, T = 0.2 and 0.1
    python bench/bench_evolution_eb.py --method supercell --fluxes 0.04 0.02 0.01
    python bench/bench_evolution_eb.py --fluxes 0.005 --T 0.1   # one point

Target: the hardest point of the default sweep (flux 1/200 at T = 0.1 through a whole cyclotron
period) in about 10 s of one core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

from keldysh import models  # noqa: E402
from keldysh.exact import evolved_state  # noqa: E402
from keldysh.fields import UniformB, UniformE  # noqa: E402
from keldysh.static.budget import Budget  # noqa: E402

TARGET = 10.0
MODEL = models.qwz(1.0, t0=0.3)
MU = -2.0
DIRECTION = np.array([math.cos(0.3), math.sin(0.3)])


def cyclotron_mass(model, mu: float, n_k: int = 400) -> float:
    """m_c = (1/2 pi) dA/d eps at eps = mu for the lower band (A: area of {eps < mu}), by a centred difference."""
    u = (np.arange(n_k) + 0.5) / n_k * 2 * np.pi - np.pi
    k = np.stack(np.meshgrid(u, u, indexing="ij"), axis=-1).reshape(-1, 2)
    e = np.linalg.eigvalsh(model.bloch(k))[:, 0]
    cell = (2 * np.pi / n_k) ** 2
    d = 0.02
    area = [cell * np.count_nonzero(e < mu + s) for s in (-d, d)]
    return (area[1] - area[0]) / (2 * d) / (2 * np.pi)


def point(flux: float, T: float, method: str, tol: float) -> None:
    m_c = cyclotron_mass(MODEL, MU)
    beta = 2 * math.pi * flux
    period = 2 * math.pi * m_c / beta
    fields = (UniformB(flux), UniformE(tuple(0.5 * flux * DIRECTION), ramp=0.1 * period))
    times = period * np.array([0.25, 0.5, 0.75, 1.0])
    tracemalloc.start()
    t0 = time.process_time()
    state = evolved_state(MODEL, fields, MU, T, times, tol, method=method, budget=Budget(memory_gb=8, seconds=1e5))
    cpu = time.process_time() - t0
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    size = (
        f"box radius {state.info['radius'][-1]:4d} (initial kernel {state.info['initial_range']})"
        if method == "kernel"
        else f"mesh {state.info['mesh']}^2 of q = {state.info['q']}"
    )
    print(
        f"flux 1/{round(1 / flux):5d}  T={T:4.2f}  T_c={period:7.1f}  {method:9s}  CPU {cpu:8.2f} s  "
        f"peak {peak:8.1f} MB  {size}  |j| {np.abs(state.current[-1]).max():.3e}  "
        f"err j {state.current_error.max():.1e}  err W {state.wigner_error.max():.1e}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fluxes", type=float, nargs="+", default=[1 / 25, 1 / 50, 1 / 100, 1 / 200])
    parser.add_argument("--T", type=float, nargs="+", default=[0.2, 0.1])
    parser.add_argument("--method", default="kernel", choices=["kernel", "supercell"])
    parser.add_argument("--tol", type=float, default=1e-8)
    args = parser.parse_args()
    print(f"QWZ metal mu={MU}, m_c={cyclotron_mass(MODEL, MU):.3f}, qE = flux/2, tol {args.tol:g}, one core "
          f"(target {TARGET:.0f} s at the hardest point)")
    for T in args.T:
        for flux in args.fluxes:
            point(flux, T, args.method, args.tol)


if __name__ == "__main__":
    main()
