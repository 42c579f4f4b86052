"""The comparison registry and entry-point discovery of third-party comparisons."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from validation import Comparison, available, get, load_plugins, register, registry, unregister
from validation.provenance import DISTRIBUTION
from validation.registry import (
    ENTRY_POINT_GROUP,
    NotInstalledError,
    PluginLoadWarning,
    plugin_failures,
    plugins,
    suite_jobs,
)
from validation.testing import synthetic_comparison

PLUGIN_SOURCE = textwrap.dedent(
    """
    from validation import register
    from validation.testing import synthetic_comparison

    register(synthetic_comparison("plugin_module[synthetic]", {2: 1.0}))

    def more():
        return [synthetic_comparison("plugin_callable[synthetic]", {1: 1.0})]

    def broken():
        raise RuntimeError("boom")
    """
)


def test_register_get_unregister(isolated_registry):
    c = register(synthetic_comparison("reg[one]", {2: 1.0}))
    assert get("reg[one]") is c and "reg[one]" in available()
    register(c)  # the same object again is fine
    with pytest.raises(ValueError, match="already registered"):
        register(dataclasses.replace(c, description="another"))
    register(dataclasses.replace(c, description="another"), replace=True)
    assert get("reg[one]").description == "another"
    assert unregister("reg[one]").description == "another"
    with pytest.raises(KeyError, match="reg\\[two\\]"):
        unregister("reg[two]")


def test_register_as_decorator(isolated_registry):
    @register
    def two():
        return [synthetic_comparison("deco[a]", {2: 1.0}), synthetic_comparison("deco[b]", {1: 1.0})]

    assert callable(two) and {"deco[a]", "deco[b]"} <= set(available())


def test_unknown_name_suggests_close_matches(isolated_registry):
    register(synthetic_comparison("suggest[synthetic]", {2: 1.0}))
    with pytest.raises(KeyError, match="did you mean suggest\\[synthetic\\]"):
        get("sugest[synthetic]")


def test_invalid_comparisons_raise():
    c = synthetic_comparison("bad", {2: 1.0})
    with pytest.raises(ValueError, match="prediction_kind"):
        dataclasses.replace(c, prediction_kind="guessed")
    with pytest.raises(TypeError, match="exact must be callable"):
        dataclasses.replace(c, exact=1.0)
    with pytest.raises(ValueError, match="expected_order"):
        dataclasses.replace(c, expected_order=0)
    with pytest.raises(TypeError, match="only Comparison"):
        register(lambda: ["not a comparison"])


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """A third-party module on sys.path, unknown to this package."""
    (tmp_path / "third_party_comparisons.py").write_text(PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "third_party_comparisons"
    sys.modules.pop("third_party_comparisons", None)


def _fake_entry_points(monkeypatch, *values):
    eps = [importlib.metadata.EntryPoint(f"ep{i}", v, ENTRY_POINT_GROUP) for i, v in enumerate(values)]

    def entry_points(**params):
        assert params == {"group": ENTRY_POINT_GROUP}
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_entry_points_register_third_party_comparisons(isolated_registry, plugin_module, monkeypatch):
    _fake_entry_points(monkeypatch, plugin_module, f"{plugin_module}:more")
    assert "plugin_module[synthetic]" not in available()
    load_plugins(force=True)
    names = available()
    assert "plugin_module[synthetic]" in names and "plugin_callable[synthetic]" in names
    assert get("plugin_callable[synthetic]").equation == "synthetic"
    load_plugins(force=True)  # loading again keeps one copy of each
    assert available().count("plugin_callable[synthetic]") == 1


def test_broken_entry_point_is_skipped_and_named(isolated_registry, plugin_module, monkeypatch):
    """A plugin that raises, or whose module does not import, is skipped with a warning naming it; the others load."""
    _fake_entry_points(monkeypatch, f"{plugin_module}:broken", "no_such_module_anywhere", f"{plugin_module}:more")
    with pytest.warns(PluginLoadWarning) as caught:
        load_plugins(force=True)
    messages = " | ".join(str(w.message) for w in caught)
    assert re.search(r"entry point 'ep0' \(third_party_comparisons:broken\).*failed.*RuntimeError: boom", messages)
    assert re.search(r"entry point 'ep1' \(no_such_module_anywhere\).*ModuleNotFoundError", messages)
    assert "plugin_callable[synthetic]" in available()
    failures = {f.entry_point: f for f in plugin_failures()}
    assert set(failures) >= {"ep0", "ep1"}
    assert failures["ep0"].error.stage == "plugin" and failures["ep0"].error.message == "boom"
    assert failures["ep0"].label == "plugin ep0 (third_party_comparisons:broken)"
    records = {p["entry_point"]: p for p in plugins()}
    # importing the module registers one comparison, calling `more` the other: both are the plugin's
    assert set(records["ep2"]["comparisons"]) == {"plugin_module[synthetic]", "plugin_callable[synthetic]"}
    assert records["ep2"]["error"] is None
    assert records["ep2"]["module"] == plugin_module and records["ep2"]["path"].endswith("third_party_comparisons.py")
    assert records["ep0"]["error"] == "RuntimeError while loading the plugin: boom"


def test_plugin_provenance_names_distribution_version_and_module():
    """The built-in catalog, as every plugin, is recorded with its distribution, version, module and file."""
    (builtin,) = [p for p in plugins() if p["entry_point"] == "builtin"]
    assert builtin["distribution"] == DISTRIBUTION and builtin["version"] == importlib.metadata.version(DISTRIBUTION)
    assert builtin["module"] == "validation.catalog"
    assert Path(builtin["path"]) == Path(__file__).resolve().parents[2] / "validation" / "catalog" / "__init__.py"
    assert "chiral_anomaly[weyl]" in builtin["comparisons"] and builtin["error"] is None


def test_builtin_catalog_is_registered_through_its_entry_point():
    """pyproject declares the catalog in the plugins' group, the installed metadata carries it, and it
    registers the built-in comparisons."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"][ENTRY_POINT_GROUP]["builtin"] == "validation.catalog"
    ours = [ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
            if ep.dist is not None and ep.dist.name == DISTRIBUTION]
    assert [(ep.name, ep.value) for ep in ours] == [("builtin", "validation.catalog")], (
        "stale metadata: run `pip install -e .`"
    )
    assert {"total_spectral_weight[qwz]", "chiral_anomaly[weyl]", "anomalous_velocity[qwz]"} <= set(available())


def test_without_installed_metadata_the_registry_refuses(plugin_module, monkeypatch):
    """A source checkout used without `pip install -e .` (no entry point of this distribution): a clear
    error, not a registry without the built-in comparisons."""
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)
    monkeypatch.setattr(registry, "_LOADED_ENTRY_POINTS", {})
    _fake_entry_points(monkeypatch, f"{plugin_module}:more")  # a third-party plugin only
    for call in (available, lambda: get("total_spectral_weight[qwz]"), load_plugins):
        with pytest.raises(NotInstalledError, match="pip install -e ."):
            call()
    c = register(synthetic_comparison("explicit[synthetic]", {2: 1.0}))  # explicit registration needs no metadata
    assert registry._REGISTRY["explicit[synthetic]"] is c


def test_quick_suite_keeps_two_band_2d_comparisons_on_a_short_sweep():
    from functools import partial

    from keldysh import models

    two = synthetic_comparison("two_band", {2: 1.0})
    three = dataclasses.replace(two, name="three_band", model=partial(models.three_band))
    weyl = dataclasses.replace(two, name="weyl_3d", model=partial(models.weyl))
    jobs = suite_jobs("quick", [two, three, weyl])
    assert [c.name for c, _ in jobs] == ["two_band"]
    assert len(jobs[0][1].values) == 5 and jobs[0][1].decades == pytest.approx(2.0)
    assert [c.name for c, _ in suite_jobs("default", [two, three, weyl])] == ["two_band", "three_band", "weyl_3d"]
    with pytest.raises(ValueError, match="unknown suite"):
        suite_jobs("slow", [two])


def test_comparison_is_a_sentence():
    """Every field a report needs is present on a built-in-style comparison."""
    c = synthetic_comparison("sentence", {2: 1.0})
    assert isinstance(c, Comparison)
    assert c.prediction_kind == "printed" and c.expected_order == 2 and c.k_resolved
