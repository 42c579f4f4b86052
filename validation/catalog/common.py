"""Models, thermodynamic states, k-points and projections shared by the built-in comparisons.

Models (uniform B along z, square lattice, cell area 1):

- ``qwz``: ``keldysh.models.qwz(1.0, t0=0.3)``, two bands, zero-field spectrum
  [-2.4, -1.0] and [0.4, 3.6] (global gap (-1.0, 0.4)), Chern number of the
  lower band C = -1; t0 breaks particle-hole symmetry.
- ``three_band``: ``keldysh.models.three_band()``, three bands separated by two
  global gaps (``keldysh.spectral.band_edges``).

States:

- ``qwz-gap``: mu = -0.3 (middle of the gap), T = 0: lower band filled;
- ``qwz-metal``: mu = 0.8, T = 0.1: inside the upper band, 0.4 = 4T above its
  bottom and 2.8 below its top, the lower band filled up to exp(-18);
  a metal with a Fermi surface in the upper band;
- ``three_band-gap``: mu = -0.55 (middle of the lower gap), T = 0.

Sweeps (:data:`MODEL_SWEEPS`, :attr:`State.sweep`): qwz in its gap uses the
default sweep (flux 1e-2 to 1e-4). Two cases use :data:`LOW_FLUX_SWEEP` (flux
2.7e-3 to 2.7e-5, same log spacing, six points shared with the default):

- the metal, where the gradient expansion is in omega_c / T as well as beta:
  the residual follows beta^2 only while the cyclotron energy stays well below
  T (higher terms such as beta^3 / T and, at larger fields, de Haas-van Alphen
  oscillations take over above); its exact tolerance, 1e-11, keeps its
  smallest residuals above the floor;
- the three-band model, whose exact kernels cost more at the larger fluxes
  (the exact side widens its gap margins with the field).

k-points: eight generic points (fractional coordinates fixed below, away from
every high-symmetry point and line), cartesian k = frac @ reciprocal vectors.

Exact-side work is shared through the kernel cache of ``keldysh.exact`` (per
model, flux, function, tolerance), and reduced with three exact operator
identities, each documented where it is used:

- the exact side computes the energy moment H Pi_n together with its projector
  Pi_n in one recursion, so :func:`band_wigners` asks for the moment first and
  gets the projector from the cache;
- sum_n Pi_n = 1 and sum_n H Pi_n = H, with W(1) = 1 and W(H) = h(k) exactly
  (Peierls convention), give the top band without a recursion of its own;
- at T = 0 with mu in a global gap, n_F(H) is the projector on the bands below
  mu, sum_{n occupied} Pi_n: the same step function at the same energy
  (mu is the middle of the gap, where the band windows put their edges).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from keldysh import models
from keldysh.exact import band_wigner, fermi_wigner, local_density_matrix, wigner_kernel
from keldysh.spectral import band_edges, band_window
from semiclassics.predictions import fermi, fermi_derivative

from ..sweep import DEFAULT_SWEEP, Sweep

__all__ = [
    "KPOINT_FRACTIONS",
    "KPOINTS_TEXT",
    "LOW_FLUX_SWEEP",
    "MODELS",
    "MODEL_SWEEPS",
    "PAULI",
    "State",
    "STATES",
    "band_wigners",
    "eigenprojectors",
    "generic_kpoints",
    "interband_pauli",
    "local_occupation",
    "occupation_wigner",
]

#: Fractional coordinates of the generic k-points.
KPOINT_FRACTIONS = np.array(
    [
        [0.113, 0.377],
        [0.271, 0.842],
        [0.409, 0.155],
        [0.588, 0.631],
        [0.694, 0.218],
        [0.837, 0.903],
        [0.951, 0.466],
        [0.362, 0.571],
    ]
)
KPOINTS_TEXT = "8 generic k-points (fractional " + ", ".join(f"({a:g},{b:g})" for a, b in KPOINT_FRACTIONS) + ")"

#: Pauli matrices sigma_x, sigma_y, sigma_z (orbital pseudospin of the two-band models).
PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)

#: Model factories (picklable) and labels.
MODELS = {
    "qwz": (functools.partial(models.qwz, 1.0, t0=0.3), "qwz(m=1, t0=0.3)"),
    "three_band": (functools.partial(models.three_band), "three_band(m=1, lam=0.3)"),
}


#: Flux 2.7e-3 to 2.7e-5: the default log spacing, starting two points lower, two decades (metal, three bands).
LOW_FLUX_SWEEP = Sweep.log(10 ** (-2 - 4 / 7), 10 ** (-4 - 4 / 7), 8)
#: Sweep of the k-resolved comparisons of each model (states carry their own).
MODEL_SWEEPS = {"qwz": DEFAULT_SWEEP, "three_band": LOW_FLUX_SWEEP}


@dataclass(frozen=True)
class State:
    """Equilibrium state: chemical potential and temperature (energy units, k_B = 1), its sweep and exact tolerance."""

    label: str
    mu: float
    T: float
    sweep: Sweep = DEFAULT_SWEEP
    tol: float = 1e-10

    @property
    def f(self) -> functools.partial:
        """n_F(E) as a picklable callable."""
        return functools.partial(fermi, mu=self.mu, T=self.T)

    @property
    def fprime(self) -> functools.partial:
        """d n_F / dE as a picklable callable."""
        return functools.partial(fermi_derivative, mu=self.mu, T=self.T)

    def describe(self) -> str:
        kind = "mu in a gap" if self.label.endswith("gap") else "metal"
        return f"mu={self.mu:g}, T={self.T:g} ({kind})"


STATES = {
    "qwz-gap": ("qwz", State("qwz-gap", mu=-0.3, T=0.0)),
    "qwz-metal": ("qwz", State("qwz-metal", mu=0.8, T=0.1, sweep=LOW_FLUX_SWEEP, tol=1e-11)),
    "three_band-gap": ("three_band", State("three_band-gap", mu=-0.55, T=0.0, sweep=LOW_FLUX_SWEEP)),
}


def generic_kpoints(model) -> np.ndarray:
    """The generic k-points of :data:`KPOINT_FRACTIONS` in cartesian units (1/a), shape (8, 2).

    Raises
    ------
    ValueError
        For a model that is not two-dimensional.
    """
    if model.dim != 2:
        raise ValueError(f"the generic k-points are defined for 2D models, got dim={model.dim}")
    return KPOINT_FRACTIONS @ model.reciprocal_vectors


def eigenprojectors(model, k: np.ndarray) -> np.ndarray:
    """Zero-field eigenprojectors P_n(k) of h(k), ascending energy, shape (len(k), N, N, N) [k, n, a, b]."""
    _, U = np.linalg.eigh(model.bloch(k))
    return np.einsum("kan,kbn->knab", U, U.conj())


def interband_pauli(model, k: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Pauli components rho_perp_c = Tr(sigma_c (W - sum_n P_n W P_n)) of the interband part of a two-band W, (len(k), 3).

    P_n(k) are the zero-field eigenprojectors (:func:`eigenprojectors`); (1/2) rho_perp . sigma is the part of W
    that Eq. 26 predicts.
    """
    P = eigenprojectors(model, k)
    interband = W - np.einsum("knab,kbc,kncd->kad", P, W, P)
    return np.einsum("cab,kba->kc", PAULI, interband).real


def band_wigners(model, field, k: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact W(Pi_n)(k) and W(H Pi_n)(k) for every band n, each shape (len(k), N, N, N) [k, n, a, b].

    Bands 0..N-2 come from ``keldysh.exact.band_wigner`` (the moment first, so
    that its projector is a cache hit); the top band from the sum rules
    W(sum_n Pi_n) = 1 and W(sum_n H Pi_n) = W(H) = h(k). Error <= (N - 1) tol per element.
    """
    N = model.norbs
    moments = [band_wigner(model, field, n, k, moment=1, tol=tol) for n in range(N - 1)]
    projectors = [band_wigner(model, field, n, k, moment=0, tol=tol) for n in range(N - 1)]
    projectors.append(np.eye(N) - sum(projectors))
    moments.append(model.bloch(k) - sum(moments))
    return np.stack(projectors, axis=1), np.stack(moments, axis=1)


def _occupied_bands(model, state: State) -> int:
    """Number of bands below mu for a T = 0 state; raises unless mu lies in a global gap."""
    edges = band_edges(model)
    below = int(np.sum(edges[:, 1] < state.mu))
    if below == 0 or below == model.norbs or edges[below, 0] <= state.mu:
        raise ValueError(f"T = 0 needs mu in a global gap between bands; mu={state.mu} is not (band edges {edges.tolist()})")
    return below


def occupation_wigner(model, field, state: State, k: np.ndarray, tol: float) -> np.ndarray:
    """Exact W(n_F(H))(k), shape (len(k), N, N).

    T > 0: ``keldysh.exact.fermi_wigner``. T = 0 (mu in a gap): the sum of the
    exact W(Pi_n) over the occupied bands (same operator, shared kernels).
    """
    if state.T > 0:
        return fermi_wigner(model, field, state.mu, state.T, k, tol=tol)
    projectors, _ = band_wigners(model, field, k, tol)
    return projectors[:, : _occupied_bands(model, state)].sum(axis=1)


def local_occupation(model, field, state: State, tol: float) -> np.ndarray:
    """Exact dressed on-site block of n_F(H), shape (N, N); its trace is the electrons per cell.

    T > 0: ``keldysh.exact.local_density_matrix``. T = 0 (mu in a gap): the sum
    of the on-site blocks (``cells[0] = 0``) of the exact occupied-band projector kernels.
    """
    if state.T > 0:
        return local_density_matrix(model, field, state.mu, state.T, tol=tol)
    return sum(
        wigner_kernel(model, field, band_window(model, n), tol).values[0] for n in range(_occupied_bands(model, state))
    )
