"""The bmi flows end to end under the Prefect test harness (smoke profile: three tasks, one data seed)."""

import json

import mlflow
import pandas as pd
import pytest

from anchorbench.bmi.config import BmiDataParams
from anchorbench.config import load_params
from tests.params import smoke_params

pytestmark = pytest.mark.slow


def test_data_and_train_write_the_table_metrics_and_figure(prefect_harness, isolated):
    BmiDataParams().interpreter()  # bmi's environment (make setup) is part of the stack
    from flows.experiment import flows_for

    flows = flows_for("bmi")
    params_path = str(smoke_params(isolated))
    params = load_params(params_path)
    manifest = flows["data"](params_path=params_path)
    tasks = params.bmi_data.tasks
    assert manifest["sizes"]["2000"]["tasks"] == len(tasks)  # JSON keys: the size as text
    assert {f"n2000/{t}/seed0.npz" for t in tasks} <= set(manifest["files"])
    assert "n2000/reference.csv" in manifest["files"]
    # the references' wall times stay out of the stage's output (it must hash the same in two runs)
    reference = pd.read_csv(isolated / "data/bmi/n2000/reference.csv")
    assert "seconds" not in reference and set(reference.estimator) == {"ksg", "cca"}
    from anchorbench.bmi.experiment import reference_timings

    timings = pd.read_csv(reference_timings(2000))
    assert len(timings) == len(reference) and (timings.seconds > 0).all()

    out = flows["train"](params_path=params_path)
    res = isolated / "results" / "bmi"
    est = pd.read_csv(res / "estimates.csv")
    assert set(est.estimator) == {"infonce_anchor", "bmi:ksg", "bmi:cca"} and set(est.task) == set(tasks)
    assert est.mi_nats.notna().all() and (est.within == (est.error_nats.abs() <= (0.1 * est.truth_nats).clip(
        lower=0.05))).all()
    metrics = json.loads((res / "metrics.json").read_text())
    assert metrics["within"]["infonce_anchor"]["2000"]["0"] == int(est[est.estimator == "infonce_anchor"].within.sum())
    assert (res / "estimates_vs_truth.png").stat().st_size > 10_000
    runs = mlflow.search_runs(experiment_names=["bmi"])
    children = runs[runs["tags.mlflow.parentRunId"] == out["mlflow_run_id"]]
    assert len(children) == len(est) and children["metrics.error_bits"].notna().all()
    parent = mlflow.get_run(out["mlflow_run_id"]).data.metrics
    assert parent["ksg_seconds_n2000"] == pytest.approx(timings[timings.estimator == "ksg"].seconds.sum())
