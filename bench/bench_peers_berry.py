"""Peer benchmark, semiclassical side: Chern number / AHC of the Haldane model, ours vs PythTB and WannierBerri.

Model ``keldysh.models.haldane()`` (t1 = 1, t2 = 0.15, phi = pi/2, M = 0: gap
(-0.78, 0.78) around E = 0, occupied band 0 with C = +1), Fermi level 0.
The anomalous Hall conductivity of the filled band is sigma_xy = C e^2/h up to
the sign convention, so every route is reported as the Chern number C of the
occupied band it implies, and its accuracy as |C - 1|.

Routes, each on the same uniform n x n grid of the reciprocal cell:

- ours, curvature: :func:`semiclassics.geometry.chern_numbers` (analytic Kubo
  Berry curvature of every band, batched, summed over the grid);
- ours, links: :func:`semiclassics.geometry.chern_numbers_fhs` (Fukui-Hatsugai-Suzuki);
- PythTB 1.8: ``tb_model`` with the same hoppings and orbital positions,
  ``wf_array(model, [n + 1, n + 1]).solve_on_grid([0, 0])`` then
  ``berry_flux([0]) / 2 pi`` (links, the same method as FHS);
- WannierBerri: ``System_R.from_pythtb`` of that model, ``Grid(NKFFT=(n, n, 1),
  NKdiv=1)``, ``calculators.static.AHC(Efermi=[0], constant_factor=1)``, run
  serially without symmetry reduction; its AHC_z = -int [dk] Omega f comes out
  as +C / (2 pi c) with c = 1 the (fictitious) out-of-plane lattice constant
  (WannierBerri's curvature sign is opposite to ours; the magnitude agrees with
  our curvature sum to all printed digits), so C = 2 pi AHC_z.
  The Haldane hoppings are checked to reproduce our h(k) spectrum.

Accuracy: the curvature sum converges exponentially in n (periodic trapezoid
rule); the link methods give an integer up to roundoff once the grid resolves
the curvature. Ratios: peer time / ours of the same kind on the same grid, and
at equal accuracy (smallest grid of the list reaching |C - 1| <= eps).

Peers are not dependencies of the package (bench/README.md); run single-core::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/bench_peers_berry.py

Times are CPU seconds of the process (``time.process_time``, one thread), best of
``--repeat`` (single run above 20 s).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import platform
import tempfile
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import pythtb  # noqa: E402

with contextlib.redirect_stdout(io.StringIO()):
    import wannierberri as wb  # noqa: E402

from keldysh import models  # noqa: E402
from semiclassics import geometry as geo  # noqa: E402
from timing import best_of  # noqa: E402  (bench/timing.py)

MODEL = models.haldane()
C_EXACT = 1.0
E_FERMI = 0.0


def pythtb_model() -> pythtb.tb_model:
    """The Haldane model as a PythTB tb_model: set_hop(T_R[a, b], a, b, R) = <0 a|H|R b> for half of the R."""
    tb = pythtb.tb_model(2, 2, MODEL.lattice_vectors.tolist(), MODEL.positions.tolist())
    tb.set_onsite(np.real(np.diag(MODEL.hoppings[(0, 0)])).tolist())
    for R, T in MODEL.hoppings.items():
        for a in range(MODEL.norbs):
            for b in range(MODEL.norbs):
                if T[a, b] == 0 or (R == (0, 0) and a >= b) or (R != (0, 0) and R < (0, 0)):
                    continue
                tb.set_hop(complex(T[a, b]), a, b, list(R))
    return tb


def check_model(tb: pythtb.tb_model) -> float:
    """Max spectrum difference between PythTB's and our h(k) on a few k-points."""
    frac = np.random.default_rng(0).random((50, 2))
    e_p = tb.solve_all(frac.tolist()).T  # (nk, nbands)
    e_o = np.linalg.eigvalsh(MODEL.bloch(frac @ MODEL.reciprocal_vectors))
    return float(np.abs(e_p - e_o).max())


def pythtb_chern(tb: pythtb.tb_model, n: int) -> float:
    wf = pythtb.wf_array(tb, [n + 1, n + 1])
    wf.solve_on_grid([0.0, 0.0])
    return float(wf.berry_flux([0]) / (2 * np.pi))


def wb_system(tb: pythtb.tb_model):
    with contextlib.redirect_stdout(io.StringIO()):
        return wb.system.System_R.from_pythtb(tb, berry=True)


def wb_chern(system, n: int) -> float:
    grid = wb.Grid(system, NKFFT=(n, n, 1), NKdiv=(1, 1, 1))
    calc = {"ahc": wb.calculators.static.AHC(Efermi=np.array([E_FERMI]), constant_factor=1.0, tetra=False)}
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp), contextlib.redirect_stdout(io.StringIO()):
        res = wb.run(system, grid=grid, calculators=calc, parallel=False, use_irred_kpt=False,
                     symmetrize=False, print_Kpoints=False, file_Klist_path=tmp)
    ahc_z = float(res.results["ahc"].data[0, 2])
    return 2 * np.pi * ahc_z  # WannierBerri's sign: AHC_z = +C / (2 pi c) here (magnitude checked against ours)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grids", type=int, nargs="*", default=[8, 12, 16, 25, 50, 100, 200, 400])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    threads = {v: os.environ.get(v, "unset") for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(f"{time.strftime('%Y-%m-%d')} {platform.machine()} {os.cpu_count()} cpus; threads {threads}")
    print(f"pythtb {pythtb.__version__}, wannierberri {wb.__version__}, numpy {np.__version__}")
    tb = pythtb_model()
    print(f"Haldane t1=1 t2=0.15 phi=pi/2 M=0; PythTB model spectrum vs ours: max diff {check_model(tb):.1e}")
    t_sys, system = best_of(lambda: wb_system(tb), args.repeat, clock=time.process_time)
    print(f"WannierBerri System_R.from_pythtb: {t_sys:.3g} s (once per model, not counted below)")

    routes = {
        "ours curvature": lambda n: float(geo.chern_numbers(MODEL, n)[0]),
        "ours links (FHS)": lambda n: float(geo.chern_numbers_fhs(MODEL, n)[0]),
        "pythtb berry_flux": lambda n: pythtb_chern(tb, n),
        "wannierberri AHC": lambda n: wb_chern(system, n),
    }
    base = {"pythtb berry_flux": "ours links (FHS)", "wannierberri AHC": "ours curvature"}
    res: dict[tuple[str, int], tuple[float, float]] = {}
    print(f"\n{'grid':>5s}  {'route':20s} {'time':>10s} {'ratio':>8s}  {'C':>18s} {'|C-1|':>8s}")
    for n in args.grids:
        for name, fun in routes.items():
            t, c = best_of(lambda: fun(n), args.repeat, clock=time.process_time)
            res[name, n] = (t, c)
            ratio = f"{t / res[base[name], n][0]:.3g}" if name in base else "1"
            print(f"{n:5d}  {name:20s} {t:9.3g}s {ratio:>8s}  {c:18.14f} {abs(c - C_EXACT):8.1e}", flush=True)

    print("\nequal accuracy: smallest grid of the list with |C - 1| <= eps, its time, ratio to the faster ours")
    for eps in (1e-3, 1e-6, 1e-10):
        best_ours = None
        line = []
        for name in routes:
            ok = [n for n in args.grids if abs(res[name, n][1] - C_EXACT) <= eps]
            if not ok:
                line.append((name, None, None))
                continue
            t = res[name, ok[0]][0]
            line.append((name, ok[0], t))
            if name.startswith("ours") and (best_ours is None or t < best_ours):
                best_ours = t
        for name, n, t in line:
            if n is None:
                print(f"  eps={eps:.0e}  {name:20s} not reached on {args.grids}")
            else:
                print(f"  eps={eps:.0e}  {name:20s} n={n:4d} {t:9.3g}s  ratio {t / best_ours:.3g}")


if __name__ == "__main__":
    main()
