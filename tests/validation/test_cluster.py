"""Sweeps on a Dask LocalCluster give the same reports as the local run (the ``dask`` extra)."""

from __future__ import annotations

import os

import pytest

from validation import Sweep, get, register
from validation.cli import main
from validation.testing import synthetic_comparison

if os.environ.get("CI"):  # CI installs the extra: a missing dask there is a failure, not a skip
    import distributed  # noqa: F401
else:
    pytest.importorskip("distributed")

from validation.cluster import dask_executor, worker_blas_threads  # noqa: E402

SWEEP = Sweep.log(1e-1, 1e-4, 7)
#: A real comparison (exact kernels on the workers) on a short sweep, plus synthetic ones.
PHYSICS = "band_density[qwz-gap]"


def _report_text(out, name):
    text = (out / name).read_text()
    return text.split("## Provenance")[0] if name == "index.md" else text


@pytest.fixture
def suite(isolated_registry):
    comparisons = [
        synthetic_comparison("dask_printed[synthetic]", {1: 0.05, 2: 1.0}, sweep=SWEEP, annotated=True),
        synthetic_comparison("dask_corrected[synthetic]", {2: 1.0}, sweep=SWEEP, prediction_kind="corrected"),
    ]
    for c in comparisons:
        register(c)
    physics = get(PHYSICS)
    register(physics.__class__(**{**physics.__dict__, "name": "dask_physics[qwz-gap]",
                                  "sweep": physics.sweep.shortened(3, 1.0)}))
    return [c.name for c in comparisons] + ["dask_physics[qwz-gap]"]


@pytest.mark.slow
def test_local_cluster_report_equals_local_report(suite, tmp_path):
    args = ["run", "--only", "dask_*", "--quiet", "--no-cache"]
    assert main(args + ["--out", str(tmp_path / "local"), "--workers", "1"]) == 0
    assert main(args + ["--out", str(tmp_path / "dask"), "--dask", "local", "--workers", "2"]) == 0
    files = ["summary.csv", "index.md", "dask_printed-synthetic.csv", "dask_corrected-synthetic.csv",
             "dask_physics-qwz-gap.csv"]
    for name in files:
        assert _report_text(tmp_path / "dask", name) == _report_text(tmp_path / "local", name), name
    assert "local Dask cluster" in (tmp_path / "dask" / "index.md").read_text()
    assert (tmp_path / "dask" / "dask_physics-qwz-gap.png").stat().st_size > 0


@pytest.mark.slow
def test_local_cluster_workers_are_single_threaded():
    with dask_executor("local", workers=2) as executor:
        assert executor.submit(pow, 3, 4).result() == 81
        threads = worker_blas_threads(executor)
    assert len(threads) == 2
    for env in threads.values():
        assert env["OMP_NUM_THREADS"] == "1" and env["OPENBLAS_NUM_THREADS"] == "1"


def test_bad_addresses_are_refused():
    with pytest.raises(ValueError, match="tcp://HOST:PORT"):
        with dask_executor("localhost:8786"):
            pass
    with pytest.raises(ValueError, match="workers must be >= 1"):
        with dask_executor("local", workers=0):
            pass
