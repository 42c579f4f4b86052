"""Landau levels of a Weyl cone (semiclassics.landau): the closed form against a second algorithm.

The second algorithm diagonalizes the linearized cone itself in the field: the in-plane momenta
become ladder operators, q_x = sqrt(beta/2)(a + a^dagger), q_y = -i sqrt(beta/2)(a - a^dagger)
([q_x, q_y] = i beta), in a truncated oscillator basis. Its low eigenvalues converge exponentially
with the truncation for a type-I cone, for any in-plane velocity matrix and tilt.
"""

import numpy as np
import pytest

from semiclassics.chiral import weyl_nodes
from semiclassics.landau import WeylCone, first_level, landau_level, levels_crossing, weyl_cone

PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


def oscillator_levels(J: np.ndarray, w: np.ndarray, beta: float, mass: float = 0.0, n_osc: int = 120) -> np.ndarray:
    """Eigenvalues of w . q + sum_ij q_i J_ij sigma_j + mass sigma_z (i, j in-plane) in a field beta, truncated basis."""
    a = np.diag(np.sqrt(np.arange(1.0, n_osc)), 1)
    s = np.sqrt(abs(beta) / 2)
    q = [s * (a + a.T), -1j * np.sign(beta) * s * (a - a.T)]
    H = mass * np.kron(np.eye(n_osc), PAULI[2])
    for i in range(2):
        H = H + w[i] * np.kron(q[i], np.eye(2)) + sum(J[i, j] * np.kron(q[i], PAULI[j]) for j in range(2))
    return np.linalg.eigvalsh(H)


class LinearCone:
    """h(k) = eps + w . k + sum_ij k_i J_ij sigma_j: one Weyl node at k = 0 (a 3D two-band model without a lattice)."""

    dim, norbs = 3, 2

    def __init__(self, J, w, eps: float = 0.0) -> None:
        self.J, self.w, self.eps = np.asarray(J, dtype=float), np.asarray(w, dtype=float), eps

    def bloch(self, k):
        k = np.asarray(k, dtype=float)
        return np.einsum("...i,ij,jab->...ab", k, self.J, PAULI) + (self.eps + k @ self.w)[..., None, None] * np.eye(2)

    def bloch_derivative(self, k):
        k = np.asarray(k, dtype=float)
        d = np.einsum("ij,jab->iab", self.J, PAULI) + self.w[:, None, None] * np.eye(2)
        return np.broadcast_to(d, k.shape[:-1] + (3, 2, 2))


#: An anisotropic cone with a generic in-plane tilt and negative chirality (det J < 0).
J_ANISO = np.array([[0.9, 0.3, 0.0], [-0.2, 1.3, 0.0], [0.0, 0.0, -0.7]])
W_TILT = np.array([0.25, -0.3, 0.0])


@pytest.fixture(scope="module")
def cone():
    (node,) = weyl_nodes(LinearCone(J_ANISO, W_TILT, eps=0.1), [[0.01, -0.02, 0.03]])
    return weyl_cone(LinearCone(J_ANISO, W_TILT, eps=0.1), node)


def test_cone_parameters_from_h(cone):
    """v^2 = |det J_xy|, t = |J_xy^-1 w_xy|, eps_K and chi = sign det J, read from bloch_derivative at the node."""
    assert cone.energy == pytest.approx(0.1, abs=1e-14)
    assert cone.chirality == -1
    assert cone.velocity**2 == pytest.approx(abs(np.linalg.det(J_ANISO[:2, :2])), rel=1e-14)
    assert cone.tilt == pytest.approx(np.linalg.norm(np.linalg.solve(J_ANISO[:2, :2], W_TILT[:2])), rel=1e-14)


@pytest.mark.parametrize("beta", [0.05, -0.2])
def test_levels_at_the_node_against_the_oscillator_spectrum(cone, beta):
    """eps_K +- sqrt(n) eps_1, eps_1 = sqrt(2 v^2 |beta|) (1 - t^2)^(3/4): the first six levels on both sides, to 1e-10."""
    E = cone.energy + oscillator_levels(J_ANISO[:2, :2], W_TILT[:2], beta)
    for side in (1, -1):
        found = np.sort(side * (E[side * (E - cone.energy) > 1e-8] - cone.energy))[:6] + 0.0
        expected = [side * (landau_level(cone, beta, side * n) - cone.energy) for n in range(1, 7)]
        np.testing.assert_allclose(found, expected, rtol=1e-10)
    assert first_level(cone, beta) == pytest.approx(landau_level(cone, beta, 1) - cone.energy, rel=1e-15)


@pytest.mark.parametrize("mass", [0.05, 0.2])
def test_massive_levels_have_their_extremum_at_the_node(cone, mass):
    """Away from the node's k_z the mass m = J_zz q_z gives +-sqrt(1 - t^2) sqrt(m^2 + n eps_1^2 / (1 - t^2)),
    so |E_n| > sqrt(n) eps_1: every massive level is extremal at the node (what levels_crossing counts)."""
    beta = 0.05
    E = oscillator_levels(J_ANISO[:2, :2], W_TILT[:2], beta, mass)
    a = np.sqrt(1 - cone.tilt**2)
    e1 = first_level(cone, beta)
    expected = [a * np.sqrt(mass**2 + n * e1**2 / a**2) for n in range(1, 5)]
    found = np.sort(E[E > a * mass + 1e-8])[:4]
    np.testing.assert_allclose(found, expected, rtol=1e-10)
    assert np.all(found > np.sqrt(np.arange(1, 5)) * e1)


def test_levels_crossing_counts_the_chiral_level_and_the_massive_levels_beyond_the_energy():
    cone = WeylCone(energy=0.2, chirality=1, velocity=1.0, tilt=0.3)
    beta = 0.1
    e1 = first_level(cone, beta)
    for n in range(5):  # between sqrt(n) eps_1 and sqrt(n + 1) eps_1 from the node: the chiral level and n massive ones
        gap = np.sqrt(n + 0.5) * e1
        assert levels_crossing(cone, beta, cone.energy + gap) == levels_crossing(cone, beta, cone.energy - gap) == 1 + n
    assert levels_crossing(cone, beta, cone.energy) == 1
    assert levels_crossing(cone, -beta, cone.energy + 1.5 * e1) == 3  # the sign of B does not matter


def test_bad_input_raises():
    with pytest.raises(ValueError, match="type-II"):
        model = LinearCone(np.eye(3), [1.2, 0.0, 0.0])
        weyl_cone(model, weyl_nodes(model, [[0.01, 0.0, 0.0]])[0])
    with pytest.raises(ValueError, match="tilted along"):
        model = LinearCone(np.eye(3), [0.0, 0.0, 0.3])
        weyl_cone(model, weyl_nodes(model, [[0.01, 0.0, 0.0]])[0])
    with pytest.raises(ValueError, match="couples in-plane"):
        J = np.eye(3)
        J[0, 2] = 0.4
        model = LinearCone(J, [0.0, 0.0, 0.0])
        weyl_cone(model, weyl_nodes(model, [[0.01, 0.0, 0.0]])[0])
    with pytest.raises(ValueError, match="nonzero integer"):
        landau_level(WeylCone(0.0, 1, 1.0, 0.0), 0.1, 0)
