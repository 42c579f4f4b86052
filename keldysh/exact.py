"""Public entry points of the exact solver: Wigner functions of f(H) in a uniform B.

All functions take a 2D :class:`keldysh.TightBinding` model and a
:class:`keldysh.UniformB` field (flux per unit cell, Peierls phases of
``docs/conventions.md``) and return the gauge-invariant lattice Wigner
function (paper's phase-space objects; :mod:`keldysh.wigner`)::

    W_O(k) = sum_s exp(-i k.s) O~(r0 + s, r0),   O~ = O exp(-i phi)  (Wilson line)

of an operator O = f(H), elementwise accurate to ``tol`` (max over k and
matrix elements of |W - W_exact|). At zero field W_{f(H)}(k) = f(h(k)).

Usage::

    import numpy as np
    from keldysh import models, UniformB
    from keldysh.exact import band_wigner, fermi_wigner, local_density_matrix, wigner_kernel
    from keldysh.spectral import band_window

    model, field = models.qwz(1.0, t0=0.3), UniformB(1e-3)
    k = np.random.default_rng(0).uniform(-np.pi, np.pi, (100, 2))  # (nk, 2) cartesian momenta
    P0 = band_wigner(model, field, 0, k)                 # W of the band projector Pi_0, (nk, 2, 2)
    E0 = band_wigner(model, field, 0, k, moment=1)       # W of H Pi_0 (first energy moment)
    nF = fermi_wigner(model, field, mu=-1.5, T=0.2, k=k)  # W of n_F(H) (a metal)
    rho = local_density_matrix(model, field, mu=-0.3, T=0.0)  # on-site block, Tr = 1 - flux C = 1.001
    kern = wigner_kernel(model, field, band_window(model, 1))  # one kernel: kern.wigner(k) at many k

Methods
-------
``method="chebyshev"`` (algorithm (b), :mod:`keldysh.static.chebyshev`) works at any flux;
``"contour"`` (algorithm (c), :mod:`keldysh.static.contour`: rational filters of resolvents
on a cylinder, any flux) evaluates band projectors and their energy moments, and n_F with mu
in a gap (T = 0, or T > 0 with negligible thermal tails);
``"supercell"`` (algorithm (a), :mod:`keldysh.static.supercell`) needs a rational flux p/q
(``Fraction(flux).limit_denominator()`` must equal the flux) and evaluates the
exact f on the same cells |R_s| <= S that the zero-field decay of f calls for.
``"auto"`` is ``"contour"`` where that route applies and its estimated work per cell of
the support is below the Chebyshev recursion's
(:func:`keldysh.static.contour.work_per_cell`: r poles x 8 (wN)^3 / w flops at the dense
rate against M x nnz x N / 3 multiply-adds at the sparse rate of
:mod:`keldysh.static.budget`), else ``"chebyshev"``: many orbitals and narrow gaps go to
the contour route, the 2-3 orbital models to the Chebyshev route. Band projectors need
global gaps around the band (:func:`keldysh.spectral.band_window`); T = 0 needs mu in a gap.

Kernels are cached per (model content, flux, f, tol, method): asking for many k
or several quantities of one model and field does not recompute. Errors:
``TypeError`` / ``ValueError`` (bad input, checked before any kernel is computed,
the message naming the argument; T = 0 with mu in a band), :class:`GapError` (the
field closes a gap), :class:`ConvergenceError` (tolerance out of reach; says why),
:class:`BudgetError` (a ConvergenceError: the estimated memory or time of the
request exceeds ``budget``, raised before the work; see :mod:`keldysh.static.budget`).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .dynamics.uniform_fields import EvolvedState, evolve, evolve_greens
from .fields import UniformB
from .lattice import TightBinding, check_momenta
from .spectral import BandWindow, FermiDirac, band_window
from .static.bands import band_gaps, clear_caches, model_fingerprint, zero_field_range
from .static.budget import Budget, BudgetError, resolve
from .static.chebyshev import SHARE_TRUNCATION, chebyshev_kernels
from .static.contour import contour_kernels, work_per_cell
from .static.kernel import WignerKernel
from .static.patch import _check_model, shell_cells

__all__ = [
    "METHODS",
    "Budget",
    "BudgetError",
    "band_wigner",
    "clear_cache",
    "evolved_current",
    "evolved_greens",
    "evolved_state",
    "evolved_wigner",
    "fermi_wigner",
    "local_density_matrix",
    "wigner_kernel",
]

METHODS = ("auto", "chebyshev", "contour", "supercell")
_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 64
_ROUTES: dict = {}  # the route method="auto" chose, per (model content, flux, f, tol)


def clear_cache(planning: bool = True) -> None:
    """Forget every cached kernel and, with ``planning=True``, the zero-field planning data of each model.

    The planning data (certified band edges, zero-field Bloch grids and velocities, cached by
    :mod:`keldysh.static.bands`) depend on the model only: a sweep over fields or tolerances
    of one model reuses them; ``planning=False`` keeps them.
    """
    _CACHE.clear()
    _ROUTES.clear()
    if planning:
        clear_caches()


def _real(name: str, value) -> float:
    """A finite real number (bool refused), or an error naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _check(model, field, tol, method, budget) -> str:
    _check_model(model)
    if not isinstance(field, UniformB):
        raise TypeError(
            f"field must be a keldysh.UniformB (static B along z), got {type(field).__name__}"
            + ("; a uniform E is handled by keldysh.dynamics" if type(field).__name__ == "UniformE" else "")
        )
    if _real("tol", tol) <= 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    resolve(budget)
    return method


def _route(model: TightBinding, field: UniformB, func: Callable, tol: float) -> str:
    """The route of ``method="auto"``: the one with the smaller estimated work per cell (see the module docstring)."""
    chebyshev, contour = work_per_cell(func, model, field, tol)
    return "contour" if contour < chebyshev else "chebyshev"


def _check_func(func) -> None:
    if not (isinstance(func, (BandWindow, FermiDirac)) or callable(func)):
        raise TypeError(f"func must be a BandWindow, a FermiDirac or a callable of energies, got {func!r}")
    try:
        hash(func)
    except TypeError:
        raise TypeError(f"func must be hashable (it keys the kernel cache), got {func!r}") from None


def _store(key, kernel: WignerKernel) -> None:
    _CACHE[key] = kernel
    _CACHE.move_to_end(key)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)


def _companions(func: Callable) -> list[Callable]:
    """Functions worth computing in the same recursion (the projector of a moment, and vice versa)."""
    if isinstance(func, BandWindow):
        return [BandWindow(func.lower_gap, func.upper_gap, j, func.band) for j in sorted({0, func.moment})]
    return [func]


def wigner_kernel(
    model: TightBinding,
    field: UniformB,
    func: Callable,
    tol: float = 1e-11,
    method: str = "auto",
    budget: Budget | None = None,
) -> WignerKernel:
    """Dressed kernel O~(R_s + tau_a, tau_b) of O = f(H) with its error estimate (cached).

    Parameters
    ----------
    model, field
        2D tight-binding model and uniform B (flux per unit cell).
    func
        :class:`keldysh.spectral.BandWindow` (Pi_n or H^j Pi_n),
        :class:`keldysh.spectral.FermiDirac` (n_F(H)) or a smooth vectorized
        callable of energies (hashable, for the cache).
    tol
        Target max over k and matrix elements of |W(k) - W_exact(k)|.
    method
        ``"auto"`` (the cheaper applicable route, see the module docstring), ``"chebyshev"``,
        ``"contour"`` or ``"supercell"``.
    budget
        Memory and CPU time a request may plan for (:class:`Budget`; None: the default of
        :mod:`keldysh.static.budget`, 8 GB and 600 s unless changed there). Estimates above it
        raise :class:`BudgetError` (a :class:`keldysh.ConvergenceError`) before any heavy work.

    Returns
    -------
    WignerKernel
        ``.cells``, ``.values``, ``.error``, ``.wigner(k)``.
    """
    method = _check(model, field, tol, method, budget)
    _check_func(func)
    fp = model_fingerprint(model)
    if method == "auto":
        choice = (fp, float(field.flux), func, float(tol))
        if choice not in _ROUTES:
            _ROUTES[choice] = _route(model, field, func, tol)
        method = _ROUTES[choice]

    def key(f):
        return (fp, float(field.flux), f, float(tol), method)

    if key(func) in _CACHE:
        _CACHE.move_to_end(key(func))
        return _CACHE[key(func)]
    if method in ("chebyshev", "contour"):
        funcs = _companions(func)
        route = chebyshev_kernels if method == "chebyshev" else contour_kernels
        for f, kernel in zip(funcs, route(model, field, funcs, tol, budget=budget)):
            _store(key(f), kernel)
        return _CACHE[key(func)]
    kernel = _supercell(model, field, func, tol, budget)
    _store(key(func), kernel)
    return kernel


def _supercell(model: TightBinding, field: UniformB, func: Callable, tol: float, budget: Budget | None) -> WignerKernel:
    """Algorithm (a) on the cells |R_s| <= S chosen from the zero-field decay of f (10% margin for the field)."""
    frac = Fraction(field.flux).limit_denominator()
    if float(frac) != field.flux:
        raise ValueError(
            f"method='supercell' needs a rational flux p/q; flux={field.flux!r} is not "
            f"(closest {frac}); use method='chebyshev'"
        )
    try:
        from .static.supercell import supercell_kernel
    except ImportError as err:  # pragma: no cover - algorithm (a) not installed
        raise NotImplementedError("method='supercell' needs keldysh.static.supercell (algorithm (a))") from err
    S0, decay = zero_field_range(model, func, SHARE_TRUNCATION * tol, resources=budget)
    S = int(math.ceil(1.1 * S0)) + 2
    tail = decay.tail(S)
    cells = shell_cells(S)
    # per-entry tolerance: W sums (2S + 1)^2 entries whose mesh errors are smooth, not coherent
    values = np.asarray(supercell_kernel(model, field, func, cells, tol=0.5 * tol / (2 * S + 1)))
    terms = {"truncation": tail, "supercell": 0.5 * tol}
    return WignerKernel(
        cells=cells,
        values=values,
        lattice_vectors=model.lattice_vectors,
        positions=model.positions,
        order=0,
        radius=0,
        range=S,
        error=float(sum(terms.values())),
        error_terms=terms,
        method="supercell",
    )


def band_wigner(
    model: TightBinding,
    field: UniformB,
    band: int,
    k: ArrayLike,
    moment: int = 0,
    tol: float = 1e-11,
    method: str = "auto",
    budget: Budget | None = None,
) -> NDArray[np.complex128]:
    """W of H^moment Pi_band: the exact band projector (moment 0) and its energy moments.

    Pi_band is the spectral projector of the Peierls H onto the energy window of
    band ``band`` (ascending energy), bounded by global gaps of the zero-field
    spectrum (``docs/conventions.md``, "Band windows and energy moments").
    W(H^j Pi_n)(k) is the j-th energy moment of the band-n spectral function.

    Parameters
    ----------
    k
        (..., 2) cartesian momenta.

    Returns
    -------
    ndarray, shape (..., N, N)
        Dimensionless (moment 0) or in units of energy^moment.

    Raises
    ------
    TypeError, ValueError
        Bad input (the message names the argument): band out of range or not isolated by
        global gaps (edges certified between grid points, :func:`keldysh.spectral.band_edges`),
        negative moment, k not of shape (..., 2), ...
    BudgetError
        The gap is too small for the budget (see :func:`wigner_kernel`).
    """
    if isinstance(moment, (bool, np.bool_)) or not isinstance(moment, (int, np.integer)) or moment < 0:
        raise ValueError(f"moment must be a non-negative integer, got {moment!r}")
    _check(model, field, tol, method, budget)
    k = check_momenta(k, model.dim)
    near = None if not isinstance(band, (int, np.integer)) else [b for b in (band - 1, band, band + 1) if 0 <= b < model.norbs]
    window = band_window(model, band, int(moment), edges=band_gaps(model, near))
    return wigner_kernel(model, field, window, tol, method, budget).wigner(k)


def fermi_wigner(
    model: TightBinding,
    field: UniformB,
    mu: float,
    T: float,
    k: ArrayLike,
    tol: float = 1e-11,
    method: str = "auto",
    budget: Budget | None = None,
) -> NDArray[np.complex128]:
    """W of the equilibrium occupation n_F(H) at chemical potential mu and temperature T (k_B = 1).

    This is the Wigner function of the density matrix rho = int deps/(2 pi i) G^<(eps)
    (paper, Eq. 1 and the fluctuation-dissipation relation g_< = i a n_F).
    T = 0 is allowed only with mu in a gap (then n_F(H) is the projector on the
    bands below the gap).

    Returns
    -------
    ndarray, shape (..., N, N)

    Raises
    ------
    TypeError, ValueError
        Bad input, naming the argument (T < 0, non-finite mu, k not of shape (..., 2), ...);
        T = 0 with mu in a band.
    BudgetError, ConvergenceError
        A metal at a temperature too low for the budget or for the Matsubara window.
    """
    occupation = _occupation(mu, T)
    _check(model, field, tol, method, budget)
    k = check_momenta(k, model.dim)
    return wigner_kernel(model, field, occupation, tol, method, budget).wigner(k)


def _occupation(mu, T) -> FermiDirac:
    mu, T = _real("mu", mu), _real("T", T)
    if T < 0:
        raise ValueError(f"T must satisfy T >= 0 (k_B = 1, energy units), got T={T!r}")
    return FermiDirac(mu, T)


def local_density_matrix(
    model: TightBinding,
    field: UniformB,
    mu: float,
    T: float,
    tol: float = 1e-11,
    method: str = "auto",
    budget: Budget | None = None,
) -> NDArray[np.complex128]:
    """On-site block rho~(tau_a, tau_b) of rho = n_F(H) in the bulk (dressed, gauge invariant), shape (N, N).

    The kernel at R_s = 0; its diagonal is the occupation of each orbital, its
    trace the electron density per cell. Accurate to ``tol`` per element.
    Errors as :func:`fermi_wigner`.
    """
    return wigner_kernel(model, field, _occupation(mu, T), tol, method, budget).values[0]


# --------------------------------------------------------------------------- uniform E and B together


def evolved_state(
    model: TightBinding,
    fields,
    mu: float | None,
    T: float | None,
    times: ArrayLike,
    tol: float = 1e-10,
    *,
    method: str = "auto",
    gauge: str = "landau_x",
    band: int | None = None,
    budget: Budget | None = None,
) -> EvolvedState:
    """The density matrix in uniform B and E at the output times, with current and error estimates.

    Initial state rho(0) = n_F(H_B) (equilibrium in the uniform B at chemical potential
    ``mu`` and temperature ``T``, k_B = 1; T = 0 needs mu in a gap of the magnetic
    spectrum) or, with ``band=n`` (and mu = T = None), the projector on the isolated
    band n; at t = 0 the uniform E of ``fields`` is switched on with its ramp
    (temporal gauge: p = k - q A(t), dp/dt = qE; units hbar = a = 1, q folded into
    the fields: beta = 2 pi flux / A_cell, the force qE in energy / a).

    Parameters
    ----------
    model
        2D :class:`TightBinding` (B normal to the plane, E in the plane), or a layered
        3D model (a1, a2 in the xy plane, a3 along z; B along z, E in any direction).
    fields
        ``(UniformB(flux), UniformE(E, ramp))`` or one of them alone: B alone gives the
        stationary equilibrium of the static solver, E alone the B = 0 evolution of
        :mod:`keldysh.dynamics.evolution`.
    mu, T
        Initial chemical potential and temperature (energy units), or None with ``band``.
    times
        Output times (1/energy), strictly increasing, >= 0.
    tol
        Target of the error estimates of W (max over p and elements) and of the current.
    method
        ``"auto"`` (kernel route in 2D, supercell route in 3D), ``"kernel"`` (algorithm (b):
        the dressed home-cell kernel evolved on an adaptive box, any flux, 2D) or
        ``"supercell"`` (algorithm (a): magnetic Bloch sectors, rational flux).
    gauge
        Gauge used internally for B (results are gauge independent).
    band
        Start from the band projector Pi_band instead of n_F.
    budget
        Resource budget (:class:`Budget`); BudgetError beyond it.

    Returns
    -------
    EvolvedState
        ``.current`` (nt, d), ``.wigner(k)`` (nt, ..., N, N), ``.density()``,
        ``.wigner_error``, ``.current_error``, ``.error_terms``, ``.info``.
        Cached: the other ``evolved_*`` functions of the same request reuse it.

    Raises
    ------
    TypeError, ValueError
        Bad input (the message names the argument).
    GapError
        The magnetic field closes the gap a T = 0 occupation or a band projector needs
        (magnetic breakdown), or E drives Zener tunnelling out of a projected band
        above ``tol`` (Landau-Zener).
    BudgetError
        The request needs a box, mesh, memory or time beyond ``budget``.
    """
    return evolve(model, fields, mu, T, times, tol=tol, method=method, gauge=gauge, band=band, budget=budget)


def evolved_current(
    model: TightBinding,
    fields,
    mu: float | None,
    T: float | None,
    times: ArrayLike,
    tol: float = 1e-10,
    *,
    method: str = "auto",
    gauge: str = "landau_x",
    band: int | None = None,
    budget: Budget | None = None,
) -> NDArray[np.float64]:
    """Particle current per unit area (2D) or volume (3D) after switching on E in equilibrium in B.

    j(t) = Tr_cell[rho(t) V(t)] / A_cell with V = i[H(t), r] (the paper's Eq. 34 quantity
    divided by the charge q; the same quantity and sign as
    :func:`keldysh.dynamics.evolution.current_density`; 2 pi j / (qE) is a conductivity in
    units of q^2/h, so a filled set of bands of total Chern number C carries the Hall
    current j = C (z x qE) / (2 pi), i.e. sigma_xy = -C q^2/h). Arguments and errors as
    :func:`evolved_state`.

    Returns
    -------
    ndarray, shape (len(times), d)
        Units energy x a / a^d (hbar = 1).
    """
    return evolved_state(
        model, fields, mu, T, times, tol, method=method, gauge=gauge, band=band, budget=budget
    ).current


def evolved_wigner(
    model: TightBinding,
    fields,
    mu: float | None,
    T: float | None,
    times: ArrayLike,
    k: ArrayLike,
    tol: float = 1e-10,
    *,
    method: str = "auto",
    gauge: str = "landau_x",
    band: int | None = None,
    budget: Budget | None = None,
) -> NDArray[np.complex128]:
    """Gauge-invariant Wigner function W(p, t) of the evolved density matrix at kinetic momenta p = ``k``.

    W(p, t) = sum_s exp(-i p.s) rho~(r0 + s, r0; t), rho~ dressed with the straight
    Wilson lines of B and of A(t) (docs/conventions.md), so that at B = 0
    W(p, t) = rho_{k = p + q A(t)}(t) and at t = 0 W is :func:`fermi_wigner`.
    Arguments and errors as :func:`evolved_state`.

    Returns
    -------
    ndarray, shape (len(times), ..., N, N)
        For k of shape (..., d); dimensionless (the paper's rho-hat(x, p), Eq. 1).
    """
    return evolved_state(
        model, fields, mu, T, times, tol, method=method, gauge=gauge, band=band, budget=budget
    ).wigner(k)


def evolved_greens(
    model: TightBinding,
    fields,
    mu: float | None,
    T: float | None,
    mean_time: float,
    tau: ArrayLike,
    k: ArrayLike,
    tol: float = 1e-10,
    *,
    method: str = "auto",
    gauge: str = "landau_x",
    band: int | None = None,
    budget: Budget | None = None,
) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """Two-time Wigner functions W_<(p; T_m, tau) and W_R(p; T_m, tau) in uniform B and E.

    G^<(t, t') = i U(t) rho(0) U(t')^dagger and G^R(t, t') = -i theta(t - t') U(t) U(t')^dagger
    (theta(0) = 1/2) at t = T_m + tau/2, t' = T_m - tau/2, Wigner transformed at kinetic
    momentum p with the Wilson line of the mean vector potential over [t', t]: the
    conventions of :func:`keldysh.dynamics.evolution.wigner_greens` (to which this reduces
    at B = 0), so that W_<(p; t, 0) = i W(p, t). Energy-resolved functions are the Fourier
    transforms int dtau exp(i eps tau) W(p; T_m, tau). Arguments and errors as
    :func:`evolved_state`; both times must be >= 0.

    Returns
    -------
    (G_lesser, G_retarded), each of shape (len(tau), ..., N, N).
    """
    return evolve_greens(
        model, fields, mu, T, mean_time, tau, k, tol=tol, method=method, gauge=gauge, band=band, budget=budget
    )
