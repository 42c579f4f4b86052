"""A report is never shrunk by accident: the check before a run writes into a folder holding one.

A run that would write fewer comparisons than the report it replaces (a
narrower ``--only``, another suite, a selection that came out empty) would
otherwise overwrite ``summary.csv``, ``run.json`` and the index pages with a
smaller report. :func:`check_replaces` refuses that, naming what would be
dropped, unless the caller asks for it (``replace=True``,
``keldysh-validate run --replace``). ``keldysh-validate run`` checks before
computing anything.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ReportShrinkError", "check_replaces", "reported_comparisons"]


class ReportShrinkError(FileExistsError):
    """Writing a report would drop comparisons of the report already in the folder."""


def reported_comparisons(out: str | Path) -> list[str]:
    """The comparisons listed in ``out/summary.csv``; [] if there is none or it cannot be read."""
    try:
        with (Path(out) / "summary.csv").open(newline="", encoding="utf-8") as fh:
            return [row["comparison"] for row in csv.DictReader(fh) if row.get("comparison")]
    except (OSError, csv.Error, KeyError, UnicodeDecodeError):  # a broken report protects nothing
        return []


def check_replaces(out: str | Path, names: Sequence[str], replace: bool = False) -> None:
    """Refuse to write a report of ``names`` into ``out`` if that would drop comparisons of the report there.

    Raises
    ------
    ReportShrinkError
        If ``out/summary.csv`` lists a comparison not in ``names`` and
        ``replace`` is False; the message names the dropped comparisons and
        what to do instead.
    """
    existing = reported_comparisons(out)
    keep = set(names)
    dropped = [n for n in existing if n not in keep]
    if dropped and not replace:
        shown = ", ".join(dropped[:5]) + (", ..." if len(dropped) > 5 else "")
        raise ReportShrinkError(
            f"{out}/ holds a report of {len(existing)} comparison(s); this run would write {len(names)} and drop "
            f"{len(dropped)} of them ({shown}). Nothing was overwritten: write this run elsewhere (--out DIR), "
            "or replace the report on purpose (--replace, or replace=True)"
        )
