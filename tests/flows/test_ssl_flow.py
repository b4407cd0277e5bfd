"""The SSL flows end to end under the Prefect test harness (smoke profile, sklearn glyphs, outputs in tmp_path)."""

import json

import mlflow
import optuna
import pandas as pd
import pytest

from anchorbench.ssl.config import INFONCE, OBJECTIVES
from tests.params import smoke_params

CHI2 = OBJECTIVES[-1]

pytestmark = pytest.mark.slow


def _smoke_params(tmp_path):
    study = {"storage": f"sqlite:///{tmp_path / 'optuna.db'}", "study_name": "ssl", "direction": "maximize"}
    return str(smoke_params(tmp_path, ssl_data={"glyph_source": "sklearn"}, ssl_tune={
        "objectives": ["infonce_anchor"], "study": study}, ssl={
        "objectives": [INFONCE, "infonce_anchor", CHI2], "post_estimators": ["infonce", "js_plugin"],
        "device": "cpu", "use_tuned": False}))


def test_data_train_and_tune(prefect_harness, isolated):
    from flows.experiment import flows_for

    flows = flows_for("ssl")
    params_path = _smoke_params(isolated)
    manifest = flows["data"](params_path=params_path)
    assert manifest["source"] == "sklearn_digits" and (isolated / "data/ssl/cdp.npz").stat().st_size > 0

    out = flows["train"](params_path=params_path)
    res = isolated / "results" / "ssl"
    for name in ("probe.csv", "mi.csv", "summary.csv", "metrics.json", "probe_accuracy.png", "mi_in_vs_post.png",
                 "mi_vs_accuracy.png"):
        assert (res / name).stat().st_size > 0, name
    probe = pd.read_csv(res / "probe.csv")
    # 3 objectives x 2 pairings x 1 seed at B = 16, plus InfoNCE at the small batch B = 4 on both pairings
    assert len(probe) == 8 and set(probe.batch_size) == {16, 4}
    assert set(probe.true_mi_bits) == {2.0, 6.0}
    assert probe.top1.between(0, 1).all() and (probe.top1_colour > 0.25).any()
    mi = pd.read_csv(res / "mi.csv")
    post = mi[mi.phase == "post_training"]
    assert set(post.estimator) == {"infonce", "js_plugin"} and len(post) == 16
    small = mi[(mi.phase == "in_training") & (mi.batch_size == 4)]
    assert (small.cap_bits.round(4) == round(__import__("math").log2(3), 4)).all()
    assert (small.mi_bits <= small.cap_bits + 1e-6).all()  # the InfoNCE readout never exceeds log K
    metrics = json.loads((res / "metrics.json").read_text())
    assert {"anchor_not_above_infonce_top1", "in_training_below_cap"} <= set(metrics["claims"])
    assert "seconds" not in json.dumps(metrics)  # no wall-clock value in a DVC output (dvc.lock would change)
    assert (res / "units" / "scoring_rule-nu0-cdp-B16-s0" / "encoder.pt").exists()
    assert len(list((isolated / ".cache/units/ssl").glob("*/result.json"))) == 8  # finished units, for a resume

    runs = mlflow.search_runs(experiment_names=["ssl"])
    children = runs[runs["tags.mlflow.parentRunId"] == out["mlflow_run_id"]]
    assert len(children) == 8
    assert {"tags.objective", "tags.pairing", "tags.seed", "tags.git_commit", "metrics.top1",
            "metrics.post_mi_bits_infonce", "metrics.loss"} <= set(children.columns)
    assert set(children["tags.objective"]) == {INFONCE, "infonce_anchor", CHI2}
    client = mlflow.tracking.MlflowClient()
    assert {a.path for a in client.list_artifacts(out["mlflow_run_id"], "figures")} >= {"figures/mi_in_vs_post.png"}
    child = children.iloc[0]["run_id"]
    assert len(client.get_metric_history(child, "loss")) == 4  # the loss curve, one point per step
    assert children["metrics.seconds"].notna().all()  # wall-clock time lives here

    best = flows["tune"](params_path=params_path)
    assert set(best["infonce_anchor"]) == {"tau", "nu"}
    study = optuna.load_study(study_name="ssl-infonce_anchor-smoke", storage=f"sqlite:///{isolated / 'optuna.db'}")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE and len(study.trials) == 2
    assert json.loads((res / "tune" / "best_params.json").read_text()) == best
