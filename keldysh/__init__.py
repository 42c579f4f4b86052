"""Exact side: lattice models in uniform fields and their Keldysh Green's functions.

This package knows nothing of :mod:`semiclassics`.
"""

from . import models
from .efield import UniformE
from .fields import UniformB
from .lattice import BlochModel, TightBinding

__all__ = ["BlochModel", "TightBinding", "UniformB", "UniformE", "models"]
