"""Shared pytest configuration: BLAS threads and the fixtures of :mod:`validation.testing`.

Batched small eigen-decompositions run several times slower with a multi-threaded
BLAS on a loaded 2-core machine, so the tests use one BLAS thread unless the
caller set the variables (this must happen before numpy is imported).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from validation.testing import isolated_registry, validation_run  # noqa: F401  (fixture registration)
