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

Then the CPU seconds (time.process_time, one BLAS thread) of every sweep point of the three
issue-6 comparisons of the default suite, chiral_anomaly_E[weyl] (E sweep of the anomaly at flux
1/16), chiral_anomaly_regimes[weyl] (the anomaly from the quantum limit into the semiclassical
regime, flux 1/8 .. 1/48; target <= 10 CPU s in all) and density_quantum_limit[weyl] (quantum-limit
map, flux 1/8 .. 1/64): exact side,
prediction, its coarse quadrature and the regime annotations, evaluated in sweep order in one
process as a suite worker would (the first point of a comparison carries its per-process set-up,
e.g. the Eq. 17 quadrature). Target: a few CPU seconds per comparison.

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
from validation import get  # noqa: E402

FLUX, MU, T, TOL, TARGET, WORKERS = 1 / 200, 0.05, 0.1, 1e-10, 30.0, 2
SUITE_POINTS = ("chiral_anomaly_E[weyl]", "chiral_anomaly_regimes[weyl]", "density_quantum_limit[weyl]")


def suite_points() -> None:
    """CPU seconds of every sweep point of the issue-6 comparisons (exact, prediction, floor, annotations)."""
    for name in SUITE_POINTS:
        comparison = get(name)
        model = comparison.build_model()
        print(f"{name}: {comparison.sweep.describe()}")
        print(f"{'value':>9} {'cpu [s]':>8} {'residual':>10}")
        total = 0.0
        for value in comparison.sweep.values:
            field = comparison.sweep.field(value)
            t0 = time.process_time()
            exact = np.asarray(comparison.exact(model, field, tol=comparison.exact_tol))
            predicted = np.asarray(comparison.prediction(model, field))
            comparison.prediction_floor(model, field, predicted)
            comparison.annotations(model, field)
            cpu = time.process_time() - t0
            total += cpu
            print(f"{value:>9.4g} {cpu:>8.2f} {float(np.max(np.abs(exact - predicted))):>10.2e}")
        print(f"{'total':>9} {total:>8.2f}")


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
    suite_points()


if __name__ == "__main__":
    main()
