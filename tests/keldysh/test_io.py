"""keldysh.io: Wannier90 files, slabs, PythTB / TBmodels adapters, and the chern8 end-to-end model.

Independent references used here: a Wannier90-style Fourier transform of a known
h(k) written with Wannier90's own Fortran formats (hamiltonian_get_hr,
hamiltonian_wigner_seitz, hamiltonian_write_hr), the closed-form spectrum of
an open chain (slabs), the peers' own Hamiltonians and file readers (PythTB's
``_gen_ham`` and ``w90``, TBmodels' ``hamilton`` and ``from_wannier_files``),
and a Fukui-Hatsugai-Suzuki link computation of Chern numbers written below.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from keldysh import models
from keldysh.io import (
    from_pythtb,
    from_tbmodels,
    read_centres,
    read_hr,
    read_tb,
    slab,
    to_pythtb,
    to_tbmodels,
    write_centres,
    write_hr,
    write_tb,
)
from keldysh.lattice import TightBinding

DATA = Path(__file__).resolve().parents[1] / "data"


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------


def _chern_script():
    spec = importlib.util.spec_from_file_location("make_chern_model", DATA / "make_chern_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _random_model(rng: np.random.Generator, dim: int, norbs: int, ncells: int) -> TightBinding:
    """Full-precision random complex hoppings, positions in and outside the cell, a skewed lattice."""
    onsite = rng.normal(size=(norbs, norbs)) + 1j * rng.normal(size=(norbs, norbs))
    hop = {(0,) * dim: onsite + onsite.conj().T}
    while len(hop) < ncells + 1:  # R = 0 and ncells of the pairs +-R
        R = tuple(int(x) for x in rng.integers(-5, 6, dim))
        if any(R) and tuple(-x for x in R) not in hop:
            hop[R] = rng.normal(size=(norbs, norbs)) + 1j * rng.normal(size=(norbs, norbs))
            hop[R] *= 10.0 ** rng.integers(-8, 3)
    lattice = np.eye(dim) + 0.3 * rng.normal(size=(dim, dim))
    positions = rng.uniform(-0.5, 1.2, (norbs, dim))
    return TightBinding(hop, positions=positions, lattice_vectors=lattice)


def _same_hoppings(a: TightBinding, b: TightBinding) -> bool:
    return a.hoppings.keys() == b.hoppings.keys() and all(
        np.array_equal(a.hoppings[R], b.hoppings[R]) for R in a.hoppings
    )


def _bloch_reference(hop: dict, positions: np.ndarray, lattice: np.ndarray, k: np.ndarray) -> np.ndarray:
    """h_ab(k) = sum_R T_R[a, b] exp(i k.(R + tau_b - tau_a)), written out independently of TightBinding."""
    tau = positions @ lattice
    h = 0
    for R, T in hop.items():
        d = np.asarray(R) @ lattice + tau[None, :, :] - tau[:, None, :]  # (N, N, d)
        h = h + T * np.exp(1j * np.einsum("...i,abi->...ab", k, d))
    return h


def _fhs_chern(model: TightBinding, bands: list[int], n: int = 32) -> tuple[float, np.ndarray]:
    """Chern number of a group of bands by the Fukui-Hatsugai-Suzuki link method, and the plaquette phases.

    The links use u(k + G) = exp(-i G.tau) u(k) (convention II) at the zone edge.
    With U_mu = det <u(k)|u(k + mu)> ~ exp(-i A_mu dk), A = i<u|grad u>, the
    plaquette phase is -Omega dk^2, hence the minus sign.
    """
    b = model.reciprocal_vectors
    u = np.arange(n) / n
    K = u[:, None, None] * b[0] + u[None, :, None] * b[1]
    _, v = np.linalg.eigh(model.bloch(K))
    vec = v[..., bands]  # (n, n, N, nb)
    tau = model.positions @ model.lattice_vectors

    def link(axis):
        nxt = np.roll(vec, -1, axis=axis)
        edge = [slice(None)] * 2
        edge[axis] = -1
        nxt[tuple(edge)] = nxt[tuple(edge)] * np.exp(-1j * tau @ b[axis])[:, None]
        U = np.linalg.det(np.einsum("ijab,ijac->ijbc", vec.conj(), nxt))
        return U / np.abs(U)

    U1, U2 = link(0), link(1)
    F = np.angle(U1 * np.roll(U2, -1, axis=0) * np.roll(U1, -1, axis=1).conj() * U2.conj())
    return -F.sum() / (2 * np.pi), F


def _ws_points(mp: tuple[int, int, int], lattice: np.ndarray) -> tuple[list[tuple[int, int, int]], list[int]]:
    """Wannier90's hamiltonian_wigner_seitz (ws_search_size = 2, ws_distance_tol = 1e-5)."""
    metric = lattice @ lattice.T
    images = list(itertools.product(range(-3, 4), repeat=3))
    points, degen = [], []
    for n in itertools.product(*(range(-2 * m, 2 * m + 1) for m in mp)):
        d = np.array([[n[0] - i[0] * mp[0], n[1] - i[1] * mp[1], n[2] - i[2] * mp[2]] for i in images])
        dist = np.einsum("ij,jk,ik->i", d, metric, d)
        if abs(dist[images.index((0, 0, 0))] - dist.min()) < 1e-10:
            points.append(n)
            degen.append(int(np.sum(np.abs(dist - dist.min()) < 1e-10)))
    assert abs(sum(1 / g for g in degen) - np.prod(mp)) < 1e-12
    return points, degen


# ----------------------------------------------------------------------------
# the Wannier90 convention, from a Wannier90-style file of a known h(k)
# ----------------------------------------------------------------------------

# A two-orbital model with complex, non-Hermitian nearest-neighbour blocks (so a
# sign error of R or a transposed (m, n) shows) and a Hermitian block at R = (2, 0),
# which sits on the boundary of the Wigner-Seitz supercell of a 4 x 4 k-mesh
# (degeneracy 2: a reader that ignores ndegen doubles it).
_KNOWN = {
    (0, 0): np.array([[0.3, 0.1 + 0.05j], [0.1 - 0.05j, -0.2]]),
    (1, 0): np.array([[0.5, 0.2 + 0.3j], [-0.1 + 0.4j, -0.6]]),
    (0, 1): np.array([[0.25j, 0.35], [-0.15 - 0.1j, 0.45]]),
    (1, 1): np.array([[0.1 - 0.2j, 0.05j], [0.12, -0.08 + 0.03j]]),
    (2, 0): np.array([[0.1, 0.05 - 0.02j], [0.05 + 0.02j, -0.07]]),
}
_KNOWN.update({tuple(-x for x in R): T.conj().T for R, T in list(_KNOWN.items()) if any(R)})
_KNOWN_TAU = np.array([[0.1, 0.2], [0.6, 0.7]])


def _write_wannier90_hr(path: Path, mp=(4, 4, 1)) -> None:
    """What Wannier90 writes for _KNOWN: H(R) = (1/Nk) sum_k exp(-ik.R) H(k) on its WS points, format (5I5,2F12.6)."""
    points, degen = _ws_points(mp, np.eye(3))
    kpts = np.array(list(itertools.product(*(np.arange(m) / m for m in mp))))  # fractional k-mesh
    Hk = sum(T * np.exp(2j * np.pi * (kpts[:, :2] @ np.array(R)))[:, None, None] for R, T in _KNOWN.items())
    lines = [" written on  7Dec2026 at 12:00:00 ", f"{2:12d}", f"{len(points):12d}"]
    lines += ["".join(f"{g:5d}" for g in degen[i : i + 15]) for i in range(0, len(degen), 15)]
    for R in points:
        HR = np.einsum("k,kab->ab", np.exp(-2j * np.pi * (kpts @ np.array(R))), Hk) / len(kpts)
        for n in range(2):
            for m in range(2):
                lines.append(
                    f"{R[0]:5d}{R[1]:5d}{R[2]:5d}{m + 1:5d}{n + 1:5d}{HR[m, n].real:12.6f}{HR[m, n].imag:12.6f}"
                )
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_wannier90_hr_convention_matches_tr(tmp_path):
    """H_mn(R) = <m0|H|nR> of Wannier90 is T_R[m, n] (no sign change of R), with T_R = H(R) / ndegen(R)."""
    path = tmp_path / "known_hr.dat"
    _write_wannier90_hr(path)
    model = read_hr(path, positions=_KNOWN_TAU, dims=2)
    k = np.random.default_rng(1).uniform(-np.pi, np.pi, (50, 2))
    expected = _bloch_reference(_KNOWN, _KNOWN_TAU, np.eye(2), k)
    # F12.6 rounds each of the <= 25 entries per matrix element by <= 5e-7 (real and imaginary part)
    assert np.abs(model.bloch(k) - expected).max() < 25 * 5e-7 * np.sqrt(2)
    assert np.allclose(model.hoppings[(2, 0)], _KNOWN[(2, 0)], atol=5e-7)  # divided by ndegen = 2
    # The test can fail: the opposite sign of R, or ignoring the degeneracies, are far off.
    flipped = {tuple(-x for x in R): T for R, T in _KNOWN.items()}
    assert np.abs(model.bloch(k) - _bloch_reference(flipped, _KNOWN_TAU, np.eye(2), k)).max() > 0.3
    doubled = {R: (2 if abs(R[0]) == 2 else 1) * T for R, T in _KNOWN.items()}
    assert np.abs(model.bloch(k) - _bloch_reference(doubled, _KNOWN_TAU, np.eye(2), k)).max() > 0.1


# ----------------------------------------------------------------------------
# round trips
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_hr_round_trip_is_bit_exact(tmp_path, dim):
    model = _random_model(np.random.default_rng(dim), dim, norbs=3, ncells=4)
    write_hr(model, tmp_path / "m_hr.dat")
    write_centres(model, tmp_path / "m_centres.xyz")
    back = read_hr(tmp_path / "m_hr.dat", positions=model.positions, lattice_vectors=model.lattice_vectors, dims=dim)
    assert _same_hoppings(back, model)
    assert np.array_equal(back.positions, model.positions)
    assert np.array_equal(back.lattice_vectors, model.lattice_vectors)
    via_centres = read_hr(
        tmp_path / "m_hr.dat", lattice_vectors=model.lattice_vectors, dims=dim, centres=tmp_path / "m_centres.xyz"
    )
    assert _same_hoppings(via_centres, model)
    assert np.allclose(via_centres.positions, model.positions, rtol=0, atol=1e-14)  # tau -> tau @ A -> tau


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_tb_round_trip(tmp_path, dim):
    model = _random_model(np.random.default_rng(10 + dim), dim, norbs=3, ncells=4)
    write_tb(model, tmp_path / "m_tb.dat")
    back = read_tb(tmp_path / "m_tb.dat", dims=dim)
    assert _same_hoppings(back, model)
    assert np.array_equal(back.lattice_vectors, model.lattice_vectors)
    assert np.allclose(back.positions, model.positions, rtol=0, atol=1e-14)
    k = np.random.default_rng(0).uniform(-4, 4, (20, dim))
    assert np.abs(back.bloch(k) - model.bloch(k)).max() < 1e-12 * np.abs(model.hopping_matrices).sum(axis=0).max()


def test_lower_dimensional_model_is_written_embedded_in_3d(tmp_path):
    model = _random_model(np.random.default_rng(5), 2, norbs=2, ncells=3)
    write_tb(model, tmp_path / "m_tb.dat")
    as3d = read_tb(tmp_path / "m_tb.dat")
    assert as3d.dim == 3 and np.array_equal(as3d.lattice_vectors[2], [0, 0, 1])
    assert all(R[2] == 0 for R in as3d.hoppings)
    k = np.random.default_rng(1).uniform(-3, 3, (10, 2))
    kz = np.random.default_rng(2).uniform(-3, 3, (10, 1))
    assert np.allclose(as3d.bloch(np.hstack([k, kz])), model.bloch(k), atol=1e-12)


# ----------------------------------------------------------------------------
# positions and the Berry-curvature convention
# ----------------------------------------------------------------------------


def test_missing_positions_warn_and_change_curvature_not_chern(tmp_path):
    """Orbitals at the origin: same bands and Chern numbers, different local curvature (the warning's claims)."""
    haldane = models.haldane()  # orbitals at (1/3, 1/3) and (2/3, 2/3) of a triangular lattice
    write_tb(haldane, tmp_path / "h_tb.dat")
    write_hr(haldane, tmp_path / "h_hr.dat")
    true = read_tb(tmp_path / "h_tb.dat", dims=2)
    with pytest.warns(UserWarning, match="cell origin.*convention-I.*Berry curvature differs"):
        at_origin = read_hr(tmp_path / "h_hr.dat", lattice_vectors=haldane.lattice_vectors, dims=2)
    assert not at_origin.positions.any()
    k = np.random.default_rng(3).uniform(-np.pi, np.pi, (30, 2))
    assert np.allclose(np.linalg.eigvalsh(at_origin.bloch(k)), np.linalg.eigvalsh(true.bloch(k)), atol=1e-12)
    c_true, f_true = _fhs_chern(true, [0])
    c_origin, f_origin = _fhs_chern(at_origin, [0])
    assert c_true == pytest.approx(1, abs=1e-9) and c_origin == pytest.approx(1, abs=1e-9)  # models.haldane: C = +1
    assert np.abs(f_true - f_origin).max() > 0.1 * np.abs(f_true).max()  # the curvature itself differs


def test_centres_file(tmp_path):
    path = tmp_path / "w_centres.xyz"
    path.write_text(
        "    4\n Wannier centres, written by Wannier90\nX  0.1 0.2 0.3\nX 1.5 -0.5 2.0\nSi 0 0 0\nO 1 1 1\n"
    )
    assert np.array_equal(read_centres(path), [[0.1, 0.2, 0.3], [1.5, -0.5, 2.0]])


def test_centres_need_lattice_and_right_count(tmp_path):
    model = _random_model(np.random.default_rng(2), 3, norbs=3, ncells=2)
    write_hr(model, tmp_path / "m_hr.dat")
    (tmp_path / "two.xyz").write_text("2\n\nX 0 0 0\nX 1 1 1\n")
    with pytest.raises(ValueError, match="lattice_vectors"):
        read_hr(tmp_path / "m_hr.dat", centres=tmp_path / "two.xyz")
    with pytest.raises(ValueError, match="two.xyz has 2 Wannier centres but .*m_hr.dat has num_wann = 3"):
        read_hr(tmp_path / "m_hr.dat", lattice_vectors=np.eye(3), centres=tmp_path / "two.xyz")
    with pytest.raises(ValueError, match="either"):
        read_hr(
            tmp_path / "m_hr.dat", positions=np.zeros((3, 3)), lattice_vectors=np.eye(3), centres=tmp_path / "two.xyz"
        )


# ----------------------------------------------------------------------------
# dims and slabs
# ----------------------------------------------------------------------------


def _layered(tz: float, tilt=(0.0, 0.0)) -> TightBinding:
    """QWZ layers (2 orbitals at different heights) stacked along a3 with scalar interlayer hopping tz."""
    q = models.qwz(1.0, t0=0.2)
    hop = {(R[0], R[1], 0): T for R, T in q.hoppings.items()}
    hop[(0, 0, 1)] = tz * np.eye(2)
    lattice = np.array([[1.0, 0, 0], [0.3, 1.1, 0], [tilt[0], tilt[1], 2.0]])
    return TightBinding(hop, positions=[[0.1, 0.2, 0.0], [0.4, 0.3, 0.25]], lattice_vectors=lattice)


def test_dims2_rejects_hopping_along_a3(tmp_path):
    write_hr(_layered(0.3), tmp_path / "l_hr.dat")
    with pytest.raises(ValueError, match=r"dims=2 .*a3.*R = \(0, 0, -1\), \(0, 0, 1\).*slab"):
        read_hr(tmp_path / "l_hr.dat", dims=2)
    write_tb(_layered(0.0), tmp_path / "z_tb.dat")  # a3 carries only a zero block: fine
    flat = read_tb(tmp_path / "z_tb.dat", dims=2)
    assert flat.dim == 2 and set(flat.hoppings) == {(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)}


def test_dims2_rejects_tilted_in_plane_vectors(tmp_path):
    model = TightBinding({(0, 0, 0): np.eye(1)}, lattice_vectors=[[1, 0, 0.2], [0, 1, 0], [0, 0, 1]])
    write_tb(model, tmp_path / "t_tb.dat")
    with pytest.raises(ValueError, match="a1 = "):
        read_tb(tmp_path / "t_tb.dat", dims=2)


@pytest.mark.parametrize("tilt", [(0.0, 0.0), (0.3, -0.2)])
def test_slab_spectrum_is_the_open_chain_closed_form(tilt):
    """Scalar interlayer hopping tz: slab bands = h_2D(k) + 2 tz cos(pi j / (L + 1)), j = 1..L."""
    tz, layers = 0.35, 4
    model = _layered(tz, tilt)
    s = slab(model, layers)
    assert s.dim == 2 and s.norbs == 2 * layers
    k = np.random.default_rng(4).uniform(-3, 3, (15, 2))
    h2 = TightBinding(
        {R[:2]: T for R, T in model.hoppings.items() if R[2] == 0},
        positions=model.positions[:, :2],
        lattice_vectors=model.lattice_vectors[:2, :2],
    )
    shifts = 2 * tz * np.cos(np.pi * np.arange(1, layers + 1) / (layers + 1))
    expected = np.sort(
        (np.linalg.eigvalsh(h2.bloch(k))[:, None, :] + shifts[None, :, None]).reshape(len(k), -1), axis=1
    )
    assert np.allclose(np.linalg.eigvalsh(s.bloch(k)), expected, atol=1e-12)
    # each orbital keeps the in-plane projection of tau_a @ A + l a3
    cart = s.positions @ s.lattice_vectors
    tau = model.positions @ model.lattice_vectors
    for layer, a in itertools.product(range(layers), range(2)):
        assert np.allclose(cart[layer * 2 + a], (tau[a] + layer * model.lattice_vectors[2])[:2], atol=1e-14)


def test_slab_blocks_are_the_3d_hoppings_between_layers():
    """<l, a|h_slab(k)|l', b> = sum_{R: R3 = l' - l} T_R[a, b] exp(i k.(R1 a1 + R2 a2 + r_b(l') - r_a(l))_xy)."""
    rng = np.random.default_rng(6)
    model = _random_model(rng, 3, norbs=2, ncells=8)
    lattice = np.array([[1.0, 0.2, 0.0], [-0.3, 0.9, 0.0], [0.25, -0.1, 1.5]])  # a1, a2 in the plane, a3 tilted
    model = TightBinding(model.hoppings, positions=model.positions, lattice_vectors=lattice)
    layers, n = 3, 2
    s = slab(model, layers)
    k = rng.uniform(-3, 3, (4, 2))
    h = s.bloch(k)
    tau = model.positions @ lattice
    for l, lp in itertools.product(range(layers), repeat=2):
        expected = 0
        for R, T in model.hoppings.items():
            if R[2] == lp - l:
                d = (
                    R[0] * lattice[0]
                    + R[1] * lattice[1]
                    + (tau[None, :] + lp * lattice[2])
                    - (tau[:, None] + l * lattice[2])
                )
                expected = expected + T * np.exp(1j * np.einsum("ki,abi->kab", k, d[..., :2]))
        assert np.allclose(h[:, l * n : (l + 1) * n, lp * n : (lp + 1) * n], expected, atol=1e-12)


def test_slab_rejects_bad_input():
    with pytest.raises(ValueError, match="3D"):
        slab(models.qwz(1.0), 2)
    with pytest.raises(ValueError, match="positive integer"):
        slab(_layered(0.1), 0)
    skew = TightBinding({(0, 0, 0): np.eye(1)}, lattice_vectors=[[1, 0, 0.5], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="xy plane"):
        slab(skew, 2)


# ----------------------------------------------------------------------------
# malformed files
# ----------------------------------------------------------------------------


def _small_hr(tmp_path) -> tuple[Path, list[str]]:
    """A valid 2-orbital _hr.dat with R = 0, +-x (lines 5-16 are the 12 entries)."""
    model = TightBinding(
        {(0, 0, 0): np.array([[1.0, 0.5j], [-0.5j, -1.0]]), (1, 0, 0): np.array([[0.3, 0.1], [0.2, 0.4j]])}
    )
    path = tmp_path / "model_hr.dat"
    write_hr(model, path)
    return path, path.read_text().splitlines()


def _edit(path: Path, lines: list[str], line: int, new: str | None) -> None:
    """Replace (or delete with None) the 1-based line ``line``."""
    out = list(lines)
    if new is None:
        del out[line - 1]
    else:
        out[line - 1] = new
    path.write_text("\n".join(out) + "\n")


@pytest.mark.parametrize(
    "line, new, message",
    [
        (7, "    0    0    0    2    1  0.0", r"model_hr.dat line 7: expected 7 fields \(R1 R2 R3 m n Re Im\), got 6"),
        (9, "    0    0    0    1    2  abc 0.0", r"model_hr.dat line 9: field 6 \(Re\) is 'abc', not a finite number"),
        (9, "    0    0    0    1    2  nan 0.0", r"line 9: field 6 \(Re\) is 'nan', not a finite number"),
        (6, "    1.5    0    0    1    1  1.0 0.0", r"line 6: field 1 \(R1\) is '1.5', expected an integer"),
        (2, "           3", r"model_hr.dat: the file ends at line 16 .*nrpts \* num_wann\*\*2 = 3 \* 9"),
        (2, "           1", r"line 6: orbital index m = 2 is outside 1..num_wann = 1 \(line 2\)"),
        (2, "   two", r"line 2: field 1 \(num_wann\) is 'two'"),
        (
            3,
            "           4",
            r"line 5: 7 fields would bring the degeneracy list to 10 entries, but nrpts = 4 \(line 3\)",
        ),
        (3, "           2", r"line 4: 3 fields would bring the degeneracy list to 3 entries, but nrpts = 2 \(line 3\)"),
        (4, "    1    1    0", r"line 4: field 3 \(degeneracy\) is 0"),
        (
            12,
            "    0    0    0    1    1  1.0 0.0",
            r"line 12: entry \(m, n\) = \(1, 1\) of R = \(0, 0, 0\) appears twice \(also line 9\)",
        ),
        (
            10,
            "    1    0    0    2    1  0.0 0.0",
            r"line 10: R = \(1, 0, 0\) differs from R = \(0, 0, 0\) of its block \(lines 9-12\)",
        ),
        (
            5,
            "   -1    0    0    1    1  0.31 0.0",
            r"non-Hermitian hoppings: T_R\[m, n\] = \(0.31.*R = \(-1, 0, 0\), m = 1, n = 1, line 5\) .*line 13",
        ),
        (11, "    0    0    0    1    2  0.0 0.6", r"non-Hermitian .*R = \(0, 0, 0\), m = 1, n = 2, line 11"),
    ],
)
def test_malformed_hr_names_line_and_field(tmp_path, line, new, message):
    path, lines = _small_hr(tmp_path)
    assert lines[4].split()[:5] == ["-1", "0", "0", "1", "1"] and len(lines) == 16  # layout the cases rely on
    _edit(path, lines, line, new)
    with pytest.raises(ValueError, match=message):
        read_hr(path, positions=np.zeros((2, 3)))


def test_malformed_hr_truncated_empty_and_unpaired(tmp_path):
    path, lines = _small_hr(tmp_path)
    path.write_text("\n".join(lines[:13]) + "\n")
    with pytest.raises(ValueError, match=r"model_hr.dat: the file ends at line 13 but 12 line\(s\) .* found 9"):
        read_hr(path, positions=np.zeros((2, 3)))
    path.write_text("\n".join(lines + ["    1    0    0    1    1  0.3 0.0"]) + "\n")
    with pytest.raises(ValueError, match="model_hr.dat line 17: unexpected extra content"):
        read_hr(path, positions=np.zeros((2, 3)))
    path.write_text("")
    with pytest.raises(ValueError, match="model_hr.dat: the file is empty"):
        read_hr(path)
    # drop the R = -x block: R = +x has no partner
    path.write_text("\n".join([lines[0], lines[1], "           2", "    1    1", *lines[8:]]) + "\n")
    with pytest.raises(ValueError, match=r"R = \(1, 0, 0\) \(lines 9-12\) has no partner -R = \(-1, 0, 0\)"):
        read_hr(path, positions=np.zeros((2, 3)))


def test_malformed_tb_and_centres(tmp_path):
    model = TightBinding(
        {(0, 0, 0): np.array([[1.0, 0.5j], [-0.5j, -1.0]]), (1, 0, 0): np.array([[0.3, 0.1], [0.2, 0.4j]])}
    )
    path = tmp_path / "model_tb.dat"
    write_tb(model, path)
    lines = path.read_text().splitlines()
    assert lines[2].split() == ["0.0", "1.0", "0.0"]
    _edit(path, lines, 3, " 0.0 1.0")
    with pytest.raises(ValueError, match=r"model_tb.dat line 3: expected 3 fields \(x y z\), got 2"):
        read_tb(path)
    _edit(path, lines, 9, " 1 0")  # the first R line of the Hamiltonian blocks
    with pytest.raises(ValueError, match=r"model_tb.dat line 9: expected 3 fields \(R1 R2 R3\), got 2"):
        read_tb(path)
    pos_line = next(i for i, t in enumerate(lines) if len(t.split()) == 8) + 1
    _edit(path, lines, pos_line, " 1 1 0.0 0.0 0.0 0.0 0.0")
    with pytest.raises(ValueError, match=rf"line {pos_line}: expected 8 fields \(m n Re\(x\) Im\(x\)"):
        read_tb(path)
    path.write_text("\n".join(lines[:-2]) + "\n")
    with pytest.raises(ValueError, match="model_tb.dat: the file ends at line .* position-matrix blocks"):
        read_tb(path)
    _edit(path, lines, pos_line - 1, "    2    0    0")  # the first R line of the position blocks
    with pytest.raises(ValueError, match="position-matrix blocks list other R vectors than the Hamiltonian blocks"):
        read_tb(path)
    xyz = tmp_path / "bad_centres.xyz"
    xyz.write_text("3\ncomment\nX 0 0 0\nX 0 0 x1\n")
    with pytest.raises(ValueError, match=r"bad_centres.xyz: the file ends at line 4 but 3 line\(s\)"):
        read_centres(xyz)
    xyz.write_text("2\ncomment\nX 0 0 0\nX 0 0 x1\n")
    with pytest.raises(ValueError, match=r"bad_centres.xyz line 4: field 4 \(z\) is 'x1'"):
        read_centres(xyz)
    xyz.write_text("two\ncomment\nX 0 0 0\n")
    with pytest.raises(ValueError, match="bad_centres.xyz line 1: expected the number of entries"):
        read_centres(xyz)


# ----------------------------------------------------------------------------
# the end-to-end model tests/data/chern8_*
# ----------------------------------------------------------------------------


def test_chern8_files_are_what_the_script_writes(tmp_path, monkeypatch):
    script = _chern_script()
    monkeypatch.setattr(script, "HERE", tmp_path)
    script.main()
    for suffix in ("_hr.dat", "_tb.dat", "_centres.xyz"):
        assert (tmp_path / f"chern8{suffix}").read_bytes() == (DATA / f"chern8{suffix}").read_bytes()
        assert (DATA / f"chern8{suffix}").stat().st_size < 200_000


def test_chern8_reads_back_as_the_script_model():
    model = _chern_script().chern8()
    assert model.norbs == 8 and max(np.hypot(*R) for R in model.hoppings) == 3.0  # 6th neighbour
    from_hr = read_hr(DATA / "chern8_hr.dat", lattice_vectors=np.eye(2), dims=2, centres=DATA / "chern8_centres.xyz")
    from_tb = read_tb(DATA / "chern8_tb.dat", dims=2)
    k = np.random.default_rng(7).uniform(-np.pi, np.pi, (40, 2))
    expected = _bloch_reference(model.hoppings, model.positions, model.lattice_vectors, k)
    for read in (from_hr, from_tb):
        assert _same_hoppings(read, model)
        assert np.array_equal(read.positions, model.positions)  # quarter-integers: exact in binary
        assert np.array_equal(read.lattice_vectors, np.eye(2))
        assert np.abs(read.bloch(k) - expected).max() < 1e-13


@pytest.mark.slow
def test_chern8_has_an_isolated_chern_band():
    """Band 3 (and 4) isolated by global gaps >= half its width, C = -1 (+1), continued from QWZ(m=1).

    Independent reasons: ``models.qwz`` documents C = -1 for its lower band at
    0 < m < 2 (the same FHS code reproduces it below), the gaps stay open along
    the path coupling = 0 -> 1 from QWZ (+) trivial levels, and the FHS link
    number of band 3 itself.
    """
    script = _chern_script()
    n = 48
    u = np.arange(n) / n
    K = 2 * np.pi * np.stack(np.meshgrid(u, u, indexing="ij"), -1)
    for coupling in np.linspace(0, 1, 5):
        E = np.linalg.eigvalsh(script.chern8(coupling).bloch(K)).reshape(-1, 8)
        width = np.ptp(E[:, 3])
        below, middle, above = (
            E[:, 3].min() - E[:, 2].max(),
            E[:, 4].min() - E[:, 3].max(),
            E[:, 5].min() - E[:, 4].max(),
        )
        assert min(below, middle, above) > 0.5 * width, (coupling, below, middle, above, width)
    assert _fhs_chern(models.qwz(1.0), [0])[0] == pytest.approx(-1, abs=1e-9)
    model = script.chern8()
    assert _fhs_chern(model, [3])[0] == pytest.approx(-1, abs=1e-9)
    assert _fhs_chern(model, [4])[0] == pytest.approx(1, abs=1e-9)
    assert _fhs_chern(model, [0, 1, 2])[0] == pytest.approx(0, abs=1e-9)
    assert _fhs_chern(model, [5, 6, 7])[0] == pytest.approx(0, abs=1e-9)


# ----------------------------------------------------------------------------
# PythTB and TBmodels
# ----------------------------------------------------------------------------


def _k_reduced(model: TightBinding, k: np.ndarray) -> np.ndarray:
    """Reduced k (units of the reciprocal vectors): k.R_cart = 2 pi k_red.R."""
    return k @ model.lattice_vectors.T / (2 * np.pi)


@pytest.mark.parametrize(
    "package, function",
    [("pythtb", to_pythtb), ("tbmodels", to_tbmodels), ("pythtb", from_pythtb), ("tbmodels", from_tbmodels)],
)
def test_missing_peer_is_a_clear_import_error(monkeypatch, package, function):
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(
        ImportError, match=rf"keldysh.io.{function.__name__} needs the optional package '{package}'.*\[peers\]"
    ):
        function(models.qwz(1.0) if function.__name__.startswith("to_") else object())


def test_from_pythtb_matches_its_hamiltonian():
    pythtb = pytest.importorskip("pythtb")
    rng = np.random.default_rng(8)
    lat = [[1.0, 0.0], [0.4, 1.3]]
    orb = [[0.1, 0.2], [0.6, 0.5], [0.3, 0.9]]
    for nspin in (1, 2):
        tb = pythtb.tb_model(2, 2, lat, orb, nspin=nspin)

        def amp(hermitian=False, nspin=nspin):
            if nspin == 1:
                return float(rng.normal()) if hermitian else complex(rng.normal(), rng.normal())
            m = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
            return (m + m.conj().T) / 2 if hermitian else m

        tb.set_onsite([amp(True) for _ in orb])
        for i, j, R in [
            (0, 1, [0, 0]),
            (0, 0, [1, 0]),
            (1, 2, [0, 1]),
            (2, 0, [1, -1]),
            (1, 1, [2, 1]),
            (2, 1, [-1, 0]),
        ]:
            tb.set_hop(amp(), i, j, R)
        model = from_pythtb(tb)
        assert model.norbs == 3 * nspin
        k = rng.uniform(-4, 4, (12, 2))
        ours = model.bloch(k)
        for kk, h in zip(_k_reduced(model, k), ours):
            assert np.abs(h - tb._gen_ham(kk).reshape(h.shape)).max() < 1e-12


def test_from_pythtb_ribbon_keeps_periodic_direction():
    pythtb = pytest.importorskip("pythtb")
    tb = pythtb.tb_model(2, 2, [[1.0, 0.0], [0.0, 1.5]], [[0.0, 0.0], [0.5, 0.3]])
    tb.set_onsite([0.2, -0.2])
    tb.set_hop(0.3 + 0.1j, 0, 1, [0, 0])
    tb.set_hop(0.5, 0, 0, [1, 0])
    tb.set_hop(-0.4j, 1, 0, [1, 1])
    ribbon = tb.cut_piece(3, 1)  # finite along a2, periodic along a1
    model = from_pythtb(ribbon)
    assert model.dim == 1 and model.norbs == 6
    for kk in np.linspace(-3, 3, 7):
        assert np.abs(model.bloch([kk]) - ribbon._gen_ham([kk / (2 * np.pi)])).max() < 1e-12


def test_pythtb_round_trip_and_w90_reader(tmp_path):
    pythtb = pytest.importorskip("pythtb")
    model = read_tb(DATA / "chern8_tb.dat", dims=2)
    tb = to_pythtb(model)
    k = np.random.default_rng(9).uniform(-np.pi, np.pi, (10, 2))
    for kk, h in zip(_k_reduced(model, k), model.bloch(k)):
        assert np.abs(h - tb._gen_ham(kk)).max() < 1e-13
    assert _same_hoppings(from_pythtb(tb), model)  # every block of chern8 is nonzero
    # PythTB's own Wannier90 reader on our files (+ a .win with the cell)
    write_hr(model, tmp_path / "chern8_hr.dat")
    write_centres(model, tmp_path / "chern8_centres.xyz")
    (tmp_path / "chern8.win").write_text("begin unit_cell_cart\nang\n1 0 0\n0 1 0\n0 0 1\nend unit_cell_cart\n")
    w90 = pythtb.w90(str(tmp_path), "chern8").model()
    for kk, h in zip(_k_reduced(model, k), model.bloch(k)):
        assert np.abs(h - w90._gen_ham(np.append(kk, 0.37))).max() < 1e-13


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TBmodels' sparse matrices under numpy 2
def test_tbmodels_adapters_and_file_reader(tmp_path):
    tbmodels = pytest.importorskip("tbmodels")
    model = _random_model(np.random.default_rng(11), 3, norbs=3, ncells=5)
    k = np.random.default_rng(12).uniform(-3, 3, (15, 3))
    tbm = to_tbmodels(model)
    assert np.abs(tbm.hamilton(_k_reduced(model, k), convention=1) - model.bloch(k)).max() < 1e-12
    back = from_tbmodels(tbm)
    assert np.abs(back.bloch(k) - model.bloch(k)).max() < 1e-12
    # TBmodels' Wannier90 reader on our files, and our reader on TBmodels' file
    write_hr(model, tmp_path / "m_hr.dat")
    write_centres(model, tmp_path / "m_centres.xyz")
    read_by_tbm = tbmodels.Model.from_wannier_files(
        hr_file=str(tmp_path / "m_hr.dat"), xyz_file=str(tmp_path / "m_centres.xyz"), uc=model.lattice_vectors
    )
    assert np.abs(read_by_tbm.hamilton(_k_reduced(model, k), convention=1) - model.bloch(k)).max() < 1e-12
    tbm.to_hr_file(str(tmp_path / "tbm_hr.dat"))  # 14 decimals, no positions
    ours = read_hr(tmp_path / "tbm_hr.dat", positions=back.positions, lattice_vectors=back.lattice_vectors)
    assert np.abs(ours.bloch(k) - model.bloch(k)).max() < 1e-12
