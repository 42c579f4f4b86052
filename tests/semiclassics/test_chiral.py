"""Chiral magnetic effect (Eq. 36) and anomaly source (Eq. 33): nodes, signs, per-node values, quadratures."""

import mpmath
import numpy as np
import pytest

from keldysh import UniformB, models
from semiclassics.chiral import (
    anomaly_rate,
    band_geometry,
    cme_coefficient,
    cme_volume,
    density_expansion,
    fermi_primitive,
    fermi_surface_flux,
    node_cme,
    nodes_in_slab,
    slice_terms,
    weyl_nodes,
)
from semiclassics.predictions import equilibrium_density

WEYL = models.weyl(1.0, np.pi / 2, tilt=0.2, offset=0.2)
GUESSES = [[0.05, 0.02, 1.4], [0.01, -0.03, -1.7]]
HALF = (0.0, np.pi)
OTHER_HALF = (np.pi, 2 * np.pi)


class ContinuumNode:
    """h = chi (k - K).sigma + eps_K: an isolated linear Weyl node (a Bloch model without a lattice)."""

    dim, norbs = 3, 2
    sigma = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)

    def __init__(self, chi: int, eps: float) -> None:
        self.chi, self.eps = chi, eps

    def bloch(self, k):
        k = np.asarray(k, dtype=float)
        return self.chi * np.einsum("...i,iab->...ab", k, self.sigma) + self.eps * np.eye(2)

    def bloch_derivative(self, k):
        k = np.asarray(k, dtype=float)
        return np.broadcast_to(self.chi * self.sigma, k.shape[:-1] + (3, 2, 2))


class ContinuumThreeBand(ContinuumNode):
    norbs = 3

    def __init__(self) -> None:
        super().__init__(1, 0.0)


@pytest.fixture(scope="module")
def nodes():
    return weyl_nodes(WEYL, GUESSES)


def test_weyl_nodes(nodes):
    """Nodes at (0, 0, +-k0), energies +-offset, chirality -+1, tilt velocity (tilt, 0, 0)."""
    plus, minus = nodes
    assert np.allclose(plus.k, [0, 0, np.pi / 2], atol=1e-12) and np.allclose(minus.k, [0, 0, -np.pi / 2], atol=1e-12)
    assert (plus.energy, minus.energy) == pytest.approx((0.2, -0.2), abs=1e-13)
    assert (plus.chirality, minus.chirality) == (-1, 1)
    assert np.allclose(plus.velocity, [0.2, 0, 0])


def test_nodes_in_slab(nodes):
    """Each half holds one node; positions count modulo the period 2 pi; a node on a plane is refused."""
    plus, minus = nodes
    assert nodes_in_slab(WEYL, nodes, HALF) == [plus] and nodes_in_slab(WEYL, nodes, OTHER_HALF) == [minus]
    assert nodes_in_slab(WEYL, nodes, (-np.pi, 0.0)) == [minus] and nodes_in_slab(WEYL, nodes, (0.0, 1.0)) == []
    with pytest.raises(ValueError, match="boundary plane"):
        nodes_in_slab(WEYL, nodes, (np.pi / 2, np.pi))


def test_monopole_charges_are_the_node_berry_flux(nodes):
    """Berry flux of each band through a small sphere around a node is 2 pi Q_n (Q_upper = -chi, Q_lower = +chi)."""
    xt, wt = np.polynomial.legendre.leggauss(40)
    phi = 2 * np.pi * np.arange(80) / 80
    st = np.sqrt(1 - xt[:, None] ** 2)
    dirs = np.stack([st * np.cos(phi), st * np.sin(phi), np.broadcast_to(xt[:, None], (40, 80))], axis=-1)
    r = 0.05
    for node in nodes:
        _, _, om, _ = band_geometry(WEYL, node.k + r * dirs)
        flux = np.einsum("tpni,tpi,t->n", om, dirs, wt) * (2 * np.pi / 80) * r**2
        assert np.allclose(flux / (2 * np.pi), [node.monopole(0), node.monopole(1)], atol=1e-6)


def test_fermi_primitive():
    eps, mu, T, h = np.linspace(-1, 1, 41), 0.1, 0.05, 1e-5
    dG = (fermi_primitive(eps + h, mu, T) - fermi_primitive(eps - h, mu, T)) / (2 * h)
    assert np.allclose(dG, 1 / (np.exp((eps - mu) / T) + 1), atol=1e-9)
    assert np.allclose(fermi_primitive(eps, mu, 0.0), np.minimum(eps - mu, 0))
    assert fermi_primitive(50.0, mu, T) == pytest.approx(0.0, abs=1e-300)


def test_fermi_primitive_at_extreme_arguments_against_mpmath():
    """G = -T ln(1 + exp(-(eps - mu)/T)) for (eps - mu)/T from -700 to 700 against 30-digit mpmath, to 4 ulp relative:
    no overflow on the filled side (G -> eps - mu) and no underflow to 0 while the tail is a normal float."""
    mu, T = 0.1, 0.05
    x = np.concatenate([-np.geomspace(700, 1e-3, 50), [0.0], np.geomspace(1e-3, 700, 50)])
    eps = mu + T * x
    with mpmath.workdps(30):
        ref = np.array([float(-T * mpmath.log1p(mpmath.exp(-mpmath.mpf(xi)))) for xi in (eps - mu) / T])
    np.testing.assert_allclose(fermi_primitive(eps, mu, T), ref, rtol=4 * np.finfo(float).eps, atol=0)


@pytest.mark.parametrize("chi", [1, -1])
@pytest.mark.parametrize("T", [0.0, 0.05])
def test_continuum_node_cme_sign(chi, T):
    """Isolated node, both bands in a ball |k - K| < L: alpha(mu) - alpha(eps_K) = chi (mu - eps_K) / (4 pi^2).

    The radial integral of -sum_n f v.Omega (angular part exact: v.Omega = -chi / (2 k^2)
    on both bands) with band_geometry's signs; the subtraction at mu = eps_K is the
    symmetric regularization of the continuum node, and node_cme gives the same number.
    """
    eps_K, mu, L = 0.1, 0.35, 2.0
    model = ContinuumNode(chi, eps_K)
    x, w = np.polynomial.legendre.leggauss(200)

    def alpha(m):
        kf = max(abs(m - eps_K), 1e-3)  # panels [0, kF], [kF, L]: the T = 0 step sits on a panel edge
        k = np.concatenate([kf * (x + 1) / 2, kf + (L - kf) * (x + 1) / 2])
        wk = np.concatenate([kf * w / 2, (L - kf) * w / 2])
        e, v, om, _ = band_geometry(model, np.stack([np.zeros_like(k), np.zeros_like(k), k], axis=-1))
        vo = np.einsum("kni,kni->kn", v, om)
        assert np.allclose(vo, -chi / (2 * k[:, None] ** 2))
        f = np.where(e < m, 1.0, np.where(e > m, 0.0, 0.5)) if T == 0 else 1 / (np.exp((e - m) / T) + 1)
        return -np.sum(wk[:, None] * 4 * np.pi * k[:, None] ** 2 * f * vo) / (2 * np.pi) ** 3

    expected = chi * (mu - eps_K) / (4 * np.pi**2)
    assert alpha(mu) - alpha(eps_K) == pytest.approx(expected, rel=1e-10)
    node = weyl_nodes(ContinuumNode(chi, eps_K), [[0.01, -0.02, 0.03]])
    assert node_cme(node, mu)[0] == pytest.approx(expected, rel=1e-14)


def test_continuum_node_sum_does_not_vanish(nodes):
    """sum_K chi_K (mu - eps_K) / (4 pi^2) = 2 offset / (4 pi^2) for every mu, although the lattice total vanishes."""
    for mu in (-0.3, 0.0, 0.15):
        assert node_cme(nodes, mu).sum() == pytest.approx(2 * 0.2 / (4 * np.pi**2), rel=1e-13)
        assert cme_coefficient(WEYL, mu, 0.03, nodes).total == 0.0  # node terms cancel between the bands


def test_whole_zone_cme_per_band(nodes):
    """Over the whole zone alpha_n = sum_K Q_n(K) G(eps_K) / (4 pi^2): nonzero per band, zero summed."""
    mu, T = 0.05, 0.05
    res = cme_coefficient(WEYL, mu, T, nodes)
    G = fermi_primitive(np.array([n.energy for n in nodes]), mu, T)
    expected = [sum(n.monopole(b) * g for n, g in zip(nodes, G)) / (4 * np.pi**2) for b in (0, 1)]
    assert np.allclose(res.value, expected, atol=1e-15)
    assert abs(res.value[1]) > 5e-3


def test_fermi_surface_flux_per_node_is_universal(nodes):
    """Berry flux through the Fermi surface of each half: -2 pi chi of its node (hole and electron pocket),
    and the anomaly source of Eq. 33 is the universal chi qE beta / (4 pi^2) per node."""
    mu, T = 0.05, 0.02
    for half, node in ((HALF, nodes[0]), (OTHER_HALF, nodes[1])):
        flux = fermi_surface_flux(WEYL, mu, T, nodes, half)
        assert flux.total == pytest.approx(-2 * np.pi * node.chirality, abs=1e-9)
        assert flux.error < 1e-10
        qE, beta = 0.05, 0.3  # Eq. 33: chi qE beta / (4 pi^2) per node, the universal q^2 E B / (4 pi^2 hbar^2)
        assert anomaly_rate(flux, qE, beta) == pytest.approx(node.chirality * qE * beta / (4 * np.pi**2), rel=1e-9)


@pytest.mark.slow
def test_half_zone_cme_slope_is_the_universal_node_value(nodes):
    """d alpha_half / d mu = chi / (4 pi^2) per node (mu in the gap of both planes), by parts to 1e-9."""
    T, h = 0.02, 1e-3
    for half, node in ((HALF, nodes[0]), (OTHER_HALF, nodes[1])):
        slope = (cme_coefficient(WEYL, 0.1 + h, T, nodes, half).total - cme_coefficient(WEYL, 0.1 - h, T, nodes, half).total) / (2 * h)
        assert slope == pytest.approx(node.chirality / (4 * np.pi**2), abs=1e-9)


def test_slice_terms_converge(nodes):
    """Insulating slices: the trapezoid error estimate is at rounding level, the particle count is 1 per cell."""
    terms = slice_terms(WEYL, np.pi, 0.0, 0.02, grid=96)
    assert terms.error < 1e-12
    assert terms.f.sum() == pytest.approx(1.0, abs=1e-12)  # per unit area (cell area 1)
    assert terms.f_omega.sum() * 2 * np.pi == pytest.approx(-1.0, abs=1e-10)  # Chern number of the pi plane


@pytest.mark.slow
@pytest.mark.parametrize("region", [None, HALF, OTHER_HALF], ids=["zone", "half", "other-half"])
def test_by_parts_against_volume_quadrature(nodes, region):
    """Eq. 36 and the Fermi-surface flux: the by-parts identity against the independent volume quadrature.

    Agreement within the volume rule's own error estimate, and that estimate is small against the values
    themselves (the comparison is not empty): the by-parts route is correct and the volume route's
    estimate is honest.
    """
    mu, T = 0.05, 0.05
    for kind, parts in (("cme", cme_coefficient), ("flux", fermi_surface_flux)):
        exact = parts(WEYL, mu, T, nodes, region)
        vol = cme_volume(WEYL, mu, T, nodes, region, n=48, kind=kind)
        assert np.abs(exact.value - vol.value).max() <= 3 * vol.error + 1e-12
        assert vol.error < 1e-2 * np.abs(exact.value).max()


# --- Eq. 17 on a slab, first order in beta -------------------------------------------------


class KzSlice:
    """The 2D model h(kx, ky, kz0) of WEYL at fixed kz0 (for the 2D Eq. 17 of semiclassics.predictions)."""

    dim, norbs, cell_area = 2, 2, 1.0
    lattice_vectors = np.eye(2)

    def __init__(self, kz: float) -> None:
        self.kz = kz

    def _k3(self, k):
        k = np.asarray(k, dtype=float)
        return np.concatenate([k, np.full(k.shape[:-1] + (1,), self.kz)], axis=-1)

    def bloch(self, k):
        return WEYL.bloch(self._k3(k))

    def bloch_derivative(self, k):
        return WEYL.bloch_derivative(self._k3(k))[..., :2, :, :]


def test_density_expansion_is_streda_in_an_insulating_slab(nodes):
    """No Fermi surface in 2.6 < kz < 3.1 (lower band filled, Chern number -1 beyond the node at pi/2):
    n0 = (b - a)/(2 pi) and n1 = -(b - a) C/(4 pi^2) = (b - a)/(4 pi^2), to 1e-10."""
    a, b = 2.6, 3.1
    res = density_expansion(WEYL, 0.0, 0.01, (a, b), nodes, grid=32, n_kz=8)
    assert res.n0 == pytest.approx((b - a) / (2 * np.pi), abs=1e-12)
    assert res.n1 == pytest.approx((b - a) / (4 * np.pi**2), abs=1e-10)
    assert res.density(0.5) == pytest.approx(res.n0 + 0.5 * res.n1, rel=1e-15)


@pytest.mark.slow
def test_density_expansion_is_the_first_order_of_eq17(nodes):
    """A slab crossed by the Fermi pocket (1.0 < kz < 1.45, no node inside): n0 and n1 equal the
    symmetric finite differences in beta of Eq. 17 with n_F(eps-bar) (semiclassics.predictions, 2D, per
    slice) on the same Gauss-Legendre rule and mesh, to O(h^2) = 1e-8 relative."""
    a, b, T, grid, n_kz, h = 1.0, 1.45, 0.05, 48, 12, 1e-4
    res = density_expansion(WEYL, 0.0, T, (a, b), nodes, grid, n_kz)
    x, w = np.polynomial.legendre.leggauss(n_kz)

    def eq17(beta):
        field = UniformB(beta / (2 * np.pi))
        return sum(wz * equilibrium_density(KzSlice(z), field, 0.0, T, grid) for z, wz in
                   zip(0.5 * (a + b) + 0.5 * (b - a) * x, 0.5 * (b - a) * w)) / (2 * np.pi)

    plus, minus = eq17(h), eq17(-h)
    assert res.n0 == pytest.approx(0.5 * (plus + minus), abs=2e-10)
    assert res.n1 == pytest.approx((plus - minus) / (2 * h), abs=1e-9)
    assert abs(res.n1) > 5e-4  # the first-order term is not trivially small here


def test_particle_hole_mirror_symmetry_of_the_model():
    """h(-kx, ky, -kz) = -sigma_x h(k) sigma_x for every tilt and offset: it maps the band n at k to the band 1 - n
    at the mirror image with opposite energy (the basis of test_density_expansion_converges_around_a_node)."""
    model = models.weyl(1.0, np.pi / 2, tilt=0.2, offset=0.8)
    k = np.random.default_rng(5).uniform(-np.pi, np.pi, (6, 3))
    sx = ContinuumNode.sigma[0]
    np.testing.assert_allclose(model.bloch(k * [-1, 1, -1]), -sx @ model.bloch(k) @ sx, atol=1e-15)


@pytest.mark.slow
def test_density_expansion_converges_around_a_node():
    """A half of the zone with a node 0.8 away from mu (T = 0.1): the kz rule split at the node converges
    exponentially, the error estimate (3/4 grid) bounds the change to a finer grid.

    Independent check, the model's symmetry h(-kx, ky, -kz) = -sigma_x h(k) sigma_x at mu = 0: eps_n(k')
    = -eps_{1-n}(k), so f -> 1 - f, f' -> f', m_n(k') = m_{1-n}(k) and Omega^z_n(k') = -Omega^z_{1-n}(k)
    (one in-plane reflection). The halves (pi, 2 pi) and (0, pi) map onto each other, hence
    n0(pi, 2 pi) = 1 - n0(0, pi) (each half holds 1/2 state per band per unit volume) and
    n1(pi, 2 pi) = n1(0, pi) + sum_n int Omega_n^z = n1(0, pi), the curvatures of the bands summing to zero.
    """
    model = models.weyl(1.0, np.pi / 2, tilt=0.2, offset=0.8)
    nodes = weyl_nodes(model, GUESSES)
    half = (np.pi, 2 * np.pi)
    coarse = density_expansion(model, 0.0, 0.1, half, nodes, 48, 24)
    fine = density_expansion(model, 0.0, 0.1, half, nodes, 64, 32)
    assert coarse.error < 1e-7 and fine.error < 1e-8
    assert abs(coarse.n0 - fine.n0) <= coarse.error and abs(coarse.n1 - fine.n1) <= coarse.error
    mirror = density_expansion(model, 0.0, 0.1, (0.0, np.pi), nodes, 64, 32)
    assert fine.n0 + mirror.n0 == pytest.approx(1.0, abs=2 * fine.error)
    assert fine.n1 == pytest.approx(mirror.n1, abs=2 * fine.error)
    assert fine.n1 > 100 * fine.error  # the first-order term is resolved


def test_bad_input_raises(nodes):
    with pytest.raises(ValueError, match="3D model"):
        cme_coefficient(models.qwz(1.0), 0.0, 0.1, [])
    with pytest.raises(ValueError, match="two-band"):
        weyl_nodes(ContinuumThreeBand(), [[0, 0, 0]])
    with pytest.raises(ValueError, match="boundary plane"):
        cme_coefficient(WEYL, 0.0, 0.1, nodes, (np.pi / 2, np.pi))
    with pytest.raises(ValueError, match="T > 0"):
        cme_volume(WEYL, 0.0, 0.0, nodes)
    with pytest.raises(ValueError, match="leaves the slab"):
        cme_volume(WEYL, 0.0, 0.1, nodes, (0.0, np.pi), r0=1.7)
    with pytest.raises(ValueError, match="degenerate"):
        slice_terms(WEYL, np.pi / 2, 0.0, 0.1, grid=16)
    with pytest.raises(ValueError, match="T > 0"):
        density_expansion(WEYL, 0.0, 0.0, HALF, nodes)
    with pytest.raises(ValueError, match="boundary plane"):
        density_expansion(WEYL, 0.0, 0.1, (np.pi / 2, np.pi), nodes)
    with pytest.raises(ValueError, match="region"):
        density_expansion(WEYL, 0.0, 0.1, (1.0, 0.5), nodes)
