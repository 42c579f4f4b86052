"""The repository documents itself: no pointers outside it, no dead links, the paper cited.

A user who clones the repository has only what is in it. So:

1. no tracked file (code, docs, tests, README, pyproject) refers to a path
   outside the repository (reading notes or a paper copy next to the checkout);
2. every relative Markdown link in README.md and docs/**/*.md resolves to an
   existing file of the repository (and, for a link into a Markdown page, to one
   of its headings);
3. the paper's reference (arXiv:2210.09905) appears in README.md, docs/index.md
   and the package metadata;
4. the complete Python examples of docs/ run as printed and give what they claim.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARXIV_ID = "2210.09905"

#: Path fragments that only make sense outside the repository. Built by
#: concatenation so that this file does not contain them literally.
OUTSIDE_PATTERNS = tuple(
    re.escape(p)
    for p in (
        "shared" + "/notes",
        "shared" + "/paper",
        "../" + "shared",
        "/work" + "/",
    )
)
OUTSIDE = re.compile("|".join(OUTSIDE_PATTERNS))

#: Directories never scanned when git is unavailable (build products, caches, environments).
SKIP_DIRS = {".git", "build", "dist", "reports", ".pytest_cache", "__pycache__", ".venv", ".venv-peers"}


def _tracked_files() -> list[Path]:
    """Files tracked by git (present in the working tree); a walk of the tree when git is unavailable."""
    git = shutil.which("git")
    if git is not None and (ROOT / ".git").exists():
        out = subprocess.run([git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
        paths = [ROOT / p for p in out.split("\0") if p]
    else:
        paths = [
            p
            for p in ROOT.rglob("*")
            if not any(part in SKIP_DIRS or part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)
        ]
    return sorted(p for p in paths if p.is_file())


def _text(path: Path) -> str | None:
    """The file's text, or None for a binary file."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_outside_pattern_matches_what_it_should():
    """The pattern catches the forms it is meant for and leaves ordinary text alone."""
    assert OUTSIDE.search("see " + "shared" + "/notes/conventions.md")
    assert OUTSIDE.search("text in `" + "../" + "shared" + "/paper/x.md`")
    assert not OUTSIDE.search("memory shared between workers; docs/conventions.md")


def test_no_tracked_file_points_outside_the_repository():
    files = _tracked_files()
    assert any(p.name == "pyproject.toml" for p in files), "the file list misses pyproject.toml"
    hits = []
    for path in files:
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not hits, "references to paths outside the repository:\n" + "\n".join(hits)


# --- Markdown links ------------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")  # a scheme (http:, mailto:) or protocol-relative
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _anchors(text: str) -> set[str]:
    """GitHub-style anchors of the headings of a Markdown text (duplicates get -1, -2, ...)."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in HEADING.findall(FENCE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_anchor_slugs():
    text = "# Uniform E: temporal gauge\n## su(N) Bloch vectors\n## Notes\n## Notes\n```\n# not a heading\n```\n"
    assert _anchors(text) == {"uniform-e-temporal-gauge", "sun-bloch-vectors", "notes", "notes-1"}


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _relative_links(text: str) -> list[str]:
    """Relative link targets of a Markdown text, outside code blocks and code spans."""
    prose = INLINE_CODE.sub("", FENCE.sub("", text))
    targets = INLINE_LINK.findall(prose) + REFERENCE_DEF.findall(prose)
    return [t for t in targets if not EXTERNAL.match(t)]


def test_link_extraction():
    text = (
        "See [a](docs/a.md#part), [web](https://example.org), [mail](mailto:x@y.org), [top](#top),\n"
        '`[not](in_code.md)` and\n```\n[not](in_fence.md)\n```\n[ref]: ../x/y.md\n![img](fig.png "title")\n'
    )
    assert sorted(_relative_links(text)) == sorted(["docs/a.md#part", "#top", "fig.png", "../x/y.md"])


def test_docs_exist():
    assert (ROOT / "docs" / "index.md").is_file()
    assert (ROOT / "docs" / "conventions.md").is_file()


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_markdown_links_resolve(page: Path):
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in _relative_links(text):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(target)
        elif not resolved.is_relative_to(ROOT):
            broken.append(f"{target} (outside the repository)")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved.read_text(encoding="utf-8")):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)} has broken links: {broken}"


# --- the paper's reference ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["README.md", "docs/index.md"])
def test_paper_reference_in_readme_and_docs(name: str):
    text = (ROOT / name).read_text(encoding="utf-8")
    assert f"arXiv:{ARXIV_ID}" in text, f"{name} lacks the paper reference arXiv:{ARXIV_ID}"
    assert "Valet" in text and "Raimondi" in text, f"{name} lacks the authors of the paper"


def test_paper_reference_in_package_metadata():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    fields = [project.get("description", ""), *project.get("urls", {}).values()]
    assert any(ARXIV_ID in field for field in fields), (
        f"pyproject.toml [project] names the paper (arXiv {ARXIV_ID}) neither in description nor in urls"
    )


# --- the examples run as printed -----------------------------------------------------------------

PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _examples() -> list[tuple[Path, int, str]]:
    """Complete Python examples of the docs: fenced ``python`` blocks that start with an import."""
    out = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for number, block in enumerate(PYTHON_BLOCK.findall(page.read_text(encoding="utf-8"))):
            if block.lstrip().startswith(("import ", "from ")):
                out.append((page, number, block))
    return out


def test_docs_have_examples():
    pages = {page.name for page, _, _ in _examples()}
    assert {"index.md", "adding_a_comparison.md", "chebyshev.md", "evolution.md"} <= pages


@pytest.mark.slow  # exact kernels and a Magnus evolution: a few seconds in all
@pytest.mark.parametrize(
    "page, number, code", _examples(), ids=[f"{p.relative_to(ROOT)}:{n}" for p, n, _ in _examples()]
)
def test_python_examples_run(page: Path, number: int, code: str, isolated_registry):
    ns: dict = {"__name__": "docs_example"}  # examples guarded by `if __name__ == "__main__"` only define
    exec(compile(code, f"{page}:{number}", "exec"), ns)
    if page.name == "index.md":
        # Eq. 15 is exact to O(hbar): the residual is second order in the flux (an O(hbar) error would be ~flux)
        assert np.max(np.abs(ns["exact"] - ns["predicted"])) < 10 * ns["field"].flux ** 2
    elif page.name == "chebyshev.md":
        assert ns["kernel"].error <= 1e-11 and ns["W"].shape == (100, 2, 2)
        np.testing.assert_allclose(ns["W"], np.conj(np.swapaxes(ns["W"], -1, -2)), atol=1e-11)  # W of a projector
    elif page.name == "evolution.md":
        # filled lower band of qwz(1, 0.3), Chern number -1: sigma_yx = -sigma_xy = C = -1 in units of q^2/h
        assert abs(2 * np.pi * ns["j"][1] / 0.01 + 1) < 1e-4
    elif page.name == "development.md":
        # read_report gives the run back: Eq. 15 exact to O(hbar) on the three points, one row per point
        assert ns["report"].summary.loc["total_spectral_weight[qwz]", "fitted_order"] >= 1.8
        assert len(ns["points"]) == 3 and ns["points"].attrs["units"] == "dimensionless"
    elif "comparison" in ns:
        assert ns["comparison"].name in isolated_registry  # registered through the public API
