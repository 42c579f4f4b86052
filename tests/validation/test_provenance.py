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


# --- functions by their qualified names (issue 12, item 5) ------------------------------------
def _local_factory():
    def inner():
        return None

    return inner


class _Scaled:
    """A callable instance without a repr of its own (its default repr names a memory address)."""

    def __call__(self, model, field):
        return 0.0


def test_callables_are_described_by_qualified_name_without_addresses():
    import functools
    import json

    import numpy as np

    from keldysh import models
    from validation.provenance import describe_callable

    assert describe_callable(models.qwz) == "keldysh.models:qwz"
    partial = functools.partial(models.qwz, 1.0, t0=0.3, extra=np.arange(3.0), fn=len)
    described = describe_callable(partial)
    assert described["function"] == "keldysh.models:qwz" and described["args"] == [1.0]
    assert described["keywords"]["t0"] == 0.3 and described["keywords"]["fn"] == "builtins:len"
    assert described["keywords"]["extra"]["array"] == [3] and len(described["keywords"]["extra"]["sha256"]) == 64
    assert describe_callable(_local_factory()) == f"{__name__}:_local_factory.<locals>.inner"
    assert describe_callable(lambda m, f: 0) == f"{__name__}:test_callables_are_described_by_qualified_name_" \
                                                "without_addresses.<locals>.<lambda>"
    assert describe_callable(_Scaled()) == {"callable": f"{__name__}:_Scaled", "value": None}
    assert describe_callable(_Scaled().__call__)["method"] == f"{__name__}:_Scaled.__call__"
    text = json.dumps([describe_callable(f) for f in (partial, _local_factory(), _Scaled(), _Scaled().__call__)])
    assert " at 0x" not in text


@pytest.mark.slow
def test_run_json_names_every_function_and_plugin(isolated_registry, tmp_path):
    """run.json: comparison functions as module:qualname (partials with their arguments), the plugins with
    distribution, version, module and file; no memory address anywhere. The same in two runs."""
    import json

    from validation import Sweep, register
    from validation.cli import main

    register(synthetic_comparison("prov[synthetic]", {2: 1.0}, sweep=Sweep.log(1e-1, 1e-2, 3), annotated=True))
    for out in ("a", "b"):
        assert main(["run", "--only", "prov*", "--out", str(tmp_path / out), "--workers", "1", "--quiet"]) == 0
    texts = [(tmp_path / out / "run.json").read_text() for out in ("a", "b")]
    assert " at 0x" not in texts[0]
    records = [json.loads(t) for t in texts]
    (a, b) = (r["comparisons"]["prov[synthetic]"] for r in records)
    assert a["exact"]["function"] == "validation.testing:_synthetic_exact"
    assert a["exact"]["keywords"]["coefficients"] == [[2, 1.0]]
    assert a["model_factory"] == {"function": "keldysh.models:qwz", "args": [1.0], "keywords": {}}
    assert a["annotate"] == "validation.testing:_synthetic_annotations"
    assert all(a[k] == b[k] for k in ("exact", "prediction", "model_factory", "prediction_coarse", "annotate"))
    (builtin,) = [p for p in records[0]["run"]["plugins"] if p["entry_point"] == "builtin"]
    assert builtin["distribution"] == "keldysh-validation" and builtin["version"]
    assert builtin["module"] == "validation.catalog" and builtin["path"].endswith("validation/catalog/__init__.py")
