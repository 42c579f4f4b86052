"""Engines for f(H) in a static uniform magnetic field (the equilibrium exact side).

- :mod:`.supercell` — algorithm (a): magnetic-supercell Bloch diagonalization at rational flux.
- :mod:`.chebyshev` — algorithm (b): Chebyshev expansion of f(H) on the home-cell columns of a
  finite Peierls patch, any flux; planned by :mod:`.bands` (zero-field spectral bounds, kernel
  range and decay), approximated by :mod:`.approximants` (series, tail bounds, Matsubara split),
  with exact Matsubara poles from :mod:`.resolvent`, on the patches of :mod:`.patch`.
- :mod:`.kernel` — :class:`WignerKernel`, a dressed real-space kernel with its error budget.
- :mod:`.greens` — retarded, advanced, spectral and lesser Green's functions in a static field.

Public entry points are in :mod:`keldysh.exact`.
"""
