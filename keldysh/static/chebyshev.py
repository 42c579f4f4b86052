"""Algorithm (b): Chebyshev expansion of f(H) on the orbitals of one home cell.

Any flux, no supercell: the columns f(H)|tau_b> of the Peierls Hamiltonian on
the infinite lattice are computed on a finite patch (:mod:`keldysh.static.patch`) with
the three-term recursion of the Chebyshev polynomials of the scaled operator
H~ = (H - c)/a, whose spectrum lies in [-1, 1]::

    f(H)|tau_b> = sum_{m=0}^{M} c_m T_m(H~)|tau_b> + sum_l [w_l G(z_l) + conj(w_l) G(z_l)^dagger]|tau_b>,
    T_0 v = v,  T_1 v = H~ v,  T_m v = 2 H~ T_{m-1} v - T_{m-2} v,

and dressed with the Wilson line of :mod:`keldysh.wigner` into the kernel
O~(R_s + tau_a, tau_b) whose Fourier sum is W_{f(H)}(k). There is no KPM
damping: the series is truncated where it has converged to the tolerance. The
series and its optional exact poles (the Matsubara poles of a metal at low T,
G(z) = (H - z)^{-1} by direct solves in :mod:`keldysh.static.resolvent`) come from
:mod:`keldysh.static.approximants`; the zero-field data that plan the order, range and
patch from :mod:`keldysh.static.bands`. This module runs the recursion and assembles
the kernels with their error estimates.

Patch, light cone and range
---------------------------
The kernel is wanted on the cells |R_s|_inf <= S. With hoppings of range r
(cells), T_m(H~)|tau_b> is supported within m r, and a value dropped at
distance rho at step m reaches the output region only after (rho - S)/r more
steps. So step m needs the vector only inside min(front_m, S + (M - m) r): the
second bound is a rigorous light cone (exact, no error); the first is the
measured wave front of the recursion, which moves at the group velocity of
theta = arccos(H~) (about half the light-cone speed): the vector is cut where
its l2 mass beyond the cut is below a threshold, and each cut delta_m enters
the error bound as delta_m sum_{j>=0} |c_{m+j}| (j + 1) (the perturbation
propagates through the recursion as U_j(H~), ||U_j|| <= j + 1). The range S is
chosen from the zero-field kernel of f (FFT over the Brillouin zone) with a
margin for the field, then trimmed to where the discarded l1 mass of the
computed kernel is below its budget.

Error estimate
--------------
``error = function + truncation + front + roundoff (+ poles)`` estimates
max_k |W(k) - W_exact(k)| elementwise. ``function``: the approximation error
max |p - f| on the spectral set bounds the error of W exactly at zero field
(W_{g(H)}(k) = g(h(k))); in a field W of the oscillating g = p - f can exceed
max |g| (by up to ~4 at flux 1/40), so the same f is also expanded to 4 times
that error (the "shadow", in the same recursion) and the measured
sup_k |W(p - p_shadow)| / max |p_shadow - f| gives the field gain;
``function = 2 max(1, gain) max |p - f|``. ``truncation``: discarded l1 mass
beyond S (measured up to the computed range, extrapolated beyond it with the
zero-field decay). ``front``: the wave-front cuts (l2 bound times the square
root of the number of cells). ``roundoff``: 2 eps sqrt(M) sum |c_m|.
``poles``: sum_l 2 |w_l| times the a-posteriori bound of each resolvent kernel
(:mod:`keldysh.static.resolvent`). If the estimate exceeds tol the approximation is
tightened and recomputed. Band projectors are checked a posteriori:
idempotency Pi^2 = Pi gives, for every home orbital b,
sum_{s,a} |Pi(R_s + tau_a, tau_b)|^2 = Pi(tau_b, tau_b); a violation beyond tol
means the field has put spectrum into a transition region (the gap closes):
the margins are widened twice (x2, x3.5), then GapError.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import scipy.linalg.blas
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from ..errors import ConvergenceError, GapError
from ..fields import UniformB
from ..lattice import TightBinding
from ..spectral import BandWindow
from .approximants import approximate, fit_cost, order_estimate, truncated
from .bands import front_speed, group_velocity, shell_tails, spectral_bounds, zero_field_range
from .budget import DENSE_RATE, SPARSE_RATE, Budget, resolve
from .kernel import WignerKernel, projector_residual, shell_masses, wigner_sup
from .patch import _check_model, ball_size, dress, hopping_range, peierls_patch, shell_cells, shell_index
from .resolvent import resolvent_columns

__all__ = ["chebyshev_columns", "chebyshev_kernel", "chebyshev_kernels"]

EPS = np.finfo(float).eps
# Shares of the tolerance: the function term is reported as 2 max(1, field gain) times its share.
SHARE_FUNCTION, SHARE_TRUNCATION, SHARE_FRONT, SHARE_POLES = 0.2, 0.3, 0.05, 0.05
ROUNDOFF = 2.0  # roundoff estimate: ROUNDOFF eps_mach sqrt(M + 1) sum |c_m|


# --------------------------------------------------------------------------- recursion

try:  # in-place Y += A X on a row prefix of a CSR matrix, without copying the prefix
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - private scipy API moved
    _csr_matvecs = None


def _add_product(A: sp.csr_matrix, n: int, X: NDArray, Y: NDArray) -> None:
    """Y[:n] += A[:n] @ X for C-contiguous X (dim, k) and Y (dim, k)."""
    if _csr_matvecs is not None:
        _csr_matvecs(n, A.shape[1], X.shape[1], A.indptr, A.indices, A.data, X.ravel(), Y.ravel())
    else:  # pragma: no cover
        Y[:n] += A[:n] @ X


def chebyshev_columns(
    model: TightBinding,
    field: UniformB,
    coeffs: ArrayLike,
    center: float,
    halfwidth: float,
    out_radius: int,
    gauge: str = "landau_x",
    front_tol: float = 0.0,
    max_radius: int = 1000,
    radius_hint: int | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.complex128], dict]:
    """Dressed kernels of p_f(H) = sum_m coeffs[f, m] T_m((H - center)/halfwidth) on |R_s| <= out_radius.

    One recursion serves every row f of ``coeffs`` (shape (n_f, M + 1), real or
    complex). Exact on the output region up to the wave-front cuts, whose
    propagated l2 effect on a column is returned as ``info["front"]``.

    Parameters
    ----------
    center, halfwidth
        The spectrum of H must lie in [center - halfwidth, center + halfwidth].
    out_radius
        Output range S (cells).
    front_tol
        l2 budget of the wave-front cuts per column (0: rigorous light cone only).
    max_radius
        Largest patch radius allowed (ConvergenceError beyond).
    radius_hint
        Initial patch radius (the patch grows when the front needs more).

    Returns
    -------
    cells, values, info
        ``cells`` (nS, 2); ``values`` (n_f, nS, N, N) with
        ``values[f, s, a, b] = p_f(H)~(R_s + tau_a, tau_b)`` (zero beyond the reach M r of
        the polynomials); ``info`` with keys ``front`` (l2 bound), ``radius`` (largest patch radius used).
    """
    _check_model(model)
    coeffs = np.atleast_2d(np.asarray(coeffs))
    n_f, M = coeffs.shape[0], coeffs.shape[1] - 1
    N, r, S = model.norbs, hopping_range(model), int(out_radius)
    dtype = complex

    absc = np.abs(coeffs).max(axis=0)
    m_idx = np.arange(M + 1)
    tail1 = np.cumsum(absc[::-1])[::-1]
    tailk = np.cumsum((absc * (m_idx + 1))[::-1])[::-1]
    gamma = tailk - m_idx * tail1  # sum_{j>=0} |c_{m+j}| (j + 1)

    # peak of the light-cone double cone (the support never exceeds M r), plus one hop
    rigorous = min((S + M * r + 1) // 2, M * r) + r
    if radius_hint is None:  # where the measured front meets the light cone coming back from S
        v = front_speed(model, center, halfwidth)
        radius_hint = int(math.ceil(1.15 * v * (S + M * r) / (v + r) + 12))
    L = max(min(rigorous, radius_hint), 2 * r)
    if L > max_radius:
        raise ConvergenceError(f"the recursion needs a patch radius {L} > max_radius={max_radius}")

    # The recursion runs on U_m = s_m T_m(H~) v with signs s = (+, +, -, -, +, +, ...):
    # U_m = (s_m s_{m-1} 2 H~) U_{m-1} + U_{m-2}, an in-place add over U_{m-2}.
    state: dict = {}

    def build(radius):
        state.clear()  # release the previous patch before the next is assembled
        H2 = peierls_patch(model, field, radius, gauge).H  # scaled in place to 2 H~ = (2 / a) (H - c)
        H2.data *= 2.0 / halfwidth
        H2.data[H2.indices == np.repeat(np.arange(H2.shape[0]), np.diff(H2.indptr))] -= 2.0 * center / halfwidth
        minus = sp.csr_matrix((-H2.data, H2.indices, H2.indptr), shape=H2.shape)  # shares the index arrays
        state.update(ops={1: H2, -1: minus}, dim=H2.shape[0], radius=radius)

    def rows(rho):
        return N * ball_size(rho)

    def sign(m):
        return 1 if m % 4 in (0, 1) else -1

    build(L)
    axpy = scipy.linalg.blas.get_blas_funcs("axpy", dtype=np.dtype(dtype))
    n_out = rows(S)
    acc = np.zeros((n_f, n_out, N), dtype=dtype)

    def accumulate(m, U, support):
        n = min(n_out, rows(support))
        for f in range(n_f):
            if coeffs[f, m] != 0:
                axpy(U[:n].ravel(), acc[f, :n].reshape(-1), a=sign(m) * coeffs[f, m])

    dim = state["dim"]
    prev2 = np.zeros((dim, N), dtype=dtype)  # U_{m-2}, zero beyond its support sup2
    prev2[:N] = np.eye(N)
    sup2 = 0
    accumulate(0, prev2, 0)
    prev1 = np.zeros((dim, N), dtype=dtype)  # U_{m-1}
    sup1 = min(r, S + (M - 1) * r) if M >= 1 else 0
    if M >= 1:
        _add_product(state["ops"][1], rows(sup1), prev2, prev1)
        prev1 *= 0.5
        accumulate(1, prev1, sup1)
    front_err = 0.0
    max_used = sup1 + r
    for m in range(2, M + 1):
        back = S + (M - m) * r
        cand = min(sup1 + r, back)
        if cand + r > state["radius"]:
            new = min(max(cand + r, int(1.25 * state["radius"]) + 1), rigorous)
            if new > max_radius:
                raise ConvergenceError(
                    f"the recursion front needs a patch radius {new} > max_radius={max_radius} "
                    f"(order M={M}, range S={S})"
                )
            build(new)
            grow = state["dim"] - prev1.shape[0]
            prev1 = np.concatenate([prev1, np.zeros((grow, N), dtype=dtype)])
            prev2 = np.concatenate([prev2, np.zeros((grow, N), dtype=dtype)])
        n = rows(cand)
        _add_product(state["ops"][sign(m) * sign(m - 1)], n, prev1, prev2)  # over U_{m-2}: now U_m
        Y = prev2[:n]
        keep = cand
        if front_tol > 0 and gamma[m] > 0:
            lo_shell = max(min(cand, S), cand - 3 * r, 0)
            if lo_shell < cand:
                start = rows(lo_shell)
                rowmass = (Y[start:].real ** 2 + Y[start:].imag ** 2).sum(axis=1)
                offsets = N * ball_size(np.arange(lo_shell, cand)) - start
                shell = np.add.reduceat(rowmass, offsets)  # shells lo_shell + 1 .. cand
                beyond = np.append(np.cumsum(shell[::-1])[::-1], 0.0)  # mass beyond shell lo_shell + i
                allowed = (front_tol / (M * gamma[m])) ** 2
                i = int(np.argmax(beyond <= allowed))
                keep = lo_shell + i
                if keep < cand:
                    front_err += math.sqrt(beyond[i]) * gamma[m]
        nk = rows(keep)
        zero_to = max(rows(sup2), n)  # stale U_{m-2} beyond the ball, and the cut rows
        if zero_to > nk:
            prev2[nk:zero_to] = 0
        prev2, prev1 = prev1, prev2
        sup2, sup1 = sup1, keep
        max_used = max(max_used, cand + r)
        accumulate(m, prev1, keep)
        if keep < back and m % 16 == 0:
            norm = np.sqrt((np.abs(prev1[:nk]) ** 2).sum(axis=0)).max()
            if norm > 1 + 1e-6:
                raise ConvergenceError(
                    f"Chebyshev vectors grow (|T_{m}(H~) v| = {norm:.6g} > 1): the spectrum of H "
                    f"leaves [{center - halfwidth:.6g}, {center + halfwidth:.6g}]"
                )
    cells = shell_cells(S)
    values = acc.reshape(n_f, len(cells), N, N)
    nz = ball_size(min(S, max_used))  # the polynomials vanish beyond the largest support
    values[:, :nz] = dress(field, gauge, model.lattice_vectors, model.positions, cells[:nz], values[:, :nz])
    return cells, values, {"front": front_err, "radius": max_used}


# --------------------------------------------------------------------------- resource estimates


def hopping_entries(model: TightBinding) -> int:
    """Number of nonzero hopping entries sum_R nnz(T_R): nonzeros per cell of the Peierls H."""
    return int(sum(np.count_nonzero(T) for T in model.hoppings.values()))


def recursion_cost(model: TightBinding, order: int, out_radius: int, n_f: int, v: float) -> tuple[float, float, int]:
    """(bytes, seconds, patch radius) of :func:`chebyshev_columns` at order M, range S, ``n_f`` series.

    Patch radius L as chosen there (where the measured front speed ``v`` meets the light
    cone from S); memory: the sparse H (three copies and the assembly arrays, ~100 bytes
    per nonzero), three column blocks on the patch and the output kernels; time: M steps
    over an average support of about a third of the patch, N columns each.
    """
    N, r, S, M = model.norbs, hopping_range(model), int(out_radius), int(order)
    rigorous = min((S + M * r + 1) // 2, M * r) + r
    L = max(min(rigorous, math.ceil(1.15 * v * (S + M * r) / (v + r) + 12)), 2 * r)
    cells = ball_size(L)
    nnz = hopping_entries(model) * cells
    memory = 100.0 * nnz + 3 * 16.0 * N * cells * N + n_f * 16.0 * ball_size(S) * N * N
    seconds = M * nnz * N / 3 / SPARSE_RATE
    return memory, seconds, L


def poles_cost(model: TightBinding, n_poles: int, window: int) -> tuple[float, float]:
    """(bytes, seconds) of the banded Matsubara solves (:mod:`.resolvent`) on a window of half-width ~ ``window``.

    The window half-width L is taken as ``window`` + 2 r; the banded LU of P (2 L + 1) N unknowns with
    bandwidth b = N (r + 1) - 1 stores 3 b + 1 diagonals, costs ~8 n b^2 flops per pole.
    """
    N, r = model.norbs, hopping_range(model)
    L = int(window) + 2 * r
    n = (2 * L + 1) ** 2 * N  # unknowns of one banded solve
    b = N * (r + 1) - 1
    memory = 2 * 16.0 * n * (3 * b + 1) + 4 * 16.0 * n * N + 2 * 16.0 * ball_size(window) * N * N
    return memory, n_poles * 8.0 * n * b * b * 4 / DENSE_RATE


def _check_plan(model, estimates, S, n_f, center, halfwidth, tol, max_radius, resources: Budget) -> None:
    """Refuse a plan whose fit, recursion or Matsubara solves exceed ``resources`` (BudgetError) or max_radius.

    ``estimates`` are :class:`~keldysh.static.approximants.OrderEstimate` (None where unknown);
    ``S`` the kernel range (0 before the zero-field range is known: a lower bound). The
    Matsubara window is estimated from the decay rate kappa = omega_0 / v of the resolvent at
    the lowest pole (v the largest zero-field group velocity, cells per unit time): the rim
    bound of :mod:`.resolvent` falls like exp(-kappa (2 L - S)), so L ~ (S + ln(1/budget) / kappa) / 2.
    """
    known = [e for e in estimates if e is not None]
    if not known:
        return
    worst = max(known, key=lambda e: e.order)
    fit_bytes, fit_flops = fit_cost(worst.order) if worst.fitted else (0.0, 0.0)
    mem, sec, L = recursion_cost(model, worst.order, S, n_f, front_speed(model, center, halfwidth))
    poles = max(e.poles for e in known)
    pmem = psec = 0.0
    window = S
    if poles:
        omega = min(e.omega for e in known if e.poles)
        kappa = omega / group_velocity(model)
        window = int((S + math.log(1.0 / (SHARE_POLES * tol)) / kappa) / 2)
        if window > max_radius:
            cause = next(e.cause for e in known if e.poles)
            raise ConvergenceError(
                f"the Matsubara poles of {cause} need a resolvent window of about {window} cells "
                f"> max_radius={max_radius} (the resolvent at the lowest pole decays over "
                f"{1 / kappa:.3g} cells); raise T or tol (or max_radius of keldysh.static.chebyshev.chebyshev_kernels)"
            )
        pmem, psec = poles_cost(model, poles, window)
    resources.check(
        f"the Chebyshev expansion (order M ~ {worst.order}, kernel range S >= {S}, patch radius ~ {L}"
        + (f", {poles} Matsubara poles on a window of ~{window} cells" if poles else "")
        + ")",
        max(fit_bytes, mem, pmem),
        fit_flops / DENSE_RATE + sec + psec,
        cause=f"set by {worst.cause}",
        advice="widen the gap or raise T (the order grows like 1/gap or 1/T), loosen tol",
    )


# --------------------------------------------------------------------------- public driver


def _plan(funcs, model, field, center, halfwidth, eps, max_order, widen):
    """Approximants of ``funcs`` (error ``eps``) plus their companions in the same recursion.

    Returns ``approx`` and, per requested function i, ``shadow[i]`` (the same f
    at 4 eps: the W of the difference p_i - p_shadow, about the error of the
    shadow, measures how the field turns an approximation error into an error
    of W) and ``check[i]`` (the moment-0 projector whose idempotency is checked,
    or None).
    """
    def approx_of(f, e):
        return approximate(f, model, field, center, halfwidth, e, max_order, widen)

    approx = [approx_of(f, eps) for f in funcs]
    shadow: list[int | None] = []
    check: list[int | None] = []
    for i, (f, a) in enumerate(zip(funcs, approx)):
        if a.order == 0:
            shadow.append(None)
            check.append(None)
            continue
        approx.append(truncated(a, center, halfwidth, 4 * eps, max_order) if a.smooth else approx_of(f, 4 * eps))
        shadow.append(len(approx) - 1)
        if a.projector:
            check.append(i)
        elif isinstance(f, BandWindow):
            approx.append(approx_of(BandWindow(f.lower_gap, f.upper_gap, 0, f.band), eps))
            check.append(len(approx) - 1)
        else:
            check.append(None)
    return approx, shadow, check


def chebyshev_kernels(
    model: TightBinding,
    field: UniformB,
    funcs: Sequence[Callable],
    tol: float = 1e-11,
    gauge: str = "landau_x",
    max_order: int = 20000,
    max_radius: int = 1000,
    budget: Budget | None = None,
) -> list[WignerKernel]:
    """Kernels of several f(H) from one Chebyshev recursion (common order and patch).

    A metal at low temperature gets its first Matsubara poles exactly
    (:class:`keldysh.static.approximants.MatsubaraSplit`, :mod:`keldysh.static.resolvent`) and only
    the smooth remainder from the recursion.

    Parameters
    ----------
    model, field
        2D :class:`keldysh.TightBinding` and :class:`keldysh.UniformB` (Peierls, any flux).
    funcs
        :class:`BandWindow` (Pi_n, or H^j Pi_n), :class:`FermiDirac` (n_F(H); T = 0
        only with mu in a gap) or smooth vectorized callables of energy.
    tol
        Target max over k and matrix elements of |W(k) - W_exact(k)|.
    gauge
        Gauge of the Peierls phases (the dressed kernel does not depend on it).
    max_order, max_radius
        Resource limits: Chebyshev order and patch radius, kernel range and resolvent window (cells).
    budget
        Memory and time allowed (:class:`keldysh.static.budget.Budget`; None: the module default).
        The order, range, patch, fit and pole solves are estimated before they are computed.

    Returns
    -------
    list of WignerKernel, one per ``funcs`` entry.

    Raises
    ------
    ValueError
        T = 0 with mu in a band; bad tolerance.
    GapError
        The field fills a gap used by a band window or a T = 0 occupation (the
        idempotency check fails even with twice and 3.5 times the gap margins).
    ConvergenceError
        ``tol`` needs an order above ``max_order`` or a patch above ``max_radius``,
        or lies below the roundoff floor.
    BudgetError
        (a ConvergenceError) the estimated memory or time exceeds ``budget``; raised before the work.
    """
    _check_model(model)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be positive and finite, got {tol}")
    resources = resolve(budget)
    lo, hi = spectral_bounds(model, field, gauge)
    center, halfwidth = (lo + hi) / 2, (hi - lo) / 2
    eps = SHARE_FUNCTION * tol
    failure = None
    widen = 1.0
    for attempt in range(4):
        try:
            estimates = [order_estimate(f, model, field, center, halfwidth, eps, widen) for f in funcs]
            _check_plan(model, estimates, 0, 2 * len(funcs), center, halfwidth, tol, max_radius, resources)
            plan = _plan(funcs, model, field, center, halfwidth, eps, max_order, widen)
        except GapError:
            if failure is None:
                raise
            raise failure from None
        try:
            kernels = _kernels(
                model, field, funcs, *plan, center, halfwidth, tol, gauge, max_radius, estimates, resources
            )
        except GapError as err:  # spectrum in a transition region: wider gap margins
            failure, widen = err, {1.0: 2.0, 2.0: 3.5}.get(widen, 0.0)
            if not widen:
                raise
            continue
        excess = max(k.error / tol for k in kernels)
        if excess <= 1:
            return kernels
        # the field amplifies the approximation error more than budgeted: tighten it
        worst = max(kernels, key=lambda k: k.error - k.error_terms["function"])
        room = tol - (worst.error - worst.error_terms["function"])
        shrink = min(0.5, 0.7 * room / max(k.error_terms["function"] for k in kernels))
        if shrink <= 0:
            break
        eps *= shrink
    raise ConvergenceError(
        f"the error estimate {max(k.error for k in kernels):.2g} stays above tol={tol:.2g} "
        f"(terms {kernels[0].error_terms}); raise tol"
    )


def _kernels(
    model, field, funcs, approx, shadow, check, center, halfwidth, tol, gauge, max_radius, estimates, resources
) -> list[WignerKernel]:
    """Run the recursion for ``approx``, choose the ranges, check projectors, assemble the kernels."""
    M = max(a.order for a in approx)
    coeffs = np.zeros((len(approx), M + 1), dtype=np.result_type(*[a.coeffs for a in approx]))
    for i, a in enumerate(approx):
        coeffs[i, : a.order + 1] = a.coeffs
    for i, j in enumerate(shadow):  # a shadow row holds p_i - p_shadow: its kernel is the difference
        if j is not None:
            coeffs[j] = coeffs[i] - coeffs[j]
    r = hopping_range(model)
    budget = SHARE_TRUNCATION * tol
    roundoff = [ROUNDOFF * EPS * math.sqrt(a.order + 1) * float(np.abs(a.coeffs).sum()) for a in approx]
    for f, e in zip(funcs, roundoff):
        if e > 0.3 * tol:
            raise ConvergenceError(
                f"tol={tol:.2g} is below the roundoff floor of the Chebyshev sum for {f!r} "
                f"(about {e:.2g} at order M={M})"
            )
    zero_field = [zero_field_range(model, f, budget, resources=resources) for f in funcs]
    S0 = max(S for S, _ in zero_field)
    with_poles = any(approx[i].poles for i in range(len(funcs)))
    reach = max_radius if with_poles else M * r  # the polynomials alone vanish beyond M r
    # margin for the field: 5% + 3 cells, and at least where the zero-field tail is a quarter of the budget
    S_quarter = max(next((S for S in range(S0, 4 * S0 + 64) if d.tail(S) <= 0.25 * budget), S0) for _, d in zero_field)
    S_out = min(reach, max(math.ceil(1.05 * S0) + 3, S_quarter))
    measured = [e if e is None else e._replace(order=M) for e in estimates]
    _check_plan(model, measured, S_out, len(approx), center, halfwidth, tol, max_radius, resources)
    while True:
        front_tol = SHARE_FRONT * tol / (2 * S_out + 1)  # l2 per column -> l1 over (2 S + 1)^2 cells
        cells, values, info = chebyshev_columns(
            model, field, coeffs, center, halfwidth, S_out, gauge, front_tol, max_radius
        )
        e_poles, windows = _add_poles(model, field, approx[: len(funcs)], cells, values, tol, max_radius)
        ranges, trunc = [], []
        for i, (_, decay) in enumerate(zero_field):
            masses = shell_masses(values[i])
            # beyond S_out: the zero-field tail, scaled up if the field kernel is larger there
            near = np.arange(max(S_out - 3, 0), S_out + 1)
            ratio = float((masses[near] / np.maximum(decay.mass(near), 1e-300)).max())
            tails = shell_tails(masses) + decay.tail(S_out) * max(1.0, ratio)
            if tails[-1] > 0.5 * budget:
                break
            S = int(np.argmax(tails <= budget))
            ranges.append(S)
            trunc.append(float(tails[S]))
        if len(ranges) == len(funcs):
            break
        if S_out >= reach:
            raise ConvergenceError(
                f"the kernel has not decayed to {budget:.2g} within "
                + (f"max_radius={max_radius}" if with_poles else f"the polynomial range M r = {M * r} cells")
            )
        S_out = min(reach, int(math.ceil(1.3 * S_out)) + 2)
        _check_plan(model, measured, S_out, len(approx), center, halfwidth, tol, max_radius, resources)
    residual = {j: projector_residual(values[j]) for j in set(check) if j is not None}
    for j, res in residual.items():
        if res > tol:
            raise GapError(
                f"idempotency check failed (residual {res:.2g} > tol={tol:.2g}): the field (flux {field.flux}) "
                f"puts spectrum into the transition region of a gap (the field closes the gap or broadens "
                f"the bands into it)"
            )
    e_front = info["front"] * (2 * S_out + 1)
    kernels = []
    for i, f in enumerate(funcs):
        e_func = approx[i].error
        if shadow[i] is not None:  # field amplification of the approximation error, measured on the shadow
            j = shadow[i]
            gain = wigner_sup(cells, values[j]) / max(approx[j].error, 1e-300)
            e_func = 2 * max(1.0, gain) * approx[i].error
        nS = ball_size(ranges[i])
        terms = {"function": e_func, "truncation": trunc[i], "front": e_front, "roundoff": roundoff[i]}
        if approx[i].poles:
            terms["poles"] = e_poles[i]
        kernels.append(
            WignerKernel(
                cells=cells[:nS].copy(),
                values=values[i, :nS].copy(),
                lattice_vectors=model.lattice_vectors,
                positions=model.positions,
                order=approx[i].order,
                radius=max(info["radius"], windows[i]),
                range=ranges[i],
                error=float(sum(terms.values())),
                error_terms=terms,
                method="chebyshev",
                check=None if check[i] is None else residual[check[i]],
            )
        )
    return kernels


def _add_poles(model, field, approx, cells, values, tol, max_radius) -> tuple[list[float], list[int]]:
    """values[i] += sum_l [w_l G~(z_l) + conj(w_l) G~(z_l)^dagger] for every approximant with poles.

    G(z)^dagger = G(conj z) has the dressed kernel conj(G~(z; -R_s + tau_b, tau_a)) (magnetic
    translation invariance). Each resolvent kernel is held to SHARE_POLES tol / (2 |w_l| n_l) (l1 bound
    of :func:`keldysh.static.resolvent.resolvent_columns` for its window), and the roundoff of the pole part
    is estimated as 2 ROUNDOFF sup_k |W(sum_l w_l delta_l)| from the refinement corrections delta_l
    (the dagger part has the same sup). Returns the error estimate of each pole part and the
    largest window half-width used (0 without poles).
    """
    errors, windows = [0.0] * len(approx), [0] * len(approx)
    S = int(np.abs(cells).max()) if len(cells) else 0
    flip = shell_index(-cells)
    for i, a in enumerate(approx):
        if not a.poles:
            continue
        zs = np.array([z for z, _ in a.poles])
        ws = np.array([w for _, w in a.poles])
        budgets = SHARE_POLES * tol / (2 * np.abs(ws) * len(ws))
        _, part, info = resolvent_columns(model, field, zs, S, budgets, max_radius, weights=ws)  # sum_l w_l G~(z_l)
        values[i] += part + part[flip].conj().swapaxes(-1, -2)
        roundoff = 2 * ROUNDOFF * wigner_sup(cells, info["correction"])
        errors[i] = float(np.sum(2 * np.abs(ws) * info["error"])) + roundoff
        windows[i] = int(info["radius"].max())
    return errors, windows


def chebyshev_kernel(
    model: TightBinding,
    field: UniformB,
    func: Callable,
    tol: float = 1e-11,
    gauge: str = "landau_x",
    max_order: int = 20000,
    max_radius: int = 1000,
    budget: Budget | None = None,
) -> WignerKernel:
    """Kernel of one f(H) to tolerance ``tol`` in W (see :func:`chebyshev_kernels`)."""
    return chebyshev_kernels(model, field, [func], tol, gauge, max_order, max_radius, budget)[0]
