"""Tight-binding models: the ``hop={R: T_R}`` container and its Bloch Hamiltonian.

Convention (``docs/conventions.md``): ``<r|H|r+R> = T_R`` for the N x N
orbital blocks, hermiticity ``T_{-R} = T_R^dagger``, and the Bloch Hamiltonian
uses the actual orbital positions r = R + tau_a ("convention II")::

    h_ab(k) = sum_R T_R[a, b] exp(i k . (R + tau_b - tau_a))

with k cartesian (units 1/a, hbar = a = 1) and R, tau in fractional coordinates
of the lattice vectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["BlochModel", "TightBinding", "check_momenta"]


@runtime_checkable
class BlochModel(Protocol):
    """What the semiclassical side needs of a model: h(k) and its gradient."""

    dim: int
    norbs: int

    def bloch(self, k: ArrayLike) -> NDArray[np.complex128]:
        """h(k), shape (..., N, N) for k of shape (..., d)."""

    def bloch_derivative(self, k: ArrayLike) -> NDArray[np.complex128]:
        """d h / d k_i, shape (..., d, N, N) for k of shape (..., d)."""


def _lattice_vector(R) -> tuple[int, ...]:
    """A hopping key as a tuple of ints; integer-valued floats are accepted, anything else is refused."""
    try:
        parts = tuple(R)
    except TypeError:
        raise TypeError(f"hoppings: key {R!r} must be a tuple of integers (a lattice vector R)") from None
    if not parts:
        raise ValueError("hoppings: a key is the empty tuple; R needs one integer per lattice dimension")
    out = []
    for x in parts:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
            raise TypeError(f"hoppings: key {R!r} must be a tuple of integers, got the entry {x!r}")
        if not float(x).is_integer():
            raise ValueError(
                f"hoppings: key {R!r} is not an integer lattice vector (entry {x!r}); R is in units of the "
                f"lattice vectors, and orbitals inside the cell go in positions="
            )
        out.append(int(x))
    return tuple(out)


def _real_array(name: str, value: ArrayLike) -> np.ndarray:
    """``value`` as a float array; complex, non-numeric or non-finite input is refused, naming ``name``."""
    try:
        arr = np.asarray(value)
        complex_ = np.iscomplexobj(arr)
        arr = arr.astype(float) if not complex_ else arr
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a real numeric array ({err})") from None
    if complex_:
        raise TypeError(f"{name} must be real, got complex values")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite entries")
    return arr


def check_momenta(k: ArrayLike, dim: int, name: str = "k") -> NDArray[np.float64]:
    """Momenta of shape (..., dim) as a finite float array; otherwise an error naming ``name``."""
    arr = _real_array(name, k)
    if arr.ndim == 0 or arr.shape[-1] != dim:
        raise ValueError(f"{name} must have shape (..., {dim}) (cartesian momenta of a {dim}D model), got shape {arr.shape}")
    return arr


class TightBinding:
    """N-orbital tight-binding model on a d-dimensional Bravais lattice.

    Parameters
    ----------
    hoppings
        ``{R: T_R}`` with R a tuple of d integers (lattice-vector units) and T_R
        an N x N complex array, ``<r|H|r+R> = T_R``. Both R and -R may be given
        (then ``T_{-R}`` must equal ``T_R^dagger``); if only one of a pair is
        given the other is completed as its conjugate transpose. ``R = 0`` must
        be Hermitian.
    positions
        Orbital positions tau_a, shape (N, d), fractional coordinates.
        Default: all orbitals at the origin.
    lattice_vectors
        Shape (d, d); row i is the cartesian lattice vector a_i. Default: the
        identity (square or cubic lattice, a = 1).

    Raises
    ------
    TypeError
        If ``hoppings`` is not a mapping, a key is not a tuple of numbers, or a
        value, ``positions`` or ``lattice_vectors`` is not a real/complex numeric array.
    ValueError
        If a key is not an integer lattice vector (e.g. (0.5, 0): orbitals inside
        the cell go in ``positions``), shapes disagree, values are not finite, or
        the hoppings are not Hermitian (the message names the offending R).
    """

    def __init__(
        self,
        hoppings: Mapping[tuple[int, ...], ArrayLike],
        positions: ArrayLike | None = None,
        lattice_vectors: ArrayLike | None = None,
    ) -> None:
        if not isinstance(hoppings, Mapping):
            raise TypeError(f"hoppings must be a mapping {{R: T_R}}, got {type(hoppings).__name__}")
        if not hoppings:
            raise ValueError("hoppings is empty: a model needs at least T_0")
        items: dict[tuple[int, ...], np.ndarray] = {}
        for R, T in hoppings.items():
            key = _lattice_vector(R)
            if key in items:
                raise ValueError(f"hoppings: the keys {R!r} and an earlier one are the same lattice vector {key}")
            try:
                items[key] = np.asarray(T, dtype=complex)
            except (TypeError, ValueError) as err:
                raise TypeError(f"hoppings: T_R for R={key} is not a numeric N x N array ({err})") from None
        dims = {len(R) for R in items}
        if len(dims) != 1:
            raise ValueError(f"hoppings: the lattice vectors R have mixed lengths {sorted(dims)}")
        d = dims.pop()
        shapes = {T.shape for T in items.values()}
        if len(shapes) != 1:
            raise ValueError(f"hoppings: the matrices T_R have mixed shapes {sorted(shapes)}")
        shape = shapes.pop()
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"hoppings: the matrices T_R must be square N x N, got shape {shape}")
        n = shape[0]
        if n == 0:
            raise ValueError("hoppings: the matrices T_R are 0 x 0; a model needs at least one orbital")
        for R, T in items.items():
            if not np.all(np.isfinite(T)):
                raise ValueError(f"hoppings: T_R for R={R} has non-finite entries")
        full: dict[tuple[int, ...], np.ndarray] = {}
        for R, T in items.items():
            mR = tuple(-x for x in R)
            if mR in items and not np.allclose(items[mR], T.conj().T, rtol=0, atol=1e-12):
                raise ValueError(
                    f"hoppings are not Hermitian: T_{{-R}} != T_R^dagger for R={R} (max deviation "
                    f"{np.abs(items[mR] - T.conj().T).max():.3g})"
                )
            full[R] = T
            full[mR] = T.conj().T if mR not in items else items[mR]
        self.dim = d
        self.norbs = n
        self.hoppings = full

        if positions is None:
            positions = np.zeros((n, d))
        self.positions = _real_array("positions", positions)
        if self.positions.shape != (n, d):
            raise ValueError(f"positions must have shape (N, d) = {(n, d)}, got {self.positions.shape}")
        if lattice_vectors is None:
            lattice_vectors = np.eye(d)
        self.lattice_vectors = _real_array("lattice_vectors", lattice_vectors)
        if self.lattice_vectors.shape != (d, d):
            raise ValueError(f"lattice_vectors must have shape (d, d) = {(d, d)}, got {self.lattice_vectors.shape}")
        if abs(np.linalg.det(self.lattice_vectors)) < 1e-12:
            raise ValueError("lattice_vectors are linearly dependent (zero cell volume)")

        # Cached arrays for batched evaluation. h(k) = D(k)^dagger hR(k) D(k) with
        # hR(k) = sum_R T_R exp(i k.R) and D = diag(exp(i k.tau_a)): nR + N
        # exponentials per k instead of nR N^2.
        self._R = np.array(list(full.keys()), dtype=int)  # (nR, d)
        self._T = np.array(list(full.values()))  # (nR, N, N)
        self._Rc = self._R @ self.lattice_vectors  # cartesian R, (nR, d)
        self._tau = self.positions @ self.lattice_vectors  # cartesian orbital positions (N, d)
        # tau_b - tau_a for element (a, b): (N, N, d)
        self._dtau = self._tau[None, :, :] - self._tau[:, None, :]

    @property
    def displacements(self) -> NDArray[np.float64]:
        """Cartesian hopping displacements R + tau_b - tau_a, shape (nR, N, N, d), in the order of ``hopping_vectors``."""
        return self._Rc[:, None, None, :] + self._dtau[None]

    @property
    def hopping_vectors(self) -> NDArray[np.int_]:
        """Integer hopping vectors R, shape (nR, d)."""
        return self._R

    @property
    def hopping_matrices(self) -> NDArray[np.complex128]:
        """Hopping matrices T_R, shape (nR, N, N), same order as ``hopping_vectors``."""
        return self._T

    @property
    def cell_area(self) -> float:
        """Volume (area in 2D) of the unit cell, in units of a^d."""
        return float(abs(np.linalg.det(self.lattice_vectors)))

    @property
    def reciprocal_vectors(self) -> NDArray[np.float64]:
        """Rows b_j with a_i . b_j = 2 pi delta_ij."""
        return 2 * np.pi * np.linalg.inv(self.lattice_vectors).T

    def _check_k(self, k: ArrayLike) -> np.ndarray:
        return check_momenta(k, self.dim)

    def _cell_sums(self, k: np.ndarray, order: int) -> list[np.ndarray]:
        """sum_R T_R (i R)^(i...) exp(i k.R) for derivative orders 0..order, orbital phases excluded."""
        ph = np.exp(1j * (k @ self._Rc.T))  # (..., nR)
        out = [np.tensordot(ph, self._T, axes=([-1], [0]))]
        if order >= 1:
            w = 1j * ph[..., None, :] * self._Rc.T  # (..., d, nR)
            out.append(np.tensordot(w, self._T, axes=([-1], [0])))
        if order >= 2:
            w = -ph[..., None, None, :] * self._Rc.T[:, None, :] * self._Rc.T[None, :, :]  # (..., d, d, nR)
            out.append(np.tensordot(w, self._T, axes=([-1], [0])))
        return out

    def _with_orbital_phase(self, k: np.ndarray, x: np.ndarray, extra_axes: int) -> np.ndarray:
        """Multiply x (..., [d, ...], N, N) by exp(i k.(tau_b - tau_a)); a no-op when all orbitals share one position."""
        if not self._dtau.any():
            return x
        ph = np.exp(1j * np.einsum("...i,abi->...ab", k, self._dtau))
        return x * ph.reshape(ph.shape[:-2] + (1,) * extra_axes + ph.shape[-2:])

    def bloch(self, k: ArrayLike) -> NDArray[np.complex128]:
        """Bloch Hamiltonian h(k) (convention II), shape (..., N, N), energy units of the hoppings."""
        k = self._check_k(k)
        (h,) = self._cell_sums(k, 0)
        return self._with_orbital_phase(k, h, 0)

    def bloch_derivative(self, k: ArrayLike) -> NDArray[np.complex128]:
        """Analytic gradient d h / d k_i, shape (..., d, N, N)."""
        k = self._check_k(k)
        h, dh = self._cell_sums(k, 1)
        dt = 1j * np.moveaxis(self._dtau, -1, 0)  # (d, N, N)
        return self._with_orbital_phase(k, dh + dt * h[..., None, :, :], 1)

    def bloch_hessian(self, k: ArrayLike) -> NDArray[np.complex128]:
        """Analytic second derivative d^2 h / d k_i d k_j, shape (..., d, d, N, N)."""
        k = self._check_k(k)
        h, dh, ddh = self._cell_sums(k, 2)
        dt = 1j * np.moveaxis(self._dtau, -1, 0)  # (d, N, N)
        out = (
            ddh
            + dt[:, None] * dh[..., None, :, :, :]
            + dt[None, :] * dh[..., :, None, :, :]
            + dt[:, None] * dt[None, :] * h[..., None, None, :, :]
        )
        return self._with_orbital_phase(k, out, 2)

    def __repr__(self) -> str:
        return f"TightBinding(dim={self.dim}, norbs={self.norbs}, nhops={len(self.hoppings)})"
