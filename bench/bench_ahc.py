"""Eq. 35 (intrinsic AHC) on a 400 x 400 grid of the Haldane model, side by side with WannierBerri.

WannierBerri (``pip install wannierberri``; it needs numba) is a peer used only
here, never at runtime or in the tests. Both codes get the same tight-binding
model (hoppings <r|H|r+R> = T_R and the orbital positions of
``keldysh.models.haldane``), the same uniform grid and the same T = 0 Fermi
sea, one core each (BLAS, numba and WannierBerri run serially). Printed per
case: wall times, the two conductivities in q^2/h, their difference, and the
error of each against our converged reference (a gap: -C exactly; a metal:
the 1600 x 1600 grid), so the speed ratio is at equal accuracy.

WannierBerri's AHC is -e^2/hbar int [dk] Omega f in S/m for a 3D cell; the 2D
model is embedded with a3 = 1 Angstrom, so sigma_2D / (e^2/h) =
sigma_3D * 1e-10 m / (e^2/h in S).

    python bench/bench_ahc.py [--grid 400] [--nkfft 100]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import functools  # noqa: E402
import logging  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402

from keldysh import models  # noqa: E402
from semiclassics.predictions import fermi  # noqa: E402
from timing import best_of  # noqa: E402  (bench/timing.py)
from semiclassics.transport import hall_conductivity  # noqa: E402

#: e^2/h in siemens (CODATA 2018, exact).
E2_OVER_H = 3.874045864e-5
#: (label, chemical potential): mu in the gap and in the upper band.
CASES = [("gap, mu=0", 0.0), ("metal, mu=1.0", 1.0)]


def wannierberri_system(wb, model):
    """The keldysh TightBinding model as a WannierBerri System_R (a3 = 1 Angstrom, not periodic along z)."""
    lattice = np.eye(3)
    lattice[:2, :2] = model.lattice_vectors
    centers = np.zeros((model.norbs, 3))
    centers[:, :2] = model.positions
    ham = {
        (R[0], R[1], 0): {(a, b): T[a, b] for a in range(model.norbs) for b in range(model.norbs) if T[a, b] != 0}
        for R, T in model.hoppings.items()
    }
    system = wb.system.System_R.from_sparse(real_lattice=lattice, wannier_centers_red=centers, matrices={"Ham": ham})
    system.periodic = np.array([True, True, False])
    return system


def wannierberri_ahc(wb, system, mu: float, grid: int, nkfft: int, workdir: str) -> float:
    """sigma^xy in units of e^2/h from WannierBerri's AHC calculator (no external terms: a pure TB model)."""
    calc = {"ahc": wb.calculators.static.AHC(Efermi=np.array([mu]), tetra=False, kwargs_formula={"external_terms": False})}
    res = wb.run(
        system,
        grid=wb.Grid(system, NK=[grid, grid, 1], NKFFT=[nkfft, nkfft, 1]),
        calculators=calc,
        parallel=False,
        use_irred_kpt=False,
        symmetrize=False,
        fout_name=os.path.join(workdir, "ahc"),
        print_progress_step_time=1e9,
    )
    return float(res.results["ahc"].data[0, 2]) * 1e-10 / E2_OVER_H


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=400)
    parser.add_argument(
        "--nkfft", type=int, default=100,
        help="WannierBerri FFT sub-grid (100 was its fastest of 20, 50, 100, 200, 400 and its recommendation here)",
    )
    args = parser.parse_args()
    try:
        import wannierberri as wb
    except ImportError as exc:
        raise SystemExit(f"WannierBerri is not installed ({exc}); `pip install wannierberri numba` to run this benchmark")
    logging.getLogger("wannierberri").setLevel(logging.WARNING)
    model = models.haldane()
    system = wannierberri_system(wb, model)
    print(f"Haldane (t2=0.15, phi=pi/2), {args.grid} x {args.grid} grid, T = 0, one core")
    with tempfile.TemporaryDirectory() as workdir:
        for label, mu in CASES:
            f = functools.partial(fermi, mu=mu, T=0.0)
            reference = -1.0 if mu == 0.0 else hall_conductivity(model, f, 1600).sum()
            t_ours, ours = best_of(lambda: hall_conductivity(model, f, args.grid).sum())
            t_peer, peer = best_of(lambda: wannierberri_ahc(wb, system, mu, args.grid, args.nkfft, workdir))
            print(
                f"{label:>14}: Eq. 35 {ours:+.12f} in {t_ours:6.2f} s | WannierBerri {peer:+.12f} in {t_peer:6.2f} s | "
                f"|diff| {abs(ours - peer):.1e}, errors vs reference {abs(ours - reference):.1e} / {abs(peer - reference):.1e} "
                f"| speed-up {t_peer / t_ours:.1f}x"
            )


if __name__ == "__main__":
    main()
