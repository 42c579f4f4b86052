"""The paper's O(hbar) predictions in a uniform static magnetic field along z.

Units and signs (``docs/conventions.md``): hbar = a = 1; energies in the
units of the model's hopping; densities per unit cell (k-averages over the
uniform grid of :func:`semiclassics.geometry.reciprocal_grid`, i.e.
A_cell int d^2k / (2 pi)^2); the charge q is folded into the field,

    beta = q B / hbar = field.beta(model.cell_area) = 2 pi flux / A_cell,

and the paper's hbar e B . Omega_m^n becomes F[n, m] = beta Omega_m^{n,xy}(k)
(:func:`semiclassics.geometry.field_contraction`, upper index n first).
Bands are indexed n = 0 .. N-1 in ascending energy; for two bands sigma = up is
the upper band (index 1), b_up = u and Omega = Omega_up^{up,xy}.

Every quantity is returned to first order in beta, as in the paper; the
reference for that order is :mod:`semiclassics.moyal` (the first-order gradient
expansion of the exact Wigner function), against which the tests check these
formulas. Two findings recorded there and below: Eq. 14 as printed transposes
the band indices of the interband spectral weights (``form="corrected"``), and
Eq. 26 agrees with the Moyal reference as printed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from .geometry import _beta, _omega, _spectral, reciprocal_grid
from .sun import bloch_vectors, gell_mann
from .transverse import two_band_transverse

__all__ = [
    "field_strength",
    "quasiparticle_energy",
    "spectral_weights",
    "total_spectral_weight",
    "fermi",
    "fermi_derivative",
    "equilibrium_density",
    "band_density",
    "transverse_density",
    "transverse_matrix",
    "density_matrix",
    "spin_density",
    "spin_density_wavepacket",
]

Occupation = Callable[[np.ndarray], np.ndarray]
SPECTRAL_WEIGHT_FORMS = ("printed", "corrected")


def field_strength(model: Any, field: Any) -> float:
    """beta = q B_z / hbar = ``field.beta(getattr(model, "cell_area", 1.0))``, units 1/a^2."""
    return _beta(model, field)


def _field_data(model: Any, k: ArrayLike, field: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(eps, U, V, F) with F[..., n, m] = beta Omega_m^{n,xy}."""
    eps, U, V = _spectral(model, k)
    if V.shape[-3] < 2:
        raise ValueError("a magnetic field along z needs a model of dimension >= 2")
    return eps, U, V, _beta(model, field) * _omega(eps, V, 0, 1)


def _eps_bar(eps: np.ndarray, F: np.ndarray) -> np.ndarray:
    return eps + 0.5 * ((eps[..., :, None] - eps[..., None, :]) * F).sum(axis=-1)


def quasiparticle_energy(model: Any, k: ArrayLike, field: Any) -> NDArray[np.float64]:
    """Berry-curvature corrected quasiparticle energies, paper Eq. 12.

    eps-bar^n = eps^n + (1/2) sum_{m != n} (eps^n - eps^m) beta Omega_m^{n,xy}
    (using Delta^n - Delta^m = eps^n - eps^m); equals eps^n - beta m_n with m_n
    the orbital moment (:func:`semiclassics.geometry.orbital_moment`).
    Energy units of the model; shape (..., N).
    """
    eps, _, _, F = _field_data(model, k, field)
    return _eps_bar(eps, F)


def spectral_weights(model: Any, k: ArrayLike, field: Any, form: str = "printed") -> NDArray[np.float64]:
    """Spectral weights Z_n^m of the band-n quasiparticle on the projector P_m (paper Eq. 14).

    Dimensionless, shape (..., N, N), indexed [n, m] = Z_n^m. Diagonal (both forms):
    Z_n^n = 1 - (beta/2) Omega_n^{n,xy}. Off-diagonal, n != m:

    - ``form="printed"``: Z_n^m = (beta/2) Omega_m^{n,xy}, Eq. 14 as printed;
    - ``form="corrected"``: Z_n^m = (beta/2) Omega_n^{m,xy} = -(beta/2) Omega_m^{n,xy}.

    Why the correction: sum_n Pi_n = 1 exactly, so the weights of all
    quasiparticles on any P_m must add up to one, sum_n Z_n^m = 1; and Eq. 16
    (the band-n projection of Eq. 14 itself) has Omega_m^n as the coefficient of
    delta(eps - eps-bar^m) in g^n, i.e. the weight of the band-m quasiparticle on
    P_n is (beta/2) Omega_m^n, which relabelled (n <-> m) is Z_n^m = (beta/2) Omega_n^m.
    Eq. 14 as printed transposes the band indices. The corrected form equals
    delta_nm + Tr(P_m W1(Pi_n)) of the Moyal reference to machine precision, the
    printed one misses it by beta Omega_m^{n,xy} (tests). Row sums: corrected
    gives Z_tot^n = 1 - beta Omega_n^n (Eq. 15), printed gives 1.

    Raises
    ------
    ValueError
        For an unknown ``form``.
    """
    if form not in SPECTRAL_WEIGHT_FORMS:
        raise ValueError(f"unknown form {form!r}; choose one of {SPECTRAL_WEIGHT_FORMS}")
    _, _, _, F = _field_data(model, k, field)
    N = F.shape[-1]
    eye = np.eye(N)
    off = F if form == "printed" else np.swapaxes(F, -1, -2)
    diag = np.diagonal(F, axis1=-2, axis2=-1)
    return 0.5 * off * (1.0 - eye) + eye * (1.0 - 0.5 * diag)[..., :, None]


def total_spectral_weight(model: Any, k: ArrayLike, field: Any) -> NDArray[np.float64]:
    """Total spectral weight of the band-n quasiparticle, paper Eq. 15: Z_tot^n = 1 - beta Omega_n^{n,xy}.

    Dimensionless, shape (..., N); sum_n Z_tot^n = N. Equals the row sums of
    ``spectral_weights(form="corrected")`` (not of the printed form, whose rows sum to 1).
    """
    _, _, _, F = _field_data(model, k, field)
    return 1.0 - np.diagonal(F, axis1=-2, axis2=-1)


def _check_temperature(mu: float, T: float) -> None:
    for name, value in (("mu", mu), ("T", T)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number, got {value!r}")
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if T < 0:
        raise ValueError(f"T must satisfy T >= 0 (k_B = 1, energy units), got T={T}")


def fermi(E: ArrayLike, mu: float, T: float) -> NDArray[np.float64]:
    """Fermi-Dirac occupation n_F(E) = 1 / (exp((E - mu)/T) + 1) (k_B = 1, energy units).

    T = 0 gives the step theta(mu - E), with 1/2 at E = mu.
    """
    _check_temperature(mu, T)
    E = np.asarray(E, dtype=float)
    if T == 0:
        return np.where(E < mu, 1.0, np.where(E > mu, 0.0, 0.5))
    return expit(-(E - mu) / T)


def fermi_derivative(E: ArrayLike, mu: float, T: float) -> NDArray[np.float64]:
    """d n_F / dE = -n_F (1 - n_F) / T (1/energy).

    At T = 0 it is zero away from E = mu (a delta function at mu).

    Raises
    ------
    ValueError
        At T = 0 if some E equals mu (the delta function has no value there).
    """
    _check_temperature(mu, T)
    E = np.asarray(E, dtype=float)
    if T == 0:
        if np.any(E == mu):
            raise ValueError(f"d n_F/dE at T = 0 is a delta function at E = mu = {mu}")
        return np.zeros_like(E)
    n = expit(-(E - mu) / T)
    return -n * (1.0 - n) / T


def equilibrium_density(model: Any, field: Any, mu: float, T: float, grid: int) -> float:
    """Equilibrium electron density, paper Eq. 17, in electrons per unit cell.

    n_e = (1/N_k) sum_k sum_n (1 - beta Omega_n^{n,xy}(k)) n_F(eps-bar^n(k))
    on the uniform ``grid x grid`` mesh of the reciprocal cell (any Bravais
    lattice, e.g. the honeycomb). With mu in a gap at T = 0 this is Streda's
    1 - flux * C per filled band (tested).
    """
    k = reciprocal_grid(model, grid)
    eps, _, _, F = _field_data(model, k, field)
    weight = 1.0 - np.diagonal(F, axis1=-2, axis2=-1)
    occ = weight * fermi(_eps_bar(eps, F), mu, T)
    return float(occ.sum() / np.prod(k.shape[:-1]))


def _band_mix(F: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """Eq. 19 energy-integrated: rho^n = (1 - F[n, n]/2) fb_n + (1/2) sum_{m != n} F[n, m] fb_m (F[n, m] = beta Omega_m^n)."""
    N = F.shape[-1]
    eye = np.eye(N)
    diag = np.diagonal(F, axis1=-2, axis2=-1)
    return (1.0 - 0.5 * diag) * fb + 0.5 * ((F * (1.0 - eye)) * fb[..., None, :]).sum(axis=-1)


def _band_density(eps: np.ndarray, F: np.ndarray, f: Occupation) -> np.ndarray:
    return _band_mix(F, np.asarray(f(_eps_bar(eps, F)), dtype=float))


def band_density(model: Any, k: ArrayLike, field: Any, f: Occupation) -> NDArray[np.float64]:
    """Band-projected density matrix rho^n = Tr(P_n rho), paper Eq. 19 energy-integrated.

    rho^n = (1 - (beta/2) Omega_n^{n,xy}) f(eps-bar^n) + (beta/2) sum_{m != n} Omega_m^{n,xy} f(eps-bar^m),

    f a callable occupation of energy (e.g. ``lambda E: fermi(E, mu, T)``),
    evaluated at the Eq. 12 energies (Eq. 20). For two bands this is Eq. 25.
    Dimensionless (occupation per k and band), shape (..., N). Consistent with the
    Moyal reference at O(beta) as printed (the indices here agree with Eq. 16).
    """
    eps, _, _, F = _field_data(model, k, field)
    return _band_density(eps, F, f)


def _transverse(eps, U, V, beta: float, f: Occupation, fprime: Occupation) -> np.ndarray:
    """Eq. 26 in B alone (:func:`semiclassics.transverse.two_band_transverse` with E = 0), equilibrium f(eps_n)."""
    if eps.shape[-1] != 2:
        raise ValueError(f"the transverse density of Eq. 26 is for two bands, got N={eps.shape[-1]}")
    grad_eps = np.swapaxes(np.real(np.diagonal(V, axis1=-2, axis2=-1)), -1, -2)  # (..., N, d): d_i eps_n
    grad_f = np.asarray(fprime(eps), dtype=float)[..., None] * grad_eps  # d_i f_n = f'(eps_n) d_i eps_n
    return two_band_transverse(eps, U, V, None, beta, np.asarray(f(eps), dtype=float), grad_f)


def transverse_density(model: Any, k: ArrayLike, field: Any, f: Occupation, fprime: Occupation) -> NDArray[np.float64]:
    """Transverse (interband) part of the two-band density matrix, paper Eq. 26.

    rho_perp = -(1/2) u x [ {lambda^0, u} (f_up - f_dn) / Delta + {f_up + f_dn, u} ]

    with u = b_up the Bloch vector of the upper band, Delta = (eps_up - eps_dn)/2,
    {a, b} = beta (d_x a d_y b - d_y a d_x b) (Eq. 9 for a uniform static B along z,
    hbar = 1), {lambda^0, u} = -{eps^0, u} with eps^0 = (eps_up + eps_dn)/2,
    f_sigma = f(eps_sigma) at the unbarred energies (the bracket is already O(beta)),
    d_i f_sigma = fprime(eps_sigma) d_i eps_sigma and d_i u analytic from dh.
    Dimensionless, shape (..., 3), orthogonal to u; the matrix is (1/2) rho_perp . sigma.
    Equals the interband part of the Moyal reference W1(f) exactly (tests), i.e.
    Eq. 26 holds as printed.

    Raises
    ------
    ValueError
        If the model does not have exactly two bands.
    """
    eps, U, V, _ = _field_data(model, k, field)
    return _transverse(eps, U, V, _beta(model, field), f, fprime)


def transverse_matrix(model: Any, k: ArrayLike, field: Any, f: Occupation, fprime: Occupation) -> NDArray[np.complex128]:
    """(1/2) rho_perp . sigma, the interband part of the two-band density matrix (Eq. 26), shape (..., 2, 2)."""
    rho_perp = transverse_density(model, k, field, f, fprime)
    return 0.5 * np.einsum("...a,aij->...ij", rho_perp, gell_mann(2))


def density_matrix(
    model: Any, k: ArrayLike, field: Any, f: Occupation, fprime: Occupation | None = None
) -> NDArray[np.complex128]:
    """Semiclassical Wigner function of the density matrix, rho(k) (orbital basis), to O(beta).

    rho = sum_n rho^n P_n (Eq. 19 / Eq. 25, :func:`band_density`) plus, for
    N = 2, the transverse part (1/2) rho_perp . sigma of Eq. 26 (needs ``fprime``).
    For N > 2 the paper gives no transverse part and only the band-projected
    sum is returned (the full first-order matrix is
    :func:`semiclassics.moyal.wigner_first_order`). Shape (..., N, N).

    Raises
    ------
    ValueError
        If N = 2 and ``fprime`` is None.
    """
    eps, U, V, F = _field_data(model, k, field)
    rho_n = _band_density(eps, F, f)
    rho = np.einsum("...an,...n,...bn->...ab", U, rho_n, np.conj(U))
    if eps.shape[-1] == 2:
        if fprime is None:
            raise ValueError("the two-band density matrix needs fprime for its transverse part (Eq. 26)")
        rho_perp = _transverse(eps, U, V, _beta(model, field), f, fprime)
        rho = rho + 0.5 * np.einsum("...a,aij->...ij", rho_perp, gell_mann(2))
    return rho


def _two_band_grid(model: Any, field: Any, grid: int):
    if model.norbs != 2:
        raise ValueError(f"the spin densities of Eqs. 27b, 28b are for two bands, got N={model.norbs}")
    k = reciprocal_grid(model, grid)
    eps, U, V, F = _field_data(model, k, field)
    up = U[..., :, 1]
    u = bloch_vectors(up[..., :, None] * np.conj(up[..., None, :]))
    return k, eps, U, V, F, u


def spin_density(model: Any, field: Any, f: Occupation, fprime: Occupation, grid: int) -> NDArray[np.float64]:
    """(Pseudo)spin density per unit cell, paper Eq. 28b: <sigma> = Tr(rho sigma) averaged over k.

    <sigma> = (1/N_k) sum_k [ (f(eps-bar_up) - f(eps-bar_dn)) u + rho_perp ],

    sigma the Pauli matrices on the two orbitals, u = b_up, rho_perp of Eq. 26.
    (With Eq. 25, rho^up - rho^dn = f-bar_up - f-bar_dn exactly.) Shape (3,).
    """
    _, eps, U, V, F, u = _two_band_grid(model, field, grid)
    fb = np.asarray(f(_eps_bar(eps, F)), dtype=float)
    rho_perp = _transverse(eps, U, V, _beta(model, field), f, fprime)
    s = (fb[..., 1] - fb[..., 0])[..., None] * u + rho_perp
    return s.reshape(-1, 3).mean(axis=0)


def spin_density_wavepacket(model: Any, field: Any, f: Occupation, grid: int) -> NDArray[np.float64]:
    """Wave-packet (pseudo)spin density per unit cell, paper Eq. 27b (for comparison).

    <sigma>_WP = (1/N_k) sum_k [ (f_up - f_dn) u - beta Omega (f_up + f_dn) u ],
    f_sigma = f(eps-bar_sigma), Omega = Omega_up^{up,xy}, u = b_up. Shape (3,).
    The paper calls the second term spurious (absent from Eq. 28b).
    """
    _, eps, _, _, F, u = _two_band_grid(model, field, grid)
    fb = np.asarray(f(_eps_bar(eps, F)), dtype=float)
    beta_omega = F[..., 1, 1]
    s = ((fb[..., 1] - fb[..., 0]) - beta_omega * (fb[..., 1] + fb[..., 0]))[..., None] * u
    return s.reshape(-1, 3).mean(axis=0)
