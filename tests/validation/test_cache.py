"""The results cache: bit-exact round trip, resume, --force, stale entries, atomic writes, a killed run."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from validation import EXACT, Sweep, provenance, register, run
from validation.cache import ROW_COLUMNS, CacheIntegrityWarning, ResultsCache, comparison_identity
from validation.cli import main
from validation.testing import synthetic_comparison

SWEEP = Sweep.log(1e-1, 1e-3, 6)


def _evaluations(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _comparisons(log: Path, **options):
    return [
        synthetic_comparison("cache_a[synthetic]", {2: 1.0}, sweep=SWEEP, log=str(log), annotated=True, **options),
        synthetic_comparison("cache_b[synthetic]", {1: 0.1, 2: 1.0}, sweep=SWEEP, log=str(log), **options),
    ]


@pytest.mark.slow
def test_round_trip_is_bit_exact(tmp_path):
    log = tmp_path / "log"
    comparisons = _comparisons(log)
    first = run(comparisons, workers=1, cache=ResultsCache(tmp_path / "cache"))
    assert _evaluations(log) == 12
    cache = ResultsCache(tmp_path / "cache")
    again = run(comparisons, workers=1, cache=cache)
    assert _evaluations(log) == 12 and cache.reused == 12 and cache.stored == 0
    for r1, r2 in zip(first, again):
        assert r1.verdict == r2.verdict and r1.fitted_order == r2.fitted_order
        for p1, p2 in zip(r1.points, r2.points):
            assert np.array_equal(p1.exact, p2.exact) and np.array_equal(p1.predicted, p2.predicted)
            assert p1.exact.dtype == p2.exact.dtype and p1.annotations == p2.annotations
            assert p1.seconds == p2.seconds  # the original timing is kept
    assert again[0].points[0].annotations == {"field": 0.1, "regime": "strong"}


@pytest.mark.slow
def test_resume_computes_only_missing_points(tmp_path):
    log = tmp_path / "log"
    comparisons = _comparisons(log)
    short = Sweep(SWEEP.variable, SWEEP.values[:3])
    run([(c) for c in comparisons], sweep=short, workers=1, cache=ResultsCache(tmp_path / "cache"))
    assert _evaluations(log) == 6
    cache = ResultsCache(tmp_path / "cache")
    results = run(comparisons, workers=1, cache=cache)
    assert _evaluations(log) == 12 and cache.reused == 6 and cache.stored == 6
    assert [p.sweep_value for p in results[0].points] == list(SWEEP.values)
    assert results[0].fitted_order == pytest.approx(2.0, abs=1e-3)


@pytest.mark.slow
def test_force_recomputes_everything(tmp_path):
    log = tmp_path / "log"
    comparisons = _comparisons(log)
    run(comparisons, workers=1, cache=ResultsCache(tmp_path / "cache"))
    cache = ResultsCache(tmp_path / "cache", force=True)
    run(comparisons, workers=1, cache=cache)
    assert _evaluations(log) == 24 and cache.reused == 0 and cache.stored == 12


@pytest.mark.slow
def test_changed_definition_is_not_reused(tmp_path):
    log = tmp_path / "log"
    (a, _) = _comparisons(log)
    run([a], workers=1, cache=ResultsCache(tmp_path / "cache"))
    changed = synthetic_comparison(a.name, {2: 2.0}, sweep=SWEEP, log=str(log), annotated=True)
    assert comparison_identity(changed) != comparison_identity(a)
    cache = ResultsCache(tmp_path / "cache")
    (result,) = run([changed], workers=1, cache=cache)
    assert cache.reused == 0 and _evaluations(log) == 12
    x = 1e-3 * (1 + np.arange(4) / 4)
    assert result.points[-1].exact - result.points[-1].predicted == pytest.approx(2.0 * x**2, rel=1e-6)


def test_changed_plugin_source_is_not_reused(tmp_path, monkeypatch):
    plugin = tmp_path / "cache_plugin_src.py"
    source = textwrap.dedent(
        """
        import numpy as np

        def exact(model, field, *, tol):
            return np.array([field.flux ** 2])

        def prediction(model, field):
            return np.array([0.0])
        """
    )
    plugin.write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    import cache_plugin_src

    c = synthetic_comparison("plugin[synthetic]", {}, exact=cache_plugin_src.exact, prediction=cache_plugin_src.prediction)
    before = comparison_identity(c)
    assert before == comparison_identity(c)
    plugin.write_text(source.replace("field.flux ** 2", "field.flux ** 3"))
    assert comparison_identity(c) != before


@pytest.mark.slow
def test_hbar_sweep_reuses_the_flux_points(tmp_path):
    log = tmp_path / "log"
    comparisons = _comparisons(log)
    run(comparisons, workers=1, cache=ResultsCache(tmp_path / "cache"))
    cache = ResultsCache(tmp_path / "cache")
    results = run(comparisons, workers=1, variable="hbar", cache=cache)
    assert cache.reused == 12 and _evaluations(log) == 12
    assert results[0].sweep.variable == "hbar" and results[0].fitted_order == pytest.approx(2.0, abs=1e-3)


def test_unpicklable_comparison_warns_and_runs(tmp_path):
    c = synthetic_comparison("local[synthetic]", {2: 1.0}, sweep=SWEEP, prediction=lambda model, field: np.sin(
        field.flux * (1 + np.arange(4) / 4)))
    cache = ResultsCache(tmp_path / "cache")
    with pytest.warns(UserWarning, match="attribute 'prediction' .*cannot be pickled"):
        (result,) = run([c], workers=1, cache=cache)
    assert result.fitted_order == pytest.approx(2.0, abs=1e-3) and cache.stored == 0


def test_write_is_atomic(tmp_path, monkeypatch):
    log = tmp_path / "log"
    (a, _) = _comparisons(log)
    run([a], workers=1, cache=ResultsCache(tmp_path / "cache"))
    table = tmp_path / "cache" / "cache_a-synthetic.csv"
    before = table.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        run([a], workers=1, cache=ResultsCache(tmp_path / "cache", force=True))
    assert table.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["cache_a-synthetic.csv", "cache_a-synthetic.json"]


def test_foreign_table_is_reported_and_replaced(tmp_path):
    """A table of other columns (e.g. of an older cache format) is not used: warned about, recomputed, replaced."""
    log = tmp_path / "log"
    (a, _) = _comparisons(log)
    (tmp_path / "cache").mkdir()
    table = tmp_path / "cache" / "cache_a-synthetic.csv"
    table.write_text("x,y\n1,2\n")
    with pytest.warns(CacheIntegrityWarning, match=r"cache_a-synthetic\.csv cannot be read .*not those of a results"):
        (result,) = run([a], workers=1, cache=ResultsCache(tmp_path / "cache"))
    assert _evaluations(log) == 6 and result.verdict == EXACT
    rows = _rows(tmp_path / "cache")
    assert list(rows) == ["cache_a-synthetic"] and len(rows["cache_a-synthetic"]) == 6


# --- a run killed mid-way ------------------------------------------------------------
PLUGIN = """
from validation import Sweep, register
from validation.testing import synthetic_comparison

SWEEP = Sweep.log(1e-1, 1e-3, 6)
for i in range(3):
    register(synthetic_comparison(f"killed{{i}}[synthetic]", {{2: 1.0, 3: 0.5}}, sweep=SWEEP, delay=0.15,
                                  log={log!r}, annotated=True))
"""


def _cli(tmp_path: Path, out: Path, workers: str = "1") -> list[str]:
    code = (
        "import sys, killed_plugin; from validation.cli import main; "
        f"sys.exit(main(['run', '--only', 'killed*', '--out', {str(out)!r}, '--workers', {workers!r}, '--quiet']))"
    )
    return [sys.executable, "-c", code]


def _rows(cache_dir: Path) -> dict[str, list[dict[str, str]]]:
    rows = {}
    for table in sorted(cache_dir.glob("*.csv")):
        with table.open(newline="") as fh:
            reader = csv.DictReader(fh)
            assert tuple(reader.fieldnames) == ROW_COLUMNS
            rows[table.stem] = list(reader)
    return rows


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"], ids=["in-process", "process-pool"])
def test_killed_run_loses_no_finished_point(tmp_path, isolated_registry, monkeypatch, workers):
    log = tmp_path / "evaluations.log"
    (tmp_path / "killed_plugin.py").write_text(PLUGIN.format(log=str(log)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "reports"
    cache_dir = out / "cache"

    proc = subprocess.Popen(_cli(tmp_path, out, workers), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if cache_dir.exists() and sum(len(r) for r in _rows(cache_dir).values()) >= 6:  # two (field, model) tasks
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    pool = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10  # worker processes exit by themselves once the parent is gone
    while time.monotonic() < deadline and any(_alive(p) for p in pool):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pool), "orphaned worker processes survived the killed run"

    # Nothing torn: every table parses, every row decodes to the closed form, no report was written.
    rows = _rows(cache_dir)
    kept = {name: len(r) for name, r in rows.items()}
    assert 2 <= min(kept.values()) and max(kept.values()) < 6
    cache = ResultsCache(cache_dir)

    for i in range(3):
        points = cache.load(get_or_plugin(f"killed{i}[synthetic]", log), SWEEP)
        for p in points.values():
            x = p.lattice_value * (1 + np.arange(4) / 4)
            assert p.exact - p.predicted == pytest.approx(x**2 + 0.5 * x**3, rel=1e-9, abs=1e-15)
    assert not (out / "summary.csv").exists()

    # Resume: only the missing points are evaluated, and the report equals an uninterrupted run's.
    log.unlink()
    done = subprocess.run(_cli(tmp_path, out, workers), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _evaluations(log) == sum(6 - n for n in kept.values())
    assert f"{sum(kept.values())} point(s) from the cache" in done.stdout
    assert not list(cache_dir.glob(".*.tmp"))  # a write cut short by the kill leaves nothing behind
    reference = tmp_path / "reference"  # an uninterrupted run, in this process
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "killed_plugin", raising=False)
    import killed_plugin  # noqa: F401  (registers the comparisons)

    assert main(["run", "--only", "killed*", "--out", str(reference), "--workers", "1", "--quiet"]) == 0
    for name in ["summary.csv", *(f"killed{i}-synthetic.csv" for i in range(3))]:
        assert (out / name).read_text() == (reference / name).read_text(), name


def get_or_plugin(name: str, log: Path):
    """The comparison as the killed run's plugin defined it (same definition, same identity)."""
    return synthetic_comparison(name, {2: 1.0, 3: 0.5}, sweep=SWEEP, delay=0.15, log=str(log), annotated=True)


@pytest.mark.slow
def test_cli_cache_flags(isolated_registry, tmp_path, capsys):
    log = tmp_path / "log"
    for c in _comparisons(log):
        register(c)
    base = ["run", "--only", "cache_*", "--out", str(tmp_path / "r"), "--workers", "1", "--quiet"]
    assert main(base) == 0 and _evaluations(log) == 12
    assert main(base) == 0 and _evaluations(log) == 12
    assert "12 point(s) from the cache" in capsys.readouterr().out
    assert main(base + ["--force"]) == 0 and _evaluations(log) == 24
    assert main(base + ["--no-cache"]) == 0 and _evaluations(log) == 36
    other = tmp_path / "elsewhere"
    assert main(base + ["--cache", str(other)]) == 0 and _evaluations(log) == 48
    assert (other / "cache_a-synthetic.json").exists()
    with pytest.raises(SystemExit):
        main(base + ["--no-cache", "--force"])


# --- integrity: a damaged row never reaches a result ------------------------------------------
def _flip_exponent_bit(text: str) -> str:
    """A base64 .npy array with one exponent bit of its first float64 flipped."""
    import base64
    import io

    array = np.load(io.BytesIO(base64.b64decode(text)))
    bits = array.view(np.uint64).copy()
    bits.flat[0] ^= np.uint64(1 << 55)
    buffer = io.BytesIO()
    np.save(buffer, bits.view(array.dtype))
    return base64.b64encode(buffer.getvalue()).decode()


def _rewrite(table: Path, row: int, column: str, change) -> None:
    with table.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[row][column] = change(rows[row][column])
    with table.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=ROW_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


DAMAGE = {
    "exact": _flip_exponent_bit,
    "predicted": _flip_exponent_bit,
    "prediction_floor": lambda v: repr(float(v) + 1e-3),
    "annotations": lambda v: v.replace("strong", "weak"),
    "seconds": lambda v: "1e9",
    "lattice_value": lambda v: repr(float(v) * 2),
}


@pytest.mark.parametrize("column", list(DAMAGE))
def test_a_damaged_row_is_reported_and_recomputed(tmp_path, column):
    """A flipped bit (or any edit) in any field of one row: warned about, naming file and row; the point is
    recomputed, the results equal the undamaged run's, and the table is repaired."""
    log = tmp_path / "log"
    (a, _) = _comparisons(log)
    (before,) = run([a], workers=1, cache=ResultsCache(tmp_path / "cache"))
    table = tmp_path / "cache" / "cache_a-synthetic.csv"
    _rewrite(table, 2, column, DAMAGE[column])
    cache = ResultsCache(tmp_path / "cache")
    with pytest.warns(CacheIntegrityWarning, match=r"cache_a-synthetic\.csv, row 3 \(line 4, flux = .*checksum") as w:
        (after,) = run([a], workers=1, cache=cache)
    assert len(w) == 1 and "it is not used, and its points are recomputed" in str(w[0].message)
    assert cache.rejected == 1 and cache.reused == 5 and cache.stored == 1 and _evaluations(log) == 7
    assert after.verdict == before.verdict and after.fitted_order == before.fitted_order
    for p, q in zip(before.points, after.points, strict=True):
        assert np.array_equal(p.exact, q.exact) and p.prediction_floor == q.prediction_floor
        assert p.annotations == q.annotations
    again = ResultsCache(tmp_path / "cache")
    run([a], workers=1, cache=again)  # repaired: no warning (pytest's filterwarnings=error would not be needed)
    assert again.rejected == 0 and again.reused == 6


def test_a_truncated_table_is_reported_and_recomputed(tmp_path):
    log = tmp_path / "log"
    (a, _) = _comparisons(log)
    (before,) = run([a], workers=1, cache=ResultsCache(tmp_path / "cache"))
    table = tmp_path / "cache" / "cache_a-synthetic.csv"
    text = table.read_text()
    table.write_text(text[: text.index("\n", len(text) // 2) + 200])  # cut in the middle of a row
    cache = ResultsCache(tmp_path / "cache")
    with pytest.warns(CacheIntegrityWarning, match=r"cache_a-synthetic\.csv, row \d .*(cut short|checksum)"):
        (after,) = run([a], workers=1, cache=cache)
    assert 0 < cache.reused < 6 and cache.reused + cache.stored == 6
    assert after.verdict == before.verdict and after.fitted_order == before.fitted_order
    assert len(_rows(tmp_path / "cache")["cache_a-synthetic"]) == 6


@pytest.mark.slow
@pytest.mark.parametrize(
    "garbage",
    [b"\x00\xff\xfe not a table at all\n\x13", b"", b"lattice_variable,lattice_value\n", b'"unterminated\n'],
    ids=["binary", "empty", "header-only", "unterminated-quote"],
)
def test_a_garbage_table_is_reported_and_recomputed(tmp_path, garbage):
    log = tmp_path / "log"
    (a, _) = _comparisons(log)
    (before,) = run([a], workers=1, cache=ResultsCache(tmp_path / "cache"))
    (tmp_path / "cache" / "cache_a-synthetic.csv").write_bytes(garbage)
    cache = ResultsCache(tmp_path / "cache")
    with pytest.warns(CacheIntegrityWarning, match=r"cache_a-synthetic\.csv"):
        (after,) = run([a], workers=1, cache=cache)
    assert cache.reused == 0 and cache.stored == 6 and after.fitted_order == before.fitted_order


def test_a_non_numeric_field_with_a_valid_checksum_does_not_decode(tmp_path):
    """Even a row whose checksum matches (written by something else) is decoded with checks, never trusted."""
    from validation.cache import row_checksum

    log = tmp_path / "log"
    (a, _) = _comparisons(log)
    run([a], workers=1, cache=ResultsCache(tmp_path / "cache"))
    table = tmp_path / "cache" / "cache_a-synthetic.csv"
    with table.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["prediction_floor"] = "not a number"
    rows[1]["exact"] = "AAAA"
    for row in rows[:2]:
        row["checksum"] = row_checksum(row)
    with table.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=ROW_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    cache = ResultsCache(tmp_path / "cache")
    with pytest.warns(CacheIntegrityWarning, match="does not decode") as w:
        run([a], workers=1, cache=cache)
    assert len(w) == 2 and cache.rejected == 2 and cache.stored == 2 and cache.reused == 4


@pytest.mark.slow
def test_cli_reports_the_damaged_row_and_writes_the_same_report(isolated_registry, tmp_path, capsys):
    """The issue's reproduction through the CLI: a flipped exponent bit, a rerun; the report is unchanged."""
    log = tmp_path / "log"
    for c in _comparisons(log):
        register(c)
    args = ["run", "--only", "cache_*", "--out", str(tmp_path / "r"), "--workers", "1", "--quiet"]
    assert main(args) == 0
    summary = (tmp_path / "r" / "summary.csv").read_text()
    _rewrite(tmp_path / "r" / "cache" / "cache_b-synthetic.csv", 4, "exact", _flip_exponent_bit)
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert re.search(r"keldysh-validate: warning: results cache: .*cache_b-synthetic\.csv, row 5 .*checksum", err)
    assert "1 cached row failed the integrity check (warnings above) and was recomputed" in err
    assert (tmp_path / "r" / "summary.csv").read_text() == summary and _evaluations(log) == 13


# --- two runs on one cache ---------------------------------------------------------------
def test_opening_a_cache_keeps_the_temporary_files_of_live_processes(tmp_path):
    from validation.cache import _HOST

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = cache_dir / f".cache_a-synthetic.csv.{_HOST}-{os.getpid()}.abcd1234.tmp"
    gone = cache_dir / f".cache_a-synthetic.csv.{_HOST}-{dead.pid}.abcd1234.tmp"
    elsewhere = cache_dir / f".cache_a-synthetic.csv.otherhost-{dead.pid}.abcd1234.tmp"
    for path in (live, gone, elsewhere):
        path.write_text("partial")
    ResultsCache(cache_dir)
    assert live.exists() and elsewhere.exists() and not gone.exists()


CONCURRENT = """
import sys
import time

import validation.cache
from validation import ResultsCache, Sweep, run
from validation.testing import synthetic_comparison

write = validation.cache._atomic_write


def slow_write(path, text):  # a slow disk: the window between reading a table and replacing it is wide
    time.sleep(0.1)
    write(path, text)


validation.cache._atomic_write = slow_write

values = [float(v) for v in sys.argv[2].split(",")]
c = synthetic_comparison("shared[synthetic]", {{2: 1.0}}, sweep=Sweep("flux", tuple(values)), delay=0.05,
                         log={log!r})
(result,) = run([c], workers=1, cache=ResultsCache(sys.argv[1]))
print(result.verdict)
"""


@pytest.mark.slow
def test_two_runs_on_one_cache_lose_nothing(tmp_path):
    """Two processes storing points of the same comparison into one cache at the same time: every point of both
    ends up in the table, and no run fails (each store merges its points into the table under a lock)."""
    log = tmp_path / "log"
    script = tmp_path / "concurrent_run.py"
    script.write_text(CONCURRENT.format(log=str(log)))
    values = np.geomspace(1e-1, 1e-3, 24)
    halves = [",".join(repr(float(v)) for v in values[0::2]), ",".join(repr(float(v)) for v in values[1::2])]
    procs = [
        subprocess.Popen([sys.executable, str(script), str(tmp_path / "cache"), half], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for half in halves
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out.strip() == EXACT
    rows = _rows(tmp_path / "cache")["shared-synthetic"]
    assert len(rows) == 24 and _evaluations(log) == 24
    c = synthetic_comparison("shared[synthetic]", {2: 1.0}, sweep=Sweep("flux", tuple(values)), delay=0.05,
                             log=str(log))
    provenance._physics_digest.cache_clear()  # the sources as the two runs read them, not as at session start
    cache = ResultsCache(tmp_path / "cache")
    (result,) = run([c], workers=1, cache=cache)
    assert cache.reused == 24 and cache.rejected == 0 and _evaluations(log) == 24 and result.verdict == EXACT
    assert not list((tmp_path / "cache").glob(".*.tmp"))


def test_a_table_of_the_format_before_checksums_is_stale_not_damaged(tmp_path, recwarn):
    log = tmp_path / "log"
    (a, _) = _comparisons(log)
    run([a], workers=1, cache=ResultsCache(tmp_path / "cache"))
    table = tmp_path / "cache" / "cache_a-synthetic.csv"
    lines = table.read_text().splitlines()
    table.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")  # drop the checksum column
    cache = ResultsCache(tmp_path / "cache")
    run([a], workers=1, cache=cache)
    assert cache.reused == 0 and cache.stored == 6 and cache.rejected == 0
    assert not [w for w in recwarn if issubclass(w.category, CacheIntegrityWarning)]
