"""No hangs, no raw MemoryError: certified band edges, and requests refused up front when they exceed the budget."""

import numpy as np
import pytest

import keldysh.static.budget as budget_module
from keldysh import ConvergenceError, TightBinding, UniformB, models
from keldysh.exact import Budget, BudgetError, band_wigner, fermi_wigner, wigner_kernel
from keldysh.spectral import band_edges, band_window
from keldysh.static.bands import zero_field_range
from keldysh.static.resolvent import resolvent_columns

K = np.array([[0.4, 1.3]])


def shifted(model, q):
    """The same bands, moved by q along k_x: T_R -> T_R exp(-i q R_x), so h'(k) = h(k - q x)."""
    return TightBinding({R: T * np.exp(-1j * q * R[0]) for R, T in model.hoppings.items()})


def test_edges_between_grid_points_are_found():
    """QWZ(m = 1) has bands [-3, -1] and [1, 3] (closed form, |d| from 1 to 3); shifted off a 4 x 4 grid
    the grid alone misses the outer edges by 0.08; refined and certified they are exact (Newton steps
    converge; the certification alone guarantees EDGE_CERTAINTY of the gap)."""
    model = shifted(models.qwz(1.0), 0.5)
    exact = np.array([[-3.0, -1.0], [1.0, 3.0]])
    grid = band_edges(model, 4, certify=False)
    assert np.abs(grid - exact).max() > 0.05  # the grid misses: the test can fail
    edges = band_edges(model, 4)
    assert np.abs(edges - exact).max() < 1e-9


@pytest.mark.slow
def test_dirac_point_between_grid_points_closes_the_gap():
    """qwz(2) has a Dirac point at (pi, pi); moved by 0.0123 it sits between grid points (the grid shows a gap
    of 2 x 0.0123): the certified edges touch and the band is not isolated."""
    model = shifted(models.qwz(2.0), 0.0123)
    grid = band_edges(model, certify=False)
    assert grid[1, 0] - grid[0, 1] == pytest.approx(2 * 0.0123, rel=1e-3)
    edges = band_edges(model)
    assert edges[1, 0] - edges[0, 1] < 1e-12
    with pytest.raises(ValueError, match="band 0 is not isolated"):
        band_window(model, 0)


def test_small_gap_is_refused_by_the_budget_naming_the_gap():
    """qwz(2.02): gap 2 |m - 2| = 0.04 (closed form) needs M ~ 7000: refused before any fit or recursion."""
    model = models.qwz(2.02)
    edges = band_edges(model)
    assert edges[1, 0] - edges[0, 1] == pytest.approx(0.04, rel=1e-9)
    with pytest.raises(BudgetError, match=r"memory_gb=8.*gap \(-0.02, 0.02\) of width 0.04.*budget=Budget") as err:
        band_wigner(model, UniformB(1e-3), 0, K)
    assert isinstance(err.value, ConvergenceError)


def test_budget_keyword_and_module_default(monkeypatch):
    """A tiny budget refuses an ordinary request (per call and as the module default); a larger one allows it."""
    model, field = models.qwz(1.0, t0=0.3), UniformB(1e-3)
    with pytest.raises(BudgetError, match=r"budget memory_gb=1e-06"):
        band_wigner(model, field, 0, K, tol=1e-6, budget=Budget(memory_gb=1e-6))
    monkeypatch.setattr(budget_module, "DEFAULT", Budget(seconds=1e-9))
    with pytest.raises(BudgetError, match=r"budget seconds=1e-09"):
        band_wigner(model, field, 0, K, tol=1e-6)
    W = band_wigner(model, field, 0, K, tol=1e-6, budget=Budget.unlimited())
    assert np.abs(np.trace(W[0]).real - 1) < 1e-3  # Tr W(Pi_0) = 1 + O(flux)


def test_zero_field_grid_growth_is_budgeted():
    """A kernel that does not decay on the first FFT grid asks for a larger one: refused when it does not fit."""
    model = models.qwz(1.0, t0=0.3)
    window = band_window(model, 0)
    with pytest.raises(BudgetError, match=r"FFT grid of 128 x 128"):
        zero_field_range(model, window, 1e-12, resources=Budget(memory_gb=1e-4))


@pytest.mark.parametrize("T", [1e-4, 1e-3])
def test_cold_metal_is_refused_up_front(T):
    """A metal at low T: the Matsubara window (~ v / (2 pi T) ln(1/tol) cells) is estimated, not attempted."""
    with pytest.raises(ConvergenceError, match=rf"metal at T={T:g} .*resolvent window of about \d+ cells > max_radius"):
        fermi_wigner(models.qwz(1.0, t0=0.3), UniformB(1e-3), -1.5, T, K)


def test_weighted_resolvent_sum_equals_the_sum_of_columns():
    """weights= keeps only sum_l w_l G~(z_l) (memory independent of the number of poles): same numbers."""
    model, field = models.qwz(1.0, t0=0.3), UniformB(0.0137)
    zs, ws = [0.3 + 0.8j, -1.0 + 1.2j], np.array([0.7 - 0.1j, -0.2j])
    _, G, info = resolvent_columns(model, field, zs, 6, 1e-12)
    _, S, sinfo = resolvent_columns(model, field, zs, 6, 1e-12, weights=ws)
    assert np.abs(S - np.tensordot(ws, G, axes=1)).max() < 1e-15
    assert np.abs(sinfo["correction"] - np.tensordot(ws, info["correction"], axes=1)).max() < 1e-15


def test_budget_is_checked_before_the_kernel_cache():
    """An allowed request is cached; the cache key does not depend on the budget (same kernel returned)."""
    model, field = models.qwz(1.0, t0=0.3), UniformB(2e-3)
    a = wigner_kernel(model, field, band_window(model, 0), tol=1e-6)
    assert wigner_kernel(model, field, band_window(model, 0), tol=1e-6, budget=Budget(memory_gb=1e-6)) is a
