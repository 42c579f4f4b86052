"""Peer benchmark, exact side: the T = 0 Fermi projector column of QWZ in a field, ours vs Kwant.

The task: the columns P|tau_b> (b = the two home-cell orbitals) of the Fermi
projector P = theta(mu - H) of the Peierls Hamiltonian on the infinite square
lattice, dressed with the Wilson line into the kernel P~(R_s + tau_a, tau_b)
whose Fourier sum is the Wigner function W_P(k). Model ``qwz(1.0, t0=0.3)``
(bands [-2.4, -1.0] and [0.4, 3.6]), mu = -0.3 in the gap, T = 0, flux 1e-3
and 1/100 per cell.

Routes (each timed at EQUAL measured accuracy):

- ours: :func:`keldysh.exact.wigner_kernel` with ``FermiDirac(mu, 0)`` at
  ``tol = eps`` (Chebyshev recursion on the light cone of the home cell, no
  finite system; its a-priori error estimate is printed next to the measured one).
  At flux 1/100 also ``method="supercell"`` (magnetic supercell, dense per k).
- Kwant, dense: the finite (2L+1) x (2L+1) system built with ``kwant.Builder``
  with the SAME Peierls phases (``UniformB.phase``; the finalized Hamiltonian is
  checked to equal ``keldysh.static.patch.peierls_patch`` entry by entry), then
  ``scipy.linalg.eigh(H, subset_by_value=(-inf, mu))`` on
  ``hamiltonian_submatrix`` and P e_home = V V^dagger e_home. Accuracy is set by
  the boundary (the open edges carry chiral edge states in the gap, C = -1): the
  smallest L whose bulk entries reach eps is found by a scan in L.
- Kwant, KPM: ``kwant.kpm.SpectralDensity`` with the home-cell ``LocalVectors``,
  an operator returning the vector entries of the comparison region, the
  default Jackson kernel, and ``integrate(fermi_distribution(E, mu, 0))``; the
  number of moments is raised until the accuracy is met, on a system large
  enough that its finite-size error is below eps / 4.

Accuracy: every route's kernel is compared with the reference (ours at tol
1.5e-13; cross-checked against the dense finite system and, at flux 1/100, the
supercell route) on all cells |R_s|_inf <= S_ref (the reference range), missing
entries counting as zero. Two figures: ``W err`` = max over k (FFT grid) and
elements of |Delta W(k)|, the quantity our ``tol`` controls and the
equal-accuracy criterion, and ``max`` = the largest kernel-entry error.

Peers are not dependencies of the package: install them with
``pip install -r bench/peers/requirements.txt`` (see bench/README.md), then run
single-core::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/bench_peers_exact.py [--full]

Timings are CPU seconds of the process (``time.process_time``, one BLAS thread),
the best of ``--repeat`` runs for runs under 20 s, single runs above. Ours is timed
cold (every cache cleared) and as a further field of a sweep over the same model
(its zero-field planning cached, no kernel reused: ``ours chebyshev (sweep)``); ``~`` marks figures extrapolated (dense beyond ``--lmax``: error by a
log-linear fit in L, time by a cubic fit in the dimension; KPM below
``--kpm-min``: moments by its power law, time proportional to moments x dimension).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
import warnings

import numpy as np
import scipy.linalg

warnings.filterwarnings("ignore", message="MUMPS is not available")

import kwant  # noqa: E402
import kwant.kpm  # noqa: E402
from timing import best_of  # noqa: E402  (bench/timing.py)

from keldysh import UniformB, models  # noqa: E402
from keldysh.exact import clear_cache, wigner_kernel  # noqa: E402
from keldysh.spectral import FermiDirac  # noqa: E402
from keldysh.static.patch import dress, peierls_patch  # noqa: E402

MODEL = models.qwz(1.0, t0=0.3)
MU = -0.3
GAUGE = "landau_x"
REF_TOL = 1.5e-13  # near the roundoff floor of the fit (tol >~ 1.1e-13): a reference for the 1e-12 target
KPM_MEMORY = 2.0e9  # bytes allowed for kwant's moment arrays (the region is split into chunks beyond)
CLOCK = time.process_time  # CPU seconds of this process (one BLAS thread): robust to other load on the machine


# --------------------------------------------------------------------------- ours


def ours(field: UniformB, tol: float, method: str = "chebyshev", planning: bool = True):
    """Ours from a cold start (``planning=True``: nothing cached) or with the model's zero-field planning
    cached (``planning=False``: band edges, zero-field ranges and velocities kept, as for a further field
    of a sweep over one model); never a cached kernel."""
    clear_cache(planning)
    return wigner_kernel(MODEL, field, FermiDirac(MU, 0.0), tol, method)


# --------------------------------------------------------------------------- kwant


def kwant_system(field: UniformB, L: int, peierls: bool = False):
    """Finite square (2L+1)^2 system; <r1|H|r2> = T_{r2-r1} exp(i phi(r1, r2)) with UniformB.phase.

    ``peierls=True`` instead takes the phase from a parameter ``peierls(s1, s2)``
    (kwant's own gauge module, for the cross-check).
    """
    if np.any(MODEL.positions != 0) or not np.allclose(MODEL.lattice_vectors, np.eye(2)):
        raise ValueError("this builder is for square-lattice models with orbitals at the cell origin")
    lat = kwant.lattice.square(norbs=MODEL.norbs)
    syst = kwant.Builder()
    syst[(lat(x, y) for x in range(-L, L + 1) for y in range(-L, L + 1))] = MODEL.hoppings[(0, 0)]
    A = MODEL.lattice_vectors

    def hop(s1, s2):
        R = tuple(int(v) for v in s2.tag - s1.tag)
        return MODEL.hoppings[R] * np.exp(1j * field.phase(A, np.asarray(s1.pos), np.asarray(s2.pos), GAUGE))

    def hop_kwant_gauge(s1, s2, peierls):
        return MODEL.hoppings[tuple(int(v) for v in s2.tag - s1.tag)] * peierls(s1, s2)

    for R in MODEL.hoppings:
        if R > (0, 0):  # kwant adds the Hermitian conjugate
            syst[kwant.builder.HoppingKind(R, lat)] = hop_kwant_gauge if peierls else hop
    return syst.finalized()


def home_rows(fsyst) -> np.ndarray:
    tags = np.array([s.tag for s in fsyst.sites])
    i = int(np.nonzero(np.all(tags == 0, axis=1))[0][0])
    return MODEL.norbs * i + np.arange(MODEL.norbs)


def region_rows(fsyst, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask over ``cells`` inside the system, their rows (n_inside * N,) in kwant's order)."""
    index = {tuple(int(v) for v in s.tag): i for i, s in enumerate(fsyst.sites)}
    pos = np.array([index.get(tuple(int(v) for v in c), -1) for c in cells])
    inside = pos >= 0
    rows = (MODEL.norbs * pos[inside][:, None] + np.arange(MODEL.norbs)).ravel()
    return inside, rows


def to_kernel(field: UniformB, cells, inside, values_inside) -> np.ndarray:
    """Dressed kernel (nS, N, N) from column entries (n_inside * N, N) on ``cells[inside]``."""
    N = MODEL.norbs
    vals = np.zeros((len(cells), N, N), dtype=complex)
    vals[inside] = np.asarray(values_inside).reshape(-1, N, N)
    return dress(field, GAUGE, MODEL.lattice_vectors, MODEL.positions, cells, vals)


def dense_columns(fsyst) -> np.ndarray:
    """P|home> on the whole finite system by dense diagonalization (occupied states only)."""
    H = fsyst.hamiltonian_submatrix(sparse=False)
    _, V = scipy.linalg.eigh(H, subset_by_value=(-np.inf, MU))
    return V @ V[home_rows(fsyst)].conj().T


def kpm_columns(fsyst, rows: np.ndarray, moments: int, bounds=None, memory: float = KPM_MEMORY) -> np.ndarray:
    """P|home> on ``rows`` by kwant.kpm (Jackson kernel), the rows split into chunks to bound memory.

    kwant keeps every moment of the operator output (moments x vectors x rows)
    and several copies of it in the FFT; ``memory`` (bytes) bounds that by
    running the recursion once per chunk of rows.
    """
    lat = fsyst.sites[0].family
    chunk = max(64, int(memory / (moments * MODEL.norbs * 16 * 6)))
    out = []
    for start in range(0, len(rows), chunk):
        sel = rows[start : start + chunk]
        sd = kwant.kpm.SpectralDensity(
            fsyst,
            operator=lambda bra, ket, sel=sel: ket[sel],
            vector_factory=kwant.kpm.LocalVectors(fsyst, where=[lat(0, 0)]),
            num_vectors=None,
            num_moments=moments,
            mean=False,
            bounds=bounds,
        )
        bounds = sd.bounds
        col = np.asarray(sd.integrate(lambda E: kwant.kpm.fermi_distribution(E, MU, 0.0)))  # (n_vectors, len(sel))
        out.append(col.T)
    return np.concatenate(out)


# --------------------------------------------------------------------------- accuracy


def errors(K: np.ndarray, ref: np.ndarray, cells: np.ndarray) -> tuple[float, float]:
    """(W error, max entry error) of the kernel K against ``ref`` on ``cells``.

    W error = max over k and elements of |W_K(k) - W_ref(k)| (the quantity our
    ``tol`` controls; QWZ has tau = 0, so W(k) = sum_s exp(-i k.R_s) K_s), on an
    FFT grid of n_k >= 4 S_ref + 8 points per direction.
    """
    d = K - ref
    S = int(np.abs(cells).max())
    n = 1 << int(math.ceil(math.log2(4 * S + 8)))
    grid = np.zeros((n, n) + d.shape[1:], dtype=complex)
    grid[cells[:, 0] % n, cells[:, 1] % n] = d
    W = np.fft.fft2(grid, axes=(0, 1))
    return float(np.abs(W).max()), float(np.abs(d).max())


def check_hamiltonian(field: UniformB, L: int = 6) -> None:
    fsyst = kwant_system(field, L)
    H = fsyst.hamiltonian_submatrix(sparse=True).tocsr()
    patch = peierls_patch(MODEL, field, L, GAUGE)
    tags = np.array([s.tag for s in fsyst.sites])
    perm = patch.index(tags[:, None, :], np.arange(MODEL.norbs)[None, :]).ravel()
    diff = abs(H - patch.H.tocsr()[perm][:, perm]).max()
    # kwant's own gauge (magnetic_gauge, field in flux quanta per unit area): same spectrum up to the sign convention
    fk = kwant_system(field, L, peierls=True)
    e_ours = np.linalg.eigvalsh(H.toarray())
    # kwant's phase is exp(i pi int B) for a hopping (a <- b): B_kwant = -2 flux is our field
    phases = kwant.physics.magnetic_gauge(fk)(-2 * field.flux)
    e_k = np.linalg.eigvalsh(fk.hamiltonian_submatrix(params=dict(peierls=phases)))
    spec = float(np.abs(e_k - e_ours).max())
    print(
        f"  check L={L}: kwant H (UniformB.phase) vs peierls_patch: max |dH| = {diff:.1e}; "
        f"spectrum with kwant's magnetic_gauge(B=-2 flux) differs by {spec:.1e}"
    )


# --------------------------------------------------------------------------- driver


def fmt_t(t: float, approx: bool = False) -> str:
    return ("~" if approx else "") + (f"{t:.3g} s" if t < 100 else f"{t:.0f} s")


def run_flux(flux: float, targets, lmax: int, repeat: int, supercell: bool, kpm_min: float) -> list[dict]:
    field = UniformB(flux)
    print(f"\n=== flux {flux:g} per cell (beta = {field.beta():.4g}), mu = {MU}, T = 0 ===")
    check_hamiltonian(field)
    ref = ours(field, REF_TOL)
    cells, S_ref = ref.cells, ref.range
    print(f"  reference: ours tol={REF_TOL:g}: order M={ref.order}, range S_ref={S_ref}, a-priori error {ref.error:.1e}")
    if supercell:
        sc = ours(field, REF_TOL, "supercell")
        n = min(len(sc.cells), len(cells))
        werr, mx = errors(sc.values[:n], ref.values[:n], cells[:n])
        print(f"  cross-check: supercell route at tol {REF_TOL:g} vs reference: werr {werr:.1e}, max {mx:.1e}")

    rows = []
    # ours
    for eps in targets:
        t, K = best_of(lambda: ours(field, eps), repeat, clock=CLOCK)
        n = len(K.cells)
        werr, mx = errors(np.concatenate([K.values, np.zeros_like(ref.values[n:])]), ref.values, cells)
        rows.append(dict(route="ours chebyshev", eps=eps, time=t, werr=werr, max=mx, note=f"M={K.order} S={K.range} est {K.error:.1e} (cold)"))
        print(f"  ours chebyshev eps={eps:.0e}: {t:.3g} s, W err {werr:.1e} (estimate {K.error:.1e})")
        ours(field, eps)  # the model's planning, then time further fields of the same sweep
        tw, Kw = best_of(lambda: ours(UniformB(field.flux * 1.01), eps, planning=False), repeat, clock=CLOCK)
        rows.append(dict(route="ours chebyshev (sweep)", eps=eps, time=tw, werr=werr, max=mx,
                         note=f"planning cached; another field: M={Kw.order} est {Kw.error:.1e}"))
        if supercell:
            t, K = best_of(lambda: ours(field, eps, "supercell"), repeat, clock=CLOCK)
            n = min(len(K.cells), len(cells))
            V = np.zeros_like(ref.values)
            V[:n] = K.values[:n]
            werr, mx = errors(V, ref.values, cells)
            rows.append(dict(route="ours supercell", eps=eps, time=t, werr=werr, max=mx, note=f"S={K.range} est {K.error:.1e}"))

    # Kwant dense: scan L
    scan = []
    for L in range(6, lmax + 1, 2):
        tb, fsyst = best_of(lambda: kwant_system(field, L), repeat, clock=CLOCK)
        ts, col = best_of(lambda: dense_columns(fsyst), repeat, clock=CLOCK)
        inside, r = region_rows(fsyst, cells)
        werr, mx = errors(to_kernel(field, cells, inside, col[r]), ref.values, cells)
        scan.append(dict(L=L, dim=fsyst.hamiltonian_submatrix(sparse=True).shape[0], build=tb, solve=ts, werr=werr, max=mx))
        print(f"  kwant dense L={L:3d} dim={scan[-1]['dim']:6d}: build {tb:.3g} s, eigh {ts:.3g} s, werr {werr:.1e}, max {mx:.1e}")
        if werr < min(targets) / 4:
            break
    Ls = np.array([s["L"] for s in scan])
    logwerr = np.log([s["werr"] for s in scan])
    rate, icpt = np.polyfit(Ls[-3:], logwerr[-3:], 1)  # log werr ~ icpt + rate L
    dims = np.array([s["dim"] for s in scan], dtype=float)
    # cubic time model from the largest measured run
    t_big, d_big, b_big = scan[-1]["solve"], dims[-1], scan[-1]["build"]

    def dense_at(eps):
        ok = [s for s in scan if s["werr"] <= eps]
        if ok:
            s = ok[0]
            return s["L"], s["build"] + s["solve"], s["werr"], s["max"], False
        L = int(2 * math.ceil(((math.log(eps) - icpt) / rate) / 2))
        dim = MODEL.norbs * (2 * L + 1) ** 2
        return L, b_big * dim / d_big + t_big * (dim / d_big) ** 3, eps, float("nan"), True

    def needed_L(eps):
        ok = [s["L"] for s in scan if s["werr"] <= eps]
        return ok[0] if ok else int(2 * math.ceil(((math.log(eps) - icpt) / rate) / 2))

    for eps in targets:
        L, t, werr, mx, approx = dense_at(eps)
        rows.append(dict(route="kwant dense eigh", eps=eps, time=t, werr=werr, max=mx, approx=approx, note=f"L={L} dim={MODEL.norbs * (2 * L + 1) ** 2}"))

    # Kwant KPM: moments until the accuracy is met, on a system with finite-size error below eps / 4
    done = []  # (eps, L, M, time) of the measured targets
    for eps in targets:
        L = needed_L(eps / 4)
        if eps < kpm_min and len(done) >= 2:
            # Jackson KPM converges algebraically: extrapolate moments (power law of the last two
            # targets) and time (proportional to moments x dimension) instead of running it
            (e0, _, M0, _), (e1, L1, M1, t1) = done[-2], done[-1]
            M = int(M1 * (M1 / M0) ** (math.log(e1 / eps) / math.log(e0 / e1)))
            t = t1 * (M / M1) * ((2 * L + 1) / (2 * L1 + 1)) ** 2
            rows.append(dict(route="kwant kpm (Jackson)", eps=eps, time=t, werr=eps, max=float("nan"), approx=True,
                             note=f"L={L} moments~{M} (extrapolated)"))
            continue
        fsyst = kwant_system(field, L)
        inside, r = region_rows(fsyst, cells)

        def kpm_err(M):
            col = kpm_columns(fsyst, r, M)
            return errors(to_kernel(field, cells, inside, col), ref.values, cells)

        M, werr, mx = 64, *kpm_err(64)
        hist = [(M, werr)]
        while werr > eps and M < 2**17:
            if len(hist) >= 2 and hist[-1][1] < hist[-2][1]:  # algebraic convergence: predict from the last two
                (M0, e0), (M1, e1) = hist[-2], hist[-1]
                p = math.log(e0 / e1) / math.log(M1 / M0)
                M = max(int(1.05 * M1 * (e1 / eps) ** (1 / p)) + 1, int(1.1 * M1))
            else:
                M *= 2
            werr, mx = kpm_err(M)
            hist.append((M, werr))
        t, _ = best_of(lambda: kpm_columns(fsyst, r, M), repeat, clock=CLOCK)
        t += best_of(lambda: kwant_system(field, L), 1, clock=CLOCK)[0]
        done.append((eps, L, M, t))
        rows.append(dict(route="kwant kpm (Jackson)", eps=eps, time=t, werr=werr, max=mx, note=f"L={L} moments={M}"))
        print(f"  kwant kpm eps={eps:.0e}: L={L}, moments tried {[h[0] for h in hist]} -> W err {werr:.1e}, {t:.3g} s")
    return rows


def report(flux: float, rows: list[dict], targets) -> None:
    print(f"\n--- flux {flux:g}: time at equal accuracy (max_k |dW(k)| <= eps; ratio = peer / ours chebyshev) ---")
    print(f"{'eps':>7s}  {'route':22s} {'time':>10s} {'ratio':>8s} {'W err':>9s} {'max err':>9s}  note")
    for eps in targets:
        base = next(r["time"] for r in rows if r["route"] == "ours chebyshev" and r["eps"] == eps)
        for r in rows:
            if r["eps"] != eps:
                continue
            approx = r.get("approx", False)
            ratio = ("~" if approx else "") + f"{r['time'] / base:.3g}"
            mx = "" if math.isnan(r["max"]) else f"{r['max']:.1e}"
            werr = ("<=" if approx else "") + f"{r['werr']:.1e}"
            print(f"{eps:7.0e}  {r['route']:22s} {fmt_t(r['time'], approx):>10s} {ratio:>8s} {werr:>9s} {mx:>9s}  {r['note']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="dense scan up to L=32 (about 30 min more per flux on one core)")
    ap.add_argument("--lmax", type=int, default=None, help="largest dense half-width L measured (default 24, 32 with --full)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--flux", type=float, nargs="*", default=[1e-3, 1e-2])
    ap.add_argument("--targets", type=float, nargs="*", default=[1e-4, 1e-6, 1e-8, 1e-10, 1e-12])
    ap.add_argument("--kpm-min", type=float, default=1e-9,
                    help="below this accuracy the KPM route is extrapolated, not run (it needs ~10^4 moments)")
    args = ap.parse_args()
    lmax = args.lmax or (32 if args.full else 24)
    targets = args.targets
    threads = {v: os.environ.get(v, "unset") for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(f"{time.strftime('%Y-%m-%d')} {platform.processor() or platform.machine()} {os.cpu_count()} cpus; threads {threads}")
    print(f"kwant {kwant.__version__}, numpy {np.__version__}, scipy {scipy.__version__}; QWZ m=1 t0=0.3, mu={MU}, T=0")
    for flux in args.flux:
        rows = run_flux(flux, targets, lmax, args.repeat, abs(flux - 1e-2) < 1e-15, args.kpm_min)
        report(flux, rows, targets)


if __name__ == "__main__":
    main()
