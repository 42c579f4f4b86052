"""Benchmark: exact equilibrium current along B of the Weyl model at flux 1/200, converged k_z grid.

Model weyl(m=1, k0=pi/2, tilt=0.3, offset=0.2) (nodes at different energies, so the
zero is not a symmetry cancellation), mu = 0.05, T = 0.1, B along z at flux 1/200
per xy cell: per k_z slice one 400 x 400 magnetic-supercell Hamiltonian (one point
of the reduced magnetic zone = a 200 x 200 torus), its eigenvectors and the
diagonal of dH/dkz. The periodic k_z rule is doubled (16, 32, 64, ...; nested)
until two rules differ by < 1e-10. Target: <= 30 s on 2 cores.

Prints wall time, slices diagonalized, the current (zero by Bloch's theorem),
the last change of the rule, and the largest single-slice current (the scale the
cancellation works against).

Run: python bench/bench_weyl.py   (two threads diagonalize slices concurrently, each with
single-threaded BLAS: multithreaded OpenBLAS on batched 400 x 400 eigh was 5x slower here)
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from keldysh import UniformB, models  # noqa: E402
from keldysh.layered import equilibrium_current, slice_spectrum  # noqa: E402
from keldysh.spectral import FermiDirac  # noqa: E402

FLUX, MU, T, TOL, TARGET, WORKERS = 1 / 200, 0.05, 0.1, 1e-10, 30.0, 2


def main() -> None:
    model = models.weyl(1.0, np.pi / 2, tilt=0.3, offset=0.2)
    print(f"threads: OMP={os.environ['OMP_NUM_THREADS']} OPENBLAS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"{WORKERS} slice workers")
    print(f"weyl(m=1, k0=pi/2, tilt=0.3, offset=0.2), flux 1/200 (supercell 400 x 400), mu={MU}, T={T}, tol={TOL:g}")
    t0 = time.perf_counter()
    res = equilibrium_current(model, UniformB(FLUX), MU, T, tol=TOL, n_kz=16, workers=WORKERS)
    elapsed = time.perf_counter() - t0
    scale = np.abs(slice_spectrum(model, UniformB(FLUX), [0.5 * np.pi + 0.3]).current(FermiDirac(MU, T))).max()
    print(f"{'time [s]':>9} {'slices':>7} {'J_z':>11} {'last change':>12} {'|j(kz)| sample':>15} {'target':>7}")
    print(f"{elapsed:>9.2f} {res.n_kz:>7} {res.value:>11.2e} {res.change:>12.2e} {scale:>15.3f} "
          f"{'ok' if elapsed <= TARGET else 'SLOW':>7}")


if __name__ == "__main__":
    main()
