"""The comparison registry and entry-point discovery of third-party comparisons."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from validation import Comparison, available, get, load_plugins, register, registry, unregister
from validation.provenance import DISTRIBUTION
from validation.registry import ENTRY_POINT_GROUP, NotInstalledError, suite_jobs
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


def test_broken_entry_point_is_named(isolated_registry, plugin_module, monkeypatch):
    _fake_entry_points(monkeypatch, f"{plugin_module}:broken")
    with pytest.raises(RuntimeError, match="boom"):
        load_plugins(force=True)
    _fake_entry_points(monkeypatch, "no_such_module_anywhere")
    with pytest.raises(RuntimeError, match="entry point 'ep0'.*failed to load"):
        load_plugins(force=True)


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
