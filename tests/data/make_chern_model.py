"""Build the end-to-end test model ``chern8`` and write it in Wannier90 format.

Run from the repository root to regenerate the committed files::

    python tests/data/make_chern_model.py

It writes ``chern8_hr.dat``, ``chern8_tb.dat`` and ``chern8_centres.xyz`` next to
this script with :mod:`keldysh.io`. The output is deterministic (no random
numbers and no transcendental functions: the generic couplings come from an
integer hash), so running it again reproduces the files byte for byte.

The model (square lattice, a = 1, energies in units of the QWZ hopping)
-----------------------------------------------------------------------
Eight orbitals at three sites of the cell:

- orbitals 0, 1 at tau = (1/4, 1/4): a Qi-Wu-Zhang pair,
  h_QWZ(k) = sin kx sx + sin ky sy + (m + cos kx + cos ky) sz with m = 1
  (bands -|d| in [-3, -1] with Chern number -1 and +|d| in [1, 3] with +1,
  ``keldysh.models.qwz``);
- orbitals 2, 3, 4 at tau = (3/4, 1/4), (1/4, 3/4), (3/4, 3/4): trivial
  s-like levels near -4.6 with nearest-neighbour hopping (a group of bands
  below);
- orbitals 5, 6, 7 at the same three sites: trivial levels near +4.6 (a
  group of bands above).

Every orbital couples to every other one: nearest-neighbour hybridizations of
size 0.1-0.2 between the QWZ pair and the trivial levels, and generic complex
couplings on all 28 cells R with 0 < |R|^2 <= 9 (up to the 6th neighbour,
R = (3, 0)), of size up to 0.03 exp(-(|R| - 1)) (tabulated: down to 0.004 at
|R| = 3). All numbers are rounded to four decimals, which keeps the files
short; the model's hoppings are exactly those rounded numbers.

Spectrum (checked by tests/keldysh/test_io.py): bands 0-2 below -4.0, band 3
(the Chern band, C = -1, adiabatically the QWZ lower band) in about
[-2.8, -0.85], band 4 (C = +1) in about [0.6, 2.8], bands 5-7 above 4.0:
global gaps of about 1.2 on both sides of band 3 and of band 4, 0.6 of the
width of the Chern bands. ``chern8(coupling)`` scales every generic coupling
(``coupling = 0``: QWZ decoupled from the trivial levels), the path along
which the tests follow the gaps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keldysh.io import write_centres, write_hr, write_tb
from keldysh.lattice import TightBinding

HERE = Path(__file__).resolve().parent
NAME = "chern8"
NORBS = 8
M_QWZ = 1.0
SITES = np.array([[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]])
SITE_OF = [0, 0, 1, 2, 3, 1, 2, 3]  # orbital -> site
ONSITE = [0.0, 0.0, -4.6, -4.4, -4.8, 4.6, 4.4, 4.8]  # trivial levels (QWZ pair: m sz below)
NN_HOP = [0.0, 0.0, 0.12, -0.1, 0.08, -0.12, 0.1, -0.08]  # trivial levels: real nearest-neighbour hopping
HYBRID = 0.15  # nearest-neighbour QWZ <-> trivial hybridization scale
LONG = 0.03  # generic coupling scale at |R| = 1
DECAY = {1: 1.0, 2: 0.66, 4: 0.37, 5: 0.29, 8: 0.19, 9: 0.135}  # ~exp(-(|R| - 1)) for |R|^2 = 1 .. 9 (6th neighbour)


def _pseudo(*ints: int) -> float:
    """A fixed number in [-1, 1] with four decimals from integers (integer arithmetic only: the same everywhere)."""
    h = 12345
    for i in ints:
        h = (h * 1000003 + i + 7919) % 2147483647
        h = (h * 48271) % 2147483647
    return (h % 20001 - 10000) / 10000


def _generic(R: tuple[int, int], a: int, b: int, salt: int) -> complex:
    return complex(_pseudo(R[0], R[1], a, b, salt), _pseudo(R[1], R[0], b, a, salt + 100))


def chern8(coupling: float = 1.0) -> TightBinding:
    """The eight-orbital Chern model of this file's docstring, hoppings rounded to 1e-4.

    ``coupling`` multiplies every generic coupling (the nearest-neighbour
    hybridizations, the on-site mixing and all longer-range terms); the file
    holds ``coupling = 1``.
    """
    sx = np.array([[0, 1], [1, 0]], dtype=complex)
    sy = np.array([[0, -1j], [1j, 0]], dtype=complex)
    sz = np.array([[1, 0], [0, -1]], dtype=complex)
    trivial = np.arange(2, NORBS)
    cells = [
        (x, y)
        for x in range(-3, 4)
        for y in range(-3, 4)
        if x * x + y * y in DECAY and (x > 0 or (x == 0 and y > 0))  # one of each pair +-R
    ]
    hop: dict[tuple[int, int], np.ndarray] = {}
    for R in [(0, 0)] + cells:
        base = np.zeros((NORBS, NORBS), dtype=complex)  # QWZ pair and trivial levels
        generic = np.zeros((NORBS, NORBS), dtype=complex)
        if R == (0, 0):
            base[:2, :2] = M_QWZ * sz
            base[trivial, trivial] = ONSITE[2:]
            for a in range(NORBS):
                for b in range(a + 1, NORBS):
                    if (a, b) != (0, 1):  # Hermitian on-site mixing
                        generic[a, b] = HYBRID * _generic(R, a, b, 4)
                        generic[b, a] = np.conj(generic[a, b])
        else:
            for a in range(NORBS):
                for b in range(NORBS):
                    generic[a, b] = LONG * DECAY[R[0] ** 2 + R[1] ** 2] * _generic(R, a, b, 1)
        if R in ((1, 0), (0, 1)):
            base[:2, :2] = 0.5 * sz - 0.5j * (sx if R == (1, 0) else sy)  # QWZ: cos k sz + sin k s
            base[trivial, trivial] = NN_HOP[2:]
            for a in range(2):
                for b in trivial:
                    generic[a, b] += HYBRID * _generic(R, a, b, 2)
                    generic[b, a] += HYBRID * _generic(R, b, a, 3)
        T = base + coupling * generic
        hop[R] = np.round(T.real, 4) + 1j * np.round(T.imag, 4)
    return TightBinding(hop, positions=SITES[SITE_OF])


def main() -> None:
    model = chern8()
    write_hr(model, HERE / f"{NAME}_hr.dat")
    write_tb(model, HERE / f"{NAME}_tb.dat")
    write_centres(model, HERE / f"{NAME}_centres.xyz")


if __name__ == "__main__":
    main()
