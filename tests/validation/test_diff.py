"""``keldysh-validate diff OLD NEW``: changed verdicts, moved orders, new and removed comparisons, exit status."""

from __future__ import annotations

import csv

import pytest

from validation import ALL_ORDERS, ERROR, EXACT, FAILS, INCONCLUSIVE, NONPERTURBATIVE
from validation.cli import main
from validation.diff import KINDS, diff_runs
from validation.records import SUMMARY_COLUMNS, read_summary


def _write(path, rows):
    """A summary.csv with rows (name, verdict, order, lo, hi); order None: not fitted."""
    path.mkdir(parents=True, exist_ok=True)
    with (path / "summary.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        for name, verdict, order, lo, hi in rows:
            writer.writerow({
                "comparison": name, "model": "m", "prediction": "printed", "equation": "Eq. 1", "sweep": "flux",
                "fitted_order": "nan" if order is None else f"{order:.4f}",
                "order_ci": "" if order is None else f"[{lo:.4f}, {hi:.4f}]",
                "verdict": verdict, "max_residual": "1.0000e-06", "units": "1",
            })
    return path


OLD = [
    ("steady[a]", EXACT, 2.0, 1.99, 2.01),
    ("moved[a]", EXACT, 2.0, 1.99, 2.01),
    ("worse[a]", EXACT, 2.0, 1.99, 2.01),
    ("better[a]", FAILS, 1.0, 0.99, 1.01),
    ("floor[a]", ALL_ORDERS, None, None, None),
    ("raised[a]", INCONCLUSIVE, 1.5, 1.3, 1.7),
    ("gone[a]", EXACT, 2.0, 1.99, 2.01),
]
NEW = [
    ("steady[a]", EXACT, 2.005, 1.995, 2.015),  # inside the old interval: not listed
    ("moved[a]", EXACT, 2.1, 2.09, 2.11),  # outside the old interval, same verdict
    ("worse[a]", FAILS, 1.0, 0.99, 1.01),
    ("better[a]", EXACT, 2.0, 1.99, 2.01),
    ("floor[a]", EXACT, 2.0, 1.99, 2.01),  # every point at the floor before: worse now
    ("raised[a]", ERROR, None, None, None),
    ("added[a]", NONPERTURBATIVE, 30.0, 10.0, 50.0),
]


def test_diff_classifies_every_change(tmp_path):
    old, new = _write(tmp_path / "old", OLD), _write(tmp_path / "new", NEW)
    changes = diff_runs(read_summary(old), read_summary(new))
    found = {c.name: c.kind for c in changes}
    assert found == {"moved[a]": "order", "worse[a]": "worse", "better[a]": "better", "floor[a]": "worse",
                     "raised[a]": "worse", "added[a]": "new", "gone[a]": "removed"}
    assert [KINDS.index(c.kind) for c in changes] == sorted(KINDS.index(c.kind) for c in changes)


def test_exit_status_is_one_only_when_a_verdict_got_worse(tmp_path, capsys):
    old, new = _write(tmp_path / "old", OLD), _write(tmp_path / "new", NEW)
    assert main(["diff", str(old), str(new / "summary.csv")]) == 1
    text = capsys.readouterr().out
    assert "worse    worse[a]" in text and "6 comparison(s) in both runs; 3 worse, 1 better, 1 order, 1 new, 1 removed" in text
    assert main(["diff", str(new), str(old)]) == 1  # the other way round, better[a] got worse
    capsys.readouterr()
    assert main(["diff", str(old), str(old)]) == 0
    assert "no changes" in capsys.readouterr().out
    improved = _write(tmp_path / "improved", [(n, EXACT, 2.0, 1.99, 2.01) for n, *_ in OLD if n != "floor[a]"]
                      + [("floor[a]", ALL_ORDERS, None, None, None)])
    assert main(["diff", str(old), str(improved)]) == 0  # only better verdicts: success
    with pytest.raises(SystemExit, match="no summary.csv"):
        main(["diff", str(tmp_path / "nowhere"), str(old)])
