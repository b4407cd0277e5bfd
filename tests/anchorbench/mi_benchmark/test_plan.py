"""Grouping of runs into batched modules, and how tuned values are applied."""

import pytest

from anchorbench.config import parse_params
from anchorbench.mi_benchmark.plan import plan_groups

P = parse_params({"profile": "smoke", "mi_benchmark": {"estimators": ["nwj", "infonce_anchor"], "device": "cpu",
                                                        "critics": ["joint", "separable"]}}).mi_benchmark


def test_runs_sharing_a_shape_share_a_group():
    groups = plan_groups(P)
    assert len(groups) == len(P.domains) * 2
    for g in groups:
        assert [(r.estimator, r.seed) for r in g.runs] == [("nwj", 0), ("nwj", 1), ("infonce_anchor", 0),
                                                                    ("infonce_anchor", 1)]


def test_tuned_values_apply_per_critic_and_split_groups():
    tuned = {"infonce_anchor-gaussian-separable": {"nu": 2.5, "temperature": 0.3, "width": 16},
             "infonce_anchor-gaussian-joint": {"nu": 0.5, "width": P.width}}
    groups = plan_groups(P, tuned)
    sep = [g for g in groups if g.critic.type == "separable" and g.domain == "gaussian"]
    assert len(sep) == 2  # the tuned run got its own critic shape
    tuned_group = next(g for g in sep if g.critic.width == 16)
    assert tuned_group.critic.temperature == 0.3
    assert {r.hparams["nu"] for r in tuned_group.runs} == {2.5}
    joint = [g for g in groups if g.critic.type == "joint" and g.domain == "gaussian"]
    assert len(joint) == 1  # same width: still one group
    assert [r.hparams for r in joint[0].runs if r.estimator == "infonce_anchor"] == [{"nu": 0.5}] * 2
    assert joint[0].critic.temperature is None  # a joint critic has no temperature


def test_use_tuned_false_ignores_them(tmp_path, monkeypatch):
    from anchorbench import paths
    from anchorbench.io import write_json
    from tasks.experiment import tuned_values

    monkeypatch.setenv(paths.OUTPUTS_ENV, str(tmp_path))
    write_json(tmp_path / "results/mi_benchmark/tune/best_params.json", {"infonce_anchor-gaussian-joint": {"nu": 9.0}})
    params = parse_params({"mi_benchmark": {"estimators": ["infonce_anchor"]}})
    assert tuned_values("mi_benchmark", params) == {"infonce_anchor-gaussian-joint": {"nu": 9.0}}
    off = params.model_copy(update={"mi_benchmark": params.mi_benchmark.model_copy(update={"use_tuned": False})})
    assert tuned_values("mi_benchmark", off) == {}


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_explicit_precision_is_kept(precision):
    groups = plan_groups(P.model_copy(update={"precision": precision}))
    assert {g.precision for g in groups} == {precision}


def test_group_names_are_readable():
    assert sorted(g.name for g in plan_groups(P)) == ["gaussian-joint-w32-R4", "gaussian-separable-w32-R4"]

