"""The batched backward DOP853 sweep (semiclassics.integrate) on problems with closed forms."""

import numpy as np
import pytest

from semiclassics.integrate import LOOSE_FACTOR, StepRejected, sweep_backward

OMEGA = 1.3


def rotation(t, y):
    """y' = A y with A the rotation generator at rate OMEGA: y(t) = R(OMEGA t) y(0)."""
    return np.stack([-OMEGA * y[..., 1], OMEGA * y[..., 0]], axis=-1)


def rotate(y, angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * y[..., 0] - s * y[..., 1], s * y[..., 0] + c * y[..., 1]], axis=-1)


def test_rotation_backward_from_several_starts():
    """Each block is carried back from its own start to 0: y(0) = R(-OMEGA t_i) y_i; the error estimate bounds the error."""
    rng = np.random.default_rng(3)
    starts = np.array([3.0, 0.0, 11.0, 7.5])
    y0 = rng.normal(size=(4, 5, 2))
    tight = sweep_backward(rotation, starts, y0, tol=1e-10)
    loose = sweep_backward(rotation, starts, y0, tol=LOOSE_FACTOR * 1e-10)
    exact = rotate(y0, -OMEGA * starts[:, None])
    true_error = np.abs(tight - exact).max()
    assert true_error < 1e-8
    assert true_error <= np.abs(tight - loose).max()  # the estimate is an upper bound
    np.testing.assert_array_equal(tight[1], y0[1])  # a block starting at the end time is untouched


def test_breakpoint_kink_is_landed_on():
    """y' = |t - b| has a kink at b; with b as a breakpoint the result is exact to the tolerance."""
    b = 2.2

    def rhs(t, y):
        return np.full_like(y, abs(t - b))

    y = sweep_backward(rhs, [5.0], np.zeros((1, 1)), breakpoints=[b], tol=1e-12)
    exact = -(0.5 * (5.0 - b) ** 2 + 0.5 * b**2)  # y(0) = -int_0^5 |t - b| dt
    assert y[0, 0] == pytest.approx(exact, abs=1e-12)


def test_rejected_stages_shrink_the_step_and_a_persistent_one_raises():
    """A right-hand side undefined beyond y = 1.5 (moving back from y = 0 at speed 1): fine until y reaches it."""

    class Wall(Exception):
        pass

    def rhs(t, y):
        if np.any(y > 1.5):
            raise StepRejected(Wall(f"y = {y.max()}"))
        return -np.ones_like(y)  # backwards in time y grows

    ok = sweep_backward(rhs, [1.4], np.zeros((1, 1)), tol=1e-10)  # reaches y = 1.4 < 1.5
    assert ok[0, 0] == pytest.approx(1.4, abs=1e-12)
    with pytest.raises(Wall):
        sweep_backward(rhs, [2.0], np.zeros((1, 1)), tol=1e-10)


def test_max_step_is_respected():
    calls = []

    def rhs(t, y):
        calls.append(t)
        return np.zeros_like(y)

    sweep_backward(rhs, [1.0], np.zeros((1, 1)), tol=1e-10, max_step=lambda t, y: 0.1)
    steps = (len(calls) - 1) // 12  # one evaluation at the start, then 11 stages and the new point per step
    assert steps == 10


def test_bad_input():
    with pytest.raises(ValueError, match="initial"):
        sweep_backward(rotation, [1.0, 2.0], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="start time"):
        sweep_backward(rotation, [-1.0], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="tol"):
        sweep_backward(rotation, [1.0], np.zeros((1, 2)), tol=0.0)
