"""Faults are isolated and named (issue 12, items 4 and 8): a comparison that raises, a plugin that does not
load, a worker that dies, a comparison that cannot be pickled, a script without a main guard."""

from __future__ import annotations

import csv
import dataclasses
import functools
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from validation import ERROR, EXACT, ResultsCache, Sweep, register, run
from validation.cli import main
from validation.registry import ENTRY_POINT_GROUP, load_plugins
from validation.testing import synthetic_comparison

SWEEP = Sweep.log(1e-1, 1e-3, 5)


def _bug_in_prediction(model, field):
    """A plugin's prediction with a bug."""
    return {}["coefficient"]


def _dies_above(model, field, *, tol, limit):
    """An exact side that kills its (worker) process above flux ``limit``: a crash in native code, an OOM kill."""
    if field.flux > limit:
        os._exit(3)
    x = field.flux * (1 + np.arange(4) / 4)
    return np.sin(x) + x**2


@pytest.fixture
def faulty_suite(isolated_registry):
    register(synthetic_comparison("fault_bug[synthetic]", {2: 1.0}, sweep=SWEEP, prediction=_bug_in_prediction))
    register(synthetic_comparison("fault_fine[synthetic]", {2: 1.0}, sweep=SWEEP))


@pytest.mark.slow
def test_a_comparison_that_raises_gets_an_error_row(faulty_suite, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--only", "fault_*", "--out", str(out), "--workers", "1", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "fault_bug[synthetic]" in captured.err and "raised (verdict 'error')" in captured.err
    assert "KeyError at flux = 0.1 (in prediction): 'coefficient' (+4 more)" in captured.out
    with (out / "summary.csv").open() as fh:
        verdicts = {row["comparison"]: row["verdict"] for row in csv.DictReader(fh)}
    assert verdicts == {"fault_bug[synthetic]": ERROR, "fault_fine[synthetic]": EXACT}
    md = (out / "index.md").read_text()
    assert "error: KeyError at flux = 0.1 (in prediction): 'coefficient'" in md


@pytest.mark.slow
def test_a_worker_that_dies_fails_its_points_not_the_run():
    c = synthetic_comparison("dies[synthetic]", {2: 1.0}, sweep=SWEEP,
                             exact=functools.partial(_dies_above, limit=0.05))
    (r,) = run([c], workers=2)
    assert r.verdict == ERROR and r.errors
    assert {e.stage for e in r.errors} == {"worker"}
    assert any("a worker process died while this task was queued or running" in e.message for e in r.errors)


def _lambda_comparison():
    base = synthetic_comparison("unpicklable[synthetic]", {2: 1.0}, sweep=SWEEP)
    return dataclasses.replace(base, prediction=lambda model, field: base.prediction(model, field))


def test_an_unpicklable_comparison_gets_the_same_message_at_any_worker_count(tmp_path):
    """workers=1 runs it in-process (and warns that it is not cached); workers=2 refuses it up front, as an error
    row; both messages name the attribute and what to do."""
    c = _lambda_comparison()
    with pytest.warns(UserWarning) as caught:
        (serial,) = run([c], workers=1, cache=ResultsCache(tmp_path / "cache"))
    assert serial.verdict == EXACT
    warned = str(caught[0].message)
    (pooled,) = run([c], workers=2)
    assert pooled.verdict == ERROR and pooled.points == ()
    (error,) = pooled.errors
    assert error.stage == "setup" and error.error == "PicklingError"
    for text in (warned, error.message):
        assert "unpicklable[synthetic]: attribute 'prediction'" in text
        assert "<lambda>) cannot be pickled" in text and "define it at module level, or run with workers=1" in text


GUARDLESS = """
from validation import Sweep, run
from validation.testing import synthetic_comparison

c = synthetic_comparison("guardless[synthetic]", {2: 1.0}, sweep=Sweep.log(1e-1, 1e-2, 3))
print(run([c], workers=2)[0].verdict)
"""


@pytest.mark.slow
def test_a_script_without_a_main_guard_is_told_so(tmp_path):
    script = tmp_path / "guardless.py"
    script.write_text(GUARDLESS)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("RuntimeError: worker processes (workers > 1) are spawned")
    assert f'the call at {script}:6 is not inside `if __name__ == "__main__":`' in message
    guarded = tmp_path / "guarded.py"
    lines = GUARDLESS.strip().splitlines()
    guarded.write_text("\n".join(lines[:-1]) + '\n\nif __name__ == "__main__":\n    ' + lines[-1] + "\n")
    done = subprocess.run([sys.executable, str(guarded)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == EXACT, done.stderr


PLUGIN = textwrap.dedent(
    """
    raise ImportError("the plugin needs a package that is not installed")
    """
)


@pytest.mark.slow
def test_a_plugin_that_fails_to_import_gets_an_error_row(isolated_registry, tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_plugin_module.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    good = synthetic_comparison("plugin_good[synthetic]", {2: 1.0}, sweep=SWEEP)
    for name in list(isolated_registry):  # a small registry: the built-ins stay out of this run
        del isolated_registry[name]
    register(good)
    eps = [importlib.metadata.EntryPoint("broken", "broken_plugin_module", ENTRY_POINT_GROUP)]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **params: eps)
    with pytest.warns(UserWarning, match="entry point 'broken' .* failed to load and is skipped: ImportError"):
        load_plugins(force=True)
    out = tmp_path / "r"
    assert main(["run", "--out", str(out), "--workers", "1", "--quiet"]) == 1
    with (out / "summary.csv").open() as fh:
        verdicts = {row["comparison"]: row["verdict"] for row in csv.DictReader(fh)}
    assert verdicts == {"plugin_good[synthetic]": EXACT, "plugin broken (broken_plugin_module)": ERROR}
    md = (out / "index.md").read_text()
    assert "ImportError while loading the plugin: the plugin needs a package that is not installed" in md
    record = json.loads((out / "run.json").read_text())
    (plugin,) = [p for p in record["run"]["plugins"] if p["entry_point"] == "broken"]
    assert plugin["module"] == "broken_plugin_module" and plugin["path"].endswith("broken_plugin_module.py")
    assert "ImportError" in plugin["error"]
    capsys.readouterr()
    assert main(["run", "--only", "plugin_good*", "--out", str(tmp_path / "only"), "--workers", "1", "--quiet"]) == 0
    assert "plugin broken (broken_plugin_module) failed to load" in capsys.readouterr().err
