"""The SSL flows end to end under the Prefect test harness (smoke profile, sklearn glyphs, outputs in tmp_path)."""

import json
import math

import mlflow
import optuna
import pandas as pd
import pytest

from anchorbench.config import load_params
from anchorbench.experiment import Summary
from anchorbench.ssl.config import INFONCE, OBJECTIVES, RANDOM_INIT
from anchorbench.ssl.experiment import EXPERIMENT
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
    # 3 objectives x 2 pairings x 1 seed at B = 16, InfoNCE at the small batch B = 4 and the untrained baseline on
    # both pairings
    assert len(probe) == 10 and set(probe.batch_size) == {16, 4}
    assert set(probe.true_mi_bits) == {2.0, 6.0} and set(probe.objective) == {INFONCE, "infonce_anchor", CHI2,
                                                                              RANDOM_INIT}
    steps = probe.groupby(["objective", "batch_size"]).steps.first()
    assert steps[(INFONCE, 16)] == 4 and steps[(INFONCE, 4)] == 16 and steps[(RANDOM_INIT, 16)] == 0  # equal pairs
    assert probe.top1.between(0, 1).all() and (probe.top1_colour > 0.25).any()
    # the headline probe is the joint probe of the pairing's shared attributes: colour alone for c, all three for cdp
    c, cdp = probe[probe.pairing == "c"], probe[probe.pairing == "cdp"]
    assert (c.top1 == c.top1_colour).all() and (cdp.top1 == cdp.top1_joint).all()
    mi = pd.read_csv(res / "mi.csv")
    post = mi[mi.phase == "post_training"]
    assert set(post.estimator) == {"infonce", "js_plugin"} and len(post) == 20  # the baseline is read out too
    assert (post[post.estimator == "infonce"].cap_bits == 6.0).all()  # log2 of the post-training batch, 64
    train = mi[mi.phase == "in_training"]
    assert len(train) == 8 and train.cap_bits.notna().all()  # every in-training readout with its cap
    small = train[train.batch_size == 4]
    assert (small.cap_bits.round(4) == round(math.log2(3), 4)).all()
    assert (small.mi_bits <= small.cap_bits + 1e-6).all()  # the InfoNCE readout never exceeds log K
    assert (small.ceiling_bits < small.cap_bits).all()  # same-class negatives: the reachable ceiling is lower
    assert (mi.above_hc == (mi.mi_bits > mi.true_mi_bits)).all()
    metrics = json.loads((res / "metrics.json").read_text())
    assert metrics["above_hc"]["count"] == mi.above_hc.sum() == len(metrics["above_hc"]["values"])
    assert metrics["in_training"][f"{INFONCE}|c|B4"]["cap"] == "log K (K = 3)"
    claims = {c["id"]: c for c in metrics["claims"]}
    assert {"table2:infonce>anchor", "table2:anchor_not_above_infonce", "seed001:post_above_cap:cdp",
            "seed001:readout_saturates:c", "seed001:small_batch_not_limiting:cdp", "seed001:post_mi_increases:c<cdp",
            "seed001:mi_tracks_top1:cdp", "seed001:mi_tracks_top1:partial"} <= set(claims)
    assert all(c["verdict"] in ("reproduced", "contradicted", "not established") for c in claims.values())
    assert claims["seed001:post_above_cap:cdp"]["n"] == 1 and claims["table2:infonce>anchor"]["n"] == 2
    assert "seconds" not in json.dumps(metrics)  # no wall-clock value in a DVC output (dvc.lock would change)
    assert (res / "units" / "scoring_rule-nu0-cdp-B16-s0" / "encoder.pt").exists()
    assert (res / "units" / "random_init-cdp-B16-s0" / "encoder.pt").exists()
    assert len(list((isolated / ".cache/units/ssl").glob("*/result.json"))) == 10  # finished units, for a resume
    report = EXPERIMENT.report(load_params(params_path), Summary(out["files"]), out["mlflow_run_id"])
    assert "| claim | statistic | n | estimate [CI] | verdict |" in report
    assert "| InfoNCE's top-1 exceeds InfoNCE-anchor's (65.98 vs 65.74) |" in report

    runs = mlflow.search_runs(experiment_names=["ssl"])
    children = runs[runs["tags.mlflow.parentRunId"] == out["mlflow_run_id"]]
    assert len(children) == 10
    assert {"tags.objective", "tags.pairing", "tags.seed", "tags.git_commit", "metrics.top1",
            "metrics.post_mi_bits_infonce", "metrics.loss"} <= set(children.columns)
    assert set(children["tags.objective"]) == {INFONCE, "infonce_anchor", CHI2, RANDOM_INIT}
    client = mlflow.tracking.MlflowClient()
    assert {a.path for a in client.list_artifacts(out["mlflow_run_id"], "figures")} >= {"figures/mi_in_vs_post.png"}
    child = children.set_index("tags.mlflow.runName").loc["scoring_rule-nu0-cdp-B16-s0", "run_id"]
    assert len(client.get_metric_history(child, "loss")) == 4  # the loss curve, one point per step
    assert children["metrics.seconds"].notna().all()  # wall-clock time lives here, per part too
    assert children["metrics.seconds_post_mi"].notna().all()

    best = flows["tune"](params_path=params_path)
    assert set(best["infonce_anchor"]) == {"tau", "nu"}
    study = optuna.load_study(study_name="ssl-infonce_anchor-smoke", storage=f"sqlite:///{isolated / 'optuna.db'}")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE and len(study.trials) == 2
    assert json.loads((res / "tune" / "best_params.json").read_text()) == best
