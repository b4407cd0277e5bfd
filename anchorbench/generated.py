"""Docs tables generated from the committed results: nothing in the README or docs/ is typed by hand.

A page marks a generated block with two comments; ``anchorbench docs`` rewrites what lies between them from the
experiment's ``results/<key>/metrics.json`` (``Experiment.tables``), and ``anchorbench docs --check`` (a test)
fails when a page disagrees with the results::

    <!-- generated: protein/claims -->
    ...
    <!-- end generated -->
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from anchorbench import experiments
from anchorbench.paths import REPO

BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+/[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def pages(root: Path = REPO) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def render(name: str, root: Path = REPO) -> str:
    """The table ``<key>/<table>`` from ``<root>/results/<key>/metrics.json``."""
    key, table = name.split("/")
    path = root / "results" / key / "metrics.json"
    if not path.is_file():  # a stage whose results are not committed yet: say so, never an empty table
        return (f"*Not in this repo's results yet: `dvc repro {key}` writes `results/{key}/metrics.json`, then "
                "`anchorbench docs` fills this table.*\n")
    tables = experiments.get(key).tables(json.loads(path.read_text()))
    if table not in tables:
        raise ValueError(f"generated block {name!r}: experiment {key!r} makes tables {sorted(tables)}")
    return tables[table].rstrip() + "\n"


def refresh(text: str, root: Path = REPO) -> str:
    """``text`` with every generated block rewritten from the results."""
    return BLOCK.sub(lambda m: m.group(1) + render(m.group("name"), root) + m.group(4), text)


def stale(root: Path = REPO) -> list[str]:
    """The pages whose generated blocks disagree with the results."""
    return [str(p.relative_to(root)) for p in pages(root) if refresh(p.read_text(), root) != p.read_text()]


def write(root: Path = REPO) -> list[str]:
    """Rewrite every page's generated blocks; the pages that changed."""
    changed = stale(root)
    for rel in changed:
        page = root / rel
        page.write_text(refresh(page.read_text(), root))
    return changed
