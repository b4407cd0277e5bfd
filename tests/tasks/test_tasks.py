"""Task bodies called directly (``.fn``), without the Prefect engine."""

import numpy as np

from anchorbench.config import parse_params
from anchorbench.plan import plan_groups
from anchorbench.groups import group_name
from tasks.train import train_group_task
from tasks.tracking import base_tags, code_version


def _group():
    p = parse_params({"profile": "smoke", "mi_benchmark": {"estimators": ["nwj", "js"], "domains": ["gaussian"],
                                                            "steps_per_level": 4, "device": "cpu"}}).mi_benchmark
    return plan_groups(p)[0]


def test_train_group_task_returns_a_long_table():
    group = _group()
    out = train_group_task.fn(group, None, "none", "code", group_name(group))
    long = out["long"]
    assert len(long) == 2 * 2 * 5 * 4 and out["diverged"] == []
    assert set(long.estimator) == {"nwj", "js"} and np.isfinite(long.estimate_bits).all()
    assert out["run_steps_per_second"] > 0
    assert group_name(group) == "gaussian-joint-w32-R4"


def test_tags_carry_commit_params_and_code_hashes():
    tags = base_tags("abc123", estimator="nwj", seed=3)
    assert tags["params_hash"] == "abc123" and tags["seed"] == "3" and tags["estimator"] == "nwj"
    assert len(tags["git_commit"]) >= 7 and tags["code_version"] == code_version() and len(code_version()) == 12
