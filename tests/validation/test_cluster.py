"""Sweeps on a Dask LocalCluster give the same reports as the local run (the ``dask`` extra)."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from validation import Sweep, get, register
from validation.cli import main
from validation.testing import synthetic_comparison

if os.environ.get("CI"):  # CI installs the extra: a missing dask there is a failure, not a skip
    import distributed  # noqa: F401
else:
    pytest.importorskip("distributed")

from validation.cluster import SchedulerUnreachable, check_address, dask_executor, worker_blas_threads  # noqa: E402

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


@pytest.mark.parametrize(
    "address, message",
    [
        ("localhost:8786", r"looks like tcp://HOST:PORT .*got 'localhost:8786'"),
        ("tcp://127.0.0.1:notaport", r"got 'tcp://127.0.0.1:notaport' \(invalid literal"),
        ("tcp://:8786", r"got 'tcp://:8786'"),
        ("tcp://127.0.0.1:99999", r"got 'tcp://127.0.0.1:99999'"),
        ("foo://127.0.0.1:8786", r"unknown scheme 'foo'"),
    ],
)
def test_malformed_addresses_are_refused(address, message):
    with pytest.raises(ValueError, match=message):
        with dask_executor(address):
            pass


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="workers must be an int >= 1, got 0"):
        with dask_executor("local", workers=0):
            pass
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        with dask_executor("tcp://127.0.0.1:8786", timeout=0):
            pass
    with pytest.raises(TypeError, match="address must be a str"):
        check_address(8786)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_unreachable_scheduler_fails_within_the_timeout():
    """Nothing listens at the port: one SchedulerUnreachable (an OSError) naming the address and the timeout."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(SchedulerUnreachable, match=rf"no Dask scheduler answered at {address} within 1 s"):
        with dask_executor(address, timeout=1):
            pass


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers (not a Dask scheduler)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.slow
def test_a_server_that_is_not_a_scheduler_fails_within_the_timeout(silent_server):
    """Dask's own connect timeout does not cover the handshake: without the deadline this would hang."""
    with pytest.raises(SchedulerUnreachable, match="accepted the connection but did not answer as a Dask scheduler"):
        with dask_executor(silent_server, timeout=1):
            pass


@pytest.mark.slow
def test_cli_reports_a_bad_scheduler_in_one_line(silent_server, tmp_path, isolated_registry):
    register(synthetic_comparison("dask_bad[synthetic]", {2: 1.0}, sweep=SWEEP))
    args = ["run", "--only", "dask_bad*", "--out", str(tmp_path / "r"), "--quiet"]
    with pytest.raises(SystemExit) as exc:
        main(args + ["--dask", silent_server, "--dask-timeout", "1"])
    assert str(exc.value).startswith(f"keldysh-validate: --dask {silent_server}: ") and "\n" not in str(exc.value)
    assert "did not answer as a Dask scheduler within 1 s" in str(exc.value)
    with pytest.raises(SystemExit, match="looks like tcp://HOST:PORT"):
        main(args + ["--dask", "localhost:8786"])
    assert not (tmp_path / "r" / "summary.csv").exists()
