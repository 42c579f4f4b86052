"""The README's results section is generated from the committed snapshot of the run it quotes (docs/results/).

CI checks this without running the suite: the section is regenerated from the snapshot's summary.csv and
run.json and must equal the committed README text, stamped with that run's date and git commit.
"""

from __future__ import annotations

import csv
import json

import pytest

from validation import Sweep, run
from validation.cli import main
from validation.readme import END, README, SNAPSHOT, START, readme_section, results_section
from validation.report import write_reports
from validation.testing import synthetic_comparison


def test_committed_readme_section_is_what_the_snapshot_gives():
    assert readme_section(README) == results_section(SNAPSHOT, README), (
        "README.md's results section is stale: run `keldysh-validate readme --keep-snapshot` "
        "(or `keldysh-validate readme DIR` after a new run)"
    )


def test_the_section_names_the_run_it_came_from_and_every_comparison_of_it():
    record = json.loads((SNAPSHOT / "run.json").read_text())
    with (SNAPSHOT / "summary.csv").open() as fh:
        names = [row["comparison"] for row in csv.DictReader(fh)]
    assert names and names == list(record["comparisons"])
    section = readme_section(README)
    commit = record["environment"]["git"]["commit"]
    assert record["generated"] in section and (commit is None or commit[:12] in section)
    assert all(f"`{name}`" in section for name in names)  # in the claims table
    assert "seconds" not in json.dumps(record["comparisons"])  # timings stay out of the snapshot


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    sweep = Sweep.log(1e-1, 1e-3, 4)
    results = run([
        synthetic_comparison("readme_printed[synthetic]", {1: 1.0}, sweep=sweep, equation="Eq. 5",
                             counterpart="readme_corrected[synthetic]", difference="the sign of the linear term"),
        synthetic_comparison("readme_corrected[synthetic]", {2: 1.0}, sweep=sweep, equation="Eq. 5",
                             prediction_kind="corrected"),
    ], workers=1)
    out = tmp_path_factory.mktemp("run")
    write_reports(results, out, context=["Suite `test`."], run_info={"suite": "test"})
    return out


@pytest.mark.slow
def test_readme_command_copies_the_run_and_regenerates_the_section(small_run, tmp_path, capsys):
    readme, snapshot = tmp_path / "README.md", tmp_path / "docs" / "results"
    readme.write_text(f"# Title\n\nbefore\n\n{START}\nold text\n{END}\n\nafter\n")
    args = ["--readme", str(readme), "--snapshot", str(snapshot)]
    assert main(["readme", str(small_run), *args]) == 0
    assert (snapshot / "summary.csv").read_bytes() == (small_run / "summary.csv").read_bytes()
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n") and "old text" not in text
    section = readme_section(readme)
    assert "[docs/results/](docs/results/)" in section  # linked relative to the README
    assert "| Eq. 5 | printed | 2 | ▼ fails at O(hbar) | `readme_printed[synthetic]` 1.00 |" in section
    assert "(`readme_printed[synthetic]`): the sign of the linear term" in section  # the counterpart's text
    assert main(["readme", "--check", *args]) == 0
    readme.write_text(text.replace("1.00", "1.01"))
    capsys.readouterr()
    assert main(["readme", "--check", *args]) == 1
    assert "differs" in capsys.readouterr().err
    assert main(["readme", "--keep-snapshot", *args]) == 0 and readme.read_text() == text
    with pytest.raises(SystemExit, match="cannot be combined"):
        main(["readme", str(small_run), "--check", *args])
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="must hold one"):
        main(["readme", "--keep-snapshot", *args])
