"""The README's worked example of adding a comparison runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from validation import EXACT

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = README.read_text()
    section = re.search(r"<!-- validation:start -->(.*)<!-- validation:end -->", text, re.S)
    assert section, "README.md lacks the validation markers"
    example = re.search(r"<!-- example:start -->\s*```python\n(.*?)```\s*<!-- example:end -->", section.group(1), re.S)
    assert example, "the validation section lacks a ```python block between the example markers"
    return example.group(1)


@pytest.mark.slow  # three exact kernels of a model outside the catalog (5-40 s, machine load)
def test_readme_example_is_short_and_runs(isolated_registry):
    code = _example()
    assert len(code.strip().splitlines()) < 30
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    result = namespace["result"]
    assert result.name in isolated_registry  # registered through the public decorator
    assert len(result.sweep.values) <= 5  # the example's own short sweep
    # Eq. 15 is exact to O(hbar): the residual of the lower-band weight shrinks like flux^2
    assert result.verdict == EXACT and 1.8 <= result.fitted_order <= 2.3
