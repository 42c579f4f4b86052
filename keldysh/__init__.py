"""Exact side: lattice models in uniform fields and their Keldysh Green's functions.

This package knows nothing of :mod:`semiclassics`.
"""

from . import io, models
from .errors import BudgetError, ConvergenceError, GapError
from .exact import Budget, band_wigner, fermi_wigner, local_density_matrix, wigner_kernel
from .fields import UniformB, UniformE
from .lattice import BlochModel, TightBinding
from .static.kernel import WignerKernel

__all__ = [
    "BlochModel",
    "Budget",
    "BudgetError",
    "ConvergenceError",
    "GapError",
    "TightBinding",
    "UniformB",
    "UniformE",
    "WignerKernel",
    "band_wigner",
    "fermi_wigner",
    "local_density_matrix",
    "io",
    "models",
    "wigner_kernel",
]
