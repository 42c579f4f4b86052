"""Model input and output: Wannier90 ``_hr.dat`` / ``_tb.dat`` / ``_centres.xyz`` files, PythTB and TBmodels objects.

Every reader returns, and every writer takes, a :class:`keldysh.lattice.TightBinding`
in the project's convention (``docs/conventions.md``)::

    <r|H|r+R> = T_R,   h_ab(k) = sum_R T_R[a, b] exp(i k.(R + tau_b - tau_a)),

with R integer lattice vectors and tau_a the orbital positions in fractional
coordinates of the lattice vectors ("convention II": the Bloch phases use the
actual orbital positions).

Wannier90 conventions (checked in its source, ``src/hamiltonian.F90`` of
wannier-developers/wannier90)
------------------------------------------------------------------------
- ``hamiltonian_get_hr`` computes ``H(R) = (1/N_k) sum_k exp(-i k.R) H(k)`` from
  the Hamiltonian ``H_mn(k) = <psi_mk|H|psi_nk>`` in the Bloch sums
  ``|psi_nk> = sum_R exp(i k.R) |nR>`` of the Wannier functions, so
  ``H_mn(R) = <m0|H|nR>``: the same as ``T_R[m, n]`` here, with no sign change
  of R (tested on a Wannier90-style Fourier transform of a known h(k)).
- ``hamiltonian_write_hr`` writes ``H(R)`` on the Wigner-Seitz points of the
  k-mesh supercell, each with its degeneracy ``ndegen(R)`` (the number of
  equidistant supercell images); the interpolated Hamiltonian is
  ``sum_R exp(i k.R) H(R) / ndegen(R)``. The readers therefore set
  ``T_R = H(R) / ndegen(R)``; the writers write ``ndegen = 1``.
- Line order: per R, ``num_wann**2`` lines ``R1 R2 R3 m n Re Im`` with the row
  index m running fastest (1-based).
- ``hamiltonian_write_tb`` writes the lattice vectors (rows a1, a2, a3,
  cartesian), ``num_wann``, ``nrpts``, the degeneracies, then one block per R
  (a line ``R1 R2 R3``, then ``m n Re Im``), then one block per R of the
  position matrix ``<m0|r|nR>`` (``m n Re(x) Im(x) Re(y) Im(y) Re(z) Im(z)``).
  The Wannier centres are the diagonal of the position matrix at R = 0.
- ``_centres.xyz``: a count line, a comment line, then one line
  ``X x y z`` per Wannier function (cartesian), then the atoms (ignored here).
- Units: Wannier90 writes energies in eV and lengths in Angstrom. Nothing is
  converted: energies stay in the file's unit, lattice vectors and centres
  stay in the file's length unit, so k is in inverse file lengths (1/Angstrom)
  and a flux per unit cell means the flux through the file's cell. For the
  project's a = 1 units divide the lattice vectors by a (positions are
  fractional and do not change).

What a TightBinding keeps of a Wannier90 model
----------------------------------------------
The hoppings T_R and a diagonal position operator r = R + tau_a: the
tight-binding approximation that the Peierls phases, the Wigner transform and
the convention-II Berry curvature of this project assume. The off-diagonal
position matrix elements ``<m0|r|nR>`` of ``_tb.dat`` are read, checked for
format, and dropped. The ``_wsvec.dat`` refinement of ``use_ws_distance`` is
not applied (read the file written with ``use_ws_distance = false`` or
accept the difference).

Orbital positions and the Berry curvature
-----------------------------------------
A model whose orbitals are all put at the cell origin has the Bloch
Hamiltonian without intra-cell phases ("convention I"; PythTB's and
TBmodels' ``convention 2``). It is unitarily equivalent to the true one at
each k, so band energies and Chern numbers do not change, but the Berry
connection and curvature of a band differ (by the curl of
``sum_a tau_a |u_a(k)|^2``), and so do the Peierls phases in a field, the
Wigner functions and every O(hbar) prediction built on the curvature.
:func:`read_hr` warns when it has to do this.

Lower dimensions
----------------
Wannier90 files are 3D. ``dims=2`` (or 1) reads a model whose hoppings along
the remaining lattice directions vanish (an error names the R that do not);
its in-plane lattice vectors must have no out-of-plane component. A 3D model
becomes a finite 2D slab with :func:`slab`, or is used as a layered bulk
(k_z slices in a field along z) by :mod:`keldysh.layered` directly. The
writers embed a d < 3 model in 3D with the extra lattice vectors the unit
vectors along the extra axes and no hopping along them.

Round trip
----------
The writers print every number with the shortest decimal form that reads
back to the same double (Python's ``repr``), so ``read_hr(write_hr(m))`` has
bit-identical hoppings, and so does ``read_tb(write_tb(m))`` with
bit-identical lattice vectors; positions pass through cartesian coordinates
(``tau_cart = tau @ A`` and back), exact up to rounding (~1e-16 relative).
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .lattice import TightBinding

__all__ = [
    "from_pythtb",
    "from_tbmodels",
    "read_centres",
    "read_hr",
    "read_tb",
    "slab",
    "to_pythtb",
    "to_tbmodels",
    "write_centres",
    "write_hr",
    "write_tb",
]

PathLike = str | os.PathLike

_HERMITIAN_ATOL = 1e-12  # the tolerance of TightBinding's own hermiticity check
_HR_FIELDS = ("R1", "R2", "R3", "m", "n", "Re", "Im")
_TB_H_FIELDS = ("m", "n", "Re", "Im")
_TB_R_FIELDS = ("R1", "R2", "R3")
_TB_POS_FIELDS = ("m", "n", "Re(x)", "Im(x)", "Re(y)", "Im(y)", "Re(z)", "Im(z)")
_XYZ_FIELDS = ("symbol", "x", "y", "z")


# ----------------------------------------------------------------------------
# Line-numbered reading
# ----------------------------------------------------------------------------


class _Source:
    """The non-blank lines of a text file after its first (header) line, with their 1-based line numbers."""

    def __init__(self, path: PathLike) -> None:
        self.name = os.fspath(path)
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        if not lines:
            raise ValueError(f"{self.name}: the file is empty")
        self.header = lines[0]
        body = [(i + 2, t) for i, t in enumerate(lines[1:]) if t.strip()]
        self.numbers = [n for n, _ in body]
        self.texts = [t for _, t in body]
        self.last = len(lines)
        self.pos = 0

    def error(self, line: int, message: str) -> ValueError:
        return ValueError(f"{self.name} line {line}: {message}")

    def take(self, count: int, what: str) -> tuple[list[int], list[str]]:
        """The next ``count`` non-blank lines; a clear error if the file ends first."""
        stop = self.pos + count
        if stop > len(self.texts):
            found = len(self.texts) - self.pos
            raise ValueError(
                f"{self.name}: the file ends at line {self.last} but {count} line(s) of {what} are "
                f"expected from here on, found {found} (truncated file, or a wrong count in the header?)"
            )
        out = self.numbers[self.pos : stop], self.texts[self.pos : stop]
        self.pos = stop
        return out

    def done(self) -> None:
        if self.pos < len(self.texts):
            line = self.numbers[self.pos]
            raise self.error(
                line,
                f"unexpected extra content {self.texts[self.pos].strip()[:60]!r} after the last expected "
                "entry (do num_wann and nrpts in the header match the data?)",
            )

    def table(
        self, numbers: Sequence[int], texts: Sequence[str], names: Sequence[str], integers: int = 0
    ) -> NDArray[np.float64]:
        """Parse lines of ``len(names)`` numeric fields; the first ``integers`` fields must be integers."""
        rows = [t.split() for t in texts]
        for line, row in zip(numbers, rows):
            if len(row) != len(names):
                fields = "field" if len(names) == 1 else "fields"
                raise self.error(line, f"expected {len(names)} {fields} ({' '.join(names)}), got {len(row)}")
        if not rows:
            return np.zeros((0, len(names)))
        try:
            arr = np.array(rows, dtype=float)
        except ValueError:
            arr = None
        if arr is None or not np.all(np.isfinite(arr)):
            for line, row in zip(numbers, rows):
                for j, tok in enumerate(row):
                    try:
                        ok = np.isfinite(float(tok))
                    except ValueError:
                        ok = False
                    if not ok:
                        raise self.error(line, f"field {j + 1} ({names[j]}) is {tok!r}, not a finite number")
        if integers:
            head = arr[:, :integers]
            bad = np.argwhere((head != np.round(head)) | (np.abs(head) > 2**31))
            if bad.size:
                i, j = bad[0]
                raise self.error(numbers[i], f"field {j + 1} ({names[j]}) is {rows[i][j]!r}, expected an integer")
        return arr

    def count(self, what: str) -> int:
        """A line holding one positive integer (num_wann, nrpts)."""
        (line,), (text,) = self.take(1, what)
        value = int(self.table([line], [text], (what,), integers=1)[0, 0])
        if value < 1:
            raise self.error(line, f"{what} must be a positive integer, got {value}")
        return value

    def degeneracies(self, nrpts: int, nrpts_line: int) -> NDArray[np.int_]:
        """The ``nrpts`` Wigner-Seitz degeneracies, any number per line (Wannier90 writes 15)."""
        out: list[int] = []
        while len(out) < nrpts:
            (line,), (text,) = self.take(1, f"degeneracies ({nrpts - len(out)} more of nrpts = {nrpts})")
            toks = text.split()
            if len(out) + len(toks) > nrpts:
                raise self.error(
                    line,
                    f"{len(toks)} fields would bring the degeneracy list to {len(out) + len(toks)} entries, "
                    f"but nrpts = {nrpts} (line {nrpts_line})",
                )
            for j, tok in enumerate(toks):
                try:
                    value = int(tok)
                except ValueError:
                    raise self.error(
                        line,
                        f"field {j + 1} (degeneracy {len(out) + 1} of nrpts = {nrpts}, line {nrpts_line}) is "
                        f"{tok!r}, expected a positive integer (is nrpts too large?)",
                    ) from None
                if value < 1:
                    raise self.error(line, f"field {j + 1} (degeneracy) is {value}, expected a positive integer")
                out.append(value)
        return np.array(out, dtype=int)


def _vec(r: ArrayLike) -> tuple[int, ...]:
    return tuple(int(x) for x in np.asarray(r).ravel())


def _fill_blocks(
    src: _Source,
    numbers: Sequence[int],
    R_rows: NDArray[np.float64],
    mn: NDArray[np.float64],
    num_wann: int,
    nrpts: int,
    num_wann_line: int,
) -> tuple[NDArray[np.int_], NDArray[np.int_], NDArray[np.int_]]:
    """Check the block structure of Wannier90 matrix data and return (R per block, row index, column index).

    ``numbers`` are the line numbers of the ``nrpts * num_wann**2`` entries, ``R_rows``
    their R (one row per entry) and ``mn`` their 1-based (m, n). Each block of
    ``num_wann**2`` consecutive entries must share one R and hold every (m, n) once;
    the R of different blocks must differ. Returns R (nrpts, 3) and the 0-based
    m, n arrays of shape (nrpts, num_wann**2).
    """
    n2 = num_wann * num_wann
    lines = np.asarray(numbers).reshape(nrpts, n2)
    R_all = R_rows.astype(int).reshape(nrpts, n2, 3)
    R = R_all[:, 0, :]
    bad = np.argwhere(np.any(R_all != R[:, None, :], axis=-1))
    if bad.size:
        b, i = bad[0]
        raise src.error(
            int(lines[b, i]),
            f"R = {_vec(R_all[b, i])} differs from R = {_vec(R[b])} of its block (lines {lines[b, 0]}-"
            f"{lines[b, -1]}): each R has num_wann**2 = {n2} entries (num_wann = {num_wann}, line {num_wann_line})",
        )
    m = mn[:, 0].astype(int).reshape(nrpts, n2)
    n = mn[:, 1].astype(int).reshape(nrpts, n2)
    for name, idx in (("m", m), ("n", n)):
        bad = np.argwhere((idx < 1) | (idx > num_wann))
        if bad.size:
            b, i = bad[0]
            raise src.error(
                int(lines[b, i]),
                f"orbital index {name} = {idx[b, i]} is outside 1..num_wann = {num_wann} (line {num_wann_line})",
            )
    code = (m - 1) * num_wann + (n - 1)
    order = np.argsort(code, axis=1, kind="stable")
    sorted_code = np.take_along_axis(code, order, axis=1)
    bad = np.argwhere(sorted_code[:, 1:] == sorted_code[:, :-1])
    if bad.size:
        b, i = bad[0]
        first, second = lines[b, order[b, i]], lines[b, order[b, i + 1]]
        raise src.error(
            int(second),
            f"entry (m, n) = ({m[b, order[b, i + 1]]}, {n[b, order[b, i + 1]]}) of R = {_vec(R[b])} "
            f"appears twice (also line {first})",
        )
    seen: dict[tuple[int, ...], int] = {}
    for b in range(nrpts):
        key = _vec(R[b])
        if key in seen:
            raise src.error(int(lines[b, 0]), f"R = {key} appears twice (first block at line {seen[key]})")
        seen[key] = int(lines[b, 0])
    return R, m - 1, n - 1


def _hermitian_check(
    src: _Source, R: NDArray[np.int_], T: NDArray[np.complex128], lines: NDArray[np.int_], ndegen: NDArray[np.int_]
) -> None:
    """Every R needs its partner -R with T_{-R} = T_R^dagger (a literal Wannier90 sum is Hermitian only then)."""
    index = {tuple(int(x) for x in r): b for b, r in enumerate(R)}
    for b, r in enumerate(R):
        key = tuple(int(x) for x in r)
        partner = index.get(tuple(-x for x in key))
        if partner is None:
            raise ValueError(
                f"{src.name}: R = {key} (lines {lines[b].min()}-{lines[b].max()}) has no partner -R = "
                f"{tuple(-x for x in key)}; a Wannier90 file lists both, and h(k) = sum_R exp(ik.R) T_R "
                "is not Hermitian without it"
            )
        diff = np.abs(T[b] - T[partner].conj().T)
        if diff.max() > _HERMITIAN_ATOL:
            i, j = np.unravel_index(np.argmax(diff), diff.shape)
            deg = f"; degeneracies {ndegen[b]} and {ndegen[partner]}" if ndegen[b] != ndegen[partner] else ""
            raise ValueError(
                f"{src.name}: non-Hermitian hoppings: T_R[m, n] = {complex(T[b, i, j])!r} (R = {key}, m = {i + 1}, "
                f"n = {j + 1}, line {lines[b, i, j]}) but conj(T_-R[n, m]) = {complex(np.conj(T[partner, j, i]))!r} "
                f"(line {lines[partner, j, i]}){deg}; they differ by {diff[i, j]:.3g} > {_HERMITIAN_ATOL:g}"
            )


# ----------------------------------------------------------------------------
# Geometry helpers
# ----------------------------------------------------------------------------


def _lattice3(lattice_vectors: ArrayLike | None, dims: int) -> NDArray[np.float64]:
    """A 3 x 3 lattice from None (identity), a (3, 3) array, or a (dims, dims) array embedded block-diagonally."""
    if lattice_vectors is None:
        return np.eye(3)
    a = np.asarray(lattice_vectors, dtype=float)
    if a.shape == (3, 3):
        return a
    if a.shape == (dims, dims):
        out = np.eye(3)
        out[:dims, :dims] = a
        return out
    raise ValueError(f"lattice_vectors must have shape (3, 3) or (dims, dims) = {(dims, dims)}, got {a.shape}")


def _check_dims(dims: int) -> None:
    if dims not in (1, 2, 3):
        raise ValueError(f"dims must be 1, 2 or 3, got {dims!r}")


def _reduce(
    name: str,
    R: NDArray[np.int_],
    T: NDArray[np.complex128],
    lattice: NDArray[np.float64],
    centres: NDArray[np.float64] | None,
    dims: int,
) -> tuple[dict[tuple[int, ...], NDArray[np.complex128]], NDArray[np.float64], NDArray[np.float64] | None]:
    """Hoppings, lattice vectors and fractional positions of the dims-dimensional model (module docstring)."""
    if abs(np.linalg.det(lattice)) < 1e-12 * max(1.0, np.abs(lattice).max()) ** 3:
        raise ValueError(f"{name}: the lattice vectors {lattice.tolist()} are linearly dependent")
    if dims < 3:
        out_of_plane = np.any(R[:, dims:] != 0, axis=1)
        carrying = out_of_plane & np.any(T != 0, axis=(1, 2))
        if carrying.any():
            vecs = [tuple(int(x) for x in r) for r in R[carrying]]
            shown = ", ".join(str(v) for v in vecs[:8]) + (f" and {len(vecs) - 8} more" if len(vecs) > 8 else "")
            raise ValueError(
                f"{name}: dims={dims} needs a model without hopping along lattice direction(s) "
                f"{', '.join(f'a{i + 1}' for i in range(dims, 3))}, but T_R is nonzero for R = {shown}; read it "
                "with dims=3 and use keldysh.io.slab (a finite slab) or keldysh.layered (the layered bulk)"
            )
        scale = np.abs(lattice).max()
        tilted = np.abs(lattice[:dims, dims:]) > 1e-12 * scale
        if tilted.any():
            i = int(np.argwhere(tilted)[0, 0])
            raise ValueError(
                f"{name}: dims={dims} needs the lattice vectors a1..a{dims} inside the first {dims} cartesian "
                f"axes, but a{i + 1} = {lattice[i].tolist()}"
            )
        R, T = R[~out_of_plane], T[~out_of_plane]
    hoppings = {tuple(int(x) for x in r[:dims]): t for r, t in zip(R, T)}
    a = lattice[:dims, :dims]
    positions = None if centres is None else np.linalg.solve(a.T, centres[:, :dims].T).T
    return hoppings, a, positions


def _embed(
    model: TightBinding,
) -> tuple[NDArray[np.int_], NDArray[np.complex128], NDArray[np.float64], NDArray[np.float64]]:
    """(R padded to 3 components and sorted, T_R, 3 x 3 lattice, cartesian centres (N, 3)) of a model of dim <= 3."""
    if not isinstance(model, TightBinding):
        raise TypeError(f"need a keldysh TightBinding, got {type(model).__name__}")
    d = model.dim
    if d > 3:
        raise ValueError(f"Wannier90 files hold models of dimension <= 3, got dim={d}")
    keys = sorted(model.hoppings)
    R = np.zeros((len(keys), 3), dtype=int)
    R[:, :d] = np.array(keys, dtype=int).reshape(len(keys), d)
    T = np.array([model.hoppings[k] for k in keys], dtype=complex)
    lattice = np.eye(3)
    lattice[:d, :d] = model.lattice_vectors
    centres = np.zeros((model.norbs, 3))
    centres[:, :d] = model.positions @ model.lattice_vectors
    return R, T, lattice, centres


def _num(x: float) -> str:
    """Shortest decimal that reads back to the same double."""
    return repr(float(x))


def _degeneracy_lines(nrpts: int) -> list[str]:
    return ["    1" * min(15, nrpts - i) for i in range(0, nrpts, 15)]


# ----------------------------------------------------------------------------
# Readers
# ----------------------------------------------------------------------------


def read_centres(path: PathLike) -> NDArray[np.float64]:
    """Wannier centres from a Wannier90 ``seedname_centres.xyz`` file.

    Parameters
    ----------
    path
        The ``.xyz`` file: a count line (Wannier functions plus atoms), a comment
        line, one line ``X x y z`` per Wannier function, then one line per atom
        (``symbol x y z``; atoms are skipped).

    Returns
    -------
    ndarray, shape (N, 3)
        Cartesian centres in the file's length unit (Angstrom for Wannier90),
        in file order.

    Raises
    ------
    ValueError
        Malformed file (the message names the line and field), a count that
        disagrees with the lines, or no ``X`` line.
    """
    src = _Source(path)
    head = src.header.split()
    if len(head) != 1 or not head[0].isdigit() or int(head[0]) < 1:
        raise ValueError(
            f"{src.name} line 1: expected the number of entries (one positive integer), got {src.header!r}"
        )
    total = int(head[0])
    if src.numbers and src.numbers[0] == 2:  # the comment line (may also be blank)
        src.pos = 1
    numbers, texts = src.take(total, "centres and atoms (symbol x y z)")
    src.done()
    kinds = [t.split()[0] for t in texts]
    rows = [" ".join(["0"] + t.split()[1:]) for t in texts]
    arr = src.table(numbers, rows, _XYZ_FIELDS)
    wannier = [i for i, k in enumerate(kinds) if k == "X"]
    if not wannier:
        raise ValueError(f"{src.name}: no Wannier centre (no line starting with 'X')")
    if wannier != list(range(len(wannier))):
        i = next(i for i, w in enumerate(wannier) if w != i)
        raise src.error(
            numbers[wannier[i]], "a Wannier centre ('X') after an atom line: Wannier90 writes the centres first"
        )
    return arr[wannier, 1:]


def read_hr(
    path: PathLike,
    positions: ArrayLike | None = None,
    lattice_vectors: ArrayLike | None = None,
    dims: int = 3,
    centres: PathLike | None = None,
) -> TightBinding:
    """A tight-binding model from a Wannier90 ``seedname_hr.dat`` file.

    The file (Wannier90 ``hamiltonian_write_hr``): a header line, ``num_wann``,
    ``nrpts``, the ``nrpts`` Wigner-Seitz degeneracies ``ndegen`` (15 per line),
    then ``nrpts * num_wann**2`` lines ``R1 R2 R3 m n Re(H_mn(R)) Im(H_mn(R))``
    with ``H_mn(R) = <m0|H|nR>`` (1-based m, n; blocks of one R). The model is
    ``T_R[m-1, n-1] = H_mn(R) / ndegen(R)`` in the ``<r|H|r+R> = T_R``
    convention (no sign change of R; module docstring).

    Parameters
    ----------
    path
        The ``_hr.dat`` file.
    positions
        Orbital positions, fractional coordinates of the returned model's lattice
        vectors, shape (N, dims). Mutually exclusive with ``centres``.
    lattice_vectors
        Rows a1, a2, a3 in the file's length unit (Angstrom for Wannier90),
        shape (3, 3) or (dims, dims). Default: the identity (a = 1 cubic/square
        lattice). Required with ``centres``.
    dims
        Dimension of the returned model (1, 2 or 3). Below 3, no hopping may
        run along a_{dims+1}..a3 (ValueError naming the R otherwise).
    centres
        A ``_centres.xyz`` file (cartesian centres, :func:`read_centres`), converted
        to fractional positions with ``lattice_vectors``. Use the centres that label
        the hoppings' R (Wannier90 without ``translate_home_cell``).

    Returns
    -------
    TightBinding
        Energies in the file's unit (eV for Wannier90).

    Warns
    -----
    UserWarning
        Neither ``positions`` nor ``centres`` given: all orbitals sit at the cell
        origin, so h(k) is the convention-I Bloch Hamiltonian: band energies and
        Chern numbers are right, the Berry curvature and every field-dependent
        quantity are those of a model with the orbitals at the lattice points.

    Raises
    ------
    ValueError
        Malformed file (the message names the path, line and field), missing
        -R partners, non-Hermitian hoppings (R, m, n and both lines named), or
        hopping along a direction dropped by ``dims``.
    """
    _check_dims(dims)
    if positions is not None and centres is not None:
        raise ValueError(
            "give orbital positions either as positions= (fractional) or as centres= (a .xyz file), not both"
        )
    if centres is not None and lattice_vectors is None:
        raise ValueError(
            "centres= holds cartesian centres: give lattice_vectors (rows a1, a2, a3 in the same length unit, "
            "Angstrom for Wannier90) to convert them to fractional positions"
        )
    src = _Source(path)
    num_wann = src.count("num_wann")
    num_wann_line = src.numbers[src.pos - 1]
    nrpts = src.count("nrpts")
    ndegen = src.degeneracies(nrpts, src.numbers[src.pos - 1])
    n2 = num_wann * num_wann
    numbers, texts = src.take(
        nrpts * n2, f"hopping entries ({' '.join(_HR_FIELDS)}; nrpts * num_wann**2 = {nrpts} * {n2})"
    )
    arr = src.table(numbers, texts, _HR_FIELDS, integers=5)
    R, m, n = _fill_blocks(src, numbers, arr[:, :3], arr[:, 3:5], num_wann, nrpts, num_wann_line)
    src.done()
    T = np.zeros((nrpts, num_wann, num_wann), dtype=complex)
    lines = np.zeros((nrpts, num_wann, num_wann), dtype=int)
    b = np.repeat(np.arange(nrpts), n2).reshape(nrpts, n2)
    T[b, m, n] = (arr[:, 5] + 1j * arr[:, 6]).reshape(nrpts, n2)
    lines[b, m, n] = np.asarray(numbers).reshape(nrpts, n2)
    T /= ndegen[:, None, None]
    _hermitian_check(src, R, T, lines, ndegen)

    lattice = _lattice3(lattice_vectors, dims)
    cart = None
    if centres is not None:
        cart = read_centres(centres)
        if cart.shape[0] != num_wann:
            raise ValueError(
                f"{os.fspath(centres)} has {cart.shape[0]} Wannier centres but {src.name} has num_wann = {num_wann}"
            )
    hoppings, a, frac = _reduce(src.name, R, T, lattice, cart, dims)
    if positions is not None:
        frac = np.asarray(positions, dtype=float)
        if frac.shape != (num_wann, dims):
            raise ValueError(f"positions must have shape (num_wann, dims) = {(num_wann, dims)}, got {frac.shape}")
    if frac is None:
        warnings.warn(
            f"{src.name}: no orbital positions (positions= or centres=): all {num_wann} orbitals are put at the "
            "cell origin. h(k) is then the convention-I Bloch Hamiltonian (no intra-cell phases): band energies "
            "and Chern numbers are unchanged, but the Berry curvature differs from the true (convention II) one "
            "by the curl of sum_a tau_a |u_a(k)|^2, and Peierls phases, Wigner functions and curvature-based "
            "predictions are those of a model with every orbital on a lattice point.",
            UserWarning,
            stacklevel=2,
        )
    return TightBinding(hoppings, positions=frac, lattice_vectors=a)


def read_tb(path: PathLike, dims: int = 3) -> TightBinding:
    """A tight-binding model from a Wannier90 ``seedname_tb.dat`` file.

    The file (Wannier90 ``hamiltonian_write_tb``): a header line, the lattice
    vectors a1, a2, a3 (one per line, cartesian, Angstrom), ``num_wann``,
    ``nrpts``, the degeneracies, then for each R a line ``R1 R2 R3`` and
    ``num_wann**2`` lines ``m n Re(H_mn(R)) Im(H_mn(R))``, then for each R a line
    ``R1 R2 R3`` and ``num_wann**2`` lines ``m n`` and the real and imaginary parts
    of ``<m0|x|nR>, <m0|y|nR>, <m0|z|nR>``. ``T_R = H(R) / ndegen(R)`` as in
    :func:`read_hr`; the orbital positions are the Wannier centres, the real
    diagonal of the position matrix at R = 0 (divided by its degeneracy),
    converted to fractional coordinates. The off-diagonal position matrix
    elements are dropped (module docstring).

    Parameters
    ----------
    path
        The ``_tb.dat`` file.
    dims
        Dimension of the returned model (1, 2 or 3), as in :func:`read_hr`.

    Returns
    -------
    TightBinding
        Lattice vectors in the file's length unit, energies in its energy unit.

    Raises
    ------
    ValueError
        As :func:`read_hr`; also when the position blocks do not list the same R
        as the Hamiltonian blocks, or a centre has an imaginary part.
    """
    _check_dims(dims)
    src = _Source(path)
    numbers, texts = src.take(3, "lattice vectors (a1, a2, a3, one per line)")
    lattice = src.table(numbers, texts, ("x", "y", "z"))
    num_wann = src.count("num_wann")
    num_wann_line = src.numbers[src.pos - 1]
    nrpts = src.count("nrpts")
    ndegen = src.degeneracies(nrpts, src.numbers[src.pos - 1])
    n2 = num_wann * num_wann

    def section(
        names: Sequence[str], what: str
    ) -> tuple[NDArray[np.int_], NDArray[np.float64], NDArray[np.int_], NDArray[np.int_], NDArray[np.int_]]:
        numbers, texts = src.take(
            nrpts * (n2 + 1), f"{what} ({nrpts} blocks of a line R1 R2 R3 and {n2} lines {' '.join(names)})"
        )
        numbers = np.asarray(numbers).reshape(nrpts, n2 + 1)
        texts = np.asarray(texts, dtype=object).reshape(nrpts, n2 + 1)
        R_rows = src.table(numbers[:, 0].tolist(), texts[:, 0].tolist(), _TB_R_FIELDS, integers=3)
        entries = src.table(numbers[:, 1:].ravel().tolist(), texts[:, 1:].ravel().tolist(), names, integers=2)
        R, m, n = _fill_blocks(
            src,
            numbers[:, 1:].ravel().tolist(),
            np.repeat(R_rows, n2, axis=0),
            entries[:, :2],
            num_wann,
            nrpts,
            num_wann_line,
        )
        return R, entries[:, 2:].reshape(nrpts, n2, -1), m, n, numbers[:, 1:]

    R, values, m, n, h_lines = section(_TB_H_FIELDS, "Hamiltonian blocks")
    b = np.repeat(np.arange(nrpts), n2).reshape(nrpts, n2)
    T = np.zeros((nrpts, num_wann, num_wann), dtype=complex)
    lines = np.zeros((nrpts, num_wann, num_wann), dtype=int)
    T[b, m, n] = values[..., 0] + 1j * values[..., 1]
    lines[b, m, n] = h_lines
    T /= ndegen[:, None, None]

    R_pos, pos_values, m_pos, n_pos, pos_lines = section(_TB_POS_FIELDS, "position-matrix blocks")
    src.done()
    if sorted(map(tuple, R_pos.tolist())) != sorted(map(tuple, R.tolist())):
        raise ValueError(f"{src.name}: the position-matrix blocks list other R vectors than the Hamiltonian blocks")
    zero = np.flatnonzero(~np.any(R_pos != 0, axis=1))
    if zero.size == 0:
        raise ValueError(f"{src.name}: no R = (0, 0, 0) block: the Wannier centres cannot be read")
    z = int(zero[0])
    diag = m_pos[z] == n_pos[z]
    order = np.argsort(m_pos[z][diag])
    cplx = pos_values[z][diag][order]  # (N, 6): Re x, Im x, Re y, Im y, Re z, Im z
    imag = np.abs(cplx[:, 1::2])
    if imag.max() > 1e-8 * max(1.0, np.abs(cplx).max()):
        i = int(np.argmax(imag.max(axis=1)))
        raise src.error(
            int(pos_lines[z][diag][order][i]), f"the centre of orbital {i + 1} has an imaginary part {imag[i].tolist()}"
        )
    deg0 = ndegen[int(np.flatnonzero(~np.any(R != 0, axis=1))[0])]
    cart = cplx[:, 0::2] / deg0
    _hermitian_check(src, R, T, lines, ndegen)
    hoppings, a, frac = _reduce(src.name, R, T, lattice, cart, dims)
    return TightBinding(hoppings, positions=frac, lattice_vectors=a)


# ----------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------


def write_hr(model: TightBinding, path: PathLike) -> None:
    """Write a model as a Wannier90 ``seedname_hr.dat`` file.

    Layout as Wannier90's (:func:`read_hr`): every R of ``model.hoppings``
    (both members of each Hermitian pair, sorted), ``ndegen = 1``, entries
    ``R1 R2 R3 m n Re Im`` with ``Re + i Im = T_R[m-1, n-1] = <m0|H|nR>``, m
    fastest. Numbers are printed with the shortest decimal form that reads back
    to the same double, so :func:`read_hr` recovers the hoppings bit for bit.
    A model of dimension d < 3 is written with zero R components along the
    extra axes.

    The ``_hr.dat`` format holds no positions and no lattice vectors: write them
    with :func:`write_centres` (and keep the lattice vectors), or use
    :func:`write_tb`.

    Parameters
    ----------
    model
        Tight-binding model of dimension 1, 2 or 3 (energies written as they are).
    path
        Output file (overwritten).
    """
    R, T, _, _ = _embed(model)
    n = model.norbs
    out = [
        f" written by keldysh.io.write_hr: H_mn(R) = <m0|H|nR> = T_R[m, n], {n} orbitals, {len(R)} R vectors",
        f"{n:12d}",
        f"{len(R):12d}",
        *_degeneracy_lines(len(R)),
    ]
    for r, t in zip(R, T):
        head = f" {r[0]:4d} {r[1]:4d} {r[2]:4d}"
        for b in range(n):
            for a in range(n):
                out.append(f"{head} {a + 1:4d} {b + 1:4d}  {_num(t[a, b].real)} {_num(t[a, b].imag)}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def write_tb(model: TightBinding, path: PathLike) -> None:
    """Write a model as a Wannier90 ``seedname_tb.dat`` file.

    Layout as Wannier90's (:func:`read_tb`): the lattice vectors (rows, in the
    model's length unit), ``num_wann``, ``nrpts``, ``ndegen = 1``, the
    Hamiltonian blocks ``<m0|H|nR> = T_R[m-1, n-1]``, then the position-matrix
    blocks of a diagonal position operator: ``<m0|r|m0>`` = the cartesian orbital
    position ``tau_m @ A`` at R = 0 and zero everywhere else. Numbers as in
    :func:`write_hr` (exact round trip of hoppings and lattice vectors;
    positions exact up to the cartesian conversion). A model of dimension
    d < 3 is embedded in 3D (module docstring).

    Parameters
    ----------
    model
        Tight-binding model of dimension 1, 2 or 3.
    path
        Output file (overwritten).
    """
    R, T, lattice, centres = _embed(model)
    n = model.norbs
    out = [f" written by keldysh.io.write_tb: H_mn(R) = <m0|H|nR> = T_R[m, n], {n} orbitals, {len(R)} R vectors"]
    out += [" " + " ".join(_num(x) for x in row) for row in lattice]
    out += [f"{n:12d}", f"{len(R):12d}", *_degeneracy_lines(len(R))]
    for r, t in zip(R, T):
        out += ["", f" {r[0]:4d} {r[1]:4d} {r[2]:4d}"]
        for b in range(n):
            for a in range(n):
                out.append(f" {a + 1:4d} {b + 1:4d}   {_num(t[a, b].real)} {_num(t[a, b].imag)}")
    for r in R:
        out += ["", f" {r[0]:4d} {r[1]:4d} {r[2]:4d}"]
        at_origin = not r.any()
        for b in range(n):
            for a in range(n):
                xyz = centres[a] if (at_origin and a == b) else np.zeros(3)
                out.append(f" {a + 1:4d} {b + 1:4d}   " + " ".join(f"{_num(x)} 0.0" for x in xyz))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def write_centres(model: TightBinding, path: PathLike) -> None:
    """Write the orbital positions as a Wannier90 ``seedname_centres.xyz`` file.

    One line ``X x y z`` per orbital with its cartesian position ``tau @ A`` in
    the model's length unit (zero along the axes a d < 3 model lacks), no atoms.
    :func:`read_hr` with ``centres=`` and the model's lattice vectors reads them
    back.

    Parameters
    ----------
    model
        Tight-binding model of dimension 1, 2 or 3.
    path
        Output file (overwritten).
    """
    _, _, _, centres = _embed(model)
    out = [f"{model.norbs:6d}", " Wannier centres (cartesian), written by keldysh.io.write_centres"]
    out += ["X " + " ".join(_num(x) for x in c) for c in centres]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


# ----------------------------------------------------------------------------
# Slabs of 3D models
# ----------------------------------------------------------------------------


def slab(model: TightBinding, layers: int) -> TightBinding:
    """A finite slab of ``layers`` unit cells of a 3D model along a3, as a 2D model.

    Orbital ``l * N + a`` is orbital a of layer l = 0..layers-1 (cell l a3). The
    slab's hoppings are ``T2D_{(R1, R2)}[l N + a, l' N + b] = T_{(R1, R2, l' - l)}[a, b]``
    (open boundaries: hoppings that leave the slab are dropped). Its lattice
    vectors are the xy parts of a1, a2, and each orbital keeps the in-plane
    projection of its position ``tau_a @ A + l a3`` (a field along z sees only
    that projection). For the bulk of a layered model in a field along z use
    :mod:`keldysh.layered` instead (k_z slices).

    Parameters
    ----------
    model
        3D model with a1 and a2 in the xy plane (a3 may be tilted).
    layers
        Number of unit cells along a3, >= 1.

    Returns
    -------
    TightBinding
        2D model with ``layers * N`` orbitals, energies and lengths in the
        model's units.

    Raises
    ------
    ValueError
        Not a 3D model, a1 or a2 out of the xy plane, or layers < 1.
    """
    if not isinstance(model, TightBinding):
        raise TypeError(f"need a keldysh TightBinding, got {type(model).__name__}")
    if model.dim != 3:
        raise ValueError(f"slab needs a 3D model, got dim={model.dim}")
    if int(layers) != layers or layers < 1:
        raise ValueError(f"layers must be a positive integer, got {layers!r}")
    layers = int(layers)
    A = model.lattice_vectors
    if np.any(np.abs(A[:2, 2]) > 1e-12 * np.abs(A).max()):
        raise ValueError(f"slab needs a1 and a2 in the xy plane, got a1 = {A[0].tolist()}, a2 = {A[1].tolist()}")
    n = model.norbs
    hop: dict[tuple[int, int], np.ndarray] = {}
    for R, T in model.hoppings.items():
        dl = R[2]
        if abs(dl) >= layers:
            continue
        block = hop.setdefault((R[0], R[1]), np.zeros((layers * n, layers * n), dtype=complex))
        for l in range(max(0, -dl), min(layers, layers - dl)):
            block[l * n : (l + 1) * n, (l + dl) * n : (l + dl + 1) * n] += T
    cart = (model.positions @ A)[None, :, :2] + np.arange(layers)[:, None, None] * A[2, :2]
    positions = np.linalg.solve(A[:2, :2].T, cart.reshape(-1, 2).T).T
    return TightBinding(hop, positions=positions, lattice_vectors=A[:2, :2])


# ----------------------------------------------------------------------------
# PythTB and TBmodels adapters (optional peers)
# ----------------------------------------------------------------------------


def _peer(name: str, caller: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"keldysh.io.{caller} needs the optional package {name!r}, which is not installed: "
            f"pip install 'keldysh-validation[peers]' (or pip install {name})"
        ) from exc


def _accumulate(
    terms: Sequence[tuple[tuple[int, ...], int, int, Any]], size: int, block: int
) -> dict[tuple[int, ...], np.ndarray]:
    """{R: T_R} from terms (R, i, j, amplitude block) each adding amp at (i, j, R) and its conjugate at (j, i, -R)."""
    hop: dict[tuple[int, ...], np.ndarray] = {}
    for R, i, j, amp in terms:
        amp = np.asarray(amp, dtype=complex).reshape(block, block)
        mR = tuple(-x for x in R)
        for key in (R, mR):
            hop.setdefault(key, np.zeros((size, size), dtype=complex))
        hop[R][i * block : (i + 1) * block, j * block : (j + 1) * block] += amp
        hop[mR][j * block : (j + 1) * block, i * block : (i + 1) * block] += amp.conj().T
    return hop


def from_pythtb(model: Any) -> TightBinding:
    """A TightBinding from a PythTB ``tb_model``.

    PythTB (checked in pythtb 1.8 ``tb_model.set_hop`` / ``_gen_ham``) stores one
    member of each Hermitian pair: a hopping ``[t, i, j, R]`` means
    ``H_ij(R) = <phi_0i|H|phi_Rj> = t`` and adds its conjugate at (j, i, -R); the
    on-site energies are separate. Orbital positions and k are in reduced
    coordinates and ``_gen_ham`` uses the actual positions (PythTB's
    "convention 1" = this project's convention II). So ``T_R[i, j] += t``,
    ``T_{-R}[j, i] += conj(t)``, ``T_0[i, i] += e_i``; the result has
    ``h(k_cart) == model._gen_ham(k_cart @ A.T / (2 pi))``.

    Spinful models (``nspin=2``) become 2N orbitals, orbital ``2 i + s``. A model
    with finite directions (``dim_k < dim_r``) keeps its periodic directions;
    their lattice vectors must lie in their own cartesian axes, orthogonal to
    the finite ones (PythTB's phases use reduced coordinates only).

    Parameters
    ----------
    model
        ``pythtb.tb_model`` with ``dim_k >= 1``.

    Returns
    -------
    TightBinding
        Same energies and length unit as the PythTB model.

    Raises
    ------
    ImportError
        PythTB is not installed.
    TypeError, ValueError
        Not a ``tb_model``, no periodic direction, or periodic lattice vectors mixed with finite ones.
    """
    pythtb = _peer("pythtb", "from_pythtb")
    if not isinstance(model, pythtb.tb_model):
        raise TypeError(f"need a pythtb.tb_model, got {type(model).__name__}")
    per = list(model._per)
    if not per:
        raise ValueError("a PythTB model without periodic directions (dim_k = 0) has no Bloch Hamiltonian")
    fin = [i for i in range(model._dim_r) if i not in per]
    lat = np.asarray(model._lat, dtype=float)
    if fin and (np.any(lat[np.ix_(per, fin)] != 0) or np.any(lat[np.ix_(fin, per)] != 0)):
        raise ValueError(
            f"the periodic lattice vectors {lat[per].tolist()} mix with the finite directions {fin}: PythTB's "
            "phases use reduced coordinates only, which matches cartesian geometry only for orthogonal blocks"
        )
    block = 2 if model._nspin == 2 else 1
    size = model._norb * block
    # On-site blocks e_i are Hermitian: half of each plus its conjugate partner gives e_i.
    terms = [((0,) * len(per), i, i, 0.5 * np.asarray(e)) for i, e in enumerate(model._site_energies)]
    terms += [(tuple(round(float(x)) for x in np.asarray(h[3])[per]), h[1], h[2], h[0]) for h in model._hoppings]
    hop = _accumulate(terms, size, block)
    positions = np.repeat(np.asarray(model._orb, dtype=float)[:, per], block, axis=0)
    return TightBinding(hop, positions=positions, lattice_vectors=lat[np.ix_(per, per)])


def to_pythtb(model: TightBinding) -> Any:
    """A PythTB ``tb_model`` (spinless, ``dim_k = dim_r = d``) with the same h(k).

    On-site energies from the diagonal of T_0, one ``set_hop(T_R[i, j], i, j, R)``
    per nonzero entry of each R with first nonzero component > 0, and per
    nonzero i < j entry of T_0 (PythTB adds the conjugate partners).

    Parameters
    ----------
    model
        Tight-binding model.

    Returns
    -------
    pythtb.tb_model

    Raises
    ------
    ImportError
        PythTB is not installed.
    """
    pythtb = _peer("pythtb", "to_pythtb")
    d = model.dim
    tb = pythtb.tb_model(d, d, lat=model.lattice_vectors.tolist(), orb=model.positions.tolist())
    T0 = model.hoppings[(0,) * d]
    tb.set_onsite(np.real(np.diag(T0)).tolist())
    for R in sorted(model.hoppings):
        nz = [x for x in R if x != 0]
        if nz and nz[0] < 0:
            continue
        T = model.hoppings[R]
        for i, j in zip(*np.nonzero(T)):
            if not nz and i >= j:
                continue
            tb.set_hop(complex(T[i, j]), int(i), int(j), list(R))
    return tb


def from_tbmodels(model: Any) -> TightBinding:
    """A TightBinding from a TBmodels ``Model``.

    TBmodels (checked in tbmodels 1.4 ``Model._reduce_hop`` / ``hamilton``) keeps
    ``hop[R]`` for R with first nonzero component > 0 and half of the R = 0
    matrix, and ``hamilton`` adds the conjugate transpose of the whole sum; ``pos``
    is reduced and ``uc`` has the lattice vectors as rows. So ``T_R += hop[R]``,
    ``T_{-R} += hop[R]^dagger``; the result has
    ``h(k_cart) == model.hamilton(k_cart @ A.T / (2 pi), convention=1)`` (TBmodels'
    ``convention=1`` uses the positions: this project's convention II).

    Parameters
    ----------
    model
        ``tbmodels.Model``. ``uc = None`` gives the identity lattice (a = 1).

    Returns
    -------
    TightBinding

    Raises
    ------
    ImportError
        TBmodels is not installed.
    TypeError
        Not a ``tbmodels.Model``.
    """
    tbmodels = _peer("tbmodels", "from_tbmodels")
    if not isinstance(model, tbmodels.Model):
        raise TypeError(f"need a tbmodels.Model, got {type(model).__name__}")
    terms = []
    for R, M in model.hop.items():
        M = np.asarray(M.toarray() if hasattr(M, "toarray") else M, dtype=complex)
        terms.append((tuple(int(x) for x in R), 0, 0, M))
    hop = _accumulate(terms, model.size, model.size)
    if not hop:
        hop = {(0,) * model.dim: np.zeros((model.size, model.size), dtype=complex)}
    return TightBinding(hop, positions=np.asarray(model.pos, dtype=float), lattice_vectors=model.uc)


def to_tbmodels(model: TightBinding) -> Any:
    """A TBmodels ``Model`` with the same h(k) (hoppings with ``contains_cc=True``, ``pos``, ``uc``).

    TBmodels maps positions outside [0, 1) into the home cell and relabels the
    R accordingly; h(k) in convention II does not change.

    Parameters
    ----------
    model
        Tight-binding model.

    Returns
    -------
    tbmodels.Model

    Raises
    ------
    ImportError
        TBmodels is not installed.
    """
    tbmodels = _peer("tbmodels", "to_tbmodels")
    return tbmodels.Model(
        hop={R: np.array(T) for R, T in model.hoppings.items()},
        pos=model.positions.tolist(),
        uc=np.array(model.lattice_vectors),
        size=model.norbs,
        dim=model.dim,
        contains_cc=True,
    )
