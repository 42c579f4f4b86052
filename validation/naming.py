"""File names derived from comparison names, shared by the reports and the results cache."""

from __future__ import annotations

import re

__all__ = ["slug"]


def slug(name: str) -> str:
    """File stem for a comparison name: ``spectral_weights_printed[qwz]`` -> ``spectral_weights_printed-qwz``.

    Raises
    ------
    ValueError
        If nothing of the name survives (e.g. ``"[]"``).
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    if not stem:
        raise ValueError(f"comparison name {name!r} gives an empty file name")
    return stem
