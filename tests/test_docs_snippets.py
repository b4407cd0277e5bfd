"""The documentation holds up: README.md, CONTRIBUTING.md, CHANGELOG.md and every docs/*.md page.

- Every fenced block marked ``python`` runs as written (in a fresh namespace, in a temporary folder), one test per
  block, its id the page and line. Blocks that must not run are fenced as ``bash``, ``text`` or with no language.
- Every relative link and image points at a file that exists (as on GitHub: relative to the page), and every
  ``#anchor`` into a markdown page at one of its headings.
- Every path into the code named in backticks (``anchorbench/fit/api.py``, ``tests/``) exists (not checked in
  CHANGELOG.md, whose history names files that are gone).
- docs/*.md and the ``nav`` of mkdocs.yml list the same pages.
- The README's estimator table is docs/estimators.md's, and its names are the registry's.
"""

import re

import pytest
import yaml
from markdown.extensions.toc import slugify

import estimators
from anchorbench.paths import REPO

ROOT_PAGES = ("README.md", "CONTRIBUTING.md", "CHANGELOG.md")
PAGES = [*ROOT_PAGES, *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
ANY_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
# backticked paths into these folders are checked; results/, data/ and the mirror's layout are outputs or inputs
CODE_DIRS = ("estimators/", "anchorbench/", "tasks/", "flows/", "tests/", "bench/", "docs/", ".ci/")
TABLE = re.compile(r"^\| name \|.*?(?=\n\n)", re.S | re.M)


def _text(page: str) -> str:
    return (REPO / page).read_text()


def _blocks():
    for page in PAGES:
        text = _text(page)
        for match in FENCE.finditer(text):
            line = text[: match.start()].count("\n") + 1
            yield pytest.param(match.group(1), id=f"{page}:{line}")


BLOCKS = list(_blocks())


def _slug(heading: str) -> str:
    """The anchor of a heading as MkDocs' toc makes it (GitHub's agrees for headings without punctuation runs)."""
    return slugify(re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading), "-")


def _anchors(page_text: str) -> set[str]:
    body = ANY_FENCE.sub("", page_text)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", body, re.M)}


def test_every_page_is_found_and_the_readme_has_python_snippets():
    assert {"README.md", "docs/index.md", "docs/estimators.md"} <= set(PAGES)
    assert any(b.id.startswith("README.md") for b in BLOCKS)


@pytest.mark.parametrize("code", BLOCKS)
def test_snippet_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write files write here
    exec(compile(code, "<snippet>", "exec"), {"__name__": "__snippet__"})


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_and_anchors_resolve(page):
    base = (REPO / page).parent
    broken = []
    for target in LINK.findall(ANY_FENCE.sub("", _text(page))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        file = (base / path).resolve() if path else REPO / page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text()):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{page}: {broken}"


@pytest.mark.parametrize("page", [p for p in PAGES if p != "CHANGELOG.md"])  # history names removed files
def test_paths_into_the_code_exist(page):
    missing = []
    for token in INLINE_CODE.findall(ANY_FENCE.sub("", _text(page))):
        for word in token.split(", "):
            if word.startswith(CODE_DIRS) and not re.search(r"[<>{}*$ ]", word) and not (REPO / word).exists():
                missing.append(word)
    assert not missing, f"{page} names paths that do not exist: {missing}"


def test_every_docs_page_is_in_the_nav_and_back():
    config = yaml.safe_load(_text("mkdocs.yml"))

    def entries(nav):
        for item in nav:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            yield from entries(value) if isinstance(value, list) else [value]

    nav = set(entries(config["nav"]))
    docs = {p.removeprefix("docs/") for p in PAGES if p.startswith("docs/")}
    assert docs - nav == set(), "docs pages missing from mkdocs.yml's nav"
    assert nav - docs - {"CONTRIBUTING.md", "CHANGELOG.md"} == set(), "nav entries without a page"


def test_the_readme_estimator_table_is_the_estimators_page_one():
    readme, page = (TABLE.search(_text(p)) for p in ("README.md", "docs/estimators.md"))
    assert readme and page and readme.group(0) == page.group(0)
    rows = page.group(0).splitlines()[2:]
    names = {n for row in rows for n in re.findall(r"`([a-z_0-9]+)`", row.split("|")[1])}
    assert names == set(estimators.available())
