"""Every fenced Python block of the README and CONTRIBUTING.md runs as written (in a fresh namespace)."""

import re

import pytest

from anchorbench.paths import REPO

DOCS = ("README.md", "CONTRIBUTING.md")
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks():
    for doc in DOCS:
        path = REPO / doc
        text = path.read_text() if path.exists() else ""
        for i, match in enumerate(FENCE.finditer(text)):
            line = text[: match.start()].count("\n") + 1
            yield pytest.param(match.group(1), id=f"{doc}:{line}")


BLOCKS = list(_blocks())


def test_the_readme_has_python_snippets():
    assert any(b.id.startswith("README.md") for b in BLOCKS)


@pytest.mark.parametrize("code", BLOCKS)
def test_snippet_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write files write here
    exec(compile(code, "<snippet>", "exec"), {"__name__": "__snippet__"})
