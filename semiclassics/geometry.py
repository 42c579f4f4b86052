"""Quantum geometry of a Bloch Hamiltonian h(k) from h and dh/dk alone (paper Eqs. 4, 13).

A *model* is any object with ``dim``, ``norbs``, ``bloch(k)`` (..., N, N) and
``bloch_derivative(k)`` (..., d, N, N), k cartesian of shape (..., d);
``cell_area`` and ``lattice_vectors`` are used when present (defaults 1 and the
identity). Units: hbar = a = 1, k in 1/a, energies in the units of h.

Everything is analytic first-order perturbation theory in the eigenbasis of h:
with h|n> = eps_n |n> (ascending) and the velocity matrix V^i_nm = <n| d_i h |m>,

    d_i P_n = sum_{l != n} (|l><l| d_i h |n><n| + |n><n| d_i h |l><l|) / (eps_n - eps_l),

and the generalized Berry curvature tensor of Eq. 13 in the momentum sector
(indices exactly as printed in the paper),

    Omega_m^{n,ij} = -(1/2) b_n . (d_i b_m x d_j b_m) = i Tr(P_n [d_i P_m, d_j P_m]),

evaluates to

    n != m :  Omega_m^{n,ij} = i (V^i_nm V^j_mn - V^j_nm V^i_mn) / (eps_n - eps_m)^2
                             = -2 Im(V^i_nm V^j_mn) / (eps_n - eps_m)^2,
    n == m :  Omega_n^{n,ij} = sum_{m != n} Omega_m^{n,ij}        (Kubo formula).

Omega_n^{n,xy} is the usual Berry curvature of band n with connection
A = i<u|grad u> and Omega = d_x A_y - d_y A_x. Consequences (tested):
Omega_n^m = -Omega_m^n for n != m, hence the sum over the LOWER index gives
sum_{m != n} Omega_m^n = +Omega_n^n, the sum over the UPPER index gives
sum_{n != m} Omega_m^n = -Omega_m^m, and sum_n Omega_n^n = 0. The paper prints
the lower-index rule with a minus sign, which does not hold with Eq. 13 as printed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "eigensystem",
    "velocity_matrix",
    "projector_gradient",
    "berry_tensor",
    "berry_curvature",
    "axial_curvature",
    "field_contraction",
    "orbital_moment",
    "reciprocal_grid",
    "chern_numbers",
    "chern_numbers_fhs",
]


MODEL_INTERFACE = ("dim", "norbs", "bloch", "bloch_derivative")


def _check_model(model: Any) -> None:
    """A Bloch model: ``dim``, ``norbs``, ``bloch(k)``, ``bloch_derivative(k)``, else TypeError naming ``model``."""
    missing = [a for a in MODEL_INTERFACE if not hasattr(model, a)]
    if missing:
        raise TypeError(
            f"model must provide {', '.join(MODEL_INTERFACE)} (e.g. a keldysh.TightBinding); "
            f"{type(model).__name__} lacks {', '.join(missing)}"
        )


def _check_k(model: Any, k: ArrayLike, name: str = "k") -> np.ndarray:
    """Momenta of shape (..., model.dim), real and finite, else an error naming ``name`` (and checks ``model``)."""
    _check_model(model)
    arr = np.asarray(k)
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real cartesian momenta, got complex values")
    try:
        arr = arr.astype(float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real numeric array, got {type(k).__name__}") from None
    if arr.ndim == 0 or arr.shape[-1] != model.dim:
        raise ValueError(f"{name} must have shape (..., d) with d = model.dim = {model.dim}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite entries")
    return arr


def _eigensystem(model: Any, k: np.ndarray, min_gap: float) -> tuple[np.ndarray, np.ndarray]:
    eps, U = np.linalg.eigh(model.bloch(k))
    if eps.shape[-1] > 1:
        gaps = np.diff(eps, axis=-1)
        bad = gaps < min_gap
        if np.any(bad):
            idx = tuple(np.argwhere(bad)[0])
            n = idx[-1]
            kpt = k[idx[:-1]]
            raise ValueError(
                f"bands {n} and {n + 1} are degenerate at k={np.round(kpt, 12).tolist()} "
                f"(gap {gaps[idx]:.3e} < min_gap={min_gap:g}): curvature undefined"
            )
    return eps, U


def eigensystem(model: Any, k: ArrayLike, min_gap: float = 1e-9) -> tuple[NDArray[np.float64], NDArray[np.complex128]]:
    """Eigenvalues and eigenvectors of h(k) (the eps^n and P_n of paper Eq. 4).

    Parameters
    ----------
    model
        Bloch model (``dim``, ``norbs``, ``bloch``, ``bloch_derivative``).
    k
        Cartesian momenta, shape (..., d).
    min_gap
        Smallest allowed separation of adjacent eigenvalues (energy units of h).

    Returns
    -------
    eps : ndarray, shape (..., N)
        Band energies eps^n, ascending (band index n = 0 .. N-1).
    U : ndarray, shape (..., N, N)
        Column n is the eigenvector |n>; P_n = U[..., :, n] U[..., :, n]^dagger.

    Raises
    ------
    ValueError
        If k has the wrong shape, or two adjacent bands are closer than min_gap
        (the message names the bands (0-based), the k-point and the gap).
    """
    return _eigensystem(model, _check_k(model, k), min_gap)


def _velocity(model: Any, k: np.ndarray, U: np.ndarray) -> np.ndarray:
    dh = model.bloch_derivative(k)
    return np.einsum("...ba,...ibc,...cd->...iad", np.conj(U), dh, U, optimize=True)


def _spectral(model: Any, k: ArrayLike, min_gap: float = 1e-9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(eps, U, V) for k; V^i_nm = <n| d_i h |m>, shape (..., d, N, N)."""
    k = _check_k(model, k)
    eps, U = _eigensystem(model, k, min_gap)
    return eps, U, _velocity(model, k, U)


def velocity_matrix(
    model: Any, k: ArrayLike, min_gap: float = 1e-9
) -> tuple[NDArray[np.complex128], NDArray[np.float64], NDArray[np.complex128]]:
    """Velocity matrix in the eigenbasis, V^i_ab = <a| d_i h |b> (hbar = 1).

    Returns
    -------
    V : ndarray, shape (..., d, N, N)
        Hermitian in (a, b); the diagonal is the band velocity d_i eps^a.
    eps, U
        As returned by :func:`eigensystem`.
    """
    eps, U, V = _spectral(model, k, min_gap)
    return V, eps, U


def _gaps(eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(eps_n - eps_m) and its reciprocal with the diagonal set to zero."""
    N = eps.shape[-1]
    eye = np.eye(N)
    gap = eps[..., :, None] - eps[..., None, :]
    inv = (1.0 - eye) / (gap + eye)
    return gap, inv


def _omega(eps: np.ndarray, V: np.ndarray, i: int, j: int) -> np.ndarray:
    """Omega_m^{n,ij} as an (..., N, N) array indexed [n, m] (see module docstring)."""
    N = eps.shape[-1]
    _, inv = _gaps(eps)
    prod = V[..., i, :, :] * np.swapaxes(V[..., j, :, :], -1, -2)  # [n, m] = V^i_nm V^j_mn
    om = -2.0 * prod.imag * inv**2
    return om + np.eye(N) * om.sum(axis=-1)[..., :, None]


def _projector_gradient(eps: np.ndarray, U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """d_i P_n in the orbital basis, shape (..., N, d, N, N) indexed [n, i, :, :]."""
    _, inv = _gaps(eps)
    N = eps.shape[-1]
    # eigenbasis: (d_i P_n)_{ab} = delta_an V^i_nb/(eps_n - eps_b) + delta_bn V^i_an/(eps_n - eps_a)
    X = V * inv[..., None, :, :]  # [i, n, b] = V^i_nb / (eps_n - eps_b)
    R = np.einsum("na,...inb->...niab", np.eye(N), X)  # row n of d_i P_n
    dP = R + np.conj(np.swapaxes(R, -1, -2))
    Uh = np.conj(np.swapaxes(U, -1, -2))
    return U[..., None, None, :, :] @ dP @ Uh[..., None, None, :, :]


def projector_gradient(model: Any, k: ArrayLike, min_gap: float = 1e-9) -> NDArray[np.complex128]:
    """Analytic gradient of the eigenprojectors, d_i P_n (orbital basis).

    d_i P_n = sum_{l != n} (P_l d_i h P_n + P_n d_i h P_l) / (eps_n - eps_l)
    (first-order perturbation theory; units: 1 / momentum).

    Returns
    -------
    ndarray, shape (..., N, d, N, N), indexed [..., n, i, :, :].
    """
    eps, U, V = _spectral(model, k, min_gap)
    return _projector_gradient(eps, U, V)


def berry_tensor(model: Any, k: ArrayLike, min_gap: float = 1e-9) -> NDArray[np.float64]:
    """Generalized Berry curvature tensor, momentum sector of paper Eq. 13.

    ``T[..., n, m, i, j] = Omega_m^{n,ij} = -(1/2) b_n . (d_i b_m x d_j b_m)
    = i Tr(P_n [d_i P_m, d_j P_m])``, indices exactly as printed in the paper
    (upper index n = first array axis, lower index m = second), evaluated
    analytically (see the module docstring). Antisymmetric in (i, j);
    T[n, n] is the Berry curvature of band n (A = i<u|grad u>); for n != m,
    T[m, n] = -T[n, m]. Units: (1/a)^-2, i.e. length^2 (a = 1).

    Returns
    -------
    ndarray, shape (..., N, N, d, d), real.
    """
    eps, _, V = _spectral(model, k, min_gap)
    d = V.shape[-3]
    N = eps.shape[-1]
    T = np.zeros(eps.shape + (N, d, d))
    for i in range(d):
        for j in range(i + 1, d):
            om = _omega(eps, V, i, j)
            T[..., i, j] = om
            T[..., j, i] = -om
    return T


def berry_curvature(model: Any, k: ArrayLike, min_gap: float = 1e-9) -> NDArray[np.float64]:
    """Berry curvature Omega_n^{n,xy}(k) of every band (Eq. 13 with n = m), shape (..., N).

    Connection A = i<u_n|grad u_n>, Omega = d_x A_y - d_y A_x (Kubo form
    -2 Im sum_{l != n} V^x_nl V^y_ln / (eps_n - eps_l)^2); units a^2. For the
    two-band upper band this is the Omega of paper Eq. 38.
    """
    eps, _, V = _spectral(model, k, min_gap)
    if V.shape[-3] < 2:
        raise ValueError("the xy Berry curvature needs a model of dimension >= 2")
    return np.diagonal(_omega(eps, V, 0, 1), axis1=-2, axis2=-1).copy()


def axial_curvature(tensor: ArrayLike) -> NDArray[np.float64]:
    """Axial Berry curvature vectors (Omega_m^n)_c = (1/2) eps_abc Omega_m^{n,ab} (text after Eq. 15).

    Parameters
    ----------
    tensor
        Output of :func:`berry_tensor`, shape (..., N, N, d, d) with d = 2 or 3.

    Returns
    -------
    ndarray, shape (..., N, N, 3); for d = 2 only the z component is nonzero.
    """
    T = np.asarray(tensor, dtype=float)
    d = T.shape[-1]
    if T.ndim < 4 or T.shape[-2] != d or d not in (2, 3):
        raise ValueError(f"tensor must have shape (..., N, N, d, d) with d in (2, 3), got {T.shape}")
    out = np.zeros(T.shape[:-2] + (3,))
    out[..., 2] = T[..., 0, 1]
    if d == 3:
        out[..., 0] = T[..., 1, 2]
        out[..., 1] = T[..., 2, 0]
    return out


def _beta(model: Any, field: Any) -> float:
    """beta = field.beta(cell area): the field must be a static B (a ``beta`` method) and beta finite."""
    if not callable(getattr(field, "beta", None)):
        raise TypeError(f"field must be a uniform B with a beta(cell_area) method (e.g. keldysh.UniformB), got {field!r}")
    beta = float(field.beta(getattr(model, "cell_area", 1.0)))
    if not np.isfinite(beta):
        raise ValueError(f"field gives a non-finite beta={beta}")
    return beta


def field_contraction(model: Any, k: ArrayLike, field: Any, min_gap: float = 1e-9) -> NDArray[np.float64]:
    """The paper's e B . Omega_m^n for a uniform B along z: beta * Omega_m^{n,xy}(k).

    beta = q B / hbar = ``field.beta(model.cell_area)`` (flux quanta per cell
    times 2 pi / cell area; sign of the charge included). Dimensionless.

    Returns
    -------
    ndarray, shape (..., N, N) indexed [n, m] (upper index n, lower index m).
    """
    eps, _, V = _spectral(model, k, min_gap)
    return _beta(model, field) * _omega(eps, V, 0, 1)


def _orbital_moment(eps: np.ndarray, V: np.ndarray) -> np.ndarray:
    gap, _ = _gaps(eps)
    N = eps.shape[-1]
    eye = np.eye(N)
    prod = V[..., 0, :, :] * np.swapaxes(V[..., 1, :, :], -1, -2)  # [n, l] = V^x_nl V^y_ln
    return (prod.imag * (1.0 - eye) / (gap + eye)).sum(axis=-1)


def orbital_moment(model: Any, k: ArrayLike, min_gap: float = 1e-9) -> NDArray[np.float64]:
    """Orbital magnetic moment (z component, per unit charge) of every band.

    m_n = (i/2) <grad u_n| x (h - eps_n) |grad u_n>_z
        = (i/2) Tr(P_n [d_x P_n (h - eps_n) d_y P_n - d_y P_n (h - eps_n) d_x P_n])
        = sum_{l != n} Im(V^x_nl V^y_ln) / (eps_n - eps_l)        (sum over states).

    Units: energy x a^2 (hbar = 1), q folded into beta: the first-order energy
    shift in a uniform B along z is -beta * m_n, which is the Sundaram-Niu
    correction that paper Eq. 12 reproduces (tested: eps-bar - eps = -beta m).

    Returns
    -------
    ndarray, shape (..., N).
    """
    eps, _, V = _spectral(model, k, min_gap)
    if V.shape[-3] < 2:
        raise ValueError("the z orbital moment needs a model of dimension >= 2")
    return _orbital_moment(eps, V)


def _reciprocal(model: Any) -> np.ndarray:
    a = np.asarray(getattr(model, "lattice_vectors", np.eye(model.dim)), dtype=float)
    return 2 * np.pi * np.linalg.inv(a).T


def reciprocal_grid(model: Any, n_k: int, endpoint: bool = False) -> NDArray[np.float64]:
    """Uniform grid of cartesian momenta on the reciprocal cell k = sum_j (s_j / n_k) b_j.

    s_j = 0 .. n_k - 1 (``endpoint=True``: 0 .. n_k, closing the cell), with
    b_j the reciprocal vectors of ``model.lattice_vectors`` (identity if absent).
    Averages over the grid are per-unit-cell densities: (1/N_k) sum_k = A_cell int d^dk/(2 pi)^d.

    Returns
    -------
    ndarray, shape (n,) * d + (d,) with n = n_k (or n_k + 1).
    """
    if int(n_k) != n_k or n_k < 1:
        raise ValueError(f"n_k must be a positive integer, got {n_k!r}")
    s = np.arange(n_k + 1 if endpoint else n_k) / n_k
    frac = np.stack(np.meshgrid(*([s] * model.dim), indexing="ij"), axis=-1)
    return frac @ _reciprocal(model)


def _check_2d(model: Any) -> None:
    if model.dim != 2:
        raise ValueError(f"Chern numbers are defined here for 2D models, got dim={model.dim}")


def chern_numbers(model: Any, n_k: int, min_gap: float = 1e-9) -> NDArray[np.float64]:
    """Chern numbers C_n = (1/2 pi) int_BZ Omega_n^{n,xy} d^2k by direct integration.

    The analytic Berry curvature is summed over the uniform ``n_k x n_k`` grid of
    :func:`reciprocal_grid` (periodic trapezoid rule, exponentially convergent for
    a gapped model). Connection A = i<u|grad u>. The curvature of the
    convention-II h(k) is gauge invariant and periodic, so no care about
    orbital positions is needed. Not rounded: the distance from an integer
    measures the grid error.

    Returns
    -------
    ndarray, shape (N,), one per band (ascending energy); they sum to zero.
    """
    _check_2d(model)
    om = berry_curvature(model, reciprocal_grid(model, n_k), min_gap)
    bz_area = abs(np.linalg.det(_reciprocal(model)))
    return om.sum(axis=(0, 1)) * bz_area / (n_k**2 * 2 * np.pi)


def chern_numbers_fhs(model: Any, n_k: int, min_gap: float = 1e-9) -> NDArray[np.float64]:
    """Chern numbers by the Fukui-Hatsugai-Suzuki lattice field strength.

    Link variables U_j(k) = <u_n(k)|u_n(k + b_j/n_k)> on the closed
    (n_k + 1) x (n_k + 1) grid of :func:`reciprocal_grid` (``endpoint=True``);
    the plaquette phase F = arg(U_1(k) U_2(k + b_1/n) U_1(k + b_2/n)^* U_2(k)^*)
    approximates -int Omega over the plaquette (A = i<u|grad u>), so
    C_n = -(1/2 pi) sum F (times the orientation sign of (b_1, b_2)).

    Periodicity: the Bloch functions of the convention-II h(k) (orbital phases
    exp(i k.tau)) are not periodic, u(k + G) = exp(-i G.tau) u(k) orbital-wise.
    The eigenvectors on the far edges k + b_j are therefore computed from h at
    k + b_j itself rather than wrapped around: every link is then a genuine
    overlap of eigenvectors of h at neighbouring momenta, each plaquette is gauge
    invariant, and the product of all plaquettes (the Wilson loop around the cell
    boundary) is exactly 1 because the opposite edges differ by the constant
    unitary diag(exp(-i G.tau)), so the sum of plaquette phases is 2 pi times an
    integer. Chern numbers do not depend on the convention; this needs no
    knowledge of the orbital positions.

    Returns
    -------
    ndarray, shape (N,): integers up to rounding (~1e-12) once the grid resolves
    the curvature (plaquette phases below pi).

    Raises
    ------
    ValueError
        For a degenerate band (via :func:`eigensystem`) or a grid so coarse that
        an overlap vanishes.
    """
    _check_2d(model)
    k = reciprocal_grid(model, n_k, endpoint=True)
    _, U = _eigensystem(model, k, min_gap)
    # links: overlaps of column n at neighbouring points, shapes (n, n+1, N) and (n+1, n, N)
    L1 = np.einsum("ijan,ijan->ijn", np.conj(U[:-1]), U[1:])
    L2 = np.einsum("ijan,ijan->ijn", np.conj(U[:, :-1]), U[:, 1:])
    plaq = L1[:, :-1] * L2[1:, :] * np.conj(L1[:, 1:]) * np.conj(L2[:-1, :])
    if np.min(np.abs(plaq)) < 1e-12:
        raise ValueError(f"FHS grid n_k={n_k} too coarse: an eigenvector overlap vanishes")
    orient = np.sign(np.linalg.det(_reciprocal(model)))
    return -orient * np.angle(plaq).sum(axis=(0, 1)) / (2 * np.pi)
