"""The architecture, read from the import statements of every module (ast; nothing is imported).

Data flows one way: ``keldysh`` (exact) and ``semiclassics`` (theory) know nothing of each other
or of ``validation``, which is the only place they meet. Inside ``validation`` the modules form no
cycle, the built-in catalog is reached only through its entry point, and the modules in the
results cache's code fingerprint import no module outside it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from validation.provenance import FINGERPRINTED_SOURCES

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules(folder: str) -> dict[str, Path]:
    """{dotted module name: path} of every ``*.py`` below ``folder`` (relative to the repository)."""
    return {_module_name(p): p for p in sorted((ROOT / folder).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(path: Path, runtime_only: bool) -> set[str]:
    """Dotted names a module imports: ``import a.b``, ``from a import b`` (as ``a`` and ``a.b``), relative
    imports resolved, and ``importlib.import_module("...")`` with a literal name. ``runtime_only`` skips
    the bodies of ``if TYPE_CHECKING:`` (imports for annotations only)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and runtime_only and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if callee in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return found


def _top_levels(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imported(path, runtime_only=False)}


def _validation_graph() -> dict[str, set[str]]:
    """{validation module: validation modules it imports at run time}."""
    modules = _modules("validation")
    return {m: {n for n in _imported(p, runtime_only=True) if n in modules and n != m} for m, p in modules.items()}


def test_the_module_sets_are_found():
    """The walk sees the subpackages (a guard against a test that checks nothing)."""
    assert {"keldysh.static.chebyshev", "keldysh.dynamics.evolution", "keldysh.fields"} <= set(_modules("keldysh"))
    assert {"semiclassics.geometry", "validation.catalog.weyl", "validation.registry"} <= (
        set(_modules("semiclassics")) | set(_modules("validation"))
    )
    assert {"semiclassics", "keldysh"} <= _top_levels(ROOT / "validation/catalog/common.py")


@pytest.mark.parametrize(
    "folder, forbidden",
    [
        ("keldysh", {"semiclassics", "validation"}),
        ("semiclassics", {"keldysh", "validation"}),
        ("tests/keldysh", {"semiclassics", "validation"}),
        ("tests/semiclassics", {"validation"}),
    ],
)
def test_imports_flow_one_way(folder, forbidden):
    offending = {m: sorted(_top_levels(p) & forbidden) for m, p in _modules(folder).items()}
    assert not {m: names for m, names in offending.items() if names}, f"{folder} must not import {sorted(forbidden)}"


def test_validation_modules_form_no_cycle():
    graph = _validation_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(target):] + [module, target]))
            if target not in state:
                walk(target, path + [module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [])


def test_catalog_is_reached_only_through_its_entry_point():
    """No validation module outside the catalog imports it (the registry loads it as a plugin)."""
    graph = _validation_graph()
    importers = {m for m, targets in graph.items() if not m.startswith("validation.catalog")
                 and any(t.startswith("validation.catalog") for t in targets)}
    assert not importers


def _within(module: str, names: set[str]) -> bool:
    return any(module == n or module.startswith(n + ".") for n in names)


def test_fingerprinted_modules_import_only_fingerprinted_modules():
    """What computes a cached number lies inside the code fingerprint: no executor, cache, report or CLI code
    can change a number without changing the fingerprint. The one import allowed across the line is the
    registry, through which the catalog registers its comparisons (it stores them and computes nothing)."""
    fingerprinted = {_module_name(ROOT / rel) if rel.endswith(".py") else rel.replace("/", ".")
                     for rel in FINGERPRINTED_SOURCES if rel.startswith("validation")}
    assert {"validation.points", "validation.sweep", "validation.comparison", "validation.catalog"} <= fingerprinted
    machinery = {"validation.executor", "validation.cluster", "validation.cli", "validation.cache", "validation.report"}
    assert machinery <= set(_modules("validation")) and not any(_within(m, fingerprinted) for m in machinery)
    allowed = fingerprinted | {"validation.registry"}
    graph = _validation_graph()
    outside = {m: sorted(t for t in targets if not _within(t, allowed))
               for m, targets in graph.items() if _within(m, fingerprinted)}
    assert not {m: t for m, t in outside.items() if t}
