"""The README/docs tables are generated from results/*/metrics.json (`anchorbench docs`): the committed pages must
agree with the committed results, and a block is rewritten when its results change."""

import json
import shutil

from anchorbench import generated
from anchorbench.paths import REPO


def test_the_committed_pages_agree_with_the_committed_results():
    assert generated.stale() == [], "run `anchorbench docs` (make repro does) and commit the pages"


def test_a_block_follows_its_results_and_says_when_they_are_missing(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("")
    page = tmp_path / "docs/page.md"
    page.write_text("x\n<!-- generated: bmi/counts -->\nold\n<!-- end generated -->\n")
    assert generated.stale(tmp_path) == ["docs/page.md"]
    generated.write(tmp_path)
    assert "dvc repro bmi" in page.read_text() and "old" not in page.read_text()  # no results: a note
    metrics = tmp_path / "results/bmi/metrics.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"tasks": {"1000": 4}, "within": {"infonce_anchor": {"1000": {"0": 3}}},
                                   "per_family": {}, "per_task": []}))
    assert generated.write(tmp_path) == ["docs/page.md"]
    assert "3/4" in page.read_text() and generated.stale(tmp_path) == []


def test_every_block_names_a_table_its_experiment_makes(tmp_path):
    """Render every block of the real pages against the committed results (missing ones give the note)."""
    shutil.copytree(REPO / "results", tmp_path / "results", ignore=shutil.ignore_patterns("units", "trials"))
    for page in generated.pages():
        generated.refresh(page.read_text(), tmp_path)  # raises on a table an experiment does not make
