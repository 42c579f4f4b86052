"""Benchmark of route (a): W(k) of a band projector by magnetic-supercell diagonalization.

Model qwz(1.0, 0.3), lower band (Chern number -1), flux 1/100 and 1/400, kernel on the box
|R_i| <= 34 (the projector kernel decays like exp(-0.75 |R|), so the truncated tail is ~1e-14)
converged to tol = 1e-11 per entry. Single-threaded BLAS. Prints wall time, final mesh, number
of diagonalizations, the last mesh change, the largest entry on the box boundary (truncation
scale) and the Streda check Tr Pi(R = 0) - (1 + flux).

Run: python bench/bench_supercell.py
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import itertools  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from keldysh import UniformB, models  # noqa: E402
from keldysh.spectral import band_window  # noqa: E402
from keldysh.static.supercell import converged_kernel, rational_flux  # noqa: E402
from keldysh.wigner import wigner_from_kernel  # noqa: E402

RADIUS = 34


def main() -> None:
    model = models.qwz(1.0, 0.3)
    window = band_window(model, 0)
    cells = np.array(sorted(itertools.product(range(-RADIUS, RADIUS + 1), repeat=2), key=lambda R: R != (0, 0)))
    boundary = np.abs(cells).max(axis=1) == RADIUS
    k = np.random.default_rng(0).uniform(-np.pi, np.pi, size=(64, 2))
    print(f"threads: OMP={os.environ['OMP_NUM_THREADS']} OPENBLAS={os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"qwz(1.0, 0.3) lower band, {len(cells)} cells (|R_i| <= {RADIUS}), tol 1e-11")
    print(f"{'flux':>7} {'qN':>5} {'mesh':>12} {'eigh':>5} {'time [s]':>9} {'last change':>12} "
          f"{'max|Pi| edge':>13} {'Streda err':>11}")
    for flux in (1 / 100, 1 / 400):
        _, q = rational_flux(flux)
        t0 = time.perf_counter()
        res = converged_kernel(model, UniformB(flux), window, cells, tol=1e-11)
        wigner_from_kernel(model.lattice_vectors, model.positions, cells, res.values, k)
        elapsed = time.perf_counter() - t0
        edge = np.abs(res.values[boundary]).max()
        streda = abs(np.trace(res.values[0]) - (1 + flux))
        n_eigh = math.prod(res.mesh) // q
        print(f"1/{q:<5} {q * model.norbs:>5} {str(res.mesh):>12} {n_eigh:>5} {elapsed:>9.2f} "
              f"{res.change:>12.2e} {edge:>13.2e} {streda:>11.2e}")


if __name__ == "__main__":
    main()
