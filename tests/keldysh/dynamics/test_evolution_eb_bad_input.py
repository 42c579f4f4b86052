"""Bad input to the uniform-E-and-B solver: clear exceptions that name the quantity, raised early."""

import numpy as np
import pytest

from keldysh import GapError, models
from keldysh.exact import evolved_current, evolved_greens, evolved_state
from keldysh.fields import UniformB, UniformE
from keldysh.static.budget import Budget, BudgetError

QWZ = models.qwz(1.0, t0=0.3)
E = UniformE((0.02, 0.0), ramp=2.0)


@pytest.mark.parametrize("method", ["supercell", "kernel"])
def test_magnetic_breakdown_of_a_zero_temperature_gap(method):
    """mu = -0.75 lies in the zero-field gap (-1, 0.4) but inside a magnetic band at flux 1/4 ([-0.84, -0.65]):
    the T = 0 occupation has no gap to sit in."""
    with pytest.raises(GapError, match="closes the gap"):
        evolved_state(QWZ, (UniformB(1 / 4), E), -0.75, 0.0, [1.0], 1e-8, method=method)


def test_zener_tunnelling_out_of_a_projected_band():
    """A band projector in a strong E: Landau-Zener probability exp(-pi 2^2 / (2 0.5 2)) = 2e-3 > tol."""
    with pytest.raises(GapError, match="Zener tunnelling out of band 0.*Landau-Zener probability"):
        evolved_state(QWZ, (UniformB(1 / 8), UniformE((0.5, 0.0), ramp=2.0)), None, None, [1.0], 1e-8, band=0)
    # a weak field is accepted: exp(-pi 4 / (2 0.01 2)) is far below tol
    state = evolved_state(QWZ, (UniformB(1 / 8), UniformE((0.01, 0.0), ramp=2.0)), None, None, [1.0], 1e-8, band=0)
    assert abs(state.density()[0] - (1 + 1 / 8)) < 1e-8  # Streda: 1 - flux C with C = -1


def test_budgets():
    """Memory or time beyond the budget: BudgetError before the work (estimate) or when the box must grow."""
    fields = (UniformB(1 / 8), E)
    with pytest.raises(BudgetError, match="seconds=0.01"):
        evolved_state(QWZ, fields, -1.6, 0.5, [1.0], 1e-8, budget=Budget(seconds=0.01))
    # a sudden strong field makes the kernel spread: the box outgrows 30 MB before t = 40
    with pytest.raises(BudgetError, match="needs a box of radius .* cells at t = .*memory_gb=0.03"):
        evolved_state(QWZ, (UniformB(1 / 8), UniformE((0.1, 0.0))), -1.6, 0.5, [40.0], 1e-8,
                      budget=Budget(memory_gb=0.03))


def test_arguments_are_checked():
    fields = (UniformB(1 / 8), E)
    with pytest.raises(ValueError, match="E has 3 components but the model is 2-dimensional"):
        evolved_current(QWZ, (UniformB(0.1), UniformE((0.1, 0.0, 0.0))), 0.0, 0.1, [1.0])
    with pytest.raises(ValueError, match="fields is empty"):
        evolved_current(QWZ, (), 0.0, 0.1, [1.0])
    with pytest.raises(ValueError, match="two UniformB"):
        evolved_current(QWZ, (UniformB(0.1), UniformB(0.2)), 0.0, 0.1, [1.0])
    with pytest.raises(TypeError, match="fields must hold"):
        evolved_current(QWZ, (UniformB(0.1), 0.3), 0.0, 0.1, [1.0])
    with pytest.raises(ValueError, match="either mu and T .* or band"):
        evolved_current(QWZ, fields, 0.0, 0.1, [1.0], band=0)
    with pytest.raises(ValueError, match="T must satisfy T >= 0"):
        evolved_current(QWZ, fields, 0.0, -0.1, [1.0])
    with pytest.raises(ValueError, match="times must be strictly increasing"):
        evolved_current(QWZ, fields, 0.0, 0.1, [2.0, 1.0])
    with pytest.raises(ValueError, match="times must be finite and >= 0"):
        evolved_current(QWZ, fields, 0.0, 0.1, [-1.0])
    with pytest.raises(ValueError, match="tol must be a positive"):
        evolved_current(QWZ, fields, 0.0, 0.1, [1.0], tol=0.0)
    with pytest.raises(ValueError, match="unknown method"):
        evolved_current(QWZ, fields, 0.0, 0.1, [1.0], method="chebyshev")
    with pytest.raises(ValueError, match="not a rational p/q"):
        evolved_current(QWZ, (UniformB(1 / np.pi / 7.3), E), -1.6, 0.5, [1.0], method="supercell")
    with pytest.raises(ValueError, match="method='kernel' handles 2D models"):
        weyl = models.weyl()
        evolved_current(weyl, (UniformB(1 / 8), UniformE((0.0, 0.0, 0.1))), 0.0, 0.1, [1.0], method="kernel")
    with pytest.raises(ValueError, match="mean_time=0.2 too small"):
        evolved_greens(QWZ, fields, -1.6, 0.5, 0.2, [1.0], np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"k must have shape \(\.\.\., 2\)"):
        evolved_greens(QWZ, fields, -1.6, 0.5, 1.0, [1.0], np.zeros((1, 3)))
