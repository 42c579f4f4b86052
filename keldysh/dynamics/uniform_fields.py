"""A lattice in uniform B and E together: the evolved density matrix, Green's functions and current.

Setting (hbar = a = 1, the charge q folded into the fields; docs/conventions.md):
the system is in equilibrium in a uniform B along z, rho(0) = n_F(H_B) at
chemical potential mu and temperature T (or the projector Pi_n of an isolated
band, ``band=n``), and a uniform E (:class:`keldysh.fields.UniformE`, force
F = qE, ramp s(t/tau)) is switched on at t = 0. For t > 0 (temporal gauge,
p = k - q A(t), dp/dt = qE)

    rho(t) = U(t) rho(0) U(t)^dagger,                     i dU/dt = H(t) U,
    G^<(t, t') = i U(t) rho(0) U(t')^dagger,   G^R(t, t') = -i theta(t - t') U(t) U(t')^dagger,

theta(0) = 1/2, with H(t) the Peierls Hamiltonian whose hops carry the extra
phase exp(i q A(t).(r1 - r2)). Outputs, all gauge invariant:

- W(p, t) = sum_s exp(-i p.s) rho~(r0 + s, r0; t) at kinetic momentum p, the
  Wilson lines of B and of A(t) included (at B = 0: rho_{k = p + qA(t)}(t));
- W_<(p; T, tau), W_R(p; T, tau) of G(T + tau/2, T - tau/2), with the Wilson
  line of the mean vector potential over the two times (the conventions of
  :func:`keldysh.dynamics.evolution.wigner_greens`);
- the particle current per unit area (2D) or volume (3D)
  j(t) = Tr_cell[rho(t) V(t)] / A_cell, V = i[H(t), r]: the quantity and sign of
  :func:`keldysh.dynamics.evolution.current_density` (multiply by q for the charge
  current; 2 pi j / (qE) is a conductivity in units of q^2/h).

Routes (``method``)
-------------------
``"kernel"`` (algorithm (b), :mod:`keldysh.dynamics.kernel_evolution`): 2D models
at any flux; the dressed home-cell kernel evolves under the twisted von Neumann
generator on an adaptive box. ``"supercell"`` (algorithm (a),
:mod:`keldysh.dynamics.supercell_evolution`): rational flux p/q, 2D or layered
3D (B along z, E in any direction), magnetic Bloch sectors evolved by the
sixth-order Magnus propagator. ``"auto"``: kernel in 2D, supercell in 3D.
With only a :class:`UniformB` the state is the stationary equilibrium of the
static solver; with only a :class:`UniformE` the B = 0 evolution of
:mod:`keldysh.dynamics.evolution` (per canonical k).

Errors
------
Every result carries estimates: ``wigner_error`` (max over p and elements of
|W - W_exact|) and ``current_error`` (max over components of |j - j_exact|),
with their terms (see the route modules). ``tol`` is the target of both; the
route is refined until the estimates meet it or a resource budget
(:class:`keldysh.static.budget.Budget`, memory and CPU seconds) is exceeded,
which raises :class:`keldysh.static.budget.BudgetError` naming the radius or
mesh needed. :class:`keldysh.errors.GapError` is raised when the magnetic field
closes the gap that a T = 0 occupation or a band projector needs (magnetic
breakdown), and, for a band projector (``band=n``), when the electric field
would drive Zener tunnelling out of the band at a rate above ``tol``
(Landau-Zener probability exp(-pi Delta^2 / (2 |F| v_rel)) over one pass, Delta the
smallest direct gap to a neighbouring band, v_rel the largest rate of change
of the band separation along F).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import GapError
from ..fields import UniformB, UniformE
from ..lattice import TightBinding, check_momenta
from ..layered.slices import kz_slice
from ..spectral import BandWindow, FermiDirac, band_window
from ..static.bands import model_fingerprint, spectral_bounds, zero_field_bands, zero_field_range
from ..static.budget import DENSE_RATE, SPARSE_RATE, Budget, BudgetError, resolve
from ..static.chebyshev import chebyshev_kernel
from ..static.kernel import WignerKernel
from ..static.supercell import rational_flux
from ..wigner import wigner_from_kernel
from .evolution import current_density, initial_density, propagate, wigner_greens
from .kernel_evolution import STEP_PHASE, KernelStepper, box_from_kernel, kernel_current
from .liouvillian import box_cells
from .supercell_evolution import SupercellState, supercell_states

__all__ = [
    "METHODS",
    "EvolvedState",
    "evolve",
    "evolve_greens",
    "slice_density",
    "split_fields",
]

METHODS = ("auto", "kernel", "supercell")
#: Shares of ``tol``: the initial kernel, and the propagation (series, ramp, leak / aliasing, propagation).
SHARE_INITIAL, SHARE_PROPAGATION = 0.4, 0.5
#: Largest reduced mesh of the supercell route (per in-plane axis) and k_z mesh.
MAX_MESH, MAX_KZ = 64, 1024
_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8


# ----------------------------------------------------------------------------- inputs


def split_fields(model: TightBinding, fields) -> tuple[UniformB | None, UniformE | None]:
    """(B, E) from ``fields``: a UniformB, a UniformE, or a tuple of at most one of each.

    Raises
    ------
    TypeError
        Anything else in ``fields``.
    ValueError
        Two fields of one kind, none at all, E with the wrong number of components
        (2D: in-plane E, two components; 3D layered: three), or a model of the wrong dimension.
    """
    if not isinstance(model, TightBinding):
        raise TypeError(f"model must be a keldysh TightBinding, got {type(model).__name__}")
    items = fields if isinstance(fields, (tuple, list)) else (fields,)
    B = E = None
    for f in items:
        if isinstance(f, UniformB):
            if B is not None:
                raise ValueError("fields holds two UniformB")
            B = f
        elif isinstance(f, UniformE):
            if E is not None:
                raise ValueError("fields holds two UniformE")
            E = f
        else:
            raise TypeError(f"fields must hold keldysh.UniformB and/or keldysh.UniformE, got {type(f).__name__}")
    if B is None and E is None:
        raise ValueError("fields is empty: give a UniformB, a UniformE or both")
    if model.dim not in (2, 3):
        raise ValueError(f"uniform B along z needs a 2D or layered 3D model, got dim={model.dim}")
    if E is not None and E.dim != model.dim:
        raise ValueError(
            f"E has {E.dim} components but the model is {model.dim}-dimensional "
            + ("(in 2D, E lies in the plane: two components)" if model.dim == 2 else "(3D: three components)")
        )
    if model.dim == 3:
        a = model.lattice_vectors
        if np.any(np.abs(a[:2, 2]) > 1e-12) or np.any(np.abs(a[2, :2]) > 1e-12):
            raise ValueError("a 3D model in B along z needs a1, a2 in the xy plane and a3 along z (layered)")
    return B, E


def _occupation(model: TightBinding, mu, T, band) -> FermiDirac | BandWindow:
    if band is not None:
        if mu is not None or T is not None:
            raise ValueError("give either mu and T (Fermi-Dirac state) or band (a filled band), not both")
        if isinstance(band, bool) or not isinstance(band, (int, np.integer)):
            raise TypeError(f"band must be an integer band index, got {band!r}")
        return band_window(model, int(band))
    for name, v in (("mu", mu), ("T", T)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            raise TypeError(f"{name} must be a finite real number, got {v!r}")
    if T < 0:
        raise ValueError(f"T must satisfy T >= 0 (k_B = 1, energy units), got T={T!r}")
    return FermiDirac(float(mu), float(T))


def _times(times: ArrayLike, name: str = "times") -> NDArray[np.float64]:
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"{name} must be a non-empty 1D array, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"{name} must be finite and >= 0 (the field is switched on at t = 0), got {t}")
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {t}")
    return t


def _check_common(tol, method, gauge, budget) -> None:
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if gauge not in ("landau_x", "landau_y", "symmetric"):
        raise ValueError(f"unknown gauge {gauge!r}; choose landau_x, landau_y or symmetric")
    resolve(budget)


def _route(model: TightBinding, B: UniformB | None, E: UniformE | None, method: str) -> str:
    if B is None:
        return "bloch"
    if method == "auto":
        return "kernel" if model.dim == 2 else "supercell"
    if method == "kernel" and model.dim == 3:
        raise ValueError("method='kernel' handles 2D models; layered 3D models use method='supercell'")
    return method


# ----------------------------------------------------------------------------- gap checks


def _zener_check(model: TightBinding, occ, E: UniformE | None, tol: float) -> None:
    """GapError if a band projector's band is not isolated against Zener tunnelling in the E field."""
    if not isinstance(occ, BandWindow) or E is None or E.strength == 0:
        return
    n = occ.band
    nk = 48
    u = np.arange(nk) / nk
    frac = np.stack(np.meshgrid(*([u] * model.dim), indexing="ij"), axis=-1).reshape(-1, model.dim)
    k = frac @ model.reciprocal_vectors
    e, U = np.linalg.eigh(model.bloch(k))
    dh = np.einsum("kan,kiab,kbn->kni", U.conj(), model.bloch_derivative(k), U).real  # (nk, N, d)
    F = E.vector
    worst = 0.0
    for m in (n - 1, n + 1):
        if not 0 <= m < model.norbs:
            continue
        delta = float(np.abs(e[:, m] - e[:, n]).min())
        v_rel = float(np.abs((dh[:, m] - dh[:, n]) @ (F / np.linalg.norm(F))).max())
        prob = math.exp(-math.pi * delta**2 / (2 * np.linalg.norm(F) * max(v_rel, 1e-300)))
        worst = max(worst, prob)
        if prob > tol:
            raise GapError(
                f"the electric field |qE| = {np.linalg.norm(F):.3g} drives Zener tunnelling out of band {n}: "
                f"Landau-Zener probability exp(-pi Delta^2 / (2 |qE| v_rel)) = {prob:.2g} > tol = {tol:.2g} "
                f"(smallest direct gap Delta = {delta:.3g} to band {m}, v_rel = {v_rel:.3g}); the band projector "
                f"Pi_{n} is not isolated in this field: use a weaker field or a Fermi-Dirac state"
            )


def _magnetic_gap_check(state: SupercellState, occ, flux: float) -> None:
    """GapError if a discontinuity of the occupation (T = 0 chemical potential, window edge) lies in a magnetic band."""
    if isinstance(occ, FermiDirac):
        edges = [occ.mu] if occ.T == 0 else []
    else:
        edges = [e for e in (occ.lower, occ.upper) if math.isfinite(e)]
    if not edges:
        return
    E = state.energies.reshape(-1, state.energies.shape[-1])
    lo, hi = E.min(axis=0), E.max(axis=0)
    width = float(E.max() - E.min())
    for edge in edges:
        pad = 1e-9 * width + 0.05 * (hi - lo)  # magnetic bands are flat in k: sampled extremes are nearly exact
        inside = np.nonzero((lo - pad <= edge) & (edge <= hi + pad))[0]
        if len(inside):
            i = int(inside[0])
            raise GapError(
                f"the magnetic field (flux {flux:g}) closes the gap at E = {edge:.6g} that the "
                + ("T = 0 occupation" if isinstance(occ, FermiDirac) else f"band window of band {occ.band}")
                + f" needs: magnetic band {i} spans [{lo[i]:.6g}, {hi[i]:.6g}] (magnetic breakdown)"
            )


# ----------------------------------------------------------------------------- state


@dataclass
class EvolvedState:
    """The evolved density matrix at every output time, with its current and error estimates.

    Attributes
    ----------
    model, bfield, efield, occupation
        The problem (``bfield`` / ``efield`` None when absent).
    times
        Output times (nt,), units 1/energy.
    method
        ``"kernel"``, ``"supercell"``, ``"static"`` (B alone) or ``"bloch"`` (E alone).
    current
        Particle current per unit area (2D) / volume (3D), shape (nt, d).
    wigner_error, current_error
        Estimates of max |W - W_exact| and max |j - j_exact| per time, shape (nt,).
    error_terms
        Their parts (W norm), name -> (nt,).
    info
        Diagnostics (box radius or mesh, steps, matrix-vector products, norm drift).
    """

    model: TightBinding
    bfield: UniformB | None
    efield: UniformE | None
    occupation: object
    times: NDArray[np.float64]
    method: str
    current: NDArray[np.float64]
    wigner_error: NDArray[np.float64]
    current_error: NDArray[np.float64]
    error_terms: dict = dc_field(default_factory=dict)
    info: dict = dc_field(default_factory=dict)
    kernels: list = dc_field(default_factory=list, repr=False)
    _bloch_tol: float = 1e-10

    def wigner(self, k: ArrayLike) -> NDArray[np.complex128]:
        """W(p, t_i) at kinetic momenta p = ``k`` (..., d): shape (nt, ..., N, N), dimensionless."""
        k = check_momenta(k, self.model.dim, "k")
        if self.method == "bloch":
            out = []
            for t in self.times:
                kc = self.efield.canonical_momentum(k, t)
                evo = propagate(self.model, self.efield, kc, [t], tol=self._bloch_tol)
                out.append(evo.density_matrix(initial_density(self.model, kc, self.occupation))[0])
            return np.array(out)
        lv, pos = self.model.lattice_vectors, self.model.positions
        return np.array([wigner_from_kernel(lv, pos, c, v, k) for c, v in self.kernels])

    def density(self) -> NDArray[np.float64]:
        """Particles per unit area (2D) / volume (3D) at every output time, shape (nt,)."""
        area = self.model.cell_area
        if self.method == "bloch":  # conserved: the Brillouin-zone average of Tr f(h(k))
            return np.full(len(self.times), self.info["density"])
        return np.array([np.trace(v[np.all(c == 0, axis=1)][0]).real for c, v in self.kernels]) / area


def _velocity_norm(model: TightBinding) -> float:
    """||V~||_2 of the velocity kernel V~(s) = -i s H~(s): sqrt(sum_d sum_ab |s_ab(d) T_d[a, b]|^2)."""
    disp = model.displacements  # (nR, N, N, d)
    return float(np.sqrt(((np.abs(model.hopping_matrices)[..., None] * np.abs(disp)) ** 2).sum()))


def _max_velocity(model: TightBinding) -> float:
    """Largest group velocity |grad eps_n(k)| of the zero-field bands (64^2 grid), energy x a."""
    k, _, U = zero_field_bands(model, 64)
    v = np.einsum("kna,kinm,kma->kai", U.conj(), model.bloch_derivative(k), U).real
    return float(np.linalg.norm(v, axis=-1).max())


# ----------------------------------------------------------------------------- routes


def _budget_error(budget: Budget):
    """The callback that the kernel stepper calls when its box would exceed the memory budget."""

    def exceed(nbytes: float, radius: int, t: float) -> None:
        raise BudgetError(
            f"the kernel evolution needs a box of radius {radius} cells at t = {t:.4g} (about "
            f"{nbytes / 1e9:.3g} GB > budget memory_gb={budget.memory_gb:g}); the kernel spreads with time: "
            "shorten the times, raise the temperature or pass budget=Budget(memory_gb=..., seconds=...)"
        )

    return exceed


def _kernel_route(model, B, E, occ, times, tol, gauge, budget, *, left=1.0, right=1.0, start=None, t0=0.0):
    """Algorithm (b) from ``t0``: the initial kernel (n_F(H_B) unless ``start`` is given) propagated to ``times``.

    ``left, right = 1, 1`` evolves a density matrix, ``1, 0`` applies U(t, t0) from the left.
    Returns (snapshots, initial kernel, stepper).
    """
    budget = resolve(budget)
    kernel = start if start is not None else chebyshev_kernel(model, B, occ, _initial_tol(model, tol), gauge, budget=budget)
    S0 = max(int(kernel.range), 1)
    lo, hi = spectral_bounds(model, B, gauge)
    span = float(np.abs(np.asarray(times) - t0).max())
    vnorm = _velocity_norm(model)
    stepper = KernelStepper(
        model.hoppings, model.positions, model.lattice_vectors, B.beta(model.cell_area), E, (lo, hi),
        2.0 * _max_velocity(model), left=left, right=right,
        eps_l1=SHARE_PROPAGATION * tol, eps_l2=SHARE_PROPAGATION * tol * model.cell_area / max(vnorm, 1e-300),
        span=max(span, 1.0), memory=budget.memory_gb * 1e9, exceed=_budget_error(budget),
        floor=_dropped(kernel),
    )
    # a-priori estimate: ~ (spectral width) x (time) Chebyshev products on the starting box
    S_start = S0 + stepper._margin(min(span, STEP_PHASE / max(hi - lo, 1e-300)))
    nnz = 2 * sum(int(np.count_nonzero(T)) for T in model.hoppings.values()) * model.norbs * (2 * S_start + 1) ** 2
    products = 1.3 * (hi - lo) * span + 40 * len(times)
    budget.check(
        "the kernel evolution", stepper._bytes(S_start), products * nnz / SPARSE_RATE,
        cause=f"box radius {S_start}, time {span:g}", advice="shorten the times or raise the temperature",
    )
    X0 = box_from_kernel(kernel.cells, kernel.values, S_start)
    return stepper.run(X0, S_start, t0, np.asarray(times, dtype=float)), kernel, stepper


def _dropped(kernel: WignerKernel) -> float:
    """l1 mass (max over elements) that the initial kernel dropped beyond its range (its truncation term)."""
    return float(kernel.error_terms.get("truncation", 0.0))


def _initial_tol(model: TightBinding, tol: float) -> float:
    """Tolerance of the initial kernel's W such that it meets its share of ``tol`` for W and for the current.

    |delta j| <= ||delta X||_2 ||V~||_2 / A_cell and ||delta X||_2 <= N max |delta W| (Parseval).
    """
    return SHARE_INITIAL * tol * min(1.0, model.cell_area / (model.norbs * _velocity_norm(model)))


def _kernel_state(model, B, E, occ, times, tol, gauge, budget) -> EvolvedState:
    snaps, kernel, stepper = _kernel_route(model, B, E, occ, times, tol, gauge, budget)
    vnorm, A_cell, N = _velocity_norm(model), model.cell_area, model.norbs
    # the dropped tail travels as a wave that the box may reflect instead of letting it out: once more its mass
    kernels, current = [], []
    terms = {"initial": np.full(len(times), kernel.error), "reflection": np.full(len(times), _dropped(kernel))}
    l2 = np.zeros(len(times))
    for name in ("series", "ramp", "leak"):
        terms[name] = np.array([s.l1[name] for s in snaps])
    for i, s in enumerate(snaps):
        cells = box_cells(s.S).reshape(-1, 2)
        values = np.moveaxis(s.X, (0, 1), (-2, -1)).reshape(-1, N, N)
        kernels.append((cells, values))
        current.append(kernel_current(model.hoppings, model.positions, model.lattice_vectors, s.X, s.S))
        l2[i] = sum(s.l2.values())
    w_err = sum(terms.values())
    j_err = (N * (kernel.error + _dropped(kernel)) + l2) * vnorm / A_cell
    info = {
        "radius": [s.S for s in snaps], "steps": stepper.steps, "products": stepper.matvecs,
        "norm_drift": [s.norm_drift for s in snaps], "initial_range": int(kernel.range),
    }
    return EvolvedState(model, B, E, occ, times, "kernel", np.array(current), w_err, j_err, terms, info, kernels)


def _aliasing(cells: NDArray, values: NDArray, reach: NDArray) -> float:
    """l1 mass (max over elements) of a torus kernel beyond half its reach per axis."""
    outer = np.any(np.abs(cells) > reach[None, :] / 4.0, axis=1)
    return float(np.abs(values[outer]).sum(axis=0).max()) if outer.any() else 0.0


def _rim(cells: NDArray, values: NDArray, reach: NDArray) -> float:
    """Largest |entry| of a torus kernel on its outermost shells (within 2 cells of half the reach)."""
    rim = np.any(np.abs(cells) >= reach[None, :] / 2.0 - 2, axis=1)
    return float(np.abs(values[rim]).max()) if rim.any() else 0.0


def _supercell_state(model, B, E, occ, times, tol, gauge, budget) -> EvolvedState:
    """Algorithm (a) on reduced meshes doubled until the torus kernel's aliasing estimate meets its share."""
    budget = resolve(budget)
    gauge = "landau_x" if gauge == "symmetric" else gauge
    _, q = rational_flux(B.flux)
    share = SHARE_PROPAGATION * tol
    plane = model if model.dim == 2 else kz_slice(model, 0.0)  # the in-plane range of a slice sets the first mesh
    S0, _ = zero_field_range(plane, occ, share, resources=budget)
    mesh = max(1, math.ceil((2.5 * S0 + 8) / q))
    nz = 16 if model.dim == 3 else 1
    N = model.norbs
    width = 2.0 * sum(float(np.linalg.norm(T, 2)) for T in model.hoppings.values())  # bounds the spectral width
    to_current = N * _velocity_norm(model) / model.cell_area  # element error of rho -> error of j
    rho_tol = 0.5 * share * min(1.0, 1.0 / to_current)
    while True:
        if mesh > MAX_MESH or nz > MAX_KZ:
            raise BudgetError(
                f"the magnetic-supercell kernel has not decayed within the mesh limits ({MAX_MESH}^2 reduced points"
                + (f", {MAX_KZ} k_z points" if model.dim == 3 else "")
                + f" at flux 1/{q}): the state is too long-ranged; use method='kernel' or a higher temperature"
            )
        nk, size = mesh * mesh * nz, q * N
        seconds = 0.0 if E is None else 30.0 * size**3 * nk * width * float(times[-1]) / DENSE_RATE
        budget.check(
            "the magnetic-supercell evolution", 16.0 * size * size * nk * (len(times) + 6), seconds,
            cause=f"flux 1/{q}, reduced mesh {mesh}^2" + (f" x {nz}" if model.dim == 3 else "") + f", time {times[-1]:g}",
            advice="use method='kernel' (any flux, 2D) or shorter times",
        )
        state = supercell_states(model, B, E, occ, times, mesh=mesh, nz=nz, gauge=gauge, tol=rho_tol)
        _magnetic_gap_check(state, occ, B.flux)
        kernels = [state.kernel(state.density(i), _qA(E, t, model.dim)) for i, t in enumerate(times)]
        reach = np.array([mesh * q, mesh * q] + ([nz] if model.dim == 3 else []), dtype=float)
        alias = np.array([_aliasing(c, v, reach) for c, v in kernels])
        if alias.max() <= share / 2:
            break
        if model.dim == 3:
            plane = max(_aliasing(c, v, np.array([reach[0], reach[1], np.inf])) for c, v in kernels)
            depth = max(_aliasing(c, v, np.array([np.inf, np.inf, nz])) for c, v in kernels)
            nz *= 2 if depth > share / 4 else 1
            mesh = math.ceil(1.5 * mesh) if plane > share / 4 or depth <= share / 4 else mesh
        else:
            mesh = math.ceil(1.5 * mesh)
    prop = np.full(len(times), state.error_terms["propagation"])
    terms = {"aliasing": alias, "propagation": prop}
    w_err = sum(terms.values())
    # the current reads the kernel next to the home cell: its images sit a torus length away, where the
    # torus kernel is at most its largest entry on the outermost shells
    rim = np.array([_rim(c, v, reach) for c, v in kernels])
    j_err = (rim + prop) * to_current
    info = {"mesh": mesh, "nz": nz if model.dim == 3 else None, "q": q}
    return EvolvedState(model, B, E, occ, times, "supercell", state.current(), w_err, j_err, terms, info, kernels)


def _static_state(model, B, occ, times, tol, gauge, budget, method) -> EvolvedState:
    """B alone: the stationary equilibrium (static solver), repeated at every time."""
    if method == "supercell" or model.dim == 3:
        state = _supercell_state(model, B, None, occ, times[:1], tol, gauge, budget)
        n = len(times)
        return EvolvedState(
            model, B, None, occ, times, "static", np.repeat(state.current, n, axis=0),
            np.repeat(state.wigner_error, n), np.repeat(state.current_error, n),
            {k: np.repeat(v, n) for k, v in state.error_terms.items()}, state.info, state.kernels * n,
        )
    kernel = chebyshev_kernel(model, B, occ, _initial_tol(model, tol), gauge, budget=resolve(budget))
    N, n = model.norbs, len(times)
    S = int(kernel.range)
    X = box_from_kernel(kernel.cells, kernel.values, S)
    j = kernel_current(model.hoppings, model.positions, model.lattice_vectors, X, S)
    j_err = N * kernel.error * _velocity_norm(model) / model.cell_area
    return EvolvedState(
        model, B, None, occ, times, "static", np.tile(j, (n, 1)), np.full(n, kernel.error), np.full(n, j_err),
        {"initial": np.full(n, kernel.error)}, {"initial_range": S}, [(kernel.cells, kernel.values)] * n,
    )


def _bloch_state(model, E, occ, times, tol) -> EvolvedState:
    """E alone: the B = 0 evolution per canonical k; the current on nested Brillouin-zone grids."""
    n = 32
    prev = None
    while True:
        u = (np.arange(n) + 0.5) / n
        k = np.stack(np.meshgrid(*([u] * model.dim), indexing="ij"), axis=-1) @ model.reciprocal_vectors
        evo = propagate(model, E, k, times, tol=0.1 * tol)
        rho0 = initial_density(model, k, occ)
        j = current_density(model, evo, rho0)
        if prev is not None and np.abs(j - prev).max() < 0.5 * tol:
            break
        if n >= (512 if model.dim == 2 else 128):
            raise BudgetError(
                f"the B = 0 current has not converged on a {n}^{model.dim} grid (change {np.abs(j - prev).max():.2g}): "
                "raise the temperature or tol"
            )
        prev, n = j, 2 * n
    err = np.full(len(times), float(np.abs(j - prev).max()) + evo.error_estimate)
    return EvolvedState(
        model, None, E, occ, times, "bloch", j, np.full(len(times), 2 * evo.error_estimate), err,
        {"propagation": np.full(len(times), 2 * evo.error_estimate)},
        {"grid": n, "density": float(np.trace(rho0, axis1=-2, axis2=-1).real.mean()) / model.cell_area}, [], 0.1 * tol,
    )


# ----------------------------------------------------------------------------- public


def _key(model, fields, occ, times, tol, method, gauge):
    B, E = fields
    return (model_fingerprint(model), B, E, occ, tuple(np.asarray(times).tolist()), float(tol), method, gauge)


def evolve(
    model: TightBinding,
    fields,
    mu: float | None,
    T: float | None,
    times: ArrayLike,
    *,
    tol: float = 1e-10,
    method: str = "auto",
    gauge: str = "landau_x",
    band: int | None = None,
    budget: Budget | None = None,
) -> EvolvedState:
    """The density matrix evolved in uniform B and E at the output times, with its current (module docstring).

    Parameters
    ----------
    model
        2D :class:`TightBinding`, or layered 3D (a1, a2 in the xy plane, a3 along z).
    fields
        ``(UniformB(flux), UniformE(E, ramp))``, or one of them alone.
    mu, T
        Chemical potential and temperature (k_B = 1, energy units) of the initial
        equilibrium n_F(H_B); T = 0 needs mu in a gap of the magnetic spectrum.
        None (both) with ``band``.
    times
        Output times, strictly increasing, >= 0 (units 1/energy, hbar = 1).
    tol
        Target of the error estimates of W (max over p and elements) and of the current.
    method
        ``"auto"``, ``"kernel"`` (2D, any flux) or ``"supercell"`` (rational flux, 2D or 3D).
    gauge
        Gauge of B used internally (results do not depend on it): ``"landau_x"``,
        ``"landau_y"`` or ``"symmetric"`` (the kernel route's initial state;
        ``"symmetric"`` means ``"landau_x"`` for the supercell route).
    band
        Start from the projector on this isolated band instead (mu, T None).
    budget
        Resource budget (:class:`keldysh.static.budget.Budget`; default 8 GB, 600 s).

    Returns
    -------
    EvolvedState
        Cached per (model content, fields, state, times, tol, method, gauge).

    Raises
    ------
    TypeError, ValueError
        Bad input (the message names the argument).
    GapError
        The field closes a gap the initial state needs (module docstring).
    BudgetError
        The request needs more memory or time than ``budget``.
    ConvergenceError
        An error estimate stays above ``tol``.
    """
    B, E = split_fields(model, fields)
    occ = _occupation(model, mu, T, band)
    times = _times(times)
    _check_common(tol, method, gauge, budget)
    route = _route(model, B, E, method)
    key = _key(model, (B, E), occ, times, tol, route, gauge)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    _zener_check(model, occ, E, tol)
    if route == "bloch":
        state = _bloch_state(model, E, occ, times, tol)
    elif E is None:
        state = _static_state(model, B, occ, times, tol, gauge, budget, method)
    elif route == "kernel":
        state = _kernel_state(model, B, E, occ, times, tol, gauge, budget)
    else:
        state = _supercell_state(model, B, E, occ, times, tol, gauge, budget)
    _CACHE[key] = state
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return state


def evolve_greens(
    model: TightBinding,
    fields,
    mu: float | None,
    T: float | None,
    mean_time: float,
    tau: ArrayLike,
    k: ArrayLike,
    *,
    tol: float = 1e-10,
    method: str = "auto",
    gauge: str = "landau_x",
    band: int | None = None,
    budget: Budget | None = None,
) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """Two-time Wigner functions W_<(p; T_m, tau) and W_R(p; T_m, tau) of G(T_m + tau/2, T_m - tau/2).

    The conventions of :func:`keldysh.dynamics.evolution.wigner_greens`: kinetic
    momentum p, Wilson line of the mean vector potential over the two times,
    G^<(t, t) = i rho(t), G^R(t, t) = -i/2 (theta(0) = 1/2). Both times must be >= 0.

    Returns
    -------
    (G_lesser, G_retarded), each of shape (ntau, ..., N, N) for p = ``k`` of shape (..., d).
    """
    B, E = split_fields(model, fields)
    occ = _occupation(model, mu, T, band)
    _check_common(tol, method, gauge, budget)
    route = _route(model, B, E, method)
    tau = np.atleast_1d(np.asarray(tau, dtype=float))
    if tau.ndim != 1 or not np.all(np.isfinite(tau)):
        raise ValueError(f"tau must be a finite 1D array, got {tau!r}")
    if isinstance(mean_time, bool) or not math.isfinite(float(mean_time)):
        raise ValueError(f"mean_time must be finite, got {mean_time!r}")
    t_plus, t_minus = mean_time + tau / 2, mean_time - tau / 2
    if min(t_plus.min(), t_minus.min()) < 0:
        raise ValueError(f"mean_time={mean_time} too small for |tau| up to {np.abs(tau).max():g}: both times must be >= 0")
    p = check_momenta(k, model.dim, "k")
    _zener_check(model, occ, E, tol)
    if route == "bloch":
        return wigner_greens(model, E, p, mean_time, tau, occ, tol=tol)
    if route == "supercell":
        return _supercell_greens(model, B, E, occ, t_plus, t_minus, p, tol, gauge, budget)
    return _kernel_greens(model, B, E, occ, t_plus, t_minus, p, tol, gauge, budget)


def _qA(E: UniformE | None, t, d: int) -> NDArray[np.float64]:
    t = np.asarray(t, dtype=float)
    return np.zeros(t.shape + (d,)) if E is None else E.vector_potential(t)


def _mean_qA(E: UniformE | None, t1, t2, d: int) -> NDArray[np.float64]:
    t1 = np.asarray(t1, dtype=float)
    return np.zeros(t1.shape + (d,)) if E is None else E.mean_vector_potential(t1, t2)


def _kernel_greens(model, B, E, occ, t_plus, t_minus, p, tol, gauge, budget):
    """Algorithm (b): rho(t') by the commutator evolution, then the left product U(t, t') on its kernel (and on 1)."""
    d, N = model.dim, model.norbs
    order = np.unique(t_minus)
    snaps, _, _ = _kernel_route(model, B, E, occ, order, tol, gauge, budget)
    at = {float(t): s for t, s in zip(order, snaps)}
    lv, pos = model.lattice_vectors, model.positions

    def as_kernel(cells, values, S):
        return WignerKernel(cells=cells, values=values, lattice_vectors=lv, positions=pos, order=0, radius=0, range=S, error=0.0)

    identity = as_kernel(np.zeros((1, 2), dtype=np.int64), np.eye(N, dtype=complex)[None], 1)
    lesser, retarded = [], []
    for tp, tm in zip(t_plus, t_minus):
        start = at[float(tm)]
        rho = as_kernel(box_cells(start.S).reshape(-1, 2), np.moveaxis(start.X, (0, 1), (-2, -1)).reshape(-1, N, N), start.S)
        out = []
        for init in (rho, identity):
            if tp == tm:
                Z, S = box_from_kernel(init.cells, init.values, init.range), init.range
            else:
                (snap,), _, _ = _kernel_route(
                    model, B, E, occ, np.array([tp]), tol, gauge, budget, left=1.0, right=0.0, start=init, t0=float(tm)
                )
                Z, S = snap.X, snap.S
            values = np.moveaxis(Z, (0, 1), (-2, -1)).reshape(-1, N, N)
            # Z is dressed with A(t); the two-time Wilson line needs the mean over [t', t]
            shift = _mean_qA(E, tp, tm, d) - _qA(E, tp, d)
            out.append(wigner_from_kernel(lv, pos, box_cells(S).reshape(-1, 2), values, p + shift))
        theta = 1.0 if tp > tm else (0.5 if tp == tm else 0.0)
        lesser.append(1j * out[0])
        retarded.append(-1j * theta * out[1])
    return np.array(lesser), np.array(retarded)


def _supercell_greens(model, B, E, occ, t_plus, t_minus, p, tol, gauge, budget):
    """Algorithm (a): U_k at every time, then the torus kernels of i U rho0 U'^dagger and -i theta U U'^dagger."""
    gauge = "landau_x" if gauge == "symmetric" else gauge
    d = model.dim
    times = np.unique(np.concatenate([t_plus, t_minus]))
    state0 = _supercell_state(model, B, E, occ, times, tol, gauge, budget)
    mesh, nz = state0.info["mesh"], state0.info["nz"] or 1
    st = supercell_states(model, B, E, occ, times, mesh=mesh, nz=nz, gauge=gauge, tol=SHARE_PROPAGATION * tol / 2)
    idx = {float(t): i for i, t in enumerate(times)}
    lv, pos = model.lattice_vectors, model.positions
    lesser, retarded = [], []
    for tp, tm in zip(t_plus, t_minus):
        Up, Um = st.U[idx[float(tp)]], st.U[idx[float(tm)]]
        Umd = np.conj(np.swapaxes(Um, -1, -2))
        qA = _mean_qA(E, tp, tm, d)
        c1, v1 = st.kernel(Up @ st.rho0 @ Umd, qA)
        c2, v2 = st.kernel(Up @ Umd, qA)
        theta = 1.0 if tp > tm else (0.5 if tp == tm else 0.0)
        lesser.append(1j * wigner_from_kernel(lv, pos, c1, v1, p))
        retarded.append(-1j * theta * wigner_from_kernel(lv, pos, c2, v2, p))
    return np.array(lesser), np.array(retarded)


def slice_density(
    model: TightBinding,
    fields,
    mu: float | None,
    T: float | None,
    times: ArrayLike,
    kz: ArrayLike,
    *,
    tol: float = 1e-10,
    gauge: str = "landau_x",
    mesh: int = 1,
    band: int | None = None,
    budget: Budget | None = None,
) -> NDArray[np.float64]:
    """Layered 3D: particles per unit area of the k_z slice at kinetic k_z, n(k_z; t), shape (nt, nkz).

    n(k_z; t) = (1/A_xy) <Tr rho_{k, k_z + q A_z(t)}(t)>_k over the reduced magnetic
    zone (algorithm (a), ``mesh`` x ``mesh`` points: a torus of (mesh q)^2 cells),
    so that (1/2 pi) int dk_z n(k_z; t) over a window of kinetic k_z counts the
    particles whose kinetic momentum lies in it (the chiral-anomaly pumping of
    :func:`keldysh.layered.pumped_particles`).
    """
    B, E = split_fields(model, fields)
    if model.dim != 3 or B is None:
        raise ValueError("slice_density needs a layered 3D model and a UniformB")
    occ = _occupation(model, mu, T, band)
    times = _times(times)
    _check_common(tol, "supercell", gauge, budget)
    kz = np.atleast_1d(np.asarray(kz, dtype=float))
    out = []
    for t in times:
        shift = _qA(E, t, 3)[2]
        st = supercell_states(
            model, B, E, occ, [t] if t > 0 else [0.0], mesh=mesh, kz=kz + shift, gauge="landau_x" if gauge == "symmetric" else gauge, tol=tol,
        )
        _magnetic_gap_check(st, occ, B.flux)
        out.append(st.slice_density()[0])
    return np.array(out)
