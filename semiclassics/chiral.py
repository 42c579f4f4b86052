"""Chiral magnetic effect (paper Eq. 36) and chiral anomaly (paper Eq. 33) of 3D two-band models.

Units and signs (``docs/conventions.md``): hbar = a = 1, the charge q
folded into the fields: beta = q B_z (B along z) and the force qE. Berry
curvature vector Omega_n = (Omega^{yz}, Omega^{zx}, Omega^{xy}) of band n
(connection A = i<u|grad u>, :func:`semiclassics.geometry.axial_curvature`),
band velocity v_n = grad eps_n.

Chiral magnetic effect
----------------------
The third line of Eq. 34 (charge current) is -q^2 B sum_n int f_n v_n.Omega_n;
as a particle current along B = B z,

    j_z = beta * sum_n alpha_n,   alpha_n = -int d^3k/(2 pi)^3 f(eps_n) v_n . Omega_n,

so Eq. 36's coefficient of band n is q^2 alpha_n (charge current per B).

Quadrature: v.Omega ~ 1/|k - K|^2 at a Weyl node K and f is sharp at the
Fermi surface, so a uniform grid converges slowly. Two independent routes:

*By parts* (:func:`cme_coefficient`). With G the primitive of f that
vanishes at +infinity (G(eps) = -T ln(1 + exp(-(eps - mu)/T)); at T = 0,
min(eps - mu, 0)), f v.Omega = grad G(eps_n) . Omega_n and div Omega_n =
2 pi Q_n(K) delta(k - K) at the nodes, so on the slab a < kz < b

    int_slab d^3k/(2 pi)^3 f v_n.Omega_n
        = (1/2 pi) [S_n(b) - S_n(a)] - sum_{K in slab} Q_n(K) G(eps_K) / (4 pi^2),
    S_n(kz) = int_BZ2 d^2k/(2 pi)^2 G(eps_n) Omega_n^z   (BZ-slice terms).

For the whole zone the slice terms cancel (periodicity). The node monopole
charges of a two-band node of chirality chi = sign det(d d_j / d k_i) (h =
d_0 + d.sigma) are Q_upper = -chi, Q_lower = +chi, so the node terms cancel
in the band sum. The slice integrands are smooth when no Fermi surface
crosses the slices (or T > 0), so the periodic trapezoid rule converges
exponentially; the error estimate is the change from a coarser grid.

*Volume* (:func:`cme_volume`). A smooth partition of unity splits the slab
into balls around the nodes (spherical coordinates, where r^2 v.Omega is
smooth: Gauss-Legendre in r and cos(theta), trapezoid in phi) and the rest
(periodic trapezoid in kx, ky, Gauss-Legendre in kz), for T > 0. It does not
use the identity above, so the two routes check each other.

Per node (continuum): an isolated linear node of chirality chi at energy
eps_K, both bands regularized symmetrically about eps_K, carries
j_z = chi beta (mu - eps_K) / (4 pi^2) (:func:`node_cme`) at any T; the sum
over the nodes of a lattice model is -beta sum_K chi_K eps_K / (4 pi^2),
nonzero when the nodes sit at different energies, whereas the lattice Eq. 36
over the whole zone vanishes (the node terms cancel between the bands).

Chiral anomaly
--------------
With Z_n = 1 - beta Omega_n^z, Z_n dk/dt = qE + q v x B - (qE . beta z) Omega_n,
and div(Z_n dk/dt) = -(qE_z beta) div Omega_n. The particles in the slab
change at the rate (Eq. 33 with the measure d^3k/(2 pi)^3; as printed with
(2 pi hbar)^(d-1) the node rate would be 2 pi times the universal value)

    dN/dt = -(qE_z) beta sum_n Phi_n / (2 pi)^3 + plane flux,
    Phi_n = int_slab d^3k (-f'(eps_n)) v_n.Omega_n = int_FS n.Omega_n dS,

where the plane flux (qE_z/2 pi) [n0(a) - n0(b)] of the zero-field slice
densities vanishes when both planes are insulators with the same filling.
Phi_n is d/dmu of the CME integral, so it has the same by-parts form with G
replaced by -f (:func:`fermi_surface_flux`). A Fermi pocket around a node
of chirality chi has Phi = -2 pi chi: dN/dt = chi qE beta / (4 pi^2), the
universal q^2 E B / (4 pi^2 hbar^2) per node.

Density of a slab (Eq. 17)
--------------------------
Eq. 17 with B along z, n = sum_n int d^3k/(2 pi)^3 (1 - beta Omega_n^z) n_F(eps-bar_n),
eps-bar_n = eps_n - beta m_n (Eq. 12), to first order in beta:

    n = n0 + beta n1,   n0 = sum_n int f(eps_n),   n1 = -sum_n int [Omega_n^z f(eps_n) + m_n f'(eps_n)]

(:func:`density_expansion`, on a slab a < kz < b). Unexpanded, beta m_n ~
beta / |k - K| diverges at a Weyl node, and n_F(eps-bar) jumps in a ball of
radius ~ beta / (2 |mu - eps_K|) around it: a non-analytic O(beta^2) piece
that the O(hbar) theory does not control and a grid cannot integrate. The
expanded integrand is smooth away from the nodes (T > 0), and at a node it
carries the thermal factor of |mu - eps_K|.

Both need only ``bloch(k)`` and ``bloch_derivative(k)`` of a 3D model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from .geometry import _omega, _orbital_moment, _reciprocal, _spectral
from .predictions import fermi, fermi_derivative

__all__ = [
    "WeylNode",
    "weyl_nodes",
    "nodes_in_slab",
    "fermi_primitive",
    "band_geometry",
    "SliceTerms",
    "slice_terms",
    "QuadratureResult",
    "cme_coefficient",
    "fermi_surface_flux",
    "cme_volume",
    "node_cme",
    "anomaly_rate",
    "DensityExpansion",
    "density_expansion",
]

_CHUNK = 1 << 14  # k-points per batch of 2x2 eigendecompositions
PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


def _check_model(model: Any) -> None:
    if model.dim != 3:
        raise ValueError(f"the chiral magnetic effect needs a 3D model, got dim={model.dim}")
    if model.norbs != 2:
        raise ValueError(f"Eqs. 33 and 36 are two-band results; this model has {model.norbs} bands")


def _check_state(mu: float, T: float) -> None:
    if not (np.isfinite(mu) and np.isfinite(T)) or T < 0:
        raise ValueError(f"need finite mu and T >= 0, got mu={mu}, T={T}")


# --- Weyl nodes ------------------------------------------------------------------


@dataclass(frozen=True)
class WeylNode:
    """A linear band touching of a two-band model.

    Attributes
    ----------
    k
        Cartesian position, shape (3,) (units 1/a).
    energy
        eps_K = d_0(K) (energy units of the model).
    chirality
        chi = sign det J, J_ij = d d_j / d k_i for h = d_0 + d.sigma; the upper
        band's Berry monopole is -chi (div Omega_upper = -2 pi chi delta).
    velocity
        The tilt d d_0 / d k at the node, shape (3,).
    """

    k: NDArray[np.float64]
    energy: float
    chirality: int
    velocity: NDArray[np.float64]

    def monopole(self, band: int) -> int:
        """Q_n with div Omega_n = 2 pi Q_n delta(k - K): -chi for the upper band (1), +chi for the lower (0)."""
        if band not in (0, 1):
            raise ValueError(f"band must be 0 (lower) or 1 (upper), got {band}")
        return -self.chirality if band == 1 else self.chirality


def _pauli(model: Any, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(d0, d, d d0/dk, J) with h = d0 + d.sigma; J[..., i, j] = d d_j / d k_i."""
    h = model.bloch(k)
    dh = model.bloch_derivative(k)
    d0 = 0.5 * np.trace(h, axis1=-2, axis2=-1).real
    d = 0.5 * np.einsum("jab,...ba->...j", PAULI, h).real
    g0 = 0.5 * np.trace(dh, axis1=-2, axis2=-1).real
    J = 0.5 * np.einsum("jab,...iba->...ij", PAULI, dh).real
    return d0, d, g0, J


def weyl_nodes(model: Any, guesses: ArrayLike, tol: float = 1e-13, max_iter: int = 50) -> list[WeylNode]:
    """Locate the Weyl nodes of a 3D two-band model by Newton's method on d(k) = 0.

    Parameters
    ----------
    model
        3D two-band Bloch model.
    guesses
        Starting points, shape (n, 3), cartesian.
    tol
        Convergence criterion on |d(K)| (energy units).

    Returns
    -------
    list of WeylNode, one per guess (duplicates are not removed).

    Raises
    ------
    ValueError
        If Newton's method does not converge or the node is not linear (det J = 0).
    """
    _check_model(model)
    k = np.array(guesses, dtype=float).reshape(-1, 3)
    for _ in range(max_iter):
        _, d, _, J = _pauli(model, k)
        if np.all(np.linalg.norm(d, axis=-1) < tol):
            break
        k = k - np.linalg.solve(np.swapaxes(J, -1, -2), d[..., None])[..., 0]
    else:
        raise ValueError(f"Newton's method did not find nodes from {np.asarray(guesses).tolist()} (|d| > {tol:g})")
    d0, _, g0, J = _pauli(model, k)
    det = np.linalg.det(J)
    if np.any(np.abs(det) < 1e-12):
        raise ValueError(f"a band touching at {k.tolist()} is not linear (det J = {det.tolist()})")
    return [WeylNode(k[i], float(d0[i]), int(np.sign(det[i])), g0[i]) for i in range(len(k))]


# --- pointwise quantities ----------------------------------------------------------


def fermi_primitive(eps: ArrayLike, mu: float, T: float) -> NDArray[np.float64]:
    """G(eps) = -int_eps^inf n_F = -T ln(1 + exp(-(eps - mu)/T)); T = 0: min(eps - mu, 0). Energy units."""
    _check_state(mu, T)
    eps = np.asarray(eps, dtype=float)
    if T == 0:
        return np.minimum(eps - mu, 0.0)
    return -T * np.logaddexp(0.0, -(eps - mu) / T)


def band_geometry(model: Any, k: ArrayLike) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """(eps, v, Omega, m_z) of every band at k (shape (..., 3)).

    eps (..., N); v = grad eps_n, (..., N, 3); Omega_n = (Omega^{yz}, Omega^{zx},
    Omega^{xy}) (..., N, 3) (Eq. 13 with n = m, axial form); m_z the orbital
    moment (..., N) (energy shift -beta m_z in a field along z).
    """
    eps, _, V = _spectral(model, np.asarray(k, dtype=float))
    v = np.diagonal(V, axis1=-2, axis2=-1).real.swapaxes(-1, -2)
    om = np.stack([np.diagonal(_omega(eps, V, i, j), axis1=-2, axis2=-1) for i, j in ((1, 2), (2, 0), (0, 1))], axis=-1)
    return eps, v, om, _orbital_moment(eps, V)


# --- BZ-slice terms ----------------------------------------------------------------


@dataclass(frozen=True)
class SliceTerms:
    """Per-band integrals over one k_z slice, each int_BZ2 d^2k/(2 pi)^2 (per unit area), shape (N,).

    Attributes
    ----------
    kz, mu, T
        The slice and the occupation n_F(eps - mu) at temperature T.
    G_omega
        int G(eps_n) Omega_n^z (the CME slice term S_n; energy units).
    f_omega
        int f(eps_n) Omega_n^z (Fermi-surface-flux slice term; dimensionless).
    f_moment
        int f(eps_n) m_n (orbital magnetization of the occupied states; energy x a^2 / a^2).
    G
        int G(eps_n) (zero-field grand potential per unit area).
    f
        int f(eps_n) (zero-field particles per unit area).
    error
        Largest change of any entry against the coarser grid (quadrature error estimate).
    """

    kz: float
    mu: float
    T: float
    G_omega: NDArray[np.float64]
    f_omega: NDArray[np.float64]
    f_moment: NDArray[np.float64]
    G: NDArray[np.float64]
    f: NDArray[np.float64]
    error: float

    def streda_density(self, beta: float) -> float:
        """Semiclassical particles per unit area of the slice, sum_n int (1 - beta Omega_n^z) f (Eq. 17, eps unshifted)."""
        return float(np.sum(self.f - beta * self.f_omega))


_SLICE_CACHE: dict[tuple, tuple[Any, np.ndarray]] = {}
_SLICE_CACHE_SIZE = 64


def _slice_sums(model: Any, kz: float, mu: float, T: float, grid: int) -> np.ndarray:
    """(5, N) array of the SliceTerms integrals on a grid x grid mesh, memoized per (model identity, kz, mu, T, grid)."""
    key = (id(model), float(kz), float(mu), float(T), int(grid))
    hit = _SLICE_CACHE.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    value = _slice_integrals(model, kz, mu, T, grid)
    _SLICE_CACHE[key] = (model, value)
    while len(_SLICE_CACHE) > _SLICE_CACHE_SIZE:
        _SLICE_CACHE.pop(next(iter(_SLICE_CACHE)))
    return value


def _slice_integrals(model: Any, kz: float, mu: float, T: float, grid: int) -> np.ndarray:
    """(5, N) array of the SliceTerms integrals on a grid x grid periodic mesh."""
    b = _reciprocal(model)
    s = np.arange(grid) / grid
    frac = np.stack(np.meshgrid(s, s, indexing="ij"), axis=-1).reshape(-1, 2)
    k2 = frac @ b[:2, :2]
    k = np.concatenate([k2, np.full((len(k2), 1), kz)], axis=-1)
    out = np.zeros((5, model.norbs))
    for i in range(0, len(k), _CHUNK):
        eps, _, om, m = band_geometry(model, k[i : i + _CHUNK])
        G = fermi_primitive(eps, mu, T)
        f = fermi(eps, mu, T)
        out += np.stack([G * om[..., 2], f * om[..., 2], f * m, G, f]).sum(axis=1)
    area = abs(np.linalg.det(b[:2, :2]))
    return out * area / (len(k) * (2 * np.pi) ** 2)


def slice_terms(model: Any, kz: float, mu: float, T: float, grid: int = 96) -> SliceTerms:
    """The BZ-slice integrals at one k_z (module docstring), with a quadrature error estimate.

    Periodic trapezoid rule on a grid x grid mesh of the in-plane reciprocal
    cell (b1, b2 must lie in the plane, b3 along z); the error estimate is the
    largest change against a grid of 3/4 the size. Exponentially convergent
    when no Fermi surface crosses the slice or T > 0.

    Raises
    ------
    ValueError
        If the model is not 3D two-band, or a band degeneracy lies on the slice.
    """
    _check_model(model)
    _check_state(mu, T)
    if grid < 8:
        raise ValueError(f"grid must be >= 8, got {grid}")
    fine = _slice_sums(model, kz, mu, T, grid)
    coarse = _slice_sums(model, kz, mu, T, (3 * grid) // 4)
    return SliceTerms(float(kz), mu, T, *fine, error=float(np.abs(fine - coarse).max()))


# --- Eq. 36 and the Fermi-surface flux by parts ------------------------------------------


@dataclass(frozen=True)
class QuadratureResult:
    """A per-band integral and its estimated quadrature error.

    Attributes
    ----------
    value
        Per band, shape (N,).
    error
        Estimated absolute error (largest over bands).
    """

    value: NDArray[np.float64]
    error: float

    @property
    def total(self) -> float:
        """Sum over bands."""
        return float(np.sum(self.value))


def _nodes_in(nodes: list[WeylNode], region: tuple[float, float] | None, c: float) -> list[WeylNode]:
    """The nodes inside the slab a < kz < b (modulo 2 pi / c); all nodes for the whole zone."""
    if region is None:
        return list(nodes)
    a, b = region
    period = 2 * np.pi / c
    inside = []
    for node in nodes:
        z = a + (node.k[2] - a) % period
        if abs(z - a) < 1e-9 or abs(z - b) < 1e-9:
            raise ValueError(f"node at kz = {node.k[2]:.6g} lies on a boundary plane of {region}")
        if z < b:
            inside.append(node)
    return inside


def nodes_in_slab(model: Any, nodes: list[WeylNode], region: tuple[float, float]) -> list[WeylNode]:
    """The nodes inside the slab a < kz < b of the k_z zone (positions taken modulo the period 2 pi / c).

    Raises
    ------
    ValueError
        If a node lies on a boundary plane of the slab.
    """
    _check_model(model)
    return _nodes_in(nodes, (float(region[0]), float(region[1])), 2 * np.pi / abs(_reciprocal(model)[2, 2]))


def _by_parts(model, mu, T, region, nodes, grid, slice_key: str, node_weight) -> QuadratureResult:
    _check_model(model)
    _check_state(mu, T)
    c = 2 * np.pi / abs(_reciprocal(model)[2, 2])
    value = np.zeros(model.norbs)
    error = 0.0
    inside = _nodes_in(nodes, region, c)
    if region is not None:
        a, b = float(region[0]), float(region[1])
        if not 0 < b - a < 2 * np.pi / c:
            raise ValueError(f"region must satisfy 0 < b - a < 2 pi / c, got {region}")
        ta, tb = slice_terms(model, a, mu, T, grid), slice_terms(model, b, mu, T, grid)
        value += (getattr(tb, slice_key) - getattr(ta, slice_key)) / (2 * np.pi)
        error = (ta.error + tb.error) / (2 * np.pi)
    for node in inside:
        w = node_weight(node.energy)
        value -= np.array([node.monopole(n) for n in range(2)]) * w / (4 * np.pi**2)
    return QuadratureResult(value, error)


def cme_coefficient(
    model: Any,
    mu: float,
    T: float,
    nodes: list[WeylNode],
    region: tuple[float, float] | None = None,
    grid: int = 96,
) -> QuadratureResult:
    """Eq. 36 per band: alpha_n = -int d^3k/(2 pi)^3 f(eps_n) v_n.Omega_n, by parts (module docstring).

    The particle current along B = B z is j_z = beta sum_n alpha_n (beta = qB,
    hbar = 1); Eq. 36's charge-current coefficient is q^2 alpha_n.

    Parameters
    ----------
    model
        3D two-band Bloch model (b3 along z).
    mu, T
        Occupation n_F(eps - mu) at temperature T (T = 0 allowed when no Fermi
        surface crosses the boundary planes).
    nodes
        All Weyl nodes of the model (:func:`weyl_nodes`); those inside the
        region contribute their monopole terms.
    region
        (a, b): the slab a < kz < b (a node-resolved region); None for the whole zone.
    grid
        Mesh of the slice terms.

    Returns
    -------
    QuadratureResult
        alpha_n in energy units (hbar = 1: j_z in particles / (time a^2) per beta in 1/a^2),
        and the quadrature error of the slice terms.
    """
    res = _by_parts(model, mu, T, region, nodes, grid, "G_omega", lambda e: fermi_primitive(e, mu, T))
    return QuadratureResult(-res.value, res.error)


def fermi_surface_flux(
    model: Any,
    mu: float,
    T: float,
    nodes: list[WeylNode],
    region: tuple[float, float] | None = None,
    grid: int = 96,
) -> QuadratureResult:
    """Berry flux through the Fermi surface of every band in a slab, Phi_n = int (-f') v_n.Omega_n d^3k.

    By parts (d/dmu of the CME integral): Phi_n / (2 pi)^3 = -(1/2 pi) [F_n(b) - F_n(a)]
    + sum_{K in slab} Q_n f(eps_K) / (4 pi^2), F_n = int d^2k/(2 pi)^2 f Omega_n^z.
    A Fermi pocket around a node of chirality chi has Phi = -2 pi chi.

    Returns
    -------
    QuadratureResult
        Phi_n (dimensionless) and its quadrature error.
    """
    res = _by_parts(model, mu, T, region, nodes, grid, "f_omega", lambda e: fermi(np.asarray(e), mu, T))
    return QuadratureResult(-res.value * (2 * np.pi) ** 3, res.error * (2 * np.pi) ** 3)


def node_cme(nodes: list[WeylNode], mu: float) -> NDArray[np.float64]:
    """Continuum CME of each isolated node, alpha_K = chi_K (mu - eps_K) / (4 pi^2) (j_z = beta alpha_K).

    Both bands of the linearized node regularized symmetrically about eps_K;
    independent of T. Returns shape (len(nodes),).
    """
    return np.array([n.chirality * (mu - n.energy) for n in nodes]) / (4 * np.pi**2)


def anomaly_rate(flux: QuadratureResult, qE: float, beta: float, form: str = "corrected") -> float:
    """Eq. 33 source: particles pumped into a slab per unit volume and time (hbar = 1).

    ``form="printed"``: -qE_z beta sum_n Phi_n / (2 pi)^(d-1), the measure
    dp/(2 pi hbar)^(d-1) of Eq. 33 as printed (d = 3). ``form="corrected"``:
    -qE_z beta sum_n Phi_n / (2 pi)^d, the measure of every other momentum
    integral of the paper (Eqs. 17, 31, 34); it gives the universal
    chi q^2 E B / (4 pi^2 hbar^2) per node and matches the exact evolution, while
    the printed measure is 2 pi times larger.

    Parameters
    ----------
    flux
        :func:`fermi_surface_flux` of the slab.
    qE
        Force qE_z along B (energy / a).
    beta
        q B_z (1/a^2).
    form
        ``"printed"`` or ``"corrected"``.
    """
    if form not in ("printed", "corrected"):
        raise ValueError(f"unknown form {form!r}; choose 'printed' or 'corrected'")
    power = 2 if form == "printed" else 3
    return -qE * beta * flux.total / (2 * np.pi) ** power


# --- Eq. 36 by volume quadrature ----------------------------------------------------


def _bump(s: np.ndarray) -> np.ndarray:
    """C-infinity partition function: 1 for s <= 1/2, 0 for s >= 1, smooth in between."""
    x = np.clip(2 * s - 1, 0.0, 1.0)
    inner = (x > 0) & (x < 1)
    safe = np.where(inner, x, 0.5)
    step = expit(1.0 / (1.0 - safe) - 1.0 / safe)
    return np.where(inner, 1.0 - step, np.where(x <= 0, 1.0, 0.0))


def _integrand(model, k, mu, T, kind):
    eps, v, om, _ = band_geometry(model, k)
    f = fermi(eps, mu, T) if kind == "cme" else -fermi_derivative(eps, mu, T)
    return f * np.einsum("...ni,...ni->...n", v, om)


def _volume(model, mu, T, region, nodes, n, r0, kind) -> np.ndarray:
    b = _reciprocal(model)
    c = 2 * np.pi / abs(b[2, 2])
    inside = _nodes_in(nodes, region, c)
    centres = np.array([nd.k for nd in inside]).reshape(-1, 3)
    # rest of the slab: trapezoid in-plane, Gauss-Legendre (slab) or trapezoid (whole zone) in kz
    s = np.arange(n) / n
    k2 = np.stack(np.meshgrid(s, s, indexing="ij"), axis=-1).reshape(-1, 2) @ b[:2, :2]
    if region is None:
        z = -np.pi / c + 2 * np.pi * np.arange(n) / (n * c)
        wz = np.full(n, 2 * np.pi / (n * c))
    else:
        x, w = np.polynomial.legendre.leggauss(n)
        a, bb = region
        z, wz = 0.5 * (a + bb) + 0.5 * (bb - a) * x, 0.5 * (bb - a) * w
    area = abs(np.linalg.det(b[:2, :2])) / len(k2)
    total = np.zeros(model.norbs)
    per = max(1, _CHUNK // len(k2))
    for i in range(0, len(z), per):
        zc, wc = z[i : i + per], wz[i : i + per]
        k = np.concatenate(
            [np.broadcast_to(k2, (len(zc),) + k2.shape), np.broadcast_to(zc[:, None, None], (len(zc), len(k2), 1))], axis=-1
        )
        w = (1.0 - _partition(k, centres, r0, b, c)) * wc[:, None]
        keep = w > 0  # the node itself (weight 0) is never evaluated
        total += np.einsum("p,pn->n", w[keep], _integrand(model, k[keep], mu, T, kind)) * area
    # balls around the nodes: spherical coordinates
    xr, wr = np.polynomial.legendre.leggauss(n)
    r, wr = 0.5 * r0 * (xr + 1), 0.5 * r0 * wr
    xt, wt = np.polynomial.legendre.leggauss(n)
    phi = 2 * np.pi * np.arange(n) / n
    dirs = np.stack(
        [np.sqrt(1 - xt[:, None] ** 2) * np.cos(phi), np.sqrt(1 - xt[:, None] ** 2) * np.sin(phi), np.broadcast_to(xt[:, None], (n, n))],
        axis=-1,
    )  # (nt, np, 3)
    wdir = wt[:, None] * np.full(n, 2 * np.pi / n)[None, :]
    for K in centres:
        k = K + r[:, None, None, None] * dirs[None]  # (nr, nt, np, 3)
        F = _integrand(model, k, mu, T, kind)
        wgt = (wr * r**2 * _bump(r / r0))[:, None, None] * wdir[None]
        total += np.einsum("rtp,rtpn->n", wgt, F)
    return total / (2 * np.pi) ** 3


def _partition(k: np.ndarray, centres: np.ndarray, r0: float, b: np.ndarray, c: float) -> np.ndarray:
    """sum over nodes of bump(|k - K| / r0), with K folded to its periodic image nearest to k."""
    w = np.zeros(k.shape[:-1])
    binv = np.linalg.inv(b)
    for K in centres:
        d = k - K
        frac = d @ binv
        d = (frac - np.round(frac)) @ b
        w += _bump(np.linalg.norm(d, axis=-1) / r0)
    return w


def cme_volume(
    model: Any,
    mu: float,
    T: float,
    nodes: list[WeylNode],
    region: tuple[float, float] | None = None,
    n: int = 64,
    r0: float = 0.8,
    kind: str = "cme",
) -> QuadratureResult:
    """Eq. 36 per band (``kind="cme"``: alpha_n) or the Fermi-surface flux (``kind="flux"``: Phi_n) by volume quadrature.

    Independent of the by-parts identity (module docstring): balls of radius
    r0 around the nodes in spherical coordinates, the rest of the slab on a
    tensor grid, glued by a C-infinity partition of unity. n points per
    direction in both parts; the error estimate is the change against n*3/4.
    Needs T > 0 and balls that fit in the slab and do not overlap.

    Returns
    -------
    QuadratureResult
        alpha_n (``"cme"``) or Phi_n (``"flux"``) and the error estimate.
    """
    _check_model(model)
    _check_state(mu, T)
    if T <= 0:
        raise ValueError("the volume quadrature needs T > 0 (a smooth Fermi function)")
    if kind not in ("cme", "flux"):
        raise ValueError(f"kind must be 'cme' or 'flux', got {kind!r}")
    if region is not None:
        for node in _nodes_in(nodes, region, 2 * np.pi / abs(_reciprocal(model)[2, 2])):
            if min(abs(node.k[2] - region[0]), abs(region[1] - node.k[2])) <= r0:
                raise ValueError(f"the ball of radius r0={r0} around the node at {node.k.tolist()} leaves the slab {region}")
    fine = _volume(model, mu, T, region, nodes, n, r0, kind)
    coarse = _volume(model, mu, T, region, nodes, (3 * n) // 4, r0, kind)
    scale = -1.0 if kind == "cme" else (2 * np.pi) ** 3
    return QuadratureResult(scale * fine, float(np.abs(scale * (fine - coarse)).max()))


# --- Eq. 17 on a slab, first order in beta -------------------------------------------


@dataclass(frozen=True)
class DensityExpansion:
    """Eq. 17 on a slab a < kz < b to first order in beta = q B_z: n(beta) = n0 + beta n1 (module docstring).

    Attributes
    ----------
    region
        (a, b), cartesian k_z.
    mu, T
        The occupation n_F(eps - mu) at temperature T.
    n0
        Zero-field particles per unit volume in the slab, sum_n int d^3k/(2 pi)^3 f(eps_n).
    n1
        -sum_n int d^3k/(2 pi)^3 [Omega_n^z f(eps_n) + m_n f'(eps_n)] (per beta; beta in 1/a^2).
    error
        Largest change of n0 or n1 against the coarser quadrature (estimated error of each).
    """

    region: tuple[float, float]
    mu: float
    T: float
    n0: float
    n1: float
    error: float

    def density(self, beta: float) -> float:
        """n0 + beta n1: particles per unit volume at beta = q B_z (1/a^2)."""
        return self.n0 + beta * self.n1


def _slab_sums(model: Any, mu: float, T: float, pieces: list[tuple[float, float]], grid: int, n_kz: int) -> np.ndarray:
    """(n0, n1) on a grid x grid periodic in-plane mesh times Gauss-Legendre (n_kz points) on each kz piece."""
    b = _reciprocal(model)
    s = np.arange(grid) / grid
    k2 = np.stack(np.meshgrid(s, s, indexing="ij"), axis=-1).reshape(-1, 2) @ b[:2, :2]
    x, w = np.polynomial.legendre.leggauss(n_kz)
    z = np.concatenate([0.5 * (lo + hi) + 0.5 * (hi - lo) * x for lo, hi in pieces])
    wz = np.concatenate([0.5 * (hi - lo) * w for lo, hi in pieces])
    per = max(1, _CHUNK // len(k2))
    out = np.zeros(2)
    for i in range(0, len(z), per):
        zc = z[i : i + per]
        k = np.concatenate(
            [np.broadcast_to(k2, (len(zc),) + k2.shape), np.broadcast_to(zc[:, None, None], (len(zc), len(k2), 1))],
            axis=-1,
        )
        eps, _, om, m = band_geometry(model, k)
        f = fermi(eps, mu, T)
        terms = np.stack([f, -(om[..., 2] * f + m * fermi_derivative(eps, mu, T))])  # (2, nz, nk, N)
        out += terms.sum(axis=(2, 3)) @ wz[i : i + per]
    area = abs(np.linalg.det(b[:2, :2]))
    return out * area / (len(k2) * (2 * np.pi) ** 3)


def density_expansion(
    model: Any,
    mu: float,
    T: float,
    region: tuple[float, float],
    nodes: list[WeylNode],
    grid: int = 64,
    n_kz: int = 32,
) -> DensityExpansion:
    """Eq. 17 (equilibrium density) on the slab a < kz < b to first order in beta.

    n(beta) = n0 + beta n1 with n0 = sum_n int f(eps_n) and
    n1 = -sum_n int [Omega_n^z f(eps_n) + m_n f'(eps_n)], each int d^3k/(2 pi)^3 over
    the slab (particles per unit volume; beta = q B_z, hbar = 1): the Streda term
    -beta Omega^z f plus the shift of the occupation by the orbital moment,
    n_F(eps - beta m) = f - beta m f' + O(beta^2) (module docstring).

    Quadrature: periodic trapezoid rule on a grid x grid in-plane mesh, and
    Gauss-Legendre with n_kz points on each piece of the slab between the k_z
    planes of the nodes inside it (the only slices whose integrand is
    singular; Gauss-Legendre never evaluates them). Exponentially convergent
    at T > 0 when |mu - eps_K| >> T at every node in the slab (the singular
    Omega ~ 1/|k - K|^2 and m ~ 1/|k - K| then carry small Fermi factors);
    the error estimate is the change against a 3/4 grid and 3/4 n_kz.

    Parameters
    ----------
    model
        3D two-band Bloch model (b3 along z).
    mu, T
        Occupation n_F(eps - mu) at temperature T > 0 (energy units).
    region
        (a, b) with 0 < b - a < 2 pi / c.
    nodes
        Weyl nodes of the model (:func:`weyl_nodes`); the k_z of those inside the slab split the kz rule.
    grid, n_kz
        In-plane mesh and Gauss-Legendre points per piece.

    Returns
    -------
    DensityExpansion

    Raises
    ------
    ValueError
        For a model that is not 3D two-band, T <= 0, a bad region, a node on a boundary plane, or grids too small.
    """
    _check_model(model)
    _check_state(mu, T)
    if T <= 0:
        raise ValueError("the first-order density needs T > 0 (n_F' is a delta function at T = 0)")
    if grid < 8 or n_kz < 4:
        raise ValueError(f"need grid >= 8 and n_kz >= 4, got grid={grid}, n_kz={n_kz}")
    c = 2 * np.pi / abs(_reciprocal(model)[2, 2])
    a, b = float(region[0]), float(region[1])
    if not 0 < b - a < 2 * np.pi / c:
        raise ValueError(f"region must satisfy 0 < b - a < 2 pi / c, got {region}")
    cuts = sorted(a + (node.k[2] - a) % (2 * np.pi / c) for node in _nodes_in(nodes, (a, b), c))
    edges = [a, *cuts, b]
    pieces = [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]
    fine = _slab_sums(model, mu, T, pieces, grid, n_kz)
    coarse = _slab_sums(model, mu, T, pieces, (3 * grid) // 4, (3 * n_kz) // 4)
    return DensityExpansion((a, b), float(mu), float(T), *map(float, fine), float(np.abs(fine - coarse).max()))
