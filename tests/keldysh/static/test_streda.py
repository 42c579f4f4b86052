"""Streda counting at rational flux: an isolated band holds 1 - flux * C_n states per cell.

Conventions (``docs/conventions.md``): C_n = (1/2 pi) int Omega_n^{xy} d^2k with
Omega = dA_y/dk_x - dA_x/dk_y, A = i<u|grad u>, and flux > 0 means q B_z > 0. The count is
exact at rational p/q while the band stays isolated (the TKNN Diophantine relation fixes it to
the integer it has at zero flux): the number of magnetic bands inside the window is q - p C_n
and the on-site trace of the exact projector is Tr Pi_n(R = 0) = 1 - (p/q) C_n.
"""

import numpy as np
import pytest

from keldysh import UniformB, models
from keldysh.spectral import band_window
from keldysh.static.supercell import magnetic_spectrum, rational_flux, supercell_kernel


def fhs_chern(model, n_k: int = 48) -> np.ndarray:
    """Chern numbers of all bands by Fukui-Hatsugai-Suzuki link variables on an n_k x n_k grid.

    With U_i(k) = <u(k)|u(k + dk_i)> ~ exp(-i A_i dk_i), the plaquette product phase is
    -Omega dk_x dk_y, hence the minus sign. The periodic gauge h_I(k) = D h(k) D^dagger,
    D = diag exp(i k.tau), makes u(k) single valued on the torus.
    """
    u = np.arange(n_k) / n_k
    k = np.stack(np.meshgrid(u, u, indexing="ij"), axis=-1) @ model.reciprocal_vectors
    D = np.exp(1j * k @ (model.positions @ model.lattice_vectors).T)
    _, U = np.linalg.eigh(D[..., :, None] * model.bloch(k) * D.conj()[..., None, :])
    link_x = np.einsum("...an,...an->...n", U.conj(), np.roll(U, -1, axis=0))
    link_y = np.einsum("...an,...an->...n", U.conj(), np.roll(U, -1, axis=1))
    plaquette = link_x * np.roll(link_y, -1, axis=0) * np.roll(link_x, -1, axis=1).conj() * link_y.conj()
    return -np.angle(plaquette).sum(axis=(0, 1)) / (2 * np.pi)


CASES = {
    "qwz": (models.qwz(1.0, 0.3), [1 / 7, 1 / 13, 2 / 31, -1 / 11]),
    "haldane": (models.haldane(), [1 / 7, 1 / 13, 2 / 31, -1 / 11]),
    # three_band: its gaps (0.70, 0.86) close in the Hofstadter spectrum at 1/7 and -1/11
    "three_band": (models.three_band(), [1 / 17, -1 / 23]),
}
EXPECTED_CHERN = {"qwz": [-1, 1], "haldane": [1, -1], "three_band": [-2, 0, 2]}


@pytest.mark.parametrize("name", CASES)
def test_fhs_chern_numbers(name):
    """The zero-field Chern numbers the Streda test uses (qwz(m=1): lower band -1 in this convention)."""
    C = fhs_chern(CASES[name][0])
    assert np.abs(C - EXPECTED_CHERN[name]).max() < 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_streda_states_per_cell(name):
    model, fluxes = CASES[name]
    chern = np.rint(fhs_chern(model)).astype(int)
    for flux in fluxes:
        p, q = rational_flux(flux)
        E = magnetic_spectrum(model, UniformB(flux), 8)
        for n in range(model.norbs):
            window = band_window(model, n)
            # the band stays isolated: the window edges sit in gaps of the magnetic spectrum
            assert np.abs(E - window.lower).min() > 0.05 and np.abs(E - window.upper).min() > 0.05
            count = ((E > window.lower) & (E < window.upper)).sum(axis=-1)
            assert np.all(count == q - p * chern[n]), (flux, n)
            onsite = supercell_kernel(model, UniformB(flux), window, np.zeros((1, 2), dtype=int))[0]
            assert abs(np.trace(onsite) - (1 - flux * chern[n])) < 1e-10, (flux, n)
