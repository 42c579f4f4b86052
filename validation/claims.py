"""The paper's claims as a run measured them: comparisons grouped by equation, form and verdict.

A comparison's form is its ``prediction_kind``: ``printed``, ``corrected``, or
any other label (an ablation, a rival theory); every label present is shown,
printed first, corrected second, then the others alphabetically. What differs
where a printed form fails is taken from the comparisons' own ``difference``
texts (the failing comparison's, else its counterpart's), never written here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .convergence import FAILS_MAX_ORDER
from .records import ComparisonRecord
from .verdicts import is_failure, verdict_rank

__all__ = ["Difference", "by_equation", "claim_groups", "differences", "equation_key"]

_FORM_ORDER = {"printed": 0, "corrected": 1}


def equation_key(label: str) -> tuple[float, str, str]:
    """Sort key of an equation label: its first number, then its letter (``"Eq. 28b"`` -> (28, "b", label))."""
    match = re.search(r"(\d+)([a-z]?)", label)
    if not match:
        return (math.inf, "", label)
    return (float(match.group(1)), match.group(2), label)


def by_equation(records: Sequence[ComparisonRecord]) -> list[ComparisonRecord]:
    """The records grouped by equation (in the paper's order), each group in run order."""
    return sorted(records, key=lambda r: equation_key(r.equation))


def _form_key(kind: str) -> tuple[int, str]:
    return (_FORM_ORDER.get(kind, 2), kind)


Members = list[ComparisonRecord]


def claim_groups(
    records: Sequence[ComparisonRecord],
) -> list[tuple[str, list[tuple[str, list[tuple[str, Members]]]]]]:
    """``[(equation, [(form, [(verdict, [records...]), ...]), ...]), ...]``, equations in the paper's order,
    forms printed / corrected / others, verdicts best first, records in run order."""
    groups: dict[str, dict[str, dict[str, Members]]] = {}
    for r in by_equation(records):
        groups.setdefault(r.equation, {}).setdefault(r.prediction_kind, {}).setdefault(r.verdict, []).append(r)
    return [
        (eq, [
            (kind, sorted(verdicts.items(), key=lambda item: (verdict_rank(item[0]), item[0])))
            for kind, verdicts in sorted(forms.items(), key=lambda item: _form_key(item[0]))
        ])
        for eq, forms in groups.items()
    ]


@dataclass(frozen=True)
class Difference:
    """What differs for the printed form of one equation that did not hold with one verdict."""

    equation: str
    kind: str
    verdict: str
    failing: tuple[str, ...]
    text: str
    expected: str  # the expected order when the theory itself expects the form to fail, else ""


def differences(records: Sequence[ComparisonRecord]) -> list[Difference]:
    """One :class:`Difference` per (equation, verdict, text) where a printed form fails or is inconclusive."""
    by_name = {r.name: r for r in records}
    found: dict[tuple[str, str, str], list[ComparisonRecord]] = {}
    for r in by_equation(records):
        if r.prediction_kind != "printed" or not is_failure(r.verdict):
            continue
        other = by_name.get(r.counterpart) if r.counterpart else None
        text = r.difference or (other.difference if other is not None else "")
        found.setdefault((r.equation, r.verdict, text), []).append(r)
    out = []
    for (eq, verdict, text), members in found.items():
        expected = {m.expected_order for m in members}
        claimed_fail = all(e <= FAILS_MAX_ORDER for e in expected)
        out.append(Difference(
            eq, "printed", verdict, tuple(m.name for m in members), text,
            ", ".join(f"{e:g}" for e in sorted(expected)) if claimed_fail else "",
        ))
    return out
