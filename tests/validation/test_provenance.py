"""The code fingerprint of the results cache: it covers what computes the numbers, and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from validation import provenance
from validation.provenance import code_fingerprint, fingerprinted_files
from validation.testing import synthetic_comparison

REPO = Path(provenance.__file__).resolve().parents[1]
#: Validation modules that schedule, store, fit, report or drive runs: no cached number depends on their code.
MACHINERY = ("executor.py", "cluster.py", "cache.py", "cli.py", "report.py", "plots.py", "convergence.py",
             "registry.py", "naming.py", "provenance.py", "__init__.py")
#: Files that do determine the numbers: the exact side (a subpackage module included), the theory, the
#: catalog, and the validation modules a point passes through.
PHYSICS = ("keldysh/static/chebyshev.py", "keldysh/fields.py", "semiclassics/predictions.py",
           "validation/catalog/common.py", "validation/sweep.py", "validation/comparison.py", "validation/points.py")


def test_fingerprinted_files():
    files = {p.relative_to(REPO).as_posix() for p in fingerprinted_files()}
    for package in ("keldysh", "semiclassics", "validation/catalog"):  # every module, subpackages included
        assert {p.relative_to(REPO).as_posix() for p in (REPO / package).rglob("*.py")} <= files
    assert set(PHYSICS) <= files
    assert not {f"validation/{name}" for name in MACHINERY} & files


@pytest.fixture
def source_copy(tmp_path, monkeypatch):
    """A copy of the three packages that the fingerprint reads instead of the checkout."""
    for package in ("keldysh", "semiclassics", "validation"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "_ROOT", tmp_path)
    provenance._physics_digest.cache_clear()
    yield tmp_path
    provenance._physics_digest.cache_clear()


def _fingerprint_after_edit(root: Path, rel: str, comparison) -> str:
    path = root / rel
    original = path.read_bytes()
    path.write_bytes(original + b"\n# an edit\n")
    provenance._physics_digest.cache_clear()
    try:
        return code_fingerprint(comparison)
    finally:
        path.write_bytes(original)
        provenance._physics_digest.cache_clear()


def test_editing_machinery_keeps_the_fingerprint_and_editing_physics_changes_it(source_copy):
    c = synthetic_comparison("fingerprint[synthetic]", {2: 1.0})
    before = code_fingerprint(c)
    for name in MACHINERY:
        assert _fingerprint_after_edit(source_copy, f"validation/{name}", c) == before, name
    changed = {rel: _fingerprint_after_edit(source_copy, rel, c) for rel in PHYSICS}
    assert all(f != before for f in changed.values()) and len(set(changed.values())) == len(PHYSICS)
    assert code_fingerprint(c) == before  # every edit undone


def test_missing_fingerprinted_source_is_named(source_copy):
    (source_copy / "validation" / "points.py").unlink()
    with pytest.raises(FileNotFoundError, match="validation/points.py"):
        code_fingerprint(synthetic_comparison("fingerprint[synthetic]", {2: 1.0}))
