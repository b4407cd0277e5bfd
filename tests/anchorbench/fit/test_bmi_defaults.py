"""The fit defaults on the bmi benchmark (Czyz et al. 2023): one task of every family, data seed 0, 10,000 pairs.

Needs the arrays of anchorbench/bmi/sample_tasks.py (run by bmi's venv: ``make setup-bmi``) in the folder named by
$ANCHORBENCH_BMI_DATA; skipped cleanly without them. The task of a family is its first in the manifest. Passing
means within 10 % of the task's exact MI or 0.05 nat, whichever is looser (the benchmark's criterion here).
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from anchorbench.fit import fit_critic

pytestmark = pytest.mark.slow

DATA = Path(os.environ.get("ANCHORBENCH_BMI_DATA", "/nonexistent"))
MANIFEST = DATA / "manifest.json"


def family_tasks() -> list:
    if not MANIFEST.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason="no bmi arrays: set ANCHORBENCH_BMI_DATA"))]
    first = {}
    for task in json.loads(MANIFEST.read_text())["tasks"]:
        first.setdefault(task["family"], task)
    # spiral 3-3 was a measured miss (0.843 of 1.022) before the critic's Gaussian base and depth 2 (0.935)
    return [pytest.param(t, id=t["id"]) for t in first.values()]


@pytest.mark.parametrize("task", family_tasks())
def test_defaults_on_a_task_of_every_family(task):
    arrays = np.load(DATA / task["files"]["seed0"]["path"])
    fit = fit_critic(arrays["x"], arrays["y"])
    truth = task["mi_nats"]
    assert abs(fit.mi_nats - truth) <= max(0.1 * truth, 0.05), (fit.mi_nats, truth)
