"""O(hbar) kinetic theory in a uniform B and a uniform E(t) together (paper Eqs. 19-20, 24-31, 34).

The protocol (the exact side's): equilibrium in a uniform B along z at t < 0,
rho = n_F(H_B); a uniform force q E(t) switched on at t = 0 (a constant, a
callable, or an object with ``field(t)`` such as ``keldysh.UniformE`` with its
ramp). Units and signs as in :mod:`semiclassics.characteristics`: hbar = a = 1,
q folded into the fields, ``beta = 2 pi flux / A_xy``, dp/dt = q E.

Distributions (Eqs. 20, 30). f-bar_n(p, t) = n_F(eps-bar_n(P0)), P0 the foot
of the characteristic of band n through (p, t) (:func:`occupations`); its
momentum gradient from the Jacobian of the backward flow. Bands whose initial
occupation is the same number everywhere (a filled or empty band: n_F(eps-bar)
equal to 0 or 1 in double precision over the whole band) are not traced.

Current. Two forms, kept apart so that the exact solver can tell them apart:

- ``form="eq31"``: the flux of Eq. 31, j = sum_n int Z_c^n f-bar_n v_n with
  v_n of Eq. 29a and Z_c^n = 1 - B . Omega_n (the phase-space weight);
- ``form="eq34"``: Eq. 34 as printed with the out-of-equilibrium f-bar and the
  unbarred energies, j = sum_n int f-bar_n [d_p eps_n - E x Omega_n - B (d_p eps_n . Omega_n)].

To O(hbar), Z_c v = d_p eps-bar - E x Omega - B (d_p eps-bar . Omega) + O(hbar^2)
(because Omega x (v x B) - (B . Omega) v = -B (Omega . v)), so the two differ
by -beta sum_n int f-bar_n d_p m_n (the gradient of the orbital-moment energy,
eps-bar - eps = -beta m). That difference vanishes in equilibrium when
int n_F d_p m = 0 (e.g. by inversion symmetry) but not for a distribution
shifted by E: the printed Eq. 34 and Eq. 31 disagree at O(hbar) out of
equilibrium. The derivation from Eq. 31 to Eq. 34 only needs d_x . j, which
does not see such a term in a non-uniform system; a uniform current does.
Both are particle currents per unit area (volume in 3D), the quantity and
sign of ``keldysh.dynamics.evolution.current_density``.

Density (Eq. 28a, any N as Eq. 17): n = sum_n int (1 - beta Omega_n) f-bar_n
per unit area (volume).

Density matrix W(p, t) (Eqs. 19, 25, 26). rho = sum_n rho^n P_n + rho_perp with
the band densities of Eq. 19 (for two bands Eq. 25),
rho^n = (1 - beta Omega_n^n / 2) f-bar_n + (beta / 2) sum_{m != n} Omega_m^n f-bar_m,
and the transverse part of Eq. 26 with the Poisson bracket of Eq. 9 in
uniform E and B. From Eq. 9 with D_mu of Eq. 10 (F_{0i} = E_i / c,
F_{ij} = -eps_ijk B_k) for functions of (eps, t, p):

    {a, b} = d_eps a d_t b - d_t a d_eps b + q E . (d_eps a d_p b - d_eps b d_p a) + q B . (d_p a x d_p b),

so with lambda^0 = eps - eps^0(p) and u = u(p) (static h)

    {lambda^0, u} = q E . d_p u - beta (d_x eps^0 d_y u - d_y eps^0 d_x u),
    {f, u} = beta (d_x f d_y u - d_y f d_x u)      (f = f(t, p): d_eps f = 0),

which reduce to the E-only brackets of :mod:`semiclassics.efield` and the
B-only ones of :mod:`semiclassics.predictions` (all three evaluate Eq. 26 through
:func:`semiclassics.transverse.two_band_transverse`). E is the field at the
observation time. For N > 2 the paper gives no transverse part; here it is
derived from the Wigner-space von Neumann equation
(d_t + q E . d_p) rho = -i [h, rho] + (1/2)({h, rho} - {rho, h}) + O(beta^2)
(the lattice star product of :mod:`semiclassics.moyal`) with
rho = sum_n f_n P_n + rho_1: the off-diagonal part of rho_1 in the eigenbasis is

    rho_1[a, b] = i X[a, b] / (eps_a - eps_b),
    X = sum_i E_i R^i - (beta / 2)(V^x R^y - V^y R^x - R^x V^y + R^y V^x),
    R^i[a, b] = delta_ab d_i f_a + (1 - delta_ab)(f_a - f_b) V^i[a, b] / (eps_a - eps_b),

(R^i = U^dagger d_i rho_0 U, V^i = U^dagger d_i h U; :func:`transverse_n_band`).
For two bands this coincides with Eq. 26 identically (tested with arbitrary
occupations and gradients), and in equilibrium in B it equals the interband
part of the Moyal reference for any N (tested).

Rival and modified theories (``form`` of :func:`wigner` and :func:`spin_density`):

- ``"wavepacket"``: the wave-packet density matrix, Eq. 24 for any N,
  rho = sum_n (1 - beta Omega_n) f-bar_n P_n with no transverse part, and the
  spin density of Eq. 27b; the paper calls the density-of-states factor
  spurious for observables other than the charge.
- ``"no_constraint"``: the band-projected kinetic equation (Eq. 21, the
  density-matrix equation of Wong and Tserkovnyak) with its interband couplings
  kept, but without the constraint equation, which is what fixes the relation
  of Eq. 19 between the band densities and the distributions. Writing
  L_n = d_t + F_n . d_p, the band densities of Eq. 19 obey (two bands,
  Omega = Omega_up, sigma = +-1)

      L_sigma rho^sigma = sigma (beta / 2) [Omega (F_sigma - F_-sigma) . d_p rho^-sigma
                                            - (F_sigma . d_p Omega)(rho^sigma - rho^-sigma)] + O(hbar^2),

  whose coupling terms are those of Eq. 21 (F_sigma - F_-sigma =
  2 sigma d_p Delta x B gives the {Delta, g^-sigma} Omega term). This closed
  equation is solved at O(hbar) by rho = Eq. 19 of Vlasov-transported
  distributions whatever rho(0) is, so keeping the couplings changes nothing
  by itself; what the constraint equation adds is the initial state. Without
  it, the band densities start as the quasiparticle occupations
  rho^n(0) = n_F(eps-bar_n) (no spectral-weight transfer), so the transported
  distributions start from the inverse of Eq. 19,
  f_n(0) = n_F(eps-bar_n) + (beta / 2) sum_{m != n} Omega_m^n (n_F(eps-bar_n) - n_F(eps-bar_m)).
- ``"uncoupled"``: Eq. 21 with its interband couplings dropped, from the
  correct initial state: each band density rho^n is transported on its own,
  rho^n(p, t) = rho^n_eq(P0_n) (the per-band Liouville assumption).

Ablations of the kinetic terms (:data:`semiclassics.characteristics.ABLATIONS`)
act on the flow, on v and on Z_c of the current and density; the named
partials :data:`predicted_current_no_orbital_moment` etc. are the one-line
predictions of each.

Quadrature: the periodic trapezoid rule on the uniform grid of
:func:`semiclassics.geometry.reciprocal_grid`; the quadrature error estimate is
the change against a grid of 3/4 the size (as in :mod:`semiclassics.chiral`),
the integration error estimate the change of that coarse result against an
integration at LOOSE_FACTOR x tol.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .characteristics import (
    ABLATIONS,
    CLASSICAL,
    FULL,
    MAX_CURVATURE,
    MIN_GAP,
    NO_ANOMALOUS_VELOCITY,
    NO_ORBITAL_MOMENT,
    NO_PHASE_SPACE,
    Terms,
    _check_points,
    _check_times,
    _check_tol,
    _trace,
    electric_drive,
    kinematics,
    magnetic_strength,
)
from .geometry import _check_model as _check_bloch_model
from .geometry import _omega, _reciprocal, reciprocal_grid
from .kinetics import equations_of_motion
from .predictions import _band_mix, fermi, fermi_derivative
from .sun import bloch_vectors, gell_mann
from .transverse import two_band_transverse

__all__ = [
    "Occupations",
    "Integral",
    "CURRENT_FORMS",
    "WIGNER_FORMS",
    "SPIN_FORMS",
    "occupations",
    "current",
    "density",
    "wigner",
    "spin_density",
    "transverse_two_band",
    "transverse_n_band",
    "predicted_current",
    "predicted_density",
    "predicted_wigner",
    "predicted_spin_density",
    "predicted_current_eq34",
    "predicted_current_no_orbital_moment",
    "predicted_current_no_anomalous_velocity",
    "predicted_current_no_phase_space",
    "predicted_current_classical",
    "predicted_wigner_wavepacket",
    "predicted_wigner_no_constraint",
    "predicted_wigner_uncoupled",
    "predicted_spin_density_wavepacket",
    "ABLATIONS",
]

CURRENT_FORMS = ("eq31", "eq34")
WIGNER_FORMS = ("paper", "wavepacket", "no_constraint", "uncoupled")
SPIN_FORMS = ("paper", "wavepacket")
#: Initial-occupation rules of the distributions transported by the flow (see the module docstring).
_RULES = ("paper", "no_constraint", "uncoupled")
#: Grid used to bound each band's energy range when deciding whether a band is filled or empty.
_RANGE_GRID = 64
#: Default quadrature grid (points per reciprocal-lattice direction).
GRID = 32


# --- distributions -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Occupations:
    """Semiclassical distributions f-bar_n(p, t) (Eqs. 20, 30) and their momentum gradients.

    Attributes
    ----------
    times
        Observation times, shape (nt,).
    k
        Kinetic momenta, shape (nk, d).
    fbar
        f-bar_n(k, t), shape (nt, nk, N), dimensionless.
    gradient
        d f-bar_n / d p_j, shape (nt, nk, N, d) (units a), or None.
    fbar_loose, gradient_loose
        The same from the integration at the looser tolerance (None without error estimate).
    traced
        The bands whose characteristics were integrated (the others are filled or empty).
    """

    times: NDArray[np.float64]
    k: NDArray[np.float64]
    fbar: NDArray[np.float64]
    gradient: NDArray[np.float64] | None
    fbar_loose: NDArray[np.float64] | None
    gradient_loose: NDArray[np.float64] | None
    traced: tuple[int, ...]

    @property
    def integration_error(self) -> float:
        """max |f-bar - f-bar_loose| (nan without estimate): bounds the integration error of ``fbar``."""
        if self.fbar_loose is None:
            return float("nan")
        return float(np.max(np.abs(self.fbar - self.fbar_loose), initial=0.0))


def _check_model(model: Any) -> None:
    _check_bloch_model(model)
    if model.dim not in (2, 3):
        raise ValueError(f"the kinetic theory in uniform E and B is implemented for d = 2, 3; got dim={model.dim}")


def _check_state(mu: float, T: float) -> None:
    fermi(0.0, mu, T)  # raises ValueError naming mu and T


def _initial(kin, band: np.ndarray, beta: float, mu: float, T: float, rule: str) -> np.ndarray:
    """Initial distribution of band ``band`` (M,) at the feet (kin at M points): Eq. 20 or a rival's."""
    f_all = fermi(kin.eps_bar, mu, T)  # (M, N)
    pick = band[:, None]
    phi = np.take_along_axis(f_all, pick, axis=1)[:, 0]
    if rule == "paper" or kin.eps.shape[-1] == 1:
        return phi
    F = beta * _omega(kin.eps, kin.V, 0, 1)  # [n, m] = beta Omega_m^{n,xy}
    if rule == "no_constraint":  # inverse of Eq. 19 applied to rho(0) = n_F(eps-bar)
        N = f_all.shape[-1]
        mix = 0.5 * ((F * (1.0 - np.eye(N))) * (f_all[:, :, None] - f_all[:, None, :])).sum(axis=-1)
        return phi + np.take_along_axis(mix, pick, axis=1)[:, 0]
    return np.take_along_axis(_band_mix(F, f_all), pick, axis=1)[:, 0]  # "uncoupled": rho^n_eq itself


def _constant_bands(model: Any, beta: float, terms: Terms, mu: float, T: float) -> dict[int, float]:
    """{band: value} of the bands whose n_F(eps-bar) is one number over the whole band (filled or empty).

    The band's range is bounded from a grid: every momentum lies within h sqrt(d) / 2 of a
    grid point (h the longest grid step), so eps-bar is within that distance times
    max |d_p eps-bar| of a grid value (a Lipschitz bound, no extremum can be missed).
    """
    n = _RANGE_GRID if model.dim == 2 else _RANGE_GRID // 3
    kin = kinematics(model, reciprocal_grid(model, n).reshape(-1, model.dim), beta, terms.orbital_moment)
    h = np.max(np.linalg.norm(_reciprocal(model), axis=1)) / n
    margin = np.linalg.norm(kin.grad_bar, axis=-1).max(axis=0) * h * np.sqrt(model.dim) / 2
    lo, hi = kin.eps_bar.min(axis=0) - margin, kin.eps_bar.max(axis=0) + margin
    out = {}
    for band in range(model.norbs):
        a, b = fermi(np.array([lo[band], hi[band]]), mu, T)
        if a == b:
            out[band] = float(a)
    return out


def _solve(model, k, t, beta, drive, mu, T, terms, rules, gradient, tol, estimate, min_gap, max_curvature):
    """Distributions on momenta k (nk, d) at times t (nt,) for each initial-occupation rule.

    Returns (fbar, grad, traced): fbar[rule] = [f (nt, nk, N)] + [f_loose] (with estimate),
    grad = [d f / dp (nt, nk, N, d)] + [loose] of the "paper" rule (None without ``gradient``).
    """
    N, d = model.norbs, model.dim
    const = _constant_bands(model, beta, terms, mu, T)
    if set(rules) != {"paper"} and not (len(const) == N and len(set(const.values())) == 1):
        const = {}
    traced = tuple(n for n in range(N) if n not in const)
    copies = 2 if estimate else 1
    fbar = {rule: [np.zeros((t.size, len(k), N)) for _ in range(copies)] for rule in rules}
    grad = [np.zeros((t.size, len(k), N, d)) for _ in range(copies)] if gradient else None
    for rule in rules:
        for f in fbar[rule]:
            for n, value in const.items():
                f[..., n] = value
    if traced:
        feet = _trace(model, k, t, beta, drive, terms, traced, gradient, tol, estimate, min_gap, max_curvature)
        sets = [(feet.start, feet.jacobian)] + ([(feet.start_loose, feet.jacobian_loose)] if estimate else [])
        band = np.broadcast_to(np.array(traced)[None, None, :], feet.start.shape[:-1]).reshape(-1)
        cols = list(traced)
        for c, (P0, J) in enumerate(sets):
            kin = kinematics(model, P0.reshape(-1, d), beta, terms.orbital_moment)
            for rule in rules:
                fbar[rule][c][..., cols] = _initial(kin, band, beta, mu, T, rule).reshape(P0.shape[:-1])
            if gradient:
                e = np.take_along_axis(kin.eps_bar, band[:, None], axis=1)[:, 0]
                g = np.take_along_axis(kin.grad_bar, band[:, None, None], axis=1)[:, 0, :d]
                dphi = (fermi_derivative(e, mu, T)[:, None] * g).reshape(P0.shape)
                grad[c][..., cols, :] = np.einsum("...a,...aj->...j", dphi, J)
    return fbar, grad, traced


def occupations(
    model: Any,
    flux: Any,
    E: Any,
    mu: float,
    T: float,
    times: ArrayLike,
    k: ArrayLike,
    *,
    terms: Terms = FULL,
    gradient: bool = False,
    tol: float = 1e-9,
    estimate_error: bool = True,
    min_gap: float = MIN_GAP,
    max_curvature: float = MAX_CURVATURE,
) -> Occupations:
    """Distributions f-bar_n(k, t) of the Boltzmann-Vlasov equation (paper Eqs. 20, 29a-b, 30).

    f-bar_n(k, t) = n_F(eps-bar_n(P0)), P0 the foot at t = 0 of the characteristic
    dp/dt = F_n (Eq. 29b) through (k, t): the equilibrium of Eq. 20 in B before
    the field E is switched on at t = 0, carried by the flow.

    Parameters
    ----------
    model
        Bloch model of dimension 2 or 3 (``bloch``, ``bloch_derivative``; ``bloch_hessian`` for
        the analytic gradient of eps-bar, ``lattice_vectors``).
    flux
        Flux quanta per xy cell of the uniform B along z (beta = 2 pi flux / A_xy, q folded in),
        or a field with ``beta(cell_area)`` such as ``keldysh.UniformB``
        (:func:`semiclassics.characteristics.magnetic_strength`).
    E
        The force q E(t) (energy / a), see :func:`semiclassics.characteristics.electric_drive`.
    mu, T
        Chemical potential and temperature of the initial equilibrium (energy units, k_B = 1).
    times
        Observation times t_i >= 0 (1 / energy).
    k
        Kinetic momenta, shape (n, d).
    terms
        Kinetic terms (ablations), :class:`semiclassics.characteristics.Terms`.
    gradient
        Also d f-bar / dp (variational equations); at T = 0 the gradient is zero away from the Fermi surface.
    tol, estimate_error, min_gap, max_curvature
        See :func:`semiclassics.characteristics.trace_back`.

    Returns
    -------
    Occupations
    """
    _check_model(model)
    k = _check_points(model, k, "k")
    t = _check_times(times)
    _check_state(mu, T)
    tol = _check_tol(tol)
    beta = magnetic_strength(model, flux)
    drive = electric_drive(E, model.dim)
    fbar, grad, traced = _solve(
        model, k, t, beta, drive, mu, T, terms, ("paper",), gradient, tol, estimate_error, min_gap, max_curvature
    )
    f = fbar["paper"]
    loose = (f[1], grad[1] if gradient else None) if estimate_error else (None, None)
    return Occupations(t, k, f[0], grad[0] if gradient else None, loose[0], loose[1], traced)


# --- integrals over the zone -----------------------------------------------------------------------
@dataclass(frozen=True)
class Integral:
    """A Brillouin-zone integral with its error estimates.

    Attributes
    ----------
    value
        The integral on the fine grid at the requested tolerance.
    integration_error
        Estimated error from the integration of the characteristics (max over entries).
    quadrature_error
        Estimated quadrature error (change against a 3/4 grid, max over entries).
    """

    value: NDArray[np.float64]
    integration_error: float
    quadrature_error: float

    @property
    def error(self) -> float:
        """integration_error + quadrature_error."""
        return self.integration_error + self.quadrature_error


def _cell_volume(model: Any) -> float:
    a = np.asarray(getattr(model, "lattice_vectors", np.eye(model.dim)), dtype=float)
    return abs(float(np.linalg.det(a)))


def _check_grid(grid: int) -> int:
    if not (isinstance(grid, (int, np.integer)) and grid >= 8):
        raise ValueError(f"grid must be an integer >= 8, got {grid!r}")
    return int(grid)


def _zone_points(model: Any, n: int, offset: float) -> np.ndarray:
    """The n^d grid of :func:`semiclassics.geometry.reciprocal_grid` shifted by offset / n along every b_j, (n^d, d)."""
    if not (isinstance(offset, (int, float, np.floating)) and np.isfinite(offset)):
        raise ValueError(f"offset must be a finite number (a fraction of the grid step), got {offset!r}")
    return reciprocal_grid(model, n).reshape(-1, model.dim) + (offset / n) * _reciprocal(model).sum(axis=0)


def _check_form(form: str, forms: tuple[str, ...]) -> None:
    if form not in forms:
        raise ValueError(f"unknown form {form!r}; choose one of {forms}")


def _integrand_current(model, k, beta, drive, t, fbar, terms, form) -> np.ndarray:
    """sum_n of the current integrand at the grid k for every time: shape (nt, nk, d)."""
    d = model.dim
    kin = kinematics(model, k, beta, terms.orbital_moment)
    B = np.array([0.0, 0.0, beta])
    zero = np.zeros_like(kin.omega)
    out = np.zeros((t.size, len(k), d))
    for i, ti in enumerate(t):
        E3 = drive(float(ti))
        anomalous = kin.omega if terms.anomalous_velocity else zero
        phase = kin.omega if terms.phase_space else zero
        if form == "eq31":
            v, _ = equations_of_motion(kin.grad_bar, E3, B, anomalous, phase)
            Z = 1.0 - phase @ B
            out[i] = np.einsum("kn,kni->ki", Z * fbar[i], v[..., :d])
        else:
            g = kin.grad_eps
            w = g - np.cross(E3, anomalous) - np.einsum("kni,kni->kn", g, phase)[..., None] * B
            out[i] = np.einsum("kn,kni->ki", fbar[i], w[..., :d])
    return out


def _integrand_density(model, k, beta, drive, t, fbar, terms, form) -> np.ndarray:
    """sum_n (1 - beta Omega_n) f-bar_n (Z_c = 1 without the phase-space terms): shape (nt, nk)."""
    kin = kinematics(model, k, beta, terms.orbital_moment)
    Z = 1.0 - beta * kin.omega[..., 2] if terms.phase_space else np.ones_like(kin.eps)
    return np.einsum("kn,tkn->tk", Z, fbar)


def _zone_integral(
    model, flux, E, mu, T, times, integrand, *, terms, form, grid, offset, tol, estimate_error, min_gap, max_curvature
):
    """Integral of integrand(...) over the zone (per unit volume) with quadrature and integration error estimates."""
    _check_model(model)
    t = _check_times(times)
    _check_state(mu, T)
    tol = _check_tol(tol)
    grid = _check_grid(grid)
    if not isinstance(terms, Terms):
        raise TypeError(f"terms must be a semiclassics.characteristics.Terms, got {terms!r}")
    beta = magnetic_strength(model, flux)
    drive = electric_drive(E, model.dim)
    volume = _cell_volume(model)

    def on(n: int, estimate: bool):
        k = _zone_points(model, n, offset)
        fbar, _, _ = _solve(
            model, k, t, beta, drive, mu, T, terms, ("paper",), False, tol, estimate, min_gap, max_curvature
        )
        return [integrand(model, k, beta, drive, t, f, terms, form).mean(axis=1) / volume for f in fbar["paper"]]

    (fine,) = on(grid, False)
    if not estimate_error:
        return Integral(fine, float("nan"), float("nan"))
    coarse, coarse_loose = on((3 * grid) // 4, True)
    return Integral(fine, float(np.max(np.abs(coarse - coarse_loose))), float(np.max(np.abs(fine - coarse))))


def current(
    model: Any,
    flux: Any,
    E: Any,
    mu: float,
    T: float,
    times: ArrayLike,
    *,
    terms: Terms = FULL,
    form: str = "eq31",
    grid: int = GRID,
    offset: float = 0.0,
    tol: float = 1e-9,
    estimate_error: bool = True,
    min_gap: float = MIN_GAP,
    max_curvature: float = MAX_CURVATURE,
) -> Integral:
    """Particle current density j(t) of the kinetic theory, paper Eq. 31 (flux term) or Eq. 34 as printed.

    ``form="eq31"``: j = sum_n int d^dp/(2 pi)^d Z_c^n f-bar_n v_n, v_n of Eq. 29a,
    Z_c^n = 1 - beta Omega_n^{xy} (1 without the phase-space terms).
    ``form="eq34"``: j = sum_n int f-bar_n [d_p eps_n - E x Omega_n - B (d_p eps_n . Omega_n)]
    (Eq. 34 as printed, unbarred energies, with the evolved f-bar). See the module
    docstring for why they differ at O(hbar) out of equilibrium.

    Parameters
    ----------
    model, flux, E, mu, T, times, terms
        As :func:`occupations`.
    form
        One of :data:`CURRENT_FORMS`.
    grid
        Points per reciprocal direction of the quadrature grid (>= 8).
    offset
        Shift of the grid by offset / grid along every reciprocal vector (e.g. 0.5 to keep
        the Weyl nodes of a 3D model, where the theory breaks down, off the grid).
    tol, estimate_error, min_gap, max_curvature
        See :func:`semiclassics.characteristics.trace_back`; without error estimate the
        errors are nan and only the fine grid is computed.

    Returns
    -------
    Integral
        value of shape (len(times), d): particles per unit time and unit area (volume in 3D),
        i.e. units q / (time a^(d-1)) once multiplied by q; hbar = 1. Same quantity and sign as
        the exact ``current_density`` (1 / (N_k A_cell)) sum_k Tr(rho_k d_k h).
    """
    _check_form(form, CURRENT_FORMS)
    return _zone_integral(
        model,
        flux,
        E,
        mu,
        T,
        times,
        _integrand_current,
        terms=terms,
        form=form,
        grid=grid,
        offset=offset,
        tol=tol,
        estimate_error=estimate_error,
        min_gap=min_gap,
        max_curvature=max_curvature,
    )


def density(
    model: Any,
    flux: Any,
    E: Any,
    mu: float,
    T: float,
    times: ArrayLike,
    *,
    terms: Terms = FULL,
    grid: int = GRID,
    offset: float = 0.0,
    tol: float = 1e-9,
    estimate_error: bool = True,
    min_gap: float = MIN_GAP,
    max_curvature: float = MAX_CURVATURE,
) -> Integral:
    """Particle density n(t) = sum_n int d^dp/(2 pi)^d (1 - beta Omega_n^{xy}) f-bar_n, paper Eq. 28a (Eq. 17 at t = 0).

    For N bands the weight is the total spectral weight Z_tot^n of Eq. 15. Without
    the phase-space terms (``terms``) the weight is 1. Parameters as :func:`current`.

    Returns
    -------
    Integral
        value of shape (len(times),): particles per unit area (volume in 3D).
        At t = 0 this is ``semiclassics.predictions.equilibrium_density / A_cell``.
    """
    return _zone_integral(
        model,
        flux,
        E,
        mu,
        T,
        times,
        _integrand_density,
        terms=terms,
        form="",
        grid=grid,
        offset=offset,
        tol=tol,
        estimate_error=estimate_error,
        min_gap=min_gap,
        max_curvature=max_curvature,
    )


# --- the density matrix ------------------------------------------------------------------------------
def _transverse_n_band(eps, U, V, E, beta, f, grad_f) -> np.ndarray:
    """Off-diagonal first-order density matrix of the Wigner-space von Neumann equation (module docstring), (..., N, N)."""
    N = eps.shape[-1]
    eye = np.eye(N)
    gap = eps[..., :, None] - eps[..., None, :]
    G = (1.0 - eye) / (gap + eye)
    df = f[..., :, None] - f[..., None, :]
    R = eye * np.swapaxes(grad_f, -1, -2)[..., :, :, None] + (df * G)[..., None, :, :] * V  # (..., d, N, N)
    X = np.einsum("i,...iab->...ab", E, R)
    if beta != 0:
        Vx, Vy, Rx, Ry = V[..., 0, :, :], V[..., 1, :, :], R[..., 0, :, :], R[..., 1, :, :]
        X = X - 0.5 * beta * (Vx @ Ry - Vy @ Rx - Rx @ Vy + Ry @ Vx)
    rho1 = 1j * X * G
    return U @ rho1 @ np.conj(np.swapaxes(U, -1, -2))


def _pointwise_inputs(model: Any, k: ArrayLike, E: ArrayLike, beta: float, f: ArrayLike, grad_f: ArrayLike):
    _check_model(model)
    k = _check_points(model, k, "k")
    d, N = model.dim, model.norbs
    E = np.asarray(E, dtype=float)
    if E.shape != (d,) or not np.all(np.isfinite(E)):
        raise ValueError(f"E must be a finite vector of shape ({d},), got {E!r}")
    if not np.isfinite(beta):
        raise ValueError(f"beta must be finite, got {beta}")
    f = np.asarray(f, dtype=float)
    grad_f = np.asarray(grad_f, dtype=float)
    if f.shape != (len(k), N) or grad_f.shape != (len(k), N, d):
        raise ValueError(
            f"occupations must have shape {(len(k), N)} and gradients {(len(k), N, d)}, got {f.shape}, {grad_f.shape}"
        )
    kin = kinematics(model, k, 0.0)
    if N > 1 and np.min(np.diff(kin.eps, axis=-1)) < MIN_GAP:
        raise ValueError("a band degeneracy at one of the k: the transverse density is undefined there")
    return kin, E, f, grad_f


def transverse_two_band(
    model: Any, k: ArrayLike, E: ArrayLike, beta: float, occupations: ArrayLike, gradients: ArrayLike
) -> NDArray[np.float64]:
    """Transverse density of a two-band model in uniform E and B, paper Eq. 26 as printed (Bloch vector).

    rho_perp = -(1/2) u x [ {lambda^0, u} (f_up - f_dn) / Delta + {f_up + f_dn, u} ],
    {lambda^0, u} = q E . d_p u - beta (d_x eps^0 d_y u - d_y eps^0 d_x u),
    {f, u} = beta (d_x f d_y u - d_y f d_x u) (module docstring: Eq. 9 in uniform fields),
    u = b_up, Delta = (eps_up - eps_dn) / 2, eps^0 = (eps_up + eps_dn) / 2, hbar = 1.

    Parameters
    ----------
    model
        Two-band Bloch model (d = 2 or 3; B along z).
    k
        Kinetic momenta, shape (n, d).
    E
        The force q E at the observation time, shape (d,) (energy / a).
    beta
        q B_z / hbar (1/a^2).
    occupations, gradients
        (f_dn, f_up) at k, shape (n, 2), and d f / dp, shape (n, 2, d).

    Returns
    -------
    ndarray, shape (n, 3), dimensionless; the matrix is (1/2) rho_perp . sigma.
    """
    if model.norbs != 2:
        raise ValueError(f"Eq. 26 is the two-band transverse density, got N={model.norbs}")
    kin, E, f, grad_f = _pointwise_inputs(model, k, E, beta, occupations, gradients)
    return two_band_transverse(kin.eps, kin.U, kin.V, E, beta, f, grad_f)


def transverse_n_band(
    model: Any, k: ArrayLike, E: ArrayLike, beta: float, occupations: ArrayLike, gradients: ArrayLike
) -> NDArray[np.complex128]:
    """Transverse (interband) density matrix of N bands in uniform E and B, derived here (not in the paper).

    The off-diagonal part of the O(hbar) solution of the Wigner-space von Neumann
    equation around rho_0 = sum_n f_n P_n (module docstring); for two bands equal to
    Eq. 26 (:func:`transverse_two_band`) identically. Parameters as
    :func:`transverse_two_band` with occupations (n, N) and gradients (n, N, d).

    Returns
    -------
    ndarray, shape (n, N, N), Hermitian, zero band-diagonal blocks (orbital basis), dimensionless.
    """
    kin, E, f, grad_f = _pointwise_inputs(model, k, E, beta, occupations, gradients)
    return _transverse_n_band(kin.eps, kin.U, kin.V, E, beta, f, grad_f)


def _transverse(kin, E: np.ndarray, beta: float, f: np.ndarray, grad_f: np.ndarray) -> np.ndarray:
    """rho_perp as a matrix: Eq. 26 for two bands, the derived N-band form otherwise (zero for one band)."""
    N = f.shape[-1]
    if N == 1:
        return np.zeros(f.shape[:-1] + (1, 1), dtype=complex)
    if N == 2:
        return 0.5 * np.einsum(
            "...c,cab->...ab", two_band_transverse(kin.eps, kin.U, kin.V, E, beta, f, grad_f), gell_mann(2)
        )
    return _transverse_n_band(kin.eps, kin.U, kin.V, E, beta, f, grad_f)


def wigner(
    model: Any,
    flux: Any,
    E: Any,
    mu: float,
    T: float,
    times: ArrayLike,
    k: ArrayLike,
    *,
    form: str = "paper",
    tol: float = 1e-9,
    estimate_error: bool = True,
    min_gap: float = MIN_GAP,
    max_curvature: float = MAX_CURVATURE,
) -> tuple[NDArray[np.complex128], float]:
    """Wigner function of the density matrix W(k, t) at kinetic momentum k: Eqs. 19/25 + 26 with the evolved f-bar.

    ``form="paper"``: rho = sum_n rho^n P_n + rho_perp, rho^n of Eq. 19 (Eq. 25 for two
    bands) with f-bar(k, t), rho_perp of Eq. 26 (N = 2; the derived N-band form for N > 2)
    with d f-bar / dp and q E(t). Rival forms (module docstring): ``"wavepacket"``
    (Eq. 24, no transverse part), ``"no_constraint"`` (Eq. 21 without the constraint
    equation), ``"uncoupled"`` (Eq. 21 without its interband couplings).

    Parameters
    ----------
    model, flux, E, mu, T, times, k
        As :func:`occupations` (k of shape (n, d)).
    form
        One of :data:`WIGNER_FORMS`.
    tol, estimate_error, min_gap, max_curvature
        As :func:`occupations`.

    Returns
    -------
    (W, integration_error)
        W of shape (len(times), n, N, N), orbital basis (the convention-II Bloch basis of
        ``model.bloch``), dimensionless, Hermitian; integration_error = max |W - W_loose|
        (nan without estimate). The transverse part uses a central-difference Jacobian of
        relative error ~1e-9, not included in the estimate.
    """
    _check_form(form, WIGNER_FORMS)
    _check_model(model)
    k = _check_points(model, k, "k")
    t = _check_times(times)
    _check_state(mu, T)
    tol = _check_tol(tol)
    beta = magnetic_strength(model, flux)
    drive = electric_drive(E, model.dim)
    rule = form if form in _RULES else "paper"
    rules = ("paper",) if rule == "paper" else ("paper", rule)
    fbar, grad, _ = _solve(
        model, k, t, beta, drive, mu, T, FULL, rules, form != "wavepacket", tol, estimate_error, min_gap, max_curvature
    )
    kin = kinematics(model, k, beta)
    F = beta * _omega(kin.eps, kin.V, 0, 1)
    out = []
    for c in range(2 if estimate_error else 1):
        f, fb = fbar["paper"][c], fbar[rule][c]
        if form == "wavepacket":
            rho_n = (1.0 - np.diagonal(F, axis1=-2, axis2=-1)) * f
        elif form == "uncoupled":
            rho_n = fb
        else:
            rho_n = _band_mix(F, fb)
        W = np.einsum("kan,tkn,kbn->tkab", kin.U, rho_n, np.conj(kin.U))
        if form != "wavepacket":
            E_t = [drive(float(ti))[: model.dim] for ti in t]
            W = W + np.stack([_transverse(kin, E_t[i], beta, f[i], grad[c][i]) for i in range(t.size)])
        out.append(W)
    error = float(np.max(np.abs(out[0] - out[1]))) if estimate_error else float("nan")
    return out[0], error


# --- the spin density --------------------------------------------------------------------------------
def spin_density(
    model: Any,
    flux: Any,
    E: Any,
    mu: float,
    T: float,
    times: ArrayLike,
    *,
    form: str = "paper",
    grid: int = GRID,
    offset: float = 0.0,
    tol: float = 1e-9,
    estimate_error: bool = True,
    min_gap: float = MIN_GAP,
    max_curvature: float = MAX_CURVATURE,
) -> Integral:
    """(Pseudo)spin density <sigma>(t) of a two-band model: paper Eq. 28b, or the wave-packet Eq. 27b.

    ``form="paper"``: int d^dp/(2 pi)^d [ (f-bar_up - f-bar_dn) u + rho_perp ] (Eq. 28b, rho_perp
    of Eq. 26 with the uniform-E-and-B brackets and d f-bar / dp);
    ``form="wavepacket"``: int [ (f-bar_up - f-bar_dn) u - beta Omega (f-bar_up + f-bar_dn) u ]
    (Eq. 27b, Omega = Omega_up^{xy}). sigma are the Pauli matrices on the two orbitals,
    which must sit at one position in the cell (otherwise Tr(W sigma_x,y) integrated over a
    zone depends on the zone chosen).

    Parameters as :func:`current` (``form`` one of :data:`SPIN_FORMS`). The paper form needs
    T > 0 in a metal (d f-bar / dp is a delta function on the Fermi surface at T = 0).

    Returns
    -------
    Integral
        value of shape (len(times), 3): spin per unit area (volume in 3D), dimensionless x a^-d.
    """
    _check_form(form, SPIN_FORMS)
    _check_model(model)
    if model.norbs != 2:
        raise ValueError(f"the spin densities of Eqs. 27b, 28b are for two bands, got N={model.norbs}")
    pos = np.asarray(getattr(model, "positions", np.zeros((2, model.dim))), dtype=float)
    if not np.allclose(pos, pos[0]):
        raise ValueError(
            "the two orbitals sit at different positions in the cell: the zone-integrated Tr(W sigma) is not defined"
        )
    t = _check_times(times)
    _check_state(mu, T)
    tol = _check_tol(tol)
    grid = _check_grid(grid)
    beta = magnetic_strength(model, flux)
    drive = electric_drive(E, model.dim)
    volume = _cell_volume(model)
    gradient = form == "paper"

    def on(n: int, estimate: bool):
        k = _zone_points(model, n, offset)
        fbar, grad, traced = _solve(
            model, k, t, beta, drive, mu, T, FULL, ("paper",), gradient, tol, estimate, min_gap, max_curvature
        )
        if gradient and T == 0 and traced:
            raise ValueError(
                f"Eq. 28b needs T > 0 when a band crosses mu (bands {traced}): d f-bar/dp is singular at T = 0"
            )
        kin = kinematics(model, k, beta)
        up = kin.U[..., :, 1]
        u = bloch_vectors(up[..., :, None] * np.conj(up[..., None, :]))
        values = []
        for c, f in enumerate(fbar["paper"]):
            s = (f[..., 1] - f[..., 0])[..., None] * u
            if form == "wavepacket":
                s = s - (beta * kin.omega[:, 1, 2] * (f[..., 1] + f[..., 0]))[..., None] * u
            else:
                s = s + np.stack(
                    [
                        two_band_transverse(
                            kin.eps, kin.U, kin.V, drive(float(ti))[: model.dim], beta, f[i], grad[c][i]
                        )
                        for i, ti in enumerate(t)
                    ]
                )
            values.append(s.mean(axis=1) / volume)
        return values

    (fine,) = on(grid, False)
    if not estimate_error:
        return Integral(fine, float("nan"), float("nan"))
    coarse, coarse_loose = on((3 * grid) // 4, True)
    return Integral(fine, float(np.max(np.abs(coarse - coarse_loose))), float(np.max(np.abs(fine - coarse))))


# --- one-line predictions ------------------------------------------------------------------------------
def predicted_current(
    model: Any,
    flux: Any,
    E: Any,
    mu: float,
    T: float,
    times: ArrayLike,
    *,
    terms: Terms = FULL,
    form: str = "eq31",
    grid: int = GRID,
    offset: float = 0.0,
    tol: float = 1e-9,
) -> NDArray[np.float64]:
    """:func:`current` without error estimates: particle current per unit area, shape (len(times), d)."""
    return current(
        model, flux, E, mu, T, times, terms=terms, form=form, grid=grid, offset=offset, tol=tol, estimate_error=False
    ).value


def predicted_density(
    model: Any,
    flux: Any,
    E: Any,
    mu: float,
    T: float,
    times: ArrayLike,
    *,
    terms: Terms = FULL,
    grid: int = GRID,
    offset: float = 0.0,
    tol: float = 1e-9,
) -> NDArray[np.float64]:
    """:func:`density` without error estimates: particles per unit area, shape (len(times),)."""
    return density(
        model, flux, E, mu, T, times, terms=terms, grid=grid, offset=offset, tol=tol, estimate_error=False
    ).value


def predicted_wigner(
    model: Any,
    flux: Any,
    E: Any,
    mu: float,
    T: float,
    times: ArrayLike,
    k: ArrayLike,
    *,
    form: str = "paper",
    tol: float = 1e-9,
) -> NDArray[np.complex128]:
    """:func:`wigner` without error estimate: W(k, t), shape (len(times), len(k), N, N)."""
    return wigner(model, flux, E, mu, T, times, k, form=form, tol=tol, estimate_error=False)[0]


def predicted_spin_density(
    model: Any,
    flux: Any,
    E: Any,
    mu: float,
    T: float,
    times: ArrayLike,
    *,
    form: str = "paper",
    grid: int = GRID,
    offset: float = 0.0,
    tol: float = 1e-9,
) -> NDArray[np.float64]:
    """:func:`spin_density` without error estimates: spin per unit area, shape (len(times), 3)."""
    return spin_density(
        model, flux, E, mu, T, times, form=form, grid=grid, offset=offset, tol=tol, estimate_error=False
    ).value


def _named(func, doc: str, **kwargs):
    part = functools.partial(func, **kwargs)
    part.__doc__ = doc
    return part


predicted_current_eq34 = _named(
    predicted_current, "Eq. 34 as printed (unbarred energies) with the evolved f-bar.", form="eq34"
)
predicted_current_no_orbital_moment = _named(
    predicted_current,
    "Ablation: eps instead of eps-bar (no orbital moment) in n_F, the flow and v.",
    terms=NO_ORBITAL_MOMENT,
)
predicted_current_no_anomalous_velocity = _named(
    predicted_current, "Ablation: no anomalous velocity -E x Omega (nor its force).", terms=NO_ANOMALOUS_VELOCITY
)
predicted_current_no_phase_space = _named(
    predicted_current, "Ablation: no Omega x (v x B) (nor its force) and Z_c = 1.", terms=NO_PHASE_SPACE
)
predicted_current_classical = _named(
    predicted_current,
    "Ablation: the classical Boltzmann equation (eps, F = q(E + v x B), Z_c = 1, no curvature).",
    terms=CLASSICAL,
)
predicted_wigner_wavepacket = _named(
    predicted_wigner, "Rival: the wave-packet density matrix, Eq. 24, no transverse part.", form="wavepacket"
)
predicted_wigner_no_constraint = _named(
    predicted_wigner,
    "Rival: Eq. 21 (Wong-Tserkovnyak couplings kept) without the constraint equation.",
    form="no_constraint",
)
predicted_wigner_uncoupled = _named(
    predicted_wigner,
    "Modified: Eq. 21 without its interband couplings (band densities transported per band).",
    form="uncoupled",
)
predicted_spin_density_wavepacket = _named(
    predicted_spin_density, "Rival: the wave-packet spin density, Eq. 27b.", form="wavepacket"
)
