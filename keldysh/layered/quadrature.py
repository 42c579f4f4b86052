"""Nested k_z quadrature rules (periodic trapezoid, Clenshaw-Curtis), doubled until converged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ConvergenceError

__all__ = ["KzIntegral", "clenshaw_curtis", "nested_rule"]


@dataclass(frozen=True)
class KzIntegral:
    """A k_z integral int dkz/(2 pi) g(kz) and how it was converged.

    Attributes
    ----------
    value
        The integral (units of g per unit length along z).
    n_kz
        Number of k_z slices of the final rule.
    change
        |difference| between the last two (nested) rules: an error estimate of
        the coarser one, so a conservative estimate for ``value``.
    """

    value: float
    n_kz: int
    change: float


def _check_tol(tol: float, max_kz: int) -> None:
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    if max_kz < 4:
        raise ValueError(f"max_kz must be >= 4, got {max_kz}")


def clenshaw_curtis(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nodes x_j = cos(pi j / n), j = 0..n, and weights of the Clenshaw-Curtis rule on [-1, 1] (n even).

    Nested under doubling (the nodes of n are among those of 2 n); exact for
    polynomials of degree n, and exponentially convergent for analytic integrands.
    """
    if n < 2 or n % 2:
        raise ValueError(f"Clenshaw-Curtis needs an even n >= 2, got {n}")
    theta = np.pi * np.arange(n + 1) / n
    x = np.cos(theta)
    k = np.arange(1, n // 2 + 1)
    b = np.where(k == n // 2, 1.0, 2.0)
    w = 1.0 - np.sum(b[None, :] * np.cos(2 * k[None, :] * theta[:, None]) / (4 * k[None, :] ** 2 - 1), axis=1)
    c = np.full(n + 1, 2.0)
    c[0] = c[-1] = 1.0
    return x, c * w / n


def nested_rule(
    evaluate: Callable[[int], ArrayLike], n: int, max_n: int, tol: float, what: str
) -> tuple[NDArray[np.float64], int, NDArray[np.float64]]:
    """Double a nested rule from ``n`` points until two successive results agree to ``tol``.

    Parameters
    ----------
    evaluate
        ``evaluate(n)`` -> the rule with ``n`` points (any array shape).
    n, max_n
        First and largest rule to try.
    tol
        Target for the elementwise change between successive rules.
    what
        Name of the integral, for the error message.

    Returns
    -------
    value, n, change
        The finer rule, its size, and the elementwise change from the coarser one
        (an error estimate of the coarser rule, so a conservative one of ``value``).

    Raises
    ------
    keldysh.errors.ConvergenceError
        If the rule with ``max_n`` points has not converged to ``tol``.
    """
    n, prev = int(n), None
    while n <= max_n:
        value = np.asarray(evaluate(n), dtype=float)
        if prev is not None:
            change = np.abs(value - prev)
            if change.max() < tol:
                return value, n, change
        prev, n = value, 2 * n
    raise ConvergenceError(f"{what} not converged to tol={tol:g} with {max_n} k_z points; raise max_kz or loosen tol")
