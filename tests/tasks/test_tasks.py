"""Task bodies called directly (``.fn``), without the Prefect engine."""

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anchorbench import paths
from anchorbench.config import parse_params
from anchorbench.mi_benchmark import experiment as mi_experiment
from anchorbench.mi_benchmark.experiment import EXPERIMENT
from tasks import tracking
from tasks.experiment import unit_task
from tasks.tracking import base_tags, code_version

PARAMS = parse_params({"profile": "smoke", "mi_benchmark": {"estimators": ["nwj", "js"], "domains": ["gaussian"],
                                                             "steps_per_level": 4, "device": "cpu"}})


def test_unit_task_writes_its_table_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.OUTPUTS_ENV, str(tmp_path))
    (group,) = EXPERIMENT.plan(PARAMS, {})
    out = unit_task.fn("mi_benchmark", PARAMS, group, group.name, "none", "code")
    long = pd.read_parquet(Path(out["folder"]) / "estimates.parquet")
    assert Path(out["folder"]).parent == tmp_path / ".cache" / "units" / "mi_benchmark"
    assert len(long) == 2 * 2 * 5 * 4 and out["diverged"] == []
    assert set(long.estimator) == {"nwj", "js"} and np.isfinite(long.estimate_bits).all()
    assert out["run_steps_per_second"] > 0
    assert group.name == "gaussian-joint-w32-R4"

    def no_training(*args, **kwargs):
        raise AssertionError("a finished group was trained again")

    monkeypatch.setattr(mi_experiment, "run_group", no_training)
    again = unit_task.fn("mi_benchmark", PARAMS, group, group.name, "none", "code")
    assert again == out  # the finished group's file is reused
    with pytest.raises(AssertionError, match="trained again"):  # another code version is another key
        unit_task.fn("mi_benchmark", PARAMS, group, group.name, "none", "other-code")


def test_tags_carry_commit_params_and_code_hashes():
    tags = base_tags("abc123", estimator="nwj", seed=3)
    assert tags["params_hash"] == "abc123" and tags["seed"] == "3" and tags["estimator"] == "nwj"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", tags["git_commit"])
    assert tags["git_commit"].startswith(head.stdout.strip())
    assert tags["code_version"] == code_version() and re.fullmatch(r"[0-9a-f]{12}", code_version())


def test_code_version_changes_with_the_code(tmp_path, monkeypatch):
    for root in ("estimators", "anchorbench"):
        (tmp_path / root).mkdir()
        (tmp_path / root / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(tracking.paths, "REPO", tmp_path)
    before = code_version()
    (tmp_path / "anchorbench" / "a.py").write_text("x = 2\n")
    assert code_version() != before
    (tmp_path / "anchorbench" / "a.py").write_text("x = 1\n")
    assert code_version() == before
