"""CI runs the README's test command, and the documented fast loop is what the slow marker selects."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ci_pytest_command() -> str:
    (command,) = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line
                  and not line.lstrip().startswith("#") and "pip" not in line]
    return command


def test_readme_and_development_docs_give_the_command_ci_runs():
    command = _ci_pytest_command()
    assert command.startswith("python -m pytest")
    for page in ("README.md", "docs/development.md"):
        assert f"`{command}`" in (ROOT / page).read_text(), f"{page} does not give CI's test command {command!r}"


def test_fast_loop_is_documented_and_the_slow_marker_declared():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert any(re.match(r"slow:", m) for m in config["markers"])
    for page in ("README.md", "docs/development.md"):
        assert '`python -m pytest -m "not slow"`' in (ROOT / page).read_text(), page
