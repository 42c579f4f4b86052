"""Exact time evolution of a clean lattice in a uniform electric field (temporal gauge).

In the temporal gauge of :class:`keldysh.fields.UniformE` the canonical
momentum k is conserved and each k evolves on its own (hbar = 1)::

    i dU_k/dt = h(k - q A(t)) U_k,    U_k(0) = 1,

with h the convention-II Bloch Hamiltonian of the model. Every k-point of a
batch is propagated at once (the time loop is the only Python loop).

Integrator: sixth-order Magnus expansion on the three Gauss-Legendre nodes
t + (1/2 - sqrt(15)/10, 1/2, 1/2 + sqrt(15)/10) dt of each step (Blanes, Casas,
Oteo and Ros, Phys. Rep. 470, 151 (2009), Eq. 257): with A_j = -i H(t_j),

    a1 = dt A_2,  a2 = (sqrt(15)/3) dt (A_3 - A_1),  a3 = (10/3) dt (A_3 - 2 A_2 + A_1),
    C1 = [a1, a2],  C2 = -(1/60) [a1, 2 a3 + C1],
    Omega = a1 + a3/12 + (1/240) [-20 a1 - a3 + C1, a2 + C2],
    U(t + dt) = exp(Omega) U(t),

so every step is exactly unitary (Omega is anti-Hermitian). Two-band models
run the same formula in Pauli coordinates (A = -i a.sigma <-> a, [A, B] <-> 2 a x b,
propagator kept as a phase times a unit quaternion), all others on N x N
matrices with the exponential by eigh.

Error control: the step is capped at ``1 / max||h - tr(h)/N||`` (one radian
of relative phase per step) and then refined on a pilot subset of the k-points
by step doubling (global Richardson estimate ||U_dt - U_{dt/2}|| * 64/63 of the
error of the dt run, max over elements, pilot k-points and output times) until
the estimate is below ``tol``; the whole batch is then propagated once with
that step. The error is a smooth function of k, so a pilot that samples the
whole batch represents it.

Observables (Keldysh conventions of the paper: rho = (1/2 pi i) int g_<):

- density matrix rho_k(t) = U_k(t) rho_k(0) U_k(t)^dagger, with
  rho_ab = <c_b^dagger c_a> and rho_k(0) = f(h(k)) (Fermi-Dirac or band window);
- lesser G^<_k(t, t') = i U_k(t) rho_k(0) U_k(t')^dagger, so G^<(t, t) = i rho;
- retarded G^R_k(t, t') = -i theta(t - t') U_k(t) U_k(t')^dagger with
  theta(0) = 1/2 (the mean of the two limits; the trapezoid weight of the
  jump in a relative-time quadrature);
- gauge-invariant Wigner functions at kinetic momentum p: the straight
  spacetime Wilson line from (t', r2) to (t, r1) is exp(i q Abar.(r1 - r2))
  with Abar the mean of A over [t', t]; a translation-invariant kernel
  O_k(t, t') then has the Wigner function O_{k = p + q Abar}(t, t') at p. At
  equal times Abar = A(t): W_rho(p, t) = rho_{p + q A(t)}(t);
- particle current density j(t) = (1/(N_k A_cell)) sum_k Tr(rho_k(t) d_k h(p)),
  p = k - q A(t) (multiply by q for the charge current; the conductivity in
  units of q^2/h is 2 pi j / (q E)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ConvergenceError
from ..fields import UniformE
from ..lattice import TightBinding

__all__ = [
    "Evolution",
    "propagate",
    "initial_density",
    "wigner_density",
    "wigner_greens",
    "current_density",
]

_GAUSS = 0.5 + np.array([-1.0, 0.0, 1.0]) * math.sqrt(15.0) / 10.0
_GAUSS_WEIGHTS = np.array([5.0, 8.0, 5.0]) / 18.0
_ORDER = 6
_PILOT_POINTS = 64
_MAX_REFINEMENTS = 8
#: Bytes of node Hamiltonians evaluated at once (sets how many time steps are vectorized together).
_CHUNK_BYTES = 1 << 25


def _dagger(X: np.ndarray) -> np.ndarray:
    return np.conj(np.swapaxes(X, -1, -2))


def _magnus6(A1, A2, A3, dt: float, comm):
    """Sixth-order Magnus exponent Omega from the generator at the three Gauss nodes.

    ``comm`` is the Lie bracket of the representation (matrices or Pauli vectors).
    """
    a1 = dt * A2
    a2 = (math.sqrt(15.0) / 3.0 * dt) * (A3 - A1)
    a3 = (10.0 / 3.0 * dt) * (A3 - 2.0 * A2 + A1)
    c1 = comm(a1, a2)
    c2 = (-1.0 / 60.0) * comm(a1, 2.0 * a3 + c1)
    return a1 + a3 / 12.0 + comm(-20.0 * a1 - a3 + c1, a2 + c2) / 240.0


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product along the first axis (length 3)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _pauli_bracket(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[-i a.sigma, -i b.sigma] = -i (2 a x b).sigma: the bracket in Pauli coordinates."""
    return 2.0 * _cross(a, b)


def _matrix_bracket(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return X @ Y - Y @ X


def _ordered_product(steps, multiply):
    """steps[..., m-1] o ... o steps[..., 0] by pairwise reduction over the last axis (later factors on the left).

    ``steps`` is a tuple of arrays sharing the step axis last; ``multiply(later, earlier)``
    combines two such tuples elementwise.
    """
    while steps[0].shape[-1] > 1:
        m = steps[0].shape[-1]
        pairs = multiply(tuple(x[..., 1 : m - m % 2 : 2] for x in steps), tuple(x[..., 0 : m - m % 2 : 2] for x in steps))
        if m % 2:
            pairs = tuple(np.concatenate([p, x[..., -1:]], axis=-1) for p, x in zip(pairs, steps))
        steps = pairs
    return tuple(x[..., 0] for x in steps)


class _ShiftedBloch:
    """h(k - q A) for a fixed batch of canonical k and many q A at once.

    h(k - qA)_ab = sum_r [T_r e^{i k.d_r}]_ab e^{-i qA.d_r,ab} with the
    convention-II displacements d_r,ab = R + tau_b - tau_a of the model
    (``TightBinding.displacements``); the k-dependent factor is computed once
    and each call is one batched matrix product over R.
    """

    def __init__(self, model: TightBinding, k: np.ndarray) -> None:
        self.N = model.norbs
        self.nk = len(k)
        self.disp = model.displacements  # (nR, N, N, d)
        C = np.exp(1j * np.einsum("ki,rabi->krab", k, self.disp)) * model.hopping_matrices
        self.C = np.ascontiguousarray(C.transpose(2, 3, 0, 1))  # (N, N, nk, nR)

    def __call__(self, qA: np.ndarray) -> np.ndarray:
        """h(k - qA) for qA of shape (M, d): array (N, N, nk, M)."""
        phase = np.exp(-1j * np.einsum("mi,rabi->abrm", qA, self.disp))  # (N, N, nR, M)
        return self.C @ phase


def _quaternion_product(later, earlier):
    """(w1 - i v1.s)(w2 - i v2.s) = w1 w2 - v1.v2 - i (w1 v2 + w2 v1 + v1 x v2).s, v along axis 0."""
    w1, v1 = later
    w2, v2 = earlier
    return w1 * w2 - np.einsum("i...,i...->...", v1, v2), w1 * v2 + w2 * v1 + _cross(v1, v2)


class _PauliMagnus:
    """Magnus steps for N = 2 in Pauli coordinates (real arithmetic, no matrix products).

    H = a0 + a.sigma; the scalar part integrates to the phase phi (Gauss
    quadrature), the vector part through :func:`_magnus6` with the bracket
    2 a x b to omega, and exp(-i omega.sigma) = cos r - i (sin r / r) omega.sigma,
    r = |omega|. The propagator is U = exp(-i phi) (w - i v.sigma) with (w, v)
    a unit quaternion (:func:`_quaternion_product`).
    """

    def __init__(self, nk: int) -> None:
        self.phi = np.zeros(nk)
        self.w = np.ones(nk)
        self.v = np.zeros((3, nk))

    def advance(self, h: np.ndarray, dt: float) -> None:
        """Apply m steps of length dt; h (2, 2, nk, m, 3) holds the node Hamiltonians of each step."""
        a0 = 0.5 * (h[0, 0].real + h[1, 1].real)  # (nk, m, 3)
        a = np.stack([h[1, 0].real, h[1, 0].imag, 0.5 * (h[0, 0].real - h[1, 1].real)])  # (3, nk, m, 3)
        self.phi += dt * (a0 @ _GAUSS_WEIGHTS).sum(axis=-1)
        omega = _magnus6(a[..., 0], a[..., 1], a[..., 2], dt, _pauli_bracket)  # (3, nk, m)
        r = np.sqrt(np.einsum("i...,i...->...", omega, omega))
        w, v = _ordered_product((np.cos(r), np.sinc(r / np.pi) * omega), _quaternion_product)
        self.w, self.v = _quaternion_product((w, v), (self.w, self.v))

    def value(self) -> np.ndarray:
        w, (vx, vy, vz) = self.w, self.v
        U = np.empty((len(w), 2, 2), dtype=complex)
        U[:, 0, 0] = w - 1j * vz
        U[:, 1, 1] = w + 1j * vz
        U[:, 0, 1] = -1j * vx - vy
        U[:, 1, 0] = -1j * vx + vy
        return np.exp(-1j * self.phi)[:, None, None] * U


class _MatrixMagnus:
    """Magnus steps on N x N propagators (any N; exponential by eigh)."""

    def __init__(self, nk: int, N: int) -> None:
        self.U = np.broadcast_to(np.eye(N, dtype=complex), (nk, N, N)).copy()

    def advance(self, h: np.ndarray, dt: float) -> None:
        """Apply m steps of length dt; h (N, N, nk, m, 3) holds the node Hamiltonians of each step."""
        A = -1j * np.moveaxis(h, (0, 1), (-2, -1))  # (nk, m, 3, N, N)
        K = 1j * _magnus6(A[:, :, 0], A[:, :, 1], A[:, :, 2], dt, _matrix_bracket)  # Hermitian, step = exp(-i K)
        w, V = np.linalg.eigh(0.5 * (K + _dagger(K)))
        steps = (V * np.exp(-1j * w)[..., None, :]) @ _dagger(V)  # (nk, m, N, N)
        (total,) = _ordered_product((np.moveaxis(steps, 1, -1),), lambda a, b: (np.einsum("...ijm,...jlm->...ilm", a[0], b[0]),))
        self.U = total @ self.U

    def value(self) -> np.ndarray:
        return self.U.copy()


def _magnus_run(
    bloch: _ShiftedBloch, field: UniformE, times: np.ndarray, dt_max: float, pauli: bool = True
) -> np.ndarray:
    """U(t_i) for every output time (times ascending, >= 0), steps <= dt_max. Shape (nt, nk, N, N).

    Steps between output times are evaluated in chunks (node Hamiltonians of
    many steps in one product, step exponentials vectorized, their ordered
    product by pairwise reduction). ``pauli`` selects the Pauli-coordinate
    stepper for N = 2 (the matrix stepper is used otherwise; both implement the
    same Magnus step).
    """
    N, nk = bloch.N, bloch.nk
    prop = _PauliMagnus(nk) if (pauli and N == 2) else _MatrixMagnus(nk, N)
    chunk = max(1, _CHUNK_BYTES // (48 * N * N * nk))
    out = np.empty((len(times), nk, N, N), dtype=complex)
    t = 0.0
    for i, t_out in enumerate(times):
        span = t_out - t
        n = int(math.ceil(span / dt_max - 1e-12)) if span > 0 else 0
        if n:
            dt = span / n
            for first in range(0, n, chunk):
                starts = t + dt * np.arange(first, min(n, first + chunk))
                qA = field.vector_potential((starts[:, None] + dt * _GAUSS).ravel())  # (m * 3, d)
                h = bloch(qA).reshape(N, N, nk, len(starts), 3)
                prop.advance(h, dt)
        out[i] = prop.value()
        t = t_out
    return out


def _theta(x: np.ndarray) -> np.ndarray:
    """Heaviside step with theta(0) = 1/2."""
    return np.where(x > 0, 1.0, np.where(x == 0, 0.5, 0.0))


def _check_model(model: object, field: UniformE) -> None:
    if not isinstance(model, TightBinding):
        raise TypeError(f"the exact evolution needs a keldysh TightBinding model, got {type(model).__name__}")
    if not isinstance(field, UniformE):
        raise TypeError(f"field must be a keldysh UniformE, got {type(field).__name__}")
    if field.dim != model.dim:
        raise ValueError(f"E has {field.dim} components but the model is {model.dim}-dimensional")


def _check_times(times: ArrayLike) -> np.ndarray:
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times must be a non-empty 1D array, got shape {times.shape}")
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError("times must be finite and >= 0 (the field is switched on at t = 0)")
    if np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing")
    return times


@dataclass(frozen=True)
class Evolution:
    """Propagators U_k(t_i, 0) of a batch of canonical momenta.

    Attributes
    ----------
    field
        The :class:`UniformE` that drove the evolution.
    k
        Canonical momenta, shape (..., d).
    times
        Output times, shape (nt,), strictly increasing, >= 0.
    U
        Propagators, shape (nt, ..., N, N), unitary.
    step
        Largest time step used (units 1/energy).
    error_estimate
        Estimated max error of the elements of U (pilot step doubling, see the
        module docstring); 0 when the step was imposed (``dt`` given).
    """

    field: UniformE
    k: NDArray[np.float64]
    times: NDArray[np.float64]
    U: NDArray[np.complex128]
    step: float
    error_estimate: float

    def kinetic_momentum(self) -> NDArray[np.float64]:
        """p = k - q A(t_i), shape (nt, ..., d)."""
        qA = self.field.vector_potential(self.times)
        return self.k[None] - qA.reshape((len(self.times),) + (1,) * (self.k.ndim - 1) + (-1,))

    def density_matrix(self, rho0: ArrayLike) -> NDArray[np.complex128]:
        """rho_k(t_i) = U rho0 U^dagger, shape (nt, ..., N, N); rho0 of shape (..., N, N)."""
        return self.U @ np.asarray(rho0) @ _dagger(self.U)

    def lesser(self, rho0: ArrayLike) -> NDArray[np.complex128]:
        """G^<_k(t_i, t_j) = i U(t_i) rho0 U(t_j)^dagger, shape (nt, nt, ..., N, N)."""
        left = self.U @ np.asarray(rho0)
        return 1j * left[:, None] @ _dagger(self.U)[None, :]

    def retarded(self) -> NDArray[np.complex128]:
        """G^R_k(t_i, t_j) = -i theta(t_i - t_j) U(t_i) U(t_j)^dagger (theta(0) = 1/2), shape (nt, nt, ..., N, N)."""
        theta = _theta(self.times[:, None] - self.times[None, :])
        theta = theta.reshape(theta.shape + (1,) * (self.U.ndim - 1))
        return -1j * theta * (self.U[:, None] @ _dagger(self.U)[None, :])


def propagate(
    model: TightBinding,
    field: UniformE,
    k: ArrayLike,
    times: ArrayLike,
    *,
    tol: float = 1e-8,
    dt: float | None = None,
) -> Evolution:
    """Propagate every canonical momentum k from t = 0 to each output time (sixth-order Magnus).

    Parameters
    ----------
    model
        Tight-binding model (convention II Bloch Hamiltonian).
    field
        The uniform E field and its ramp.
    k
        Canonical momenta, shape (..., d), cartesian (1/a).
    times
        Output times (units 1/energy, hbar = 1), strictly increasing, >= 0.
    tol
        Target max error of the propagator elements (see the module docstring).
    dt
        Impose the largest time step instead of choosing it from ``tol``.

    Returns
    -------
    Evolution

    Raises
    ------
    ValueError
        For mismatched dimensions, bad times, or a non-positive tol or dt.
    ConvergenceError
        When the error target is not met after repeated refinement of the step.
    """
    _check_model(model, field)
    k = field._check_k(k)
    times = _check_times(times)
    flat = k.reshape(-1, model.dim)
    if dt is not None:
        if not dt > 0:
            raise ValueError(f"dt must be positive, got {dt}")
        U = _magnus_run(_ShiftedBloch(model, flat), field, times, dt)
        return Evolution(field, k, times, U.reshape(times.shape + k.shape[:-1] + U.shape[-2:]), dt, 0.0)
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    pilot_idx = np.unique(np.linspace(0, len(flat) - 1, min(len(flat), _PILOT_POINTS)).astype(int))
    pilot = _ShiftedBloch(model, flat[pilot_idx])
    h0 = pilot(np.zeros((1, model.dim)))[..., 0].transpose(2, 0, 1)
    traceless = h0 - np.trace(h0, axis1=-2, axis2=-1)[:, None, None] / model.norbs * np.eye(model.norbs)
    radius = float(np.max(np.linalg.norm(traceless, ord=2, axis=(-2, -1)), initial=0.0))
    step = min(float(times[-1]) or 1.0, 1.0 / radius if radius > 0 else np.inf)
    for _ in range(_MAX_REFINEMENTS):
        coarse = _magnus_run(pilot, field, times, step)
        fine = _magnus_run(pilot, field, times, step / 2)
        error = float(np.max(np.abs(coarse - fine))) * 2**_ORDER / (2**_ORDER - 1)
        if error <= tol:
            break
        step *= min(0.9, max(0.2, 0.9 * (tol / error) ** (1.0 / _ORDER)))
    else:
        raise ConvergenceError(
            f"propagation did not reach tol={tol:g} after {_MAX_REFINEMENTS} refinements of the step "
            f"(estimate {error:.2e} at step {step:.2e}); raise tol"
        )
    # a pilot that is the whole batch has already produced the result
    U = coarse if len(pilot_idx) == len(flat) else _magnus_run(_ShiftedBloch(model, flat), field, times, step)
    return Evolution(field, k, times, U.reshape(times.shape + k.shape[:-1] + U.shape[-2:]), step, error)


def initial_density(model: TightBinding, k: ArrayLike, occupation: Callable[[np.ndarray], np.ndarray]) -> NDArray[np.complex128]:
    """rho_k(0) = f(h(k)) for an occupation f of the energies (``FermiDirac``, ``BandWindow``), shape (..., N, N)."""
    eps, V = np.linalg.eigh(model.bloch(k))
    return (V * np.asarray(occupation(eps), dtype=float)[..., None, :]) @ _dagger(V)


def wigner_density(
    model: TightBinding,
    field: UniformE,
    p: ArrayLike,
    t: float,
    occupation: Callable[[np.ndarray], np.ndarray],
    *,
    tol: float = 1e-8,
) -> NDArray[np.complex128]:
    """Gauge-invariant Wigner function of the density matrix at kinetic momentum p and time t.

    W_rho(p, t) = rho_k(t) with k = p + q A(t), the state prepared as
    rho_k(0) = f(h(k)) before the field is switched on. Shape (..., N, N) for p
    of shape (..., d); dimensionless (occupations).
    """
    _check_model(model, field)
    k = field.canonical_momentum(p, t)
    evo = propagate(model, field, k, [t], tol=tol)
    return evo.density_matrix(initial_density(model, k, occupation))[0]


def wigner_greens(
    model: TightBinding,
    field: UniformE,
    p: ArrayLike,
    T: float,
    tau: ArrayLike,
    occupation: Callable[[np.ndarray], np.ndarray],
    *,
    tol: float = 1e-8,
) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """Two-time Wigner functions G^<(p; T, tau) and G^R(p; T, tau) at mean time T, relative time tau.

    G(p; T, tau) = G_k(T + tau/2, T - tau/2) with k = p + q Abar, Abar the mean
    of A over [T - |tau|/2, T + |tau|/2] (straight spacetime Wilson line).
    At tau = 0, G^< = i W_rho(p, T). The energy-resolved functions are the
    Fourier transforms int dtau exp(i eps tau) G(p; T, tau).

    Parameters
    ----------
    p
        Kinetic momenta, shape (..., d).
    T
        Mean time (>= max|tau|/2, so both times are after the switch-on at 0).
    tau
        Relative times, shape (ntau,).

    Returns
    -------
    (G_lesser, G_retarded), each of shape (ntau, ..., N, N).
    """
    _check_model(model, field)
    p = field._check_k(p)
    tau = np.atleast_1d(np.asarray(tau, dtype=float))
    if tau.ndim != 1:
        raise ValueError(f"tau must be 1D, got shape {tau.shape}")
    t_plus, t_minus = T + tau / 2, T - tau / 2
    if np.min(t_minus, initial=T) < 0 or np.min(t_plus, initial=T) < 0:
        raise ValueError(f"mean time T={T} too small for |tau| up to {np.max(np.abs(tau)):g}: times must be >= 0")
    qA = field.mean_vector_potential(t_plus, t_minus)  # (ntau, d)
    k = p[None] + qA.reshape((len(tau),) + (1,) * (p.ndim - 1) + (-1,))  # (ntau, ..., d)
    times, index = np.unique(np.concatenate([t_plus, t_minus]), return_inverse=True)
    evo = propagate(model, field, k, times, tol=tol)
    ntau = len(tau)
    rows = np.arange(ntau)
    U_plus = evo.U[index[:ntau], rows]  # (ntau, ..., N, N)
    U_minus = evo.U[index[ntau:], rows]
    rho0 = initial_density(model, k, occupation)
    lesser = 1j * U_plus @ rho0 @ _dagger(U_minus)
    theta = _theta(tau).reshape((ntau,) + (1,) * (U_plus.ndim - 1))
    retarded = -1j * theta * (U_plus @ _dagger(U_minus))
    return lesser, retarded


def current_density(
    model: TightBinding,
    evolution: Evolution,
    rho0: ArrayLike,
) -> NDArray[np.float64]:
    """Particle current density j(t_i) = (1/(N_k A_cell)) sum_k Tr(rho_k(t_i) d_k h(k - q A(t_i))).

    ``evolution.k`` must be a uniform grid over the Brillouin zone (all
    leading axes are averaged). Multiply by q for the charge current; the
    conductivity in units of q^2/h is 2 pi j / (q E) (hbar = 1).

    Returns
    -------
    ndarray, shape (nt, d).
    """
    rho = evolution.density_matrix(rho0)
    v = model.bloch_derivative(evolution.kinetic_momentum())  # (nt, ..., d, N, N)
    tr = np.einsum("t...ab,t...iba->t...i", rho, v).real
    axes = tuple(range(1, tr.ndim - 1))
    return tr.mean(axis=axes) / model.cell_area
