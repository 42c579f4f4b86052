"""Two runs side by side: which verdicts changed, which orders moved, which comparisons came or went.

Only the runs' summary.csv files are read (a report directory, or the file
itself), so any two runs compare, including a snapshot such as
``docs/results/``. A change is classified as

- ``worse`` / ``better``: the verdict moved down / up the order of
  :mod:`validation.verdicts` (best to worst: agrees at every field, exact to
  O(hbar), non-perturbative onset, inconclusive, fails at O(hbar), another
  verdict, error);
- ``changed``: a different verdict text of the same rank (e.g. another onset threshold);
- ``order``: the same verdict, but the new fitted order lies outside the old
  run's 95% interval, or an order was fitted in one run only;
- ``new`` / ``removed``: the comparison is in one run only.

The ranking measures agreement with the exact side, not agreement with what
the theory expects: an ablation that used to fail and now passes counts as
``better``, and deserves a look all the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .records import ComparisonRecord, read_summary
from .verdicts import verdict_rank, verdict_style

__all__ = ["KINDS", "Change", "diff_runs", "format_diff", "read_and_diff", "run_label"]

#: Kinds of change, in the order they are listed.
KINDS = ("worse", "better", "changed", "order", "new", "removed")


@dataclass(frozen=True)
class Change:
    """One comparison that differs between two runs (``old`` / ``new`` is None when it is missing there)."""

    kind: str
    name: str
    old: ComparisonRecord | None
    new: ComparisonRecord | None


def _order_moved(old: ComparisonRecord, new: ComparisonRecord) -> bool:
    if old.has_order != new.has_order:
        return True
    if not old.has_order:
        return False
    lo, hi = old.order_ci
    return not lo <= new.fitted_order <= hi


def diff_runs(old: Sequence[ComparisonRecord], new: Sequence[ComparisonRecord]) -> list[Change]:
    """The changes from ``old`` to ``new``, grouped by kind (:data:`KINDS`), in the new run's order."""
    old_by, new_by = {r.name: r for r in old}, {r.name: r for r in new}
    changes = []
    for r in new:
        before = old_by.get(r.name)
        if before is None:
            changes.append(Change("new", r.name, None, r))
            continue
        a, b = verdict_rank(before.verdict), verdict_rank(r.verdict)
        if b > a:
            kind = "worse"
        elif b < a:
            kind = "better"
        elif before.verdict != r.verdict:
            kind = "changed"
        elif _order_moved(before, r):
            kind = "order"
        else:
            continue
        changes.append(Change(kind, r.name, before, r))
    changes += [Change("removed", r.name, r, None) for r in old if r.name not in new_by]
    return sorted(changes, key=lambda c: KINDS.index(c.kind))


def run_label(path: str | Path) -> str:
    """``path (run of <date>, git commit <12 hex>)`` from the run.json beside summary.csv, if there is one."""
    path = Path(path)
    provenance = (path if path.is_dir() else path.parent) / "run.json"
    if not provenance.is_file():
        return str(path)
    record = json.loads(provenance.read_text())
    commit = (record.get("environment", {}).get("git", {}).get("commit") or "unknown")[:12]
    return f"{path} (run of {record.get('generated', 'an unknown date')}, git commit {commit})"


def _state(r: ComparisonRecord | None) -> str:
    if r is None:
        return "-"
    return f"{verdict_style(r.verdict).glyph} {r.verdict}, order {r.order_text('.3f') if r.has_order else '-'}"


def format_diff(changes: Sequence[Change], old_label: str, new_label: str, compared: int) -> str:
    """Text report of :func:`diff_runs`: one line per change, then counts."""
    lines = [f"old: {old_label}", f"new: {new_label}"]
    if changes:
        width = max(len(c.name) for c in changes)
        for c in changes:
            lines.append(f"{c.kind:<8} {c.name:<{width}}  {_state(c.old)}  ->  {_state(c.new)}")
    counts = {k: sum(c.kind == k for c in changes) for k in KINDS}
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no changes"
    lines.append(f"{compared} comparison(s) in both runs; {summary}")
    return "\n".join(lines)


def read_and_diff(old: str | Path, new: str | Path) -> tuple[list[Change], str]:
    """Read two runs' summary.csv, diff them, and format the result."""
    before, after = read_summary(old), read_summary(new)
    changes = diff_runs(before, after)
    compared = len({r.name for r in before} & {r.name for r in after})
    return changes, format_diff(changes, run_label(old), run_label(new), compared)
