"""The protein flows end to end under the Prefect test harness (smoke profile, ligand stand-in only)."""

import asyncio
import json

import mlflow
import optuna
import pandas as pd
import pytest

from anchorbench.config import load_params
from tests.params import smoke_params

pytestmark = pytest.mark.slow


def _smoke_params(tmp_path) -> str:
    study = {"storage": f"sqlite:///{tmp_path / 'optuna.db'}", "study_name": "protein", "direction": "maximize"}
    critics = ["infonce_anchor", "js_plugin"]  # every critic objective is tuned, or none
    return str(smoke_params(tmp_path, protein_data={"datasets": ["ligand"]}, protein={"objectives": [*critics, "lmi"]},
                            protein_tune={"study": study, "objectives": critics}))


def test_data_tune_train_write_every_output(prefect_harness, isolated):
    from prefect.client.orchestration import get_client

    from flows.experiment import flows_for

    flows = flows_for("protein")
    params_path = _smoke_params(isolated)
    params = load_params(params_path)
    p, t = params.protein, params.protein_tune
    manifest = flows["data"](params_path=params_path)
    assert set(manifest["files"]) == {f"ligand/{f}" for f in ("proteins.csv", "embeddings.npy", "pairs.csv",
                                                               "truth.npz")}
    assert json.loads((isolated / "data/protein/manifest.json").read_text()) == manifest

    best = flows["tune"](params_path=params_path)
    assert set(best) == {"ligand-infonce_anchor", "ligand-js_plugin"}
    assert set(best["ligand-infonce_anchor"]) == {"nu", "width"} and set(best["ligand-js_plugin"]) == {"width"}
    study = optuna.load_study(study_name="protein-ligand-infonce_anchor-smoke",
                              storage=f"sqlite:///{isolated / 'optuna.db'}")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE and len(study.trials) == t.study.n_trials

    out = flows["train"](params_path=params_path)
    res = isolated / "results" / "protein"
    for name in ("auroc.csv", "summary.csv", "metrics.json", "roc.png", "pmi_hist.png"):
        assert (res / name).stat().st_size > 0, name
    per_trial = pd.read_csv(res / "auroc.csv")
    assert "seconds" not in per_trial.columns  # no wall-clock value in a DVC output (dvc.lock would change)
    tuned = {"infonce_anchor (tuned)", "js_plugin (tuned)"}  # each beside its untuned row
    assert set(per_trial.objective) == set(p.objectives) | tuned | {"bayes", "log_weight"}
    assert len(per_trial) == p.trials * (len(p.objectives) + 2 + 2)
    ok = per_trial[per_trial.status == "ok"]
    assert ok.auroc.between(0, 1).all() and len(ok) >= len(per_trial) - 1
    metrics = json.loads((res / "metrics.json").read_text())
    assert metrics["auroc"]["ligand"]["bayes"]["auroc_mean"] > 0.8
    claim = {c["id"]: c for c in metrics["claims"]}["ligand:infonce_anchor>js_plugin"]
    assert claim["n"] == p.trials and claim["verdict"] in ("reproduced", "contradicted", "not established")
    assert len(list((res / "trials" / "ligand").glob("trial_*.npz"))) == p.trials

    runs = mlflow.search_runs(experiment_names=["protein"])
    children = runs[runs["tags.mlflow.parentRunId"] == out["mlflow_run_id"]]
    assert len(children) == len(per_trial)
    assert {"metrics.auroc", "metrics.steps_trained", "tags.dataset", "tags.objective", "tags.trial",
            "tags.git_commit"} <= set(children.columns)
    assert children["metrics.trial_seconds"].notna().all()  # wall-clock time lives here
    anchor = children[children["tags.objective"] == "infonce_anchor"]
    assert anchor["metrics.early_stop_step"].notna().all()
    client = mlflow.tracking.MlflowClient()
    artifacts = {a.path for a in client.list_artifacts(out["mlflow_run_id"], "figures")}
    assert "figures/roc.png" in artifacts
    tune_runs = mlflow.search_runs(experiment_names=["protein_tune"])
    assert (tune_runs["tags.role"] == "study").sum() == 2 and len(tune_runs) == 2 * (1 + t.study.n_trials)
    assert tune_runs["tags.params_hash"].str.len().eq(12).all()  # every run tagged: an orphan can be closed

    async def artifact_keys():
        async with get_client() as client:
            return {a.key for a in await client.read_artifacts()}

    assert {"protein-data", "protein-tune", "protein-train"} <= asyncio.run(artifact_keys())
