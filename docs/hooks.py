"""MkDocs hook (``hooks:`` in mkdocs.yml): the site also serves the repo files the pages link to.

The pages read as well on GitHub as on the site, so they link to repo files by their path from the page:
``../results/mi_benchmark/figure1.png`` or ``../CONTRIBUTING.md`` from docs/, ``docs/estimators.md`` from
CONTRIBUTING.md. MkDocs knows only docs/, so this hook adds the root pages (CONTRIBUTING.md, CHANGELOG.md) and the
committed figures (results/, bench/results/) to the site under their repo paths, and rewrites those links to match.
"""

import re
from pathlib import Path

from mkdocs.structure.files import File

REPO = Path(__file__).resolve().parent.parent
ROOT_PAGES = ("CONTRIBUTING.md", "CHANGELOG.md")
FIGURES = ("results/**/*.png", "bench/results/*.png")
FROM_DOCS = re.compile(r"\]\(\.\./")   # a link or image target leaving docs/: ](../X) -> ](X)
INTO_DOCS = re.compile(r"\]\(docs/")   # a root page's link into docs/: ](docs/X) -> ](X)


def on_files(files, config):
    site = (str(REPO), config["site_dir"], config["use_directory_urls"])
    for name in ROOT_PAGES:
        files.append(File(name, *site))
    for pattern in FIGURES:
        for path in sorted(REPO.glob(pattern)):
            files.append(File(path.relative_to(REPO).as_posix(), *site))
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri in ROOT_PAGES:
        return INTO_DOCS.sub("](", markdown)
    return FROM_DOCS.sub("](", markdown)
