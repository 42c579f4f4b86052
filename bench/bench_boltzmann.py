"""CPU time of the Boltzmann-Vlasov predictions in uniform E and B (semiclassics.boltzmann) along the lattice scaling.

The classical problem is held fixed while hbar -> 0: flux = lambda f0, q E = lambda E0
and the observation times t = tau / lambda, so the characteristics in p do not depend on
lambda and neither should the cost. For each lambda prints the CPU seconds
(time.process_time, one BLAS thread) of

- the current on a grid x grid zone at three times within a cyclotron period
  (``predicted_current``; characteristics of every band that crosses mu),
- the same with error estimates (``current``: 3/4 grid and a looser tolerance),
- W(k, t) at 8 momenta with the momentum gradient (variational equations),

for qwz(m=1, t0=0.3), mu = 0.6, T = 0.08 (a metal; cyclotron period ~ 3.3 / lambda).

    python bench/bench_boltzmann.py [--grid 32] [--lambdas 0.04 0.02 0.01 0.005]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import functools  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from keldysh import models  # noqa: E402
from semiclassics import boltzmann  # noqa: E402

MU, T = 0.6, 0.08
E0 = np.array([math.cos(0.3), math.sin(0.3)])
TAUS = np.array([0.5, 1.5, 3.0])  # lambda t
FRACTIONS = np.array([[0.113, 0.377], [0.271, 0.842], [0.409, 0.155], [0.694, 0.218]])


def cpu(fun):
    t = time.process_time()
    out = fun()
    return time.process_time() - t, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=32)
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.04, 0.02, 0.01, 0.005])
    args = parser.parse_args()
    model = models.qwz(1.0, t0=0.3)
    k = np.concatenate([FRACTIONS, 1 - FRACTIONS]) @ model.reciprocal_vectors
    boltzmann.predicted_current(model, 0.01, 0.01 * E0, MU, T, [1.0], grid=8)  # warm-up (scipy import)
    print(f"qwz(1, t0=0.3), mu={MU}, T={T}, grid {args.grid}x{args.grid}, lambda t = {TAUS.tolist()}, CPU seconds")
    for lam in args.lambdas:
        fields = (model, lam, lam * E0, MU, T, TAUS / lam)
        t_cur, _ = cpu(functools.partial(boltzmann.predicted_current, *fields, grid=args.grid))
        t_err, res = cpu(functools.partial(boltzmann.current, *fields, grid=args.grid))
        t_w, _ = cpu(functools.partial(boltzmann.predicted_wigner, *fields, k))
        print(
            f"lambda={lam:7.4f}: current {t_cur:6.2f} s, with error estimates {t_err:6.2f} s "
            f"(integration {res.integration_error:.1e}, quadrature {res.quadrature_error:.1e}), "
            f"W at {len(k)} k {t_w:5.2f} s"
        )


if __name__ == "__main__":
    main()
