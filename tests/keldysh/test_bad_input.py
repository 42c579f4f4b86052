"""Bad input at the public boundary of keldysh: the exception type, and a message that names the argument.

Every case must fail before any kernel is computed (they all run in well under a second).
The resource-budget refusals (BudgetError) and gap certification are in tests/keldysh/static.
"""

import numpy as np
import pytest

from keldysh import GapError, TightBinding, UniformB, UniformE, models
from keldysh.exact import Budget, band_wigner, fermi_wigner, local_density_matrix, wigner_kernel
from keldysh.spectral import BandWindow, band_edges, band_window

SZ = np.diag([1.0, -1.0]).astype(complex)
SX = np.array([[0, 1], [1, 0]], dtype=complex)
SY = np.array([[0, -1j], [1j, 0]])
QWZ = models.qwz(1.0)
FIELD = UniformB(1e-3)
K = np.zeros((3, 2))


class Unhashable:
    """A callable of energies that cannot key the kernel cache."""

    __hash__ = None

    def __call__(self, E):
        return np.exp(-np.asarray(E) ** 2)

CASES = [
    # TightBinding: keys, values, shapes, finiteness, Hermiticity
    ("half-integer key", lambda: TightBinding({(0, 0): SZ, (0.5, 0): SX, (1, 0): SY}), ValueError, r"hoppings: key \(0\.5, 0\) is not an integer"),
    ("string key entry", lambda: TightBinding({(0, 0): SZ, ("a", 0): SX}), TypeError, r"hoppings: key .* tuple of integers"),
    ("scalar key", lambda: TightBinding({0: SZ}), TypeError, r"hoppings: key 0 must be a tuple"),
    ("empty key", lambda: TightBinding({(): SZ}), ValueError, r"hoppings: a key is the empty tuple"),
    ("not a mapping", lambda: TightBinding([SZ]), TypeError, r"hoppings must be a mapping"),
    ("empty mapping", lambda: TightBinding({}), ValueError, r"hoppings is empty"),
    ("non-numeric T", lambda: TightBinding({(0, 0): "x"}), TypeError, r"hoppings: T_R for R=\(0, 0\)"),
    ("non-square T", lambda: TightBinding({(0, 0): np.ones((2, 3))}), ValueError, r"hoppings: .* square"),
    ("0 x 0 T", lambda: TightBinding({(0, 0): np.ones((0, 0))}), ValueError, r"hoppings: .* 0 x 0"),
    ("mixed T shapes", lambda: TightBinding({(0, 0): SZ, (1, 0): np.eye(3)}), ValueError, r"hoppings: .* mixed shapes"),
    ("mixed R lengths", lambda: TightBinding({(0, 0): SZ, (1,): SX}), ValueError, r"hoppings: .* mixed lengths"),
    ("NaN hopping", lambda: TightBinding({(0, 0): SZ, (1, 0): SX * np.nan}), ValueError, r"hoppings: T_R for R=\(1, 0\) has non-finite"),
    ("non-Hermitian T_0", lambda: TightBinding({(0, 0): SX + 1j * SZ}), ValueError, r"hoppings are not Hermitian.*R=\(0, 0\)"),
    ("non-Hermitian pair", lambda: TightBinding({(1, 0): SX, (-1, 0): SY}), ValueError, r"hoppings are not Hermitian.*R=\(1, 0\)"),
    ("positions shape", lambda: TightBinding({(0, 0): SZ}, positions=np.zeros((3, 2))), ValueError, r"positions must have shape"),
    ("positions NaN", lambda: TightBinding({(0, 0): SZ}, positions=[[0, np.nan], [0, 0]]), ValueError, r"positions has non-finite"),
    ("positions complex", lambda: TightBinding({(0, 0): SZ}, positions=np.zeros((2, 2)) * 1j), TypeError, r"positions must be real"),
    ("lattice singular", lambda: TightBinding({(0, 0): SZ}, lattice_vectors=[[1, 0], [2, 0]]), ValueError, r"lattice_vectors are linearly dependent"),
    ("lattice shape", lambda: TightBinding({(0, 0): SZ}, lattice_vectors=np.eye(3)), ValueError, r"lattice_vectors must have shape"),
    # Bloch Hamiltonian
    ("bloch k shape", lambda: QWZ.bloch(np.zeros((4, 3))), ValueError, r"k must have shape \(\.\.\., 2\)"),
    ("bloch k NaN", lambda: QWZ.bloch([np.nan, 0.0]), ValueError, r"k has non-finite"),
    # exact entry points: k checked before any kernel
    ("k wrong last axis", lambda: band_wigner(QWZ, FIELD, 0, np.zeros((3, 3))), ValueError, r"k must have shape \(\.\.\., 2\)"),
    ("k scalar", lambda: band_wigner(QWZ, FIELD, 0, 0.3), ValueError, r"k must have shape"),
    ("k complex", lambda: fermi_wigner(QWZ, FIELD, 0.0, 0.1, K * 1j), TypeError, r"k must be real"),
    ("k NaN", lambda: fermi_wigner(QWZ, FIELD, 0.0, 0.1, [[np.nan, 0]]), ValueError, r"k has non-finite"),
    ("k strings", lambda: band_wigner(QWZ, FIELD, 0, [["a", "b"]]), TypeError, r"k must be a real numeric array"),
    # fields of the wrong kind
    ("UniformE for B", lambda: band_wigner(QWZ, UniformE((0.1, 0.0)), 0, K), TypeError, r"field must be a keldysh.UniformB.*UniformE"),
    ("flux as a number", lambda: fermi_wigner(QWZ, 1e-3, 0.0, 0.1, K), TypeError, r"field must be a keldysh.UniformB"),
    ("infinite flux", lambda: UniformB(np.inf), ValueError, r"flux must be finite"),
    # models of the wrong kind or dimension, trivial models
    ("3D model", lambda: fermi_wigner(models.weyl(), FIELD, 0.0, 0.1, np.zeros((3, 3))), NotImplementedError, r"model is 3D"),
    ("1D model", lambda: local_density_matrix(TightBinding({(0,): SZ, (1,): SX}), FIELD, 0.0, 0.1), ValueError, r"model: .* 2D lattice"),
    ("not a model", lambda: band_wigner("qwz", FIELD, 0, K), TypeError, r"model must be a keldysh.TightBinding"),
    ("on-site only", lambda: band_wigner(TightBinding({(0, 0): SZ}), FIELD, 0, K), ValueError, r"model has no nonzero hopping between cells"),
    ("all-zero hoppings", lambda: fermi_wigner(TightBinding({(0, 0): 0 * SZ, (1, 0): 0 * SX}), FIELD, 0.0, 0.1, K), ValueError, r"model has no nonzero hopping"),
    ("degenerate bands", lambda: band_wigner(TightBinding({(0, 0): 0 * SZ, (1, 0): np.eye(2)}), FIELD, 0, K), ValueError, r"band 0 is not isolated"),
    # band index, moment
    ("band too large", lambda: band_wigner(QWZ, FIELD, 2, K), ValueError, r"band index 2 out of range for a 2-band model"),
    ("band negative", lambda: band_wigner(QWZ, FIELD, -1, K), ValueError, r"band index -1 out of range"),
    ("band float", lambda: band_wigner(QWZ, FIELD, 0.5, K), TypeError, r"band must be an integer"),
    ("band bool", lambda: band_window(QWZ, True), TypeError, r"band must be an integer"),
    ("moment negative", lambda: band_wigner(QWZ, FIELD, 0, K, moment=-1), ValueError, r"moment must be a non-negative integer"),
    ("moment float", lambda: band_wigner(QWZ, FIELD, 0, K, moment=0.5), ValueError, r"moment must be a non-negative integer"),
    ("band touching (Dirac point between grid points)",
     lambda: band_wigner(TightBinding({R: T * np.exp(-0.0123j * R[0]) for R, T in models.qwz(2.0).hoppings.items()}), UniformB(0.0), 0, [[0.4, 1.3]]),
     ValueError, r"band 0 is not isolated"),
    # tolerances, method, budget
    ("tol negative", lambda: band_wigner(QWZ, FIELD, 0, K, tol=-1e-9), ValueError, r"tol must be positive"),
    ("tol zero", lambda: local_density_matrix(QWZ, FIELD, 0.0, 0.1, tol=0.0), ValueError, r"tol must be positive"),
    ("tol NaN", lambda: band_wigner(QWZ, FIELD, 0, K, tol=np.nan), ValueError, r"tol must be finite"),
    ("tol string", lambda: band_wigner(QWZ, FIELD, 0, K, tol="1e-9"), TypeError, r"tol must be a real number"),
    ("method", lambda: band_wigner(QWZ, FIELD, 0, K, method="magic"), ValueError, r"unknown method 'magic'"),
    ("supercell irrational flux", lambda: band_wigner(QWZ, UniformB(np.sqrt(2) / 100), 0, K, method="supercell"), ValueError, r"method='supercell' needs a rational flux"),
    ("budget type", lambda: band_wigner(QWZ, FIELD, 0, K, budget=8.0), TypeError, r"budget must be a .*Budget"),
    ("budget negative", lambda: Budget(memory_gb=-1), ValueError, r"Budget.memory_gb must be a positive number"),
    ("budget seconds", lambda: Budget(seconds=0), ValueError, r"Budget.seconds must be a positive number"),
    # mu / T ranges
    ("T negative", lambda: fermi_wigner(QWZ, FIELD, 0.0, -0.1, K), ValueError, r"T must satisfy T >= 0"),
    ("T NaN", lambda: local_density_matrix(QWZ, FIELD, 0.0, np.nan), ValueError, r"T must be finite"),
    ("mu infinite", lambda: fermi_wigner(QWZ, FIELD, np.inf, 0.1, K), ValueError, r"mu must be finite"),
    ("mu string", lambda: fermi_wigner(QWZ, FIELD, "0", 0.1, K), TypeError, r"mu must be a real number"),
    ("T = 0 with mu in a band", lambda: fermi_wigner(QWZ, FIELD, -1.5, 0.0, K), ValueError, r"T = 0 needs mu in a gap; mu=-1.5"),
    # func of wigner_kernel
    ("func not callable", lambda: wigner_kernel(QWZ, FIELD, 3.0), TypeError, r"func must be a BandWindow"),
    ("func unhashable", lambda: wigner_kernel(QWZ, FIELD, Unhashable()), TypeError, r"func must be hashable"),
    # band edges
    ("band_edges n_k", lambda: band_edges(QWZ, 1), ValueError, r"n_k must be an integer >= 2"),
    ("band_edges model", lambda: band_edges(None), TypeError, r"model must be a keldysh.TightBinding"),
    # a kernel evaluated at k of the wrong shape
    ("kernel.wigner k", lambda: wigner_kernel(QWZ, FIELD, band_window(QWZ, 0), tol=1e-6).wigner(np.zeros(3)), ValueError, r"k must have shape \(\.\.\., 2\)"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_gap_error_is_a_runtime_error_and_band_windows_stay_valid():
    """A field that closes a narrow gap is a GapError (not a bad input): the window itself is fine."""
    model = models.qwz(1.9)
    window = band_window(model, 0)
    assert isinstance(window, BandWindow) and window.upper_gap[1] - window.upper_gap[0] == pytest.approx(0.2)
    with pytest.raises(GapError, match="closes the gap"):
        band_wigner(model, UniformB(0.05), 0, K, tol=1e-8)
