"""The MI-benchmark flows end to end under the Prefect test harness (smoke scale, Gaussian only)."""

import json

import mlflow
import optuna
import pandas as pd
import pytest

from anchorbench.config import load_params
from tests.params import smoke_params

pytestmark = pytest.mark.slow


def _smoke_params(tmp_path, **mi):
    tune = {"study": {"storage": f"sqlite:///{tmp_path / 'optuna.db'}", "study_name": "mi_benchmark",
                      "direction": "minimize"}}
    return str(smoke_params(tmp_path, mi_benchmark_tune=tune, mi_benchmark={
        "domains": ["gaussian"], "estimators": ["nwj", "infonce", "infonce_anchor"], **mi}))


def test_tune_then_train_writes_every_output(prefect_harness, isolated):
    from prefect.client.orchestration import get_client

    from flows.experiment import flows_for

    flows = flows_for("mi_benchmark")
    params_path = _smoke_params(isolated)
    best = flows["tune"](params_path=params_path)
    assert set(best["infonce_anchor-gaussian-joint"]) == {"nu", "width"}
    study = optuna.load_study(study_name="mi_benchmark-infonce_anchor-gaussian-joint-smoke",
                              storage=f"sqlite:///{isolated / 'optuna.db'}")
    assert len(study.trials) == load_params(params_path).mi_benchmark_tune.study.n_trials
    assert json.loads((isolated / "results/mi_benchmark/tune/best_params.json").read_text()) == best

    out = flows["train"](params_path=params_path)
    res = isolated / "results" / "mi_benchmark"
    for name in ("estimates.parquet", "summary.csv", "per_run.csv", "metrics.json", "figure1.png", "bias_variance.png"):
        assert (res / name).stat().st_size > 0, name
    long = pd.read_parquet(res / "estimates.parquet")
    assert set(long.estimator) == {"nwj", "infonce", "infonce_anchor"} and set(long.seed) == {0, 1}
    assert len(long) == 3 * 2 * 5 * 30
    metrics = json.loads((res / "metrics.json").read_text())
    assert set(metrics["levels"]["gaussian"]["joint"]["nwj"]) == {"2bits", "4bits", "6bits", "8bits", "10bits"}

    runs = mlflow.search_runs(experiment_names=["mi_benchmark"])
    children = runs[runs["tags.mlflow.parentRunId"] == out["mlflow_run_id"]]
    assert len(children) == 6
    assert set(children["tags.estimator"]) == {"nwj", "infonce", "infonce_anchor"}
    assert {"tags.git_commit", "tags.params_hash", "tags.domain", "tags.critic", "tags.seed"} <= set(children.columns)
    assert {"params.width", "params.critic_type"} <= set(children.columns)
    anchor = children[children["tags.estimator"] == "infonce_anchor"]
    assert anchor["params.nu"].astype(float).tolist() == [best["infonce_anchor-gaussian-joint"]["nu"]] * 2
    assert children["metrics.abs_error_bits"].notna().all()  # the shared headline name
    trials = mlflow.search_runs(experiment_names=["mi_benchmark_tune"])
    assert (trials["tags.role"] == "study").sum() == 1 and len(trials) == 1 + len(study.trials)
    done = trials[trials["tags.state"] == "complete"]
    assert len(done) >= 1 and done["metrics.mse"].notna().all() and done["params.nu"].notna().all()

    async def artifacts():
        async with get_client() as client:
            return await client.read_artifacts()

    import asyncio

    keys = {a.key for a in asyncio.run(artifacts())}
    assert {"mi-benchmark-tune", "mi-benchmark-train"} <= keys
    assert mlflow.get_experiment_by_name("mi_benchmark").tags["mlflow.experimentKind"] == "custom_model_development"


def test_train_reuses_finished_groups(prefect_harness, isolated):
    from flows.experiment import flows_for

    train_flow = flows_for("mi_benchmark")["train"]
    params_path = _smoke_params(isolated, estimators=["nwj"], seeds=1)
    train_flow(params_path=params_path)
    first = pd.read_parquet(isolated / "results/mi_benchmark/estimates.parquet")
    groups = sorted((isolated / ".cache/units/mi_benchmark").glob("*/estimates.parquet"))
    assert len(groups) == 1 and groups[0].parent.name.startswith("gaussian-joint-w32-R1-")
    stamp = groups[0].stat().st_mtime_ns
    (isolated / "results/mi_benchmark/estimates.parquet").unlink()
    train_flow(params_path=params_path)  # the finished group's file is reused, not retrained
    pd.testing.assert_frame_equal(first, pd.read_parquet(isolated / "results/mi_benchmark/estimates.parquet"))
    assert groups[0].stat().st_mtime_ns == stamp
