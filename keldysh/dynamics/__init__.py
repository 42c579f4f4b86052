"""Time evolution in uniform fields: :mod:`.evolution` (uniform E at B = 0, batched Magnus per k).

Public entry points are in :mod:`keldysh.exact`.
"""
